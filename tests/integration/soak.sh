#!/bin/bash
# Soak: many sessions with verified I/O and churn against one scsipub, then
# everything it held must be given back. Driven by `scsipub-sessions soak`
# (bench/sessions/soak_main.cc, which defines each check):
#
#   soak.sh SCSIPUB_BIN SESSIONS_TOOL [--sessions N] [--minutes M | --seconds S]
#           [--retain-seconds R] [--io-per-s X] [--churn-per-s Y] [TOOL OPTIONS...]
#
# Half the sessions use the 64 MiB blank scratch disk, half a 16 MiB catalog
# image whose every 512-byte sector holds its own LBA (so a read anywhere is
# checked, written or not). Each session writes tagged 4 KiB blocks (session,
# LBA, generation, version) and reads them back; sessions log out and new
# initiators log in, others drop their connection without a Logout and log in
# again within [free_tier] retain_seconds, expecting their data back. RSS,
# fds and overlay files of the server are sampled throughout ("SAMPLE" lines).
# Pass: no verification or I/O error, no login given up on, no session ended
# by the server, RSS flat after the warm-up, and after the final logout and
# the retain period the server's fds and overlay files back to where they were
# before the first login. Defaults fit CI (~2 minutes under ASan); the hour
# run is in docs/BENCHMARKS.md "Soak".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

(($# >= 2)) || { echo "usage: $0 SCSIPUB_BIN SESSIONS_TOOL [--sessions N] [--minutes M | --seconds S] [...]" >&2; exit 2; }
server=$1 tool=$2
shift 2
sessions=200 seconds=75 retain=5 io_per_s=150 churn_per_s=4 extra=()
while (($#)); do
  case $1 in
    --sessions) sessions=$2; shift 2 ;;
    --minutes) seconds=$(($2 * 60)); shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --retain-seconds) retain=$2; shift 2 ;;
    --io-per-s) io_per_s=$2; shift 2 ;;
    --churn-per-s) churn_per_s=$2; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
[[ -x $tool ]] || { log "scsipub-sessions not built: $tool"; exit 1; }
require_tools python3
ulimit -n "$(ulimit -Hn)"
# The server holds a socket per session and, once it has written, an overlay
# file; dropped sessions keep theirs for the retain period.
(($(ulimit -n) >= 2 * sessions + 200)) || { log "SKIP: fd limit $(ulimit -n) too low for $sessions sessions"; exit "$INTEG_SKIP"; }
# An ASan build parks freed memory in its quarantine; keep it small so RSS means something.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"

# The pattern image: 16 MiB, sector n holds n as 64 little-endian uint64.
image_sectors=32768
mkdir -p "$INTEG_TMP/images"
python3 - "$INTEG_TMP/images/soak.img" "$image_sectors" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    for lba in range(int(sys.argv[2])):
        f.write(struct.pack("<Q", lba) * 64)
PY

cat >"$INTEG_TMP/soak.toml" <<TOML
[iscsi]
max_sessions = $((sessions * 2 + 100))
max_connections = $((sessions * 2 + 100))
max_sessions_per_ip = $((sessions + 100))
max_connections_per_ip = $((sessions + 100))
max_logins_in_progress_per_ip = 64
[free_tier]
retain_seconds = $retain
overlay_bytes_per_ip = 0
overlay_bytes_total = 0
TOML
SCSIPUB_LOG_LEVEL=warn start_scsipub "$server" --config "$INTEG_TMP/soak.toml" --tls-listen off ||
  die "scsipub did not start"
sample_s=$((seconds / 120 > 5 ? seconds / 120 : 5))
out=$INTEG_TMP/soak.out
log "soak: $sessions sessions for ${seconds}s, $io_per_s I/O/s, $churn_per_s churn/s, retain ${retain}s"
rc=0
timeout -k 10 $((seconds + retain + 400)) "$tool" soak --portal "$INTEG_HOST:$SCSIPUB_PORT" \
  --sources 127.0.0.1-127.0.0.8 --sessions "$sessions" --seconds "$seconds" \
  --blank-target "$IQN_BLANK" --image-target "$IQN_PREFIX:image.soak" --image-blocks $((image_sectors / 8)) \
  --io-per-s "$io_per_s" --churn-per-s "$churn_per_s" --retain-seconds "$retain" \
  --target-pid "$SCSIPUB_PID" --overlays-dir "$SCSIPUB_DATA_DIR/overlays" --sample-seconds "$sample_s" \
  "${extra[@]}" >"$out" 2>"$INTEG_TMP/soak.err" &
gen=$!
integ_on_exit "kill -TERM $gen 2>/dev/null || true"
# The samples as they come (an hour run is long to watch blind).
tail -n +1 -f --pid="$gen" "$out" | grep --line-buffered -E '^(held|SAMPLE)' >&2 || true
wait "$gen" || rc=$?
grep -E 'MISMATCH|soak:' "$INTEG_TMP/soak.err" | head -n 20 >&2 || true
result=$(grep '^RESULT' "$out" || true)
echo "${result:-RESULT pass=0 failed_checks=no_result rc=$rc}"
fail=0
integ_check "the soak tool finished (rc $rc)" test -n "$result"
integ_check "every check of the soak passed" test "$rc" -eq 0
stop_scsipub || fail=1
exit "$fail"
