#!/usr/bin/env bash
# build-vm.sh CACHE_DIR — build (or reuse) a tiny bootable x86-64 VM for the
# kernel-initiator end-to-end tests, from Debian 12 packages only.
#
# Output (printed on stdout as the last line): CACHE_DIR/vm-<key>, holding
#   vmlinuz       the Debian kernel (linux-image-amd64 -> linux-image-<ver>-amd64)
#   initrd.gz     busybox-static + open-iscsi + sg3-utils + e2fsprogs + the kernel
#                 modules needed for iSCSI/TCP, virtio-net/e1000, sd, sg, ext4,
#                 and sr + cdrom + isofs (an ISO catalog image as /dev/sr0)
#   manifest.txt  package versions, modules, sizes
# CACHE_DIR/current is a symlink to it. The guest /init and the scenarios are
# NOT baked in: run-vm.sh appends them as a second cpio archive at boot, so
# editing a scenario never needs a rebuild.
#
# The key is a hash of this script, tests/e2e/guest/base-init.sh and the exact
# candidate version of every package used (apt-cache policy), so a Debian point
# release (new kernel ABI, security update of a library) gives a new VM.
# Packages are fetched with `apt-get download` into CACHE_DIR/debs and unpacked
# with `dpkg-deb -x`; nothing is installed on the host. Needs root (apt-get
# download as root), readelf (binutils), python3, gzip.
#
# Env: E2E_APT_UPDATE=1 forces `apt-get update` first (otherwise it runs only
# when the package lists do not know linux-image-amd64).
set -euo pipefail

CACHE_DIR=${1:?usage: build-vm.sh CACHE_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$CACHE_DIR"
CACHE_DIR=$(cd "$CACHE_DIR" && pwd)

log() { printf '[build-vm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

for t in apt-get apt-cache dpkg-deb readelf python3 gzip sha256sum; do
  command -v "$t" >/dev/null || die "missing host tool: $t"
done

# Userland packages. Libraries are listed explicitly (not followed through
# Depends:) so the key covers them; the ELF closure check below fails with a
# hint when a binary needs a library that no listed package ships.
USER_PKGS=(
  busybox-static
  open-iscsi libisns0 libopeniscsiusr libkmod2 libmount1 libssl3 libsystemd0
  sg3-utils libsgutils2-1.46-2
  e2fsprogs libext2fs2 libcom-err2 libblkid1 libuuid1
  libc6 libselinux1 libpcre2-8-0 libcap2 libgcrypt20 libgpg-error0 liblz4-1
  liblzma5 libzstd1 zlib1g
)
# Kernel modules wanted (dependencies are added automatically).
MODULES=(
  virtio_pci virtio_net e1000 crc32c_generic
  scsi_mod sd_mod sg iscsi_tcp
  ext4
  sr_mod cdrom isofs
)
# Binaries copied from the extracted packages: "path-in-deb:path-in-initrd".
BINARIES=(
  sbin/iscsid:usr/sbin/iscsid
  sbin/iscsiadm:usr/sbin/iscsiadm
  usr/bin/sg_persist:usr/bin/sg_persist
  usr/bin/sg_inq:usr/bin/sg_inq
  usr/bin/sg_readcap:usr/bin/sg_readcap
  usr/bin/sg_turs:usr/bin/sg_turs
  usr/bin/sg_luns:usr/bin/sg_luns
  usr/bin/sg_sync:usr/bin/sg_sync
  usr/bin/sg_raw:usr/bin/sg_raw
  sbin/mke2fs:usr/sbin/mke2fs
  sbin/e2fsck:usr/sbin/e2fsck
)

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'; }

if [[ ${E2E_APT_UPDATE:-0} == 1 ]] || [[ -z $(candidate linux-image-amd64) || $(candidate linux-image-amd64) == "(none)" ]]; then
  log "apt-get update"
  timeout 600 apt-get update >&2 || die "apt-get update failed"
fi

KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n $KPKG ]] || die "cannot resolve linux-image-amd64 to a versioned kernel package"
KVER=${KPKG#linux-image-}

PKGS=("$KPKG" "${USER_PKGS[@]}")
declare -A VER
# One apt-cache call for all packages (one per package costs ~1 s each).
while read -r p v; do VER[$p]=$v; done < <(apt-cache policy "${PKGS[@]}" 2>/dev/null |
  awk '/^[^ ].*:$/ {sub(/:$/, ""); pkg = $0} /^  Candidate:/ {print pkg, $2}')
versions=""
for p in "${PKGS[@]}"; do
  v=${VER[$p]:-}
  [[ -n $v && $v != "(none)" ]] || die "no candidate version for package $p"
  versions+="$p=$v"$'\n'
done
# One builder at a time per cache (parallel runs would race on work-$KEY).
exec 9>"$CACHE_DIR/.lock"
command -v flock >/dev/null && { timeout 900 flock 9 || die "timed out waiting for $CACHE_DIR/.lock"; }

KEY=$( { cat "${BASH_SOURCE[0]}" "$HERE/guest/base-init.sh"; printf '%s' "$versions"; } | sha256sum | cut -c1-16)
OUT=$CACHE_DIR/vm-$KEY
if [[ -s $OUT/vmlinuz && -s $OUT/initrd.gz && -s $OUT/manifest.txt ]]; then
  log "cached: $OUT"
  ln -sfn "vm-$KEY" "$CACHE_DIR/current"
  echo "$OUT"
  exit 0
fi

T0=$(date +%s)
DEBS=$CACHE_DIR/debs
mkdir -p "$DEBS"
deb_file() { # pkg version -> path of the cached .deb or empty
  local f
  for f in "$DEBS/${1}_${2//:/%3a}_"*.deb; do [[ -f $f ]] && { echo "$f"; return; }; done
}
missing=()
for p in "${PKGS[@]}"; do
  [[ -n $(deb_file "$p" "${VER[$p]}") ]] || missing+=("$p=${VER[$p]}")
done
if ((${#missing[@]})); then
  log "apt-get download ${#missing[@]} package(s)"
  # apt warns that _apt cannot write here (it downloads as root instead): harmless.
  (cd "$DEBS" && timeout 900 apt-get download "${missing[@]}" 2> >(grep -v 'unsandboxed' >&2)) >&2 ||
    die "apt-get download failed"
fi

WORK=$CACHE_DIR/work-$KEY
rm -rf "$WORK"
STAGE=$WORK/stage   # every userland deb unpacked together
KSTAGE=$WORK/kernel # the kernel deb
ROOT=$WORK/root     # the initramfs tree
mkdir -p "$STAGE" "$KSTAGE" "$ROOT"
for p in "${USER_PKGS[@]}"; do dpkg-deb -x "$(deb_file "$p" "${VER[$p]}")" "$STAGE"; done
log "unpacking $KPKG"
dpkg-deb -x "$(deb_file "$KPKG" "${VER[$KPKG]}")" "$KSTAGE"
[[ -f $KSTAGE/boot/vmlinuz-$KVER ]] || die "no /boot/vmlinuz-$KVER in $KPKG"

# ---- initramfs tree -------------------------------------------------------
cd "$ROOT"
mkdir -p bin sbin usr/bin usr/sbin lib/x86_64-linux-gnu lib64 etc/iscsi proc sys dev run tmp \
  var/lib/iscsi var/lock mnt root "lib/modules/$KVER"
ln -s lib lib32 2>/dev/null || true
install -m 0755 "$STAGE/bin/busybox" bin/busybox
for a in $(bin/busybox --list); do
  [[ $a == busybox ]] && continue
  ln -sf busybox "bin/$a"
done

LIBDIRS=("$STAGE/lib/x86_64-linux-gnu" "$STAGE/usr/lib/x86_64-linux-gnu" "$STAGE/lib64" "$STAGE/usr/lib64")
find_lib() {
  local d
  for d in "${LIBDIRS[@]}"; do [[ -e $d/$1 ]] && { echo "$d/$1"; return 0; }; done
  return 1
}
declare -A SEEN
copy_closure() { # ELF file: copy every DT_NEEDED library, recursively
  local elf=$1 lib path
  for lib in $(readelf -d "$elf" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ -n ${SEEN[$lib]:-} ]] && continue
    SEEN[$lib]=1
    if ! path=$(find_lib "$lib"); then
      local hint
      hint=$(dpkg -S "*/$lib" 2>/dev/null | head -1 | cut -d: -f1 || true)
      die "$elf needs $lib, which no package in USER_PKGS ships${hint:+ (host says: package $hint)}"
    fi
    cp -L "$path" "lib/x86_64-linux-gnu/$lib"
    copy_closure "$path"
  done
}
for b in "${BINARIES[@]}"; do
  src=$STAGE/${b%%:*} dst=${b#*:}
  [[ -f $src ]] || die "missing binary $src"
  install -m 0755 "$src" "$dst"
  copy_closure "$src"
done
interp=$(readelf -l "$STAGE/sbin/iscsid" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[[ $interp == /lib64/ld-linux-x86-64.so.2 ]] || die "unexpected ELF interpreter $interp"
cp -L "$(find_lib ld-linux-x86-64.so.2)" lib64/ld-linux-x86-64.so.2
ln -sf mke2fs usr/sbin/mkfs.ext4
ln -sf e2fsck usr/sbin/fsck.ext4

cp "$STAGE/etc/iscsi/iscsid.conf" etc/iscsi/iscsid.conf
cp "$STAGE/etc/mke2fs.conf" etc/mke2fs.conf
printf 'root:x:0:0:root:/root:/bin/sh\n' >etc/passwd
printf 'root:x:0:\n' >etc/group
printf '127.0.0.1 localhost\n' >etc/hosts
install -m 0755 "$HERE/guest/base-init.sh" init

# ---- kernel modules -------------------------------------------------------
log "resolving kernel modules"
python3 - "$KSTAGE/lib/modules/$KVER" "$ROOT/lib/modules/$KVER" "${MODULES[@]}" <<'PY' >&2
import lzma, os, re, shutil, sys
src, dst, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
norm = lambda n: n.replace('-', '_')
files = {}
for d, _, fs in os.walk(os.path.join(src, 'kernel')):
    for f in fs:
        m = re.match(r'(.+)\.ko(\.xz)?$', f)
        if m:
            files[norm(m.group(1))] = os.path.join(d, f)
builtin = set()
with open(os.path.join(src, 'modules.builtin')) as fh:
    for line in fh:
        builtin.add(norm(os.path.basename(line.strip()).split('.ko')[0]))
def load(path):
    data = open(path, 'rb').read()
    return lzma.decompress(data) if path.endswith('.xz') else data
order, state = [], {}
def visit(name):
    name = norm(name)
    if state.get(name) == 'done':
        return
    if name not in files:
        if name in builtin:
            print(f'  {name}: built in'); state[name] = 'done'; return
        sys.exit(f'module {name} not found')
    if state.get(name) == 'busy':
        sys.exit(f'module dependency cycle at {name}')
    state[name] = 'busy'
    data = load(files[name])
    m = re.search(rb'(?:^|\x00)depends=([^\x00]*)', data)
    deps = [x for x in (m.group(1).decode().split(',') if m else []) if x]
    for dep in deps:
        visit(dep)
    with open(os.path.join(dst, name + '.ko'), 'wb') as out:
        out.write(data)
    order.append(name)
    state[name] = 'done'
for w in wanted:
    visit(w)
with open(os.path.join(dst, 'modules.load'), 'w') as fh:
    fh.write('\n'.join(order) + '\n')
print('  load order: ' + ' '.join(order))
PY

# ---- archive --------------------------------------------------------------
mkdir -p "$OUT.tmp"
cp "$KSTAGE/boot/vmlinuz-$KVER" "$OUT.tmp/vmlinuz"
log "writing initrd"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | "$ROOT/bin/busybox" cpio -o -H newc 2>/dev/null) |
  gzip -6 >"$OUT.tmp/initrd.gz"
{
  echo "key $KEY"
  echo "kernel $KVER"
  echo "built $(date -u +%FT%TZ) in $(($(date +%s) - T0)) s"
  printf '%s' "$versions" | sed 's/^/package /'
  echo "modules $(tr '\n' ' ' <"$ROOT/lib/modules/$KVER/modules.load")"
  echo "initrd_bytes $(stat -c %s "$OUT.tmp/initrd.gz")"
  echo "initrd_tree_kib $(du -sk "$ROOT" | cut -f1)"
} >"$OUT.tmp/manifest.txt"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
cd /
rm -rf "$WORK"
ln -sfn "vm-$KEY" "$CACHE_DIR/current"
# Older VMs (other keys) are dead weight; their .debs may be too, but those are
# cheap to keep and let a revert rebuild offline.
for old in "$CACHE_DIR"/vm-*; do
  [[ $old == "$OUT" || ! -d $old ]] || rm -rf "$old"
done
log "built $OUT in $(($(date +%s) - T0)) s"
echo "$OUT"
