#!/usr/bin/env bash
# systemd_vm.sh — the Debian package's sandboxed unit, run by systemd (PID 1)
# in a QEMU VM: installed with apt-get under a running systemd, then checked
# from inside (tests/package/systemd/guest-check.sh): enabled and started by
# the postinst, listeners on 3260/3261/8080, no capabilities, NoNewPrivs,
# seccomp, the scsipub user, `systemd-analyze security`, a libiscsi login and
# a TLS handshake, SIGTERM asking an open-iscsi session to log out within
# shutdown_grace_ms, and certificate reload from certbot's /etc/letsencrypt
# layout and from Caddy's /var/lib/caddy layout inside the sandbox.
#
#   tests/package/systemd_vm.sh [--accel auto|kvm|tcg] [--timeout SECS] [--log FILE] [--keep] DEB
#
# Needs root (debootstrap), debootstrap, qemu-system-x86_64, mke2fs
# (e2fsprogs), openssl, python3 and network access to the Debian mirror the
# host's apt uses, the first time: the debootstrapped Debian 12 system
# (kernel, systemd, open-iscsi, libiscsi-bin, the package's Depends) is cached
# in <repo>/.cache/systemd-vm/<key>, keyed by tests/package/systemd/build-base.sh,
# the package list and the mirror; each run copies it, adds the checks and
# the .deb, makes an ext4 image with `mke2fs -d` (no loop mounts) and boots it
# with -kernel/-initrd. KVM when it works, else TCG (slower; the default
# timeout allows for it).
#
# Prints one line per check and ends with "N passed, N failed"; exits 1 on
# any failure (a VM that does not finish in time is one, with the console's
# tail), 77 when a tool is missing or not root. The whole serial console goes
# to --log (default <repo>/.cache/systemd-vm/console.log).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SYS=$HERE/systemd
CACHE=${SCSIPUB_VM_CACHE:-$REPO/.cache/systemd-vm}
ACCEL=auto TIMEOUT='' LOG='' KEEP=0 DEB=''
GRACE_MS=8000     # [iscsi] shutdown_grace_ms in the test config; the unit's TimeoutStopSec is 30 s
COOLDOWN_S=1      # [tls] reload_cooldown_seconds (its minimum)
EXPOSURE_MAX=3.0  # systemd-analyze security: fail above this exposure score
while (($#)); do
  case $1 in
    --accel) ACCEL=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --log) LOG=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    -*) echo "systemd_vm.sh: unknown option $1" >&2; exit 2 ;;
    *) DEB=$1; shift ;;
  esac
done
[[ -n $DEB && -f $DEB ]] || { echo "usage: systemd_vm.sh [--accel auto|kvm|tcg] [--timeout SECS] [--log FILE] [--keep] DEB" >&2; exit 2; }
DEB=$(realpath "$DEB")
if [[ $(id -u) -ne 0 ]]; then echo "systemd_vm.sh: needs root (debootstrap, chroot): skipped"; exit 77; fi
for tool in debootstrap qemu-system-x86_64 mke2fs dpkg-deb dpkg-checkbuilddeps openssl python3 flock; do
  command -v "$tool" >/dev/null || { echo "systemd_vm.sh: $tool missing (scripts/deps.sh): skipped"; exit 77; }
done
[[ $(dpkg-deb -f "$DEB" Package) == scsipub ]] || { echo "systemd_vm.sh: $DEB is not the scsipub package" >&2; exit 2; }
mkdir -p "$CACHE"
LOG=${LOG:-$CACHE/console.log}
T_START=$SECONDS

RUN=$(mktemp -d "${TMPDIR:-/tmp}/scsipub-systemd-vm.XXXXXX")
QEMU_PID=
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then kill -KILL "$QEMU_PID" 2>/dev/null || true; fi
  # Never delete through a mount point that is still there.
  if grep -q " $RUN/" /proc/mounts; then
    echo "systemd_vm.sh: $RUN still has mounts; not removed" >&2
  elif ((KEEP)); then
    echo "kept $RUN" >&2
  else
    rm -rf "$RUN"
  fi
}
trap cleanup EXIT

# --- the mirror and suites the host's apt uses (deb.debian.org when none) --
# shellcheck source=/dev/null
CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
SUITE=bookworm
# shellcheck disable=SC2016  # apt's own $(FIELD) placeholders
apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
  awk -v s="$SUITE" '$3 == "deb" && ($2 == s || index($2, s "-") == 1) { print "deb " $1 " " $2 " main" }' |
  sort -u >"$RUN/sources.list" || true
MIRROR=${SCSIPUB_VM_MIRROR:-$(awk -v s="$SUITE" '$3 == s { print $2; exit }' "$RUN/sources.list")}
if [[ -z $MIRROR || $CODENAME != "$SUITE" ]]; then
  MIRROR=${SCSIPUB_VM_MIRROR:-http://deb.debian.org/debian}
  printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" >"$RUN/sources.list"
fi

# --- the cached base system ------------------------------------------------
# The guest's tools, plus the first alternative of each of the package's
# Depends (without versions: a newer version comes in through the update below).
PACKAGES=(systemd-sysv udev dbus linux-image-amd64 initramfs-tools kmod iproute2 procps
  libiscsi-bin open-iscsi openssl ca-certificates curl)
deps=$(dpkg-deb -f "$DEB" Pre-Depends Depends | sed -n 's/^[A-Za-z-]*: //p' | paste -sd, -)
while IFS= read -r dep; do
  dep=$(sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' <<<"$dep")
  [[ -n $dep ]] && PACKAGES+=("$dep")
done < <(tr ',' '\n' <<<"$deps")
mapfile -t PACKAGES < <(printf '%s\n' "${PACKAGES[@]}" | sort -u)
KEY=$( { cat "$SYS/build-base.sh"; printf '%s\n' "${PACKAGES[@]}" "$MIRROR"; cat "$RUN/sources.list"; } | sha256sum | cut -c1-16)
BASE=$CACHE/$KEY
T_BASE=0
base_state=cached
exec 9>"$CACHE/.lock"
flock -w 1800 9 || { echo "systemd_vm.sh: another run holds $CACHE/.lock" >&2; exit 1; }
if [[ ! -f $BASE/complete ]]; then
  base_state=built
  t0=$SECONDS
  # One base at a time: older keys go (each is about 1 GiB).
  for old in "$CACHE"/*/; do
    old=${old%/}
    [[ -d $old && $old != "$BASE" ]] || continue
    grep -q " $old/" /proc/mounts || rm -rf "$old"
  done
  rm -rf "$BASE"
  mkdir -p "$BASE"
  if ! "$SYS/build-base.sh" "$BASE" "$MIRROR" "$RUN/sources.list" "${PACKAGES[@]}"; then
    echo "systemd_vm.sh: building the Debian base failed (logs in $BASE)" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  touch "$BASE/complete"
  T_BASE=$((SECONDS - t0))
fi
# The base may predate the versions the package was built against: update it in place.
mkdir -p "$RUN/ckdeps/debian"
printf 'Source: scsipub-vm\n\nPackage: scsipub-vm\nArchitecture: any\n' >"$RUN/ckdeps/debian/control"
if ! unmet=$(cd "$RUN/ckdeps" && dpkg-checkbuilddeps --admindir="$BASE/root/var/lib/dpkg" -d "$deps" 2>&1); then
  echo "[systemd-vm] the cached base lacks: ${unmet#*: }; updating it" >&2
  t0=$SECONDS
  "$SYS/build-base.sh" --update "$BASE" "$MIRROR" "$RUN/sources.list" "${PACKAGES[@]}" ||
    { echo "0 passed, 1 failed"; exit 1; }
  T_BASE=$((T_BASE + SECONDS - t0))
  base_state="$base_state+updated"
fi
flock -u 9

# --- this run's root: the base, the checks, the .deb, test configs and certs
t0=$SECONDS
R=$RUN/root
cp -a "$BASE/root" "$R"
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin
# A fixed machine id: no first-boot logic.
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$R/etc/machine-id"
echo >>"$R/etc/machine-id"
G=$R/usr/local/lib/scsipub-vm-check
mkdir -p "$G/certs"
install -m 0755 "$SYS/guest-check.sh" "$G/guest-check.sh"
cp "$DEB" "$G/scsipub.deb"
printf 'GRACE_MS=%s\nCOOLDOWN_S=%s\nEXPOSURE_MAX=%s\n' "$GRACE_MS" "$COOLDOWN_S" "$EXPOSURE_MAX" >"$G/params.sh"
# Self-signed pairs standing in for certbot's and Caddy's (a new key each time).
for name in le1 le2 caddy1 caddy2; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=vmtest-$name" -addext subjectAltName=DNS:vmtest \
    -keyout "$G/certs/$name.key" -out "$G/certs/$name.crt" 2>/dev/null
done
# The package's own conffile, with [tls] pointed at each layout and the
# shutdown grace and reload cooldown set to known values.
dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./etc/scsipub/scsipub.toml >"$RUN/packaged.toml" 2>/dev/null ||
  { echo "[systemd-vm] the package has no /etc/scsipub/scsipub.toml; the test configs start empty" >&2; : >"$RUN/packaged.toml"; }
python3 "$SYS/config_overrides.py" "$RUN/packaged.toml" "$G/config-le.toml" \
  iscsi.shutdown_grace_ms="$GRACE_MS" tls.reload_cooldown_seconds="$COOLDOWN_S" \
  tls.cert=/etc/letsencrypt/live/vmtest/fullchain.pem tls.key=/etc/letsencrypt/live/vmtest/privkey.pem
python3 "$SYS/config_overrides.py" "$RUN/packaged.toml" "$G/config-caddy.toml" \
  iscsi.shutdown_grace_ms="$GRACE_MS" tls.reload_cooldown_seconds="$COOLDOWN_S" \
  tls.cert=/var/lib/caddy/.local/share/caddy/certificates/local/vmtest/vmtest.crt \
  tls.key=/var/lib/caddy/.local/share/caddy/certificates/local/vmtest/vmtest.key

# --- boot parameters and the accelerator -----------------------------------
KERNEL=$(find "$R/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
INITRD=$(find "$R/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n 1)
cp "$KERNEL" "$RUN/vmlinuz"
cp "$INITRD" "$RUN/initrd"

qemu_run() {  # SECS LOG ACCEL IMAGE|'' APPEND: with no IMAGE, no initrd either
  local secs=$1 out=$2 accel=$3 img=$4 append=$5 cpu=max rc=0
  [[ $accel == kvm ]] && cpu=host
  local drive=()
  [[ -n $img ]] && drive=(-initrd "$RUN/initrd" -drive "file=$img,if=virtio,format=raw")
  timeout -k 5 "$secs" qemu-system-x86_64 \
    -accel "$accel" -cpu "$cpu" -m 1024 -smp 2 \
    -nodefaults -display none -no-reboot -serial stdio -monitor none \
    -device virtio-rng-pci \
    -kernel "$RUN/vmlinuz" -append "$append" "${drive[@]}" \
    </dev/null >"$out" 2>&1 &
  QEMU_PID=$!
  wait "$QEMU_PID" || rc=$?
  QEMU_PID=
  return "$rc"
}
# KVM only when /dev/kvm opens AND the kernel boots with it quickly (nested
# virtualisation sometimes hangs): with no initrd and no root it panics
# within seconds.
probe_accel() {
  if [[ -r /dev/kvm && -w /dev/kvm ]] && (exec 3<>/dev/kvm) 2>/dev/null; then
    qemu_run 40 "$RUN/probe.log" kvm '' "console=ttyS0 panic=-1" >&2 || true
    if grep -q 'Kernel panic' "$RUN/probe.log"; then
      echo kvm
      return
    fi
    echo "[systemd-vm] /dev/kvm present but a KVM boot did not finish in 40 s; using TCG" >&2
  fi
  echo tcg
}
[[ $ACCEL == auto ]] && ACCEL=$(probe_accel)
if [[ -z $TIMEOUT ]]; then
  if [[ $ACCEL == kvm ]]; then TIMEOUT=300; else TIMEOUT=720; fi
fi

# --- the checks start after boot and power the VM off ---------------------
sed "s/@GUEST_TIMEOUT@/$((TIMEOUT - 60 > 60 ? TIMEOUT - 60 : TIMEOUT * 3 / 4))/" "$SYS/scsipub-vm-check.service" \
  >"$R/etc/systemd/system/scsipub-vm-check.service"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/scsipub-vm-check.service "$R/etc/systemd/system/multi-user.target.wants/"

size_mb=$(($(du -sm "$R" | cut -f1) + 768))
truncate -s "${size_mb}M" "$RUN/root.img"
mke2fs -q -F -t ext4 -L root -d "$R" "$RUN/root.img"
rm -rf "$R"
T_IMAGE=$((SECONDS - t0))

echo "[systemd-vm] base $base_state ($KEY), image ${size_mb} MiB in ${T_IMAGE} s, booting with $ACCEL (timeout ${TIMEOUT} s)" >&2
t0=$SECONDS
rc=0
qemu_run "$TIMEOUT" "$LOG" "$ACCEL" "$RUN/root.img" \
  "root=/dev/vda rw console=ttyS0 panic=-1 loglevel=4 systemd.show_status=error net.ifnames=0" || rc=$?
T_BOOT=$((SECONDS - t0))

# --- results --------------------------------------------------------------
passed=0 failed=0
while IFS= read -r line; do
  if [[ $line == VMLOG* ]]; then
    printf '     | %s\n' "${line#VMLOG }"
    continue
  fi
  read -r _ verdict name detail <<<"$line"
  case $verdict in
    ok) passed=$((passed + 1)); printf 'PASS %-30s %s\n' "$name" "$detail" ;;
    fail) failed=$((failed + 1)); printf 'FAIL %-30s %s\n' "$name" "$detail" ;;
    note) printf 'note %-30s %s\n' "$name" "$detail" ;;
  esac
done < <(tr -d '\r' <"$LOG" | grep -a -o -E '(VMCHECK (ok|fail|note) .*|VMLOG .*)')
if tr -d '\r' <"$LOG" | grep -a -q 'VMCHECK done'; then
  passed=$((passed + 1))
  printf 'PASS %-30s %s\n' vm-finished "all checks ran, VM powered off after ${T_BOOT} s ($ACCEL)"
else
  failed=$((failed + 1))
  printf 'FAIL %-30s %s\n' vm-finished "no 'VMCHECK done' after ${T_BOOT} s ($ACCEL, qemu exit $rc); console tail:"
  tr -d '\r' <"$LOG" | tail -n 40 | sed 's/^/     | /'
fi
echo "timings: base $base_state ${T_BASE} s, image ${T_IMAGE} s, boot to checks done ${T_BOOT} s ($ACCEL), total $((SECONDS - T_START)) s; console log $LOG"
echo "${passed} passed, ${failed} failed"
((failed == 0))
