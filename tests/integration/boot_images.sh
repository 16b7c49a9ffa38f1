#!/usr/bin/env bash
# boot_images.sh SCSIPUB_BIN CASE — boot the starter images
# (scripts/demo-image.sh) in QEMU straight from a real `scsipub serve`, and
# wait for the demo's banner on the serial console. CASE is one of:
#
#   landing-disk  the QEMU command /api/v1/images gives for image.demo (the
#                 raw disk), run unchanged but for display/serial/accelerator
#                 options; the landing page must show the same command
#   qemu-cdrom    the same for image.demo-iso (demo.iso, served as a DVD-ROM):
#                 QEMU's libiscsi driver attaches it with media=cdrom and
#                 SeaBIOS boots its El Torito record
#   ipxe-cdrom    iPXE (QEMU's network ROM) fetches boot.ipxe over TFTP from
#                 QEMU's user network and runs the API's `ipxe` command,
#                 `sanboot iscsi:10.0.2.2::PORT::IQN`, for image.demo-iso
#   ipxe-disk     the same for image.demo
#
# For the iPXE cases the server advertises 10.0.2.2:PORT (QEMU's user network
# maps the guest's 10.0.2.2 to the host's 127.0.0.1), so the API's command is
# the guest's command verbatim. demo.iso is not a hybrid image: it boots only
# through El Torito, i.e. only when the target serves it as a CD/DVD.
#
# Accelerator: BOOT_ACCEL=kvm|tcg, or a probe: KVM when /dev/kvm opens and a
# local BIOS boot of demo.img reaches the banner under it within 15 s (nested KVM on some
# hosts cannot run SeaBIOS's real-mode code: "KVM internal error"), else TCG.
# Exit: 0 booted, 1 failed, 77 a missing tool.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

BIN=${1:?usage: boot_images.sh SCSIPUB_BIN CASE}
CASE=${2:?usage: boot_images.sh SCSIPUB_BIN CASE}
case $CASE in
  landing-disk|qemu-cdrom|ipxe-cdrom|ipxe-disk) ;;
  *) die "unknown case $CASE" ;;
esac
require_tools qemu-system-x86_64 python3 curl apt-get dpkg-deb gzip iscsi-inq
[[ $CASE != ipxe-* ]] || [[ -f /usr/lib/ipxe/qemu/pxe-virtio.rom ]] || {
  log "SKIP: no iPXE ROM for QEMU (Debian package ipxe-qemu)"
  exit "$INTEG_SKIP"
}

BANNER='scsipub demo: booted from iSCSI'
BOOT_TIMEOUT=${BOOT_TIMEOUT:-240}
QEMU_PID=''
stop_qemu() {
  [[ -n $QEMU_PID ]] || return 0
  kill -TERM "$QEMU_PID" 2>/dev/null || true
  _wait_pid_gone "$QEMU_PID" 50 || kill -KILL "$QEMU_PID" 2>/dev/null || true
  wait "$QEMU_PID" 2>/dev/null || true
  QEMU_PID=''
}
integ_on_exit stop_qemu

# wait_banner SERIAL_LOG QEMU_STDERR SECS: 0 when the banner shows up, 1 when
# QEMU exits, reports a KVM emulation failure, or the time runs out.
wait_banner() {
  local serial=$1 err=$2 secs=$3 i
  for ((i = 0; i < secs * 4; i++)); do
    grep -qF "$BANNER" "$serial" 2>/dev/null && return 0
    grep -q 'KVM internal error' "$err" 2>/dev/null && return 1
    kill -0 "$QEMU_PID" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}

# run_qemu NAME SECS ARGV...: start QEMU headless with the serial console in
# $INTEG_TMP/NAME.serial and wait for the banner. Sets BOOT_SECONDS.
run_qemu() {
  local name=$1 secs=$2
  shift 2
  local serial=$INTEG_TMP/$name.serial err=$INTEG_TMP/$name-qemu.log t0=$SECONDS rc=0
  : >"$serial"
  "$@" -display none -serial "file:$serial" -monitor none -no-reboot >"$err" 2>&1 &
  QEMU_PID=$!
  wait_banner "$serial" "$err" "$secs" || rc=1
  BOOT_SECONDS=$((SECONDS - t0))
  stop_qemu
  return "$rc"
}

log "building (or reusing) the demo images"
mapfile -t DEMO < <("$REPO/scripts/demo-image.sh" "$INTEG_TMP/demo" | tail -n 2)
[[ ${#DEMO[@]} == 2 && -s ${DEMO[0]} && -s ${DEMO[1]} ]] || die "scripts/demo-image.sh gave no images"

probe_accel() {
  if [[ -n ${BOOT_ACCEL:-} ]]; then echo "$BOOT_ACCEL"; return; fi
  if [[ -r /dev/kvm && -w /dev/kvm ]] && (exec 3<>/dev/kvm) 2>/dev/null &&
    run_qemu probe-kvm 15 qemu-system-x86_64 -accel kvm -m 256 -drive "file=${DEMO[0]},format=raw,if=virtio,readonly=on"; then
    echo kvm
  else
    echo tcg
  fi
}
ACCEL=$(probe_accel)
log "accelerator: $ACCEL"

mkdir -p "$INTEG_TMP/images"
cp "${DEMO[0]}" "$INTEG_TMP/images/demo.img"
cp "${DEMO[1]}" "$INTEG_TMP/images/demo-iso.iso"
if [[ $CASE == ipxe-* ]]; then
  # The guest reaches the host's 127.0.0.1:PORT as 10.0.2.2:PORT.
  SCSIPUB_PUBLIC_IP=10.0.2.2  # read by start_scsipub (lib.sh)
  export SCSIPUB_PUBLIC_IP
fi
# start_scsipub adds its test.img and small.iso next to the demo images.
start_scsipub "$BIN" || die "scsipub did not start"

case $CASE in
  landing-disk|ipxe-disk) IMAGE=demo ;;
  *) IMAGE=demo-iso ;;
esac
KIND=qemu
[[ $CASE == ipxe-* ]] && KIND=ipxe
if [[ $IMAGE == demo-iso ]]; then
  # iPXE decides "CD-ROM" by content (an ISO 9660 primary volume descriptor
  # at 2048-byte block 16, whatever the block size), so booting alone does
  # not prove the target serves a DVD-ROM: ask the LU itself (MMC, type 05h).
  INQ=$(timeout 20 iscsi-inq "iscsi://$INTEG_HOST:$SCSIPUB_PORT/$IQN_PREFIX:image.demo-iso/0" 2>&1) ||
    die "iscsi-inq of image.demo-iso failed: $INQ"
  grep -q '^Peripheral Device Type:MMC' <<<"$INQ" ||
    die "image.demo-iso is not served as a DVD-ROM (MMC) LU: $(grep 'Peripheral Device Type' <<<"$INQ")"
fi
API=$INTEG_TMP/images.json
curl -sf --max-time 20 -o "$API" "http://$INTEG_HOST:$SCSIPUB_HTTP_PORT/api/v1/images" || die "GET /api/v1/images failed"
COMMAND=$(python3 - "$API" "$IMAGE" "$KIND" <<'PY'
import json, sys
images = json.load(open(sys.argv[1]))["images"]
match = [i for i in images if i["name"] == sys.argv[2]]
if not match:
    sys.exit(f"image {sys.argv[2]} not in /api/v1/images: {[i['name'] for i in images]}")
print(match[0]["commands"][sys.argv[3]])
PY
) || die "no $KIND command for $IMAGE"
log "the API's $KIND command for image.$IMAGE: $COMMAND"

# The landing page shows the very same command (HTML-escaped).
curl -sf --max-time 20 -o "$INTEG_TMP/landing.html" "http://$INTEG_HOST:$SCSIPUB_HTTP_PORT/" || die "GET / failed"
python3 - "$INTEG_TMP/landing.html" "$COMMAND" <<'PY' || die "the landing page does not show the API's command"
import html, sys
page = html.unescape(open(sys.argv[1], encoding="utf-8").read())
sys.exit(0 if sys.argv[2] in page else 1)
PY

CPU=max
[[ $ACCEL == kvm ]] && CPU=host
EXTRA=(-accel "$ACCEL" -cpu "$CPU")
if [[ $KIND == qemu ]]; then
  mapfile -t ARGV < <(python3 -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$COMMAND")
  [[ ${ARGV[0]} == qemu-system-x86_64 ]] || die "unexpected QEMU command: $COMMAND"
  if [[ $CASE == qemu-cdrom ]]; then
    [[ $COMMAND == *media=cdrom* ]] || die "the QEMU command for a DVD image attaches no CD-ROM: $COMMAND"
  fi
  # QEMU's libiscsi driver names itself iqn.2008-11.org.linux-kvm unless told.
  QEMU_CMD=("${ARGV[@]}" "${EXTRA[@]}")
else
  TFTP=$INTEG_TMP/tftp
  mkdir -p "$TFTP"
  printf '#!ipxe\ndhcp\n%s\n' "$COMMAND" >"$TFTP/boot.ipxe"
  QEMU_CMD=(qemu-system-x86_64 -m 512 "${EXTRA[@]}"
    -netdev "user,id=n,tftp=$TFTP,bootfile=boot.ipxe" -device "virtio-net-pci,netdev=n" -boot n)
fi
log "running: ${QEMU_CMD[*]}"
if run_qemu "$CASE" "$BOOT_TIMEOUT" "${QEMU_CMD[@]}"; then
  log "PASS $CASE: image.$IMAGE booted to the banner in ${BOOT_SECONDS}s ($ACCEL)"
else
  log "FAIL $CASE: no banner within ${BOOT_SECONDS}s ($ACCEL); serial console and QEMU output:"
  tail -n 30 "$INTEG_TMP/$CASE.serial" >&2 || true
  tail -n 20 "$INTEG_TMP/$CASE-qemu.log" >&2 || true
  exit 1
fi
stop_scsipub
