#!/bin/bash
# `scsipub image add` end to end:
#
#   image_ingest.sh SCSIPUB_BIN
#
#   1. a known raw (random bytes + a pattern, 4 MiB + 4608 bytes: a multiple
#      of 512, not of a qcow2 cluster) is added as itself and as qcow2,
#      compressed qcow2, qcow2 v2, vmdk, vhdx, vpc, xz, gzip and zstd, an ISO
#      (xorriso), and over HTTP (a download dropped half-way and resumed with
#      a Range request; a redirect);
#   2. `scsipub serve` on that images dir: every byte read over iSCSI
#      (qemu-img compare through QEMU's libiscsi driver) equals the source;
#   3. hostile or broken sources are refused with a non-zero exit and nothing
#      left behind (no file, no temporary file, no catalog row): backing file,
#      external data file, truncated qcow2, virtual-size bomb, xz bomb, sha256
#      mismatch, file:// / ftp:// and a redirect to file://, a full disk, and
#      an add interrupted with SIGINT mid-download.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

(($# == 1)) || { echo "usage: $0 SCSIPUB_BIN" >&2; exit 2; }
bin=$1
require_tools qemu-img python3 xz gzip zstd xorriso cmp sha256sum jq
if ! qemu-img --help 2>/dev/null | grep -qw iscsi; then
  log "SKIP: qemu-img has no iscsi protocol driver (install qemu-block-extra)"
  exit 77
fi

data=$INTEG_TMP/data
images=$INTEG_TMP/images
src=$INTEG_TMP/src
mkdir -p "$data" "$images" "$src"
# make_images (lib.sh) would add its own test images when test.img is
# missing; give it one so the catalog holds only what this test adds.
head -c 1048576 /dev/urandom >"$images/test.img"

write_config() { # write_config FILE [KEY=VALUE...]: the test's [catalog], with overrides
  local file=$1 kv
  shift
  declare -A keys=([max_virtual_size]=1073741824 [reserve_free_bytes]=1048576 [converter_timeout_seconds]=120)
  for kv in "$@"; do keys[${kv%%=*}]=${kv#*=}; done
  {
    echo "[catalog]"
    for kv in "${!keys[@]}"; do echo "$kv = ${keys[$kv]}"; done
  } >"$file"
}
cfg=$INTEG_TMP/catalog.toml
write_config "$cfg"
add() { timeout -k 5 300 "$bin" image add --config "$1" --data-dir "$data" --images-dir "$images" "${@:2}"; }

fail=0   # integ_check (lib.sh) sets it

# --- the known raw and its other forms ---------------------------------------
raw=$src/known.raw
python3 - "$raw" <<'PY'
import os, sys
size = (4 << 20) + 4608
data = bytearray(os.urandom(size))
for off in range(0, size, 65536):          # a pattern over the random bytes
    data[off:off + 16] = b"scsipub-pattern!"
open(sys.argv[1], "wb").write(data)
PY
qemu-img convert -q -f raw -O qcow2 "$raw" "$src/plain.qcow2"
qemu-img convert -q -f raw -O qcow2 -c "$raw" "$src/compressed.qcow2"
qemu-img convert -q -f raw -O qcow2 -o compat=0.10 "$raw" "$src/v2.qcow2"
qemu-img convert -q -f raw -O vmdk "$raw" "$src/disk.vmdk"
qemu-img convert -q -f raw -O vhdx "$raw" "$src/disk.vhdx"
# force_size: keep the exact size instead of rounding to a CHS geometry.
qemu-img convert -q -f raw -O vpc -o force_size=on "$raw" "$src/disk.vhd"
xz -c "$raw" >"$src/known.raw.xz"
gzip -c "$raw" >"$src/known.raw.gz"
zstd -q -c "$raw" >"$src/known.raw.zst"
mkdir -p "$src/isotree"
cp "$raw" "$src/isotree/known.raw"
xorriso -as mkisofs -quiet -V SCSIPUB -o "$src/cd.iso" "$src/isotree" 2>/dev/null
# Names end in .img on purpose: formats are detected by content.
cp "$src/plain.qcow2" "$src/misnamed.img"

# --- HTTP server ------------------------------------------------------------------
http_log=$INTEG_TMP/http.log
port_file=$INTEG_TMP/http.port
python3 "$here/image_ingest_http.py" "$src" "$port_file" 2>"$http_log" &
http_pid=$!
integ_on_exit "kill $http_pid 2>/dev/null; wait $http_pid 2>/dev/null"
for ((i = 0; i < 100; i++)); do [[ -s $port_file ]] && break; sleep 0.1; done
[[ -s $port_file ]] || die "HTTP server did not start"
http="http://127.0.0.1:$(<"$port_file")"

# --- accepted sources ---------------------------------------------------------------
declare -A expect   # catalog name -> the file its bytes must equal
add_ok() { # add_ok NAME SOURCE EXPECTED_FORMAT [flags...]
  local name=$1 source=$2 format=$3 out
  shift 3
  if ! out=$(add "$cfg" "$name" "$source" "$@" 2>&1); then
    log "FAIL: image add $name $source: $out"
    fail=1
    return
  fi
  printf '%s\n' "$out" >"$INTEG_TMP/add-$name.out"
  integ_check "image add $name ($format) says so" grep -q "from $format," <<<"$out"
}
add_ok raw "$raw" raw --sha256 "$(sha256sum "$raw" | cut -d' ' -f1)" --title "Known raw"
add_ok qcow2 "$src/plain.qcow2" qcow2
add_ok qcow2c "$src/compressed.qcow2" qcow2
add_ok qcow2v2 "$src/v2.qcow2" qcow2
add_ok misnamed "$src/misnamed.img" qcow2
add_ok vmdk "$src/disk.vmdk" vmdk
add_ok vhdx "$src/disk.vhdx" vhdx
add_ok vpc "$src/disk.vhd" vpc
add_ok xz "$src/known.raw.xz" xz+raw
add_ok gz "$src/known.raw.gz" gzip+raw
add_ok zst "$src/known.raw.zst" zstd+raw
add_ok iso "$src/cd.iso" iso
add_ok isodisk "$src/cd.iso" iso --presentation disk
add_ok httpqcow2 "$http/redirect/compressed.qcow2" qcow2
add_ok resumed "$http/drop/known.raw.xz" xz+raw --sha256 "$(sha256sum "$src/known.raw.xz" | cut -d' ' -f1)"
for n in raw qcow2 qcow2c qcow2v2 misnamed vmdk vhdx vpc xz gz zst httpqcow2 resumed; do expect[$n]=$raw; done
expect[iso]=$src/cd.iso
expect[isodisk]=$src/cd.iso

integ_check "the dropped download was resumed (the log says so)" grep -q "resumed from there" "$INTEG_TMP/add-resumed.out"
integ_check "the resume was a Range request" grep -q "GET /drop/known.raw.xz range=bytes=[1-9]" "$http_log"
integ_check "the redirect was followed" grep -q "GET /files/compressed.qcow2" "$http_log"
integ_check "an ISO is stored as NAME.iso" test -f "$images/iso.iso"
for n in "${!expect[@]}"; do
  [[ $n == iso || $n == isodisk ]] && continue
  integ_check "$n.img equals its source" cmp -s "$images/$n.img" "${expect[$n]}"
done
integ_check "iso.iso equals the ISO" cmp -s "$images/iso.iso" "$src/cd.iso"
list=$("$bin" image list --json --data-dir "$data" --images-dir "$images")
integ_check "image list shows the metadata" \
  test "$(jq -r '.[] | select(.name=="raw") | .title + "|" + .source_format' <<<"$list")" = "Known raw|raw"
integ_check "the stored sha256 is the file's" \
  test "$(jq -r '.[] | select(.name=="qcow2c") | .sha256' <<<"$list")" = "$(sha256sum "$images/qcow2c.img" | cut -d' ' -f1)"
integ_check "the recorded presentation" \
  test "$(jq -r '.[] | select(.name=="isodisk") | .presentation' <<<"$list")" = disk
integ_check "no temporary file is left after the adds" test -z "$(find "$images" -name '.*ingest-*')"

# --- refused sources: non-zero exit, nothing left ----------------------------------------
(
  cd "$src"
  qemu-img create -q -f qcow2 base.qcow2 4M
  qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 backed.qcow2
  qemu-img create -q -f qcow2 -b /etc/passwd -F raw hostfile.qcow2 4M
  qemu-img create -q -f qcow2 -o data_file="$src/external.raw" datafile.qcow2 4M
  head -c 300000 plain.qcow2 >truncated.qcow2
  qemu-img create -q -f qcow2 bomb.qcow2 1T
  head -c $((64 << 20)) /dev/zero | xz -c >zeros.xz
)
small_cfg=$INTEG_TMP/small.toml
write_config "$small_cfg" max_virtual_size=16777216   # 16 MiB: the 64 MiB of zeros is a bomb
full_cfg=$INTEG_TMP/full.toml
write_config "$full_cfg" reserve_free_bytes=1125899906842624   # 1 PiB must stay free: "disk full"

snapshot() { find "$images" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort; }
refuse() { # refuse DESCRIPTION EXPECTED_MESSAGE CONFIG NAME SOURCE [flags...]
  local what=$1 message=$2 config=$3 name=$4 before out rc=0
  shift 4
  before=$(snapshot)
  out=$(add "$config" "$name" "$@" 2>&1) || rc=$?
  if ((rc == 0)); then
    log "FAIL: $what: accepted"
    fail=1
    return
  fi
  integ_check "$what: refused (exit $rc): $(tail -n1 <<<"$out")" grep -q -- "$message" <<<"$out"
  integ_check "$what: nothing left in the images dir" test "$(snapshot)" = "$before"
  integ_check "$what: no catalog row" \
    test "$("$bin" image list --json --data-dir "$data" --images-dir "$images" | jq --arg n "$name" '[.[] | select(.name==$n)] | length')" = 0
}
refuse "qcow2 with a backing file" "backing file" "$cfg" bad1 "$src/backed.qcow2"
refuse "qcow2 whose backing file is a host file" "backing file" "$cfg" bad2 "$src/hostfile.qcow2"
refuse "qcow2 with an external data file" "external data file" "$cfg" bad3 "$src/datafile.qcow2"
refuse "truncated qcow2" "truncated" "$cfg" bad4 "$src/truncated.qcow2"
refuse "virtual-size bomb (1 TiB qcow2, cap 1 GiB)" "max_virtual_size" "$cfg" bad5 "$src/bomb.qcow2"
refuse "xz bomb (64 MiB of zeros, cap 16 MiB)" "decompressed size is above the cap" "$small_cfg" bad6 "$src/zeros.xz"
refuse "sha256 mismatch" "sha256 mismatch" "$cfg" bad7 "$raw" --sha256 "$(printf '0%.0s' {1..64})"
refuse "file:// URL" "unsupported URL scheme" "$cfg" bad8 "file://$raw"
refuse "ftp:// URL" "unsupported URL scheme" "$cfg" bad9 "ftp://127.0.0.1/known.raw"
refuse "redirect to file://" "download failed" "$cfg" bad10 "$http/to-file"
refuse "HTTP 404" "download failed" "$cfg" bad11 "$http/files/missing.img"
refuse "disk full (reserve_free_bytes 1 PiB)" "not enough free space" "$full_cfg" bad12 "$raw"
before=$(sha256sum "$images/raw.img")
out=$(add "$cfg" raw "$src/plain.qcow2" 2>&1) && fail=1
integ_check "an existing name without --replace is refused: $(tail -n1 <<<"$out")" grep -q "already exists" <<<"$out"
integ_check "... and the image is unchanged" test "$(sha256sum "$images/raw.img")" = "$before"
integ_check "... and so is its catalog row" test "$("$bin" image list --json --data-dir "$data" --images-dir "$images" |
  jq -r '.[] | select(.name=="raw") | .source_format')" = raw

# SIGINT in the middle of a slow download: the temp file goes too.
before=$(snapshot)
# Directly, not through add(): a background subshell would ignore SIGINT itself.
"$bin" image add --config "$cfg" --data-dir "$data" --images-dir "$images" slow "$http/slow/known.raw" \
  >"$INTEG_TMP/slow.out" 2>&1 &
slow_pid=$!
for ((i = 0; i < 100; i++)); do
  [[ -n $(find "$images" -name '.slow.ingest-*' -size +1k 2>/dev/null) ]] && break
  sleep 0.1
done
integ_check "the slow download started (a temp file exists)" test -n "$(find "$images" -name '.slow.ingest-*')"
kill -INT "$slow_pid"
slow_rc=0
wait "$slow_pid" || slow_rc=$?
integ_check "SIGINT stops image add with a non-zero exit ($slow_rc)" test "$slow_rc" -ne 0
integ_check "SIGINT: nothing left in the images dir" test "$(snapshot)" = "$before"

# --- over iSCSI -------------------------------------------------------------------------
start_scsipub "$bin"
for n in "${!expect[@]}"; do
  integ_check "image.$n over iSCSI equals its source" \
    timeout -k 5 120 qemu-img compare -q -f raw -F raw "${expect[$n]}" "$(scsipub_url "image.$n")"
done
stop_scsipub || fail=1

# --- replace and remove -----------------------------------------------------------------
integ_check "image add --replace" add "$cfg" raw "$src/known.raw.gz" --replace
integ_check "the replaced image still equals the raw" cmp -s "$images/raw.img" "$raw"
out=$("$bin" image remove --data-dir "$data" --images-dir "$images" qcow2)
integ_check "image remove deletes row and file: $out" test ! -e "$images/qcow2.img"
rm "$images/vmdk.img"
out=$("$bin" image remove --data-dir "$data" --images-dir "$images" vmdk)
integ_check "image remove of a row without its file: $out" grep -q "catalog row deleted; there was no file" <<<"$out"
integ_check "image remove of an unknown name fails" bash -c "! '$bin' image remove --data-dir '$data' --images-dir '$images' nosuch"

((fail == 0)) && log "image ingest: all checks passed"
exit "$fail"
