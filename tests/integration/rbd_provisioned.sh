#!/bin/bash
# Provisioned disks on Ceph RBD ([ceph] configured), against a throwaway
# single-host cluster this test starts and stops (scripts/ceph-test-cluster.sh).
#
#   rbd_provisioned.sh SCSIPUB_BIN PROVISIONED_CLIENT_BIN
#
#   1. a disk [test, blank] provisioned through the session API: a base image
#      imported into the pool (snapshot protected), LUN 0 a clone of it,
#      LUN 1 a fresh image; nothing under DATA_DIR/disks/<id>.
#   2. libiscsi (CHAP): write both LUNs (+ SYNCHRONIZE CACHE), read back (LUN 0
#      the catalog image beyond what was written), UNMAP reads back zeros.
#   3. a second RBD client cannot write the LUN while the node holds the
#      exclusive lock: its write fails, the data is unchanged.
#   4. SIGTERM + restart: data intact, the API's overlay_bytes of each LUN is
#      what `rbd du` says the image holds. kill -9 + restart: the new process
#      takes the dead one's lock over and the synced data is intact.
#   5. DELETE the disk: its images leave the pool, the base stays.
# Also: the orphan sweep at start keeps a young image of no disk record.
# Skips (77) unless root and the ceph packages are installed, or when this
# build has no RBD support. Prints "N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=provisioned_lib.sh
source "$here/provisioned_lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN PROVISIONED_CLIENT_BIN" >&2; exit 2; }
if [[ $(id -u) -ne 0 ]]; then
  log "SKIP: the test Ceph cluster runs as root here"
  exit "$INTEG_SKIP"
fi
require_tools ceph-mon ceph-osd ceph rbd ceph-authtool monmaptool
prov_init "$1" "$2"
cluster_script=$here/../../scripts/ceph-test-cluster.sh

CEPH_DIR=$INTEG_TMP/ceph
integ_on_exit "'$cluster_script' stop '$CEPH_DIR' >/dev/null 2>&1"
# No mgr: RBD does not need one, and the test starts faster without it.
CEPH_TEST_MGR=0 "$cluster_script" start "$CEPH_DIR" >"$INTEG_TMP/ceph-start.log" 2>&1 || {
  cat "$INTEG_TMP/ceph-start.log" >&2
  die "the test Ceph cluster did not start"
}
log "$(tail -1 "$INTEG_TMP/ceph-start.log")"
# shellcheck disable=SC1091
source "$CEPH_DIR/env"
rbd_cli() { timeout -k 5 60 rbd -c "$CEPH_CONF" --id "$CEPH_USER" --keyring "$CEPH_KEYRING" "$@"; }

prefix="it$$-"
config=$INTEG_TMP/ceph.toml
cat >"$config" <<CONF
[ceph]
conf = "$CEPH_CONF"
pool = "$CEPH_POOL"
user = "$CEPH_USER"
keyring = "$CEPH_KEYRING"
image_prefix = "$prefix"
op_timeout_seconds = 20
CONF

# What a crash between creating a disk's images and storing its record
# leaves: the orphan sweep at start must keep it (younger than the grace
# period: it could be a disk being created right now on another node).
young_orphan="${prefix}disk-0123456789abcdef-lun0"
rbd_cli create --size 1 "$CEPH_POOL/$young_orphan"

prov_use_backend sqlite
start_scsipub "$PROV_BIN" --config "$config" || {
  if grep -q "no Ceph RBD support" "$SCSIPUB_LOG"; then
    log "SKIP: this scsipub was built without Ceph RBD support"
    exit "$INTEG_SKIP"
  fi
  die "scsipub with [ceph] did not start"
}
expect_match "the log names the RBD storage" "$(cat "$SCSIPUB_LOG")" "provisioned disks on Ceph RBD: pool $CEPH_POOL"
image=$SCSIPUB_IMAGES_DIR/test.img
expect_match "the orphan sweep runs" "$(cat "$SCSIPUB_LOG")" "orphan sweep of pool $CEPH_POOL: every 600 s"
sweeps=0
for _ in $(seq 50); do
  api GET /metrics
  sweeps=$(grep -E '^scsipub_storage_sweeps_total ' <<<"$HTTP_BODY" | awk '{print $2}')
  [[ ${sweeps:-0} -ge 1 ]] && break
  sleep 0.2
done
expect_eq "/metrics: the sweep at start ran" "${sweeps:-0}" 1
expect_match "/metrics: nothing removed" "$HTTP_BODY" $'scsipub_storage_orphans_removed_total 0'
expect_match "a young orphan is kept" "$(rbd_cli ls "$CEPH_POOL")" "$young_orphan"
rbd_cli rm "$CEPH_POOL/$young_orphan" >/dev/null 2>&1

# ---- 1. provision ----
prov_account standard || die "account"
tok=$ACC_TOKEN
create_disk "$tok" '["test","blank"]' || die "create disk"
id=$DISK_ID target=$DISK_TARGET user=$DISK_USER secret=$DISK_SECRET
images=$(rbd_cli ls "$CEPH_POOL")
image_bytes=$(( ($(stat -c %s "$image") + 511) / 512 * 512 ))
base="${prefix}base-test-$image_bytes"
expect_eq "the catalog image was imported once, as $base" "$(grep -cx "$base" <<<"$images")" 1
expect_eq "no staging copy left behind" "$(grep -c "\.importing\." <<<"$images")" 0
expect_match "LUN 0 is an image in the pool" "$images" "${prefix}disk-$id-lun0"
expect_match "LUN 1 is an image in the pool" "$images" "${prefix}disk-$id-lun1"
expect_match "LUN 0 is a clone of $base@base" "$(rbd_cli info "$CEPH_POOL/${prefix}disk-$id-lun0")" "parent: $CEPH_POOL/$base@base"
expect_match "the base snapshot is protected" "$(rbd_cli snap ls "$CEPH_POOL/$base" --format json)" '"protected":"true"'
check "no local overlay files for the disk" test ! -e "$SCSIPUB_DATA_DIR/disks/$id/lun0.img"

# ---- 2. I/O through iSCSI ----
lun0=$(disk_url "$user" "$secret" "$target" 0)
lun1=$(disk_url "$user" "$secret" "$target" 1)
verify_both() {
  client verify "$lun0" "$2" --gen "$1" --base "$image" --initiator iqn.2025-01.test.rbd:verifier
  expect_match "$3: LUN 0 (image) reads back pattern $2, the image elsewhere" "$CLIENT_OUT" '^verify ok'
  client verify "$lun1" $(($2 + 1)) --gen "$1" --initiator iqn.2025-01.test.rbd:verifier
  expect_match "$3: LUN 1 (blank) reads back pattern $(($2 + 1))" "$CLIENT_OUT" '^verify ok'
}
client write "$lun0" 11 --sync
expect_match "write + SYNCHRONIZE CACHE to LUN 0" "$CLIENT_OUT" '^written seed=11 synced'
client write "$lun1" 12 --fua
expect_match "write with FUA to LUN 1" "$CLIENT_OUT" '^written seed=12'
verify_both 0 11 "before the restart"
client unmap "$lun1" 100000 200
expect_match "UNMAP of 200 blocks on LUN 1 reads back zeros" "$CLIENT_OUT" '^unmap ok'

# ---- 3. the exclusive lock ----
lun0_image="$CEPH_POOL/${prefix}disk-$id-lun0"
head -c 4096 /dev/urandom >"$INTEG_TMP/intruder.bin"
intruder_rc=0
timeout -k 5 60 rbd -c "$CEPH_CONF" --id "$CEPH_USER" --keyring "$CEPH_KEYRING" \
  bench --io-type write --io-size 4096 --io-total 4096 --io-pattern seq "$lun0_image" \
  >"$INTEG_TMP/intruder.log" 2>&1 || intruder_rc=$?
if ((intruder_rc != 0)); then pass "a second RBD client's write is refused (rc $intruder_rc)"; else
  failc "a second RBD client's write is refused: $(tail -3 "$INTEG_TMP/intruder.log")"
fi
verify_both 0 11 "after the refused foreign write"

# ---- 4. restarts ----
if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
MARK=$(log_line_count)
start_scsipub "$PROV_BIN" --config "$config" || die "restart"
lun0=$(disk_url "$user" "$secret" "$target" 0)
lun1=$(disk_url "$user" "$secret" "$target" 1)
expect_match "restarted: the disk reopened" "$(log_lines_since "$MARK")" 'provisioned disks: 1 of 1 opened'
verify_both 0 11 "after SIGTERM + restart"
# Measured at the reopen, so it must match what the cluster says the images
# hold of their own (rbd du: whole objects, the parent not counted).
api GET "/api/v1/disks/$id" "$tok"
for lun in 0 1; do
  du=$(rbd_cli du "$CEPH_POOL/${prefix}disk-$id-lun$lun" --format json | jq -r '.images[0].used_size')
  expect_match "LUN $lun: rbd du reports data of its own" "$du" '^[1-9][0-9]*$'
  expect_eq "LUN $lun: the API's overlay_bytes is the image's allocation (rbd du)" \
    "$(jqb ".luns[$lun].overlay_bytes")" "$du"
done
client write "$lun0" 21 --gen 1 --sync
client write "$lun1" 22 --gen 1 --sync
expect_match "write + SYNCHRONIZE CACHE (generation 1)" "$CLIENT_OUT" '^written seed=22 synced'
if kill9_scsipub; then pass "kill -9 the server"; else failc "kill -9 the server"; fi
MARK=$(log_line_count)
start_scsipub "$PROV_BIN" --config "$config" || die "restart after kill -9"
lun0=$(disk_url "$user" "$secret" "$target" 0)
lun1=$(disk_url "$user" "$secret" "$target" 1)
expect_match "after kill -9: the disk reopened (the dead process's lock taken over)" \
  "$(log_lines_since "$MARK")" 'provisioned disks: 1 of 1 opened'
verify_both 1 21 "after kill -9 + restart"
verify_both 0 11 "after kill -9 + restart, the older data"

# ---- 5. delete ----
api DELETE "/api/v1/disks/$id" "$tok"
expect_match "DELETE the disk" "$HTTP_CODE" '^20[04]$'
gone=0
for _ in $(seq 50); do
  if ! rbd_cli ls "$CEPH_POOL" | grep -q "${prefix}disk-$id-"; then gone=1; break; fi
  sleep 0.2
done
expect_eq "the disk's images left the pool" "$gone" 1
expect_match "the base stays for the next disk" "$(rbd_cli ls "$CEPH_POOL")" "$base"
check "server still running" server_alive
if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
prov_summary
