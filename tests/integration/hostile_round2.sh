#!/bin/bash
# Round two of the adversarial test: every case of
# hostile_round2 against its own fresh server, so one attack's figures (and a
# server an attack broke) never leak into the next.
#
#   hostile_round2.sh SCSIPUB_BIN HOSTILE_ROUND2_BIN [CASE...]
#
# Without CASEs it runs all of them (hostile_round2 --list). The server runs
# with two event loops (threads = 2: the side connections then share the
# attacker's loop for sure) and otherwise default limits: the budgets are
# stated for the defaults. Each case fails when hostile_round2 reports a
# violation, when the server died, or when it does not exit 0 within 10 s of
# SIGTERM afterwards. Prints one line per case and "N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

(($# >= 2)) || { echo "usage: $0 SCSIPUB_BIN HOSTILE_ROUND2_BIN [CASE...]" >&2; exit 2; }
bin=$1 prog=$2
shift 2
[[ -x $prog ]] || die "program not built: $prog"
require_tools python3

# ASan parks freed memory in a quarantine (256 MiB by default) that looks like
# growth; 16 MiB keeps use-after-free detection for recent frees. Freed
# allocator pages go back to the OS after 500 ms, so "memory back to the
# baseline" means something. (No effect on a build without ASan.)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16:allocator_release_to_os_interval_ms=500"

cases=("$@")
((${#cases[@]})) || mapfile -t cases < <("$prog" --list)

config=$INTEG_TMP/round2.toml
cat >"$config" <<'EOF'
[iscsi]
threads = 2

[free_tier]
retain_seconds = 1  # dropped attackers' overlays are kept this long (+ the 2 s check): inside --settle-s
EOF

passed=0 failed=0 results=()
for c in "${cases[@]}"; do
  log "==== case $c"
  rm -rf "$INTEG_TMP/data"
  if ! start_scsipub "$bin" --config "$config"; then
    failed=$((failed + 1)) results+=("FAIL $c (server did not start)")
    continue
  fi
  rc=0
  timeout -k 5 180 "$prog" --host "$INTEG_HOST" --port "$SCSIPUB_PORT" --target "$IQN_BLANK" \
    --http-port "$SCSIPUB_HTTP_PORT" --server-pid "$SCSIPUB_PID" \
    --overlay-dir "$SCSIPUB_DATA_DIR/overlays" --only "$c" || rc=$?
  ((rc == 124)) && log "$c: hostile_round2 timed out"
  if ! stop_scsipub; then
    log "$c: the server did not stop cleanly after the attack"
    rc=1
  fi
  if ((rc == 0)); then
    passed=$((passed + 1)) results+=("ok   $c")
  else
    failed=$((failed + 1)) results+=("FAIL $c")
  fi
done
for r in "${results[@]}"; do log "$r"; done
echo "$passed passed, $failed failed"
((failed == 0))
