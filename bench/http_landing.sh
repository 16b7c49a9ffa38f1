#!/usr/bin/env bash
# Load test of the landing page: starts a Release `scsipub serve` (temporary
# data and images dirs, free 127.0.0.1 ports), runs wrk with keep-alive
# connections against GET / and prints requests/s and the p99 latency.
#
#   bench/http_landing.sh [--scsipub BIN] [--seconds N] [--connections N] [--threads N]
#                         [--gzip] [--http-threads N] [--out FILE]
#
# The landing page's target: >= 10 000 requests/s with 100 connections and p99 < 50 ms
# on a 2-core machine (wrk and scsipub share those cores). --gzip sends
# Accept-Encoding: gzip like a browser; the default asks for the identity body
# (the larger answer). --out appends a markdown line to FILE (docs/BENCHMARKS.md).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/tests/integration/lib.sh"

scsipub_bin=$repo/build-rel-web/scsipub
seconds=10 connections=100 threads=2 gzip=0 http_threads=2 out=
cmdline="bench/http_landing.sh $*"
while (($#)); do
  case $1 in
    --scsipub) scsipub_bin=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --http-threads) http_threads=$2; shift 2 ;;
    --gzip) gzip=1; shift ;;
    --out) out=$2; shift 2 ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
  esac
done
[[ -x $scsipub_bin ]] || die "no scsipub at $scsipub_bin (cmake -S . -B build-rel-web -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel-web --target scsipub)"
require_tools wrk curl

# Every wrk connection comes from 127.0.0.1: lift the per-address cap
# (default 16) above the connection count for this run only.
config=$INTEG_TMP/bench.toml
cat >"$config" <<TOML
[http]
threads = $http_threads
max_connections_per_ip = $((connections + 16))
max_connections = $((connections + 64))
TOML
SCSIPUB_LOG_LEVEL=warn start_scsipub "$scsipub_bin" --config "$config" || die "scsipub did not start"
url="http://$INTEG_HOST:$SCSIPUB_HTTP_PORT/"

status=$(curl -s -o "$INTEG_TMP/page.html" -w '%{http_code}' "$url")
[[ $status == 200 ]] || die "GET / answered $status (is the landing page wired in serve.cc?)"
grep -q 'id="catalog"' "$INTEG_TMP/page.html" || die "GET / is not the landing page"
page_bytes=$(stat -c %s "$INTEG_TMP/page.html")
gz_bytes=$(curl -s -H 'Accept-Encoding: gzip' "$url" | wc -c)

wrk_args=(-t"$threads" -c"$connections" -d"${seconds}s" --latency)
((gzip)) && wrk_args+=(-H 'Accept-Encoding: gzip')
cpu_before=$(awk '{print $14 + $15}' "/proc/$SCSIPUB_PID/stat")
wrk "${wrk_args[@]}" "$url" >"$INTEG_TMP/wrk.txt"
cpu_after=$(awk '{print $14 + $15}' "/proc/$SCSIPUB_PID/stat")
cat "$INTEG_TMP/wrk.txt" >&2
stop_scsipub || log "scsipub did not stop cleanly"

read -r rps p99 errors < <(python3 - "$INTEG_TMP/wrk.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
p99_ms = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
# wrk prints these lines only when there were any.
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
errors = sum(int(x) for x in sock.groups()) if sock else 0
errors += sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", text))
print(f"{rps:.0f} {p99_ms:.2f} {errors}")
PY
)
ticks=$(getconf CLK_TCK)
cpu_s=$(python3 -c "print(f'{($cpu_after - $cpu_before) / $ticks:.1f}')")
encoding=$([[ $gzip == 1 ]] && echo "gzip, $gz_bytes bytes" || echo "identity, $page_bytes bytes")
line="| $(date -u '+%Y-%m-%d %H:%M UTC') | \`$cmdline\` | $encoding | $rps | $p99 | $errors | $cpu_s s of ${seconds} s | $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) |"
echo "RESULT requests_per_s=$rps p99_ms=$p99 errors=$errors scsipub_cpu_s=$cpu_s page_bytes=$page_bytes gzip_bytes=$gz_bytes"
echo "$line"
[[ -n $out ]] && { printf '%s\n' "$line" >>"$out"; log "appended to $out"; }
exit 0
