#!/bin/bash
# `scsipub backup create` / `restore` (docs/BACKUP.md), with SQLite:
#   - an account and two provisioned disks; known data on disk 1 over iSCSI
#     with CHAP; PR keys from two I_T nexuses and a Write Exclusive
#     reservation on disk 1;
#   - a second `serve` on the same data dir is refused (the data dir lock);
#   - online backup UNDER LOAD: a writer keeps writing disk 2 (4 KiB blocks
#     naming their generation) while the backup runs through the server's
#     control socket; the per-disk pause is reported;
#   - restored into a new data dir and served: disk 1 byte-identical (SHA-256
#     of the whole LU read over iSCSI), disk 2 every block one whole write of
#     a generation at least the one acknowledged before the backup started,
#     PR keys and reservation on disk 1 as before;
#   - offline backup (server stopped) restores both disks byte-identical;
#   - refusals: a non-empty backup target; a restore of a backup with one
#     flipped byte (checksum, nothing written) or onto a non-empty data dir.
#
#   backup.sh SCSIPUB_BIN PROVISIONED_CLIENT_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=provisioned_lib.sh
source "$here/provisioned_lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN PROVISIONED_CLIENT_BIN" >&2; exit 2; }
prov_init "$1" "$2"
require_tools sha256sum

NODE_A=iqn.2025-01.test.backup:node-a
NODE_B=iqn.2025-01.test.backup:node-b
KEY_A=0xa1
KEY_B=0xb2
WE=1
LOAD_BLOCKS=512  # 2 MiB of disk 2 rewritten per generation

url1() { disk_url "$U1" "$S1" "$T1" 0; }
url2() { disk_url "$U2" "$S2" "$T2" 0; }
lu_sha() {  # lu_sha URL -> sha256 of the whole LU read over iSCSI
  rm -f "$INTEG_TMP/lu.dump"
  client dump "$1" "$INTEG_TMP/lu.dump"
  [[ $CLIENT_RC == 0 ]] || { echo "dump-failed"; return; }
  sha256sum "$INTEG_TMP/lu.dump" | cut -d' ' -f1
}
backup() { timeout -k 5 300 "$PROV_BIN" backup "$@"; }

prov_use_backend sqlite
start_scsipub "$PROV_BIN" || die "server does not start"
prov_account standard || die "account"
create_disk "$ACC_TOKEN" '["blank"]' || die "disk 1"
U1=$DISK_USER S1=$DISK_SECRET T1=$DISK_TARGET D1=$DISK_ID
create_disk "$ACC_TOKEN" '["blank"]' || die "disk 2"
U2=$DISK_USER S2=$DISK_SECRET T2=$DISK_TARGET D2=$DISK_ID

client write "$(url1)" 7 --sync
expect_eq "known data on disk 1" "$CLIENT_RC" 0
client pr-out "$(url1)" 0 0 "$KEY_A" 0 --initiator "$NODE_A"
expect_eq "A registers on disk 1" "$CLIENT_OUT" "pr-out ok"
client pr-out "$(url1)" 0 0 "$KEY_B" 0 --initiator "$NODE_B"
expect_eq "B registers on disk 1" "$CLIENT_OUT" "pr-out ok"
client pr-out "$(url1)" 1 "$KEY_A" 0 "$WE" --initiator "$NODE_A"
expect_eq "A reserves disk 1" "$CLIENT_OUT" "pr-out ok"
client pr-show "$(url1)" --initiator "$NODE_B"
PR_BEFORE=$CLIENT_OUT
expect_match "PR state on disk 1" "$PR_BEFORE" "keys 0xa1,0xb2 reservation 0xa1 type 1"
SHA1=$(lu_sha "$(url1)")

# Two servers never share a data dir.
out=$(timeout -k 5 20 "$PROV_BIN" serve --data-dir "$SCSIPUB_DATA_DIR" --iscsi-listen "$INTEG_HOST:$(free_port)" \
  --http-listen off --tls-listen off 2>&1) && rc=0 || rc=$?
expect_eq "a second serve on the same data dir exits 1" "$rc" 1
expect_match "and says why" "$out" "data directory .* is in use by another scsipub process \(pid $SCSIPUB_PID\)"
check "the control socket is 0600" test "$(stat -c %a "$SCSIPUB_DATA_DIR/control.sock")" = 600

# --- online, under load ---------------------------------------------------------
STATUS=$INTEG_TMP/load.status
rm -f "$STATUS" "$STATUS.stop"
timeout -k 5 300 "$PROV_CLIENT" load "$(url2)" "$STATUS" "$LOAD_BLOCKS" --hold 240 >"$INTEG_TMP/load.out" 2>&1 &
LOAD_PID=$!
integ_on_exit "touch '$STATUS.stop'; kill $LOAD_PID 2>/dev/null"
for _ in $(seq 1 600); do
  [[ -s $STATUS ]] && (($(cat "$STATUS") >= 2)) && break
  kill -0 "$LOAD_PID" 2>/dev/null || break
  sleep 0.1
done
GEN0=$(cat "$STATUS" 2>/dev/null || echo 0)
check "the writer acknowledged two generations of disk 2 before the backup" test "$GEN0" -ge 2
mkdir -p "$INTEG_TMP/full" && touch "$INTEG_TMP/full/x"
out=$(backup create "$INTEG_TMP/full" --data-dir "$SCSIPUB_DATA_DIR" 2>&1) && rc=0 || rc=$?
expect_match "a non-empty backup target is refused" "$rc $out" "^1 .*is not empty"
t0=$(date +%s%N)
out=$(backup create "$INTEG_TMP/bk-online" --data-dir "$SCSIPUB_DATA_DIR" 2>&1) && rc=0 || rc=$?
t1=$(date +%s%N)
printf '%s\n' "$out" | sed 's/^/    | /' >&2
expect_eq "online backup exits 0" "$rc" 0
expect_match "it ran through the server" "$out" "online backup through the running server"
expect_match "disk 2's pause is reported" "$out" "disk $D2: [0-9]+ bytes allocated copied in [0-9]+ ms \([0-9]+ MB/s\), writes paused"
GEN_DURING=$(cat "$STATUS")
log "backup took $(((t1 - t0) / 1000000)) ms; the writer went from generation $GEN0 to $GEN_DURING meanwhile"
touch "$STATUS.stop"
wait "$LOAD_PID" && rc=0 || rc=$?
expect_eq "the writer ran without an error during the backup" "$rc" 0
check "sessions kept running: the writer completed generations during the backup" test "$(cat "$STATUS")" -gt "$GEN0"
check "no partial directory left" test ! -e "$INTEG_TMP/bk-online.partial"
check "the manifest lists both disks" jq -e --arg a "$D1" --arg b "$D2" \
  '[.disks[].id] | (index($a) != null and index($b) != null)' "$INTEG_TMP/bk-online/manifest.json"
jq -r '.disks[] | "pause \(.id): \(.pause_ms) ms for \(.data_bytes) bytes"' "$INTEG_TMP/bk-online/manifest.json" >&2

SHA2_FINAL=$(lu_sha "$(url2)")
stop_scsipub || failc "SIGTERM: exit 0"

# --- offline --------------------------------------------------------------------
out=$(backup create "$INTEG_TMP/bk-offline" --data-dir "$SCSIPUB_DATA_DIR" --images-dir "$SCSIPUB_IMAGES_DIR" 2>&1) &&
  rc=0 || rc=$?
expect_eq "offline backup exits 0" "$rc" 0
expect_match "it ran offline" "$out" "offline backup"

# --- restores -------------------------------------------------------------------
mv "$SCSIPUB_DATA_DIR" "$INTEG_TMP/data.orig"
# restore_and_serve BACKUP: restore into a fresh $SCSIPUB_DATA_DIR and start a server on it.
restore_and_serve() {
  rm -rf "$SCSIPUB_DATA_DIR"
  out=$(backup restore "$1" --data-dir "$SCSIPUB_DATA_DIR" 2>&1) && rc=0 || rc=$?
  printf '%s\n' "$out" | sed 's/^/    | /' >&2
  expect_eq "restore of $(basename "$1") exits 0" "$rc" 0
  start_scsipub "$PROV_BIN" || { failc "server starts on the restored data dir"; return 1; }
}

if restore_and_serve "$INTEG_TMP/bk-online"; then
  expect_eq "online: disk 1 byte-identical" "$(lu_sha "$(url1)")" "$SHA1"
  client loadcheck "$(url2)" "$LOAD_BLOCKS" "$GEN0"
  expect_match "online: disk 2 holds whole blocks of generations >= $GEN0" "$CLIENT_OUT" "loadcheck ok"
  client pr-show "$(url1)" --initiator "$NODE_B"
  expect_eq "online: PR keys and reservation on disk 1 as before" "$CLIENT_OUT" "$PR_BEFORE"
  client pr-write "$(url1)" --initiator "$NODE_B"
  expect_eq "online: B's write still conflicts" "$CLIENT_OUT" "write conflict"
  stop_scsipub || failc "SIGTERM: exit 0"
fi
if restore_and_serve "$INTEG_TMP/bk-offline"; then
  expect_eq "offline: disk 1 byte-identical" "$(lu_sha "$(url1)")" "$SHA1"
  expect_eq "offline: disk 2 byte-identical" "$(lu_sha "$(url2)")" "$SHA2_FINAL"
  client pr-show "$(url1)" --initiator "$NODE_B"
  expect_eq "offline: PR state on disk 1 as before" "$CLIENT_OUT" "$PR_BEFORE"
  stop_scsipub || failc "SIGTERM: exit 0"
fi

# --- refusals -------------------------------------------------------------------
out=$(backup restore "$INTEG_TMP/bk-offline" --data-dir "$SCSIPUB_DATA_DIR" 2>&1) && rc=0 || rc=$?
expect_match "restore onto a non-empty data dir is refused" "$rc $out" "^1 .*is not empty"
cp -a "$INTEG_TMP/bk-offline" "$INTEG_TMP/bk-tampered"
img=$INTEG_TMP/bk-tampered/disks/$D1/lun0.img
# Flip one byte of the data written to disk 1 (its first allocated extent).
off=$(python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); print(os.lseek(fd, 0, os.SEEK_DATA) + 100)" "$img")
python3 -c "
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))" "$img" "$off"
out=$(backup restore "$INTEG_TMP/bk-tampered" --data-dir "$INTEG_TMP/data-tampered" 2>&1) && rc=0 || rc=$?
expect_match "a flipped byte is refused" "$rc $out" "^1 .*disks/$D1/lun0.img: checksum mismatch"
check "and nothing was written" test ! -e "$INTEG_TMP/data-tampered"

prov_summary
