#!/usr/bin/env bash
# run.sh [options] SCSIPUB_BIN | run.sh [options] --tgtd
#
# The Linux kernel initiator (open-iscsi + iscsi_tcp in a Debian 12 VM under
# QEMU) against a real `scsipub serve` on a free 127.0.0.1 port. Builds or
# reuses the VM (build-vm.sh), starts the server with
# --public-host 10.0.2.2:PORT (QEMU user networking maps the guest's
# 10.0.2.2:PORT to the host's 127.0.0.1:PORT, so SendTargets must hand out the
# same port) and --http-listen 127.0.0.1:HTTPPORT (the JSON API, host side
# only), boots the VM once per scenario group, collects the
# `E2E-RESULT name PASS|FAIL detail` lines and prints `N passed, N failed`.
# Before a boot whose scenarios say `# e2e-needs: disk`, it creates an account
# (`scsipub account create`) and a provisioned disk (POST /api/v1/disks) and
# passes the API's answer to the guest through params.sh (provision_disk).
# When a selected scenario says `# e2e-needs: tls`, scsipub also listens for
# iSCSI over TLS and an stunnel client on the host forwards 127.0.0.1:S to it
# (the guest's E2E_TLS_PORTAL is 10.0.2.2:S).
#
# Options:
#   --group G        run only group G (repeatable); groups come from the
#                    `# e2e-group: G` line of each scenarios/*.sh
#   --scenario REGEX run only scenarios whose file name matches
#   --cache DIR      VM cache (default: <repo>/.cache/e2e, git-ignored)
#   --accel A        kvm | tcg | auto (default auto: probe /dev/kvm once)
#   --keep           keep the temp dir (server log, serial logs)
#   --tgtd           run against a private tgtd instead (negative control /
#                    harness check): only the scenarios that make sense there
# Env: E2E_VERBOSE=1 streams the serial console to stderr;
#      E2E_REQUIRE_PR=0 makes "no PERSISTENT RESERVE support" a SKIP (default: FAIL);
#      SCSIPUB_LOG_LEVEL=debug for a debug server log.
# Exit: 0 all passed, 1 a failure, 77 a missing host tool (qemu, python3).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=../integration/lib.sh
source "$REPO/tests/integration/lib.sh"

GROUPS_WANTED=() SCEN_RE='' CACHE=$REPO/.cache/e2e ACCEL=auto BIN='' USE_TGT=0
while (($#)); do
  case $1 in
    --group) GROUPS_WANTED+=("$2"); shift 2 ;;
    --scenario) SCEN_RE=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    --accel) ACCEL=$2; shift 2 ;;
    --keep) INTEG_KEEP_TMP=1; shift ;;
    --tgtd) USE_TGT=1; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) BIN=$1; shift ;;
  esac
done
((USE_TGT)) || [[ -n $BIN ]] || die "usage: run.sh [options] SCSIPUB_BIN | --tgtd"
require_tools qemu-system-x86_64 python3 sha256sum
((USE_TGT)) && require_tools tgtd tgtadm
((USE_TGT)) || require_tools curl

T_START=$SECONDS
VM=$("$HERE/build-vm.sh" "$CACHE" | tail -n 1)
T_BUILD=$((SECONDS - T_START))
log "VM: $VM (build/check ${T_BUILD}s)"

PASS=0 FAIL=0
RESULTS=$INTEG_TMP/results.txt
: >"$RESULTS"
host_result() { # NAME PASS|FAIL DETAIL: a result decided on the host
  echo "E2E-RESULT $1 $2 $3" >>"$RESULTS"
  echo "  $2 $1 $3"
}

PARAMS=$INTEG_TMP/params.sh
SCENARIOS=("$HERE"/scenarios/*.sh)
PORT='' HTTP_PORT=''

# group -> scenario files
declare -A GROUP_FILES
GROUP_ORDER=()
for s in "${SCENARIOS[@]}"; do
  [[ -n $SCEN_RE && ! $(basename "$s") =~ $SCEN_RE ]] && continue
  g=$(sed -n 's/^# e2e-group: *//p' "$s" | head -n 1)
  [[ -n $g ]] || g=default
  if ((USE_TGT)) && ! grep -q '^# e2e-targets:.*tgt' "$s"; then continue; fi
  if ((${#GROUPS_WANTED[@]})); then
    keep=0
    for w in "${GROUPS_WANTED[@]}"; do [[ $w == "$g" ]] && keep=1; done
    ((keep)) || continue
  fi
  [[ -n ${GROUP_FILES[$g]:-} ]] || GROUP_ORDER+=("$g")
  GROUP_FILES[$g]+="$s "
done
((${#GROUP_ORDER[@]})) || die "no scenario selected"

# iSCSI over TLS, only when a selected scenario says `# e2e-needs: tls`:
# scsipub also gets --tls-listen 127.0.0.1:TLS_PORT with a certificate from a
# test CA (tests/integration/tls_lib.sh), and an stunnel client on
# 127.0.0.1:STUNNEL_PORT (verifying that certificate) forwards plain iSCSI to
# it; the guest dials 10.0.2.2:STUNNEL_PORT (E2E_TLS_PORTAL in params.sh).
TLS_ARGS=() TLS_PORT='' STUNNEL_PID=''
# shellcheck disable=SC2048,SC2086
if ((!USE_TGT)) && grep -lq '^# e2e-needs:.*\btls\b' ${GROUP_FILES[*]}; then
  # shellcheck source=../integration/tls_lib.sh
  source "$REPO/tests/integration/tls_lib.sh"
  if command -v openssl >/dev/null && command -v "$(tls_stunnel_bin)" >/dev/null &&
    tls_make_ca "$INTEG_TMP/pki" && tls_make_cert "$INTEG_TMP/pki" srv 1001; then
    TLS_PORT=$(free_port)
    TLS_ARGS=(--tls-listen "127.0.0.1:$TLS_PORT" --tls-cert "$INTEG_TMP/pki/srv.pem" --tls-key "$INTEG_TMP/pki/srv.key")
  else
    log "TLS scenarios selected but openssl/stunnel missing or the test CA failed: they will FAIL"
  fi
fi

# start_server: scsipub in the background on $PORT (iSCSI, advertised to the
# guest as 10.0.2.2:$PORT) and $HTTP_PORT (the JSON API, host only), always
# with the same data and images dirs, so a restart finds its disks again.
start_server() {
  "$BIN" serve --data-dir "$SCSIPUB_DATA_DIR" --images-dir "$SCSIPUB_IMAGES_DIR" \
    --iscsi-listen "127.0.0.1:$PORT" --public-host "10.0.2.2:$PORT" \
    --http-listen "127.0.0.1:$HTTP_PORT" "${TLS_ARGS[@]}" \
    --log-level "${SCSIPUB_LOG_LEVEL:-info}" >>"$SCSIPUB_LOG" 2>&1 &
  SCSIPUB_PID=$!
}

# provision_disk: what a paying user does before attaching a disk. Creates an
# account (CLI, same data dir), then a disk of ["blank", "test"] over the API,
# and appends to $PARAMS what the guest needs: the target, the portal, the
# CHAP user, a wrong secret, the image's sha256, and the API's
# `iscsiadm.discovery` / `iscsiadm.static` (and `logout`, if given) command
# lists verbatim (one command per line, shell-quoted as a whole for
# params.sh). Once per run; only before a boot whose scenarios say
# `# e2e-needs: disk`.
DISK_ID='' DISK_JSON=$INTEG_TMP/disk.json
provision_disk() {
  [[ -z $DISK_ID ]] || return 0
  local t0=$SECONDS acct token code
  if ! acct=$(timeout 30 "$BIN" account --data-dir "$SCSIPUB_DATA_DIR" create --tier standard --json 2>&1); then
    host_result host-provision FAIL "account create: $(echo "$acct" | tail -n 2 | tr '\n' ' ')"
    return 1
  fi
  token=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["token"])' <<<"$acct") ||
    { host_result host-provision FAIL "account create printed no token: $acct"; return 1; }
  local t_acct=$((SECONDS - t0)) t_post
  code=$(curl -s --max-time 20 -o "$DISK_JSON" -w '%{http_code} %{time_total}' -X POST \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$HTTP_PORT/api/v1/disks" -d '{"images":["blank","test"]}') || code="curl-rc=$?"
  t_post=${code#* } code=${code%% *}
  if [[ $code != 201 ]]; then
    host_result host-provision FAIL "POST /api/v1/disks: HTTP $code: $(head -c 300 "$DISK_JSON" 2>/dev/null)"
    return 1
  fi
  local out
  if ! out=$(python3 - "$DISK_JSON" "$SCSIPUB_IMAGES_DIR/test.img" "10.0.2.2:$PORT" <<'PY' 2>&1
import hashlib, json, shlex, sys
d = json.load(open(sys.argv[1]))
img = open(sys.argv[2], 'rb').read()
want_portal = sys.argv[3]
problems = []
cmds = d.get("iscsiadm") or {}
disc, static = cmds.get("discovery"), cmds.get("static")
for name, lst in (("discovery", disc), ("static", static)):
    if not isinstance(lst, list) or not lst or not all(isinstance(c, str) and c and "\n" not in c for c in lst):
        problems.append("iscsiadm.%s is not a non-empty list of one-line strings: %r" % (name, lst))
portal = (d.get("portals") or {}).get("plain")
if portal != want_portal:
    problems.append("portals.plain is %r, want %r" % (portal, want_portal))
chap = d.get("chap") or {}
if not chap.get("user") or not chap.get("secret"):
    problems.append("chap.user/secret missing: %r" % chap)
if not str(d.get("target", "")).endswith(":disk.%s" % d.get("id")):
    problems.append("target %r does not end in :disk.<id>" % d.get("target"))
if problems:
    print("; ".join(problems))
    sys.exit(1)
secret = chap["secret"]
wrong = secret[:-1] + ("x" if secret[-1] != "x" else "y")
q = shlex.quote
print("E2E_DISK_ID=%s" % q(d["id"]))
print("E2E_DISK_IQN=%s" % q(d["target"]))
print("E2E_DISK_PORTAL=%s" % q(portal))
print("E2E_DISK_USER=%s" % q(chap["user"]))
print("E2E_DISK_WRONG_SECRET=%s" % q(wrong))
print("E2E_DISK_MUTUAL=%s" % (1 if chap.get("mutual_secret") else 0))
print("E2E_DISK_BLANK_SIZE=%d" % (1 << 30))
print("E2E_DISK_IMAGE_SIZE=%d" % len(img))
print("E2E_DISK_IMAGE_SHA=%s" % hashlib.sha256(img).hexdigest())
print("E2E_DISK_IMAGE_SHA1M=%s" % hashlib.sha256(img[:1 << 20]).hexdigest())
print("E2E_DISK_DISCOVERY_CMDS=%s" % q("\n".join(disc)))
print("E2E_DISK_STATIC_CMDS=%s" % q("\n".join(static)))
print("E2E_DISK_LOGOUT_CMDS=%s" % q("\n".join(cmds.get("logout") or [])))
PY
  ); then
    host_result host-provision FAIL "API answer not usable: $out"
    return 1
  fi
  echo "$out" >>"$PARAMS"
  DISK_ID=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$DISK_JSON")
  host_result host-provision PASS "account (CLI, ${t_acct}s) + disk $DISK_ID (blank, test) over the API (POST ${t_post}s)"
}
# make_dvd_iso: an ISO 9660 image (Rock Ridge + Joliet) of known files, built
# with xorriso into the images dir as dvd.iso; scsipub serves it as a DVD-ROM
# drive. The guest mounts it and compares each file's sha256 with the ones
# computed here (E2E_DVD_FILES "path:sha256 ..."). Without xorriso the
# scenario skips (E2E_DVD_IQN empty).
DVD_IQN='' DVD_SIZE='' DVD_SHA='' DVD_FILES=''
make_dvd_iso() {
  if ! command -v xorriso >/dev/null; then
    log "xorriso not installed: no DVD-ROM image (the DVD scenario skips)"
    return
  fi
  local root=$INTEG_TMP/dvd-root iso=$SCSIPUB_IMAGES_DIR/dvd.iso f
  mkdir -p "$root/docs/deep"
  echo "scsipub e2e DVD-ROM" >"$root/README.TXT"
  head -c 300000 /dev/urandom >"$root/docs/random.bin"
  head -c $((3 << 20)) /dev/urandom >"$root/docs/deep/big.bin"
  : >"$root/empty.txt"
  xorriso -as mkisofs -quiet -R -J -V SCSIPUB_E2E -o "$iso" "$root" >/dev/null 2>&1 ||
    die "xorriso failed to build $iso"
  DVD_IQN=$IQN_PREFIX:image.dvd
  DVD_SIZE=$(stat -c %s "$iso")
  DVD_SHA=$(sha256sum <"$iso" | cut -d' ' -f1)
  for f in README.TXT docs/random.bin docs/deep/big.bin empty.txt; do
    DVD_FILES+="$f:$(sha256sum <"$root/$f" | cut -d' ' -f1) "
  done
  host_result host-dvd-iso PASS "dvd.iso, $DVD_SIZE bytes, 4 files (xorriso)"
}

if ((USE_TGT)); then
  start_tgtd "" 64 || die "tgtd did not start"
  PORT=$TGTD_PORT
  # tgt advertises 127.0.0.1:PORT (the address it listens on), which the guest
  # cannot reach: create node records with `-o new` instead of SendTargets.
  cat >"$PARAMS" <<EOF
E2E_TARGET_KIND=tgt
E2E_PORTAL=10.0.2.2:$PORT
E2E_ADVERTISED_PORTAL=127.0.0.1:$PORT
E2E_NODE_MODE=static
E2E_IQN_PREFIX=$IQN_PREFIX
E2E_TARGETS='$TGT_IQN'
E2E_BLANK_IQN=$TGT_IQN
E2E_BLANK_SIZE=$((64 << 20))
E2E_FRESH_BLANK=0
E2E_IMAGES=''
EOF
else
  SCSIPUB_DATA_DIR=$INTEG_TMP/data
  SCSIPUB_IMAGES_DIR=$INTEG_TMP/images
  SCSIPUB_LOG=$INTEG_TMP/scsipub.log
  mkdir -p "$SCSIPUB_DATA_DIR"
  make_images "$SCSIPUB_IMAGES_DIR"   # test.img (8 MiB), small.iso (1 MiB + 2 KiB), random
  # A second disk image: ISOs are DVD-ROM drives now, and the default multi
  # target takes the first two images served as disks.
  head -c $((2 << 20)) /dev/urandom >"$SCSIPUB_IMAGES_DIR/two.img"
  make_dvd_iso
  [[ -x $BIN ]] || die "not executable: $BIN"
  for attempt in 1 2 3; do
    PORT=$(free_port)
    HTTP_PORT=$(free_port)
    start_server
    wait_port "$PORT" "$SCSIPUB_PID" 10 && wait_port "$HTTP_PORT" "$SCSIPUB_PID" 10 && break
    kill -KILL "$SCSIPUB_PID" 2>/dev/null || true
    wait "$SCSIPUB_PID" 2>/dev/null || true
    SCSIPUB_PID=
    grep -qi 'address already in use' "$SCSIPUB_LOG" || die "scsipub did not start: $(tail -n 5 "$SCSIPUB_LOG")"
  done
  [[ -n $SCSIPUB_PID ]] || die "scsipub did not start"
  log "scsipub pid $SCSIPUB_PID on 127.0.0.1:$PORT, advertised as 10.0.2.2:$PORT, API on 127.0.0.1:$HTTP_PORT"
  images=""
  targets="$IQN_BLANK $IQN_MULTI"
  for f in "$SCSIPUB_IMAGES_DIR"/*; do
    b=$(basename "$f")
    name=${b%.*}
    targets+=" $IQN_PREFIX:image.$name"
    [[ $b == *.img ]] || continue  # E2E_IMAGES are the disks; ISOs are DVD-ROM drives
    size=$(stat -c %s "$f")
    sha1m=$(head -c 1048576 "$f" | sha256sum | cut -d' ' -f1)
    shaall=$(sha256sum <"$f" | cut -d' ' -f1)
    images+="$name:$size:$sha1m:$shaall "
  done
  cat >"$PARAMS" <<EOF
E2E_TARGET_KIND=scsipub
E2E_PORTAL=10.0.2.2:$PORT
E2E_ADVERTISED_PORTAL=10.0.2.2:$PORT
E2E_NODE_MODE=discovery
E2E_IQN_PREFIX=$IQN_PREFIX
E2E_TARGETS='$targets'
E2E_BLANK_IQN=$IQN_BLANK
E2E_MULTI_IQN=$IQN_MULTI
E2E_BLANK_SIZE=$((64 << 20))
E2E_FRESH_BLANK=1
E2E_IMAGES='$images'
E2E_DVD_IQN='$DVD_IQN'
E2E_DVD_SIZE='$DVD_SIZE'
E2E_DVD_SHA='$DVD_SHA'
E2E_DVD_FILES='$DVD_FILES'
EOF
  if [[ -n $TLS_PORT ]]; then
    if wait_port "$TLS_PORT" "$SCSIPUB_PID" 10 && start_stunnel_client "$TLS_PORT" "$INTEG_TMP/pki/ca.pem"; then
      echo "E2E_TLS_PORTAL=10.0.2.2:$STUNNEL_PORT" >>"$PARAMS"
      host_result host-tls PASS "scsipub TLS on 127.0.0.1:$TLS_PORT, stunnel client on 127.0.0.1:$STUNNEL_PORT (guest: 10.0.2.2:$STUNNEL_PORT)"
    else
      host_result host-tls FAIL "TLS listener or stunnel did not start: $(grep -m1 'TLS' "$SCSIPUB_LOG" | cut -c1-200)"
    fi
  fi
fi
echo "E2E_INITIATOR=iqn.2025-01.pub.scsipub.e2e:guest-$RANDOM" >>"$PARAMS"
echo "E2E_REQUIRE_PR=${E2E_REQUIRE_PR:-1}" >>"$PARAMS"

# restart_scsipub_same_port: SIGKILL the server (a crash, no cleanup) and start
# it again on the same iSCSI and HTTP ports with the same data dir, as a host
# reboot would.
restart_scsipub_same_port() {
  if ((USE_TGT)) || [[ -z $SCSIPUB_PID ]]; then
    host_result host-restart FAIL "restart requested but there is no scsipub to restart"
    return
  fi
  local old=$SCSIPUB_PID t0=$SECONDS
  kill -KILL "$old" 2>/dev/null || true
  wait "$old" 2>/dev/null || true
  SCSIPUB_PID=
  local attempt
  for attempt in 1 2 3 4 5; do
    start_server
    if wait_port "$PORT" "$SCSIPUB_PID" 10 && wait_port "$HTTP_PORT" "$SCSIPUB_PID" 10; then
      host_result host-restart PASS "killed pid $old, restarted as pid $SCSIPUB_PID on ports $PORT/$HTTP_PORT in $((SECONDS - t0))s"
      return
    fi
    wait "$SCSIPUB_PID" 2>/dev/null || true
    SCSIPUB_PID=
    sleep 1
  done
  host_result host-restart FAIL "could not start scsipub again on port $PORT"
}

# drop_connections: the network blip of a scenario's "E2E-SIGNAL
# drop-connection": every established TCP connection to the iSCSI port is
# destroyed on the host (ss -K, CONFIG_INET_DIAG_DESTROY): scsipub's read fails
# at once, the guest's iscsid sees a reset, and nobody logged out.
drop_connections() {
  if ((USE_TGT)); then host_result host-drop-connection FAIL "drop requested under tgt"; return; fi
  local out n
  out=$(ss -H -K -t state established "( sport = :$PORT )" 2>&1)
  n=$(grep -c ":$PORT\b" <<<"$out" || true)
  if ((n > 0)); then host_result host-drop-connection PASS "destroyed $n connection(s) on port $PORT"; else
    host_result host-drop-connection FAIL "ss -K destroyed nothing on port $PORT: $(tr '\n' ' ' <<<"$out" | cut -c1-200)"; fi
}

[[ $ACCEL == auto ]] && ACCEL=$("$HERE/run-vm.sh" --vm "$VM" --probe-accel)
log "accelerator: $ACCEL"

for g in "${GROUP_ORDER[@]}"; do
  serial=$INTEG_TMP/serial-$g.log
  # shellcheck disable=SC2086
  log "boot for group '$g': $(for f in ${GROUP_FILES[$g]}; do basename "$f" .sh; done | tr '\n' ' ')"
  t0=$SECONDS
  rc=0
  : >"$serial"
  # shellcheck disable=SC2086
  if grep -lq '^# e2e-needs:.*\bdisk\b' ${GROUP_FILES[$g]} 2>/dev/null; then
    # Scenarios of this boot attach a provisioned disk: make it now (they
    # FAIL on their own, with a clear message, if this did not work).
    if ((USE_TGT)); then :; else provision_disk || true; fi
  fi
  # shellcheck disable=SC2086
  "$HERE/run-vm.sh" --vm "$VM" --params "$PARAMS" --log "$serial" --accel "$ACCEL" ${GROUP_FILES[$g]} &
  vm_pid=$!
  # A scenario asks for the target to die under it with "E2E-SIGNAL
  # restart-target"; the restart happens here, in this shell, so the new
  # server stays our child.
  # "E2E-SIGNAL drop-connection" cuts the iSCSI connections instead.
  signals=0 drops=0
  while kill -0 "$vm_pid" 2>/dev/null; do
    n=$(grep -ac 'E2E-SIGNAL restart-target' "$serial" 2>/dev/null || true)
    if ((n > signals)); then
      signals=$n
      restart_scsipub_same_port
    fi
    n=$(grep -ac 'E2E-SIGNAL drop-connection' "$serial" 2>/dev/null || true)
    if ((n > drops)); then
      drops=$n
      drop_connections
    fi
    sleep 0.3
  done
  wait "$vm_pid" || rc=$?
  dt=$((SECONDS - t0))
  if ((drops > 0)); then
    # What the server did with the dropped sessions' overlays (free_tier_binder.cc log lines).
    kept=$(grep -c 'takes back overlay' "$SCSIPUB_LOG" || true)
    expired=$(grep -c 'deleted: nobody reinstated' "$SCSIPUB_LOG" || true)
    early=$(grep -c 'reinstates is still closing' "$SCSIPUB_LOG" || true)
    if ((kept > 0)); then host_result host-blip-overlay-handed-back PASS "$kept reinstating login(s) took their overlay back ($early asked to retry while the old connection closed), $expired expired after the grace period"; else
      host_result host-blip-overlay-handed-back FAIL "no login took a retained overlay back ($expired expired)"; fi
  fi
  # Lines may carry a kernel message prefix when printk interleaves; take the
  # E2E-RESULT part of each line.
  grep -a -o 'E2E-RESULT .*' "$serial" | tr -d '\r' | tee -a "$RESULTS" | sed 's/^E2E-RESULT /  /' || true
  if grep -aq 'E2E-DONE' "$serial" && ((rc == 0)); then
    host_result "vm:$g" PASS "booted, ran, powered off in ${dt}s ($ACCEL)"
  else
    host_result "vm:$g" FAIL "qemu rc=$rc after ${dt}s, E2E-DONE $(grep -aq E2E-DONE "$serial" && echo seen || echo missing); serial log tail:"
    tail -n 30 "$serial" | sed 's/^/    | /'
  fi
done

if [[ -n $STUNNEL_PID ]]; then
  # The guest's TLS scenarios went through the tunnel: stunnel verified the
  # certificate and carried data (one "Connection closed" line per connection).
  n=$(grep -c 'Connection closed: [1-9][0-9]* byte(s) sent to TLS' "$STUNNEL_LOG" || true)
  if ((n > 0)) && grep -q "Certificate accepted at depth=0: CN=$TLS_HOSTNAME" "$STUNNEL_LOG"; then
    host_result host-tls-tunnel PASS "$n connection(s) carried through stunnel, certificate verified"
  else
    host_result host-tls-tunnel FAIL "stunnel carried no data ($n connections): $(tail -n 3 "$STUNNEL_LOG" | tr '\n' ' ' | cut -c1-300)"
  fi
  stop_stunnel
fi
if ((!USE_TGT)); then
  # Every login of the free tier is gone: no overlay may be left behind
  # (provisioned disks keep theirs under DATA_DIR/disks/, by design).
  # A session that ended without a Logout (the VM powering off under it, a
  # dropped connection) keeps its overlays for [free_tier] retain_seconds
  # (20 s) in case the initiator reinstates it: give them that long to go.
  waited=0
  while :; do
    left=$(find "$SCSIPUB_DATA_DIR" -path "$SCSIPUB_DATA_DIR/disks" -prune -o -type f \( -name '*.img' -o -name '*.bitmap' \) -print 2>/dev/null | wc -l)
    ((left == 0 || waited >= 25)) && break
    sleep 1
    waited=$((waited + 1))
  done
  if ((left == 0)); then host_result host-overlays-cleaned PASS "no free-tier overlay files left (after ${waited}s)"; else
    host_result host-overlays-cleaned FAIL "$left overlay file(s) left: $(find "$SCSIPUB_DATA_DIR" -path "$SCSIPUB_DATA_DIR/disks" -prune -o -type f -print | head -n 5 | tr '\n' ' ')"; fi
  if stop_scsipub; then host_result scsipub-clean-exit PASS "exit 0 after SIGTERM"; else host_result scsipub-clean-exit FAIL "see log"; fi
  if [[ -n $DISK_ID ]]; then
    # The provisioned disk outlives every logout and the server: its LUN
    # overlays stay in DATA_DIR/disks/<id>/, and a SIGTERM leaves the
    # clean-shutdown marker.
    ddir=$SCSIPUB_DATA_DIR/disks/$DISK_ID
    n=$(find "$ddir" -type f -name '*.img' 2>/dev/null | wc -l)
    if ((n >= 2)); then host_result host-disk-kept PASS "$n LUN overlay(s) in disks/$DISK_ID ($(du -sk "$ddir" | cut -f1) KiB allocated)"; else
      host_result host-disk-kept FAIL "$n overlay(s) in $ddir: $(ls -la "$ddir" 2>&1 | tr '\n' ' ' | cut -c1-300)"; fi
    if [[ -e $SCSIPUB_DATA_DIR/disks/clean-shutdown ]]; then host_result host-disk-clean-shutdown PASS "disks/clean-shutdown written on SIGTERM"; else
      host_result host-disk-clean-shutdown FAIL "no $SCSIPUB_DATA_DIR/disks/clean-shutdown after SIGTERM"; fi
  fi
fi

PASS=$(grep -c '^E2E-RESULT [^ ]* PASS' "$RESULTS" || true)
FAIL=$(grep -c '^E2E-RESULT [^ ]* FAIL' "$RESULTS" || true)
SKIP=$(grep -c '^E2E-RESULT [^ ]* SKIP' "$RESULTS" || true)
if ((FAIL)); then
  echo "failures:"
  grep '^E2E-RESULT [^ ]* FAIL' "$RESULTS" | sed 's/^E2E-RESULT /  /'
fi
if ((SKIP)); then
  echo "skipped:"
  grep '^E2E-RESULT [^ ]* SKIP' "$RESULTS" | sed 's/^E2E-RESULT /  /'
fi
echo "$PASS passed, $FAIL failed, $SKIP skipped ($(( SECONDS - T_START ))s total, VM ${T_BUILD}s, accel $ACCEL)"
((FAIL == 0 && PASS > 0)) || exit 1
