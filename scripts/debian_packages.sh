# shellcheck shell=bash
# Debian packages fetched and unpacked without installing them, for the
# images built from Debian 12 packages (tests/e2e/build-vm.sh,
# scripts/demo-image.sh). Source it after defining log() and die(); the
# caller's cache key should hash this file too.
#
#   debpkg_kernel_package [FORCE_UPDATE]   prints linux-image-<ver>-amd64
#   debpkg_versions PKG...                 sets DEBPKG_VER[pkg] and
#                                          DEBPKG_VERSIONS ("pkg=ver\n"...)
#   debpkg_fetch DEBS_DIR [SHARED_DIR] PKG...  apt-get download what DEBS_DIR
#                                          lacks (copying from SHARED_DIR first)
#   debpkg_file DEBS_DIR PKG               the cached .deb of PKG's version

declare -A DEBPKG_VER
DEBPKG_VERSIONS=''

_debpkg_candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'; }

# The versioned kernel package linux-image-amd64 depends on. Runs
# `apt-get update` first when FORCE_UPDATE is 1 or apt does not know it.
debpkg_kernel_package() {
  local force=${1:-0} kpkg candidate
  candidate=$(_debpkg_candidate linux-image-amd64)
  if [[ $force == 1 || -z $candidate || $candidate == "(none)" ]]; then
    log "apt-get update"
    timeout 600 apt-get update >&2 || die "apt-get update failed (run as root, or as a user allowed to)"
  fi
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [[ -n $kpkg ]] || die "cannot resolve linux-image-amd64 to a versioned kernel package (is this Debian 12?)"
  echo "$kpkg"
}

# The candidate version of every package, in one apt-cache call (one per
# package costs ~1 s each).
debpkg_versions() {
  local p v
  while read -r p v; do DEBPKG_VER[$p]=$v; done < <(apt-cache policy "$@" 2>/dev/null |
    awk '/^[^ ].*:$/ {sub(/:$/, ""); pkg = $0} /^  Candidate:/ {print pkg, $2}')
  DEBPKG_VERSIONS=''
  for p in "$@"; do
    v=${DEBPKG_VER[$p]:-}
    [[ -n $v && $v != "(none)" ]] || die "no candidate version for package $p"
    DEBPKG_VERSIONS+="$p=$v"$'\n'
  done
}

debpkg_file() {
  local f v=${DEBPKG_VER[$2]}
  for f in "$1/${2}_${v//:/%3a}_"*.deb; do [[ -f $f ]] && { echo "$f"; return; }; done
}

debpkg_fetch() {
  local debs=$1 shared=$2 p f v missing=()
  shift 2
  mkdir -p "$debs"
  for p in "$@"; do
    [[ -n $(debpkg_file "$debs" "$p") ]] && continue
    v=${DEBPKG_VER[$p]}
    if [[ -n $shared && -d $shared ]]; then
      for f in "$shared/${p}_${v//:/%3a}_"*.deb; do [[ -f $f ]] && cp "$f" "$debs/"; done
    fi
    [[ -n $(debpkg_file "$debs" "$p") ]] || missing+=("$p=$v")
  done
  ((${#missing[@]})) || return 0
  log "apt-get download ${#missing[@]} package(s)"
  # apt warns that _apt cannot write here (it downloads as root instead): harmless.
  (cd "$debs" && timeout 900 apt-get download "${missing[@]}" 2> >(grep -v 'unsandboxed' >&2)) >&2 ||
    die "apt-get download failed"
}
