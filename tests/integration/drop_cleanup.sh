#!/bin/bash
# Initiators that never log out (iPXE sanboot, a crashed host, a cut cable):
# a session whose TCP connection simply closes must release its private
# overlay at once, and a stream of such sessions must not accumulate anything.
#
#   drop_cleanup.sh SCSIPUB_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
require_tools python3
(($# == 1)) || { echo "usage: $0 SCSIPUB_BIN" >&2; exit 2; }
start_scsipub "$1"
overlays=$SCSIPUB_DATA_DIR/overlays

# Logs in to blank by hand, writes 4 KiB with immediate data, waits for the
# SCSI Response, then closes the socket without a Logout. Prints the number of
# overlay files seen while the session was live.
drop_session() {
  python3 - "$SCSIPUB_PORT" "$overlays" "$1" <<'PY'
import os, socket, struct, sys
port, overlays, isid_low = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def pdu(op, flags, head8, itt, f20, f24, data=b"", cdb=b""):
    h = bytearray(48)
    h[0], h[1] = op, flags
    h[5:8] = len(data).to_bytes(3, "big")
    h[8:16] = head8
    struct.pack_into(">III", h, 16, itt, f20, f24)
    h[32:32 + len(cdb)] = cdb
    return bytes(h) + data + b"\0" * ((4 - len(data) % 4) % 4)

def recv_pdu(s):
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
    exact((dl + 3) & ~3)
    return h

keys = "\0".join([
    "InitiatorName=iqn.2025-01.test:ipxe-like", "SessionType=Normal",
    "TargetName=iqn.2025-01.pub.scsipub:blank", "HeaderDigest=None", "DataDigest=None",
    "ImmediateData=Yes", "InitialR2T=Yes", "MaxRecvDataSegmentLength=8192",
    "FirstBurstLength=65536", "MaxBurstLength=262144"]).encode() + b"\0"
isid = bytes([0x80, 0x00, 0x00, 0x00, isid_low >> 8, isid_low & 0xff]) + b"\0\0"
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(pdu(0x43, 0x87, isid, 1, 0, 1, keys))
h = recv_pdu(s)
if h[0] & 0x3f != 0x23 or h[36] != 0 or not (h[1] & 0x80) or (h[1] & 3) != 3:
    sys.exit("login failed: class %d detail %d" % (h[36], h[37]))
# WRITE(10) of 8 blocks at LBA 0 with all data immediate; repeat until the
# POWER ON unit attention is consumed and the write is GOOD.
for cmdsn in range(1, 4):
    cdb = bytes([0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0])
    s.sendall(pdu(0x01, 0xa0, bytes(8), 10 + cmdsn, 4096, cmdsn, b"\xa5" * 4096, cdb))
    while True:
        r = recv_pdu(s)
        if r[0] & 0x3f == 0x21:
            break
    if r[3] == 0:
        break
else:
    sys.exit("write never succeeded")
print(len([f for f in os.listdir(overlays) if f.endswith(".img")]))
s.close()  # no Logout
PY
}

live=$(drop_session 1)
[[ $live -eq 1 ]] || die "expected 1 overlay while the session was live, saw $live"
gone=0
for _ in $(seq 1 50); do
  if [[ -z $(ls -A "$overlays") ]]; then gone=1; break; fi
  sleep 0.1
done
((gone)) || die "overlay still there 5 s after the connection closed: $(ls "$overlays")"
log "overlay removed after a dropped connection"

for i in $(seq 2 11); do drop_session "$i" >/dev/null; done
for _ in $(seq 1 50); do
  [[ -z $(ls -A "$overlays") ]] && break
  sleep 0.1
done
[[ -z $(ls -A "$overlays") ]] || die "overlays left after 10 dropped sessions: $(ls "$overlays")"
kill -0 "$SCSIPUB_PID" || die "server died"
log "10 dropped sessions left nothing behind"
stop_scsipub
echo "drop_cleanup: ok"
