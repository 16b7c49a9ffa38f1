#!/bin/bash
# SCSI-3 persistent reservations on a provisioned disk, against SQLite and
# then PostgreSQL (when SCSIPUB_TEST_PG_URL is set):
#   - libiscsi's PR suites (iscsi-test-cu -d with two InitiatorNames, -i/-I)
#     against the disk: PrinReadKeys, PrinReportCapabilities,
#     PrinServiceactionRange, ProutClear, ProutPreempt, ProutRegister,
#     ProutReserve, Reserve6 — zero failures;
#   - node A registers and reserves Write Exclusive; B (registered, not the
#     holder) reads the keys and the reservation and its write conflicts;
#   - SIGTERM + restart, then kill -9 + restart: keys, holder, type and
#     PRgeneration read back identical, and B's write still conflicts;
#   - B preempts A; A's write now conflicts; after kill -9 + restart too.
#
#   provisioned_pr.sh SCSIPUB_BIN PROVISIONED_CLIENT_BIN
# Prints "N passed, N failed"; exit 0 only when all passed, 77 when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=provisioned_lib.sh
source "$here/provisioned_lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN PROVISIONED_CLIENT_BIN" >&2; exit 2; }
prov_init "$1" "$2"
require_tools iscsi-test-cu

NODE_A=iqn.2025-01.test.cluster:node-a
NODE_B=iqn.2025-01.test.cluster:node-b
KEY_A=0xa1
KEY_B=0xb2
WE=1  # Write Exclusive

url() { disk_url "$user" "$secret" "$target" 0; }
as_a() { client "$1" "$(url)" "${@:2}" --initiator "$NODE_A"; }
as_b() { client "$1" "$(url)" "${@:2}" --initiator "$NODE_B"; }

# restart KIND: sigterm or kill9, then start on the same data dir and database.
restart() {
  if [[ $1 == sigterm ]]; then
    if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
  else
    if kill9_scsipub; then pass "kill -9"; else failc "kill -9"; fi
  fi
  start_scsipub "$PROV_BIN" "${PROV_DB_ARGS[@]}" || { failc "$1: server starts again"; return 1; }
}

run_backend() {
  prov_use_backend "$1"
  start_scsipub "$PROV_BIN" "${PROV_DB_ARGS[@]}" || { failc "server starts"; return; }
  prov_account standard || { failc "account"; return; }
  local tok=$ACC_TOKEN
  create_disk "$tok" '["blank"]' || { failc "create the suite's disk"; return; }
  user=$DISK_USER secret=$DISK_SECRET target=$DISK_TARGET
  local suite out
  for suite in PrinReadKeys PrinReportCapabilities PrinServiceactionRange ProutClear ProutPreempt ProutRegister \
    ProutReserve Reserve6; do
    out=$(timeout -k 5 300 iscsi-test-cu -d --test="ALL.$suite" -i "$NODE_A" -I "$NODE_B" "$(url)" 2>&1) || true
    local line
    line=$(grep -E '^ +tests ' <<<"$out" || true)
    # "tests  Total Ran Passed Failed Inactive": every test ran and passed.
    if [[ $line =~ tests\ +([0-9]+)\ +([0-9]+)\ +([0-9]+)\ +0\ +0 ]] && ((BASH_REMATCH[1] > 0)) &&
      [[ ${BASH_REMATCH[1]} == "${BASH_REMATCH[3]}" ]] && ! grep -q 'SKIPPED' <<<"$out"; then
      pass "iscsi-test-cu $suite: $(tr -s ' ' <<<"$line")"
    else
      failc "iscsi-test-cu $suite: ${line:-no summary}"
      grep -E 'FAILED|SKIPPED' <<<"$out" | head -n 10 | sed 's/^/    | /' >&2 || true
    fi
  done

  # A fresh disk for the two-node sequence.
  create_disk "$tok" '["blank"]' || { failc "create the cluster disk"; return; }
  user=$DISK_USER secret=$DISK_SECRET target=$DISK_TARGET
  as_a pr-out 0 0 "$KEY_A" 0
  expect_eq "A registers" "$CLIENT_OUT" "pr-out ok"
  as_b pr-out 0 0 "$KEY_B" 0
  expect_eq "B registers" "$CLIENT_OUT" "pr-out ok"
  as_a pr-out 1 "$KEY_A" 0 "$WE"
  expect_eq "A reserves Write Exclusive" "$CLIENT_OUT" "pr-out ok"
  local want="pr generation 2 keys $KEY_A,$KEY_B reservation $KEY_A type $WE"
  as_b pr-show
  expect_eq "B sees A's key and reservation" "$CLIENT_OUT" "$want"
  as_b pr-write
  expect_eq "B's write conflicts" "$CLIENT_OUT" "write conflict"
  as_a pr-write
  expect_eq "A's write succeeds" "$CLIENT_OUT" "write ok"
  as_b pr-out 1 "$KEY_B" 0 "$WE"
  expect_eq "B cannot reserve over A" "$CLIENT_OUT" "pr-out conflict"

  local kind
  for kind in sigterm kill9; do
    restart "$kind" || return
    as_b pr-show
    expect_eq "after $kind + restart: same keys, holder, type, generation" "$CLIENT_OUT" "$want"
    as_b pr-write
    expect_eq "after $kind + restart: B's write still conflicts" "$CLIENT_OUT" "write conflict"
  done

  as_b pr-out 4 "$KEY_B" "$KEY_A" "$WE"
  expect_eq "B preempts A" "$CLIENT_OUT" "pr-out ok"
  want="pr generation 3 keys $KEY_B reservation $KEY_B type $WE"
  as_a pr-show
  expect_eq "A sees B's reservation, its own key gone" "$CLIENT_OUT" "$want"
  as_a pr-write
  expect_eq "A's write now conflicts" "$CLIENT_OUT" "write conflict"
  restart kill9 || return
  as_a pr-show
  expect_eq "after the preempt, kill -9 + restart: state identical" "$CLIENT_OUT" "$want"
  as_a pr-write
  expect_eq "after kill -9 + restart: A's write still conflicts" "$CLIENT_OUT" "write conflict"
  as_b pr-out 2 "$KEY_B" 0 "$WE"
  expect_eq "B releases" "$CLIENT_OUT" "pr-out ok"
  as_a pr-write
  expect_eq "A's write succeeds after the release" "$CLIENT_OUT" "write ok"
  if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
}

prov_note_pg_skip
for backend in $(prov_backends); do run_backend "$backend"; done
prov_summary
