#!/bin/bash
# Initiators that never log out (iPXE sanboot, a crashed host, a cut cable):
# a session whose TCP connection simply closes keeps its private overlay for
# [free_tier] retain_seconds (here 2 s) so that the same initiator (same
# InitiatorName + ISID, same address) reinstating the session after a network
# blip finds its data; then the overlay is deleted, and a stream of such
# sessions must not accumulate anything.
#
#   drop_cleanup.sh SCSIPUB_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
require_tools python3
(($# == 1)) || { echo "usage: $0 SCSIPUB_BIN" >&2; exit 2; }
retain=2
printf '[free_tier]\nretain_seconds = %d\n' "$retain" >"$INTEG_TMP/retain.toml"
start_scsipub "$1" --config "$INTEG_TMP/retain.toml"
overlays=$SCSIPUB_DATA_DIR/overlays

# drop_session ISID [read|overtake]: logs in to blank by hand with that ISID,
# writes 4 KiB of 0xa5 at LBA 0 with immediate data (or, with "read", reads LBA
# 0 and prints its first byte), waits for the SCSI Response, then closes the
# socket without a Logout. "overtake" logs in again with the same ISID before
# closing, and prints what that login reads at LBA 0 and how many times it
# was asked to retry. Last line: the overlay files seen while logged in.
drop_session() {
  python3 - "$SCSIPUB_PORT" "$overlays" "$1" "${2:-write}" <<'PY'
import os, socket, struct, sys, time
port, overlays, isid_low, mode = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]

def pdu(op, flags, head8, itt, f20, f24, data=b"", cdb=b""):
    h = bytearray(48)
    h[0], h[1] = op, flags
    h[5:8] = len(data).to_bytes(3, "big")
    h[8:16] = head8
    struct.pack_into(">III", h, 16, itt, f20, f24)
    h[32:32 + len(cdb)] = cdb
    return bytes(h) + data + b"\0" * ((4 - len(data) % 4) % 4)

def recv_pdu(s, want_data=False):
    def exact(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                sys.exit("connection closed early")
            b += chunk
        return b
    h = exact(48)
    dl = int.from_bytes(h[5:8], "big")
    data = exact((dl + 3) & ~3)[:dl]
    return h if not want_data else (h, data)

keys = "\0".join([
    "InitiatorName=iqn.2025-01.test:ipxe-like", "SessionType=Normal",
    "TargetName=iqn.2025-01.pub.scsipub:blank", "HeaderDigest=None", "DataDigest=None",
    "ImmediateData=Yes", "InitialR2T=Yes", "MaxRecvDataSegmentLength=8192",
    "FirstBurstLength=65536", "MaxBurstLength=262144"]).encode() + b"\0"
isid = bytes([0x80, 0x00, 0x00, 0x00, isid_low >> 8, isid_low & 0xff]) + b"\0\0"

def login():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(pdu(0x43, 0x87, isid, 1, 0, 1, keys))
    h = recv_pdu(s)
    return s, h

def logged_in(h):
    return h[0] & 0x3f == 0x23 and h[36] == 0 and (h[1] & 0x80) and (h[1] & 3) == 3

# WRITE(10) (or READ(10)) of 8 blocks at LBA 0, all write data immediate;
# repeat until the POWER ON unit attention is consumed and the command is GOOD.
# Returns the first byte read.
def command(s, what):
    for cmdsn in range(1, 4):
        first = None
        if what == "read":
            s.sendall(pdu(0x01, 0xc0, bytes(8), 10 + cmdsn, 4096, cmdsn, b"", bytes([0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0])))
        else:
            cdb = bytes([0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0])
            s.sendall(pdu(0x01, 0xa0, bytes(8), 10 + cmdsn, 4096, cmdsn, b"\xa5" * 4096, cdb))
        while True:
            r, data = recv_pdu(s, True)
            if r[0] & 0x3f == 0x25 and data and first is None:
                first = data[0]
            if r[0] & 0x3f == 0x21 or (r[0] & 0x3f == 0x25 and r[1] & 0x01):
                break
        if r[3] == 0:
            return first
    sys.exit("the command never succeeded")

s, h = login()
if not logged_in(h):
    sys.exit("login failed: class %d detail %d" % (h[36], h[37]))
first = command(s, "read" if mode == "read" else "write")
if mode == "overtake":
    # The initiator noticed the blip first: it logs in again (same ISID) while
    # the target still holds this connection. The login reinstates the session
    # (the target closes this connection) and is asked to retry (03/01) until
    # the old session's disk is retained; the retry gets it.
    retries = 0
    while True:
        s2, h = login()
        if logged_in(h):
            break
        if (h[36], h[37]) != (3, 1) or retries == 50:
            sys.exit("overtaking login: class %d detail %d after %d retries" % (h[36], h[37], retries))
        s2.close()
        retries += 1
        time.sleep(0.1)
    s.settimeout(5)
    try:
        closed = s.recv(1) == b""
    except OSError:
        closed = True
    if not closed:
        sys.exit("the target kept the reinstated session's connection")
    s.close()
    s = s2
    first = command(s, "read")
    print("%02x %d" % (first, retries))
elif mode == "read":
    print("%02x" % first)
print(len([f for f in os.listdir(overlays) if f.endswith(".img")]))
s.close()  # no Logout
PY
}

# overlays_gone SECONDS: true once the overlay directory is empty.
overlays_gone() {
  local i
  for i in $(seq 1 $(($1 * 10))); do
    [[ -z $(ls -A "$overlays") ]] && return 0
    sleep 0.1
  done
  return 1
}

live=$(drop_session 1)
[[ $live -eq 1 ]] || die "expected 1 overlay while the session was live, saw $live"
sleep 0.5
[[ -n $(ls -A "$overlays") ]] || die "the overlay went at once: nothing kept for a reinstating login"
# The same initiator logs in again (same ISID, same address): its data is there.
out=$(drop_session 1 read)
[[ $(head -n 1 <<<"$out") == a5 ]] || die "the reinstating login read $(head -n 1 <<<"$out"), not the a5 it wrote"
grep -q 'takes back overlay' "$SCSIPUB_LOG" || die "no 'takes back overlay' in the log"
log "a dropped session's overlay went to the reinstating login"
# The reinstating login may also overtake the old connection.
out=$(drop_session 7 overtake)
[[ $(head -n 1 <<<"$out" | cut -d' ' -f1) == a5 ]] || die "the overtaking login read $(head -n 1 <<<"$out"), not a5"
log "a login that overtook its old connection got its disk after $(head -n 1 <<<"$out" | cut -d' ' -f2) retry(ies)"
# Another ISID does not get it: a fresh disk.
out=$(drop_session 99 read)
[[ $(head -n 1 <<<"$out") == 00 ]] || die "another ISID read $(head -n 1 <<<"$out") from a fresh disk"
# Past the grace period (checked every 2 s) nothing is left.
overlays_gone $((retain + 4)) || die "overlays still there $((retain + 4)) s after the connections closed: $(ls "$overlays")"
log "overlays removed ${retain} s after the dropped connections"

for i in $(seq 2 11); do drop_session "$i" >/dev/null; done
overlays_gone $((retain + 4)) || die "overlays left after 10 dropped sessions: $(ls "$overlays")"
kill -0 "$SCSIPUB_PID" || die "server died"
log "10 dropped sessions left nothing behind after the grace period"
stop_scsipub
echo "drop_cleanup: ok"
