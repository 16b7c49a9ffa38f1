#!/bin/sh
# e2e-group: reconnect
# e2e-targets: scsipub
# The target process dies under a logged-in kernel initiator: on the line
# "E2E-SIGNAL restart-target" the host SIGKILLs scsipub and starts it again on
# the same port. iscsid must log in again by itself and I/O must resume on the
# same block device, with no manual action. A blank disk is private to one
# login, so after the re-login it reads zeros (that is also how we know the
# new process answered); 85-provisioned-restart does the same with a
# provisioned disk, which keeps its data.
. /e2e/params.sh
. /e2e/lib.sh
IQN=$E2E_BLANK_IQN

e2e_add_node "$IQN" || { e2e_fail reconnect-node "cannot create node record"; exit 1; }
e2e_check reconnect-login e2e_login "$IQN" || exit 1
if ! dev=$(e2e_wait_disks "$IQN" 1 30); then
  e2e_fail reconnect-disk "no block device after 30 s"
  exit 1
fi
dev=$(echo "$dev" | head -n 1)
sess=$(e2e_session_dir "$IQN")
e2e_pattern /tmp/rc.before 65536
if e2e_write "$dev" /tmp/rc.before 0 >/dev/null; then e2e_pass reconnect-write-before "64 KiB on $dev"; else
  e2e_fail reconnect-write-before "dd failed"; fi

e2e_signal restart-target
zero=$(e2e_zero_sha 65536)
t0=$(cut -d. -f1 /proc/uptime)
back=0
for _ in $(seq 1 60); do
  sleep 1
  [ "$(cat "$sess/state" 2>/dev/null)" = LOGGED_IN ] || continue
  got=$(e2e_read_sha "$dev" 0 65536 2>/dev/null) || continue
  if [ "$got" = "$zero" ]; then back=1; break; fi
done
t1=$(cut -d. -f1 /proc/uptime)
if [ "$back" = 1 ]; then
  e2e_pass reconnect-relogin "session $(basename "$sess") LOGGED_IN again on $dev after $((t1 - t0)) s, fresh blank disk"
else
  e2e_fail reconnect-relogin "no re-login within 60 s (state $(cat "$sess/state" 2>/dev/null))"
  exit 1
fi

e2e_pattern /tmp/rc.after 131072
if e2e_write "$dev" /tmp/rc.after 1048576 >/dev/null; then
  e2e_expect reconnect-io-after "$(e2e_read_sha "$dev" 1048576 131072)" "$(sha256sum </tmp/rc.after | cut -d' ' -f1)" "128 KiB written and read back"
else
  e2e_fail reconnect-io-after "dd failed after the re-login"
fi
e2e_check reconnect-logout e2e_logout "$IQN"
iscsiadm -m node -T "$IQN" -o delete >/dev/null 2>&1 || true
