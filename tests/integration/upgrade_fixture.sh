#!/bin/bash
# An upgrade keeps every disk: the current binary starts on a data directory
# made by an older release (tests/fixtures/upgrade/, made by make-fixture.sh
# there, which says what the old server was made to hold) and:
#   - migrates the metadata schema at start (log line, /metrics);
#   - every disk logs in with its CHAP credentials (one-way and mutual; a
#     wrong secret still fails), every LUN has its size and, read whole, the
#     sha256 the old release read;
#   - the persistent reservations read back identical (keys, holder, type,
#     PRgeneration) and still act: a non-holder's write conflicts;
#   - the account still authenticates to the API and lists its disks, the
#     catalog image is still listed with its metadata, the operator token
#     still opens the operator API (wrong tokens still do not);
#   - stopped and started again, nothing migrates twice and it all holds
#     again; a write after the upgrade lands where it was written.
# SQLite always; PostgreSQL (the old schema restored from the fixture's SQL
# dump into a fresh database) when SCSIPUB_TEST_PG_URL is set.
#
#   upgrade_fixture.sh SCSIPUB_BIN PROVISIONED_CLIENT_BIN
# Prints "N passed, N failed"; exit 0 only when all passed, 77 when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=provisioned_lib.sh
source "$here/provisioned_lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN PROVISIONED_CLIENT_BIN" >&2; exit 2; }
prov_init "$1" "$2"
require_tools tar gzip sha256sum cmp
FIXTURES=$here/../fixtures/upgrade
FIXTURE=${UPGRADE_FIXTURE:-schema4-66d149a}

# start_new DIR: the current binary on DIR/data with DIR/scsipub.toml.
start_new() {
  local dir=$1
  SCSIPUB_PORT=$(free_port)
  SCSIPUB_HTTP_PORT=$(free_port)
  "$PROV_BIN" serve --config "$dir/scsipub.toml" --data-dir "$dir/data" "${PROV_DB_ARGS[@]}" \
    --iscsi-listen "$INTEG_HOST:$SCSIPUB_PORT" --http-listen "$INTEG_HOST:$SCSIPUB_HTTP_PORT" \
    --public-host "$INTEG_HOST:$SCSIPUB_PORT" --tls-listen off >>"$SCSIPUB_LOG" 2>&1 &
  SCSIPUB_PID=$!
  wait_port "$SCSIPUB_PORT" "$SCSIPUB_PID" 30 && wait_port "$SCSIPUB_HTTP_PORT" "$SCSIPUB_PID" 30
}

metric() { # NAME: its value in /metrics ("" when absent)
  curl -sS --max-time 10 "http://$INTEG_HOST:$SCSIPUB_HTTP_PORT/metrics" 2>/dev/null |
    awk -v n="$1" '$1 == n { print $2 }'
}

# The fixture's facts, from its JSON.
fx() { jq -r "$1" <<<"$FX"; }
url_of() { disk_url "$(fx ".disks[$1].chap.user")" "$(fx ".disks[$1].chap.secret")" "$(fx ".disks[$1].target")" "$2"; }

# check_luns ROUND: every disk logs in, every LUN has its size, content and PR state.
check_luns() {
  local round=$1 d l ndisks nluns url want sha dump=$INTEG_TMP/dump.bin
  ndisks=$(fx '.disks | length')
  for ((d = 0; d < ndisks; d++)); do
    local id target
    id=$(fx ".disks[$d].id")
    target=$(fx ".disks[$d].target")
    client login "$(url_of "$d" 0)"
    expect_match "$round: disk $id logs in with its CHAP secret" "$CLIENT_OUT" '^login ok'
    client login "$(url_of "$d" 0)" --target-user "$target" --target-secret "$(fx ".disks[$d].chap.mutual_secret")"
    expect_match "$round: disk $id logs in with mutual CHAP" "$CLIENT_OUT" '^login ok'
    nluns=$(fx ".disks[$d].luns | length")
    client luns "$(url_of "$d" 0)"
    local luns_out=$CLIENT_OUT
    for ((l = 0; l < nluns; l++)); do
      want=$(fx ".disks[$d].luns[$l].size_bytes")
      expect_match "$round: disk $id LUN $l size" "$luns_out" "lun $l blocks $((want / 512)) block_size 512"
      url=$(url_of "$d" "$l")
      rm -f "$dump"
      client dump "$url" "$dump"
      sha=$(sha256sum <"$dump" 2>/dev/null | cut -d' ' -f1)
      expect_eq "$round: disk $id LUN $l: sha256 of the whole LUN" "$sha" "$(fx ".disks[$d].luns[$l].sha256")"
      want=$(fx ".disks[$d].luns[$l].pr_show")
      if [[ $want != null ]]; then
        client pr-show "$url"
        expect_eq "$round: disk $id LUN $l: PR keys, holder, type, generation" "$CLIENT_OUT" "$want"
      fi
    done
  done
  # CHAP is still checked (once: failures from one address are throttled).
  client login "$(disk_url "$(fx ".disks[0].chap.user")" "$(fx ".disks[0].chap.secret")x" "$(fx ".disks[0].target")" 0)"
  expect_match "$round: a wrong CHAP secret is refused" "$CLIENT_OUT" '^login failed status=02/01'
  # The reservations still act: B is registered on disk 0 but A holds Write
  # Exclusive; the writer is not registered on disk 1 (Write Exclusive -
  # Registrants Only, held by B).
  client pr-write "$(url_of 0 0)" --initiator "$(fx .initiators.node_b)"
  expect_eq "$round: disk 0 LUN 0: a registered non-holder's write conflicts" "$CLIENT_OUT" "write conflict"
  client pr-write "$(url_of 1 0)" --initiator "$(fx .initiators.writer)"
  expect_eq "$round: disk 1 LUN 0: an unregistered initiator's write conflicts" "$CLIENT_OUT" "write conflict"
}

check_api() {
  local round=$1
  api GET /api/v1/disks "$(fx .account.token)"
  expect_eq "$round: the account's token still authenticates" "$HTTP_CODE" 200
  expect_eq "$round: the account lists its disks" "$(jqb '[.disks[].id] | sort | join(",")')" \
    "$(fx '[.disks[].id] | sort | join(",")')"
  api GET /api/v1/disks "$(fx .account.token | tr 0-9a-f 1-9a-f0)"
  expect_eq "$round: a wrong account token is refused" "$HTTP_CODE" 401
  api GET /api/v1/images
  expect_eq "$round: the catalog lists the image with its metadata" \
    "$(jq -r --arg n "$(fx .catalog_image.name)" '.images[] | select(.name == $n) | "\(.name) \(.title) \(.size_bytes)"' \
      <<<"$HTTP_BODY" 2>/dev/null)" \
    "$(fx '.catalog_image | "\(.name) \(.title) \(.size_bytes)"')"
  api GET /api/v1/admin/sessions "$(fx .operator_token)"
  expect_eq "$round: the operator token still opens the operator API" "$HTTP_CODE" 200
  api GET /api/v1/admin/sessions "$(fx .account.token)"
  expect_eq "$round: an account token does not open the operator API" "$HTTP_CODE" 401
}

# A write after the upgrade lands where it was written, and only there.
check_write() {
  local before=$INTEG_TMP/before.bin after=$INTEG_TMP/after.bin piece=$INTEG_TMP/piece.bin url
  url=$(url_of 0 1)
  client dump "$url" "$before"
  head -c 4096 /dev/urandom >"$piece"
  client put "$url" 2000 "$piece" --initiator "$(fx .initiators.writer)"
  expect_match "write to disk 0 LUN 1 after the upgrade" "$CLIENT_OUT" '^put ok 4096 bytes'
  client dump "$url" "$after"
  dd if="$piece" of="$before" bs=512 seek=2000 conv=notrunc status=none
  check "the LUN holds the new write and nothing else changed" cmp -s "$before" "$after"
}

run_backend() {
  local backend=$1 dir=$INTEG_TMP/$1 json=$FIXTURES/$FIXTURE-$1.json
  PROV_TAG="[$backend]"
  PROV_DB_ARGS=()
  [[ -f $json && -f ${json%.json}.tar.gz ]] || { failc "fixture $json (+ .tar.gz) present"; return; }
  FX=$(cat "$json")
  local old_schema
  old_schema=$(fx .schema_version)
  mkdir -p "$dir"
  check "extract ${json%.json}.tar.gz" tar -C "$dir" -xzf "${json%.json}.tar.gz"
  if [[ $backend == postgres ]]; then
    local base=${SCSIPUB_TEST_PG_URL%%\?*} query='' db
    [[ $SCSIPUB_TEST_PG_URL == *\?* ]] && query="?${SCSIPUB_TEST_PG_URL#*\?}"
    db="scsipub_it_upgrade_$$_${RANDOM}"
    timeout 30 psql "$SCSIPUB_TEST_PG_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null ||
      { failc "create database $db"; return; }
    integ_on_exit "timeout 30 psql '$SCSIPUB_TEST_PG_URL' -X -q -c 'DROP DATABASE IF EXISTS $db WITH (FORCE)' >/dev/null 2>&1"
    PROV_DB_ARGS=(--database "${base%/*}/$db$query")
    check "restore the old schema from ${json%.json}.sql" \
      timeout 60 psql "${base%/*}/$db$query" -X -q -v ON_ERROR_STOP=1 -o /dev/null -f "${json%.json}.sql"
  fi
  SCSIPUB_LOG=$INTEG_TMP/$backend.log
  log "$PROV_TAG fixture $json: commit $(fx .scsipub_commit), schema $old_schema"

  start_new "$dir" || { failc "the current scsipub starts on the old data dir"; return; }
  pass "the current scsipub starts on the old data dir"
  local latest at_start line
  latest=$(metric scsipub_metadata_schema_version)
  at_start=$(metric scsipub_metadata_schema_version_at_start)
  expect_eq "/metrics: schema version at start is the fixture's" "$at_start" "$old_schema"
  expect_match "/metrics: schema version now is newer" "$latest" '^[0-9]+$'
  if [[ $latest =~ ^[0-9]+$ ]] && ((latest > old_schema)); then
    pass "schema migrated forward ($old_schema -> $latest)"
  else
    failc "schema migrated forward ($old_schema -> $latest)"
  fi
  line=$(grep -m1 'metadata in ' "$SCSIPUB_LOG" || true)
  expect_match "log: the migration at start" "$line" "schema version $latest \\(migrated from version $old_schema: $((old_schema + 1)) "
  check_luns "first start"
  check_api "first start"
  if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi

  local mark
  mark=$(log_line_count)
  start_new "$dir" || { failc "the current scsipub starts a second time"; return; }
  pass "the current scsipub starts a second time"
  expect_eq "second start: nothing left to migrate (/metrics)" "$(metric scsipub_metadata_schema_version_at_start)" "$latest"
  line=$(log_lines_since "$mark" | grep -m1 'metadata in ' || true)
  expect_match "second start: log says the current schema" "$line" "schema version $latest\$"
  check_luns "second start"
  check_api "second start"
  check_write
  if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
}

for backend in $(prov_backends); do
  run_backend "$backend"
done
prov_note_pg_skip
prov_summary
