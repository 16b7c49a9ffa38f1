#!/bin/bash
# Benchmarks scsipub against tgt (the reference target) with scsipub-bench.
#
#   bench/run.sh [--scsipub BIN] [--bench BIN] [--seconds S] [--out FILE]
#                [--candidate scsipub|tgtd] [--only REGEX]
#
# Starts a private tgtd exporting a 64 MiB file-backed LUN and a scsipub server
# (its blank target: 64 MiB, one private disk per login) on free 127.0.0.1
# ports, runs every workload against both in the same run, samples each
# target process's utime+stime around the measured phase (scsipub-bench
# --target-pid) and prints a markdown table plus scsipub/tgt ratios.
# If scsipub is missing or does not come up, its columns say N/A.
# --candidate tgtd replaces scsipub by a second tgtd: a self-test of this
# script (ratios should then be near 1).
# --out FILE appends the report (date, command, tables) to FILE.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/integration/lib.sh
source "$repo/tests/integration/lib.sh"

scsipub_bin=$repo/build/scsipub
bench_bin=
seconds=10
out=
candidate=scsipub
only=
cmdline="bench/run.sh $*"
while (($#)); do
  case $1 in
    --scsipub) scsipub_bin=$2; shift 2 ;;
    --bench) bench_bin=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --candidate) candidate=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
  esac
done
if [[ -z $bench_bin ]]; then
  for b in "$repo/build/bench/scsipub-bench" "$repo/build-integ/bench/scsipub-bench"; do
    [[ -x $b ]] && { bench_bin=$b; break; }
  done
fi
[[ -n $bench_bin && -x $bench_bin ]] || die "scsipub-bench not built (cmake --build build --target scsipub-bench)"
require_tools tgtd tgtadm python3

# name|scsipub-bench arguments
workloads=(
  "4K randread QD32 x1|--pattern randread --bs 4096 --qd 32 --sessions 1"
  "4K randread QD32 x4|--pattern randread --bs 4096 --qd 32 --sessions 4"
  "4K randwrite QD32 x1|--pattern randwrite --bs 4096 --qd 32 --sessions 1"
  "4K randwrite QD32 x4|--pattern randwrite --bs 4096 --qd 32 --sessions 4"
  "128K seqread QD8 x1|--pattern seqread --bs 131072 --qd 8 --sessions 1"
  "128K seqwrite QD8 x1|--pattern seqwrite --bs 131072 --qd 8 --sessions 1"
)

# Reference: tgt.
start_tgtd "" 64 || die "tgtd did not start"
ref_url=$TGT_URL ref_pid=$TGTD_PID

# Candidate.
cand_url= cand_pid= cand_label=scsipub
if [[ $candidate == tgtd ]]; then
  cand_label="tgt#2"
  start_tgtd "" 64 || die "second tgtd did not start"
  cand_url=$TGT_URL cand_pid=$TGTD_PID
elif [[ -x $scsipub_bin ]]; then
  if SCSIPUB_LOG_LEVEL=warn start_scsipub "$scsipub_bin"; then
    cand_url=$(scsipub_url blank) cand_pid=$SCSIPUB_PID
  else
    log "scsipub did not start: its results will be N/A"
  fi
else
  log "no scsipub binary at $scsipub_bin: its results will be N/A"
fi

# run_one URL PID ARGS... -> prints "iops mbps p50 p99 cpu_per_mio" or "N/A ..."
run_one() {
  local url=$1 pid=$2
  shift 2
  if [[ -z $url ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "N/A N/A N/A N/A N/A"
    return
  fi
  local res rc=0
  res=$(timeout -k 5 $((seconds + 180)) "$bench_bin" --url "$url" --seconds "$seconds" --target-pid "$pid" \
    --initiator iqn.2025-01.pub.scsipub:bench "$@" 2>"$INTEG_TMP/bench.err") || rc=$?
  if ((rc != 0)) || ! grep -q '^RESULT' <<<"$res"; then
    log "bench failed (rc $rc) against $url: $(tail -n 2 "$INTEG_TMP/bench.err" | tr '\n' ' ')"
    echo "ERR ERR ERR ERR ERR"
    return
  fi
  python3 - "$res" <<'PY'
import sys
kv = dict(x.split("=", 1) for x in sys.argv[1].split("RESULT", 1)[1].split())
print(kv["iops"], kv["mbps"], kv["p50_us"], kv["p99_us"], kv.get("target_cpu_s_per_mio", "N/A"))
PY
}

ratio() { # ratio A B -> A/B with 2 decimals, or N/A
  python3 -c '
import sys
try:
    a, b = float(sys.argv[1]), float(sys.argv[2])
    print(f"{a / b:.2f}" if b else "N/A")
except ValueError:
    print("N/A")' "$1" "$2"
}

rows=() ratios=()
for w in "${workloads[@]}"; do
  name=${w%%|*} args=${w#*|}
  [[ -z $only || $name =~ $only ]] || continue
  log "workload: $name"
  # shellcheck disable=SC2086
  read -r r_iops r_mbps r_p50 r_p99 r_cpu < <(run_one "$ref_url" "$ref_pid" $args)
  # shellcheck disable=SC2086
  read -r c_iops c_mbps c_p50 c_p99 c_cpu < <(run_one "$cand_url" "$cand_pid" $args)
  rows+=("| $name | tgt | $r_iops | $r_mbps | $r_p50 | $r_p99 | $r_cpu |")
  rows+=("| $name | $cand_label | $c_iops | $c_mbps | $c_p50 | $c_p99 | $c_cpu |")
  ratios+=("| $name | $(ratio "$c_iops" "$r_iops") | $(ratio "$c_p99" "$r_p99") | $(ratio "$c_cpu" "$r_cpu") |")
done

[[ $candidate == scsipub && -n $cand_pid ]] && { stop_scsipub || log "scsipub did not stop cleanly"; }

report=$(
  echo "### $(date -u '+%Y-%m-%d %H:%M UTC') — $cand_label vs tgt"
  echo
  echo "Command: \`$cmdline\` (${seconds}s per workload; $(nproc) CPUs, $(uname -sr), load average at the end $(cut -d" " -f1-3 /proc/loadavg); client and targets on one host; scsipub binary $scsipub_bin)"
  echo
  echo "| workload | target | IOPS | MB/s | p50 µs | p99 µs | target CPU s / 1M I/O |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "| workload | IOPS $cand_label/tgt | p99 $cand_label/tgt | CPU per I/O $cand_label/tgt |"
  echo "|---|---:|---:|---:|"
  printf '%s\n' "${ratios[@]}"
)
echo "$report"
if [[ -n $out ]]; then
  printf '\n%s\n' "$report" >>"$out"
  log "appended to $out"
fi
