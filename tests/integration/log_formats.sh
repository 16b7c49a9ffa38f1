#!/usr/bin/env bash
# log_formats.sh SCSIPUB_BIN
#
# The log as systemd-journald and log shippers see it (docs/LOGGING.md),
# without systemd: a real `scsipub serve` whose stderr is a file named by
# JOURNAL_STREAM (what systemd sets for a service), then with --log-format
# json, then with a JOURNAL_STREAM that names another file. A raw iSCSI login
# to a target name with bidi/C1/invalid-UTF-8 bytes and an HTTP path with a
# percent-encoded newline (logged as sent) try to forge records; every record
# must stay one line of the chosen format.
# Prints "N passed, N failed".
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
BIN=${1:?usage: log_formats.sh SCSIPUB_BIN}
require_tools python3 curl stat

PASS=0 FAIL=0
check() { # NAME CONDITION-STATUS DETAIL
  if [[ $2 == 0 ]]; then PASS=$((PASS + 1)); log "PASS $1"; else FAIL=$((FAIL + 1)); log "FAIL $1: $3"; fi
}

# A Login Request (RFC 7143 11.12) to target $1 (bytes given as a Python
# bytes literal body); prints the Login Response's status class and detail.
hostile_login() {
  python3 - "$INTEG_HOST" "$SCSIPUB_PORT" "$1" <<'PY'
import ast, socket, struct, sys
host, port, target = sys.argv[1], int(sys.argv[2]), ast.literal_eval("b'" + sys.argv[3] + "'")
data = (b"InitiatorName=iqn.2026-12.test:log-formats\0SessionType=Normal\0TargetName=" + target +
        b"\0AuthMethod=None\0")
pad = (-len(data)) % 4
bhs = struct.pack(">BBBBB3s6sHIHHII16x", 0x43, 0x81, 0, 0, 0, len(data).to_bytes(3, "big"),
                  bytes([0x40, 0, 0, 0, 0, 1]), 0, 1, 0, 0, 1, 0)
with socket.create_connection((host, port), timeout=10) as s:
    s.sendall(bhs + data + b"\0" * pad)
    resp = b""
    while len(resp) < 48:
        chunk = s.recv(48 - len(resp))
        if not chunk:
            break
        resp += chunk
print(f"{resp[36]:02x}/{resp[37]:02x}" if len(resp) >= 48 else "no response")
PY
}

# The attacks, against the server start_scsipub started.
attack() {
  local status
  status=$(hostile_login 'iqn.2026-12.test:\xe2\x80\xaeevil\xc2\x9b[2J\xff')
  check "$1: the hostile login is refused (target not found)" "$([[ $status == 02/03 ]]; echo $?)" "$status"
  curl -s -o /dev/null "http://$INTEG_HOST:$SCSIPUB_HTTP_PORT/x%0a2026-12-07T00:00:00.000%20error%20forged%0d%1b%5b31m"
}

status_of() { if "$@"; then echo 0; else echo 1; fi; }  # a check's status without tripping set -e

wait_for_line() { # PATTERN: the log has a matching line (bounded wait)
  local i
  for i in $(seq 1 50); do
    grep -qa -- "$1" "$SCSIPUB_LOG" && return 0
    sleep 0.1
  done
  return 1
}

# 1. JOURNAL_STREAM names our stderr: --log-format auto writes "<N>" lines.
SCSIPUB_LOG=$INTEG_TMP/scsipub.log
: >"$SCSIPUB_LOG"
export JOURNAL_STREAM
JOURNAL_STREAM=$(stat -c '%d:%i' "$SCSIPUB_LOG")
SCSIPUB_LOG_LEVEL=debug start_scsipub "$BIN" --tls-listen off || die "scsipub did not start"
unset JOURNAL_STREAM
attack journal
wait_for_line 'unknown target' || true
wait_for_line 'GET /x' || true
stop_scsipub || check "journal: server stops cleanly" 1 "see log"
bad=$(grep -avcE '^<[2-7]>(trace|debug|info|warning|error|critical) ' "$SCSIPUB_LOG" || true)
check "journal: every line starts with a priority prefix and a level" "$([[ $bad == 0 ]]; echo $?)" \
  "$(grep -avE '^<[2-7]>(trace|debug|info|warning|error|critical) ' "$SCSIPUB_LOG" | head -5)"
check "journal: info is priority 6" "$(status_of grep -qaE '^<6>info iSCSI listening on ' "$SCSIPUB_LOG")" \
  "$(head -3 "$SCSIPUB_LOG")"
check "journal: the hostile target name is a priority 4 line, escaped" "$(status_of grep -qaF \
  '<4>warning login from 127.0.0.1 to unknown target iqn.2026-12.test:\u202eevil\u009b[2J\xff (0 more suppressed)' \
  "$SCSIPUB_LOG")" "$(grep -a 'unknown target' "$SCSIPUB_LOG")"
check "journal: the HTTP path is one debug line, as sent (percent-encoded)" "$(status_of grep -qaE \
  '^<7>debug http \[[0-9a-f]{8}\] 127\.0\.0\.1:[0-9]+ GET /x%0a2026-12-07T00:00:00\.000%20error%20forged%0d%1b%5b31m -> 404$' \
  "$SCSIPUB_LOG")" "$(grep -a 'GET /x' "$SCSIPUB_LOG")"
check "journal: no line carries a timestamp (journald adds its own)" \
  "$(status_of bash -c '! grep -qaE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T" "$1"' _ "$SCSIPUB_LOG")" "timestamp found"
check "journal: the log is valid UTF-8 (journald keeps it as text)" \
  "$(status_of python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$SCSIPUB_LOG")" "invalid UTF-8"

# 2. --log-format json: one object per line for shippers.
mv "$SCSIPUB_LOG" "$INTEG_TMP/journal.log"
SCSIPUB_LOG_LEVEL=debug start_scsipub "$BIN" --tls-listen off --log-format json || die "scsipub did not start"
attack json
wait_for_line 'unknown target' || true
wait_for_line 'GET /x' || true
stop_scsipub || check "json: server stops cleanly" 1 "see log"
out=$(python3 - "$SCSIPUB_LOG" <<'PY'
import json, re, sys
ok = True
lines = open(sys.argv[1], "rb").read().decode("utf-8").split("\n")
assert lines[-1] == "", "no final newline"
found = set()
for line in lines[:-1]:
    rec = json.loads(line)
    if set(rec) != {"ts", "level", "msg"}:
        print("fields:", line); ok = False
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["ts"]):
        print("ts:", line); ok = False
    if rec["level"] not in ("trace", "debug", "info", "warn", "error", "critical"):
        print("level:", line); ok = False
    if rec["level"] == "warn" and rec["msg"].startswith("login from 127.0.0.1 to unknown target iqn.2026-12.test:\\u202eevil\\u009b[2J\\xff"):
        found.add("target")
    if rec["level"] == "debug" and rec["msg"].endswith("GET /x%0a2026-12-07T00:00:00.000%20error%20forged%0d%1b%5b31m -> 404"):
        found.add("path")
    if rec["level"] == "info" and rec["msg"].startswith("iSCSI listening on"):
        found.add("info")
print("ok" if ok and found == {"target", "path", "info"} else f"missing {sorted({'target', 'path', 'info'} - found)}")
PY
) || out="python failed: $out"
check "json: every line is one object with ts/level/msg, hostile text escaped" "$([[ $out == ok ]]; echo $?)" "$out"

# 3. JOURNAL_STREAM inherited but naming another file: auto stays text.
mv "$SCSIPUB_LOG" "$INTEG_TMP/json.log"
export JOURNAL_STREAM
JOURNAL_STREAM=$(stat -c '%d:%i' "$INTEG_TMP/json.log")
start_scsipub "$BIN" --tls-listen off || die "scsipub did not start"
unset JOURNAL_STREAM
stop_scsipub || check "text: server stops cleanly" 1 "see log"
check "text: another file's JOURNAL_STREAM leaves auto on text" \
  "$(status_of grep -qaE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12} info iSCSI listening on ' "$SCSIPUB_LOG")" \
  "$(head -3 "$SCSIPUB_LOG")"

log "$PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
