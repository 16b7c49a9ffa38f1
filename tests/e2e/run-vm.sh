#!/usr/bin/env bash
# run-vm.sh — boot the e2e VM once and run scenario scripts in it.
#
#   run-vm.sh --vm DIR --params FILE --log FILE [--timeout SECS] [--accel kvm|tcg|auto]
#             SCENARIO.sh...
#   run-vm.sh --vm DIR --probe-accel        prints "kvm" or "tcg"
#
# DIR is what build-vm.sh printed (vmlinuz + initrd.gz). PARAMS is a shell file
# sourced by the guest (E2E_PORTAL=10.0.2.2:PORT, E2E_IQN_PREFIX, ...). The
# guest /init (guest/init.sh), guest/lib.sh, PARAMS and the scenarios are
# packed into a second cpio archive appended to the cached initrd, so nothing
# needs a rebuild when they change.
#
# Networking is QEMU user mode: inside the guest the host's 127.0.0.1 is
# 10.0.2.2. The serial console (the guest's stdout) goes to LOG and, with
# E2E_VERBOSE=1, to stderr too. The whole run is under `timeout` (default 900 s
# for TCG, 300 s for KVM) and qemu is started with -no-reboot and panic=1, so
# the VM always ends. Exit status: qemu's (124 = timed out). The caller parses
# the `E2E-RESULT name PASS|FAIL detail` lines of LOG.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM='' PARAMS='' LOG='' TIMEOUT='' ACCEL=auto PROBE=0
SCENARIOS=()
while (($#)); do
  case $1 in
    --vm) VM=$2; shift 2 ;;
    --params) PARAMS=$2; shift 2 ;;
    --log) LOG=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --accel) ACCEL=$2; shift 2 ;;
    --probe-accel) PROBE=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "run-vm.sh: unknown option $1" >&2; exit 2 ;;
    *) SCENARIOS+=("$1"); shift ;;
  esac
done
[[ -n $VM && -s $VM/vmlinuz && -s $VM/initrd.gz ]] || { echo "run-vm.sh: --vm DIR with vmlinuz and initrd.gz required" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "run-vm.sh: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scsipub-e2e-vm.XXXXXX")
QEMU_PID=
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
  if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then kill -KILL "$QEMU_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

# qemu_run SECS LOGFILE ACCEL INITRD APPEND-EXTRA: one bounded boot.
qemu_run() {
  local secs=$1 out=$2 accel=$3 initrd=$4 extra=$5 cpu=max
  [[ $accel == kvm ]] && cpu=host
  local rc=0
  # -nodefaults: no VGA/parallel/floppy/default NIC; romfile= skips the iPXE
  # option ROM we do not need (we boot with -kernel). stdin is /dev/null.
  timeout -k 5 "$secs" qemu-system-x86_64 \
    -accel "$accel" -cpu "$cpu" -m 512 -smp 1 \
    -nodefaults -display none -no-reboot \
    -serial stdio -monitor none \
    -kernel "$VM/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 panic=1 loglevel=4 $extra" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= \
    </dev/null >"$out" 2>&1 &
  QEMU_PID=$!
  if [[ ${E2E_VERBOSE:-0} == 1 ]]; then
    tail -n +1 -f "$out" --pid="$QEMU_PID" >&2 &
  fi
  wait "$QEMU_PID" || rc=$?
  QEMU_PID=
  return "$rc"
}

probe_accel() {
  # KVM only when /dev/kvm opens AND a guest actually boots with it quickly:
  # nested virtualisation sometimes hangs at boot. The base initrd's fallback
  # /init prints one line and powers off, which is all the probe needs.
  if [[ -r /dev/kvm && -w /dev/kvm ]] && (exec 3<>/dev/kvm) 2>/dev/null; then
    if qemu_run 40 "$TMP/probe.log" kvm "$VM/initrd.gz" "" && grep -q 'no-e2e-overlay' "$TMP/probe.log"; then
      echo kvm
      return
    fi
    echo "run-vm.sh: /dev/kvm present but a KVM boot did not finish in 40 s; using TCG" >&2
  fi
  echo tcg
}

if ((PROBE)); then
  probe_accel
  exit 0
fi

[[ -n $PARAMS && -f $PARAMS && -n $LOG ]] || { echo "run-vm.sh: --params FILE and --log FILE required" >&2; exit 2; }
((${#SCENARIOS[@]})) || { echo "run-vm.sh: no scenario given" >&2; exit 2; }
[[ $ACCEL == auto ]] && ACCEL=$(probe_accel)
if [[ -z $TIMEOUT ]]; then
  if [[ $ACCEL == kvm ]]; then TIMEOUT=300; else TIMEOUT=900; fi
fi

# The overlay archive: /init, /e2e/{lib.sh,params.sh,scenarios/*}.
OV=$TMP/overlay
mkdir -p "$OV/e2e/scenarios"
install -m 0755 "$HERE/guest/init.sh" "$OV/init"
cp "$HERE/guest/lib.sh" "$OV/e2e/lib.sh"
cp "$PARAMS" "$OV/e2e/params.sh"
# The guest's own watchdog fires a little before the host's timeout (unless
# PARAMS sets it), so a stuck guest still reports and powers off cleanly.
guest_timeout=$((TIMEOUT > 60 ? TIMEOUT - 15 : TIMEOUT * 3 / 4))
echo ": \"\${E2E_GUEST_TIMEOUT:=$guest_timeout}\"" >>"$OV/e2e/params.sh"
for s in "${SCENARIOS[@]}"; do
  [[ -f $s ]] || { echo "run-vm.sh: no such scenario $s" >&2; exit 2; }
  install -m 0755 "$s" "$OV/e2e/scenarios/$(basename "$s")"
done
python3 - "$OV" "$TMP/overlay.cpio.gz" <<'PY'
# Minimal newc writer (the host has no cpio); directories before their files.
import gzip, os, sys
root, out = sys.argv[1], sys.argv[2]
entries = []
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs) + sorted(files):
        entries.append(os.path.join(d, n))
ino = 1000
with gzip.open(out, 'wb') as fh:
    def put(name, mode, data=b''):
        global ino
        ino += 1
        nb = name.encode() + b'\0'
        hdr = '070701' + ''.join('%08X' % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        fh.write(hdr.encode() + nb)
        fh.write(b'\0' * ((4 - (110 + len(nb)) % 4) % 4))
        fh.write(data)
        fh.write(b'\0' * ((4 - len(data) % 4) % 4))
    for p in entries:
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        if os.path.isdir(p):
            put(rel, 0o040755)
        else:
            put(rel, 0o100000 | (st.st_mode & 0o777), open(p, 'rb').read())
    put('TRAILER!!!', 0)
PY
cat "$VM/initrd.gz" "$TMP/overlay.cpio.gz" >"$TMP/initrd.gz"

echo "[run-vm] accel=$ACCEL timeout=${TIMEOUT}s scenarios: ${SCENARIOS[*]##*/}" >&2
T0=$SECONDS
rc=0
qemu_run "$TIMEOUT" "$LOG" "$ACCEL" "$TMP/initrd.gz" "" || rc=$?
echo "[run-vm] qemu exited $rc after $((SECONDS - T0)) s" >&2
exit "$rc"
