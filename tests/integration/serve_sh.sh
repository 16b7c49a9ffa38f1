#!/usr/bin/env bash
# serve_sh.sh — the README's first command on a fresh install:
# scripts/serve.sh with an empty HOME (so the default data dir
# ~/.local/share/scsipub is new) and free loopback ports. It must put the
# starter image into the empty catalog and serve it: image.demo is listed by
# SendTargets, reads byte-equal to scripts/demo-image.sh's demo.img over
# iSCSI, and the landing page shows it with its QEMU command (the boot of that
# command is integration.boot.landing-disk). Run by scripts/test.sh after the
# Release build (serve.sh builds build-release itself; this reuses it).
# Prints "N passed, N failed"; exit 0 when all passed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
require_tools iscsi-ls qemu-img curl jq

PASS=0 FAIL=0
check() { # NAME STATUS DETAIL
  if [[ $2 == 0 ]]; then PASS=$((PASS + 1)); log "PASS $1"; else FAIL=$((FAIL + 1)); log "FAIL $1: $3"; fi
}

home=$INTEG_TMP/home
mkdir -p "$home"
port=$(free_port)
http=$(free_port)
log=$INTEG_TMP/serve.log
HOME=$home "$REPO/scripts/serve.sh" --iscsi-listen "127.0.0.1:$port" --http-listen "127.0.0.1:$http" \
  --tls-listen off >"$log" 2>&1 &
pid=$!
stop_serve() {
  kill -TERM "$pid" 2>/dev/null || true
  _wait_pid_gone "$pid" 100 || kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
integ_on_exit stop_serve
# deps.sh, a cached Release build and a cached demo image: minutes at most.
if ! wait_port "$http" "$pid" 900; then
  tail -n 40 "$log" >&2
  check "serve.sh starts" 1 "no listener (log above)"
  echo "$PASS passed, $FAIL failed"
  exit 1
fi
check "serve.sh starts on a fresh HOME" 0 ""
[[ -f $home/.local/share/scsipub/images/demo.img ]]
check "the starter image is in the default images dir" "$?" "$(ls -la "$home/.local/share/scsipub/images" 2>&1)"
iqn=iqn.2025-01.pub.scsipub:image.demo
iscsi-ls "iscsi://127.0.0.1:$port" 2>/dev/null | grep -q "$iqn"
check "SendTargets lists image.demo" "$?" "$(iscsi-ls "iscsi://127.0.0.1:$port" 2>&1 | head -5)"
demo_img=$("$REPO/scripts/demo-image.sh" "$REPO/.cache/demo/out" 2>/dev/null | tail -n 2 | head -n 1)
qemu-img compare -q -f raw "$demo_img" "iscsi://127.0.0.1:$port/$iqn/0" >/dev/null 2>&1
check "image.demo reads byte-equal to demo.img over iSCSI" "$?" "qemu-img compare failed"
qemu_cmd=$(curl -sf "http://127.0.0.1:$http/api/v1/images" |
  jq -r '.images[] | select(.name == "demo") | .commands.qemu // empty')
[[ -n $qemu_cmd ]]
check "the API has a QEMU command for image.demo" "$?" "$(curl -s "http://127.0.0.1:$http/api/v1/images" | head -c 400)"
page=$(curl -sf "http://127.0.0.1:$http/")
grep -q "$iqn" <<<"$page" && grep -q "scsipub demo" <<<"$page"
check "the landing page shows image.demo with its title" "$?" "not on the page"
stop_serve
grep -q "catalog is empty; building the starter image" "$log"
check "serve.sh says it added the starter image" "$?" "$(head -n 20 "$log")"

log "$PASS passed, $FAIL failed"
echo "$PASS passed, $FAIL failed"
((FAIL == 0))
