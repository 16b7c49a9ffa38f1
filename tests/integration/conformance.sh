#!/bin/bash
# libiscsi conformance runner (iscsi-test-cu) with an allow-list.
#
#   conformance.sh [OPTIONS] URL ALLOWLIST
#   conformance.sh [OPTIONS] --scsipub BIN TARGET ALLOWLIST   # own server; TARGET e.g. blank, image.test
#   conformance.sh [OPTIONS] --tgtd ALLOWLIST                 # own private tgtd (reference)
#
# ALLOWLIST is FILE[#SECTION] (SECTION defaults to "scsipub"): a markdown file
# whose section, between "<!-- allowlist: SECTION -->" and "<!-- /allowlist -->",
# holds a table with one row per test ("| Suite.Test | reason |"; shell globs
# such as "Suite.*" allowed). See docs/CONFORMANCE.md.
#
# Each test of the ALL family runs as its own iscsi-test-cu process (its own
# login) under a timeout, so a hang costs one test, not the run, and a
# "[SKIPPED]" message is attributed to the right test. The result comes from
# CUnit's fixed-format "Run Summary" table (tests: Ran/Failed); CUnit's XML
# mode (-x) is not used because it drops the "Test:" marker that separates the
# tool's setup chatter (which also prints [SKIPPED] notes) from the test's own.
#
# OPTIONS
#   -t REGEX       only tests whose name (Suite.Test) matches this ERE
#   --timeout S    per-test timeout in seconds (default 60)
#   --results F    also write "name<TAB>result<TAB>detail" lines to F
#   --keep         keep the per-test output directory and print its path
#
# Exit: 0 when every failure is allow-listed, 1 otherwise (or when the target
# could not be reached / the server did not stop cleanly), 2 on usage errors,
# 77 when a required tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

usage() { sed -n '2,25p' "$0" >&2; exit 2; }

filter=
per_test_timeout=60
results_file=
keep=0
mode=url
bin=
target=
url=
while (($#)); do
  case $1 in
    -t) filter=$2; shift 2 ;;
    --timeout) per_test_timeout=$2; shift 2 ;;
    --results) results_file=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --scsipub) mode=scsipub; bin=$2; target=$3; shift 3 ;;
    --tgtd) mode=tgtd; shift ;;
    -h | --help) usage ;;
    -*) log "unknown option $1"; usage ;;
    *) break ;;
  esac
done
if [[ $mode == url ]]; then
  (($# == 2)) || usage
  url=$1
  allow_arg=$2
else
  (($# == 1)) || usage
  allow_arg=$1
fi

require_tools iscsi-test-cu timeout
[[ $mode == tgtd ]] && require_tools tgtd tgtadm

allow_file=${allow_arg%%#*}
allow_section=scsipub
[[ $allow_arg == *#* ]] && allow_section=${allow_arg#*#}
[[ -r $allow_file ]] || { log "allow-list file not readable: $allow_file"; exit 2; }

# Allow-list: first cell of every table row in the section, skipping the header
# and separator rows. Names may carry an "ALL." prefix; it is dropped.
mapfile -t allow < <(
  awk -v sec="$allow_section" '
    $0 ~ "<!-- *allowlist: *" sec " *-->" { on = 1; next }
    on && /<!-- *\/allowlist *-->/ { on = 0 }
    on && /^[[:space:]]*\|/ {
      split($0, c, "|"); n = c[2]; gsub(/^[[:space:]`]+|[[:space:]`]+$/, "", n)
      if (n == "" || n ~ /^-+$/ || tolower(n) == "test") next
      sub(/^ALL\./, "", n); print n
    }' "$allow_file")
log "allow-list $allow_file#$allow_section: ${#allow[@]} entries"

# test_skip_message OUT: the test's own "[SKIPPED] ..." note, if any. CUnit
# prints "  Test: NAME ..." then the test's output, then "passed"/"FAILED"
# (right after "..." or at the start of a line). The tool's setup and teardown
# (e.g. clearing persistent reservations) print [SKIPPED] notes of their own
# outside that window; those do not make the test a skip.
test_skip_message() {
  awk '
    !on && /^  Test: / {
      on = 1
      rest = substr($0, index($0, "...") + 3)
      if (rest ~ /^(passed|FAILED)/) exit
      if (match(rest, /\[SKIPPED\].*/)) { print substr(rest, RSTART, 160); exit }
      next
    }
    on && /^(passed|FAILED)/ { exit }
    on && match($0, /\[SKIPPED\].*/) { print substr($0, RSTART, 160); exit }
  ' "$1"
}

is_allowed() {
  local p
  for p in "${allow[@]}"; do
    # shellcheck disable=SC2053  # glob match on purpose
    [[ $1 == $p ]] && return 0
  done
  return 1
}

case $mode in
  scsipub)
    start_scsipub "$bin" || exit 1
    url=$(scsipub_url "$target")
    ;;
  tgtd)
    start_tgtd || exit 1
    url=$TGT_URL
    ;;
esac

mapfile -t tests < <(timeout 30 iscsi-test-cu -l | awk -F. 'NF == 3 && $1 == "ALL" { print $2 "." $3 }')
if [[ -n $filter ]]; then
  mapfile -t tests < <(printf '%s\n' "${tests[@]}" | grep -E -- "$filter" || true)
fi
((${#tests[@]})) || { log "no tests selected"; exit 2; }

work=$INTEG_TMP/conformance
mkdir -p "$work"
[[ -n $results_file ]] && : >"$results_file"
ini1=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test
ini2=iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2

log "running ${#tests[@]} tests against $url (per-test timeout ${per_test_timeout}s)"
start=$(date +%s)
npass=0 nfail=0 nskip=0 nallowed=0
unexpected=() allowed_failed=() skipped=() timings=()
server_died_after=
declare -A failed_set=()
i=0
for t in "${tests[@]}"; do
  i=$((i + 1))
  d=$work/$i
  mkdir -p "$d"
  t0=$(date +%s.%N)
  rc=0
  (cd "$d" && timeout -k 5 "$per_test_timeout" iscsi-test-cu -d \
    -i "$ini1" -I "$ini2" -t "ALL.$t" "$url" >out.txt 2>&1) || rc=$?
  # CUnit's summary row: "tests  Total  Ran  Passed  Failed  Inactive".
  ran= failed=
  read -r ran failed < <(awk '$1 == "tests" && NF == 6 { print $3, $5 }' "$d/out.txt") || true
  detail=
  if ((rc == 124 || rc == 137)); then
    res=TIMEOUT
    detail="no result after ${per_test_timeout}s"
  elif [[ -z ${ran:-} ]]; then
    res=ERROR
    detail="exit $rc, no CUnit summary: $(grep -v '^[[:space:]]*$' "$d/out.txt" | tail -n 1 | cut -c1-160)"
  elif ((failed > 0)); then
    res=FAIL
    # First failed assertion, "file:line  - condition".
    detail=$(grep -m1 -E '^[[:space:]]+1\. ' "$d/out.txt" | sed -E 's/^[[:space:]]+1\. //; s/ +\[SKIPPED\].*//' | cut -c1-200)
  elif ((ran == 0)); then
    res=ERROR
    detail="CUnit ran 0 tests"
  elif skipmsg=$(test_skip_message "$d/out.txt"); [[ -n $skipmsg ]]; then
    res=SKIP
    detail=$skipmsg
  else
    res=PASS
  fi
  case $res in
    PASS) npass=$((npass + 1)) ;;
    SKIP) nskip=$((nskip + 1)); skipped+=("$t: $detail") ;;
    *)
      nfail=$((nfail + 1))
      failed_set[$t]=1
      if is_allowed "$t"; then
        nallowed=$((nallowed + 1))
        allowed_failed+=("$t [$res] $detail")
      else
        unexpected+=("$t [$res] $detail")
      fi
      ;;
  esac
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  timings+=("$secs $t")
  [[ -n $results_file ]] && printf '%s\t%s\t%s\t%s\n' "$t" "$res" "$detail" "$secs" >>"$results_file"
  [[ $res == PASS ]] || log "$(printf '%3d/%d %-45s %s %s' "$i" "${#tests[@]}" "$t" "$res" "$detail")"
  # Keep the tree small unless asked: passing tests' output is not interesting.
  [[ $keep == 1 || $res != PASS ]] || rm -rf "$d"
  # A dead server would turn every remaining test into a connect error: stop.
  if [[ $mode == scsipub ]] && ! kill -0 "$SCSIPUB_PID" 2>/dev/null; then
    server_died_after=$t
    log "scsipub is gone after test $i/${#tests[@]} ($t); not running the remaining $((${#tests[@]} - i)) tests"
    explain_server_exit
    break
  fi
done
elapsed=$(($(date +%s) - start))

server_ok=1
if [[ $mode == scsipub ]]; then
  if [[ -n $server_died_after ]]; then
    wait "$SCSIPUB_PID" 2>/dev/null && log "scsipub exited with status 0" || log "scsipub exited with status $?"
    SCSIPUB_PID=
  else
    stop_scsipub || server_ok=0
  fi
fi

echo
echo "== conformance: $url"
echo "ran $i of ${#tests[@]} tests in ${elapsed}s"
echo "$npass passed, $nfail failed ($nallowed allow-listed), $nskip skipped"
if ((${#skipped[@]})); then
  echo "-- skipped:"
  printf '   %s\n' "${skipped[@]}"
fi
if ((${#allowed_failed[@]})); then
  echo "-- failed, allow-listed:"
  printf '   %s\n' "${allowed_failed[@]}"
fi
if ((${#unexpected[@]})); then
  echo "-- FAILED, not in the allow-list:"
  printf '   %s\n' "${unexpected[@]}"
fi
# Entries naming a test that passed now are stale: say so (not an error, since
# a filtered run does not see every test).
stale=()
for p in "${allow[@]}"; do
  hit=0
  for t in "${!failed_set[@]}"; do
    # shellcheck disable=SC2053
    [[ $t == $p ]] && { hit=1; break; }
  done
  if ((hit == 0)) && printf '%s\n' "${tests[@]}" | grep -qxF -- "$p"; then
    stale+=("$p")
  fi
done
if ((${#stale[@]})); then
  echo "-- allow-listed but passed or skipped now (remove from the list?):"
  printf '   %s\n' "${stale[@]}"
fi
echo "-- slowest:"
# awk reads to the end: `head` exiting early can SIGPIPE sort, and pipefail
# would turn that race into a failed test.
printf '%s\n' "${timings[@]}" | sort -rn | awk 'NR <= 5 { printf "   %6.1fs %s\n", $1, $2 }'
if [[ -n $server_died_after ]]; then
  echo "-- SERVER DIED during or after $server_died_after; the remaining tests did not run"
  server_ok=0
fi
if [[ $keep == 1 ]]; then
  INTEG_KEEP_TMP=1
  echo "per-test output kept in $work"
fi
((server_ok)) || { echo "server did not stop cleanly"; exit 1; }
((${#unexpected[@]} == 0)) || exit 1
exit 0
