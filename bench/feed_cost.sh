#!/bin/bash
# What the operator dashboard's live feed costs the server with N live sessions.
#
#   bench/feed_cost.sh [--scsipub BIN] [--hold BIN] [--sessions N] [--seconds S]
#                      [--interval SEC] [--out FILE]
#
# Starts scsipub (limits raised so one address may hold N sessions), holds N
# idle sessions on the blank target with scsipub-hold-sessions (they answer
# NOP-In pings), then samples the server's utime+stime twice over S seconds:
# idle, and while one viewer polls GET /api/v1/admin/snapshot every INTERVAL
# seconds (what admin.js does). The difference is the feed's cost in % of
# one core; also prints the snapshot's size and its mean fetch time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"

scsipub_bin=$repo/build-release/scsipub
hold_bin=$repo/build-release/bench/scsipub-hold-sessions
sessions=1000
seconds=20
interval=0.5
out=
cmdline="bench/feed_cost.sh $*"
while (($#)); do
  case $1 in
    --scsipub) scsipub_bin=$2; shift 2 ;;
    --hold) hold_bin=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -x $hold_bin ]] || die "no $hold_bin (build target scsipub-hold-sessions)"
ulimit -n $((sessions * 4 + 256)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"

start_scsipub_for_sessions "$scsipub_bin" "$sessions" ||
  die "scsipub did not start"
integ_on_exit stop_scsipub
token=$("$scsipub_bin" admin token create --data-dir "$SCSIPUB_DATA_DIR" | tail -n 1)
[[ -n $token ]] || die "no operator token"

url="iscsi://$INTEG_HOST:$SCSIPUB_PORT/iqn.2025-01.pub.scsipub:blank/0"
hold_secs=$((seconds * 2 + 120))
"$hold_bin" "$url" "$sessions" "$hold_secs" >"$INTEG_TMP/hold.out" 2>"$INTEG_TMP/hold.err" &
hold_pid=$!
integ_on_exit "kill $hold_pid 2>/dev/null || true"
for ((i = 0; i < 1200; i++)); do
  grep -q '^held' "$INTEG_TMP/hold.out" 2>/dev/null && break
  sleep 0.1
done
held=$(awk '/^held/ {print $2}' "$INTEG_TMP/hold.out")
[[ -n $held ]] || die "sessions not held: $(tail -3 "$INTEG_TMP/hold.err")"
[[ $held == "$sessions" ]] || log "only $held of $sessions sessions: $(sort "$INTEG_TMP/hold.err" | uniq -c | sort -rn | head -3)"
log "$held sessions held"
sleep 2

feed="http://$INTEG_HOST:$SCSIPUB_HTTP_PORT/api/v1/admin/snapshot"
tck=$(getconf CLK_TCK)
measure() {  # measure CMD...: CPU % of one core the server used over $seconds while CMD ran
  local before after
  before=$(proc_cpu_ticks "$SCSIPUB_PID")
  "$@"
  after=$(proc_cpu_ticks "$SCSIPUB_PID")
  awk -v d=$((after - before)) -v t="$tck" -v s="$seconds" 'BEGIN {printf "%.2f", 100 * d / t / s}'
}
poll() {
  local end=$((SECONDS + seconds)) n=0 total=0
  : >"$INTEG_TMP/poll.times"
  while ((SECONDS < end)); do
    curl -s -o "$INTEG_TMP/snapshot.json" -w '%{time_total}\n' -H "Authorization: Bearer $token" "$feed" \
      >>"$INTEG_TMP/poll.times"
    sleep "$interval"
  done
}
idle=$(measure sleep "$seconds")
polled=$(measure poll)
live=$(grep -o '"initiator_name"' "$INTEG_TMP/snapshot.json" | wc -l)
bytes=$(stat -c %s "$INTEG_TMP/snapshot.json")
fetch_ms=$(awk '{s += $1; n++} END {printf "%.1f", 1000 * s / n}' "$INTEG_TMP/poll.times")
polls=$(wc -l <"$INTEG_TMP/poll.times")
cost=$(awk -v a="$polled" -v b="$idle" 'BEGIN {printf "%.2f", a - b}')

report=$(cat <<REPORT
### $(date -u '+%Y-%m-%d %H:%M UTC') — dashboard feed cost, $held live sessions

Command: \`$cmdline\` (scsipub $(basename "$scsipub_bin"), $(nproc) cores)

| | server CPU (% of one core) |
|---|---|
| $held idle sessions, no viewer | $idle |
| same, one viewer polling every ${interval}s ($polls polls) | $polled |
| **feed cost** | **$cost** |

Snapshot: $live sessions listed, $bytes bytes, mean fetch $fetch_ms ms.
REPORT
)
echo "$report"
[[ -z $out ]] || printf '\n%s\n' "$report" >>"$out"
