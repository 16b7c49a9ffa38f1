#!/bin/bash
# A paid (provisioned) disk on Ceph RBD against the same disk on local
# copy-on-write overlay files, same scsipub binary, same machine.
#
#   bench/rbd_disk.sh [--scsipub BIN] [--bench BIN] [--seconds S] [--rounds N] [--out FILE]
#                     [--client-conf "KEY = VALUE"]...   (added to ceph.conf's [client], e.g. "rbd cache = false")
#
# Starts a throwaway single-host Ceph (scripts/ceph-test-cluster.sh: one
# memstore OSD, so RBD's cost here is librbd + the OSD's CPU and loopback,
# not a disk), then per round: a scsipub on local storage and one with [ceph]
# (fresh data dirs), one blank paid disk on each, and the workloads against
# both, local first. Workloads (one session each): 4K random read QD32, 4K
# random write QD32, 128K sequential read QD8, over a 48 MiB span (reads
# prefilled). Prints a markdown table: IOPS, MB/s, p99 latency and target CPU
# per million I/Os of each, and the rbd/local ratios. The Ceph daemons' own
# CPU is not in "target CPU". Needs root and the ceph packages.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"
# shellcheck source=../tests/integration/provisioned_lib.sh
source "$repo/tests/integration/provisioned_lib.sh"
# shellcheck source=bench_lib.sh
source "$repo/bench/bench_lib.sh"

rounds=1
client_conf=()
bench_option() {
  case $1 in
    --rounds) rounds=$2 ;;
    --client-conf) client_conf+=("$2") ;;
    *) return 1 ;;
  esac
}
cmdline="bench/rbd_disk.sh $*"
bench_options 2,17 "$@"
require_tools python3 curl jq ceph-mon ceph-osd rbd

ceph_dir=$INTEG_TMP/ceph
integ_on_exit "'$repo/scripts/ceph-test-cluster.sh' stop '$ceph_dir' >/dev/null 2>&1"
CEPH_TEST_MGR=0 "$repo/scripts/ceph-test-cluster.sh" start "$ceph_dir" >"$INTEG_TMP/ceph.log" 2>&1 ||
  { cat "$INTEG_TMP/ceph.log" >&2; die "ceph did not start"; }
# shellcheck disable=SC1091
source "$ceph_dir/env"
if ((${#client_conf[@]})); then
  { echo "[client]"; printf '%s\n' "${client_conf[@]}"; } >>"$CEPH_CONF"
fi
config=$INTEG_TMP/ceph.toml
printf '[ceph]\nconf = "%s"\npool = "%s"\nuser = "%s"\nkeyring = "%s"\nimage_prefix = "bench-"\n' \
  "$CEPH_CONF" "$CEPH_POOL" "$CEPH_USER" "$CEPH_KEYRING" >"$config"

run() { bench_measure "iops mbps p99_us target_cpu_s_per_mio" "$@"; }

workloads=(
  "4K randread QD32|--pattern randread --bs 4096 --qd 32 --sessions 1"
  "4K randwrite QD32|--pattern randwrite --bs 4096 --qd 32 --sessions 1"
  "128K seqread QD8|--pattern seqread --bs 131072 --qd 8 --sessions 1"
)
declare -A result
# side local|rbd ROUND: one server, one disk, every workload.
measure() {
  local side=$1 round=$2 w name args
  prov_use_backend sqlite
  local extra=()
  [[ $side == rbd ]] && extra=(--config "$config")
  SCSIPUB_LOG_LEVEL=warn start_scsipub "$scsipub_bin" "${extra[@]}" || die "scsipub ($side) did not start"
  prov_account standard || die "account create failed"
  create_disk "$ACC_TOKEN" '["blank"]' || die "disk create failed"
  local url
  url=$(disk_url "$DISK_USER" "$DISK_SECRET" "$DISK_TARGET" 0)
  for w in "${workloads[@]}"; do
    name=${w%%|*} args=${w#*|}
    log "round $round $side: $name"
    # shellcheck disable=SC2086
    result["$round|$side|$name"]=$(run "$url" $args)
  done
  stop_scsipub || log "scsipub did not stop cleanly"
}
for ((r = 1; r <= rounds; r++)); do
  measure local "$r"
  measure rbd "$r"
done

rows=()
for ((r = 1; r <= rounds; r++)); do
  for w in "${workloads[@]}"; do
    name=${w%%|*}
    read -r li lm lp lc <<<"${result["$r|local|$name"]}"
    read -r ri rm rp rc <<<"${result["$r|rbd|$name"]}"
    rows+=("| $r | $name | $li | $lm | $lp | $lc | $ri | $rm | $rp | $rc | $(bench_ratio "$ri" "$li") | $(bench_ratio "$rc" "$lc") |")
  done
done
report=$(
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC') — paid disk on Ceph RBD vs local overlay"
  echo
  echo "Command: \`$cmdline\` (${seconds}s per workload, 48 MiB span, 1 session; Ceph: one memstore OSD on this host, msgr v1 over loopback; $(nproc) CPUs, load average at the end $(cut -d" " -f1-3 /proc/loadavg); TMPDIR=${TMPDIR:-/tmp})"
  echo
  echo "| round | workload | local IOPS | local MB/s | local p99 µs | local CPU s/1M | rbd IOPS | rbd MB/s | rbd p99 µs | rbd CPU s/1M | IOPS rbd/local | CPU rbd/local |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
)
echo "$report"
if [[ -n $out ]]; then
  printf '\n%s\n' "$report" >>"$out"
  log "appended to $out"
fi
