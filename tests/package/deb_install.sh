#!/usr/bin/env bash
# deb_install.sh DEB: the Debian package on this machine, as an operator gets
# it. Installs DEB with apt-get (its Depends resolved from the archive),
# checks what the package set up (user, directories, conffile, unit, man
# pages), runs the installed binary as the scsipub user with the packaged
# config without systemd, logs in with libiscsi and writes and reads a block,
# stops it with SIGTERM, purges it (nothing left), then once more with
# /var/lib/scsipub/KEEP-ON-PURGE (data kept; cleaned up here afterwards).
# Needs root; refuses to run where scsipub is installed or its user or
# directories exist (it would purge them). Prints one line per check and
# "N passed, N failed"; exit 0 when all passed, 77 when not root.
set -uo pipefail
DEB=${1:-}
if [[ -z $DEB || ! -f $DEB ]]; then
  echo "usage: deb_install.sh PATH.deb" >&2
  exit 2
fi
DEB=$(readlink -f "$DEB")
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP deb_install.sh: needs root (installs and purges the package)"
  exit 77
fi

PASS=0 FAIL=0
check() { # NAME STATUS [DETAIL]
  if [[ $2 == 0 ]]; then
    PASS=$((PASS + 1))
    echo "PASS $1"
  else
    FAIL=$((FAIL + 1))
    echo "FAIL $1${3:+: $3}"
  fi
}
finish() {
  echo "$PASS passed, $FAIL failed"
  ((FAIL == 0))
  exit
}
state() { dpkg-query -W -f='${db:Status-Status}' scsipub 2>/dev/null; }
export DEBIAN_FRONTEND=noninteractive

# Whatever this script would purge must be ours.
if [[ -n $(state) && $(state) != not-installed ]] || getent passwd scsipub >/dev/null ||
   getent group scsipub >/dev/null || [[ -e /var/lib/scsipub || -e /var/backups/scsipub || -e /etc/scsipub ]]; then
  echo "FAIL refusing to run: scsipub (package, user or directories) already exists on this machine"
  FAIL=1
  finish
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scsipub-deb.XXXXXX")
PID=
cleanup() {
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
    kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
  fi
  if [[ -n $(state) && $(state) != not-installed ]]; then
    apt-get purge -y -qq scsipub >/dev/null 2>&1
  fi
  rm -rf /var/lib/scsipub /var/backups/scsipub /etc/scsipub
  getent passwd scsipub >/dev/null && userdel scsipub
  getent group scsipub >/dev/null && groupdel scsipub
  rm -rf "$TMP"
}
trap cleanup EXIT

install_deb() { # LOG
  apt-get install -y -q "$DEB" >"$1" 2>&1
}

# --- install -------------------------------------------------------------
install_deb "$TMP/install.log"
rc=$?
check "apt-get install $(basename "$DEB") (Depends resolved)" "$rc" "$(tail -n 5 "$TMP/install.log")"
if [[ $rc != 0 || $(state) != installed ]]; then
  check "package installed" 1 "dpkg state '$(state)'"
  finish
fi
version=$(dpkg-query -W -f='${Version}' scsipub)
/usr/bin/scsipub --version | grep -qx "scsipub ${version%-*}"
check "scsipub --version says ${version%-*}" "$?" "$(/usr/bin/scsipub --version 2>&1)"

IFS=: read -r _ _ uid _ _ home shell < <(getent passwd scsipub)
[[ -n ${uid:-} && $uid -lt 1000 && $home == /var/lib/scsipub && $shell == /usr/sbin/nologin ]]
check "system user scsipub (uid ${uid:-none}, home ${home:-none}, shell ${shell:-none})" "$?"
[[ $(id -gn scsipub 2>/dev/null) == scsipub ]]
check "group scsipub is the user's group" "$?" "$(id scsipub 2>&1)"
for spec in /var/lib/scsipub:750 /var/backups/scsipub:700; do
  dir=${spec%:*}
  got=$(stat -c '%U:%G %a' "$dir" 2>&1)
  [[ $got == "scsipub:scsipub ${spec#*:}" ]]
  check "$dir scsipub:scsipub ${spec#*:}" "$?" "$got"
done
dpkg-query --control-show scsipub conffiles 2>/dev/null | grep -q '^/etc/scsipub/scsipub.toml'
check "/etc/scsipub/scsipub.toml is a conffile" "$?" "$(dpkg-query --control-show scsipub conffiles 2>&1)"
got=$(stat -c '%U:%G %a' /etc/scsipub/scsipub.toml 2>&1)
[[ $got == "root:scsipub 640" ]]
check "/etc/scsipub/scsipub.toml root:scsipub 640" "$?" "$got"
unit=/lib/systemd/system/scsipub.service
grep -qx 'ExecStart=/usr/bin/scsipub serve --config /etc/scsipub/scsipub.toml' "$unit" 2>/dev/null
check "systemd unit $unit" "$?" "missing or another ExecStart"
if command -v systemd-analyze >/dev/null; then
  # Without a running systemd the Documentation= man: lookups are all it may complain about.
  out=$(systemd-analyze verify "$unit" 2>&1 | grep -v "Command 'man ")
  [[ -z $out ]]
  check "systemd-analyze verify $unit" "$?" "$out"
fi
# Slim container images tell dpkg to skip /usr/share/man and /usr/share/doc
# (path-exclude): there, the files are looked for in the package instead.
excluded() { # PATH: a path-exclude glob of dpkg's configuration matches it
  local line glob
  while read -r line; do
    glob=${line#path-exclude}
    glob=${glob#[= ]}
    # shellcheck disable=SC2053  # the glob is meant to match
    [[ $1 == $glob ]] && return 0
  done < <(grep -hs '^path-exclude' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/*)
  return 1
}
shipped() { # PATH: installed, or in the package where dpkg is told to skip it
  if excluded "$1"; then
    dpkg-deb -c "$DEB" | awk '{print $6}' | grep -qx ".$1"
  else
    [[ -s $1 ]]
  fi
}
excluded /usr/share/man/man1/scsipub.1.gz && echo "note: dpkg skips /usr/share/man here (path-exclude): checking the package's contents"
missing=
for page in scsipub scsipub-serve scsipub-account scsipub-admin scsipub-image; do
  f=/usr/share/man/man1/$page.1.gz
  if excluded "$f"; then
    shipped "$f" || missing+=" $page"
  else
    [[ -s $f ]] && zcat "$f" | grep -q '^\.TH' || missing+=" $page"
  fi
done
[[ -z $missing ]]
check "man pages scsipub(1), scsipub-{serve,account,admin,image}(1)" "$?" "missing:$missing"
if command -v man >/dev/null && ! excluded /usr/share/man/man1/scsipub.1.gz; then
  man -w scsipub >/dev/null 2>&1
  check "man -w scsipub" "$?"
fi
shipped /usr/share/doc/scsipub/copyright && shipped /usr/share/doc/scsipub/changelog.Debian.gz
check "/usr/share/doc/scsipub: copyright, changelog.Debian.gz" "$?"

# A reinstall (postinst configure with the old version) keeps the user.
apt-get install -y -q --reinstall "$DEB" >"$TMP/reinstall.log" 2>&1 &&
  [[ $(id -u scsipub 2>/dev/null) == "$uid" ]]
check "reinstall keeps the scsipub user (uid $uid)" "$?" "$(tail -n 5 "$TMP/reinstall.log")"

# --- run it as the service would, without systemd ---------------------------
free_port() { timeout 10 python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
busy() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }
iscsi=3260 tls=3261 http=8080
overrides=()
# The packaged ports unless this machine already uses them (e.g. a tgtd on 3260).
if busy 3260; then iscsi=$(free_port); overrides+=(--iscsi-listen "127.0.0.1:$iscsi"); fi
if busy 3261; then tls=$(free_port); overrides+=(--tls-listen "127.0.0.1:$tls"); fi
if busy 8080; then http=$(free_port); overrides+=(--http-listen "127.0.0.1:$http"); fi
((${#overrides[@]})) && echo "note: packaged ports in use here, started with ${overrides[*]}"
log=$TMP/serve.log
# exec all the way down: $! is the server itself, which SIGTERM must reach.
(cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/scsipub \
  setpriv --reuid scsipub --regid scsipub --init-groups -- \
  /usr/bin/scsipub serve --config /etc/scsipub/scsipub.toml "${overrides[@]}") >"$log" 2>&1 &
PID=$!
up=1
for ((i = 0; i < 300; i++)); do
  kill -0 "$PID" 2>/dev/null || break
  if busy "$iscsi" && busy "$http"; then up=0; break; fi
  sleep 0.1
done
check "scsipub serve --config /etc/scsipub/scsipub.toml as scsipub listens on 127.0.0.1:$iscsi and :$http" "$up" \
  "$(tail -n 20 "$log")"
if [[ $up != 0 ]]; then finish; fi
[[ $(stat -c %U "/proc/$PID") == scsipub ]]
check "the server runs as scsipub" "$?" "$(ps -o user=,pid=,args= -p "$PID")"
! ss -Hltn | awk '{print $4}' | grep -E ":($iscsi|$tls|$http)\$" | grep -qv '^127\.0\.0\.1:'
check "the packaged config listens on 127.0.0.1 only" "$?" "$(ss -Hltnp | grep scsipub)"

url=iscsi://127.0.0.1:$iscsi/iqn.2025-01.pub.scsipub:blank/0
if command -v iscsi-inq >/dev/null && command -v iscsi-readcapacity16 >/dev/null; then
  out=$(timeout 30 iscsi-inq "$url" 2>&1)
  grep -qi 'vendor' <<<"$out"
  check "iscsi-inq logs in to ...:blank (libiscsi)" "$?" "$out"
  out=$(timeout 30 iscsi-readcapacity16 "$url" 2>&1)
  grep -Eq '^Total size:[1-9][0-9]*$' <<<"$out"
  check "iscsi-readcapacity16 ...:blank" "$?" "$out"
else
  echo "SKIP libiscsi login: iscsi-inq/iscsi-readcapacity16 missing (apt-get install libiscsi-bin)"
fi

# Write then read back in one login (a free-tier blank disk is new at each
# login); the pause keeps the session, and so its overlay file, open.
if command -v qemu-io >/dev/null; then
  timeout 60 qemu-io -f raw -c 'write -P 0x5c 4096 65536' -c 'read -P 0x5c 4096 65536' -c 'sleep 3000' \
    "$url" >"$TMP/qemu-io.out" 2>&1 &
  qio=$!
  owners=
  for ((i = 0; i < 50; i++)); do
    if [[ -n $(find /var/lib/scsipub/overlays -type f 2>/dev/null) ]]; then
      owners=$(find /var/lib/scsipub/overlays -type f -printf '%u:%g %p\n')
      break
    fi
    sleep 0.1
  done
  wait "$qio"
  rc=$?
  [[ $rc == 0 ]] && grep -q 'wrote 65536/65536' "$TMP/qemu-io.out" && grep -q 'read 65536/65536' "$TMP/qemu-io.out" &&
    ! grep -q 'Pattern verification failed' "$TMP/qemu-io.out"
  check "qemu-io writes 64 KiB to ...:blank and reads the pattern back" "$?" "rc $rc: $(tail -n 5 "$TMP/qemu-io.out")"
  [[ -n $owners ]] && ! grep -qv '^scsipub:scsipub ' <<<"$owners"
  check "the session's overlay in /var/lib/scsipub/overlays is owned by scsipub" "$?" "${owners:-no overlay seen}"
else
  echo "SKIP block write/read: qemu-io missing (apt-get install qemu-utils qemu-block-extra)"
fi
others=$(find /var/lib/scsipub /var/backups/scsipub \( ! -user scsipub -o ! -group scsipub \) -printf '%u:%g %p\n')
made=$(find /var/lib/scsipub -mindepth 1 | wc -l)
[[ -z $others && $made -gt 0 ]]
check "the $made files scsipub made in /var/lib/scsipub are all scsipub's" "$?" "$others"

kill -TERM "$PID"
exited=1
for ((i = 0; i < 100; i++)); do  # shutdown_grace_ms is 2 s in the packaged config
  if ! kill -0 "$PID" 2>/dev/null; then exited=0; break; fi
  sleep 0.1
done
wait "$PID"
rc=$?
PID=
[[ $exited == 0 && $rc == 0 ]]
check "SIGTERM: exit status 0 within 10 s" "$?" "exited=$exited status $rc; $(tail -n 5 "$log")"

# --- purge: nothing left ------------------------------------------------------
apt-get purge -y -q scsipub >"$TMP/purge.log" 2>&1
check "apt-get purge scsipub" "$?" "$(tail -n 5 "$TMP/purge.log")"
left=
for p in /usr/bin/scsipub /etc/scsipub /var/lib/scsipub /var/backups/scsipub "$unit"; do
  [[ -e $p ]] && left+=" $p"
done
getent passwd scsipub >/dev/null && left+=" user"
getent group scsipub >/dev/null && left+=" group"
[[ -n $(state) && $(state) != not-installed ]] && left+=" package($(state))"
[[ -z $left ]]
check "purge leaves no files, user, group or package state" "$?" "left:$left"

# --- purge with KEEP-ON-PURGE: the data stays -----------------------------------
install_deb "$TMP/install2.log"
check "apt-get install again" "$?" "$(tail -n 5 "$TMP/install2.log")"
touch /var/lib/scsipub/KEEP-ON-PURGE
echo precious >/var/lib/scsipub/disk-stand-in
echo backup >/var/backups/scsipub/backup-stand-in
apt-get purge -y -q scsipub >"$TMP/purge2.log" 2>&1
check "apt-get purge scsipub with KEEP-ON-PURGE" "$?" "$(tail -n 5 "$TMP/purge2.log")"
[[ $(cat /var/lib/scsipub/disk-stand-in 2>/dev/null) == precious &&
   $(cat /var/backups/scsipub/backup-stand-in 2>/dev/null) == backup && -e /var/lib/scsipub/KEEP-ON-PURGE ]] &&
  getent passwd scsipub >/dev/null
check "KEEP-ON-PURGE keeps /var/lib/scsipub, /var/backups/scsipub and the user" "$?"
[[ ! -e /etc/scsipub && ! -e /usr/bin/scsipub ]]
check "... and removes /etc/scsipub and the package's files" "$?"
grep -q 'KEEP-ON-PURGE exists: keeping' "$TMP/purge2.log"
check "... and says so" "$?" "$(tail -n 5 "$TMP/purge2.log")"

cleanup
trap - EXIT
finish
