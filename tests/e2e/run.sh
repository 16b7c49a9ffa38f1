#!/usr/bin/env bash
# run.sh [options] SCSIPUB_BIN | run.sh [options] --tgtd
#
# The Linux kernel initiator (open-iscsi + iscsi_tcp in a Debian 12 VM under
# QEMU) against a real `scsipub serve` on a free 127.0.0.1 port. Builds or
# reuses the VM (build-vm.sh), starts the server with
# --public-host 10.0.2.2:PORT (QEMU user networking maps the guest's
# 10.0.2.2:PORT to the host's 127.0.0.1:PORT, so SendTargets must hand out the
# same port), boots the VM once per scenario group, collects the
# `E2E-RESULT name PASS|FAIL detail` lines and prints `N passed, N failed`.
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
#      E2E_REQUIRE_PR=1 makes "no PERSISTENT RESERVE support" a failure;
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
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) BIN=$1; shift ;;
  esac
done
((USE_TGT)) || [[ -n $BIN ]] || die "usage: run.sh [options] SCSIPUB_BIN | --tgtd"
require_tools qemu-system-x86_64 python3 sha256sum
((USE_TGT)) && require_tools tgtd tgtadm

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
  [[ -x $BIN ]] || die "not executable: $BIN"
  for attempt in 1 2 3; do
    PORT=$(free_port)
    "$BIN" serve --data-dir "$SCSIPUB_DATA_DIR" --images-dir "$SCSIPUB_IMAGES_DIR" \
      --iscsi-listen "127.0.0.1:$PORT" --public-host "10.0.2.2:$PORT" \
      --log-level "${SCSIPUB_LOG_LEVEL:-info}" >>"$SCSIPUB_LOG" 2>&1 &
    SCSIPUB_PID=$!
    wait_port "$PORT" "$SCSIPUB_PID" 10 && break
    kill -KILL "$SCSIPUB_PID" 2>/dev/null || true
    wait "$SCSIPUB_PID" 2>/dev/null || true
    SCSIPUB_PID=
    grep -qi 'address already in use' "$SCSIPUB_LOG" || die "scsipub did not start: $(tail -n 5 "$SCSIPUB_LOG")"
  done
  [[ -n $SCSIPUB_PID ]] || die "scsipub did not start"
  log "scsipub pid $SCSIPUB_PID on 127.0.0.1:$PORT, advertised as 10.0.2.2:$PORT"
  images=""
  targets="$IQN_BLANK $IQN_MULTI"
  for f in "$SCSIPUB_IMAGES_DIR"/*; do
    b=$(basename "$f")
    name=${b%.*}
    size=$(stat -c %s "$f")
    sha1m=$(head -c 1048576 "$f" | sha256sum | cut -d' ' -f1)
    shaall=$(sha256sum <"$f" | cut -d' ' -f1)
    images+="$name:$size:$sha1m:$shaall "
    targets+=" $IQN_PREFIX:image.$name"
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
EOF
fi
echo "E2E_INITIATOR=iqn.2025-01.pub.scsipub.e2e:guest-$RANDOM" >>"$PARAMS"
echo "E2E_REQUIRE_PR=${E2E_REQUIRE_PR:-0}" >>"$PARAMS"

# restart_scsipub_same_port: SIGKILL the server (a crash, no cleanup) and start
# it again on the same port with the same data dir, as a host reboot would.
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
    "$BIN" serve --data-dir "$SCSIPUB_DATA_DIR" --images-dir "$SCSIPUB_IMAGES_DIR" \
      --iscsi-listen "127.0.0.1:$PORT" --public-host "10.0.2.2:$PORT" \
      --log-level "${SCSIPUB_LOG_LEVEL:-info}" >>"$SCSIPUB_LOG" 2>&1 &
    SCSIPUB_PID=$!
    if wait_port "$PORT" "$SCSIPUB_PID" 10; then
      host_result host-restart PASS "killed pid $old, restarted as pid $SCSIPUB_PID on port $PORT in $((SECONDS - t0))s"
      return
    fi
    wait "$SCSIPUB_PID" 2>/dev/null || true
    SCSIPUB_PID=
    sleep 1
  done
  host_result host-restart FAIL "could not start scsipub again on port $PORT"
}

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
  "$HERE/run-vm.sh" --vm "$VM" --params "$PARAMS" --log "$serial" --accel "$ACCEL" ${GROUP_FILES[$g]} &
  vm_pid=$!
  # A scenario asks for the target to die under it with "E2E-SIGNAL
  # restart-target"; the restart happens here, in this shell, so the new
  # server stays our child.
  signals=0
  while kill -0 "$vm_pid" 2>/dev/null; do
    n=$(grep -ac 'E2E-SIGNAL restart-target' "$serial" 2>/dev/null || true)
    if ((n > signals)); then
      signals=$n
      restart_scsipub_same_port
    fi
    sleep 0.3
  done
  wait "$vm_pid" || rc=$?
  dt=$((SECONDS - t0))
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

if ((!USE_TGT)); then
  # Every login of the free tier is gone: no overlay may be left behind.
  left=$(find "$SCSIPUB_DATA_DIR" -type f \( -name '*.img' -o -name '*.bitmap' \) 2>/dev/null | wc -l)
  if ((left == 0)); then host_result host-overlays-cleaned PASS "no overlay files left"; else
    host_result host-overlays-cleaned FAIL "$left overlay file(s) left: $(find "$SCSIPUB_DATA_DIR" -type f | head -n 5 | tr '\n' ' ')"; fi
  if stop_scsipub; then host_result scsipub-clean-exit PASS "exit 0 after SIGTERM"; else host_result scsipub-clean-exit FAIL "see log"; fi
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
