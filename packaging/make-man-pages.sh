#!/bin/sh
# make-man-pages.sh BINARY OUTDIR [HELP2MAN]: man pages made by help2man from
# scsipub's own --help, gzipped into OUTDIR: scsipub.1.gz, and one
# scsipub-SUB.1.gz per subcommand that `scsipub --help` lists. A subcommand's
# page holds its help and that of every nested subcommand (account create,
# admin token revoke...), so a new subcommand gets its page without an edit
# here. Run by the CMake target scsipub_man (cmake/packaging.cmake).
# (`make-man-pages.sh --print-help BINARY WORDS...` is what help2man runs.)
set -eu

# subcommands: the names listed under "Subcommands:" in a CLI11 help text on
# stdin (two spaces, the name, spaces, its description).
subcommands() {
  awk '/^Subcommands:$/ {on = 1; next} on && /^  [a-z]/ {print $1; next} on && !/^ / {on = 0}'
}

# nested: a nested subcommand's help as one subsection of its parent's page:
# a heading, its description and usage, its arguments and options (without
# -h,--help, and without the list of its own subcommands, which follow).
nested() { # WORDS...
  awk -v title="scsipub $*:" '
    NR == 1 { print ""; print title; print "  " $0; print ""; next }
    /^Usage:/ { print "  " $0; print ""; next }
    /^Subcommands:$/ { skip = 1; next }
    /^[A-Za-z].*:$/ { skip = 0; next }
    skip || /^$/ || /^  -h,--help / { next }
    { print }'
}

# help_tree WORDS...: the help of `scsipub WORDS`, then each nested
# subcommand's, depth first. The binary runs as plain "scsipub" (found in
# PATH), so its usage lines name it that way.
help_tree() {
  text=$(scsipub "$@" --help)
  if [ "$HELP_DEPTH" = 0 ]; then printf '%s\n' "$text"; else printf '%s\n' "$text" | nested "$@"; fi
  for sub in $(printf '%s\n' "$text" | subcommands); do
    HELP_DEPTH=$((HELP_DEPTH + 1))
    help_tree "$@" "$sub"
    HELP_DEPTH=$((HELP_DEPTH - 1))
  done
}

# --print-help BINARY [--flat] WORDS...: what a page's wrapper prints for --help.
if [ "${1:-}" = --print-help ]; then
  PATH=$(dirname "$2"):$PATH
  shift 2
  if [ "${1:-}" = --flat ]; then
    shift
    exec scsipub "$@" --help
  fi
  HELP_DEPTH=0
  help_tree "$@"
  exit 0
fi

BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
OUT=$2
HELP2MAN=${3:-help2man}
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
VERSION=$("$BIN" --version | sed -n '1s/^scsipub //p')
[ -n "$VERSION" ] || { echo "make-man-pages.sh: '$BIN --version' printed no version" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scsipub-man.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

top=$("$BIN" --help)
subs=$(printf '%s\n' "$top" | subcommands)

# page NAME DESCRIPTION WORDS...: help2man runs a program with --help and
# --version; a two-line wrapper per page answers both.
page() {
  name=$1 desc=$2
  shift 2
  {
    echo '#!/bin/sh'
    echo "if [ \"\$1\" = --version ]; then echo '$name $VERSION'; exit 0; fi"
    echo "exec '$SELF' --print-help '$BIN' $*"
  } >"$WORK/$name"
  chmod +x "$WORK/$name"
  {
    echo '[SEE ALSO]'
    for s in "" $subs; do
      [ "scsipub${s:+-$s}" = "$name" ] && continue
      echo ".BR scsipub${s:+-$s} (1),"
    done | sed '$s/,$//'
    echo '.PP'
    echo 'README, SECURITY and PACKAGING in /usr/share/doc/scsipub (docs/ in the source tree).'
    echo '[FILES]'
    echo '.TP'
    echo '.I /etc/scsipub/scsipub.toml'
    echo 'The configuration the Debian package installs and its systemd unit passes with --config.'
    echo '.TP'
    echo '.I /var/lib/scsipub'
    echo "The package's data directory (data_dir): overlays, disks, images, the SQLite MetaStore."
  } >"$WORK/$name.h2m"
  "$HELP2MAN" --no-info --section 1 --name "$desc" --include "$WORK/$name.h2m" \
    --output "$WORK/$name.1" "$WORK/$name"
  gzip -9n -c "$WORK/$name.1" >"$OUT/$name.1.gz"
}

# The top page: the global help and the list of subcommands, each of which has its page.
page scsipub "$(printf '%s\n' "$top" | sed -n '1s/^scsipub: //p')" --flat
for sub in $subs; do
  desc=$(printf '%s\n' "$top" | awk -v s="$sub" '/^Subcommands:$/ {on = 1; next} on && $1 == s {$1 = ""; sub(/^ +/, ""); print; exit}')
  page "scsipub-$sub" "$desc" "$sub"
done
