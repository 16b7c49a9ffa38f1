#!/usr/bin/env bash
# plumbing.sh SCSIPUB_BIN — the fleet test bed works end to end, today:
#   - a private network namespace with 10.0.2.2/32 on lo (fleet_lib.sh);
#   - PostgreSQL and a single-host Ceph cluster in it (rbd works there);
#   - three `scsipub serve` nodes A, B, C on the one PostgreSQL database, each
#     reachable at 10.0.2.2:PORT and 127.0.0.1:PORT;
#   - a disk provisioned through node B's session API;
#   - libiscsi in the namespace: anonymous iscsi-ls on every node's portal,
#     CHAP iscsi-ls and iscsi-inq on the disk at the portal the API gave;
#   - the e2e VM booted in the namespace (KVM when a short probe boot works,
#     else TCG) logs in through B's portal with CHAP (the API's static
#     iscsiadm commands), writes, flushes and reads back a pattern;
#   - every node stops cleanly (SIGTERM, exit 0).
# Prints the time and resident memory of each piece (also in the log as
# "measure:" lines). Exit 0 pass, 1 fail, 77 skip (not root, no netns, no
# Ceph or PostgreSQL server packages, no qemu).
set -euo pipefail
FLEET_BIN=${1:?usage: plumbing.sh SCSIPUB_BIN}
FLEET_BIN=$(cd "$(dirname "$FLEET_BIN")" && pwd)/$(basename "$FLEET_BIN")
# shellcheck source=fleet_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet_lib.sh"
require_tools iscsi-ls iscsi-inq qemu-system-x86_64 sha256sum

fail=0
fleet_start_pg || die "PostgreSQL"
fleet_start_ceph || die "Ceph"
integ_check "rbd works in the namespace (create + ls + rm)" \
  bash -c "rbd -c '$CEPH_CONF' create --size 16 '$CEPH_POOL/fleet-probe' && rbd -c '$CEPH_CONF' ls '$CEPH_POOL' | grep -qx fleet-probe && rbd -c '$CEPH_CONF' rm '$CEPH_POOL/fleet-probe' >/dev/null 2>&1"
for n in A B C; do fleet_start_node "$n" || die "node $n"; done

for n in A B C; do
  integ_check "node $n answers on $(fleet_portal "$n") and 127.0.0.1:${FLEET_PORT[$n]}" \
    bash -c "exec 3<>/dev/tcp/$FLEET_PORTAL_HOST/${FLEET_PORT[$n]} && exec 4<>/dev/tcp/127.0.0.1/${FLEET_PORT[$n]}"
  integ_check "anonymous iscsi-ls on node $n's portal lists the free blank target" \
    bash -c "timeout 20 iscsi-ls 'iscsi://$(fleet_portal "$n")' | grep -q ':blank\b'"
done

DISK=$INTEG_TMP/disk.json
fleet_provision_disk B '["blank","test"]' "$DISK" || die "provisioning through node B"
integ_check "the API of node B hands out B's portal" \
  test "$(fleet_disk_field "$DISK" "d['portals']['plain']")" = "$(fleet_portal B)"
URL0=$(fleet_disk_url "$DISK" 0)
CHAP_BASE=${URL0%/*/*}
integ_check "CHAP iscsi-ls on B's portal lists the disk" \
  bash -c "timeout 20 iscsi-ls '$CHAP_BASE' | grep -q \"\$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"target\"])' '$DISK')\""
fleet_check_inquiry "iscsi-inq (CHAP) on LUN 0 of the disk through B" "$URL0"

# ---- the kernel initiator in a VM in the namespace ------------------------
fleet_vm_setup "$DISK"
echo "E2E_PORTAL=$(fleet_portal B)" >>"$PARAMS"
SERIAL=$INTEG_TMP/serial.log
t0=$(fleet_now)
"$FLEET_REPO/tests/e2e/run-vm.sh" --vm "$VM" --params "$PARAMS" --log "$SERIAL" --accel "$ACCEL" \
  "$FLEET_HERE/scenarios/10-login-through-b.sh" &
vm_pid=$!
# Sample the VM's memory (qemu is a grandchild of run-vm.sh) and note when
# the guest is up (E2E-READY: kernel, modules, network, iscsid).
qemu_kib=0 t_ready=''
while kill -0 "$vm_pid" 2>/dev/null; do
  q=$(pgrep -P "$(pgrep -P "$vm_pid" | tr '\n' ',' | sed 's/,$//')" qemu-system 2>/dev/null || true)
  [[ -n $q ]] || q=$(pgrep -P "$vm_pid" qemu-system 2>/dev/null || true)
  if [[ -n $q ]]; then
    # shellcheck disable=SC2086
    k=$(fleet_mem_kib Rss $q)
    ((k > qemu_kib)) && qemu_kib=$k
  fi
  [[ -z $t_ready ]] && grep -aq 'E2E-READY' "$SERIAL" 2>/dev/null && t_ready=$(fleet_elapsed "$t0")
  sleep 0.2
done
vm_rc=0
wait "$vm_pid" || vm_rc=$?
t_all=$(fleet_elapsed "$t0")
printf '%-26s %6s s  RSS %5d MiB  (qemu, %s, peak; whole run %s s)\n' "vm boot to iscsid ready" "${t_ready:-?}" \
  $((qemu_kib / 1024)) "$ACCEL" "$t_all" | tee -a "$FLEET_MEASURES" >&2
grep -a -o 'E2E-RESULT .*' "$SERIAL" | tr -d '\r' | sed 's/^E2E-RESULT /  vm: /' >&2 || true
integ_check "VM ran to the end (qemu rc=$vm_rc)" bash -c "test $vm_rc -eq 0 && grep -aq E2E-DONE '$SERIAL'"
for r in fleet-login-cmds fleet-login fleet-flush fleet-readback fleet-logout; do
  integ_check "vm: $r" grep -aq "E2E-RESULT $r PASS" "$SERIAL"
done
# No fleet configured: B serves the disk itself, no redirect.
integ_check "vm: the session is connected to B's portal" grep -aqE "E2E-RESULT fleet-login PASS .*; connected to $(fleet_portal B)([^0-9]|\$)" "$SERIAL"
if grep -aq 'E2E-RESULT .* FAIL' "$SERIAL"; then
  log "serial log tail:"
  tail -n 40 "$SERIAL" >&2
fi

for n in A B C; do fleet_measure "node $n after the VM's I/O" - "${FLEET_PID[$n]}"; done
# shellcheck disable=SC2046
fleet_measure "ceph at the end" - $(fleet_ceph_pids)

# ---- every node stops cleanly ---------------------------------------------
for n in C B A; do
  pid=${FLEET_PID[$n]}
  unset "FLEET_PID[$n]"   # stopped here, not by the EXIT trap
  integ_check "node $n exits 0 on SIGTERM" bash -c "kill -TERM $pid; for i in \$(seq 100); do kill -0 $pid 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
  rc=0
  wait "$pid" || rc=$?
  integ_check "node $n exit status 0 (got $rc)" test "$rc" -eq 0
done

log "measures (time to up, resident memory):"
sed 's/^/  measure: /' "$FLEET_MEASURES" >&2
exit "$fail"
