#!/usr/bin/env bash
# live_catalog.sh SCSIPUB_BIN CATALOG_READER
#
# The catalog while the server runs, with libiscsi:
#  1. a session logged in to image.live reads its base;
#  2. an image added while it is logged in (renamed into the images dir, as
#     `scsipub image add` does) is listed by the next SendTargets, and the
#     running session reads the same bytes as before;
#  3. image.live replaced under the same name: the running session still reads
#     the old bytes, a new login reads the new ones;
#  4. image.live removed: new logins are refused, the running session keeps
#     reading until it logs out; after that no descriptor of the old files is
#     left open in the server (the bytes go with the last session).
# Prints "N passed, N failed".
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
BIN=${1:?usage: live_catalog.sh SCSIPUB_BIN CATALOG_READER}
READER=${2:?usage: live_catalog.sh SCSIPUB_BIN CATALOG_READER}
require_tools iscsi-ls

PASS=0 FAIL=0
check() { # NAME CONDITION-STATUS DETAIL
  if [[ $2 == 0 ]]; then PASS=$((PASS + 1)); log "PASS $1"; else FAIL=$((FAIL + 1)); log "FAIL $1: $3"; fi
}

images=$INTEG_TMP/images
mkdir -p "$images"
make_images "$images"
put_image() { # NAME FILLBYTE: write under a temporary name, then rename in
  local tmp="$images/.$1.ingest-test"
  python3 -c "import sys; sys.stdout.buffer.write(bytes([int(sys.argv[1], 16)]) * (1 << 20))" "$2" >"$tmp"
  mv -f "$tmp" "$images/$1.img"
}
put_image live aa
start_scsipub "$BIN"
iqn=iqn.2025-01.pub.scsipub
listed() { iscsi-ls "iscsi://$INTEG_HOST:$SCSIPUB_PORT" 2>/dev/null | grep -c "$iqn:image.$1\b" || true; }
# Waits (bounded) until the next SendTargets lists image $1 ($2 = 1) or not ($2 = 0).
wait_listed() {
  local i
  for i in $(seq 1 50); do
    [[ $(listed "$1") == "$2" ]] && return 0
    sleep 0.1
  done
  return 1
}

coproc R1 { "$READER" "iscsi://$INTEG_HOST:$SCSIPUB_PORT/$iqn:image.live/0"; }
read -r -t 10 line <&"${R1[0]}" || line=timeout
check "session 1 logs in" "$([[ $line == logged-in* ]]; echo $?)" "$line"
r1_read() { echo read >&"${R1[1]}"; read -r -t 10 line <&"${R1[0]}" || line=timeout; echo "$line"; }
first=$(r1_read)
check "session 1 reads the base" "$([[ $first == "data aaaaaaaa"* ]]; echo $?)" "$first"

# 2. added while logged in
check "image.added not listed before" "$([[ $(listed added) == 0 ]]; echo $?)" "listed already"
put_image added cc
wait_listed added 1
check "image added while a session runs is listed by the next SendTargets" "$?" "not listed after 5 s"
now=$(r1_read)
check "the running session is undisturbed by an add" "$([[ $now == "$first" ]]; echo $?)" "$now"
grep -q "catalog: added $iqn:image.added" "$SCSIPUB_LOG"
check "the server logs the added image" "$?" "no log line"

# 3. replaced under the same name
put_image live bb
for _ in $(seq 1 50); do grep -q "catalog: changed $iqn:image.live" "$SCSIPUB_LOG" && break; sleep 0.1; done
now=$(r1_read)
check "a replaced base never changes what a running session reads" "$([[ $now == "$first" ]]; echo $?)" "$now"
out2=$(printf 'read\nquit\n' | "$READER" "iscsi://$INTEG_HOST:$SCSIPUB_PORT/$iqn:image.live/0" 2 2>&1 || true)
check "a new login reads the replacing file" "$(grep -q "^data bbbbbbbb" <<<"$out2"; echo $?)" "$out2"
check "session 2 logs out" "$(grep -qx logged-out <<<"$out2"; echo $?)" "$out2"

# 4. removed
rm -f "$images/live.img"
wait_listed live 0
check "a removed image leaves SendTargets" "$?" "still listed after 5 s"
out=$("$READER" "iscsi://$INTEG_HOST:$SCSIPUB_PORT/$iqn:image.live/0" 3 </dev/null 2>&1 || true)
check "a login to a removed image is refused" "$([[ $out == login-failed* ]]; echo $?)" "$out"
now=$(r1_read)
check "the running session keeps reading the removed image" "$([[ $now == "$first" ]]; echo $?)" "$now"
open_deleted() { find "/proc/$SCSIPUB_PID/fd" -lname "$images/*live.img (deleted)" 2>/dev/null | wc -l; }
check "the removed files are still open while the session runs" "$([[ $(open_deleted) -ge 1 ]]; echo $?)" \
  "$(ls -l /proc/$SCSIPUB_PID/fd | grep live || true)"
echo quit >&"${R1[1]}"
read -r -t 10 line <&"${R1[0]}" || line=timeout
check "session 1 logs out" "$([[ $line == logged-out ]]; echo $?)" "$line"
for _ in $(seq 1 50); do [[ $(open_deleted) == 0 ]] && break; sleep 0.1; done
check "after the last session the removed files are closed" "$([[ $(open_deleted) == 0 ]]; echo $?)" \
  "$(ls -l /proc/$SCSIPUB_PID/fd | grep live || true)"
stop_scsipub
check "the server stops cleanly" "$?" "see $SCSIPUB_LOG"

log "$PASS passed, $FAIL failed"
echo "$PASS passed, $FAIL failed"
((FAIL == 0))
