#!/bin/sh
# e2e-group: fleet-failover
# Failover of a provisioned disk on Ceph RBD between fleet nodes, seen by the
# Linux kernel initiator. The host (tests/fleet/failover.sh) passes:
#   E2E_DISK_PORTAL  the entry node's portal (a node that does NOT own the disk)
#   E2E_OWNER_PORTAL the portal of the node that owns the disk at boot
# and acts on "E2E-SIGNAL kill-owner" (kill -9 of the owner), "pause-owner"
# (SIGSTOP of the current owner) and "resume-paused" (SIGCONT).
#
# 1. Two initiators (ifaces ini1, ini2: two InitiatorNames, one CHAP user) log
#    in through the entry portal and end up connected to the owner (login
#    redirect, RFC 7143 11.13.5). ini1 writes a 1 MiB pattern and flushes;
#    both register (0xa1, 0xb2), ini1 reserves Write Exclusive; ini2 conflicts.
# 2. kill -9 of the owner. open-iscsi reconnects to the portal it knows (the
#    entry), which redirects to the new owner once it holds the lease. The
#    pattern, the keys, the reservation and its generation are intact; ini2
#    still conflicts, ini1 writes; ini2 preempts ini1 (the fencing step of
#    fence_scsi): now ini1 conflicts and ini2 writes.
# 3. A paused owner must not write after it lost its lease: ini2 writes
#    "before" at LBA X and flushes; the host SIGSTOPs the owner; ini2 issues a
#    4 KiB WRITE of "stale" at X (one PDU with immediate data: it waits in
#    the paused node's socket); the initiator times out, reconnects through
#    the entry to the next owner and completes the write there; ini2 writes
#    "after" at X and flushes; the host SIGCONTs the paused node, which reads
#    the queued PDU: it must refuse it. X must still read "after".
. /e2e/params.sh
. /e2e/lib.sh
if [ -z "${E2E_DISK_IQN:-}" ] || [ -z "${E2E_OWNER_PORTAL:-}" ]; then
  e2e_fail fo-setup "no provisioned disk / owner portal in params"
  exit 1
fi
IQN=$E2E_DISK_IQN
P=$E2E_DISK_PORTAL
IN1=iqn.2025-01.pub.scsipub.e2e:fleet-ini1
IN2=iqn.2025-01.pub.scsipub.e2e:fleet-ini2
K1=0xa1 K2=0xb2
# Failover takes a lease period or more: queue I/O that long instead of
# failing it (the default in the e2e guest is 20 s).
sed -i 's|^node.session.timeo.replacement_timeout = .*|node.session.timeo.replacement_timeout = 120|' /etc/iscsi/iscsid.conf
iscsiadm -m node -o delete >/dev/null 2>&1

sess_dir() { e2e_sess_of "$IQN" "$1"; }
lun0() { e2e_lun0_of "$IQN" "$1"; }
# connected INITIATORNAME: host:port the session's connection is connected to.
connected() {
  _c=$(ls -d "$(sess_dir "$1")"/device/connection*/iscsi_connection/connection* 2>/dev/null | head -n 1)
  echo "$(cat "$_c/address" 2>/dev/null):$(cat "$_c/port" 2>/dev/null)"
}
state() { cat "$(sess_dir "$1")/state" 2>/dev/null; }
pr() { e2e_pr "$@"; }
gen() { e2e_pr_gen "$1"; }
keys() { e2e_pr_keys "$1"; }
# try_write DEV LBA_HEX FILE: one 4 KiB WRITE(10) (sg_raw, no kernel retries).
try_write() {
  for _ in 1 2 3; do
    _o=$(sg_raw -s 4096 -i "$3" "$1" 2a 00 $2 00 00 08 00 2>&1)
    _r=$?
    [ $_r -eq 0 ] && { echo ok; return 0; }
    echo "$_o" | grep -qi 'reservation conflict' && { echo conflict; return 0; }
    echo "$_o" | grep -qi 'unit attention' && continue
    echo "rc=$_r $(echo "$_o" | tr '\n' ' ' | cut -c1-160)"
    return 0
  done
  echo "UA three times"
}
LBA_PR="00 18 00 00"
head -c 4096 /dev/urandom >/tmp/fo.w
expect_write() {
  _w=$(try_write "$2" "$LBA_PR" /tmp/fo.w)
  case $_w in
    "$3"*) e2e_pass "$1" "WRITE(10) from $(basename "$2"): $_w" ;;
    *) e2e_fail "$1" "WRITE(10) from $(basename "$2"): got '$_w', want $3" ;;
  esac
}
# wait_back SECS: both sessions LOGGED_IN and reading again; prints seconds.
wait_back() {
  _t0=$(e2e_uptime)
  _i=0
  while [ $_i -lt $(($1 * 2)) ]; do
    sleep 0.5
    _i=$((_i + 1))
    [ "$(state "$IN1")" = LOGGED_IN ] && [ "$(state "$IN2")" = LOGGED_IN ] || continue
    dd if="$D1" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null &&
      dd if="$D2" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null &&
      { awk -v a="$_t0" -v b="$(e2e_uptime)" 'BEGIN { printf "%.1f", b - a }'; return 0; }
  done
  return 1
}

# --- 1. log in through the entry, land on the owner -------------------------
for n in 1 2; do
  eval iname=\$IN$n
  iscsiadm -m iface -I ini$n -o new >/dev/null
  iscsiadm -m iface -I ini$n -o update -n iface.initiatorname -v "$iname" >/dev/null
  iscsiadm -m iface -I ini$n -o update -n iface.transport_name -v tcp >/dev/null
  cmds=$(printf '%s\n' "$E2E_DISK_STATIC_CMDS" | sed "/./s/\$/ -I ini$n/")
  e2e_run_cmds fo-login-$n "$cmds" || exit 1
done
D1=$(lun0 "$IN1") && D2=$(lun0 "$IN2") || { e2e_fail fo-devices "no LUN 0: $(iscsiadm -m session 2>&1 | tr '\n' ' ')"; exit 1; }
e2e_expect fo-redirected-to-owner "$(connected "$IN1") $(connected "$IN2")" "$E2E_OWNER_PORTAL $E2E_OWNER_PORTAL" \
  "logged in through $P, connected to the owner $E2E_OWNER_PORTAL"
e2e_pattern /tmp/fo.p1 1048576
P1=$(sha256sum </tmp/fo.p1 | cut -d' ' -f1)
out=$(e2e_write "$D1" /tmp/fo.p1 4194304) || { e2e_fail fo-write "$out"; exit 1; }
# O_DIRECT completes into the target's volatile write cache (WCE=1): only
# SYNCHRONIZE CACHE makes it durable (SBC-4 5.24).
e2e_check fo-flush sg_sync "$D1"
e2e_expect fo-pattern "$(e2e_read_sha "$D1" 4194304 1048576)" "$P1" "1 MiB written + flushed"
e2e_check fo-register-1 pr -o -G -S $K1 "$D1"
e2e_check fo-register-2 pr -o -G -S $K2 "$D2"
e2e_check fo-reserve-1 pr -o -R -K $K1 -T 1 "$D1"
expect_write fo-2-conflicts "$D2" conflict
G1=$(gen "$(pr -i -k "$D2")")
RES1=$(pr -i -r "$D2" | grep -v generation | tr -s ' \n' ' ')

# --- 2. kill -9 of the owner ------------------------------------------------
e2e_signal kill-owner
if t=$(wait_back 90); then
  e2e_pass fo-resumed "both sessions back and reading ${t} s after the kill, now connected to $(connected "$IN1")"
else
  e2e_fail fo-resumed "ini1 $(state "$IN1") ini2 $(state "$IN2") after 90 s"
  exit 1
fi
if [ -n "${E2E_REHEARSAL:-}" ]; then
  e2e_skip fo-new-owner "rehearsal: the same node started again"
elif [ "$(connected "$IN1")" != "$E2E_OWNER_PORTAL" ]; then
  e2e_pass fo-new-owner "$(connected "$IN1")"
else
  e2e_fail fo-new-owner "still connected to the killed owner's portal $E2E_OWNER_PORTAL"
fi
e2e_expect fo-pattern-after-kill "$(e2e_read_sha "$D1" 4194304 1048576)" "$P1" "the flushed pattern survived"
e2e_expect fo-keys-after-kill "$(keys "$D2") $(gen "$(pr -i -k "$D2")")" "$K1 $K2  $G1" "keys and PR generation"
e2e_expect fo-reservation-after-kill "$(pr -i -r "$D2" | grep -v generation | tr -s ' \n' ' ')" "$RES1"
expect_write fo-2-conflicts-after-kill "$D2" conflict
expect_write fo-1-writes-after-kill "$D1" ok
e2e_check fo-2-preempts-1 pr -o -P -K $K2 -S $K1 -T 1 "$D2"
expect_write fo-1-conflicts-after-preempt "$D1" conflict
expect_write fo-2-writes-as-holder "$D2" ok

# --- 3. a paused owner must not write after losing its lease -----------------
LBA_X="00 10 00 00"   # 512 MiB: its own block
X=$((0x100000 * 512))
head -c 4096 /dev/urandom >/tmp/fo.before
head -c 4096 /dev/urandom >/tmp/fo.stale
head -c 4096 /dev/urandom >/tmp/fo.after
e2e_expect fo-before "$(try_write "$D2" "$LBA_X" /tmp/fo.before)" ok
e2e_check fo-before-flush sg_sync "$D2"
OWNER2=$(connected "$IN2")
e2e_signal pause-owner
sleep 2
# The stale write: one PDU, queued in the paused node's socket buffer.
(dd if=/tmp/fo.stale of="$D2" bs=4096 count=1 seek=$((X / 4096)) oflag=direct conv=notrunc 2>/tmp/fo.stale.err
  echo "rc=$?" >/tmp/fo.stale.rc) &
if t=$(wait_back 120) && { [ -n "${E2E_REHEARSAL:-}" ] || [ "$(connected "$IN2")" != "$OWNER2" ]; }; then
  e2e_pass fo-takeover "$(connected "$IN2") serves ${t} s after the pause of $OWNER2"
else
  e2e_fail fo-takeover "ini2 $(state "$IN2") connected to $(connected "$IN2") (paused: $OWNER2)"
  e2e_signal resume-paused
  exit 1
fi
for _ in $(seq 1 60); do [ -s /tmp/fo.stale.rc ] && break; sleep 0.5; done
e2e_log "stale write (retried by the kernel on the new owner): $(cat /tmp/fo.stale.rc 2>/dev/null) $(head -c 120 /tmp/fo.stale.err)"
e2e_expect fo-after "$(try_write "$D2" "$LBA_X" /tmp/fo.after)" ok
e2e_check fo-after-flush sg_sync "$D2"
e2e_signal resume-paused
sleep 8
e2e_expect fo-paused-node-did-not-write "$(e2e_read_sha "$D2" "$X" 4096)" "$(sha256sum </tmp/fo.after | cut -d' ' -f1)" \
  "X holds 'after' 8 s after SIGCONT of $OWNER2"
e2e_expect fo-pattern-at-end "$(e2e_read_sha "$D1" 4194304 1048576)" "$P1" "1 MiB pattern intact"

# --- clean up ------------------------------------------------------------------
e2e_check fo-clear pr -o -C -K $K2 "$D2"
for n in 1 2; do iscsiadm -m node -T "$IQN" -p "$P" -I ini$n --logout >/dev/null 2>&1; done
exit 0
