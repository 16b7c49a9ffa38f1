#!/bin/sh
# e2e-group: more
# e2e-targets: scsipub tgt
# A real filesystem on the blank disk: mkfs.ext4, mount, files, umount,
# e2fsck, mount again, files intact (all within one login: the blank disk
# dies with it).
. /e2e/params.sh
. /e2e/lib.sh
IQN=$E2E_BLANK_IQN
e2e_add_node "$IQN" || { e2e_fail fs-node "cannot create node record"; exit 1; }
e2e_check fs-login e2e_login "$IQN" || exit 1
dev=$(e2e_wait_disks "$IQN" 1 30 | head -n 1) || { e2e_fail fs-disk "no disk"; exit 1; }
e2e_check fs-mkfs mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev" || exit 1
mkdir -p /mnt/e2e
e2e_check fs-mount mount -t ext4 "$dev" /mnt/e2e || exit 1
head -c 3000000 /dev/urandom >/mnt/e2e/random.bin
mkdir -p /mnt/e2e/dir
for i in $(seq 1 50); do echo "file $i" >/mnt/e2e/dir/f$i; done
want=$(cat /mnt/e2e/random.bin /mnt/e2e/dir/f* | sha256sum | cut -d' ' -f1)
sync
e2e_check fs-umount umount /mnt/e2e
# Drop anything cached for the device, so the remount reads from the target.
echo 3 >/proc/sys/vm/drop_caches
blockdev --flushbufs "$dev"
e2e_check fs-fsck e2fsck -f -n "$dev"
e2e_check fs-remount mount -t ext4 "$dev" /mnt/e2e || exit 1
got=$(cat /mnt/e2e/random.bin /mnt/e2e/dir/f* 2>/dev/null | sha256sum | cut -d' ' -f1)
e2e_expect fs-files-survive-remount "$got" "$want" "3 MB + 50 files intact"
e2e_check fs-umount2 umount /mnt/e2e
e2e_check fs-logout e2e_logout "$IQN"
exit 0
