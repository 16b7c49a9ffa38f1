#!/usr/bin/env bash
# Throwaway single-host Ceph cluster for the RBD storage tests and benchmarks.
#
#   scripts/ceph-test-cluster.sh start DIR   # prints "ceph cluster up in N.N s" as the last line
#   scripts/ceph-test-cluster.sh stop DIR    # stops the daemons and removes DIR
#
# What runs (all state under DIR, nothing under /etc/ceph or /var/lib/ceph):
#   - one monitor on 127.0.0.1 at a free port (msgr v1 only; cephx on);
#   - one manager (ceph-mgr) unless CEPH_TEST_MGR=0. RBD itself needs no manager
#     (clone, snapshot, exclusive lock and blocklist are served by the monitor and
#     the OSDs); it is started because a real cluster has one and `ceph -s` is
#     healthier with it. It is started in the background and not waited for;
#   - CEPH_TEST_OSDS object storage daemons (default 1), pool size 1;
#   - the pool `rbd`, initialised for RBD.
#
# OSD back end: CEPH_TEST_OBJECTSTORE=memstore (default) keeps every object in
# the OSD's RAM (CEPH_TEST_OSD_BYTES each, default 1 GiB): fast, and enough for
# tests where scsipub nodes fail over (the cluster keeps running), but the data
# is LOST when an OSD restarts. CEPH_TEST_OBJECTSTORE=bluestore puts each OSD on
# a sparse file DIR/osdN/block of that size instead, which survives an OSD
# restart (slower to create: ~10 s more per OSD).
#
# DIR/env (shell syntax) holds what clients need:
#   CEPH_CONF=DIR/ceph.conf CEPH_POOL=rbd CEPH_USER=admin CEPH_KEYRING=DIR/keyring
#   CEPH_MON=127.0.0.1:PORT
# Typical use:
#   scripts/ceph-test-cluster.sh start /tmp/scsipub-ceph && . /tmp/scsipub-ceph/env
#   rbd -c "$CEPH_CONF" ls "$CEPH_POOL"
#   scripts/ceph-test-cluster.sh stop /tmp/scsipub-ceph
#
# Needs: ceph-mon ceph-osd ceph-common (ceph, rbd, ceph-authtool, monmaptool),
# and ceph-mgr unless CEPH_TEST_MGR=0 (scripts/deps.sh installs them). Run as
# root, or as a user who can write DIR (the daemons then run as that user).
# Every wait is bounded (CEPH_TEST_TIMEOUT seconds, default 60); `stop` sends
# SIGTERM, then SIGKILL after CEPH_TEST_STOP_GRACE seconds (default 5: ceph-osd
# ignores SIGTERM for a few seconds).
set -euo pipefail

# shellcheck source=lib/test_server.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/test_server.sh"
test_server_args "$@"

timeout_s=${CEPH_TEST_TIMEOUT:-60}
osd_count=${CEPH_TEST_OSDS:-1}
objectstore=${CEPH_TEST_OBJECTSTORE:-memstore}
osd_bytes=${CEPH_TEST_OSD_BYTES:-1073741824}
want_mgr=${CEPH_TEST_MGR:-1}
pool=rbd

die() {
  echo "$0: $*" >&2
  exit 1
}

need() {
  local tool=$1 package=$2
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found: install the Debian package $package (scripts/deps.sh does)"
}

now_ms() { date +%s%3N; }

# Waits until "$@" succeeds, at most timeout_s seconds; $what names it in the error.
wait_for() {
  local what=$1
  shift
  local deadline=$(($(date +%s) + timeout_s))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$0: timed out after ${timeout_s} s waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

# Kills the daemons whose pid files are in DIR/run: SIGTERM, then SIGKILL for any
# still alive after a grace period (ceph-osd ignores SIGTERM for a few seconds).
stop_daemons() {
  local run=$1 pids=() pid f
  [ -d "$run" ] || return 0
  for f in "$run"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    # Only our own daemons: the process must run a ceph binary.
    case "$(cat "/proc/$pid/comm" 2>/dev/null || true)" in
    ceph-*) pids+=("$pid") ;;
    esac
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local deadline=$(($(date +%s) + ${CEPH_TEST_STOP_GRACE:-5}))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 1 ] || return 0
    sleep 0.2
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  # Bounded: a SIGKILLed process is reaped by its parent (init) promptly.
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 1 ] || return 0
    sleep 0.1
  done
  echo "$0: some ceph daemons did not exit: ${pids[*]}" >&2
}

case "$cmd" in
start)
  need ceph-mon ceph-mon
  need ceph-osd ceph-osd
  need ceph ceph-common
  need rbd ceph-common
  need ceph-authtool ceph-common
  need monmaptool ceph-common
  need python3 python3
  if [ "$want_mgr" = 1 ]; then need ceph-mgr ceph-mgr; fi
  [[ "$osd_count" =~ ^[1-9][0-9]?$ ]] || die "CEPH_TEST_OSDS must be 1..99"
  case "$objectstore" in memstore | bluestore) ;; *) die "CEPH_TEST_OBJECTSTORE must be memstore or bluestore" ;; esac
  [[ "$osd_bytes" =~ ^[0-9]+$ ]] || die "CEPH_TEST_OSD_BYTES must be a byte count"

  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    die "$dir exists and is not empty"
  fi
  mkdir -p "$dir" 2>/dev/null || die "cannot create $dir (run as root, or pick a directory you can write)"
  dir=$(cd "$dir" && pwd)
  [ -w "$dir" ] || die "cannot write $dir (run as root, or pick a directory you can write)"
  chmod 700 "$dir"
  mkdir -p "$dir/run" "$dir/log" "$dir/mon"
  t0=$(now_ms)
  # If anything below fails, leave no daemon behind.
  trap 'stop_daemons "$dir/run"' ERR

  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  port=$(free_port)
  mon="127.0.0.1:$port"
  conf=$dir/ceph.conf
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v1:$mon]
mon initial members = a
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
# One host: place replicas across OSDs, not hosts.
osd crush chooseleaf type = 0
osd objectstore = $objectstore
memstore device bytes = $osd_bytes
bluestore block create = true
bluestore block size = $osd_bytes
run dir = $dir/run
osd data = $dir/osd\$id
mon data = $dir/mon
mgr data = $dir/mgr
keyring = $dir/keyring
public addr = 127.0.0.1
ms bind msgr1 = true
ms bind msgr2 = false
# Quiet a throwaway cluster: no warnings about a pool of size 1 or missing
# memory targets, and a small OSD cache.
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
osd memory target = 939524096
# Daemons only: clients (rbd, librbd in scsipub) keep their defaults (no log
# file, no admin socket), so many clients never collide on one socket.
EOF
  for section in mon mgr osd; do
    cat >>"$conf" <<EOF
[$section]
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
EOF
  done

  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$dir/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v1:$mon]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" >"$dir/log/mkfs-mon.log" 2>&1 ||
    { cat "$dir/log/mkfs-mon.log" >&2; false; }
  ceph-mon -c "$conf" -i a 2>>"$dir/log/start.log"
  wait_for "the monitor" ceph -c "$conf" --connect-timeout 5 mon stat
  t_mon=$(now_ms)

  if [ "$want_mgr" = 1 ]; then
    mkdir -p "$dir/mgr"
    ceph -c "$conf" auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
      -o "$dir/mgr/keyring" >/dev/null
    ceph-mgr -c "$conf" -i x --keyring "$dir/mgr/keyring" 2>>"$dir/log/start.log"
  fi

  for ((i = 0; i < osd_count; i++)); do
    uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
    id=$(ceph -c "$conf" osd new "$uuid")
    mkdir -p "$dir/osd$id"
    ceph-authtool --create-keyring "$dir/osd$id/keyring" --gen-key -n "osd.$id" >/dev/null
    ceph -c "$conf" auth add "osd.$id" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
      -i "$dir/osd$id/keyring" >/dev/null 2>&1
    ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" --keyring "$dir/osd$id/keyring" \
      >"$dir/log/mkfs-osd$id.log" 2>&1 || { cat "$dir/log/mkfs-osd$id.log" >&2; false; }
    ceph-osd -c "$conf" -i "$id" --keyring "$dir/osd$id/keyring" 2>>"$dir/log/start.log"
  done
  osds_up() {
    local up
    up=$(ceph -c "$conf" --connect-timeout 5 osd stat -f json | python3 -c 'import json,sys; print(json.load(sys.stdin)["num_up_osds"])')
    [ "$up" -ge "$osd_count" ]
  }
  wait_for "$osd_count OSD(s) up" osds_up
  t_osd=$(now_ms)

  ceph -c "$conf" osd pool create "$pool" 8 8 >/dev/null 2>&1
  ceph -c "$conf" osd pool set "$pool" size 1 --yes-i-really-mean-it >/dev/null 2>&1 || true
  # Bounded: `rbd pool init` waits for the pool's placement groups.
  timeout "$timeout_s" rbd -c "$conf" pool init "$pool"
  t_pool=$(now_ms)

  cat >"$dir/env" <<EOF
CEPH_CONF=$conf
CEPH_POOL=$pool
CEPH_USER=admin
CEPH_KEYRING=$dir/keyring
CEPH_MON=$mon
EOF
  trap - ERR
  mgr_note=""
  [ "$want_mgr" = 1 ] && mgr_note=" + mgr (started, not waited for)"
  echo "mon ${mon}: $(((t_mon - t0)))ms; $osd_count $objectstore OSD(s)$mgr_note: $(((t_osd - t_mon)))ms; pool $pool: $(((t_pool - t_osd)))ms"
  total=$((t_pool - t0))
  printf 'ceph cluster up in %d.%01d s (%s)\n' $((total / 1000)) $(((total % 1000) / 100)) "$dir/env"
  ;;
stop)
  if [ -d "$dir" ]; then
    stop_daemons "$dir/run"
    rm -rf "$dir"
  fi
  ;;
*)
  usage
  ;;
esac
