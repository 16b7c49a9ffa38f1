#!/bin/sh
# e2e-group: more
# e2e-targets: scsipub
# e2e-needs: tls
# iSCSI over TLS with the kernel initiator: open-iscsi has no TLS, so the host
# runs an stunnel client (127.0.0.1:S, verifying scsipub's certificate against
# a test CA) in front of scsipub's --tls-listen port, and the guest dials
# 10.0.2.2:S ($E2E_TLS_PORTAL) as if it were a plain portal.
#   1. static node record (-o new) + --login through the tunnel, the session's
#      connection is to 10.0.2.2:S, 64 MiB disk, O_DIRECT patterns read back,
#      logout.
#   2. SendTargets through the tunnel: over TLS scsipub answers TargetName
#      without TargetAddress, so open-iscsi must file every record under the
#      portal it asked (10.0.2.2:S); a login from that record works too.
. /e2e/params.sh
. /e2e/lib.sh
IQN=$E2E_BLANK_IQN
P=${E2E_TLS_PORTAL:-}
if [ -z "$P" ]; then
  e2e_fail tls-portal "the host did not set E2E_TLS_PORTAL (stunnel or the TLS listener did not start; see host-tls)"
  exit 1
fi
e2e_pass tls-portal "$P"

# tls_io NAME: patterns on the session's disk, read back with O_DIRECT.
tls_io() {
  _t=$1
  if ! dev=$(e2e_wait_disks "$IQN" 1 30); then e2e_fail "$_t-disk" "no block device after 30 s"; return 1; fi
  dev=$(echo "$dev" | head -n 1)
  e2e_expect "$_t-size" "$(blockdev --getsize64 "$dev")" "$E2E_BLANK_SIZE" "$dev, $E2E_BLANK_SIZE bytes"
  # The session's connection goes to the tunnel's portal.
  _s=$(e2e_session_dir "$IQN")
  _c=$(ls -d "$_s"/device/connection*/iscsi_connection/connection* 2>/dev/null | head -n 1)
  e2e_expect "$_t-conn-portal" "$(cat "$_c/persistent_address" 2>/dev/null):$(cat "$_c/persistent_port" 2>/dev/null)" "$P"
  _i=0
  for _p in 0:4096 1049088:3584 $((32 * 1048576)):1048576 $((E2E_BLANK_SIZE - 65536)):65536; do
    _off=${_p%%:*} _len=${_p#*:}
    e2e_pattern /tmp/tls.$_i "$_len"
    e2e_write "$dev" /tmp/tls.$_i "$_off" >/dev/null || e2e_fail "$_t-write@$_off" "dd failed"
    _i=$((_i + 1))
  done
  _i=0 _bad=''
  for _p in 0:4096 1049088:3584 $((32 * 1048576)):1048576 $((E2E_BLANK_SIZE - 65536)):65536; do
    _off=${_p%%:*} _len=${_p#*:}
    [ "$(e2e_read_sha "$dev" "$_off" "$_len")" = "$(sha256sum </tmp/tls.$_i | cut -d' ' -f1)" ] || _bad="$_bad $_off+$_len"
    _i=$((_i + 1))
  done
  if [ -z "$_bad" ]; then e2e_pass "$_t-readback" "4 O_DIRECT patterns (4 KiB .. 1 MiB, last 64 KiB) read back"; else
    e2e_fail "$_t-readback" "wrong data at$_bad"; fi
  e2e_expect "$_t-gap-zeros" "$(e2e_read_sha "$dev" $((8 * 1048576)) 65536)" "$(e2e_zero_sha 65536)" "64 KiB at 8 MiB still zeros"
}

# 1. static login through the tunnel.
e2e_check tls-static-node-new iscsiadm -m node -T "$IQN" -p "$P" -o new || exit 1
e2e_check tls-static-login iscsiadm -m node -T "$IQN" -p "$P" --login || exit 1
sess=$(iscsiadm -m session 2>&1)
if echo "$sess" | grep -q "$P,[0-9]* $IQN"; then e2e_pass tls-static-session "$(echo "$sess" | grep "$IQN" | head -n 1)"; else
  e2e_fail tls-static-session "iscsiadm -m session: $sess"; fi
tls_io tls-static
e2e_check tls-static-logout iscsiadm -m node -T "$IQN" -p "$P" --logout
e2e_check tls-static-node-delete iscsiadm -m node -T "$IQN" -p "$P" -o delete

# 2. SendTargets through the tunnel.
out=$(iscsiadm -m discovery -t sendtargets -p "$P" 2>&1)
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
  e2e_fail tls-discovery "iscsiadm rc=$rc: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
  exit 1
fi
e2e_pass tls-discovery "$(echo "$out" | grep -c .) record(s)"
# Every record is filed under the tunnel's portal (no TargetAddress came back
# to point elsewhere), and every expected target is there.
# open-iscsi 2.1.8 files them with portal group tag -1 ("10.0.2.2:S,-1 IQN"):
# the tag normally comes with TargetAddress.
other=$(echo "$out" | grep -Ev "^$P,-?[0-9]+ " | grep . || true)
if [ -z "$other" ]; then e2e_pass tls-discovery-portal "every record at $P (tpgt $(echo "$out" | head -n 1 | sed 's/^[^,]*,\([-0-9]*\) .*/\1/'))"; else
  e2e_fail tls-discovery-portal "records at another portal: $(echo "$other" | tr '\n' ' ' | cut -c1-300)"; fi
missing=''
for t in $E2E_TARGETS; do echo "$out" | grep -Eq "^$P,-?[0-9]+ $t\$" || missing="$missing ${t##*:}"; done
if [ -z "$missing" ]; then e2e_pass tls-discovery-targets "$(echo $E2E_TARGETS | wc -w) targets listed"; else
  e2e_fail tls-discovery-targets "missing:$missing"; fi
rec=$(iscsiadm -m node -T "$IQN" -p "$P" 2>&1)
addr=$(echo "$rec" | sed -n 's/^node.conn\[0\].address = //p')
port=$(echo "$rec" | sed -n 's/^node.conn\[0\].port = //p')
e2e_expect tls-discovery-node-record "$addr:$port" "$P" "node record of blank: node.conn[0] = $addr:$port"
if e2e_check tls-discovered-login iscsiadm -m node -T "$IQN" -p "$P" --login; then
  tls_io tls-discovered
  e2e_check tls-discovered-logout iscsiadm -m node -T "$IQN" -p "$P" --logout
fi
iscsiadm -m node -p "$P" -o delete >/dev/null 2>&1
iscsiadm -m discoverydb -t sendtargets -p "$P" -o delete >/dev/null 2>&1
exit 0
