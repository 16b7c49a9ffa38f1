#!/usr/bin/env bash
# Fresh machine to full test run: installs packages, builds with
# AddressSanitizer + UBSan, runs unit and integration tests (which start their
# own scsipub and tgtd on free loopback ports and stop them), then builds the
# libFuzzer targets with clang and runs each for a bounded time.
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
JOBS=${JOBS:-$(nproc)}

scripts/deps.sh || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
# Adds the counts from a ctest log's summary line to the totals.
count_ctest() {
  local log=$1 line total nfail
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    failed=$((failed + 1))
    return
  fi
  nfail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + total - nfail))
  failed=$((failed + nfail))
}

step() { echo; echo "=== $*"; }
# Adds the counts from a script's final "N passed, N failed" line; a log with
# no such line is one failure, unless it matches SKIP_RE (the script skipped).
count_summary() {
  local log=$1 skip_re=${2:-} line nfail
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + ${line%% *}))
    nfail=${line#*, }
    failed=$((failed + ${nfail%% *}))
  elif [ -z "$skip_re" ] || ! grep -qE "$skip_re" "$log"; then
    failed=$((failed + 1))
  fi
}

# A throwaway PostgreSQL for the MetaStore contract tests (they run against
# SQLite always, and against PostgreSQL when SCSIPUB_TEST_PG_URL is set).
PG_DIR=$(mktemp -u "${TMPDIR:-/tmp}/scsipub-pg.XXXXXX")
stop_pg() { [ -d "$PG_DIR" ] && scripts/pg-test-server.sh stop "$PG_DIR" >/dev/null 2>&1; true; }
trap stop_pg EXIT
step "PostgreSQL for the MetaStore tests"
if url=$(scripts/pg-test-server.sh start "$PG_DIR" | tail -n 1) && [ -n "$url" ]; then
  export SCSIPUB_TEST_PG_URL=$url
  echo "PostgreSQL at $url"
else
  echo "could not start PostgreSQL"
  failed=$((failed + 1))
fi

step "build (Debug, ASan+UBSan)"
if cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSCSIPUB_SANITIZE=ON >/dev/null &&
   cmake --build build-test -j "$JOBS"; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  # A throwaway single-host Ceph for the RBD storage tests (skipped without
  # it); stopped before the integration tests, which start their own.
  CEPH_DIR=$(mktemp -u "${TMPDIR:-/tmp}/scsipub-ceph.XXXXXX")
  stop_ceph() { [ -d "$CEPH_DIR" ] && CEPH_TEST_MGR=0 scripts/ceph-test-cluster.sh stop "$CEPH_DIR" >/dev/null 2>&1; true; }
  trap 'stop_ceph; stop_pg' EXIT
  step "Ceph for the RBD storage tests"
  if CEPH_TEST_MGR=0 scripts/ceph-test-cluster.sh start "$CEPH_DIR"; then
    export SCSIPUB_TEST_CEPH_ENV=$CEPH_DIR/env
  else
    echo "could not start Ceph: the RBD unit tests skip"
    failed=$((failed + 1))
  fi
  step "unit tests"
  ctest --test-dir build-test -L unit -j "$JOBS" --output-on-failure --timeout 300 2>&1 | tee build-test/unit.log
  count_ctest build-test/unit.log
  stop_ceph
  unset SCSIPUB_TEST_CEPH_ENV
  step "integration tests (real initiators against scsipub and tgt)"
  ctest --test-dir build-test -L integration --output-on-failure --timeout 1500 2>&1 | tee build-test/integration.log
  count_ctest build-test/integration.log
else
  echo "build failed"
  failed=$((failed + 1))
fi

# The README's first command builds Release (-O3), where GCC warns about
# things the Debug build never sees; warnings are errors, so build it here too.
step "build (Release, as scripts/serve.sh)"
if cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCSIPUB_TESTS=OFF >/dev/null &&
   cmake --build build-release -j "$JOBS" --target scsipub; then
  passed=$((passed + 1))
  # The README's first command itself, on a fresh HOME: the starter image
  # goes into the empty catalog and is served (reuses build-release).
  step "scripts/serve.sh on a fresh install"
  tests/integration/serve_sh.sh 2>&1 | tee build-release/serve_sh.log
  count_summary build-release/serve_sh.log
  # The Debian package from the same build dir, installed, run as the
  # scsipub user, logged in to and purged on this machine (as root).
  step "Debian package: build, install, run, purge (tests/package)"
  if deb=$(scripts/build-deb.sh --build-dir build-release | tail -n 1) && [ -f "$deb" ]; then
    passed=$((passed + 1))
    tests/package/deb_install.sh "$deb" 2>&1 | tee build-release/deb_install.log
    count_summary build-release/deb_install.log '^SKIP deb_install.sh'
    # The same package under systemd (PID 1) in a Debian 12 VM: the sandboxed unit.
    step "Debian package under systemd in a VM (tests/package/systemd_vm.sh)"
    tests/package/systemd_vm.sh "$deb" 2>&1 | tee build-release/systemd_vm.log
    count_summary build-release/systemd_vm.log '^systemd_vm.sh: .*skipped$'
  else
    echo "Debian package build failed"
    failed=$((failed + 1))
  fi
else
  echo "Release build failed"
  failed=$((failed + 1))
fi

step "fuzz targets (clang libFuzzer, ${FUZZ_SECONDS}s each)"
if CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCSIPUB_FUZZ=ON \
      -DSCSIPUB_FUZZ_SECONDS="$FUZZ_SECONDS" >/dev/null &&
   cmake --build build-fuzz -j "$JOBS"; then
  ctest --test-dir build-fuzz -L fuzz --output-on-failure --timeout $((FUZZ_SECONDS * 4 + 60)) 2>&1 | tee build-fuzz/fuzz.log
  count_ctest build-fuzz/fuzz.log
else
  echo "fuzz build failed"
  failed=$((failed + 1))
fi

stop_pg

echo
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
