#!/bin/bash
# Reads on a provisioned (shared) disk against reads on a private free-tier
# overlay, on one scsipub in one run: the shared disk goes through LockedStore
# (a reader-writer lock) and the persistent overlay, the private one through
# a session's own overlay with no lock.
#
#   bench/shared_disk.sh [--scsipub BIN] [--bench BIN] [--seconds S] [--out FILE]
#
# Workloads: 128K sequential read QD8 with 1 and 4 sessions, 4K random read
# QD32 with 4 sessions; every session of the shared runs logs in to the same
# disk. Prints a markdown table with the shared/private ratios (MB/s and target
# CPU seconds per million I/Os). Set TMPDIR=/dev/shm to keep both on tmpfs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"
# shellcheck source=../tests/integration/provisioned_lib.sh
source "$repo/tests/integration/provisioned_lib.sh"
# shellcheck source=bench_lib.sh
source "$repo/bench/bench_lib.sh"

cmdline="bench/shared_disk.sh $*"
bench_options 2,13 "$@"
require_tools python3 curl jq

prov_use_backend sqlite
SCSIPUB_LOG_LEVEL=warn start_scsipub "$scsipub_bin" || die "scsipub did not start"
prov_account standard || die "account create failed"
create_disk "$ACC_TOKEN" '["blank"]' || die "disk create failed"
shared_url=$(disk_url "$DISK_USER" "$DISK_SECRET" "$DISK_TARGET" 0)
private_url=$(scsipub_url blank)

run() { bench_measure "mbps target_cpu_s_per_mio" "$@"; }

workloads=(
  "128K seqread QD8 x1|--pattern seqread --bs 131072 --qd 8 --sessions 1"
  "128K seqread QD8 x4|--pattern seqread --bs 131072 --qd 8 --sessions 4"
  "4K randread QD32 x4|--pattern randread --bs 4096 --qd 32 --sessions 4"
)
rows=()
for w in "${workloads[@]}"; do
  name=${w%%|*} args=${w#*|}
  log "workload: $name"
  # shellcheck disable=SC2086
  read -r p_mbps p_cpu < <(run "$private_url" $args)
  # shellcheck disable=SC2086
  read -r s_mbps s_cpu < <(run "$shared_url" $args)
  rows+=("| $name | $p_mbps | $p_cpu | $s_mbps | $s_cpu | $(bench_ratio "$s_mbps" "$p_mbps") | $(bench_ratio "$s_cpu" "$p_cpu") |")
done
stop_scsipub || log "scsipub did not stop cleanly"

report=$(
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC') — shared (provisioned) disk vs private overlay"
  echo
  echo "Command: \`$cmdline\` (${seconds}s per workload, 48 MiB span; $(nproc) CPUs, load average at the end $(cut -d" " -f1-3 /proc/loadavg); TMPDIR=${TMPDIR:-/tmp})"
  echo
  echo "| workload | private MB/s | private CPU s/1M | shared MB/s | shared CPU s/1M | MB/s shared/private | CPU shared/private |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
)
echo "$report"
if [[ -n $out ]]; then
  printf '\n%s\n' "$report" >>"$out"
  log "appended to $out"
fi
