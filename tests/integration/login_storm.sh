#!/bin/bash
# Login storms against scsipub, driven by scsipub-sessions (bench/sessions/):
#
#   login_storm.sh SCSIPUB_BIN SESSIONS_TOOL [SESSIONS] [RECOVERY_LIMIT_S] [SIDE_LOGIN_LIMIT_MS]
#
# 1. New-session storm: SESSIONS sessions start logging in at once (no client
#    side limit, 8 source addresses standing in for a fleet) while a side
#    login from another address runs every 250 ms. Every session gets in
#    (admission answers the overflow with 03/02, which the client retries
#    with backoff), nothing fails for good, and every side login is answered
#    within SIDE_LOGIN_LIMIT_MS (default 1000; a sanitizer build is ~3x slower).
# 2. Restart storm: with SESSIONS sessions logged in, SIGTERM the server
#    (it asks every initiator to log out and must exit 0), start it again on
#    the same port: every session is back within RECOVERY_LIMIT_S (default
#    10) of the new process starting, no login failed for good, and the new
#    process's RSS during the storm stays under twice its steady state.
# The default server limits stay except the per-address ones (8 addresses
# here play thousands of hosts) and the connection/session totals.
# Prints "STORM ..." lines with the measurements.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

(($# >= 2)) || { echo "usage: $0 SCSIPUB_BIN SESSIONS_TOOL [SESSIONS] [RECOVERY_LIMIT_S] [SIDE_LOGIN_LIMIT_MS]" >&2; exit 2; }
server=$1 tool=$2 sessions=${3:-1000} limit_s=${4:-10} side_ms=${5:-1000}
[[ -x $tool ]] || { log "scsipub-sessions not built: $tool"; exit 1; }
require_tools python3
ulimit -n "$(ulimit -Hn)"
# One descriptor per session in each process (the server's and the
# generator's): the crowd only logs in, so no overlay file is ever opened.
(($(ulimit -n) >= sessions + 200)) || { log "SKIP: fd limit $(ulimit -n) too low for $sessions sessions"; exit "$INTEG_SKIP"; }
# An ASan build parks freed memory in its quarantine; keep it small so RSS means something.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"

cat >"$INTEG_TMP/storm.toml" <<TOML
[iscsi]
max_sessions = $((sessions * 2 + 100))
max_connections = $((sessions * 2 + 100))
max_sessions_per_ip = $((sessions + 100))
max_connections_per_ip = $((sessions + 100))
max_logins_in_progress_per_ip = 64
[free_tier]
overlay_bytes_per_ip = 0
overlay_bytes_total = 0
TOML
start() { SCSIPUB_LOG_LEVEL=warn start_scsipub "$server" --config "$INTEG_TMP/storm.toml" --tls-listen off; }
field() { # field NAME LINE
  python3 -c '
import sys
kv = dict(x.split("=", 1) for x in sys.argv[2].split()[1:] if "=" in x)
print(kv.get(sys.argv[1], "-1"))' "$1" "$2"
}
fail=0
sources=127.0.0.1-127.0.0.8
now_ms() { date +%s%3N; }

# ---- 1. new-session storm
start || die "scsipub did not start"
res=$(timeout -k 5 300 "$tool" --portal "$INTEG_HOST:$SCSIPUB_PORT" --target "$IQN_BLANK" --sessions "$sessions" \
  --in-flight "$sessions" --sources "$sources" --probe-source 127.0.0.200 --target-pid "$SCSIPUB_PID" --settle 1 \
  --give-up-seconds 120 2>"$INTEG_TMP/storm1.err" | grep '^RESULT') || true
log "new-session storm: ${res:-no RESULT: $(tail -n 3 "$INTEG_TMP/storm1.err" | tr '\n' ' ')}"
echo "STORM new_sessions=$sessions logins_per_s=$(field logins_per_s "$res") busy=$(field busy "$res")" \
  "retried=$(field retried "$res") failed=$(field failed "$res") probe_max_ms=$(field probe_max_ms "$res")" \
  "probe_answered=$(field probe_answered "$res")/$(field probe_attempts "$res")"
integ_check "every one of $sessions new sessions logged in" test "$(field logged_in "$res")" -eq "$sessions"
integ_check "no login failed for good" test "$(field failed "$res")" -eq 0
integ_check "side logins were tried" test "$(field probe_attempts "$res")" -gt 0
integ_check "every side login was answered" test "$(field probe_answered "$res")" -eq "$(field probe_attempts "$res")"
integ_check "side logins answered within $side_ms ms (max $(field probe_max_ms "$res") ms)" \
  python3 -c 'import sys; sys.exit(0 if 0 <= float(sys.argv[1]) < float(sys.argv[2]) else 1)' \
  "$(field probe_max_ms "$res")" "$side_ms"
stop_scsipub || fail=1

# ---- 2. restart storm
start || die "scsipub did not start"
port=$SCSIPUB_PORT http_port=$SCSIPUB_HTTP_PORT
out=$INTEG_TMP/storm2.out
timeout -k 5 600 "$tool" --portal "$INTEG_HOST:$port" --target "$IQN_BLANK" --sessions "$sessions" \
  --in-flight "$sessions" --sources "$sources" --reconnect --hold 300 --settle 0 --give-up-seconds 120 \
  >"$out" 2>"$INTEG_TMP/storm2.err" &
gen=$!
integ_on_exit "kill -KILL $gen 2>/dev/null || true"
for ((i = 0; i < 1200; i++)); do
  grep -q '^held' "$out" && break
  kill -0 "$gen" 2>/dev/null || break
  sleep 0.1
done
held=$(awk '/^held/ {print $2}' "$out")
integ_check "all $sessions sessions held before the restart (${held:-none})" test "${held:-0}" -eq "$sessions"

stop_scsipub || { log "scsipub did not exit 0 after SIGTERM with $sessions sessions"; fail=1; }
t_start=$(now_ms)
SCSIPUB_FIXED_PORT=$port SCSIPUB_FIXED_HTTP_PORT=$http_port start || die "scsipub did not restart on port $port"
t_listen=$(now_ms)
# Peak RSS of the new process while the crowd comes back.
peak=0
for ((i = 0; i < limit_s * 30; i++)); do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$SCSIPUB_PID/status" 2>/dev/null || echo 0)
  ((rss > peak)) && peak=$rss
  grep -q 'EVENT all_back' "$out" && break
  sleep 0.1
done
back_line=$(grep 'EVENT all_back' "$out" | tail -n 1 || true)
sleep 2
steady=$(awk '/^VmRSS/ {print $2}' "/proc/$SCSIPUB_PID/status" 2>/dev/null || echo 0)
kill -TERM "$gen" 2>/dev/null || true
wait "$gen" || true
res=$(grep '^RESULT' "$out" || true)
back_ms=-1
if [[ -n $back_line ]]; then back_ms=$(($(field t_ms "$back_line") - t_start)); fi
echo "STORM restart_sessions=$sessions back_ms_after_start=$back_ms start_to_listen_ms=$((t_listen - t_start))" \
  "outage_ms=$(field outage_ms "$back_line") busy=$(field busy "$res") retried=$(field retried "$res")" \
  "failed=$(field failed "$res") rss_peak_kb=$peak rss_steady_kb=$steady"
integ_check "every session back after the restart" test -n "$back_line"
integ_check "back within ${limit_s}s of the new process starting (${back_ms} ms)" \
  test "$back_ms" -ge 0 -a "$back_ms" -le $((limit_s * 1000))
integ_check "no login failed for good" test "$(field failed "$res")" -eq 0
integ_check "sessions held to the end ($(field held_at_end "$res"))" test "$(field held_at_end "$res")" -eq "$sessions"
integ_check "RSS during the storm ($peak KB) under twice the steady state ($steady KB)" \
  test "$peak" -le $((steady * 2))
stop_scsipub || fail=1
exit "$fail"
