#!/bin/bash
# Data round trips through QEMU's iSCSI block driver (libiscsi inside qemu).
#
#   qemu_img_roundtrip.sh --scsipub SCSIPUB_BIN
#   qemu_img_roundtrip.sh --tgtd                 # validate the script against tgt
#
# The free-tier blank disk is private to one login and deleted at logout, so
# "qemu-img convert into the target, then qemu-img compare" cannot be two
# qemu-img processes (the second would log in to a new, empty disk). Instead:
#   1. read path:  qemu-img convert image.test -> file; must equal the base file
#                  (and the same for image.small, an .iso that is not 1 MiB-aligned);
#   2. write path: qemu-nbd holds ONE iSCSI login to blank and re-exports it over
#                  a unix socket; qemu-img convert (64 MiB random) and qemu-img
#                  compare both go through that one login;
#   3. lifetime:   after qemu-nbd exits (logout), a new login reads 64 MiB of zeros
#                  (scsipub) -- with tgt, whose LUN persists, it reads the data back;
#   4. qemu-io:    one process writes patterns (aligned and sub-sector) and reads
#                  them back with pattern verification;
#   5. image CoW:  qemu-io writes to image.test; the base file's sha256 is unchanged
#                  (scsipub only: tgt writes through to its backing file).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

mode=${1:-}
case $mode in
  --scsipub) (($# == 2)) || { echo "usage: $0 --scsipub BIN | --tgtd" >&2; exit 2; } ;;
  --tgtd) ;;
  *) echo "usage: $0 --scsipub BIN | --tgtd" >&2; exit 2 ;;
esac
require_tools qemu-img qemu-io qemu-nbd python3 sha256sum cmp
[[ $mode == --tgtd ]] && require_tools tgtd tgtadm
# qemu's iSCSI driver lives in qemu-block-extra; without it qemu-img says
# "Unknown protocol 'iscsi'" -- a missing tool, not a server failure.
if ! qemu-img --help 2>/dev/null | grep -qw iscsi; then
  log "SKIP: qemu-img has no iscsi protocol driver (install qemu-block-extra)"
  exit 77
fi

if [[ $mode == --tgtd ]]; then
  start_tgtd
  make_images "$INTEG_TMP/images"
  images=$INTEG_TMP/images
  blank_url=$TGT_URL
  # tgt has no copy-on-write: give it copies so the originals stay comparable.
  cp "$images/test.img" "$INTEG_TMP/tgt-test.img"
  cp "$images/small.iso" "$INTEG_TMP/tgt-small.iso"
  image_url=$(tgtd_add_lun 2 "$INTEG_TMP/tgt-test.img")
  small_url=$(tgtd_add_lun 3 "$INTEG_TMP/tgt-small.iso")
else
  start_scsipub "$2"
  images=$SCSIPUB_IMAGES_DIR
  blank_url=$(scsipub_url blank)
  image_url=$(scsipub_url image.test)
  small_url=$(scsipub_url image.small)
fi

fail=0
q() { timeout -k 5 120 "$@"; }

# 1. read path -------------------------------------------------------------
q qemu-img convert -f raw -O raw "$image_url" "$INTEG_TMP/read-test.raw"
integ_check "image.test reads back byte-equal to test.img" cmp "$INTEG_TMP/read-test.raw" "$images/test.img"
q qemu-img convert -f raw -O raw "$small_url" "$INTEG_TMP/read-small.raw"
integ_check "image.small reads back byte-equal to small.iso" cmp "$INTEG_TMP/read-small.raw" "$images/small.iso"

# 2. write path through one login (qemu-nbd) -------------------------------
size=$((64 << 20))
src=$INTEG_TMP/src.raw
head -c "$size" /dev/urandom >"$src"
sock=$INTEG_TMP/nbd.sock
nbd_pid_file=$INTEG_TMP/qemu-nbd.pid
stop_nbd() {
  [[ -f $nbd_pid_file ]] || return 0
  local p
  p=$(<"$nbd_pid_file")
  rm -f "$nbd_pid_file"
  kill -TERM "$p" 2>/dev/null || return 0
  _wait_pid_gone "$p" 100 || kill -KILL "$p" 2>/dev/null || true
}
integ_on_exit stop_nbd
q qemu-nbd --fork --persistent --format raw --cache none --socket "$sock" \
  --pid-file "$nbd_pid_file" "$blank_url"
nbd_url="nbd+unix:///?socket=$sock"
vsize=$(q qemu-img info --output json "$nbd_url" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
integ_check "blank is 64 MiB (got $vsize)" test "$vsize" -eq "$size"
q qemu-img convert -n -f raw -O raw "$src" "$nbd_url"
integ_check "64 MiB random written and compared in one login" q qemu-img compare -f raw -F raw "$src" "$nbd_url"
stop_nbd

# 3. lifetime of the data after logout ---------------------------------------
q qemu-img convert -f raw -O raw "$blank_url" "$INTEG_TMP/after.raw"
if [[ $mode == --tgtd ]]; then
  integ_check "tgt LUN persists across logins (qemu-img compare in a second process)" \
    q qemu-img compare -f raw -F raw "$src" "$blank_url"
else
  truncate -s "$size" "$INTEG_TMP/zeros.raw"
  integ_check "a new login to blank reads 64 MiB of zeros" cmp "$INTEG_TMP/after.raw" "$INTEG_TMP/zeros.raw"
fi

# 4. qemu-io: write + verify in one process ----------------------------------
qio_out=$INTEG_TMP/qemu-io.out
zero_read=(-c 'read -P 0x00 0 4096')   # a fresh login reads zeros ...
[[ $mode == --tgtd ]] && zero_read=()  # ... except on tgt, whose LUN kept step 2's data
q qemu-io -f raw "$blank_url" \
  -c 'write -P 0x5a 1M 256k' -c 'read -P 0x5a 1M 256k' \
  -c 'write -P 0xa5 4608 1000' -c 'read -P 0xa5 4608 1000' \
  "${zero_read[@]}" \
  -c 'write -P 0x3c 67043328 65536' -c 'read -P 0x3c 67043328 65536' >"$qio_out" 2>&1 || true
if grep -qiE 'verification failed|error|failed' "$qio_out"; then
  log "qemu-io output:"; cat "$qio_out" >&2
  integ_check "qemu-io write/read patterns" false
else
  integ_check "qemu-io write/read patterns ($(grep -c '^read' "$qio_out") verified reads)" true
fi

# 5. image copy-on-write ---------------------------------------------------
if [[ $mode == --scsipub ]]; then
  before=$(sha256sum "$images/test.img" | cut -d' ' -f1)
  q qemu-io -f raw "$image_url" -c 'write -P 0x77 0 1M' -c 'read -P 0x77 0 1M' >"$qio_out" 2>&1 || true
  integ_check "qemu-io writes to image.test read back" bash -c "! grep -qiE 'verification failed|error|failed' '$qio_out'"
  after=$(sha256sum "$images/test.img" | cut -d' ' -f1)
  integ_check "test.img sha256 unchanged after writes through image.test" test "$before" = "$after"
  q qemu-img convert -f raw -O raw "$image_url" "$INTEG_TMP/read-test2.raw"
  integ_check "a new login to image.test sees the base again" cmp "$INTEG_TMP/read-test2.raw" "$images/test.img"
  if ! kill -0 "$SCSIPUB_PID" 2>/dev/null; then
    log "scsipub died"
    fail=1
  fi
  stop_scsipub || fail=1
fi

((fail == 0)) && log "qemu round trip: all checks passed"
exit "$fail"
