#!/bin/bash
# iSCSI over TLS (--tls-listen/--tls-cert/--tls-key) with real initiators
# through an stunnel client, and certificate rotation under load.
#
#   tls_stunnel.sh SCSIPUB_BIN TLS_LOAD_BIN
#
# 1. startup without usable files: missing cert/key, and a key that does not
#    match the certificate, each log "iSCSI over TLS NOT started, serving plain
#    iSCSI only: ...", the plain listener answers, the TLS port does not listen,
#    /metrics has no scsipub_tls_* lines, SIGTERM exits 0.
# 2. scsipub with TLS on a free port (certbot layout: live/{cert,key}.pem are
#    symlinks into archive/, reload cooldown 2 s) and stunnel (client mode,
#    verifyChain against a test CA, checkHost scsipub-test) in front of it:
#    iscsi-inq, iscsi-readcapacity16, qemu-img reads image.test byte-equal,
#    8 MiB random written through qemu-nbd (one login) and read back
#    sha256-equal, iscsi-test-cu SCSI.Read16 / SCSI.Write16 / SCSI.TestUnitReady.
# 3. the TLS port refuses what is not TLS 1.2/1.3: plain iSCSI (iscsi-inq
#    straight to it), 4 KiB of random bytes, TLS 1.1 (the server's
#    protocol_version alert); TLS 1.2 and 1.3 handshakes verify against the CA;
#    the server is still up and serving afterwards.
# 4. rotation under load: tls_load holds ONE login through stunnel (~20 s,
#    from before the first change until after the last), writing, reading
#    and comparing all the time, while the files change (cooldown 2 s):
#      a. certbot renew, half done: cert symlink re-pointed, key not yet
#         -> a new handshake still shows the old serial, reload failure +1
#      b. key symlink re-pointed too -> new serial, reloads +1
#      c. lego/Caddy: both files replaced by rename -> new serial, reloads +1
#      d. a truncated certificate renamed in -> old serial kept, failures +1
#      e. a good pair written in place (same inodes) -> new serial, reloads +1
#    After each step a new connection through stunnel (iscsi-inq) must work.
#    The load must end with no error and no wrong byte (final whole-region
#    verify), and the server log must show exactly one login for its
#    InitiatorName (no reconnect).
# Prints "N passed, N failed"; exit 0 when all passed, 77 when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=tls_lib.sh
source "$here/tls_lib.sh"
(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN TLS_LOAD_BIN" >&2; exit 2; }
BIN=$1 LOAD=$2
[[ -x $BIN ]] || die "not executable: $BIN"
[[ -x $LOAD ]] || die "not executable: $LOAD"
require_tools python3 openssl curl timeout sha256sum iscsi-inq iscsi-readcapacity16 iscsi-test-cu \
  qemu-img qemu-nbd
command -v stunnel4 >/dev/null 2>&1 || require_tools stunnel
if ! qemu-img --help 2>/dev/null | grep -qw iscsi; then
  log "SKIP: qemu-img has no iscsi protocol driver (install qemu-block-extra)"
  exit 77
fi

PASSED=0 FAILED=0 FAILURES=()
T_START=$SECONDS
pass() { PASSED=$((PASSED + 1)); log "PASS $*"; }
failc() { FAILED=$((FAILED + 1)); FAILURES+=("$*"); log "FAIL $*"; }
check() { local d=$1; shift; if "$@"; then pass "$d"; else failc "$d"; fi; }
expect_eq() { if [[ $2 == "$3" ]]; then pass "$1 ($2)"; else failc "$1: got '$2', want '$3'"; fi; }
q() { timeout -k 5 60 "$@"; }

# ---- certificates ---------------------------------------------------------
pki=$INTEG_TMP/pki
tls_make_ca "$pki" || die "cannot make the test CA"
for n in 1 2 3 4 5; do tls_make_cert "$pki" "srv$n" "100$n" || die "cannot make certificate srv$n"; done
serial_of() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=//'; }
S1=$(serial_of "$pki/srv1.pem") S2=$(serial_of "$pki/srv2.pem") S3=$(serial_of "$pki/srv3.pem")
S5=$(serial_of "$pki/srv5.pem")
log "test CA and 5 server certificates (CN=SAN=$TLS_HOSTNAME, serials $S1..$S5) in $pki"

# ---- 1. startup without usable certificate files ---------------------------
# startup_without_tls NAME CERT KEY WANT-REGEX
startup_without_tls() {
  local name=$1 cert=$2 key=$3 want=$4 tport out
  tport=$(free_port)
  if ! start_scsipub "$BIN" --tls-listen "127.0.0.1:$tport" --tls-cert "$cert" --tls-key "$key"; then
    failc "$name: server starts (plain only)"
    return
  fi
  local line
  line=$(grep -m1 'iSCSI over TLS NOT started, serving plain iSCSI only:' "$SCSIPUB_LOG" || true)
  if [[ -n $line && $line =~ $want ]]; then pass "$name: warning logged: ${line#*] }"; else
    failc "$name: no warning matching /$want/ in the log: '$line'"; fi
  if out=$(q iscsi-inq "$(scsipub_url blank)" 2>&1) && [[ $out == *"Vendor"* || $out == *"vendor"* ]]; then
    pass "$name: plain listener answers iscsi-inq"
  else failc "$name: plain iscsi-inq: $(echo "$out" | tail -n 2)"; fi
  if port_open "$tport"; then failc "$name: TLS port $tport listens"; else pass "$name: TLS port $tport not listening"; fi
  if grep -q 'iSCSI over TLS listening' "$SCSIPUB_LOG"; then failc "$name: log says TLS listening"; fi
  expect_eq "$name: /metrics has no scsipub_tls_reloads_total" "$(scsipub_metric scsipub_tls_reloads_total)" ""
  check "$name: SIGTERM exit 0" stop_scsipub
  mv "$SCSIPUB_LOG" "$INTEG_TMP/scsipub-$name.log"
}
startup_without_tls missing-files "$pki/none.pem" "$pki/none.key" 'cannot stat .*none\.pem'
startup_without_tls key-mismatch "$pki/srv1.pem" "$pki/srv2.key" 'does not match'

# ---- 2. TLS listener + stunnel: libiscsi and qemu through the tunnel --------
live=$pki/live arch=$pki/archive
mkdir -p "$live" "$arch"
cp "$pki/srv1.pem" "$arch/cert1.pem"
cp "$pki/srv1.key" "$arch/key1.pem"
ln -s ../archive/cert1.pem "$live/cert.pem"
ln -s ../archive/key1.pem "$live/key.pem"
TLS_PORT=$(free_port)
start_scsipub "$BIN" --tls-listen "127.0.0.1:$TLS_PORT" --tls-cert "$live/cert.pem" --tls-key "$live/key.pem" \
  --tls-reload-cooldown 2 || die "scsipub with TLS did not start"
wait_port "$TLS_PORT" "$SCSIPUB_PID" 10 || die "TLS port $TLS_PORT not listening: $(grep -i tls "$SCSIPUB_LOG" | tail -n 3)"
check "log: iSCSI over TLS listening on 127.0.0.1:$TLS_PORT" grep -q "iSCSI over TLS listening on 127.0.0.1:$TLS_PORT" "$SCSIPUB_LOG"
expect_eq "first handshake serves srv1" "$(tls_served_serial "$TLS_PORT")" "$S1"
expect_eq "metrics: scsipub_tls_reloads_total at start" "$(scsipub_metric scsipub_tls_reloads_total)" 0
expect_eq "metrics: scsipub_tls_reload_failures_total at start" "$(scsipub_metric scsipub_tls_reload_failures_total)" 0
start_stunnel_client "$TLS_PORT" "$pki/ca.pem" || die "stunnel did not start"
turl() { printf 'iscsi://127.0.0.1:%s/%s:%s/%s\n' "$STUNNEL_PORT" "$IQN_PREFIX" "$1" "${2:-0}"; }

# inq_through_tunnel NAME: a new connection (new TLS handshake) through stunnel.
inq_through_tunnel() {
  local out
  if out=$(q iscsi-inq "$(turl blank)" 2>&1) && [[ $out =~ [Vv]endor ]]; then pass "$1: iscsi-inq through stunnel"; else
    failc "$1: iscsi-inq through stunnel: $(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
}
inq_through_tunnel tunnel
out=$(q iscsi-inq "$(turl blank)" 2>&1 || true)
log "iscsi-inq: $(echo "$out" | grep -iE 'vendor|product' | tr '\n' ' ')"
out=$(q iscsi-readcapacity16 "$(turl blank)" 2>&1 || true)
if [[ $out =~ Total\ size:\ *([0-9]+) ]] && ((BASH_REMATCH[1] == 64 << 20)); then
  pass "iscsi-readcapacity16 through stunnel: 64 MiB"
else failc "iscsi-readcapacity16 through stunnel: $(echo "$out" | tr '\n' ' ' | cut -c1-300)"; fi

q qemu-img convert -f raw -O raw "$(turl image.test)" "$INTEG_TMP/read-test.raw" || true
expect_eq "qemu-img reads image.test through stunnel byte-equal to test.img" \
  "$(sha256sum <"$INTEG_TMP/read-test.raw" | cut -d' ' -f1)" "$(sha256sum <"$SCSIPUB_IMAGES_DIR/test.img" | cut -d' ' -f1)"

# The blank disk lives as long as its login: qemu-nbd holds one login through
# the tunnel, qemu-img writes and reads back through it.
src=$INTEG_TMP/src.raw
head -c $((8 << 20)) /dev/urandom >"$src"
sock=$INTEG_TMP/nbd.sock nbd_pid_file=$INTEG_TMP/qemu-nbd.pid
stop_nbd() {
  [[ -f $nbd_pid_file ]] || return 0
  local p
  p=$(<"$nbd_pid_file")
  rm -f "$nbd_pid_file"
  kill -TERM "$p" 2>/dev/null || return 0
  _wait_pid_gone "$p" 100 || kill -KILL "$p" 2>/dev/null || true
}
integ_on_exit stop_nbd
if q qemu-nbd --fork --persistent --format raw --cache none --socket "$sock" --pid-file "$nbd_pid_file" "$(turl blank)"; then
  nbd_url="nbd+unix:///?socket=$sock"
  q qemu-img convert -n -f raw -O raw "$src" "$nbd_url" || failc "qemu-img convert -n (write 8 MiB) through qemu-nbd"
  q qemu-img convert -f raw -O raw "$nbd_url" "$INTEG_TMP/back.raw" || failc "qemu-img convert (read back) through qemu-nbd"
  expect_eq "8 MiB random written and read back through stunnel (sha256)" \
    "$(head -c $((8 << 20)) "$INTEG_TMP/back.raw" | sha256sum | cut -d' ' -f1)" "$(sha256sum <"$src" | cut -d' ' -f1)"
  stop_nbd
else
  failc "qemu-nbd through stunnel did not start"
fi

cu=$INTEG_TMP/cu
mkdir -p "$cu"
for t in SCSI.TestUnitReady SCSI.Read16 SCSI.Write16; do
  rc=0
  (cd "$cu" && timeout -k 5 120 iscsi-test-cu -d -i iqn.2025-01.test.tls:cu1 -I iqn.2025-01.test.tls:cu2 \
    -t "$t" "$(turl blank)" >"$cu/$t.txt" 2>&1) || rc=$?
  read -r ran failed < <(awk '$1 == "tests" && NF == 6 { print $3, $5 }' "$cu/$t.txt") || true
  if [[ -n ${ran:-} ]] && ((ran > 0 && failed == 0)); then pass "iscsi-test-cu $t through stunnel: $ran ran, 0 failed"; else
    failc "iscsi-test-cu $t through stunnel: rc=$rc ran=${ran:-?} failed=${failed:-?}: $(grep -m1 -E '^[[:space:]]+1\. ' "$cu/$t.txt" | cut -c1-200)"
  fi
done

# ---- 3. what the TLS port refuses ------------------------------------------
rc=0
out=$(timeout -k 5 30 iscsi-inq "iscsi://127.0.0.1:$TLS_PORT/$IQN_BLANK/0" 2>&1) || rc=$?
if ((rc != 0 && rc != 124 && rc != 137)); then pass "plain iSCSI to the TLS port fails (iscsi-inq rc=$rc)"; else
  failc "plain iSCSI to the TLS port: rc=$rc (want a quick failure): $(echo "$out" | tail -n 1)"; fi
if out=$(timeout 20 python3 - "$TLS_PORT" <<'PY' 2>&1
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(os.urandom(4096))
t0 = time.time()
try:
    while s.recv(65536):
        pass
except ConnectionResetError:
    pass
print("closed after %.2f s" % (time.time() - t0))
PY
); then pass "4 KiB of random bytes to the TLS port: $out"; else failc "random bytes to the TLS port: $out"; fi
out=$(timeout 20 openssl s_client -connect "127.0.0.1:$TLS_PORT" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1 || true)
if [[ $out =~ alert\ protocol\ version ]]; then pass "TLS 1.1 refused by the server (protocol_version alert)"; else
  failc "TLS 1.1: no protocol_version alert from the server: $(echo "$out" | grep -m2 -iE 'error|alert|Protocol' | tr '\n' ' ')"; fi
for v in 1_2 1_3; do
  out=$(timeout 20 openssl s_client -connect "127.0.0.1:$TLS_PORT" "-tls$v" -CAfile "$pki/ca.pem" \
    -verify_hostname "$TLS_HOSTNAME" -verify_return_error </dev/null 2>&1 || true)
  if [[ $out == *"New, TLSv${v/_/.}"* && $out == *"Verify return code: 0 (ok)"* ]]; then
    pass "TLS ${v/_/.} handshake, verified against the CA and $TLS_HOSTNAME"
  else failc "TLS ${v/_/.}: $(echo "$out" | grep -m3 -iE 'New,|Verify return|error' | tr '\n' ' ')"; fi
done
check "server still running after the refused clients" kill -0 "$SCSIPUB_PID"
inq_through_tunnel "after refused clients"

# ---- 4. rotation under load -----------------------------------------------
LOAD_MAX_SECS=90 LOAD_INI=iqn.2025-01.test.tls:rotation-load
load_out=$INTEG_TMP/tls_load.out stop_file=$INTEG_TMP/tls_load.stop
timeout -k 5 $((LOAD_MAX_SECS + 60)) "$LOAD" "$(turl blank)" "$LOAD_MAX_SECS" --initiator "$LOAD_INI" \
  --stop-file "$stop_file" >"$load_out" 2>&1 &
load_pid=$!
integ_on_exit "kill -TERM $load_pid 2>/dev/null"
for _ in $(seq 1 100); do
  grep -q '^login ok' "$load_out" && break
  kill -0 "$load_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q '^login ok' "$load_out" || die "tls_load did not log in: $(cat "$load_out")"
log "tls_load running: $(head -n 1 "$load_out")"
sleep 1
wait_cooldown() { sleep 2.6; }   # past --tls-reload-cooldown 2
r0=$(scsipub_metric scsipub_tls_reloads_total) f0=$(scsipub_metric scsipub_tls_reload_failures_total)
# rotate_step NAME WANT_SERIAL WANT_RELOADS WANT_FAILURES: after the files changed.
rotate_step() {
  wait_cooldown
  expect_eq "$1: a new handshake shows serial" "$(tls_served_serial "$TLS_PORT")" "$2"
  expect_eq "$1: scsipub_tls_reloads_total" "$(scsipub_metric scsipub_tls_reloads_total)" "$3"
  expect_eq "$1: scsipub_tls_reload_failures_total" "$(scsipub_metric scsipub_tls_reload_failures_total)" "$4"
  inq_through_tunnel "$1"
  check "$1: load still running" kill -0 "$load_pid"
}
# a. certbot renew writes archive/*2.pem and re-points live/cert.pem first.
cp "$pki/srv2.pem" "$arch/cert2.pem"
cp "$pki/srv2.key" "$arch/key2.pem"
ln -s ../archive/cert2.pem "$live/.cert.tmp" && mv -T "$live/.cert.tmp" "$live/cert.pem"
rotate_step "certbot half (new cert, old key)" "$S1" "$r0" $((f0 + 1))
check "log: reload failure names the mismatch" grep -q 'TLS certificate reload failed, still serving the previous one: .*does not match' "$SCSIPUB_LOG"
# b. ... then live/key.pem.
ln -s ../archive/key2.pem "$live/.key.tmp" && mv -T "$live/.key.tmp" "$live/key.pem"
rotate_step "certbot symlink swap" "$S2" $((r0 + 1)) $((f0 + 1))
# c. lego / Caddy: new files next to the old ones, renamed over them.
cp "$pki/srv3.key" "$live/.key.new" && mv -T "$live/.key.new" "$live/key.pem"
cp "$pki/srv3.pem" "$live/.cert.new" && mv -T "$live/.cert.new" "$live/cert.pem"
rotate_step "rename (lego/Caddy)" "$S3" $((r0 + 2)) $((f0 + 1))
# d. a broken certificate: srv4's PEM cut in half, renamed in (key stays srv3's).
head -c $(($(stat -c %s "$pki/srv4.pem") / 2)) "$pki/srv4.pem" >"$live/.cert.new" && mv -T "$live/.cert.new" "$live/cert.pem"
rotate_step "truncated certificate" "$S3" $((r0 + 2)) $((f0 + 2))
# e. a good pair written in place (same inodes, as `cat >` or an editor would).
cat "$pki/srv5.key" >"$live/key.pem"
cat "$pki/srv5.pem" >"$live/cert.pem"
rotate_step "in-place rewrite after the failure" "$S5" $((r0 + 3)) $((f0 + 2))
check "log: 3 'TLS certificate reloaded' lines" test "$(grep -c 'TLS certificate reloaded from' "$SCSIPUB_LOG")" -eq 3

sleep 1   # the load runs on after the last rotation, then stops
touch "$stop_file"
rc=0
wait "$load_pid" || rc=$?
result=$(grep -E '^tls_load (ok|FAIL)' "$load_out" || true)
if ((rc == 0)) && [[ $result == "tls_load ok"* ]]; then pass "load through the rotations: $result"; else
  failc "load: rc=$rc: $(tail -n 3 "$load_out" | tr '\n' ' ')"; fi
log "load progress: $(grep -c '^progress' "$load_out") progress lines, last: $(grep '^progress' "$load_out" | tail -n 1)"
logins=$(grep -c "$LOAD_INI logged in to" "$SCSIPUB_LOG" || true)
expect_eq "one login of the load's InitiatorName in the server log (no reconnect)" "$logins" 1
check "server still running" kill -0 "$SCSIPUB_PID"
stop_stunnel
check "scsipub SIGTERM exit 0" stop_scsipub
if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$SCSIPUB_LOG"; then failc "sanitizer report in the server log"; fi

echo "integration.tls: $PASSED passed, $FAILED failed ($((SECONDS - T_START))s)"
if ((FAILED)); then
  printf '  FAIL %s\n' "${FAILURES[@]}"
  exit 1
fi
