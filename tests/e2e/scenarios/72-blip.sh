#!/bin/sh
# e2e-group: blip
# e2e-targets: scsipub
# A network blip under a mounted filesystem on the blank disk. On the line
# "E2E-SIGNAL drop-connection" the host destroys the TCP connection (ss -K):
# no Logout, the target sees its read fail, iscsid sees a reset and logs in
# again with the same ISID. Within [free_tier] retain_seconds (20 s) the
# target hands the dropped session's overlay to that login, so the disk the
# kernel finds is the one its page cache and ext4 believe in: files written
# before and after the blip survive, e2fsck is clean. The same again with the
# guest's link down for 12 s, where iscsid notices first and its login
# overtakes the target's old connection.
# Second phase, the documented limit: the guest's link stays down longer than
# the grace period, so the overlay is deleted and the re-login gets a fresh
# blank disk (zeros where the filesystem was).
. /e2e/params.sh
. /e2e/lib.sh
IQN=$E2E_BLANK_IQN
RETAIN=20

conn_errors() { dmesg | grep -c 'detected conn error'; }

# blip_relogin NAME SESS LIMIT ERRORS_BEFORE: wait until the connection has
# failed (the session left LOGGED_IN, or the kernel logged a conn error since
# ERRORS_BEFORE) and the session is LOGGED_IN again.
blip_relogin() {
  _t0=$(cut -d. -f1 /proc/uptime)
  _seen_down=0
  for _ in $(seq 1 "$3"); do
    _st=$(cat "$2/state" 2>/dev/null)
    { [ "$_st" != LOGGED_IN ] || [ "$(conn_errors)" -gt "$4" ]; } && _seen_down=1
    if [ "$_seen_down" = 1 ] && [ "$_st" = LOGGED_IN ]; then
      e2e_pass "$1" "session $(basename "$2") failed and is LOGGED_IN again after $(($(cut -d. -f1 /proc/uptime) - _t0)) s"
      return 0
    fi
    sleep 1
  done
  e2e_fail "$1" "not LOGGED_IN again within $3 s (state $(cat "$2/state" 2>/dev/null), seen down: $_seen_down)"
  return 1
}

e2e_add_node "$IQN" || { e2e_fail blip-node "cannot create node record"; exit 1; }
e2e_check blip-login e2e_login "$IQN" || exit 1
dev=$(e2e_wait_disks "$IQN" 1 30 | head -n 1) || { e2e_fail blip-disk "no disk"; exit 1; }
sess=$(e2e_session_dir "$IQN")
e2e_check blip-mkfs mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev" || exit 1
mkdir -p /mnt/blip
e2e_check blip-mount mount -t ext4 "$dev" /mnt/blip || exit 1
head -c 2000000 /dev/urandom >/mnt/blip/before.bin
mkdir -p /mnt/blip/dir
for i in $(seq 1 30); do echo "before $i" >/mnt/blip/dir/b$i; done
sync

# Phase 1: a blip well within the grace period.
errs0=$(conn_errors)
e2e_signal drop-connection
blip_relogin blip-relogin "$sess" 60 "$errs0" || exit 1

# Phase 1b: the guest's link goes down for 12 s (a Wi-Fi blip): iscsid's
# NOP-Out times out and it logs in again while the target still holds the
# old connection (its own NOP-In would take 45 s to notice). The login
# reinstates the session (RFC 7143 6.3.5): the old connection is closed, the
# login is asked to retry (03/01) until the old session's disk is retained,
# then the retry takes it.
for n in /sys/class/net/*; do [ "$(basename "$n")" = lo ] || { nic=$(basename "$n"); break; }; done
errs0=$(conn_errors)
ip link set "$nic" down
sleep 12
ip link set "$nic" up
ip route add default via 10.0.2.2 2>/dev/null
blip_relogin blip-relogin-link-down "$sess" 60 "$errs0" || exit 1
echo "written after the link came back" >/mnt/blip/dir/link
sync

# The filesystem keeps working on the reinstated session: the writes that
# would have corrupted a fresh disk.
head -c 1000000 /dev/urandom >/mnt/blip/after.bin
for i in $(seq 1 30); do echo "after $i" >/mnt/blip/dir/a$i; done
want=$(cat /mnt/blip/before.bin /mnt/blip/after.bin /mnt/blip/dir/* | sha256sum | cut -d' ' -f1)
sync
e2e_check blip-umount umount /mnt/blip
# Drop what the kernel cached, so what follows reads the target.
echo 3 >/proc/sys/vm/drop_caches
blockdev --flushbufs "$dev"
e2e_check blip-fsck e2fsck -f -n "$dev"
e2e_check blip-remount mount -t ext4 "$dev" /mnt/blip || exit 1
got=$(cat /mnt/blip/before.bin /mnt/blip/after.bin /mnt/blip/dir/* 2>/dev/null | sha256sum | cut -d' ' -f1)
e2e_expect blip-files-intact "$got" "$want" "3 MB + 61 files written before, between and after the blips"
e2e_check blip-umount2 umount /mnt/blip

# Phase 2: the link stays down past the grace period.
e2e_pattern /tmp/blip.mark 65536
e2e_write "$dev" /tmp/blip.mark 1048576 >/dev/null || e2e_fail blip-mark "dd failed"
errs0=$(conn_errors)
ip link set "$nic" down
e2e_signal drop-connection
sleep $((RETAIN + 8))
ip link set "$nic" up
ip route add default via 10.0.2.2 2>/dev/null
blip_relogin blip-relogin-late "$sess" 90 "$errs0" || exit 1
zero=$(e2e_zero_sha 65536)
e2e_expect blip-fresh-after-grace "$(e2e_read_sha "$dev" 1048576 65536)" "$zero" "a fresh blank disk after ${RETAIN}+ s"
e2e_expect blip-no-fs-after-grace "$(e2e_read_sha "$dev" 0 65536)" "$zero" "the superblock is gone with the overlay"
e2e_check blip-logout e2e_logout "$IQN"
iscsiadm -m node -T "$IQN" -o delete >/dev/null 2>&1 || true
exit 0
