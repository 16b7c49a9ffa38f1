#!/bin/bash
# Provisioned disks over iSCSI (libiscsi: provisioned_client, iscsi-ls,
# iscsi-inq, iscsi-readcapacity16), against SQLite and then PostgreSQL (when
# SCSIPUB_TEST_PG_URL is set; the half is skipped otherwise).
#
#   provisioned_iscsi.sh SCSIPUB_BIN PROVISIONED_CLIENT_BIN
#
# Per backend, server 1 (default tiers, chap_failures_per_minute 5):
#   - account A: disk D1 [blank, test] and D2 [blank]; account B: disk E1 [blank]
#   - CHAP login to D1 sees LUN 0 = 1 GiB blank, LUN 1 = the 8 MiB test image,
#     whose content equals test.img; iscsi-inq / iscsi-readcapacity16 with CHAP
#   - mutual CHAP: right target name + secret works; wrong secret, wrong name fail
#   - discovery: anonymous lists the free targets and no disk; with D1's
#     credentials exactly A's disks (D1, D2), no free target, not B's disk;
#     iscsi-ls with the credentials the same
#   - two logins with different InitiatorNames at once: A's write read by B, B's by A
#   - written data is still there for a later login (after both logged out)
#   - refused with 02/01: wrong secret, no credentials, D2's credentials on D1
#     (3 failures: fewer than 5, so a correct login still works afterwards)
# Server 2 (same data dir; config: chap_failures_per_minute 3, max_sessions_per_disk 2):
#   - the disks are served again after the restart
#   - 3 logins at once: 2 ok, the 3rd refused (03/02); after they log out a login works
#   - 3 wrong secrets -> 02/01 each; then the RIGHT secret is refused too (02/01);
#     CHAP discovery lists no disk (refused, or settled on AuthMethod=None);
#     anonymous login to blank still works
# Prints "N passed, N failed"; exit 0 only when all passed, 77 when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=provisioned_lib.sh
source "$here/provisioned_lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN PROVISIONED_CLIENT_BIN" >&2; exit 2; }
prov_init "$1" "$2"
require_tools iscsi-ls iscsi-inq iscsi-readcapacity16

strict=$INTEG_TMP/strict.toml
cat >"$strict" <<'EOF'
[auth]
chap_failures_per_minute = 3

[tiers.standard]
max_sessions_per_disk = 2
EOF

# sorted_targets: the "target NAME" lines of CLIENT_OUT, names only, sorted, comma-joined.
sorted_targets() { sed -n 's/^target \([^ ]*\).*/\1/p' <<<"$CLIENT_OUT" | sort | paste -sd, -; }

run_backend() {
  prov_use_backend "$1"
  start_scsipub "$PROV_BIN" "${PROV_DB_ARGS[@]}" || { failc "server starts"; return; }
  local image=$SCSIPUB_IMAGES_DIR/test.img image_blocks
  image_blocks=$(($(stat -c %s "$image") / 512))

  prov_account standard || { failc "account A"; return; }
  local a_tok=$ACC_TOKEN
  prov_account standard || { failc "account B"; return; }
  local b_tok=$ACC_TOKEN
  create_disk "$a_tok" '["blank","test"]' || { failc "create D1"; return; }
  local d1=$DISK_TARGET d1_user=$DISK_USER d1_secret=$DISK_SECRET d1_mutual=$DISK_MUTUAL
  create_disk "$a_tok" '["blank"]' || { failc "create D2"; return; }
  local d2=$DISK_TARGET d2_user=$DISK_USER d2_secret=$DISK_SECRET
  create_disk "$b_tok" '["blank"]' || { failc "create E1"; return; }
  local e1=$DISK_TARGET e1_user=$DISK_USER e1_secret=$DISK_SECRET
  pass "2 accounts, 3 disks created over the API"
  local d1_0 d1_1 d1_0_anon
  d1_0=$(disk_url "$d1_user" "$d1_secret" "$d1" 0)
  d1_1=$(disk_url "$d1_user" "$d1_secret" "$d1" 1)
  d1_0_anon=$(disk_url "" "" "$d1" 0)

  # ---- what the disk looks like ----
  client luns "$d1_0"
  expect_eq "CHAP login: REPORT LUNS + capacities" "$(grep '^lun ' <<<"$CLIENT_OUT" | paste -sd, -)" \
    "lun 0 blocks 2097152 block_size 512,lun 1 blocks $image_blocks block_size 512"
  client compare "$d1_1" "$image"
  expect_match "LUN 1 content equals test.img" "$CLIENT_OUT" '^compare ok'
  local out
  out=$(timeout -k 5 60 iscsi-readcapacity16 "$d1_0" 2>&1 || true)
  expect_match "iscsi-readcapacity16 with CHAP: LUN 0 is 1 GiB" "$out" 'Total size:1073741824'
  out=$(timeout -k 5 60 iscsi-inq "$d1_1" 2>&1 || true)
  expect_match "iscsi-inq with CHAP on LUN 1: an image LU" "$out" 'Product:IMAGE DISK'

  # ---- mutual CHAP ----
  client login "$d1_0" --target-user "$d1" --target-secret "$d1_mutual"
  expect_match "mutual CHAP with the target's name and mutual_secret works" "$CLIENT_OUT" '^login ok'
  client login "$d1_0" --target-user "$d1" --target-secret "${d1_mutual}x"
  expect_eq "mutual CHAP with a wrong target secret fails" "$CLIENT_RC" 1
  expect_match "... because the target's CHAP_R is wrong" "$CLIENT_OUT" 'Invalid CHAP_R|CHAP_R'
  client login "$d1_0" --target-user "$IQN_PREFIX:someone-else" --target-secret "$d1_mutual"
  expect_match "mutual CHAP expecting another target name fails" "$CLIENT_OUT" 'login failed.*(CHAP targetname|CHAP_N)'

  # ---- discovery ----
  client discover "$INTEG_HOST:$SCSIPUB_PORT"
  local anon
  anon=$(sorted_targets)
  expect_match "anonymous discovery lists the free targets" "$anon" "$IQN_PREFIX:blank"
  expect_match "anonymous discovery lists image.test and multi" "$anon" "image\.test.*multi"
  expect_no_match "anonymous discovery lists no disk" "$anon" 'disk\.'
  expect_match "discovery portal is the public host:port" "$CLIENT_OUT" "portal $INTEG_HOST:$SCSIPUB_PORT"
  client discover "$d1_user%$d1_secret@$INTEG_HOST:$SCSIPUB_PORT"
  expect_eq "CHAP discovery with D1's credentials: exactly account A's disks" \
    "$(sorted_targets)" "$(printf '%s\n' "$d1" "$d2" | sort | paste -sd, -)"
  client discover "$e1_user%$e1_secret@$INTEG_HOST:$SCSIPUB_PORT"
  expect_eq "CHAP discovery with E1's credentials: only account B's disk" "$(sorted_targets)" "$e1"
  out=$(timeout -k 5 60 iscsi-ls "iscsi://$d1_user%$d1_secret@$INTEG_HOST:$SCSIPUB_PORT" 2>&1 || true)
  printf '%s\n' "$out" | sed 's/^/    | /' >&2
  expect_match "iscsi-ls with D1's credentials lists D1 and D2" "$out" "($d1.*$d2|$d2.*$d1)"
  expect_no_match "iscsi-ls with credentials lists no free target, not B's disk" "$out" "(:blank|image\.|:multi|$e1)"

  # ---- shared LUs ----
  client shared "$d1_0"
  expect_match "two logins at once: B reads A's pattern" "$CLIENT_OUT" 'shared: B read A.s pattern'
  expect_match "two logins at once: A reads B's pattern" "$CLIENT_OUT" 'shared: A read B.s pattern'
  expect_eq "shared: no failure" "$CLIENT_RC" 0
  client shared "$d1_1"
  expect_eq "shared on the image LUN too" "$CLIENT_RC" 0
  client write "$d1_0" 21 --initiator iqn.2025-01.test.provisioned:writer
  client write "$d1_1" 22 --initiator iqn.2025-01.test.provisioned:writer
  client verify "$d1_0" 21 --initiator iqn.2025-01.test.provisioned:reader --isid 9
  expect_match "a later login (other name) reads what an earlier one wrote (LUN 0)" "$CLIENT_OUT" '^verify ok'
  client verify "$d1_1" 22 --base "$image" --initiator iqn.2025-01.test.provisioned:reader --isid 9
  expect_match "... and on LUN 1, with the base image between the writes" "$CLIENT_OUT" '^verify ok'
  client verify "$(disk_url "$d2_user" "$d2_secret" "$d2" 0)" 21
  expect_eq "D2 is a different disk (does not hold D1's data)" "$CLIENT_RC" 1

  # ---- refusals (3 CHAP failures, below the limit of 5) ----
  client login "$(disk_url "$d1_user" "${d1_secret}x" "$d1" 0)"
  expect_match "wrong secret -> 02/01" "$CLIENT_OUT" '^login failed status=02/01'
  client login "$d1_0_anon"
  expect_match "no credentials -> 02/01" "$CLIENT_OUT" '^login failed status=02/01'
  client login "$(disk_url "$d2_user" "$d2_secret" "$d1" 0)"
  expect_match "another disk's credentials -> 02/01" "$CLIENT_OUT" '^login failed status=02/01'
  client login "$d1_0"
  expect_match "after 3 failures (< 5) the right secret still works" "$CLIENT_OUT" '^login ok'
  check "the server logged the CHAP failures" grep -q 'CHAP authentication from 127.0.0.1' "$SCSIPUB_LOG"
  check "server still running" server_alive
  if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi

  # ---- server 2: chap_failures_per_minute 3, max_sessions_per_disk 2 ----
  local mark
  mark=$(log_line_count)
  start_scsipub "$PROV_BIN" --config "$strict" "${PROV_DB_ARGS[@]}" || { failc "server 2 starts"; return; }
  d1_0=$(disk_url "$d1_user" "$d1_secret" "$d1" 0)
  check "restarted server names D1 among its targets" grep -q "target $d1\$" <(log_lines_since "$mark")
  client verify "$d1_0" 21
  expect_match "after a restart D1 still holds the data" "$CLIENT_OUT" '^verify ok'
  client sessions "$d1_0" 3
  expect_eq "max_sessions_per_disk 2: sessions 0 and 1 log in" "$(grep -c '^session [01] ok' <<<"$CLIENT_OUT")" 2
  expect_match "max_sessions_per_disk 2: the 3rd is refused with 03/02" "$CLIENT_OUT" 'session 2 login failed status=03/02'
  # The limit is per disk: with D1 full, D2 still takes two.
  local held=$INTEG_TMP/held.out held_pid i
  # Emptied first: the job's own redirection runs in the child, and the
  # PostgreSQL pass would otherwise still see the SQLite pass's lines.
  : >"$held"
  timeout -k 5 60 "$PROV_CLIENT" sessions "$d1_0" 2 --hold 30 >"$held" 2>&1 &
  held_pid=$!
  for ((i = 0; i < 100; i++)); do grep -q '^session 1' "$held" && break; sleep 0.1; done
  expect_eq "D1 full: 2 sessions held" "$(grep -c ' ok$' "$held")" 2
  client sessions "$(disk_url "$d2_user" "$d2_secret" "$d2" 0)" 2
  expect_eq "the limit is per disk: D2 takes 2 sessions while D1 is full" "$(grep -c ' ok$' <<<"$CLIENT_OUT")" 2
  kill "$held_pid" 2>/dev/null || true
  wait "$held_pid" 2>/dev/null || true
  local ok=0
  for ((i = 0; i < 20; i++)); do
    client login "$d1_0"
    [[ $CLIENT_OUT == "login ok"* ]] && { ok=1; break; }
    sleep 0.5
  done
  expect_eq "after those sessions logged out, a new login works" "$ok" 1
  client login "$(disk_url "$d1_user" "wrong-1" "$d1" 0)"
  expect_match "failure 1 -> 02/01" "$CLIENT_OUT" '^login failed status=02/01'
  client login "$(disk_url "$d1_user" "wrong-2" "$d1" 0)"
  expect_match "failure 2 -> 02/01" "$CLIENT_OUT" '^login failed status=02/01'
  client login "$(disk_url "$d1_user" "wrong-3" "$d1" 0)"
  expect_match "failure 3 -> 02/01" "$CLIENT_OUT" '^login failed status=02/01'
  client login "$d1_0"
  expect_match "throttled: the RIGHT secret is refused with 02/01 now" "$CLIENT_OUT" '^login failed status=02/01'
  # libiscsi offers AuthMethod=CHAP,None. A throttled address gets no CHAP;
  # for discovery the target may then settle on None (anonymous discovery is
  # open to all) - but it must not list the account's disks.
  client discover "$d1_user%$d1_secret@$INTEG_HOST:$SCSIPUB_PORT"
  if [[ $CLIENT_OUT == "login failed status=02/01"* ]]; then
    pass "throttled: CHAP discovery refused (02/01)"
  else
    expect_no_match "throttled: CHAP discovery does not list the account's disks" "$(sorted_targets)" 'disk\.'
  fi
  client login "$(scsipub_url blank)"
  expect_match "throttled: an anonymous free-tier login still works" "$CLIENT_OUT" '^login ok'
  check "server still running" server_alive
  if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
}

for backend in $(prov_backends); do run_backend "$backend"; done
prov_note_pg_skip
prov_summary
