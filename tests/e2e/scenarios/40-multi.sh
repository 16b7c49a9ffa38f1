#!/bin/sh
# e2e-group: more
# e2e-targets: scsipub
# The multi target shows two block devices (LUN 0 and 1) in one session, each
# with the bytes of one catalog image.
. /e2e/params.sh
. /e2e/lib.sh
IQN=$E2E_MULTI_IQN
e2e_add_node "$IQN" || { e2e_fail multi-node "cannot create node record"; exit 1; }
e2e_check multi-login e2e_login "$IQN" || exit 1
if ! devs=$(e2e_wait_disks "$IQN" 2 30); then
  e2e_fail multi-two-disks "got '$(echo "$devs" | tr '\n' ' ')'"
  exit 1
fi
e2e_pass multi-two-disks "$(echo "$devs" | tr '\n' ' ')"
e2e_expect multi-one-session "$(ls -d /sys/class/iscsi_session/session* | wc -l)" 1
# Each LUN's (size, first-MiB sha256) must be one of the catalog images; the
# two must differ.
seen=
for d in $devs; do
  sz=$(blockdev --getsize64 "$d")
  n=$((sz < 1048576 ? sz : 1048576))
  sha=$(e2e_read_sha "$d" 0 "$n")
  match=
  for spec in $E2E_IMAGES; do
    name=${spec%%:*}; rest=${spec#*:}
    size=${rest%%:*}; rest=${rest#*:}
    sha1m=${rest%%:*}
    [ "$((size / 512 * 512))" = "$sz" ] && [ "$sha1m" = "$sha" ] && match=$name
  done
  if [ -n "$match" ]; then e2e_pass "multi-lun-content:$d" "image $match, $sz bytes"; else e2e_fail "multi-lun-content:$d" "$sz bytes, sha $sha matches no image"; fi
  seen="$seen $match"
done
set -- $seen
[ "$#" = 2 ] && [ "$1" != "$2" ] && e2e_pass multi-distinct-luns "$seen" || e2e_fail multi-distinct-luns "$seen"
# LUNs are independent: a write to LUN 1 does not show on LUN 0.
set -- $devs
before=$(e2e_read_sha "$1" 0 4096)
e2e_pattern /tmp/m.pat 4096
e2e_write "$2" /tmp/m.pat 0 >/dev/null
e2e_expect multi-lun1-write "$(e2e_read_sha "$2" 0 4096)" "$(sha256sum </tmp/m.pat | cut -d' ' -f1)" "LUN 1 write read back"
e2e_expect multi-lun0-untouched "$(e2e_read_sha "$1" 0 4096)" "$before" "LUN 0 unchanged"
e2e_check multi-logout e2e_logout "$IQN"
exit 0
