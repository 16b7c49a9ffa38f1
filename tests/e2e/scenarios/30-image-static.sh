#!/bin/sh
# e2e-group: more
# e2e-targets: scsipub
# The "static login" dance many guides use (no discovery): -o new, -o update
# authmethod None, --login; then the catalog image's bytes equal the base
# file's (first MiB and whole image, sha256 computed on the host), a write
# lands in the private overlay, and a new login sees the base again.
. /e2e/params.sh
. /e2e/lib.sh

for spec in $E2E_IMAGES; do
  name=${spec%%:*}; rest=${spec#*:}
  size=${rest%%:*}; rest=${rest#*:}
  sha1m=${rest%%:*}; shaall=${rest#*:}
  IQN=$E2E_IQN_PREFIX:image.$name
  t=image.$name
  e2e_check "$t:node-new" iscsiadm -m node -o new -T "$IQN" -p "$E2E_PORTAL" || continue
  e2e_check "$t:node-update" iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" -o update -n node.session.auth.authmethod -v None
  e2e_check "$t:login" iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" --login || continue
  if ! dev=$(e2e_wait_disks "$IQN" 1 30); then e2e_fail "$t:disk" "no block device"; continue; fi
  e2e_pass "$t:disk" "$dev"
  # The capacity is the file size rounded down to whole 512-byte sectors.
  e2e_expect "$t:size" "$(blockdev --getsize64 "$dev")" "$((size / 512 * 512))"
  e2e_expect "$t:sha256-first-MiB" "$(e2e_read_sha "$dev" 0 1048576)" "$sha1m"
  if [ $((size % 512)) = 0 ]; then
    got=$(dd if="$dev" bs=65536 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
    e2e_expect "$t:sha256-whole" "$got" "$shaall"
  fi
  # Copy-on-write: write 8 KiB at 4 KiB, read back, rest unchanged.
  e2e_pattern /tmp/img.pat 8192
  e2e_write "$dev" /tmp/img.pat 4096 >/dev/null
  e2e_expect "$t:overlay-write" "$(e2e_read_sha "$dev" 4096 8192)" "$(sha256sum </tmp/img.pat | cut -d' ' -f1)" "8 KiB at 4 KiB read back"
  e2e_check "$t:logout" iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" --logout
  e2e_check "$t:relogin" iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" --login && {
    dev=$(e2e_wait_disks "$IQN" 1 30 | head -n 1)
    e2e_expect "$t:base-after-relogin" "$(e2e_read_sha "$dev" 0 1048576)" "$sha1m" "new login sees the base image, not the old overlay"
    e2e_check "$t:relogout" iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" --logout
  }
  e2e_check "$t:node-delete" iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" -o delete
done
exit 0
