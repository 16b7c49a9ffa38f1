# shellcheck shell=bash
# Helpers shared by the bench scripts that drive scsipub-bench against a
# running scsipub (source after tests/integration/lib.sh). They read
# $bench_bin, $seconds and $SCSIPUB_PID.

# bench_measure "KEY..." URL ARGS...: one scsipub-bench run over a 48 MiB span
# with the target's CPU sampled; prints the RESULT values of the KEYs (N/A
# when the run did not report one), or ERR for each when the run failed.
bench_measure() {
  local keys=$1 url=$2 res k
  shift 2
  if ! res=$(timeout -k 5 $((seconds + 180)) "$bench_bin" --url "$url" --seconds "$seconds" \
    --target-pid "$SCSIPUB_PID" --span-mib 48 "$@" 2>"$INTEG_TMP/bench.err"); then
    log "bench failed: $(tail -n 2 "$INTEG_TMP/bench.err" | tr '\n' ' ')"
    local out=()
    for k in $keys; do out+=(ERR); done
    echo "${out[*]}"
    return
  fi
  # shellcheck disable=SC2086
  python3 - "$res" $keys <<'PY'
import sys
kv = dict(x.split("=", 1) for x in sys.argv[1].split("RESULT", 1)[1].split())
print(" ".join(kv.get(k, "N/A") for k in sys.argv[2:]))
PY
}

# bench_ratio A B: A/B with two decimals, N/A when either is not a number.
bench_ratio() {
  python3 -c 'import sys
try: print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")
except (ValueError, ZeroDivisionError): print("N/A")' "$1" "$2"
}
