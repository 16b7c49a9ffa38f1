#!/usr/bin/env bash
# failover.sh SCSIPUB_BIN — a provisioned disk on Ceph RBD fails over between
# fleet nodes under the Linux kernel initiator (guest side:
# scenarios/50-failover.sh, which describes the steps).
#
# Runs with FLEET_FAILOVER=1 (CTest integration.fleet.failover sets it;
# otherwise exit 77).
#
# Host side: PostgreSQL, Ceph, nodes A, B, C with [fleet] enabled (node_id =
# the letter, portal 10.0.2.2:PORT, short lease) and [ceph] set; B is a front
# node (serve_disks = false): the guest's entry portal, never an owner. An
# initiator only ever returns to the portal it was configured with, so the
# entry must outlive the owners: pausing an entry that owns the disk would
# leave the initiator nobody to be redirected by. A disk (blank) is
# provisioned through B's session API; its lease owner is read from the
# database (table disk_leases). The guest's signals: kill-owner (kill -9),
# pause-owner (the killed node starts again, as a crashed machine reboots, so
# that a node is left to take over; then SIGSTOP of the owner of that
# moment), resume-paused (SIGCONT).
#
# FLEET_FAILOVER=rehearsal runs the same guest steps on today's single-node
# behaviour, to keep the scenario itself honest while the fleet is not wired:
# no [fleet]/[ceph] tables, B owns and serves the disk (local storage), a
# "new owner" is B started again on the same ports after the kill -9 (and
# after 12 s of pause); the guest skips the checks that the portal changed.
set -euo pipefail
MODE=${FLEET_FAILOVER:-0}
if [[ $MODE != 1 && $MODE != rehearsal ]]; then
  echo "failover.sh: SKIP (set FLEET_FAILOVER=1, or =rehearsal for the single-node dry run)" >&2
  exit 77
fi
FLEET_BIN=${1:?usage: failover.sh SCSIPUB_BIN}
FLEET_BIN=$(cd "$(dirname "$FLEET_BIN")" && pwd)/$(basename "$FLEET_BIN")
# shellcheck source=fleet_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet_lib.sh"
require_tools qemu-system-x86_64 psql iscsi-inq curl

fail=0
LEASE_MS=${FLEET_LEASE_MS:-5000}
fleet_start_pg || die "PostgreSQL"
fleet_start_ceph || die "Ceph"
if [[ $MODE == 1 ]]; then
# shellcheck disable=SC2034  # read by fleet_node_config
FLEET_NODE_TOML="[fleet]
enabled = true
node_id = \"@NODE@\"
serve_disks = @SERVE@
iscsi_portal = \"$FLEET_PORTAL_HOST:@PORT@\"
http_address = \"$FLEET_PORTAL_HOST:@HTTP@\"
heartbeat_ms = $((LEASE_MS / 10))
node_timeout_ms = $((LEASE_MS / 2))
lease_ms = $LEASE_MS
[ceph]
conf = \"$CEPH_CONF\"
pool = \"$CEPH_POOL\"
user = \"$CEPH_USER\"
keyring = \"$CEPH_KEYRING\""
FLEET_SERVE[B]=false
fi
for n in A B C; do fleet_start_node "$n" || die "node $n"; done

DISK=$INTEG_TMP/disk.json
fleet_provision_disk B '["blank"]' "$DISK" || die "provisioning through node B"
DISK_ID=$(fleet_disk_field "$DISK" "d['id']")

# owner_of DISK_ID: node id holding the lease (database), "" when none.
owner_of() {
  [[ $MODE == rehearsal ]] && { echo B; return; }
  psql -X -q -t -A "$FLEET_DB_URL" -c \
    "SELECT owner_node FROM disk_leases WHERE disk_id = '$1' AND expires_ms > (extract(epoch from clock_timestamp()) * 1000)::bigint" 2>/dev/null || true
}
OWNER=''
for ((i = 0; i < 100; i++)); do
  OWNER=$(owner_of "$DISK_ID")
  [[ -n $OWNER ]] && break
  sleep 0.2
done
[[ -n $OWNER && -n ${FLEET_PORT[$OWNER]:-} ]] || die "no node took the lease of disk $DISK_ID in 20 s (owner '$OWNER')"
ENTRY=B
[[ $OWNER != B || $MODE != 1 ]] || die "front node B took the lease of disk $DISK_ID"
log "disk $DISK_ID: owner $OWNER ($(fleet_portal "$OWNER")), guest enters through $ENTRY ($(fleet_portal "$ENTRY"))"
# The lease row comes before the disk is open on the owner (an RBD open takes
# a second or two); until then the owner answers 03/01, which open-iscsi
# retries but libiscsi does not. Wait for the owner to serve it.
if [[ $MODE == 1 ]]; then
  for ((i = 0; i < 100; i++)); do
    grep -q "disk $DISK_ID: serving under lease" "${FLEET_LOG[$OWNER]}" && break
    sleep 0.2
  done
  grep -q "disk $DISK_ID: serving under lease" "${FLEET_LOG[$OWNER]}" ||
    die "node $OWNER holds the lease of disk $DISK_ID but did not serve it in 20 s"
  # ... and for the entry's snapshot of the lease table to show an owner.
  for ((i = 0; i < 50; i++)); do
    curl -sf "http://$FLEET_PORTAL_HOST:${FLEET_HTTP[$ENTRY]}/metrics" |
      grep -Eq '^scsipub_fleet_leases_owned [1-9]' && break
    sleep 0.2
  done
fi

# libiscsi follows the redirect too: its CHAP login at the entry node, which
# does not own the disk, can only succeed by being sent to the owner.
if [[ $MODE == 1 ]]; then
  API_URL0=$(fleet_disk_url "$DISK" 0)
  ENTRY_URL0=${API_URL0/$(fleet_disk_field "$DISK" "d['portals']['plain']")/$(fleet_portal "$ENTRY")}
  fleet_check_inquiry "libiscsi (iscsi-inq, CHAP) through $ENTRY reaches the disk on $OWNER" "$ENTRY_URL0"
  integ_check "node $ENTRY counted the disk redirect" \
    bash -c "curl -sf 'http://$FLEET_PORTAL_HOST:${FLEET_HTTP[$ENTRY]}/metrics' | grep -Eq '^scsipub_login_redirects_total\\{kind=\"disk\"\\} [1-9]'"
fi

fleet_vm_setup "$DISK"
# The guest enters through ENTRY's portal, whatever portal the API handed
# out (B's, or the owner's): the login must be redirected.
API_PORTAL=$(fleet_disk_field "$DISK" "d['portals']['plain']")
log "the API handed out $API_PORTAL; the guest uses $(fleet_portal "$ENTRY") instead"
sed -i "s/$API_PORTAL/$(fleet_portal "$ENTRY")/g" "$PARAMS"
{
  echo "E2E_PORTAL=$(fleet_portal "$ENTRY")"
  echo "E2E_OWNER_PORTAL=$(fleet_portal "$OWNER")"
  echo "E2E_SCENARIO_TIMEOUT=600"
  [[ $MODE == rehearsal ]] && echo "E2E_REHEARSAL=1"
} >>"$PARAMS"

SERIAL=$INTEG_TMP/serial.log
: >"$SERIAL"
"$FLEET_REPO/tests/e2e/run-vm.sh" --vm "$VM" --params "$PARAMS" --log "$SERIAL" --accel "$ACCEL" \
  --timeout 900 "$FLEET_HERE/scenarios/50-failover.sh" &
vm_pid=$!
seen_kill=0 seen_pause=0 seen_resume=0 PAUSED='' restarted=0
# The node killed first comes back once the guest runs on the new owner (a
# crashed machine reboots): with B a front node and the next owner paused, it
# is the one left to take over.
restart_killed() {
  [[ $MODE == 1 && $seen_kill == 1 && $restarted == 0 ]] || return 0
  restarted=1
  log "node $OWNER starts again"
  fleet_run_node "$OWNER" || { log "node $OWNER did not start again"; fail=1; }
}
signalled() { (($(grep -ac "E2E-SIGNAL $1" "$SERIAL" 2>/dev/null || true) > $2)); }
while kill -0 "$vm_pid" 2>/dev/null; do
  if signalled kill-owner "$seen_kill"; then
    seen_kill=1
    log "kill -9 of the owner, node $OWNER (pid ${FLEET_PID[$OWNER]})"
    fleet_kill_node "$OWNER"
    if [[ $MODE == rehearsal ]]; then
      fleet_run_node "$OWNER" || { log "rehearsal: node $OWNER did not start again"; fail=1; }
    fi
  fi
  grep -aq 'E2E-RESULT fo-new-owner' "$SERIAL" 2>/dev/null && restart_killed
  if signalled pause-owner "$seen_pause"; then
    seen_pause=1
    PAUSED=$(owner_of "$DISK_ID")
    restart_killed
    if [[ -n $PAUSED && -n ${FLEET_PID[$PAUSED]:-} ]]; then
      log "SIGSTOP of the current owner, node $PAUSED (pid ${FLEET_PID[$PAUSED]})"
      kill -STOP "${FLEET_PID[$PAUSED]}"
      if [[ $MODE == rehearsal ]]; then
        sleep 12
        fleet_kill_node "$PAUSED"
        fleet_run_node "$PAUSED" || { log "rehearsal: node $PAUSED did not start again"; fail=1; }
        PAUSED=''
      fi
    else
      log "pause-owner: no live owner in the database ('$PAUSED')"
      fail=1
    fi
  fi
  if signalled resume-paused "$seen_resume"; then
    seen_resume=1
    if [[ -n $PAUSED && -n ${FLEET_PID[$PAUSED]:-} ]]; then
      log "SIGCONT of node $PAUSED; owner now: $(owner_of "$DISK_ID")"
      kill -CONT "${FLEET_PID[$PAUSED]}"
    fi
  fi
  sleep 0.3
done
vm_rc=0
wait "$vm_pid" || vm_rc=$?
grep -a -o 'E2E-RESULT .*' "$SERIAL" | tr -d '\r' | sed 's/^E2E-RESULT /  vm: /' >&2 || true
integ_check "VM ran to the end (qemu rc=$vm_rc)" bash -c "test $vm_rc -eq 0 && grep -aq E2E-DONE '$SERIAL'"
integ_check "the guest asked for kill, pause and resume" test "$seen_kill$seen_pause$seen_resume" = 111
integ_check "no FAIL in the guest" bash -c "! grep -aq 'E2E-RESULT .* FAIL' '$SERIAL'"
integ_check "the guest's checks ran (fo-paused-node-did-not-write)" grep -aq 'E2E-RESULT fo-paused-node-did-not-write PASS' "$SERIAL"
if ((fail)); then tail -n 60 "$SERIAL" >&2; fi
exit "$fail"
