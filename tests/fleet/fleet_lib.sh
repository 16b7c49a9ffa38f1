# shellcheck shell=bash
# The fleet test bed: PostgreSQL, a single-host Ceph cluster and three
# `scsipub serve` nodes (A, B, C) sharing one PostgreSQL database, all inside
# a private network namespace that the test creates and removes.
#
# Source it from a bash script running with `set -euo pipefail`, as root:
#
#   source "$(dirname "$0")/fleet_lib.sh"   # re-runs the script inside a fresh netns
#   fleet_start_pg                          # sets FLEET_DB_URL
#   fleet_start_ceph                        # sets CEPH_CONF, CEPH_POOL, CEPH_USER, ...
#   fleet_start_node A; fleet_start_node B; fleet_start_node C
#   ...                                     # FLEET_PORT[B], FLEET_HTTP[B], FLEET_PID[B], ...
#
# Why a namespace: a QEMU user-network guest reaches the host's 127.0.0.1 as
# 10.0.2.2. With 10.0.2.2/32 also on the namespace's `lo`, the portal
# "10.0.2.2:PORT" means the same node to the guest, to libiscsi tools run in
# the namespace and to the nodes themselves (a redirect names one portal that
# every initiator can dial). The namespace also keeps the Ceph monitor, the
# PostgreSQL server and the nodes (which listen on 0.0.0.0) off the host's
# network and away from other tests' ports.
#
# How: sourcing this file outside the namespace creates it (unique name), runs
# the sourcing script again inside it (`ip netns exec`, FLEET_NETNS set), waits
# and removes the namespace on every exit path (EXIT/INT/TERM trap; processes
# still in it are ended by pid first). Inside, tests/integration/lib.sh gives
# the temp dir, its EXIT trap, free ports and port waits; the daemons started
# here are stopped by that trap (fleet_on_exit: the last started first).
#
# Skips (exit 77) when not root, without `ip netns`, without the PostgreSQL
# server binaries or the Ceph packages.

FLEET_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLEET_REPO=$(cd "$FLEET_HERE/../.." && pwd)
FLEET_PORTAL_HOST=10.0.2.2   # QEMU user networking's name for the host
# The cluster script of the RBD storage tests (overridable for development).
FLEET_CEPH_SCRIPT=${FLEET_CEPH_SCRIPT:-$FLEET_REPO/scripts/ceph-test-cluster.sh}

_fleet_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# _fleet_skip_unless_possible: exit 77 when this host cannot run the fleet.
_fleet_skip_unless_possible() {
  local t
  if [[ $(id -u) -ne 0 ]]; then _fleet_log "SKIP: the fleet test bed needs root (network namespace)"; exit 77; fi
  for t in ip python3 curl; do
    command -v "$t" >/dev/null || { _fleet_log "SKIP: missing tool $t"; exit 77; }
  done
  for t in ceph-mon ceph-osd ceph rbd ceph-authtool monmaptool; do
    command -v "$t" >/dev/null || { _fleet_log "SKIP: Ceph packages missing ($t; scripts/deps.sh)"; exit 77; }
  done
  [[ -x $FLEET_CEPH_SCRIPT ]] || { _fleet_log "SKIP: no Ceph test cluster script at $FLEET_CEPH_SCRIPT"; exit 77; }
  if ! [[ -x ${PG_BINDIR:-/usr/lib/postgresql/15/bin}/initdb ]] && ! command -v pg_config >/dev/null; then
    _fleet_log "SKIP: PostgreSQL server binaries missing (apt-get install postgresql)"
    exit 77
  fi
}

# _fleet_ns_remove NS: end what still runs in NS (only that namespace's
# processes, by pid: the test created it), then delete it.
_fleet_ns_remove() {
  local ns=$1 pids i
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  if [[ -n $pids ]]; then
    _fleet_log "namespace $ns: ending leftover pids $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break
      sleep 0.1
    done
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || _fleet_log "could not delete namespace $ns"
}

# _fleet_outer SCRIPT ARGS...: create the namespace, run SCRIPT in it, remove it.
_fleet_outer() {
  local script=$1
  shift
  _fleet_skip_unless_possible
  # The VM is built (or found in its cache) out here: building it downloads
  # Debian packages, and the namespace has no route out.
  if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    "$FLEET_REPO/tests/e2e/build-vm.sh" "${FLEET_VM_CACHE:-$FLEET_REPO/.cache/e2e}" >/dev/null ||
      _fleet_log "building the e2e VM failed (the VM steps will fail)"
  fi
  local ns
  ns=scsipub-fleet-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  if ! ip netns add "$ns" 2>/dev/null; then
    _fleet_log "SKIP: cannot create a network namespace (ip netns add)"
    exit 77
  fi
  FLEET_OUTER_NS=$ns
  FLEET_INNER_PID=
  # The inner script runs in the background so that a signal reaches these
  # traps at once (bash runs traps only between foreground commands).
  # shellcheck disable=SC2317
  _fleet_outer_exit() {
    local rc=$?
    set +e
    if [[ -n $FLEET_INNER_PID ]] && kill -0 "$FLEET_INNER_PID" 2>/dev/null; then
      kill -TERM "$FLEET_INNER_PID" 2>/dev/null
      local i
      for ((i = 0; i < 300; i++)); do kill -0 "$FLEET_INNER_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    _fleet_ns_remove "$FLEET_OUTER_NS"
    exit "$rc"
  }
  trap _fleet_outer_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$FLEET_PORTAL_HOST/32" dev lo
  _fleet_log "network namespace $ns (lo: 127.0.0.1, $FLEET_PORTAL_HOST)"
  FLEET_NETNS=$ns ip netns exec "$ns" bash "$script" "$@" &
  FLEET_INNER_PID=$!
  local rc=0
  wait "$FLEET_INNER_PID" || rc=$?
  FLEET_INNER_PID=
  exit "$rc"
}

if [[ -z ${FLEET_NETNS:-} ]]; then
  _fleet_outer "$0" "$@"
fi

# ---- inside the namespace from here on ------------------------------------
# shellcheck source=../integration/lib.sh
source "$FLEET_REPO/tests/integration/lib.sh"
# The portals carry 10.0.2.2; lib.sh's port helpers dial 127.0.0.1, which is
# the same listener (nodes bind 0.0.0.0 inside the namespace).

# Cleanup in reverse order of start (nodes before Ceph and PostgreSQL, so a
# node never waits on a store that is already gone), from lib.sh's EXIT trap.
FLEET_CLEANUP=()
fleet_on_exit() { FLEET_CLEANUP+=("$*"); }
_fleet_cleanup() {
  local i
  for ((i = ${#FLEET_CLEANUP[@]} - 1; i >= 0; i--)); do eval "${FLEET_CLEANUP[i]}"; done
}
integ_on_exit _fleet_cleanup

# fleet_measure NAME SECONDS PIDS...: record how long NAME took to come up and
# the memory of its processes, one line in $FLEET_MEASURES and on stderr:
# RSS summed (counts pages shared between the processes, e.g. PostgreSQL's
# shared buffers, once per process) and PSS summed (shared pages split among
# their users: what the piece costs the host).
FLEET_MEASURES=$INTEG_TMP/measures.txt
fleet_mem_kib() {
  local field=$1 pid sum=0 v
  shift
  for pid in "$@"; do
    v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}
fleet_measure() {
  local name=$1 secs=$2
  shift 2
  printf '%-26s %6s s  RSS %5d MiB  PSS %5d MiB  (%d process(es))\n' "$name" "$secs" \
    $(($(fleet_mem_kib Rss "$@") / 1024)) $(($(fleet_mem_kib Pss "$@") / 1024)) "$#" | tee -a "$FLEET_MEASURES" >&2
}

# fleet_now: seconds since the epoch with milliseconds, for timings.
fleet_now() { date +%s.%N | cut -c1-14; }
fleet_elapsed() { awk -v a="$1" -v b="$(fleet_now)" 'BEGIN { printf "%.1f", b - a }'; }

# fleet_start_pg: scripts/pg-test-server.sh in the namespace. The cluster dir
# is outside $INTEG_TMP (mode 700, root's): the `postgres` user must reach it.
FLEET_DB_URL='' FLEET_PG_DIR=''
fleet_start_pg() {
  local t0 out
  FLEET_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/scsipub-fleet-pg.XXXXXX")
  chmod 755 "$FLEET_PG_DIR"
  fleet_on_exit "$FLEET_REPO/scripts/pg-test-server.sh stop '$FLEET_PG_DIR/c' >/dev/null 2>&1; rm -rf '$FLEET_PG_DIR'"
  t0=$(fleet_now)
  out=$("$FLEET_REPO/scripts/pg-test-server.sh" start "$FLEET_PG_DIR/c") || { log "PostgreSQL did not start"; return 1; }
  FLEET_DB_URL=$(tail -n 1 <<<"$out")
  local pid
  pid=$(head -n 1 "$FLEET_PG_DIR/c/data/postmaster.pid")
  # RSS of the postmaster and its children (checkpointer, walwriter, ...).
  # shellcheck disable=SC2046
  fleet_measure postgresql "$(fleet_elapsed "$t0")" "$pid" $(pgrep -P "$pid" || true)
  log "PostgreSQL: $FLEET_DB_URL"
}

# fleet_start_ceph: the single-host cluster (mon + mgr + one memstore OSD,
# pool rbd) in the namespace. Sources its env: CEPH_CONF, CEPH_POOL,
# CEPH_USER, CEPH_KEYRING, CEPH_MON.
FLEET_CEPH_DIR=''
fleet_start_ceph() {
  local t0
  FLEET_CEPH_DIR=$INTEG_TMP/ceph
  fleet_on_exit "'$FLEET_CEPH_SCRIPT' stop '$FLEET_CEPH_DIR' >/dev/null 2>&1"
  t0=$(fleet_now)
  "$FLEET_CEPH_SCRIPT" start "$FLEET_CEPH_DIR" >"$INTEG_TMP/ceph-start.log" 2>&1 ||
    { log "Ceph did not start"; tail -n 20 "$INTEG_TMP/ceph-start.log" >&2; return 1; }
  # shellcheck disable=SC1091
  source "$FLEET_CEPH_DIR/env"
  # shellcheck disable=SC2046
  fleet_measure ceph "$(fleet_elapsed "$t0")" $(fleet_ceph_pids)
  log "Ceph: $(tail -n 1 "$INTEG_TMP/ceph-start.log") (mon $CEPH_MON, pool $CEPH_POOL)"
}

# fleet_ceph_pids: the pids of the cluster's daemons (mon, mgr, osd).
fleet_ceph_pids() {
  local f
  for f in "$FLEET_CEPH_DIR"/run/*.pid; do [[ -e $f ]] && cat "$f"; done
  return 0
}

# The nodes, by letter.
declare -A FLEET_PID FLEET_PORT FLEET_HTTP FLEET_DIR FLEET_LOG FLEET_CONF
FLEET_IMAGES=$INTEG_TMP/images
# FLEET_NODE_TOML: extra TOML every node's config gets (e.g. [fleet] and
# [ceph] tables); @NODE@, @PORT@ and @HTTP@ are replaced per node, @SERVE@ by
# FLEET_SERVE[node] (default true: the node may own paid disks).
FLEET_NODE_TOML=${FLEET_NODE_TOML:-}
declare -A FLEET_SERVE

# fleet_node_config LETTER: write the node's config file.
fleet_node_config() {
  local n=$1 f=${FLEET_DIR[$1]}/node.toml
  {
    echo "database = \"$FLEET_DB_URL\""
    local extra=${FLEET_NODE_TOML//@NODE@/$n}
    extra=${extra//@PORT@/${FLEET_PORT[$n]}}
    extra=${extra//@HTTP@/${FLEET_HTTP[$n]}}
    extra=${extra//@SERVE@/${FLEET_SERVE[$n]:-true}}
    printf '%s\n' "$extra"
  } >"$f"
  FLEET_CONF[$n]=$f
}

# fleet_run_node LETTER: start (or start again, same ports and data dir) one
# `scsipub serve`: iSCSI on 0.0.0.0:PORT advertised as 10.0.2.2:PORT, HTTP on
# 0.0.0.0:HTTP, no TLS, the shared PostgreSQL database.
fleet_run_node() {
  local n=$1
  "$FLEET_BIN" serve --config "${FLEET_CONF[$n]}" \
    --data-dir "${FLEET_DIR[$n]}/data" --images-dir "$FLEET_IMAGES" \
    --iscsi-listen "0.0.0.0:${FLEET_PORT[$n]}" --public-host "$FLEET_PORTAL_HOST:${FLEET_PORT[$n]}" \
    --http-listen "0.0.0.0:${FLEET_HTTP[$n]}" --tls-listen off \
    --log-level "${SCSIPUB_LOG_LEVEL:-info}" >>"${FLEET_LOG[$n]}" 2>&1 &
  FLEET_PID[$n]=$!
  wait_port "${FLEET_PORT[$n]}" "${FLEET_PID[$n]}" 20 && wait_port "${FLEET_HTTP[$n]}" "${FLEET_PID[$n]}" 20
}

# fleet_start_node LETTER: a new node with its own data dir and free ports.
# Nodes start one after another: the first runs the schema migrations.
fleet_start_node() {
  local n=$1 t0
  [[ -n ${FLEET_BIN:-} && -x $FLEET_BIN ]] || { log "FLEET_BIN (scsipub) not set or not executable"; return 1; }
  [[ -n $FLEET_DB_URL ]] || { log "fleet_start_pg first"; return 1; }
  [[ -f $FLEET_IMAGES/test.img ]] || make_images "$FLEET_IMAGES"
  FLEET_DIR[$n]=$INTEG_TMP/node-$n
  FLEET_LOG[$n]=$INTEG_TMP/node-$n.log
  mkdir -p "${FLEET_DIR[$n]}/data"
  fleet_on_exit "fleet_stop_node $n"
  t0=$(fleet_now)
  for _ in 1 2 3; do
    FLEET_PORT[$n]=$(free_port)
    FLEET_HTTP[$n]=$(free_port)
    fleet_node_config "$n"
    if fleet_run_node "$n"; then
      fleet_measure "node $n" "$(fleet_elapsed "$t0")" "${FLEET_PID[$n]}"
      log "node $n: pid ${FLEET_PID[$n]}, portal $FLEET_PORTAL_HOST:${FLEET_PORT[$n]}, http ${FLEET_HTTP[$n]}"
      return 0
    fi
    kill -KILL "${FLEET_PID[$n]}" 2>/dev/null || true
    wait "${FLEET_PID[$n]}" 2>/dev/null || true
    grep -qi 'address already in use' "${FLEET_LOG[$n]}" || break
  done
  log "node $n did not start: $(tail -n 5 "${FLEET_LOG[$n]}")"
  FLEET_PID[$n]=
  return 1
}

# fleet_stop_node LETTER: SIGTERM, SIGKILL after 10 s (also undoes a SIGSTOP).
fleet_stop_node() {
  local n=$1 pid=${FLEET_PID[$1]:-}
  [[ -n $pid ]] || return 0
  FLEET_PID[$n]=
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -CONT "$pid" 2>/dev/null
  kill -TERM "$pid" 2>/dev/null
  _wait_pid_gone "$pid" 100 || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# fleet_kill_node LETTER: kill -9, no cleanup (a crashed host).
fleet_kill_node() {
  local pid=${FLEET_PID[$1]:-}
  [[ -n $pid ]] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  FLEET_PID[$1]=
}

# fleet_portal LETTER: the node's iSCSI portal as every initiator dials it.
fleet_portal() { echo "$FLEET_PORTAL_HOST:${FLEET_PORT[$1]}"; }
# fleet_api LETTER: the node's session API base URL.
fleet_api() { echo "http://$FLEET_PORTAL_HOST:${FLEET_HTTP[$1]}/api/v1"; }

# fleet_provision_disk LETTER IMAGES-JSON OUT: an account (CLI, on the shared
# database) and a disk created through that node's session API; the API's
# answer is written to OUT. Prints nothing; logs the disk id.
fleet_provision_disk() {
  local n=$1 images=$2 out=$3 acct token code
  acct=$(timeout 30 "$FLEET_BIN" account --config "${FLEET_CONF[$n]}" --data-dir "${FLEET_DIR[$n]}/data" \
    create --tier standard --json 2>&1) || { log "account create: $acct"; return 1; }
  token=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["token"])' <<<"$acct") ||
    { log "account create printed no token: $acct"; return 1; }
  code=$(curl -s --max-time 30 -o "$out" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "$(fleet_api "$n")/disks" -d "{\"images\":$images}") || code="curl-rc=$?"
  [[ $code == 201 ]] || { log "POST /disks on node $n: HTTP $code: $(head -c 300 "$out")"; return 1; }
  log "disk $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$out") created through node $n"
}

# fleet_disk_field FILE PYTHON-EXPR: a field of the API's disk answer (d).
fleet_disk_field() { python3 -c "import json,sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }

# fleet_disk_url DISKJSON LUN: libiscsi URL of a LUN with the disk's CHAP
# credentials, at the portal the API handed out.
fleet_disk_url() {
  fleet_disk_field "$1" "'iscsi://%s%%%s@%s/%s/$2' % (d['chap']['user'], d['chap']['secret'], d['portals']['plain'], d['target'])"
}

# fleet_vm_params DISKJSON OUT: the guest's params.sh for a provisioned disk
# (what the fleet scenarios read: target, portal, CHAP user, the API's static
# iscsiadm commands, verbatim).
fleet_vm_params() {
  python3 - "$1" >"$2" <<'PY'
import json, shlex, sys
d = json.load(open(sys.argv[1]))
q = shlex.quote
static = (d.get("iscsiadm") or {}).get("static") or []
print("E2E_TARGET_KIND=scsipub")
print("E2E_IQN_PREFIX=iqn.2025-01.pub.scsipub")
print("E2E_DISK_ID=%s" % q(d["id"]))
print("E2E_DISK_IQN=%s" % q(d["target"]))
print("E2E_DISK_PORTAL=%s" % q(d["portals"]["plain"]))
print("E2E_DISK_USER=%s" % q(d["chap"]["user"]))
print("E2E_DISK_STATIC_CMDS=%s" % q("\n".join(static)))
PY
  echo "E2E_INITIATOR=iqn.2025-01.pub.scsipub.e2e:fleet-$RANDOM" >>"$2"
}

# fleet_vm_dir: build (or reuse) the e2e VM; prints its directory.
fleet_vm_dir() { "$FLEET_REPO/tests/e2e/build-vm.sh" "${FLEET_VM_CACHE:-$FLEET_REPO/.cache/e2e}" | tail -n 1; }

# fleet_vm_accel VMDIR: kvm when a short KVM boot works, else tcg (once).
fleet_vm_accel() { "$FLEET_REPO/tests/e2e/run-vm.sh" --vm "$1" --probe-accel; }

# fleet_vm_setup DISKJSON: the e2e VM (VM), its accelerator (ACCEL; FLEET_ACCEL
# overrides the probe) and the guest's params.sh for the disk (PARAMS, in
# INTEG_TMP, for the caller to add to).
fleet_vm_setup() {
  VM=$(fleet_vm_dir) || die "build-vm.sh failed"
  ACCEL=${FLEET_ACCEL:-$(fleet_vm_accel "$VM")}
  PARAMS=$INTEG_TMP/params.sh
  fleet_vm_params "$1" "$PARAMS"
}

# fleet_check_inquiry WHAT URL: the integ_check WHAT that libiscsi's iscsi-inq
# logs in at URL (a libiscsi URL with CHAP) and gets a standard INQUIRY answer
# (its "Vendor:" line), within 30 s.
fleet_check_inquiry() {
  integ_check "$1" bash -c "timeout 30 iscsi-inq '$2' | grep -qi 'vendor'"
}
