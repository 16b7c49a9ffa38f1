# shellcheck shell=bash
# Helpers for scsipub integration tests. Source this file from a bash script
# that runs with `set -euo pipefail`:
#
#   source "$(dirname "$0")/lib.sh"
#   require_tools python3 iscsi-inq        # exits 77 (CTest skip) if missing
#   start_scsipub /path/to/scsipub         # sets SCSIPUB_PORT, SCSIPUB_PID, ...
#   start_tgtd                             # sets TGTD_PORT, TGTD_PID, TGT_URL
#   stop_scsipub                           # fails if the exit is not clean
#
# Everything lives under one temp dir ($INTEG_TMP) that the EXIT trap removes,
# after stopping every daemon this shell started. Only 127.0.0.1 is used.

INTEG_SKIP=77
INTEG_HOST=127.0.0.1
INTEG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scsipub-integ.XXXXXX")
INTEG_KEEP_TMP=${INTEG_KEEP_TMP:-0}   # set to 1 to keep logs and data for debugging

IQN_PREFIX=iqn.2025-01.pub.scsipub
IQN_BLANK=$IQN_PREFIX:blank
IQN_MULTI=$IQN_PREFIX:multi
TGT_IQN=$IQN_PREFIX:tgt-reference

SCSIPUB_PID=
SCSIPUB_PORT=
SCSIPUB_HTTP_PORT=   # the session API (http://127.0.0.1:$SCSIPUB_HTTP_PORT/api/v1/)
SCSIPUB_LOG=
SCSIPUB_DATA_DIR=
SCSIPUB_IMAGES_DIR=
SCSIPUB_PUBLIC_IP=${SCSIPUB_PUBLIC_IP:-}  # what start_scsipub advertises (default $INTEG_HOST), e.g. QEMU's 10.0.2.2
TGTD_PID=
TGTD_PORT=
TGTD_LOG=
TGT_URL=
TGT_LUN_FILE=

# Extra cleanup commands registered by the caller (run first, in order).
INTEG_CLEANUP=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

integ_on_exit() { INTEG_CLEANUP+=("$*"); }

_integ_cleanup() {
  local rc=$?
  set +e
  local c
  for c in "${INTEG_CLEANUP[@]}"; do eval "$c"; done
  if [[ -n $SCSIPUB_PID ]] && kill -0 "$SCSIPUB_PID" 2>/dev/null; then
    kill -TERM "$SCSIPUB_PID" 2>/dev/null
    _wait_pid_gone "$SCSIPUB_PID" 50 || kill -KILL "$SCSIPUB_PID" 2>/dev/null
    wait "$SCSIPUB_PID" 2>/dev/null
  fi
  local inst
  for inst in "${TGTD_INSTANCES[@]}"; do
    # shellcheck disable=SC2086
    _stop_tgtd_instance $inst
  done
  if [[ $rc -ne 0 && $rc -ne $INTEG_SKIP ]]; then
    # Show the daemons' logs when a test failed: it is the first thing one asks.
    local f
    for f in "$INTEG_TMP"/*.log; do
      [[ -s $f ]] || continue
      log "---- tail of $f ----"
      tail -n 40 "$f" >&2
    done
  fi
  if [[ $INTEG_KEEP_TMP == 1 ]]; then
    log "keeping $INTEG_TMP"
  else
    rm -rf "$INTEG_TMP"
  fi
  exit "$rc"
}
trap _integ_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# require_tools TOOL...: exit with the CTest skip code when a tool is missing.
require_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  if ((${#missing[@]})); then
    log "SKIP: missing tool(s): ${missing[*]}"
    exit "$INTEG_SKIP"
  fi
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  timeout 10 python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# port_open PORT: true when something accepts on 127.0.0.1:PORT.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$INTEG_HOST/$1" 2>/dev/null
}

# _wait_pid_gone PID TENTHS: wait up to TENTHS/10 s for PID to exit.
_wait_pid_gone() {
  local pid=$1 n=$2
  while ((n-- > 0)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# wait_port PORT PID SECONDS: wait until PORT accepts; fail early if PID died.
wait_port() {
  local port=$1 pid=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited before listening on $port"
      return 1
    fi
    port_open "$port" && return 0
    sleep 0.1
  done
  log "nothing listens on $INTEG_HOST:$port after ${secs}s"
  return 1
}

# make_images DIR: the catalog used by the tests.
#   test.img  8 MiB of random data
#   small.iso 1 MiB + 2048 bytes of random data (not a multiple of 1 MiB)
make_images() {
  local dir=$1
  mkdir -p "$dir"
  head -c $((8 << 20)) /dev/urandom >"$dir/test.img"
  head -c $(((1 << 20) + 2048)) /dev/urandom >"$dir/small.iso"
}

# start_scsipub BIN [extra serve args...]: start the server on a free port with a
# fresh data dir and images dir. Sets SCSIPUB_PID, SCSIPUB_PORT, SCSIPUB_LOG,
# SCSIPUB_DATA_DIR, SCSIPUB_IMAGES_DIR. Returns 1 (not 77) if it does not come up.
start_scsipub() {
  local bin=$1
  shift
  [[ -x $bin ]] || { log "scsipub binary not executable: $bin"; return 1; }
  SCSIPUB_DATA_DIR=$INTEG_TMP/data
  SCSIPUB_IMAGES_DIR=$INTEG_TMP/images
  SCSIPUB_LOG=$INTEG_TMP/scsipub.log
  mkdir -p "$SCSIPUB_DATA_DIR"
  [[ -f $SCSIPUB_IMAGES_DIR/test.img ]] || make_images "$SCSIPUB_IMAGES_DIR"
  local attempt
  for attempt in 1 2 3; do
    SCSIPUB_PORT=${SCSIPUB_FIXED_PORT:-$(free_port)}
    SCSIPUB_HTTP_PORT=${SCSIPUB_FIXED_HTTP_PORT:-$(free_port)}
    "$bin" serve \
      --data-dir "$SCSIPUB_DATA_DIR" \
      --images-dir "$SCSIPUB_IMAGES_DIR" \
      --iscsi-listen "$INTEG_HOST:$SCSIPUB_PORT" \
      --http-listen "$INTEG_HOST:$SCSIPUB_HTTP_PORT" \
      --public-host "${SCSIPUB_PUBLIC_IP:-$INTEG_HOST}:$SCSIPUB_PORT" \
      --log-level "${SCSIPUB_LOG_LEVEL:-info}" \
      "$@" >>"$SCSIPUB_LOG" 2>&1 &
    SCSIPUB_PID=$!
    if wait_port "$SCSIPUB_PORT" "$SCSIPUB_PID" 10 && wait_port "$SCSIPUB_HTTP_PORT" "$SCSIPUB_PID" 10; then
      log "scsipub pid $SCSIPUB_PID listening on $INTEG_HOST:$SCSIPUB_PORT (API on $SCSIPUB_HTTP_PORT)"
      return 0
    fi
    # Lost a race for the port? Try another one; otherwise give up.
    if kill -0 "$SCSIPUB_PID" 2>/dev/null; then
      kill -KILL "$SCSIPUB_PID" 2>/dev/null || true
    fi
    wait "$SCSIPUB_PID" 2>/dev/null || true
    SCSIPUB_PID=
    grep -qi 'address already in use' "$SCSIPUB_LOG" || break
    log "port $SCSIPUB_PORT taken, retrying ($attempt)"
  done
  log "scsipub did not start; log follows"
  tail -n 40 "$SCSIPUB_LOG" >&2 || true
  return 1
}

# explain_server_exit: after scsipub vanished without us stopping it, say
# whether it logged a SIGTERM (which this shell never sent: some other job on
# the host is killing scsipub processes by name) or died on its own.
explain_server_exit() {
  if grep -q 'SIGTERM received' "$SCSIPUB_LOG" 2>/dev/null; then
    log "scsipub logged 'SIGTERM received', and this test did not send it: something else on" \
      "the host killed it (pkill/killall by name?). Not a server bug; re-run."
  else
    log "scsipub exited without a SIGTERM from us: crash or premature exit (see its log)"
  fi
}

# stop_scsipub: SIGTERM, then require exit status 0 within 10 s.
stop_scsipub() {
  [[ -n $SCSIPUB_PID ]] || return 0
  local pid=$SCSIPUB_PID rc=0
  SCSIPUB_PID=
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || rc=$?
    log "scsipub (pid $pid) had already exited with status $rc"
    explain_server_exit
    return 1
  fi
  kill -TERM "$pid"
  if ! _wait_pid_gone "$pid" 100; then
    log "scsipub (pid $pid) still running 10 s after SIGTERM; killing"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  wait "$pid" 2>/dev/null || rc=$?
  if ((rc != 0)); then
    log "scsipub exited with status $rc after SIGTERM (want 0)"
    return 1
  fi
  log "scsipub stopped cleanly"
}

# scsipub_url TARGET-SUFFIX [LUN]: iscsi:// URL for a target on our server,
# e.g. scsipub_url blank, scsipub_url image.test.
scsipub_url() {
  printf 'iscsi://%s:%s/%s:%s/%s\n' "$INTEG_HOST" "$SCSIPUB_PORT" "$IQN_PREFIX" "$1" "${2:-0}"
}

TGTD_CTL=
TGTD_INSTANCES=()   # "pid ctl" of every tgtd started, for the EXIT trap
_tgtadm() { timeout 10 tgtadm -C "$TGTD_CTL" --lld iscsi "$@"; }

# start_tgtd [PORT] [SIZE_MIB]: a private tgtd (its own control socket, numbered
# after the iSCSI port, so a system tgtd is untouched) exporting one target
# $TGT_IQN with a file-backed LUN 1 of SIZE_MIB (default 64) MiB, open to all
# initiators. tgt puts its controller at LUN 0; the disk is LUN 1.
# Sets TGTD_PID, TGTD_PORT, TGTD_LOG, TGT_URL, TGT_LUN_FILE.
start_tgtd() {
  local port=${1:-} size=${2:-64}
  [[ -n $port ]] || port=$(free_port)
  TGTD_PORT=$port
  TGTD_LOG=$INTEG_TMP/tgtd-$port.log
  TGT_LUN_FILE=$INTEG_TMP/tgt-lun-$port.img
  truncate -s "${size}M" "$TGT_LUN_FILE"
  # The control "port" only names the socket /var/run/tgtd/socket.N and must
  # be below 32768; derive it from the iSCSI port and skip names in use.
  TGTD_CTL=$((port % 30000 + 1000))
  while [[ -e /var/run/tgtd/socket.$TGTD_CTL.lock ]]; do TGTD_CTL=$((TGTD_CTL + 1)); done
  tgtd -f -C "$TGTD_CTL" --iscsi "portal=$INTEG_HOST:$port" >>"$TGTD_LOG" 2>&1 &
  TGTD_PID=$!
  TGTD_INSTANCES+=("$TGTD_PID $TGTD_CTL")
  wait_port "$port" "$TGTD_PID" 10 || { stop_tgtd; return 1; }
  # The control socket appears a moment after the portal; retry briefly.
  local i
  for ((i = 0; i < 50; i++)); do
    _tgtadm --mode target --op show >/dev/null 2>&1 && break
    sleep 0.1
  done
  _tgtadm --mode target --op new --tid 1 --targetname "$TGT_IQN" &&
    _tgtadm --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$TGT_LUN_FILE" &&
    _tgtadm --mode target --op bind --tid 1 --initiator-address ALL &&
    _tgtadm --mode target --op update --tid 1 --name HeaderDigest --value CRC32C,None &&
    _tgtadm --mode target --op update --tid 1 --name DataDigest --value CRC32C,None ||
    { log "tgtadm setup failed"; stop_tgtd; return 1; }
  TGT_URL="iscsi://$INTEG_HOST:$port/$TGT_IQN/1"
  log "tgtd pid $TGTD_PID serving $TGT_URL"
}

# tgtd_add_lun LUN FILE: export FILE as another LUN of the tgt target (tgt
# writes straight into FILE: there is no copy-on-write). Prints its URL.
tgtd_add_lun() {
  _tgtadm --mode logicalunit --op new --tid 1 --lun "$1" --backing-store "$2" >&2 || return 1
  echo "iscsi://$INTEG_HOST:$TGTD_PORT/$TGT_IQN/$1"
}

# stop_tgtd: stop the most recently started tgtd. Call start_tgtd again for a
# second instance (the TGT* variables then describe the newest one; copy them
# first); the EXIT trap stops every instance.
stop_tgtd() {
  [[ -n $TGTD_PID ]] || return 0
  _stop_tgtd_instance "$TGTD_PID" "$TGTD_CTL"
  TGTD_PID=
}

# tgtd ignores SIGTERM while targets exist: delete them, then ask the daemon
# to exit, then fall back to SIGKILL.
_stop_tgtd_instance() {
  local pid=$1 ctl=$2
  if kill -0 "$pid" 2>/dev/null; then
    timeout 10 tgtadm -C "$ctl" --lld iscsi --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
    timeout 10 tgtadm -C "$ctl" --mode system --op delete >/dev/null 2>&1 || true
    _wait_pid_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    log "tgtd (pid $pid) stopped"
  fi
  rm -f "/var/run/tgtd/socket.$ctl" "/var/run/tgtd/socket.$ctl.lock"
}

# proc_cpu_ticks PID: utime+stime of PID in clock ticks (from /proc/PID/stat).
proc_cpu_ticks() {
  local stat rest
  stat=$(<"/proc/$1/stat")
  rest=${stat##*) }   # fields after the command name, starting at field 3
  # shellcheck disable=SC2086
  set -- $rest
  echo $((${12} + ${13}))   # fields 14 and 15 of the full line
}

# integ_check DESCRIPTION COMMAND...: runs COMMAND and logs "ok:" or "FAIL:"
# with the description; a failure sets the caller's `fail` to 1 (the scripts
# start with fail=0 and end with `exit "$fail"` or `((fail == 0))`).
integ_check() {
  local what=$1
  shift
  if "$@"; then
    log "ok:   $what"
  else
    log "FAIL: $what"
    fail=1
  fi
}

# start_scsipub_for_sessions BIN N: start_scsipub with limits raised so one
# address may hold N sessions and the free-tier overlay budgets off (the
# benchmarks that hold many idle sessions from 127.0.0.1).
start_scsipub_for_sessions() {
  local bin=$1 n=$2
  cat >"$INTEG_TMP/sessions.toml" <<TOML
[iscsi]
max_sessions = $((n + 64))
reserved_auth_sessions = 0
max_sessions_per_ip = $((n + 16))
max_connections_per_ip = $((n + 16))
[free_tier]
overlay_bytes_per_ip = 0
overlay_bytes_total = 0
TOML
  SCSIPUB_LOG_LEVEL=warn start_scsipub "$bin" --config "$INTEG_TMP/sessions.toml" --tls-listen off
}
