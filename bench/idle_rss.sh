#!/bin/bash
# What an idle logged-in session costs the server in resident memory.
#
#   bench/idle_rss.sh [--scsipub BIN] [--hold BIN] [--sessions N] [--target blank|image]
#                     [--image-size SIZE] [--keep K]
#
# Starts scsipub (limits raised so one address may hold N sessions, free-tier
# overlay budgets off), adds a sparse catalog image of SIZE (default 1G) as
# image.big, warms up with one session, reads VmRSS, holds N idle sessions
# with scsipub-hold-sessions (they answer NOP-In pings), waits past the first
# NOP-In interval (15 s) and reads VmRSS again, then once more 3 s after they
# logged out. Prints the difference per session and how many files the data
# dir holds while they are in (an idle free session should create none).
# --keep K: K other sessions log in before the baseline and stay in until the
# end, so "after logout" is measured on a server that still has sessions.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"

scsipub_bin=$repo/build-rel/scsipub
hold_bin=$repo/build-rel/bench/scsipub-hold-sessions
sessions=1000
target=blank
image_size=1G
keep=0
while (($#)); do
  case $1 in
    --scsipub) scsipub_bin=$2; shift 2 ;;
    --hold) hold_bin=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --image-size) image_size=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
[[ -x $hold_bin ]] || die "no $hold_bin (build target scsipub-hold-sessions)"
ulimit -n $(((sessions + keep) * 4 + 256)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mkdir -p "$INTEG_TMP/images"
make_images "$INTEG_TMP/images"
truncate -s "$image_size" "$INTEG_TMP/images/big.img"
start_scsipub_for_sessions "$scsipub_bin" $((sessions + keep)) ||
  die "scsipub did not start"
integ_on_exit stop_scsipub
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$SCSIPUB_PID/status"; }
case $target in
  blank) iqn=$IQN_BLANK ;;
  image) iqn=$IQN_PREFIX:image.big ;;
  *) die "--target blank or image" ;;
esac
url="iscsi://$INTEG_HOST:$SCSIPUB_PORT/$iqn/0"

# One session in and out first, so one-time allocations are in the baseline.
"$hold_bin" "$url" 1 1 >/dev/null 2>&1 || true
sleep 1
# hold NAME COUNT SECONDS [INITIATOR_PREFIX]: COUNT sessions held in the
# background for SECONDS; returns once they are in (or after 5 minutes).
# Output in $INTEG_TMP/NAME.out, the holder's pid in HOLD_PID.
hold() {
  local name=$1 count=$2 secs=$3
  shift 3
  "$hold_bin" "$url" "$count" "$secs" "$@" >"$INTEG_TMP/$name.out" 2>"$INTEG_TMP/$name.err" &
  HOLD_PID=$!
  integ_on_exit "kill $HOLD_PID 2>/dev/null || true"
  local i
  for ((i = 0; i < 3000; i++)); do
    grep -q '^held' "$INTEG_TMP/$name.out" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$name: sessions not held: $(tail -3 "$INTEG_TMP/$name.err")"
}
if ((keep > 0)); then
  hold keep "$keep" 3600 iqn.2026-12.pub.scsipub.bench:keep
  sleep 1
fi
before=$(rss_kb)
hold hold "$sessions" 45
hold_pid=$HOLD_PID
held=$(awk '/^held/ {print $2}' "$INTEG_TMP/hold.out")
[[ -n $held && $held -gt 0 ]] || die "sessions not held: $(tail -3 "$INTEG_TMP/hold.err")"
sleep 22  # past the first NOP-In interval
during=$(rss_kb)
files=$(find "$SCSIPUB_DATA_DIR" -type f | wc -l)
wait "$hold_pid" || true
sleep 3
after=$(rss_kb)
awk -v t="$target" -v s="$image_size" -v n="$held" -v a="$before" -v b="$during" -v c="$after" -v f="$files" -v k="$keep" 'BEGIN {
  printf "%s%s: %d sessions, VmRSS %d KB before, %d KB held, %d KB after logout (+%d KB, %d kept in): %.1f KB per idle session; %d files in the data dir while held\n",
    t, (t == "image" ? " " s : ""), n, a, b, c, c - a, k, (b - a) / n, f }'
