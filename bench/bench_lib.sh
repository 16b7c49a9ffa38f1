# shellcheck shell=bash
# Helpers shared by the bench scripts that drive scsipub-bench against a
# running scsipub (source after tests/integration/lib.sh). They read
# $bench_bin, $seconds and $SCSIPUB_PID.

# bench_options HELP_LINES ARGS...: parses the options every such script takes
# into its variables, defaults first: --scsipub BIN (scsipub_bin, also
# PROV_BIN), --bench BIN (bench_bin), --seconds S (seconds, 10), --out FILE
# (out, none). An option of the script's own (one value each) goes to its
# bench_option NAME VALUE function, which returns non-zero for one it does not
# know; an option nobody knows prints lines HELP_LINES (a sed range) of the
# script, its usage, and exits 2. Dies when scsipub-bench is not built.
bench_options() {
  local help=$1
  shift
  scsipub_bin=$repo/build/scsipub
  bench_bin=$repo/build/bench/scsipub-bench
  seconds=10
  out=
  while (($#)); do
    case $1 in
      --scsipub) scsipub_bin=$2 ;;
      --bench) bench_bin=$2 ;;
      --seconds) seconds=$2 ;;
      --out) out=$2 ;;
      *)
        if ! declare -F bench_option >/dev/null || ! bench_option "$1" "${2-}"; then
          sed -n "${help}p" "$0" >&2
          exit 2
        fi
        ;;
    esac
    shift 2
  done
  [[ -x $bench_bin ]] || die "scsipub-bench not built: $bench_bin"
  PROV_BIN=$scsipub_bin
}

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
