# shellcheck shell=bash
# Helpers for the provisioned-disk integration scripts (provisioned_*.sh).
# Source after lib.sh. Provides check counting, the backend loop (SQLite, then
# PostgreSQL when SCSIPUB_TEST_PG_URL is set), account creation, a curl
# wrapper for the session API and the libiscsi client wrapper.
#
#   prov_init SCSIPUB_BIN CLIENT_BIN
#   for backend in $(prov_backends); do
#     prov_use_backend "$backend"      # fresh data dir (+ fresh PG database)
#     start_scsipub "$SCSIPUB_BIN" "${PROV_DB_ARGS[@]}"
#     prov_account standard            # sets ACC_ID ACC_TOKEN
#     api POST /api/v1/disks "$ACC_TOKEN" '{"images":["blank"]}'
#     expect_eq "create disk" "$HTTP_CODE" 201
#     ...
#     stop_scsipub
#   done
#   prov_summary                       # "N passed, N failed", exit 0/1

PROV_PASSED=0
PROV_FAILED=0
PROV_FAILURES=()
PROV_SKIPPED=()
PROV_TAG=            # "[sqlite]" / "[postgres]": prefix of every check line
PROV_DB_ARGS=()      # (--database URL) for PostgreSQL, empty for SQLite
PROV_BIN=
PROV_CLIENT=
HTTP_CODE=
HTTP_BODY=
# Results of prov_account / create_disk / client, read by the scripts.
# shellcheck disable=SC2034
{
  ACC_ID="" ACC_TOKEN="" ACC_JSON=""
  DISK_JSON="" DISK_ID="" DISK_TARGET="" DISK_USER="" DISK_SECRET="" DISK_MUTUAL=""
  CLIENT_OUT="" CLIENT_RC=0
}

prov_init() {
  PROV_BIN=$1
  PROV_CLIENT=$2
  [[ -x $PROV_BIN ]] || die "scsipub binary not executable: $PROV_BIN"
  [[ -x $PROV_CLIENT ]] || die "provisioned_client not built: $PROV_CLIENT"
  require_tools python3 curl jq timeout
  if [[ -n ${SCSIPUB_TEST_PG_URL:-} ]]; then require_tools psql; fi
}

pass() {
  PROV_PASSED=$((PROV_PASSED + 1))
  log "PASS $PROV_TAG $*"
}

failc() {
  PROV_FAILED=$((PROV_FAILED + 1))
  PROV_FAILURES+=("$PROV_TAG $*")
  log "FAIL $PROV_TAG $*"
}

# check DESC CMD...: pass when CMD succeeds.
check() {
  local desc=$1
  shift
  if "$@"; then pass "$desc"; else failc "$desc"; fi
}

# expect_eq DESC GOT WANT
expect_eq() {
  if [[ $2 == "$3" ]]; then pass "$1"; else failc "$1: got '$2', want '$3'"; fi
}

# expect_match DESC TEXT REGEX (bash ERE)
expect_match() {
  if [[ $2 =~ $3 ]]; then pass "$1"; else failc "$1: '$2' does not match /$3/"; fi
}

# expect_no_match DESC TEXT REGEX
expect_no_match() {
  if [[ $2 =~ $3 ]]; then failc "$1: '$2' matches /$3/"; else pass "$1"; fi
}

prov_summary() {
  local f
  if ((${#PROV_SKIPPED[@]})); then
    for f in "${PROV_SKIPPED[@]}"; do log "skipped: $f"; done
  fi
  if ((PROV_FAILED)); then
    log "failed checks:"
    for f in "${PROV_FAILURES[@]}"; do log "  $f"; done
  fi
  echo "$PROV_PASSED passed, $PROV_FAILED failed${PROV_SKIPPED[*]:+ (skipped: ${PROV_SKIPPED[*]})}"
  ((PROV_FAILED == 0)) && exit 0
  exit 1
}

# prov_backends: "sqlite", plus "postgres" when SCSIPUB_TEST_PG_URL is set.
prov_backends() {
  echo sqlite
  if [[ -n ${SCSIPUB_TEST_PG_URL:-} ]]; then echo postgres; fi
}

prov_note_pg_skip() {
  if [[ -z ${SCSIPUB_TEST_PG_URL:-} ]]; then
    log "SCSIPUB_TEST_PG_URL is not set: the PostgreSQL half is skipped"
    PROV_SKIPPED+=("postgres")
  fi
}

# prov_use_backend sqlite|postgres: a fresh data dir (the server must be
# stopped) and, for postgres, a fresh database on the server of
# $SCSIPUB_TEST_PG_URL, dropped at exit. Sets PROV_DB_ARGS and PROV_TAG.
prov_use_backend() {
  local backend=$1
  [[ -z $SCSIPUB_PID ]] || die "prov_use_backend with a running server"
  PROV_TAG="[$backend]"
  rm -rf "$INTEG_TMP/data"
  SCSIPUB_DATA_DIR=$INTEG_TMP/data
  mkdir -p "$SCSIPUB_DATA_DIR"
  PROV_DB_ARGS=()
  if [[ $backend == postgres ]]; then
    local base=${SCSIPUB_TEST_PG_URL%%\?*} query=
    [[ $SCSIPUB_TEST_PG_URL == *\?* ]] && query="?${SCSIPUB_TEST_PG_URL#*\?}"
    local db
    db="scsipub_it_$(basename "$0" .sh)_$$_${RANDOM}"
    db=${db//[^a-zA-Z0-9_]/_}
    timeout 30 psql "$SCSIPUB_TEST_PG_URL" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" >/dev/null ||
      die "cannot create database $db on $SCSIPUB_TEST_PG_URL"
    integ_on_exit "timeout 30 psql '$SCSIPUB_TEST_PG_URL' -X -q -c 'DROP DATABASE IF EXISTS $db WITH (FORCE)' >/dev/null 2>&1"
    PROV_DB_ARGS=(--database "${base%/*}/$db$query")
    log "$PROV_TAG database ${base%/*}/$db"
  fi
}

# scsipub_cli [--config F] SUBCOMMAND ARGS...: e.g. `scsipub_cli account create
# --tier standard --json`, on our data dir and database. The shared flags go
# right after SUBCOMMAND (`scsipub account --data-dir D create ...`); the
# documented order (after `create`/`list`) is checked by provisioned_api.sh.
scsipub_cli() {
  local common=(--data-dir "$SCSIPUB_DATA_DIR" "${PROV_DB_ARGS[@]}")
  if [[ $1 == --config ]]; then
    common+=(--config "$2")
    shift 2
  fi
  timeout -k 5 60 "$PROV_BIN" "$1" "${common[@]}" "${@:2}"
}

# prov_account TIER [--config FILE]: `account create --json`; sets ACC_ID,
# ACC_TOKEN, ACC_JSON. Fails (returns 1) when the output is not as documented.
prov_account() {
  local tier=$1
  shift
  ACC_ID="" ACC_TOKEN="" ACC_JSON=""
  ACC_JSON=$(scsipub_cli "$@" account create --tier "$tier" --json) || {
    log "account create --tier $tier failed"
    return 1
  }
  ACC_ID=$(jq -er .id <<<"$ACC_JSON") || return 1
  ACC_TOKEN=$(jq -er .token <<<"$ACC_JSON") || return 1
  [[ $(jq -r .tier <<<"$ACC_JSON") == "$tier" && $ACC_TOKEN =~ ^[0-9a-f]{64}$ && -n $ACC_ID ]]
}

# api METHOD PATH [TOKEN] [BODY]: sets HTTP_CODE (000 when curl failed) and HTTP_BODY.
# An empty TOKEN sends no Authorization header; BODY, when given (even
# empty), is sent as application/json.
api() {
  local method=$1 path=$2 token=${3:-}
  local args=(-sS --max-time 20 -o "$INTEG_TMP/http.body" -w '%{http_code}' -X "$method")
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  if (($# >= 4)); then args+=(-H 'Content-Type: application/json' --data-binary "$4"); fi
  rm -f "$INTEG_TMP/http.body"
  HTTP_CODE=$(curl "${args[@]}" "http://$INTEG_HOST:$SCSIPUB_HTTP_PORT$path" 2>>"$INTEG_TMP/curl.err") || true
  [[ $HTTP_CODE =~ ^[0-9]{3}$ ]] || HTTP_CODE=000
  HTTP_BODY=$(cat "$INTEG_TMP/http.body" 2>/dev/null || true)
}

# jqb FILTER: jq over the last HTTP_BODY (prints "" on a parse error).
jqb() { jq -r "$1" <<<"$HTTP_BODY" 2>/dev/null || true; }

# is_json_error: the last body is {"error": "<non-empty>"}.
is_json_error() { [[ -n $(jq -er '.error | select(type == "string" and length > 0)' <<<"$HTTP_BODY" 2>/dev/null) ]]; }

# create_disk TOKEN IMAGES-JSON: POST a disk; on 201 sets DISK_JSON, DISK_ID,
# DISK_TARGET, DISK_USER, DISK_SECRET, DISK_MUTUAL. Returns 1 unless 201.
# shellcheck disable=SC2034
create_disk() {
  DISK_JSON="" DISK_ID="" DISK_TARGET="" DISK_USER="" DISK_SECRET="" DISK_MUTUAL=""
  api POST /api/v1/disks "$1" "{\"images\":$2}"
  [[ $HTTP_CODE == 201 ]] || { log "POST /api/v1/disks $2 -> $HTTP_CODE $HTTP_BODY"; return 1; }
  DISK_JSON=$HTTP_BODY
  DISK_ID=$(jqb .id)
  DISK_TARGET=$(jqb .target)
  DISK_USER=$(jqb .chap.user)
  DISK_SECRET=$(jqb .chap.secret)
  DISK_MUTUAL=$(jqb .chap.mutual_secret)
}

# disk_url USER SECRET TARGET LUN: iscsi:// URL with CHAP credentials.
disk_url() {
  if [[ -n $1 ]]; then
    printf 'iscsi://%s%%%s@%s:%s/%s/%s\n' "$1" "$2" "$INTEG_HOST" "$SCSIPUB_PORT" "$3" "$4"
  else
    printf 'iscsi://%s:%s/%s/%s\n' "$INTEG_HOST" "$SCSIPUB_PORT" "$3" "$4"
  fi
}

# client ARGS...: the libiscsi client under a timeout; output in CLIENT_OUT, status in CLIENT_RC.
client() {
  CLIENT_RC=0
  CLIENT_OUT=$(timeout -k 5 120 "$PROV_CLIENT" "$@" 2>&1) || CLIENT_RC=$?
  ((CLIENT_RC == 124)) && CLIENT_OUT+=" (timed out)"
  printf '%s\n' "$CLIENT_OUT" | sed 's/^/    | /' >&2
  return 0
}

# server_alive: the server we started still runs.
server_alive() { [[ -n $SCSIPUB_PID ]] && kill -0 "$SCSIPUB_PID" 2>/dev/null; }

# log_lines_since N: the server log from line N+1 on.
log_lines_since() { tail -n +"$(($1 + 1))" "$SCSIPUB_LOG" 2>/dev/null || true; }
log_line_count() { wc -l <"$SCSIPUB_LOG" 2>/dev/null || echo 0; }

# kill9_scsipub: SIGKILL the server we started (a crash), reap it.
kill9_scsipub() {
  [[ -n $SCSIPUB_PID ]] || return 1
  local pid=$SCSIPUB_PID
  SCSIPUB_PID=
  kill -0 "$pid" 2>/dev/null || { log "scsipub (pid $pid) was already gone before kill -9"; explain_server_exit; return 1; }
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  log "scsipub (pid $pid) killed with SIGKILL"
}
