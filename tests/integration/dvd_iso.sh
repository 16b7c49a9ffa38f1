#!/bin/bash
# ISO catalog images as DVD-ROM logical units, seen by
# libiscsi's tools and QEMU's libiscsi driver against a real `scsipub serve`.
#
#   dvd_iso.sh SCSIPUB_BIN DVD_CLIENT_BIN
#
# The images dir holds disc.iso (ISO 9660 built here with xorriso from known
# files), odd.iso (1 MiB + 700 random bytes: not a multiple of 2048) and the
# usual test.img. Checks:
#   1. iscsi-inq: peripheral device type MMC (5), removable; test.img stays a disk;
#   2. dvd_client (libiscsi): READ CAPACITY (10) 2048-byte blocks, READ TOC, every
#      block by READ (10) equals disc.iso byte for byte, WRITE (10) -> DATA PROTECT;
#   3. qemu-img info / convert (QEMU treats type 5 as a CD: READ CAPACITY (10),
#      2048-byte blocks): the size and every byte equal disc.iso;
#   4. odd.iso reads as the file followed by zeros up to the next 2048 bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN DVD_CLIENT_BIN" >&2; exit 2; }
bin=$1 client=$2
require_tools xorriso iscsi-inq qemu-img sha256sum cmp
if ! qemu-img --help 2>/dev/null | grep -qw iscsi; then
  log "SKIP: qemu-img has no iscsi protocol driver (install qemu-block-extra)"
  exit 77
fi

images=$INTEG_TMP/images
root=$INTEG_TMP/iso-root
mkdir -p "$images" "$root/dir"
make_images "$images"
echo "hello from a DVD" >"$root/hello.txt"
head -c 700000 /dev/urandom >"$root/dir/random.bin"
xorriso -as mkisofs -quiet -R -J -V SCSIPUB_TEST -o "$images/disc.iso" "$root" >/dev/null 2>&1 ||
  die "xorriso failed"
head -c $(((1 << 20) + 700)) /dev/urandom >"$images/odd.iso"
start_scsipub "$bin"

fail=0
q() { timeout -k 5 120 "$@"; }
disc_url=$(scsipub_url image.disc)
odd_url=$(scsipub_url image.odd)
iso_size=$(stat -c %s "$images/disc.iso")

# 1. INQUIRY -------------------------------------------------------------------
inq=$(q iscsi-inq "$disc_url")
integ_check "iscsi-inq: peripheral device type MMC" grep -q '^Peripheral Device Type:MMC' <<<"$inq"
integ_check "iscsi-inq: removable" grep -q '^Removable:1' <<<"$inq"
integ_check "iscsi-inq: product DVD-ROM" grep -q '^Product:DVD-ROM' <<<"$inq"
integ_check "image.test is still a direct-access disk" grep -q '^Peripheral Device Type:DIRECT_ACCESS' \
  <<<"$(q iscsi-inq "$(scsipub_url image.test)")"

# 2. libiscsi client -----------------------------------------------------------
if q "$client" "$disc_url" "$INTEG_TMP/client-disc.raw" >"$INTEG_TMP/client.out" 2>&1; then
  log "ok:   dvd_client: $(tr '\n' ';' <"$INTEG_TMP/client.out")"
else
  log "FAIL: dvd_client: $(tr '\n' ';' <"$INTEG_TMP/client.out")"
  fail=1
fi
integ_check "READ (10) of every block equals disc.iso" cmp "$INTEG_TMP/client-disc.raw" "$images/disc.iso"

# 3. QEMU's libiscsi driver ----------------------------------------------------
info=$(q qemu-img info "$disc_url")
integ_check "qemu-img info: virtual size $iso_size bytes" grep -q "($iso_size bytes)" <<<"$info"
q qemu-img convert -f raw -O raw "$disc_url" "$INTEG_TMP/qemu-disc.raw"
integ_check "qemu-img convert equals disc.iso" cmp "$INTEG_TMP/qemu-disc.raw" "$images/disc.iso"

# 4. a size that is not a multiple of 2048 ---------------------------------------
q qemu-img convert -f raw -O raw "$odd_url" "$INTEG_TMP/qemu-odd.raw"
odd_size=$(stat -c %s "$images/odd.iso")
padded=$(((odd_size + 2047) / 2048 * 2048))
integ_check "odd.iso: LU size rounded up to $padded" test "$(stat -c %s "$INTEG_TMP/qemu-odd.raw")" = "$padded"
{ cat "$images/odd.iso"; head -c $((padded - odd_size)) /dev/zero; } >"$INTEG_TMP/odd-padded"
integ_check "odd.iso: the file, then zeros" cmp "$INTEG_TMP/qemu-odd.raw" "$INTEG_TMP/odd-padded"

stop_scsipub || fail=1
((fail == 0)) || exit 1
log "all DVD-ROM checks passed"
