#!/bin/bash
# The provisioned-disk session API over real HTTP (curl), against SQLite and
# then PostgreSQL (when SCSIPUB_TEST_PG_URL is set; the half is skipped otherwise).
#
#   provisioned_api.sh SCSIPUB_BIN PROVISIONED_CLIENT_BIN
#
# Per backend: `account create --json` (and list), GET /images without a token,
# POST a disk [blank, test] -> 201 with every documented field, GET list / GET id,
# 401 (no token, unknown token, malformed header), 400 (bad JSON, unknown field,
# empty images, unknown image, images not an array), 403 over max_disks and
# max_luns_per_disk (a config tier "one": 1 disk, 2 LUNs), 404 for unknown ids
# and for another account's disk (GET and DELETE), 405, a CHAP login to the
# disk, DELETE -> 204 while a session is logged in, then GET -> 404, the
# disk's directory is gone, the iSCSI login fails, a second DELETE -> 404.
# Prints "N passed, N failed"; exit 0 only when all passed, 77 when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=provisioned_lib.sh
source "$here/provisioned_lib.sh"

(($# == 2)) || { echo "usage: $0 SCSIPUB_BIN PROVISIONED_CLIENT_BIN" >&2; exit 2; }
prov_init "$1" "$2"

config=$INTEG_TMP/api.toml
cat >"$config" <<'EOF'
[tiers.standard]

[tiers.one]
max_disks = 1
max_luns_per_disk = 2
blank_size = 2097152
EOF

run_backend() {
  prov_use_backend "$1"
  start_scsipub "$PROV_BIN" --config "$config" "${PROV_DB_ARGS[@]}" || { failc "server starts"; return; }
  local image_size
  image_size=$(stat -c %s "$SCSIPUB_IMAGES_DIR/test.img")

  # ---- accounts ----
  check "account create --json prints id, tier, a 64-hex token (A)" prov_account standard --config "$config"
  local a_id=$ACC_ID a_tok=$ACC_TOKEN
  check "account create (B)" prov_account standard --config "$config"
  local b_tok=$ACC_TOKEN
  check "account create --tier one (C)" prov_account one --config "$config"
  local c_tok=$ACC_TOKEN
  expect_no_match "two accounts get different tokens" "$a_tok" "^$b_tok\$"
  local out rc=0
  out=$(scsipub_cli --config "$config" account create --tier nosuchtier --json 2>&1) || rc=$?
  expect_match "account create with an unknown tier fails" "$rc" '^[1-9]'
  out=$(scsipub_cli --config "$config" account list --json 2>/dev/null || true)
  expect_eq "account list --json has 3 accounts" "$(jq -r 'length' <<<"$out" 2>/dev/null)" 3
  expect_eq "account list --json shows account A's tier" \
    "$(jq -r --arg id "$a_id" '.[] | select(.id == $id) | .tier' <<<"$out" 2>/dev/null)" standard
  expect_no_match "account list does not print tokens" "$out" "$a_tok"
  # The order documented in the brief and docs/PROVISIONED.md ("use the same
  # --config, --data-dir or --database as serve"): the flags after `create`/`list`.
  rc=0
  out=$(timeout -k 5 60 "$PROV_BIN" account create --tier standard --json --data-dir "$SCSIPUB_DATA_DIR" \
    "${PROV_DB_ARGS[@]}" --config "$config" 2>&1) || rc=$?
  expect_match "documented order: account create --tier T --json --data-dir D [--database U] --config F" \
    "$rc $(jq -r '.token' <<<"$out" 2>/dev/null || echo "$out")" '^0 [0-9a-f]{64}$'
  local d_id
  d_id=$(jq -r '.id' <<<"$out" 2>/dev/null || true)
  rc=0
  out=$(timeout -k 5 60 "$PROV_BIN" account list --json --data-dir "$SCSIPUB_DATA_DIR" "${PROV_DB_ARGS[@]}" \
    --config "$config" 2>&1) || rc=$?
  expect_match "documented order: account list --json --data-dir D [--database U] --config F" \
    "$rc $(jq -r 'length' <<<"$out" 2>/dev/null || echo "$out")" '^0 [34]$'
  if [[ -z $d_id || $d_id == null ]]; then
    prov_account standard --config "$config" || true
    d_id=$ACC_ID
  fi
  rc=0
  scsipub_cli --config "$config" account delete "$d_id" >/dev/null 2>&1 || rc=$?
  expect_eq "account delete of an account without disks -> exit 0" "$rc" 0
  out=$(scsipub_cli --config "$config" account list --json 2>/dev/null || true)
  expect_eq "account list --json: 3 accounts after the delete" "$(jq -r 'length' <<<"$out" 2>/dev/null)" 3
  rc=0
  scsipub_cli --config "$config" account delete nosuchaccount >/dev/null 2>&1 || rc=$?
  expect_match "account delete of an unknown id fails" "$rc" '^[1-9]'

  # ---- images (no token) ----
  api GET /api/v1/images
  expect_eq "GET /images without a token -> 200" "$HTTP_CODE" 200
  expect_eq "images lists blank" "$(jqb '[.images[].name] | index("blank") != null')" true
  expect_eq "images lists test with its size" "$(jqb '.images[] | select(.name == "test") | .size_bytes')" "$image_size"
  expect_eq "images: test's target" "$(jqb '.images[] | select(.name == "test") | .target')" "$IQN_PREFIX:image.test"

  # ---- 401 ----
  api GET /api/v1/disks
  expect_eq "GET /disks without a token -> 401" "$HTTP_CODE" 401
  check "401 body is {\"error\": ...}" is_json_error
  api POST /api/v1/disks "" '{"images":["blank"]}'
  expect_eq "POST /disks without a token -> 401" "$HTTP_CODE" 401
  local wrong
  wrong=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  api POST /api/v1/disks "$wrong" '{"images":["blank"]}'
  expect_eq "POST /disks with an unknown 64-hex token -> 401" "$HTTP_CODE" 401
  api GET /api/v1/disks "${a_tok}x"
  expect_eq "GET /disks with a mangled token -> 401" "$HTTP_CODE" 401
  HTTP_CODE=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' -H "Authorization: Basic $a_tok" \
    "http://$INTEG_HOST:$SCSIPUB_HTTP_PORT/api/v1/disks" 2>/dev/null) || HTTP_CODE=000
  expect_eq "GET /disks with a non-Bearer Authorization -> 401" "$HTTP_CODE" 401

  # ---- 400 ----
  api POST /api/v1/disks "$a_tok" '{"images": ["blank"'
  expect_eq "POST bad JSON -> 400" "$HTTP_CODE" 400
  check "400 body is {\"error\": ...}" is_json_error
  api POST /api/v1/disks "$a_tok" ''
  expect_eq "POST empty body -> 400" "$HTTP_CODE" 400
  api POST /api/v1/disks "$a_tok" '{"images":["blank"],"size":5}'
  expect_eq "POST unknown field -> 400" "$HTTP_CODE" 400
  api POST /api/v1/disks "$a_tok" '{"images":[]}'
  expect_eq "POST empty images -> 400" "$HTTP_CODE" 400
  api POST /api/v1/disks "$a_tok" '{"images":["nosuchimage"]}'
  expect_eq "POST unknown image -> 400" "$HTTP_CODE" 400
  check "unknown image: {\"error\": ...}" is_json_error
  api POST /api/v1/disks "$a_tok" '{"images":"blank"}'
  expect_eq "POST images not an array -> 400" "$HTTP_CODE" 400
  api POST /api/v1/disks "$a_tok" '["blank"]'
  expect_eq "POST a JSON array body -> 400" "$HTTP_CODE" 400
  api GET /api/v1/disks "$a_tok"
  expect_eq "no disk was created by the refused requests" "$(jqb '.disks | length')" 0

  # ---- create ----
  if create_disk "$a_tok" '["blank","test"]'; then pass "POST [blank,test] -> 201"; else failc "POST [blank,test] -> 201"; fi
  local id=$DISK_ID target=$DISK_TARGET user=$DISK_USER secret=$DISK_SECRET
  log "disk $id target $target"
  expect_match "id is non-empty and path-safe" "$id" '^[A-Za-z0-9._-]+$'
  expect_eq "target is iqn...:disk.<id>" "$target" "$IQN_PREFIX:disk.$id"
  local j=$DISK_JSON
  HTTP_BODY=$j
  expect_eq "2 LUNs" "$(jqb '.luns | length')" 2
  expect_eq "LUN 0: lun, image" "$(jqb '.luns[0] | "\(.lun) \(.image)"')" "0 blank"
  expect_eq "LUN 0: 1 GiB (standard blank_size)" "$(jqb '.luns[0].size_bytes')" 1073741824
  expect_eq "LUN 1: lun, image" "$(jqb '.luns[1] | "\(.lun) \(.image)"')" "1 test"
  expect_eq "LUN 1: the image's size" "$(jqb '.luns[1].size_bytes')" "$image_size"
  expect_eq "luns have overlay_bytes and write_limit numbers" \
    "$(jqb '[.luns[] | (.overlay_bytes | type), (.write_limit | type)] | unique | join(",")')" number
  expect_match "chap.user" "$user" '^[A-Za-z0-9._:-]+$'
  expect_match "chap.secret (12-16 characters)" "$secret" '^.{12,16}$'
  expect_match "chap.mutual_secret (12-16 characters)" "$DISK_MUTUAL" '^.{12,16}$'
  expect_no_match "secret and mutual_secret differ" "$secret" "^$DISK_MUTUAL\$"
  expect_eq "portals.plain is the public host:port" "$(jqb .portals.plain)" "$INTEG_HOST:$SCSIPUB_PORT"
  expect_eq "portals has a tls key (null for now)" "$(jqb '.portals | has("tls")')" true
  expect_match "created is RFC 3339" "$(jqb .created)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
  expect_eq "expires is null (no expiry in the tier)" "$(jqb .expires)" null
  expect_eq "sessions is an empty array" "$(jqb '.sessions | length')" 0
  expect_match "iscsiadm.discovery is a non-empty list of commands" \
    "$(jqb '[.iscsiadm.discovery[] | select(type == "string")] | length')" '^[1-9]'
  expect_match "iscsiadm.static is a non-empty list" "$(jqb '.iscsiadm.static | length')" '^[1-9]'
  expect_match "iscsiadm commands name the target and the CHAP user" \
    "$(jqb '.iscsiadm.static | join(" ")')" "$target.*$user|$user.*$target"
  check "DATA_DIR/disks/<id>/lun0.img and lun1.img exist" \
    test -f "$SCSIPUB_DATA_DIR/disks/$id/lun0.img" -a -f "$SCSIPUB_DATA_DIR/disks/$id/lun1.img"

  # ---- list / get ----
  api GET /api/v1/disks "$a_tok"
  expect_eq "GET /disks -> 200" "$HTTP_CODE" 200
  expect_eq "GET /disks lists the disk" "$(jqb '[.disks[].id] | join(",")')" "$id"
  expect_eq "GET /disks: target and 2 LUNs" "$(jqb '.disks[0] | "\(.target) \(.luns | length)"')" "$target 2"
  expect_no_match "GET /disks does not show the CHAP secret" "$HTTP_BODY" "$secret"
  api GET "/api/v1/disks/$id" "$a_tok"
  expect_eq "GET /disks/<id> -> 200" "$HTTP_CODE" 200
  expect_eq "GET /disks/<id>: same id, target, user, secret" \
    "$(jqb '"\(.id) \(.target) \(.chap.user) \(.chap.secret)"')" "$id $target $user $secret"
  expect_eq "GET /disks/<id>: sessions empty" "$(jqb '.sessions | length')" 0

  # ---- 404 / other account ----
  api GET /api/v1/disks/0123456789abcdef "$a_tok"
  expect_eq "GET unknown id -> 404" "$HTTP_CODE" 404
  check "404 body is {\"error\": ...}" is_json_error
  api DELETE /api/v1/disks/0123456789abcdef "$a_tok"
  expect_eq "DELETE unknown id -> 404" "$HTTP_CODE" 404
  api GET "/api/v1/disks/$id" "$b_tok"
  expect_eq "account B: GET A's disk -> 404" "$HTTP_CODE" 404
  api DELETE "/api/v1/disks/$id" "$b_tok"
  expect_eq "account B: DELETE A's disk -> 404" "$HTTP_CODE" 404
  api GET /api/v1/disks "$b_tok"
  expect_eq "account B: GET /disks is empty" "$(jqb '.disks | length')" 0
  check "A's disk survived B's DELETE" test -d "$SCSIPUB_DATA_DIR/disks/$id"
  api PUT "/api/v1/disks/$id" "$a_tok" '{}'
  expect_eq "PUT /disks/<id> -> 405" "$HTTP_CODE" 405

  # ---- 403: tier "one" (max_disks 1, max_luns_per_disk 2) ----
  api POST /api/v1/disks "$c_tok" '{"images":["blank","blank","blank"]}'
  expect_eq "3 LUNs over max_luns_per_disk=2 -> 403" "$HTTP_CODE" 403
  check "403 body is {\"error\": ...}" is_json_error
  if create_disk "$c_tok" '["blank","test"]'; then pass "tier one: first disk (2 LUNs) -> 201"; else failc "tier one: first disk -> 201"; fi
  expect_eq "tier one: blank LUN has the tier's blank_size" "$(jq -r '.luns[0].size_bytes' <<<"$DISK_JSON")" 2097152
  api POST /api/v1/disks "$c_tok" '{"images":["blank"]}'
  expect_eq "tier one: second disk over max_disks=1 -> 403" "$HTTP_CODE" 403
  api GET /api/v1/disks "$c_tok"
  expect_eq "tier one: still one disk" "$(jqb '.disks | length')" 1

  # ---- iSCSI login, then DELETE under a live session ----
  local url
  url=$(disk_url "$user" "$secret" "$target" 0)
  client login "$url"
  expect_match "CHAP login to the new disk works" "$CLIENT_OUT" 'login ok lun=0 blocks=2097152 block_size=512'
  local hold_out=$INTEG_TMP/hold.out hold_pid
  # Emptied first: the job's own redirection runs in the child, and the
  # PostgreSQL pass would otherwise still see the SQLite pass's "written".
  : >"$hold_out"
  timeout -k 5 60 "$PROV_CLIENT" write "$url" 7 --hold 50 >"$hold_out" 2>&1 &
  hold_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do grep -q '^written' "$hold_out" && break; sleep 0.1; done
  check "a session is logged in and has written" grep -q '^written' "$hold_out"
  api GET "/api/v1/disks/$id" "$a_tok"
  expect_eq "GET /disks/<id> shows the live session" \
    "$(jqb '.sessions[0].initiator_name')" "iqn.2025-01.test.provisioned:client"
  api DELETE "/api/v1/disks/$id" "$a_tok"
  expect_eq "DELETE /disks/<id> -> 204" "$HTTP_CODE" 204
  api GET "/api/v1/disks/$id" "$a_tok"
  expect_eq "GET after DELETE -> 404" "$HTTP_CODE" 404
  api GET /api/v1/disks "$a_tok"
  expect_eq "GET /disks after DELETE is empty" "$(jqb '.disks | length')" 0
  for ((i = 0; i < 100; i++)); do [[ -e $SCSIPUB_DATA_DIR/disks/$id ]] || break; sleep 0.1; done
  check "DATA_DIR/disks/<id> is gone (the live session was logged out)" test ! -e "$SCSIPUB_DATA_DIR/disks/$id"
  kill "$hold_pid" 2>/dev/null || true
  wait "$hold_pid" 2>/dev/null || true
  client login "$url"
  expect_match "iSCSI login to the deleted disk fails" "$CLIENT_OUT" '^login failed status=0[23]/'
  api DELETE "/api/v1/disks/$id" "$a_tok"
  expect_eq "second DELETE -> 404" "$HTTP_CODE" 404
  # With the disk gone, account A can create again.
  if create_disk "$a_tok" '["test"]'; then pass "A creates another disk after the DELETE"; else failc "A creates another disk after the DELETE"; fi

  rc=0
  scsipub_cli --config "$config" account delete "$a_id" >/dev/null 2>&1 || rc=$?
  expect_match "account delete of an account that owns a disk is refused" "$rc" '^[1-9]'
  api GET /api/v1/disks "$a_tok"
  expect_eq "... and its disk is still there" "$(jqb '.disks | length')" 1

  check "server still running" server_alive
  if stop_scsipub; then pass "SIGTERM: exit 0"; else failc "SIGTERM: exit 0"; fi
}

for backend in $(prov_backends); do run_backend "$backend"; done
prov_note_pg_skip
prov_summary
