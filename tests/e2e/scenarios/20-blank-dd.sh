#!/bin/sh
# e2e-group: basic
# e2e-targets: scsipub tgt
# Log in to the blank target, check the block device and its size, write
# random patterns with O_DIRECT at several offsets (including the last
# sector), read them back with O_DIRECT, log out, log in again (a fresh blank
# disk must read zeros), log out, delete the node record.
. /e2e/params.sh
. /e2e/lib.sh
IQN=$E2E_BLANK_IQN
SIZE=$E2E_BLANK_SIZE

e2e_add_node "$IQN" || { e2e_fail blank-node "cannot create node record"; exit 1; }
e2e_check blank-login e2e_login "$IQN" || exit 1
if ! dev=$(e2e_wait_disks "$IQN" 1 30); then
  e2e_fail blank-disk "no block device after 30 s (got '$dev')"
  exit 1
fi
dev=$(echo "$dev" | head -n 1)
e2e_pass blank-disk "$dev"
sz=$(blockdev --getsize64 "$dev")
ssz=$(blockdev --getss "$dev")
if [ "$sz" = "$SIZE" ] && [ "$ssz" = 512 ]; then e2e_pass blank-size "$sz bytes, $ssz-byte sectors"; else e2e_fail blank-size "got $sz bytes / $ssz-byte sectors, want $SIZE / 512"; fi
e2e_expect blank-fresh-zeros "$(e2e_read_sha "$dev" 0 65536)" "$(e2e_zero_sha 65536)" "first 64 KiB are zeros"

# offset:length pairs (bytes); the last ones end exactly at the end of the disk.
LAST=$((SIZE - 512))
PATTERNS="0:4096 1049088:3584 $((32 * 1048576 - 65536)):131072 $((48 * 1048576)):1048576 $((SIZE - 66048)):65536 $LAST:512"
i=0
for p in $PATTERNS; do
  off=${p%%:*} len=${p#*:}
  e2e_pattern /tmp/pat.$i "$len"
  if out=$(e2e_write "$dev" /tmp/pat.$i "$off"); then :; else
    e2e_fail "blank-write@$off" "dd: $(echo "$out" | tr '\n' ' ')"
  fi
  i=$((i + 1))
done
sync
i=0
for p in $PATTERNS; do
  off=${p%%:*} len=${p#*:}
  want=$(sha256sum </tmp/pat.$i | cut -d' ' -f1)
  got=$(e2e_read_sha "$dev" "$off" "$len")
  if [ "$got" = "$want" ]; then
    e2e_pass "blank-readback@$off+$len" "sha256 $(echo "$want" | cut -c1-12)"
  else
    e2e_fail "blank-readback@$off+$len" "sha256 got $got want $want"
  fi
  i=$((i + 1))
done
# A gap between patterns is still zero; the sector after pattern 1 too.
e2e_expect blank-gap-zeros "$(e2e_read_sha "$dev" $((8 * 1048576)) 65536)" "$(e2e_zero_sha 65536)" "64 KiB at 8 MiB still zeros"
# Reading past the end gives nothing (the kernel clamps at the capacity).
n=$(dd if="$dev" bs=512 skip=$((SIZE / 512)) count=1 iflag=direct 2>/dev/null | wc -c)
if [ "$n" = 0 ]; then e2e_pass blank-eod "0 bytes past the end"; else e2e_fail blank-eod "$n bytes past the end"; fi

e2e_check blank-logout e2e_logout "$IQN"
sleep 0.2
if [ -n "$(e2e_disks "$IQN")" ]; then e2e_fail blank-disk-gone "$dev still there"; else e2e_pass blank-disk-gone "$dev removed"; fi

if [ "${E2E_FRESH_BLANK:-1}" = 1 ]; then
  # Each login gets its own blank disk: the patterns must be gone.
  e2e_check blank-relogin e2e_login "$IQN" && {
    dev2=$(e2e_wait_disks "$IQN" 1 30 | head -n 1)
    z=$(e2e_zero_sha 4096)
    got=$(e2e_read_sha "$dev2" 0 4096)
    got2=$(e2e_read_sha "$dev2" "$LAST" 512)
    if [ "$got" = "$z" ] && [ "$got2" = "$(e2e_zero_sha 512)" ]; then e2e_pass blank-relogin-fresh "$dev2 reads zeros"; else e2e_fail blank-relogin-fresh "$dev2 kept data from the previous login"; fi
    e2e_check blank-relogout e2e_logout "$IQN"
  }
fi

e2e_check blank-node-delete iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" -o delete
if iscsiadm -m node 2>/dev/null | grep -q " $IQN\$"; then e2e_fail blank-node-gone "still listed"; else e2e_pass blank-node-gone "no node record"; fi
exit 0
