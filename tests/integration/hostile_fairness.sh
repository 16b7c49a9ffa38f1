#!/bin/bash
# Paying users vs strangers: runs hostile_fairness
# against a server with small admission limits, a standard account and a CHAP
# disk made through `scsipub account create` and POST /api/v1/disks, and a
# second account's disk whose secret the guesser tries to guess.
#
#   hostile_fairness.sh SCSIPUB_BIN HOSTILE_FAIRNESS_BIN
#
# The limits are small so the test is quick; the mechanism is what is tested
# (the defaults are in docs/SECURITY.md). HOSTILE_FAIRNESS_LEGACY_CONFIG=1
# writes only the keys a server without the round-two admission model knows
# (an unknown key is a startup error), to measure the "before" figures.
# HOSTILE_FAIRNESS_ARGS adds options (e.g. "--strangers slots").
# SQLite only: the admission model does not touch the database.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=provisioned_lib.sh
source "$here/provisioned_lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN HOSTILE_FAIRNESS_BIN" >&2; exit 2; }
PROV_BIN=$1 prog=$2
[[ -x $PROV_BIN ]] || die "scsipub binary not executable: $PROV_BIN"
[[ -x $prog ]] || die "program not built: $prog"
require_tools python3 curl jq timeout
# See hostile_round2.sh.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16:allocator_release_to_os_interval_ms=500"

config=$INTEG_TMP/fairness.toml
free_overlays=$INTEG_TMP/free-overlays
mkdir -p "$free_overlays"
if [[ ${HOSTILE_FAIRNESS_LEGACY_CONFIG:-0} == 1 ]]; then
  free_overlays=$INTEG_TMP/data/overlays
  cat >"$config" <<'EOF'
[iscsi]
threads = 2
max_logins_in_progress = 32
max_sessions = 64

[free_tier]
blank_size = 16777216
overlay_bytes_per_ip = 67108864

[auth]
chap_failures_per_minute = 5
EOF
else
  # 32 general login slots + 8 for CHAP logins, 4 per address; 64 sessions of
  # which 16 only for authenticated logins, 16 anonymous per address, 24
  # discovery; free tier 512 MiB in all (32 blank disks of 16 MiB), 64 MiB
  # per address; CHAP 5 failures per (address, user), 60 challenges per
  # address and minute.
  cat >"$config" <<EOF
[iscsi]
threads = 2
max_logins_in_progress = 32
max_logins_in_progress_per_ip = 4
reserved_auth_logins = 8
max_sessions = 64
reserved_auth_sessions = 16
max_sessions_per_ip = 16
max_discovery_sessions = 24
ipv6_prefix_length = 64

[free_tier]
blank_size = 16777216
overlay_bytes_total = 536870912
overlay_bytes_per_ip = 67108864
overlay_dir = "$free_overlays"
retain_seconds = 1  # dropped strangers' overlays are kept this long (+ the 2 s check): inside --settle-s

[auth]
chap_failures_per_minute = 5
chap_attempts_per_minute_per_ip = 60
EOF
fi

SCSIPUB_DATA_DIR=$INTEG_TMP/data
start_scsipub "$PROV_BIN" --config "$config" || die "server did not start (config: $config)"
prov_account standard || die "account create failed"
paid_token=$ACC_TOKEN
create_disk "$paid_token" '["blank"]' || die "paid disk not created"
paid_url=$(disk_url "$DISK_USER" "$DISK_SECRET" "$DISK_TARGET" 0)
prov_account standard || die "second account create failed"
create_disk "$ACC_TOKEN" '["blank"]' || die "second disk not created"
guess_target=$DISK_TARGET guess_user=$DISK_USER
log "paid disk ready; the guesser targets $guess_user"

extra=()
read -r -a extra <<<"${HOSTILE_FAIRNESS_ARGS:-}"
rc=0
timeout -k 5 240 "$prog" --host "$INTEG_HOST" --port "$SCSIPUB_PORT" --blank "$IQN_BLANK" \
  --server-pid "$SCSIPUB_PID" --paid-url "$paid_url" --guess-target "$guess_target" \
  --guess-user "$guess_user" --overlay-dir "$free_overlays" "${extra[@]}" || rc=$?
((rc == 124)) && log "hostile_fairness timed out"
stop_scsipub || rc=1
exit "$rc"
