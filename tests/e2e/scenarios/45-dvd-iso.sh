#!/bin/sh
# e2e-group: more
# e2e-targets: scsipub
# An ISO 9660 catalog image served as a DVD-ROM drive: the kernel's
# sr driver binds it as /dev/srN (SCSI type 5, removable, 2048-byte blocks),
# the whole device reads back as the ISO file, `mount -t iso9660` works, and
# every file on the disc has the sha256 computed on the host from the files
# the ISO was built from (run.sh: make_dvd_iso). A WRITE (10) sent straight to
# the drive ends in DATA PROTECT.
. /e2e/params.sh
. /e2e/lib.sh
if [ -z "$E2E_DVD_IQN" ]; then
  e2e_skip dvd "no ISO image (xorriso missing on the host)"
  exit 0
fi
IQN=$E2E_DVD_IQN
e2e_add_node "$IQN" || { e2e_fail dvd-node "cannot create node record"; exit 1; }
e2e_check dvd-login e2e_login "$IQN" || exit 1
if ! dev=$(e2e_wait_disks "$IQN" 1 30); then
  e2e_fail dvd-device "no block device: '$dev'"
  e2e_logout "$IQN" >/dev/null 2>&1
  exit 1
fi
case $dev in
  /dev/sr*) e2e_pass dvd-device "$dev" ;;
  *) e2e_fail dvd-device "$dev is not an sr device" ;;
esac
name=${dev#/dev/}
e2e_expect dvd-scsi-type "$(cat /sys/block/$name/device/type)" 5 "peripheral device type 5 (CD/DVD)"
e2e_expect dvd-removable "$(cat /sys/block/$name/removable)" 1
e2e_expect dvd-block-size "$(blockdev --getss "$dev")" 2048
e2e_expect dvd-size "$(blockdev --getsize64 "$dev")" "$E2E_DVD_SIZE"
e2e_expect dvd-sha256-whole "$(dd if="$dev" bs=65536 2>/dev/null | sha256sum | cut -d' ' -f1)" "$E2E_DVD_SHA"
mkdir -p /mnt/dvd
if e2e_check dvd-mount mount -t iso9660 -o ro "$dev" /mnt/dvd; then
  e2e_expect dvd-fstype "$(awk -v d="$dev" '$1 == d { print $3 }' /proc/mounts)" iso9660
  for spec in $E2E_DVD_FILES; do
    path=${spec%%:*}
    want=${spec#*:}
    got=$(sha256sum <"/mnt/dvd/$path" 2>/dev/null | cut -d' ' -f1)
    e2e_expect "dvd-file:$path" "$got" "$want"
  done
  e2e_check dvd-umount umount /mnt/dvd
fi
# Past the kernel's read-only open: WRITE (10) of one block at LBA 0 via SG_IO.
head -c 2048 /dev/zero >/tmp/dvd-block
out=$(sg_raw -s 2048 -i /tmp/dvd-block "$dev" 2a 00 00 00 00 00 00 00 01 00 2>&1)
if echo "$out" | grep -qi 'data protect'; then
  e2e_pass dvd-write-data-protect "$(echo "$out" | grep -i 'protect' | head -n 2 | tr '\n' ' ' | cut -c1-160)"
else
  e2e_fail dvd-write-data-protect "$(echo "$out" | tail -n 3 | tr '\n' ' ' | cut -c1-200)"
fi
e2e_expect dvd-unchanged "$(dd if="$dev" bs=65536 2>/dev/null | sha256sum | cut -d' ' -f1)" "$E2E_DVD_SHA"
e2e_check dvd-logout e2e_logout "$IQN"
exit 0
