# shellcheck shell=bash
# TLS helpers for tls_stunnel.sh and tests/e2e/run.sh. Source after lib.sh.
#
#   tls_make_ca DIR                        DIR/ca.key, DIR/ca.pem (EC P-256 test CA)
#   tls_make_cert DIR NAME SERIAL          DIR/NAME.key, DIR/NAME.pem: server
#                                          certificate CN=SAN=$TLS_HOSTNAME signed
#                                          by DIR/ca.pem, serial SERIAL (hex)
#   start_stunnel_client CONNECT_PORT CAFILE
#                                          stunnel in client mode on a free
#                                          127.0.0.1 port in front of the TLS
#                                          listener on 127.0.0.1:CONNECT_PORT,
#                                          verifying the chain against CAFILE and
#                                          the name $TLS_HOSTNAME. Sets STUNNEL_PID,
#                                          STUNNEL_PORT, STUNNEL_LOG. The EXIT trap
#                                          stops it (by PID).
#   stop_stunnel
#   tls_served_serial PORT                 serial (hex, as openssl prints it) of
#                                          the certificate a NEW handshake with
#                                          127.0.0.1:PORT shows; empty on failure
#   scsipub_metric NAME                    value of NAME in GET /metrics of
#                                          $SCSIPUB_HTTP_PORT; empty if absent

TLS_HOSTNAME=scsipub-test
STUNNEL_PID=
STUNNEL_PORT=
STUNNEL_LOG=
_TLS_STUNNEL_PIDS=()

tls_stunnel_bin() {
  if command -v stunnel4 >/dev/null 2>&1; then echo stunnel4; else echo stunnel; fi
}

tls_make_ca() {
  local dir=$1
  mkdir -p "$dir"
  timeout 30 openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3 -subj "/CN=scsipub integration test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

tls_make_cert() {
  local dir=$1 name=$2 serial=$3
  timeout 30 openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$TLS_HOSTNAME" 2>/dev/null || return 1
  printf '%s\n' "subjectAltName=DNS:$TLS_HOSTNAME" basicConstraints=CA:FALSE \
    keyUsage=critical,digitalSignature extendedKeyUsage=serverAuth >"$dir/$name.ext"
  timeout 30 openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$serial" -days 3 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
}

# start_stunnel_client CONNECT_PORT CAFILE: see the header.
start_stunnel_client() {
  local connect=$1 ca=$2 conf bin
  bin=$(tls_stunnel_bin)
  for _ in 1 2 3; do
    STUNNEL_PORT=$(free_port)
    STUNNEL_LOG=$INTEG_TMP/stunnel-$STUNNEL_PORT.log
    conf=$INTEG_TMP/stunnel-$STUNNEL_PORT.conf
    cat >"$conf" <<EOF
foreground = yes
syslog = no
debug = notice
pid = $INTEG_TMP/stunnel-$STUNNEL_PORT.pid
[iscsi-tls]
client = yes
accept = 127.0.0.1:$STUNNEL_PORT
connect = 127.0.0.1:$connect
verifyChain = yes
CAfile = $ca
checkHost = $TLS_HOSTNAME
EOF
    "$bin" "$conf" >>"$STUNNEL_LOG" 2>&1 &
    STUNNEL_PID=$!
    _TLS_STUNNEL_PIDS+=("$STUNNEL_PID")
    if wait_port "$STUNNEL_PORT" "$STUNNEL_PID" 10; then
      log "stunnel pid $STUNNEL_PID: 127.0.0.1:$STUNNEL_PORT -> TLS 127.0.0.1:$connect"
      return 0
    fi
    stop_stunnel
    grep -qi 'address already in use' "$STUNNEL_LOG" || break
  done
  log "stunnel did not start: $(tail -n 5 "$STUNNEL_LOG" 2>/dev/null)"
  return 1
}

stop_stunnel() {
  [[ -n $STUNNEL_PID ]] || return 0
  local pid=$STUNNEL_PID
  STUNNEL_PID=
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    _wait_pid_gone "$pid" 50 || kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null || true
}

_tls_stop_all_stunnels() {
  local p
  for p in "${_TLS_STUNNEL_PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null || continue
    kill -TERM "$p" 2>/dev/null
    _wait_pid_gone "$p" 50 || kill -KILL "$p" 2>/dev/null
  done
}
integ_on_exit _tls_stop_all_stunnels

tls_served_serial() {
  timeout 15 openssl s_client -connect "127.0.0.1:$1" -showcerts </dev/null 2>/dev/null |
    timeout 5 openssl x509 -noout -serial 2>/dev/null | sed -n 's/^serial=//p'
}

scsipub_metric() {
  timeout 15 curl -s --max-time 10 "http://127.0.0.1:$SCSIPUB_HTTP_PORT/metrics" |
    awk -v n="$1" '$1 == n { print $2 }'
}
