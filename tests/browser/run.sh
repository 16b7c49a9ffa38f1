#!/bin/bash
# The browser tests: headless Chromium (Debian's
# /usr/bin/chromium) driven by playwright-core (pinned in package-lock.json,
# installed with `npm ci`; it never downloads a browser) against real scsipub
# servers, with real libiscsi peers.
#
#   run.sh SCSIPUB_BIN HELD_SESSION_BIN WORK_DIR [node --test args...]
#
# 1. npm ci into WORK_DIR/node-<lockfile hash> (reused while the lockfile is
#    unchanged), the test files copied next to it, so the source tree stays clean.
# 2. An images dir with alpha.img (1 MiB) and beta.iso (1 MiB + 2 KiB), an
#    operator token (`scsipub admin token create`), a self-signed certificate.
# 3. Server "tls": plain iSCSI + iSCSI over TLS + HTTP, public_host 127.0.0.1.
#    Server "plain": the same catalog, no TLS (the #tls block must not show).
# 4. node --test runs every *.test.mjs; they find the servers through
#    SCSIPUB_BROWSER_* variables (lib/env.mjs).
# 5. Both servers stop with SIGTERM and must exit 0.
# Every step is bounded: npm ci 300 s, each server start 10 s, each test
# 120 s, each test file's node run 300 s. Ends with "N passed, N failed" (the
# node runner's counts). Exit 77 (CTest skip) only when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../integration/lib.sh
source "$here/../integration/lib.sh"
# shellcheck source=../integration/tls_lib.sh
source "$here/../integration/tls_lib.sh"
(($# >= 3)) || { echo "usage: $0 SCSIPUB_BIN HELD_SESSION_BIN WORK_DIR [node --test args]" >&2; exit 2; }
# Absolute: the tests run from the node work dir.
BIN=$(realpath -e "$1") HELD=$(realpath -e "$2") WORK=$(realpath -m "$3")
shift 3
[[ -x $BIN ]] || die "not executable: $BIN"
[[ -x $HELD ]] || die "not executable: $HELD"
CHROMIUM=${SCSIPUB_CHROMIUM:-/usr/bin/chromium}
require_tools node npm python3 openssl curl timeout sha256sum iscsi-inq
[[ -x $CHROMIUM ]] || { log "SKIP: no Chromium at $CHROMIUM (Debian package chromium)"; exit 77; }
T_START=$SECONDS

# ---- 1. playwright-core from the lockfile ----------------------------------
lock_hash=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
node_dir=$WORK/node-$lock_hash
mkdir -p "$WORK"
if [[ ! -f $node_dir/.installed ]]; then
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  log "npm ci (playwright-core from package-lock.json) in $node_dir"
  # --ignore-scripts: nothing in the lockfile needs an install script, and
  # none may fetch a browser.
  (cd "$node_dir" && timeout -k 10 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    die "npm ci failed"
  touch "$node_dir/.installed"
fi
# The tests are copied in on every run (they are small): node resolves
# playwright-core from the node_modules beside them.
rm -rf "${node_dir:?}/lib" && cp -r "$here/lib" "$node_dir/lib"
rm -f "$node_dir"/*.test.mjs && cp "$here"/*.test.mjs "$node_dir/"
pw_version=$(node -p 'require(process.argv[1]).version' "$node_dir/node_modules/playwright-core/package.json")
log "playwright-core $pw_version, $("$CHROMIUM" --version 2>/dev/null | head -n1), node $(node --version)" \
  "(setup $((SECONDS - T_START)) s)"

# ---- 2. catalog, certificate ------------------------------------------------
images=$INTEG_TMP/images
mkdir -p "$images"
head -c $((1 << 20)) /dev/urandom >"$images/alpha.img"
head -c $(((1 << 20) + 2048)) /dev/urandom >"$images/beta.iso"
pki=$INTEG_TMP/pki
tls_make_ca "$pki" || die "cannot make the test CA"
tls_make_cert "$pki" srv 1001 || die "cannot make the server certificate"

# ---- 3. two servers ---------------------------------------------------------
# start_server NAME [serve args...]: its own data dir, free ports; sets
# <NAME>_PID, <NAME>_ISCSI_PORT, <NAME>_HTTP_PORT.
start_server() {
  local name=$1 attempt pid iport hport data logf
  shift
  data=$INTEG_TMP/data-$name
  logf=$INTEG_TMP/scsipub-$name.log
  mkdir -p "$data"
  for attempt in 1 2 3; do
    iport=$(free_port) hport=$(free_port)
    "$BIN" serve --data-dir "$data" --images-dir "$images" \
      --iscsi-listen "127.0.0.1:$iport" --http-listen "127.0.0.1:$hport" \
      --public-host "127.0.0.1:$iport" --log-level "${SCSIPUB_LOG_LEVEL:-info}" "$@" >>"$logf" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    if wait_port "$iport" "$pid" 10 && wait_port "$hport" "$pid" 10; then
      printf -v "${name}_PID" %s "$pid"
      printf -v "${name}_ISCSI_PORT" %s "$iport"
      printf -v "${name}_HTTP_PORT" %s "$hport"
      log "scsipub '$name' pid $pid: iSCSI 127.0.0.1:$iport, HTTP 127.0.0.1:$hport"
      return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -qi 'address already in use' "$logf" || break
    log "port taken, retrying ($attempt)"
  done
  log "scsipub '$name' did not start: $(tail -n 5 "$logf")"
  return 1
}
# Set by start_server (printf -v).
# shellcheck disable=SC2034
tls_PID='' tls_ISCSI_PORT='' tls_HTTP_PORT='' plain_PID='' plain_ISCSI_PORT='' plain_HTTP_PORT=''
SERVER_PIDS=()
_stop_all_servers() {
  local p
  for p in "${SERVER_PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null || continue
    kill -TERM "$p" 2>/dev/null
    _wait_pid_gone "$p" 100 || kill -KILL "$p" 2>/dev/null
  done
}
integ_on_exit _stop_all_servers

# stop_server NAME: SIGTERM; true when it exits 0 within 10 s.
stop_server() {
  local pidvar=${1}_PID rc=0
  local pid=${!pidvar}
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || rc=$?; log "scsipub '$1' had already exited ($rc)"; return 1; }
  kill -TERM "$pid"
  _wait_pid_gone "$pid" 100 || { log "scsipub '$1' still running 10 s after SIGTERM"; kill -KILL "$pid"; return 1; }
  wait "$pid" 2>/dev/null || rc=$?
  ((rc == 0)) || { log "scsipub '$1' exited $rc after SIGTERM (want 0)"; return 1; }
  log "scsipub '$1' stopped cleanly"
}

# The operator token: created before the server starts, in its data dir.
mkdir -p "$INTEG_TMP/data-tls"
token=
if token=$(timeout 30 "$BIN" admin token create --data-dir "$INTEG_TMP/data-tls" 2>"$INTEG_TMP/token.err") &&
   [[ $(wc -l <<<"$token") -eq 1 && -n $token ]]; then
  log "operator token created (${#token} characters)"
else
  # The admin tests then fail with this reason; the landing tests still run.
  log "scsipub admin token create failed: $(head -c 300 "$INTEG_TMP/token.err")"
  token=
fi

TLS_PORT=$(free_port)
start_server tls --tls-listen "127.0.0.1:$TLS_PORT" --tls-cert "$pki/srv.pem" --tls-key "$pki/srv.key" ||
  die "server with TLS did not start"
wait_port "$TLS_PORT" "$tls_PID" 10 || die "TLS portal 127.0.0.1:$TLS_PORT not listening"
start_server plain --tls-listen off || die "server without TLS did not start"

# ---- 4. the tests -----------------------------------------------------------
export SCSIPUB_CHROMIUM=$CHROMIUM
export SCSIPUB_BROWSER_TLS_ORIGIN=http://127.0.0.1:$tls_HTTP_PORT
export SCSIPUB_BROWSER_TLS_ISCSI_PORT=$tls_ISCSI_PORT
export SCSIPUB_BROWSER_TLS_PORTAL_PORT=$TLS_PORT
export SCSIPUB_BROWSER_PLAIN_ORIGIN=http://127.0.0.1:$plain_HTTP_PORT
export SCSIPUB_BROWSER_OPERATOR_TOKEN=$token
export SCSIPUB_BROWSER_HELD_SESSION=$HELD
export SCSIPUB_BROWSER_IMAGES=alpha,beta
export SCSIPUB_BROWSER_ARTIFACTS=$WORK/artifacts
rm -rf "$SCSIPUB_BROWSER_ARTIFACTS" && mkdir -p "$SCSIPUB_BROWSER_ARTIFACTS"
T_TESTS=$SECONDS
# One file at a time (each launches its own Chromium; the machine has 2
# cores), each node run bounded; the counts are summed from each file's
# summary ("ℹ pass N" ...) of the spec reporter.
npass=0 nfail=0 node_rc=0
summary() { sed -nE "s/^[^ ]+ $1 ([0-9]+)\$/\\1/p" "$2" | tail -n1; }
# smoke first: when the infrastructure fails, that is the first thing to read.
files=("$node_dir/smoke.test.mjs")
for file in "$node_dir"/*.test.mjs; do [[ $file == */smoke.test.mjs ]] || files+=("$file"); done
for file in "${files[@]}"; do
  flog=$INTEG_TMP/node-$(basename "$file" .test.mjs).log
  set +e
  (cd "$node_dir" && timeout -k 10 300 node --test --test-reporter=spec "$@" "./$(basename "$file")") 2>&1 | tee "$flog"
  rc=${PIPESTATUS[0]}
  set -e
  p=$(summary pass "$flog") f=$(summary fail "$flog") c=$(summary cancelled "$flog")
  f=$((${f:-0} + ${c:-0}))
  if ((rc != 0 && f == 0)); then f=1; log "node --test $(basename "$file") exited $rc without a failed test (timeout?)"; fi
  npass=$((npass + ${p:-0})) nfail=$((nfail + f))
  ((rc == 0)) || node_rc=$rc
done
log "browser tests took $((SECONDS - T_TESTS)) s (exit $node_rc)"

# ---- 5. stop --------------------------------------------------------------------
servers_ok=0
stop_server tls || servers_ok=1
stop_server plain || servers_ok=1
SERVER_PIDS=()

((servers_ok == 0)) || nfail=$((nfail + 1))
if ((node_rc != 0 && nfail == 0)); then nfail=1; fi  # the runner died or timed out
log "total $((SECONDS - T_START)) s; screenshots and traces of failures in $SCSIPUB_BROWSER_ARTIFACTS"
echo "${npass} passed, ${nfail} failed"
((nfail == 0))
