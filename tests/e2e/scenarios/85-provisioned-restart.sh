#!/bin/sh
# e2e-group: reconnect
# e2e-targets: scsipub
# e2e-needs: disk
# A provisioned disk end to end, the way a user attaches it: run the API's
# `iscsiadm.discovery` commands exactly as returned (discoverydb with CHAP,
# node CHAP settings, --login). LUN 0 is a 1 GiB blank disk, LUN 1 the catalog
# image `test` (its bytes equal the file's). Write patterns with O_DIRECT to
# both LUNs, SYNCHRONIZE CACHE (`sync` + sg_sync), and two 4 KiB WRITE(10)
# with FUA (sg_raw, no sync after). Then the host SIGKILLs scsipub and starts
# it again on the same port and data dir: iscsid logs in again by itself
# (CHAP, the same session and /dev/sdX), every acknowledged write is still
# there and I/O works. Then log out with the API's `iscsiadm.logout` commands,
# forget the discovery record, and attach again with the API's
# `iscsiadm.static` commands (`-o new`): same data. When the
# commands set up mutual CHAP, a wrong password_in makes the login fail.
. /e2e/params.sh
. /e2e/lib.sh
if [ -z "${E2E_DISK_IQN:-}" ]; then
  e2e_fail disk-setup "no provisioned disk in params (see the host-provision result)"
  exit 1
fi
IQN=$E2E_DISK_IQN
P=$E2E_DISK_PORTAL
BLANK=$E2E_DISK_BLANK_SIZE
node() { iscsiadm -m node -T "$IQN" -p "$P" "$@"; }
# A machine that never saw this portal: no discovery or node record.
iscsiadm -m discoverydb -t sendtargets -p "$P" -o delete >/dev/null 2>&1
iscsiadm -m node -o delete >/dev/null 2>&1

# --- (b) the API's discovery sequence, verbatim ---------------------------
e2e_run_cmds disk-discovery-cmds "$E2E_DISK_DISCOVERY_CMDS" || exit 1
if grep -q "^$P,[0-9]* $IQN\$" /tmp/disk-discovery-cmds.out; then
  e2e_pass disk-discovery-lists-disk "$P $IQN"
else
  e2e_fail disk-discovery-lists-disk "not in: $(grep -v '^\$' /tmp/disk-discovery-cmds.out | tr '\n' ' ' | cut -c1-300)"
fi
if grep -q " $E2E_BLANK_IQN\$" /tmp/disk-discovery-cmds.out; then
  e2e_fail disk-discovery-only-account "CHAP discovery also lists the free targets"
else
  e2e_pass disk-discovery-only-account "no free target in the CHAP discovery"
fi
if ! devs=$(e2e_wait_disks "$IQN" 2 30); then
  e2e_fail disk-two-luns "got '$(echo "$devs" | tr '\n' ' ')'"
  exit 1
fi
set -- $devs
D0=$1 D1=$2
e2e_pass disk-two-luns "LUN 0 $D0, LUN 1 $D1"
e2e_expect disk-lun0-size "$(blockdev --getsize64 "$D0")" "$BLANK" "LUN 0 blank, $BLANK bytes"
e2e_expect disk-lun1-size "$(blockdev --getsize64 "$D1")" "$E2E_DISK_IMAGE_SIZE" "LUN 1, $E2E_DISK_IMAGE_SIZE bytes"
got=$(dd if="$D1" bs=65536 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
e2e_expect disk-lun1-image-sha256 "$got" "$E2E_DISK_IMAGE_SHA" "LUN 1 = image test ($(echo "$got" | cut -c1-12))"
e2e_expect disk-lun0-zeros "$(e2e_read_sha "$D0" 0 65536)" "$(e2e_zero_sha 65536)" "fresh blank reads zeros"
for d in $D0 $D1; do
  sd=$(ls -d /sys/block/"${d#/dev/}"/device/scsi_disk/* 2>/dev/null | head -n 1)
  e2e_log "$d cache_type=$(cat "$sd/cache_type" 2>/dev/null) FUA=$(cat "$sd/FUA" 2>/dev/null)"
done

# --- (c) acknowledged writes survive kill -9 ------------------------------
# name:dev:offset:length (bytes); the patterns are /tmp/dp.<name>.
PATS="a:$D0:0:65536 b:$D0:$((512 * 1048576 + 4096)):1048576 c:$D0:$((BLANK - 65536)):65536"
PATS="$PATS d:$D1:1048576:65536 e:$D1:$((E2E_DISK_IMAGE_SIZE - 4096)):4096"
bad=
for p in $PATS; do
  IFS=: read -r n d off len <<EOF
$p
EOF
  e2e_pattern /tmp/dp.$n "$len"
  e2e_write "$d" /tmp/dp.$n "$off" >/dev/null || bad="$bad $n@$d+$off"
done
if [ -z "$bad" ]; then e2e_pass disk-write "O_DIRECT: 3 patterns on LUN 0 (start, 512 MiB, end), 2 on LUN 1"; else e2e_fail disk-write "dd failed:$bad"; fi
sync
e2e_check disk-sync-cache sh -c "sg_sync $D0 && sg_sync $D1 && echo SYNCHRONIZE CACHE ok on $D0 $D1"
# FUA writes (WRITE(10), FUA bit, 8 blocks): durable without any sync after.
# LUN 0 at LBA 204800 (100 MiB), LUN 1 at LBA 6144 (3 MiB).
e2e_pattern /tmp/dp.f 4096
e2e_pattern /tmp/dp.g 4096
if sg_raw -s 4096 -i /tmp/dp.f "$D0" 2a 08 00 03 20 00 00 00 08 00 >/tmp/sgraw.out 2>&1 &&
  sg_raw -s 4096 -i /tmp/dp.g "$D1" 2a 08 00 00 18 00 00 00 08 00 >>/tmp/sgraw.out 2>&1; then
  e2e_pass disk-write-fua "WRITE(10) FUA 4 KiB on each LUN"
else
  e2e_fail disk-write-fua "sg_raw: $(tail -n 3 /tmp/sgraw.out | tr '\n' ' ')"
fi
PATS="$PATS f:$D0:$((204800 * 512)):4096 g:$D1:$((6144 * 512)):4096"

# verify TAG: every pattern of $PATS reads back (O_DIRECT), LUN 1's first
# MiB is still the image's, LUN 0's unwritten 64 KiB..128 KiB still zeros.
verify() {
  _bad=
  for p in $PATS; do
    IFS=: read -r n d off len <<EOF
$p
EOF
    [ "$(e2e_read_sha "$d" "$off" "$len")" = "$(sha256sum </tmp/dp.$n | cut -d' ' -f1)" ] || _bad="$_bad $n($d+$off)"
  done
  [ "$(e2e_read_sha "$D1" 0 1048576)" = "$E2E_DISK_IMAGE_SHA1M" ] || _bad="$_bad image-first-MiB"
  [ "$(e2e_read_sha "$D0" 65536 65536)" = "$(e2e_zero_sha 65536)" ] || _bad="$_bad gap-not-zero"
  if [ -z "$_bad" ]; then
    e2e_pass "$1" "$(echo $PATS | wc -w) patterns + image bytes + zero gap intact"
  else
    e2e_fail "$1" "differs:$_bad"
  fi
}
verify disk-readback

sess=$(e2e_session_dir "$IQN")
e2e_signal restart-target
# The old process is gone: the kernel sees the connection drop...
t0=$(cut -d' ' -f1 /proc/uptime)
down=0
for _ in $(seq 1 150); do
  [ "$(cat "$sess/state" 2>/dev/null)" = LOGGED_IN ] || { down=1; break; }
  sleep 0.1
done
if [ $down = 1 ]; then e2e_pass disk-session-dropped "session $(basename "$sess") $(cat "$sess/state" 2>/dev/null) after the kill"; else
  e2e_fail disk-session-dropped "still LOGGED_IN 15 s after the restart signal"; fi
# ...and iscsid logs in again by itself (CHAP, from the node record).
back=0
for _ in $(seq 1 120); do
  sleep 0.5
  [ "$(cat "$sess/state" 2>/dev/null)" = LOGGED_IN ] || continue
  e2e_read_sha "$D0" 0 4096 >/dev/null 2>&1 && { back=1; break; }
done
t1=$(cut -d' ' -f1 /proc/uptime)
if [ $back = 1 ]; then
  e2e_pass disk-relogin "session $(basename "$sess") LOGGED_IN again after $(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}') s, no manual login"
else
  e2e_fail disk-relogin "no re-login within 60 s (state $(cat "$sess/state" 2>/dev/null))"
  exit 1
fi
e2e_expect disk-same-devices "$(e2e_disks "$IQN" | tr '\n' ' ')" "$D0 $D1 " "$D0 $D1 in the same session"
verify disk-survives-kill9
# I/O works again.
bad=
for p in "h:$D0:$((256 * 1048576)):131072" "i:$D1:$((5 * 1048576)):65536"; do
  IFS=: read -r n d off len <<EOF
$p
EOF
  e2e_pattern /tmp/dp.$n "$len"
  e2e_write "$d" /tmp/dp.$n "$off" >/dev/null || bad="$bad write-$n"
  [ "$(e2e_read_sha "$d" "$off" "$len")" = "$(sha256sum </tmp/dp.$n | cut -d' ' -f1)" ] || bad="$bad read-$n"
  PATS="$PATS $p"
done
if [ -z "$bad" ]; then e2e_pass disk-io-after-restart "128 KiB on LUN 0, 64 KiB on LUN 1 written and read back"; else e2e_fail disk-io-after-restart "$bad"; fi

# --- (d) log out, attach again with the API's static sequence -------------
if [ -n "${E2E_DISK_LOGOUT_CMDS:-}" ]; then
  # The API's own undo: --logout, then -o delete of the node record.
  e2e_run_cmds disk-logout-cmds "$E2E_DISK_LOGOUT_CMDS"
  if iscsiadm -m node 2>/dev/null | grep -q " $IQN\$"; then e2e_fail disk-logout-forgets "node record still there"; else
    e2e_pass disk-logout-forgets "no node record left"; fi
else
  e2e_check disk-logout node --logout
  node -o delete >/dev/null 2>&1
fi
sleep 0.2
if [ -n "$(e2e_disks "$IQN")" ]; then e2e_fail disk-logout-gone "devices still there"; else e2e_pass disk-logout-gone "$D0 $D1 removed"; fi
iscsiadm -m discoverydb -t sendtargets -p "$P" -o delete >/dev/null 2>&1
e2e_run_cmds disk-static-cmds "$E2E_DISK_STATIC_CMDS" || exit 1
if ! devs=$(e2e_wait_disks "$IQN" 2 30); then
  e2e_fail disk-static-two-luns "got '$(echo "$devs" | tr '\n' ' ')'"
  exit 1
fi
set -- $devs
D0=$1 D1=$2
e2e_pass disk-static-two-luns "LUN 0 $D0, LUN 1 $D1"
# The devices may have new names: re-point the patterns.
PATS=$(for p in $PATS; do
  IFS=: read -r n d off len <<EOF
$p
EOF
  case $n in a | b | c | f | h) d=$D0 ;; *) d=$D1 ;; esac
  echo "$n:$d:$off:$len"
done | tr '\n' ' ')
verify disk-static-data

# --- (e) mutual CHAP, when the API's commands set it up --------------------
if echo "$E2E_DISK_STATIC_CMDS" | grep -q 'node.session.auth.password_in'; then
  uin=$(node 2>/dev/null | sed -n 's/^node.session.auth.username_in = //p')
  e2e_expect disk-mutual-chap-configured "$uin" "$IQN" "username_in = the target name; the login above checked the target's answer"
  e2e_check disk-logout2 node --logout
  # A wrong password_in: the initiator must refuse the target (the target's
  # own CHAP check passes, so this is no failed attempt on the server side).
  node -o update -n node.session.auth.password_in -v "$E2E_DISK_WRONG_SECRET"
  out=$(node --login 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && [ -z "$(e2e_disks "$IQN")" ]; then
    e2e_pass disk-mutual-chap-enforced "wrong password_in: rc=$rc $(echo "$out" | grep -i 'fail\|error' | tail -n 1 | cut -c1-140)"
  else
    e2e_fail disk-mutual-chap-enforced "login with a wrong password_in: rc=$rc $(echo "$out" | tail -n 1)"
    node --logout >/dev/null 2>&1
  fi
else
  e2e_skip disk-mutual-chap "the API's commands set no password_in"
  e2e_check disk-logout2 node --logout
fi
node -o delete >/dev/null 2>&1
exit 0
