#!/bin/sh
# e2e-group: basic
# e2e-targets: scsipub tgt
# The data path under non-default negotiations the kernel initiator offers:
# CRC32C header+data digests; and no immediate data, InitialR2T=Yes with
# small PDUs and bursts (many R2Ts and Data-Out/Data-In PDUs per command).
# Each: log in to blank with the settings, check what was negotiated, write
# 1 MiB + 4 KiB + the last sector with O_DIRECT, read back, log out.
. /e2e/params.sh
. /e2e/lib.sh
IQN=$E2E_BLANK_IQN
SIZE=$E2E_BLANK_SIZE

set_node() { iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" -o update -n "$1" -v "$2"; }

run_case() { # NAME "key=value ..." "grep-pattern-in-session-P2 ..."
  c=$1
  e2e_add_node "$IQN" || { e2e_fail "$c:node" "cannot create node record"; return; }
  for kv in $2; do
    set_node "${kv%%=*}" "${kv#*=}" || { e2e_fail "$c:update" "$kv"; return; }
  done
  e2e_check "$c:login" e2e_login "$IQN" || return
  dev=$(e2e_wait_disks "$IQN" 1 30 | head -n 1)
  if [ -z "$dev" ]; then e2e_fail "$c:disk" "no disk"; return; fi
  p2=$(iscsiadm -m session -P 2 2>&1)
  echo "$p2"
  miss=
  for pat in $3; do
    echo "$p2" | grep -q "$(echo "$pat" | tr '_' ' ')" || miss="$miss $pat"
  done
  if [ -z "$miss" ]; then e2e_pass "$c:negotiated" "$3"; else e2e_fail "$c:negotiated" "missing:$miss"; fi
  bad=
  for p in 0:1048576 $((20 * 1048576 + 512)):4096 $((SIZE - 512)):512; do
    off=${p%%:*} len=${p#*:}
    e2e_pattern /tmp/lp.pat "$len"
    e2e_write "$dev" /tmp/lp.pat "$off" >/dev/null || bad="$bad write@$off"
    [ "$(e2e_read_sha "$dev" "$off" "$len")" = "$(sha256sum </tmp/lp.pat | cut -d' ' -f1)" ] || bad="$bad read@$off"
  done
  if [ -z "$bad" ]; then e2e_pass "$c:data" "1 MiB, 4 KiB, last sector read back"; else e2e_fail "$c:data" "$bad"; fi
  e2e_check "$c:logout" e2e_logout "$IQN"
  iscsiadm -m node -T "$IQN" -p "$E2E_PORTAL" -o delete >/dev/null 2>&1
}

run_case digests \
  "node.conn[0].iscsi.HeaderDigest=CRC32C node.conn[0].iscsi.DataDigest=CRC32C" \
  "HeaderDigest:_CRC32C DataDigest:_CRC32C"
run_case small-bursts \
  "node.session.iscsi.ImmediateData=No node.session.iscsi.InitialR2T=Yes node.session.iscsi.FirstBurstLength=8192 node.session.iscsi.MaxBurstLength=16384 node.conn[0].iscsi.MaxRecvDataSegmentLength=4096" \
  "ImmediateData:_No InitialR2T:_Yes MaxBurstLength:_16384 MaxRecvDataSegmentLength:_4096"
exit 0
