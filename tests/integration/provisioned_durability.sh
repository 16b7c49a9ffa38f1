#!/bin/bash
# Provisioned disks keep their data across restarts and crashes, against SQLite
# and then PostgreSQL (when SCSIPUB_TEST_PG_URL is set; skipped otherwise).
#
#   provisioned_durability.sh SCSIPUB_BIN PROVISIONED_CLIENT_BIN
#
# Per backend, one disk [blank, test]:
#   1. restart: write a pattern to both LUNs (no sync), SIGTERM (exit 0, the
#      log says the disks were flushed... i.e. "stopped"), start again on the
#      same data dir and database: the log reports the disk reopened and no
#      unclean shutdown; both LUNs read back the pattern (CHAP login), the
#      image LUN's unwritten blocks still hold the image.
#   2. crash after SYNCHRONIZE CACHE: write a new pattern + SYNCHRONIZE
#      CACHE(10) while the writer stays logged in, kill -9, restart: the log
#      says the previous run did not shut down cleanly; the pattern is there.
#   3. crash after FUA: WRITE(16) with FUA (no SYNCHRONIZE CACHE), writer
#      still logged in, kill -9, restart: the pattern is there.
#   In 2 and 3, when strace can attach to the server, the trace must show a
#   successful fdatasync/fsync of each LUN's overlay and bitmap (kill -9 alone
#   cannot see a missing fdatasync: the page cache outlives the process).
#   4. the API still knows the disk after all that; SIGTERM exits 0.
# Prints "N passed, N failed"; exit 0 only when all passed, 77 when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=provisioned_lib.sh
source "$here/provisioned_lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN PROVISIONED_CLIENT_BIN" >&2; exit 2; }
prov_init "$1" "$2"

HOLD_PIDS=()    # writers and strace, killed at exit
WRITER_PIDS=()  # the held writers of the current phase
integ_on_exit 'for p in "${HOLD_PIDS[@]}"; do kill "$p" 2>/dev/null; done'

# write_and_hold URL SEED GEN FLAG ISID OUTFILE: write the pattern SEED with
# FLAG (--sync or --fua) to range generation GEN and stay logged in; waits
# (bounded) until the client says "written seed=SEED".
#   OUTFILE is emptied here, before the client starts: the redirection of a
#   background job happens in the child, so a reused file could still show the
#   previous phase's "written" line when the loop below first looks -- the
#   check then passed before this write was even sent (seen as "FUA-acknowledged
#   data lost after kill -9" with no fdatasync of that LUN in the trace).
#   ISID: each held writer needs its own. Two logins with the same
#   InitiatorName and ISID are one session to the target (RFC 7143 6.3.5), so
#   the second login reinstates -- ends -- the first writer's session, possibly
#   before its writes were sent.
write_and_hold() {
  local url=$1 seed=$2 gen=$3 flag=$4 isid=$5 out=$6 pid i
  : >"$out"
  timeout -k 5 120 "$PROV_CLIENT" write "$url" "$seed" --gen "$gen" "$flag" --isid "$isid" --hold 100 >"$out" 2>&1 &
  pid=$!
  HOLD_PIDS+=("$pid")
  WRITER_PIDS+=("$pid")
  for ((i = 0; i < 300; i++)); do
    grep -q "^written seed=$seed " "$out" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  sed 's/^/    | /' "$out" >&2
  return 1
}

# holders_still_in MARK WHAT: both held writers are still logged in: no
# session was reinstated (ended by a later login) since log line MARK, and
# both writer processes still run.
holders_still_in() {
  local mark=$1 what=$2 p alive=0
  expect_no_match "$what: no writer's session was reinstated by the other's login" \
    "$(log_lines_since "$mark" | grep -F '(reinstated)' || true)" '.'
  for p in "${WRITER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
  expect_eq "$what: both writers still running (logged in, no logout)" "$alive" 2
}

stop_holders() {
  local p
  for p in "${HOLD_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  HOLD_PIDS=()
  WRITER_PIDS=()
}

# kill -9 only shows that nothing acknowledged was still in the server's own
# memory (the page cache survives a killed process). That the acknowledgement
# also waited for the disk is watched with strace, when it can attach: every
# acknowledged SYNCHRONIZE CACHE / FUA write must be preceded by fdatasync (or
# fsync) on the LUN's overlay file and on its bitmap.
STRACE_PID=
STRACE_OUT=
strace_start() {
  STRACE_PID=
  command -v strace >/dev/null 2>&1 || return 1
  STRACE_OUT=$INTEG_TMP/strace-$1.out
  rm -f "$STRACE_OUT"
  strace -f -y -e trace=fsync,fdatasync,msync,sync_file_range,syncfs -o "$STRACE_OUT" -p "$SCSIPUB_PID" \
    2>"$STRACE_OUT.err" &
  STRACE_PID=$!
  HOLD_PIDS+=("$STRACE_PID")
  # Ready once strace says so: "Process N attached with T threads" comes
  # after every thread is attached.
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$STRACE_PID" 2>/dev/null || break
    if grep -q "Process $SCSIPUB_PID attached" "$STRACE_OUT.err" 2>/dev/null; then
      sleep 0.2
      return 0
    fi
    sleep 0.1
  done
  log "strace cannot attach: $(head -c 300 "$STRACE_OUT.err" 2>/dev/null)"
  strace_stop
  return 1
}

strace_stop() {
  [[ -n $STRACE_PID ]] || return 0
  sleep 0.2
  kill -INT "$STRACE_PID" 2>/dev/null || true
  wait "$STRACE_PID" 2>/dev/null || true
  STRACE_PID=
}

# strace_saw_sync WHAT DIR: the trace has a completed fdatasync/fsync on DIR/lunN.img and
# DIR/lunN.img.bitmap for N = 0 and 1.
strace_check() {
  local what=$1 dir=$2 n
  for n in 0 1; do
    expect_match "$what: fdatasync/fsync on lun$n.img before the acknowledgement (strace)" \
      "$(grep -E "^[0-9]+ +(fdatasync|fsync)\([0-9]+<[^>]*/lun$n\.img>(\) += 0| <unfinished)" "$STRACE_OUT" | head -1)" '.'
    expect_match "$what: fdatasync/fsync on lun$n.img.bitmap (strace)" \
      "$(grep -E "^[0-9]+ +(fdatasync|fsync)\([0-9]+<[^>]*/lun$n\.img\.bitmap>(\) += 0| <unfinished)" "$STRACE_OUT" | head -1)" '.'
  done
}

# verify_both GEN SEED0 SEED1 WHAT: both LUNs hold their patterns in range
# generation GEN (LUN 1 over the image).
verify_both() {
  client verify "$lun0" "$2" --gen "$1" --initiator iqn.2025-01.test.provisioned:verifier
  expect_match "$4: LUN 0 (blank) reads back pattern $2" "$CLIENT_OUT" '^verify ok'
  client verify "$lun1" "$3" --gen "$1" --base "$image" --initiator iqn.2025-01.test.provisioned:verifier
  expect_match "$4: LUN 1 (image) reads back pattern $3, the image elsewhere" "$CLIENT_OUT" '^verify ok'
}

# restart WHAT: start the server again on the same data dir and database;
# sets MARK to where its log begins and refreshes the URLs (new ports).
restart() {
  MARK=$(log_line_count)
  start_scsipub "$PROV_BIN" "${PROV_DB_ARGS[@]}" || { failc "$1: server starts again"; return 1; }
  lun0=$(disk_url "$user" "$secret" "$target" 0)
  lun1=$(disk_url "$user" "$secret" "$target" 1)
}

run_backend() {
  prov_use_backend "$1"
  start_scsipub "$PROV_BIN" "${PROV_DB_ARGS[@]}" || { failc "server starts"; return; }
  image=$SCSIPUB_IMAGES_DIR/test.img
  prov_account standard || { failc "account"; return; }
  local tok=$ACC_TOKEN
  create_disk "$tok" '["blank","test"]' || { failc "create disk"; return; }
  id=$DISK_ID target=$DISK_TARGET user=$DISK_USER secret=$DISK_SECRET
  lun0=$(disk_url "$user" "$secret" "$target" 0)
  lun1=$(disk_url "$user" "$secret" "$target" 1)
  local dir=$SCSIPUB_DATA_DIR/disks/$id reopened='provisioned disks: 1 of 1 opened' unclean='did not shut down cleanly'

  # ---- 1. SIGTERM + restart ----
  client write "$lun0" 101
  expect_match "write pattern 101 to LUN 0" "$CLIENT_OUT" '^written'
  client write "$lun1" 102
  expect_match "write pattern 102 to LUN 1" "$CLIENT_OUT" '^written'
  verify_both 0 101 102 "before the restart"
  if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
  check "SIGTERM wrote DATA_DIR/disks/clean-shutdown" test -f "$SCSIPUB_DATA_DIR/disks/clean-shutdown"
  check "overlay files kept: lun0.img lun1.img" test -f "$dir/lun0.img" -a -f "$dir/lun1.img"
  restart "SIGTERM" || return
  local newlog
  newlog=$(log_lines_since "$MARK")
  expect_match "restarted log: '$reopened'" "$newlog" "$reopened"
  expect_no_match "restarted log: no unclean-shutdown warning after SIGTERM" "$newlog" "$unclean"
  expect_match "restarted log: serves the disk's target" "$newlog" "target $target"
  verify_both 0 101 102 "after SIGTERM + restart"

  # ---- 2. SYNCHRONIZE CACHE + kill -9 ----
  local traced=0
  MARK=$(log_line_count)
  strace_start sync && traced=1
  if write_and_hold "$lun0" 201 1 --sync 1 "$INTEG_TMP/hold-sync-lun0.out" &&
    write_and_hold "$lun1" 202 1 --sync 2 "$INTEG_TMP/hold-sync-lun1.out"; then
    pass "write + SYNCHRONIZE CACHE(10) on both LUNs, writers still logged in"
  else
    failc "write + SYNCHRONIZE CACHE(10) on both LUNs"
  fi
  holders_still_in "$MARK" "SYNCHRONIZE CACHE"
  strace_stop
  if ((traced)); then strace_check "SYNCHRONIZE CACHE" "$dir"; else PROV_SKIPPED+=("$PROV_TAG strace check (SYNC)"); fi
  if kill9_scsipub; then pass "kill -9 the server"; else failc "kill -9 the server"; fi
  stop_holders
  restart "kill -9 after SYNC" || return
  newlog=$(log_lines_since "$MARK")
  expect_match "restarted log: '$reopened'" "$newlog" "$reopened"
  expect_match "restarted log: the previous run did not shut down cleanly" "$newlog" "$unclean"
  verify_both 1 201 202 "after SYNCHRONIZE CACHE + kill -9"
  verify_both 0 101 102 "after SYNCHRONIZE CACHE + kill -9, the older data"

  # ---- 3. FUA + kill -9 ----
  traced=0
  MARK=$(log_line_count)
  strace_start fua && traced=1
  if write_and_hold "$lun0" 301 2 --fua 1 "$INTEG_TMP/hold-fua-lun0.out" &&
    write_and_hold "$lun1" 302 2 --fua 2 "$INTEG_TMP/hold-fua-lun1.out"; then
    pass "WRITE(16) FUA on both LUNs, writers still logged in"
  else
    failc "WRITE(16) FUA on both LUNs"
  fi
  holders_still_in "$MARK" "FUA"
  strace_stop
  if ((traced)); then strace_check "FUA" "$dir"; else PROV_SKIPPED+=("$PROV_TAG strace check (FUA)"); fi
  if kill9_scsipub; then pass "kill -9 the server"; else failc "kill -9 the server"; fi
  stop_holders
  restart "kill -9 after FUA" || return
  newlog=$(log_lines_since "$MARK")
  expect_match "restarted log: '$reopened'" "$newlog" "$reopened"
  expect_match "restarted log: the previous run did not shut down cleanly" "$newlog" "$unclean"
  verify_both 2 301 302 "after FUA + kill -9"
  verify_both 1 201 202 "after FUA + kill -9, the older data"

  # ---- 4. still a normal disk ----
  api GET "/api/v1/disks/$id" "$tok"
  expect_eq "the API still has the disk after the crashes" "$(jqb '"\(.target) \(.luns | length) \(.chap.secret)"')" \
    "$target 2 $secret"
  client login "$(disk_url "$user" "${secret}x" "$target" 0)"
  expect_match "and still refuses a wrong secret (02/01)" "$CLIENT_OUT" '^login failed status=02/01'
  check "server still running" server_alive
  if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
}

for backend in $(prov_backends); do run_backend "$backend"; done
prov_note_pg_skip
prov_summary
