#!/bin/sh
# e2e-group: fleet
# The kernel initiator in a VM inside the fleet's network namespace attaches a
# provisioned disk through the portal the session API handed out (node B's,
# 10.0.2.2:PORT as QEMU's user network maps it to the namespace's lo), with
# the API's static iscsiadm commands (CHAP), writes a 1 MiB pattern with
# O_DIRECT at 4 MiB, flushes (SYNCHRONIZE CACHE), reads it back, and logs out. The portal
# the session is connected to is logged: with the fleet wired it is the
# owner's, after a login redirect.
. /e2e/params.sh
. /e2e/lib.sh
if [ -z "${E2E_DISK_IQN:-}" ]; then
  e2e_fail fleet-setup "no provisioned disk in params"
  exit 1
fi
IQN=$E2E_DISK_IQN
P=$E2E_DISK_PORTAL
iscsiadm -m node -o delete >/dev/null 2>&1
t0=$(e2e_uptime)
e2e_run_cmds fleet-login-cmds "$E2E_DISK_STATIC_CMDS" || exit 1
if ! devs=$(e2e_wait_disks "$IQN" 1 30); then
  e2e_fail fleet-disk "no LUN appeared: $(iscsiadm -m session 2>&1 | tr '\n' ' ')"
  exit 1
fi
D0=$(echo "$devs" | head -n 1)
s=$(e2e_session_dir "$IQN")
c=$(ls -d "$s"/device/connection*/iscsi_connection/connection* 2>/dev/null | head -n 1)
# address/port: the peer of the connection's socket (after a login redirect,
# the owner's portal; persistent_address stays the portal that was dialled).
e2e_pass fleet-login "LUN 0 $D0 in $(awk -v a="$t0" -v b="$(e2e_uptime)" 'BEGIN { printf "%.1f", b - a }') s through $P; connected to $(cat "$c/address" 2>/dev/null):$(cat "$c/port" 2>/dev/null)"
e2e_pattern /tmp/fleet.pat 1048576
want=$(sha256sum </tmp/fleet.pat | cut -d' ' -f1)
out=$(e2e_write "$D0" /tmp/fleet.pat 4194304) || { e2e_fail fleet-write "dd: $out"; exit 1; }
e2e_check fleet-flush sg_sync "$D0"   # SYNCHRONIZE CACHE: O_DIRECT alone ends in the write cache
e2e_expect fleet-readback "$(e2e_read_sha "$D0" 4194304 1048576)" "$want" "1 MiB O_DIRECT write + sync, read back ($(echo "$want" | cut -c1-12))"
e2e_check fleet-logout iscsiadm -m node -T "$IQN" -p "$P" --logout
exit 0
