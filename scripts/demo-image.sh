#!/usr/bin/env bash
# demo-image.sh OUT_DIR — build (or reuse) the starter images of the catalog,
# from Debian 12 packages only, and copy them into OUT_DIR:
#
#   demo.img  a raw disk: an MBR (syslinux's mbr.bin) and one bootable FAT16
#             partition holding SYSLINUX, the Debian kernel and a busybox
#             initramfs
#   demo.iso  an El Torito ISO 9660 image (ISOLINUX, no emulation, not
#             hybrid: it boots only as a CD/DVD) with the same kernel and
#             initramfs and a known text file, README.TXT
#   demo-manifest.txt  the cache key, the package versions, the sizes
#
# Booted, the initramfs prints "scsipub demo: booted from iSCSI" on the serial
# console and on the screen (console=tty0 console=ttyS0), lists the block
# devices the kernel sees, and starts a shell; leaving the shell powers off.
#
# The last two lines of stdout are the paths of demo.img and demo.iso (in
# that order); everything else goes to stderr. Exit status non-zero with a
# "FATAL:" line when anything fails.
#
# No root and no loop mounts: packages are fetched with `apt-get download`
# into <repo>/.cache/demo/debs and unpacked with `dpkg-deb -x`, and every
# tool that writes the images (mkfs.fat, mtools, syslinux, xorriso) runs from
# those unpacked packages, so the versions that built an image are the ones
# the cache key names. The key is a hash of this script and the candidate
# version of every package (apt-cache policy); a cached build is reused, so a
# second run only copies files. Host tools needed: apt-get, apt-cache,
# dpkg-deb, python3, gzip, sha256sum, cpio is not (busybox's is used).
#
# Env: DEMO_CACHE_DIR overrides <repo>/.cache/demo; DEMO_APT_UPDATE=1 forces
# `apt-get update` first (otherwise it runs only when apt does not know the
# kernel package).
set -euo pipefail

OUT_ARG=${1:?usage: demo-image.sh OUT_DIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE_DIR=${DEMO_CACHE_DIR:-$REPO/.cache/demo}

log() { printf '[demo-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

for t in apt-get apt-cache dpkg-deb python3 gzip sha256sum; do
  command -v "$t" >/dev/null || die "missing host tool: $t"
done
mkdir -p "$OUT_ARG" "$CACHE_DIR" || die "cannot create $OUT_ARG or $CACHE_DIR"
OUT_DIR=$(cd "$OUT_ARG" && pwd)
CACHE_DIR=$(cd "$CACHE_DIR" && pwd)

BANNER='scsipub demo: booted from iSCSI'
DISK_MIB=32          # the whole raw disk
PART_START_SECTOR=2048  # 1 MiB: the usual alignment

# Packages unpacked into the tool stage (the builders) and the payload.
TOOL_PKGS=(
  syslinux syslinux-common isolinux mtools dosfstools
  xorriso libisoburn1 libburn4 libisofs6 libjte2 libreadline8 libtinfo6 libacl1 zlib1g libbz2-1.0
)
PAYLOAD_PKGS=(busybox-static)

# shellcheck source=debian_packages.sh
source "$HERE/debian_packages.sh"
KPKG=$(debpkg_kernel_package "${DEMO_APT_UPDATE:-0}")
KVER=${KPKG#linux-image-}
PKGS=("$KPKG" "${PAYLOAD_PKGS[@]}" "${TOOL_PKGS[@]}")
debpkg_versions "${PKGS[@]}"

exec 9>"$CACHE_DIR/.lock"
command -v flock >/dev/null && { timeout 900 flock 9 || die "timed out waiting for $CACHE_DIR/.lock"; }

KEY=$( { cat "${BASH_SOURCE[0]}" "$HERE/debian_packages.sh"; printf '%s' "$DEBPKG_VERSIONS"; } | sha256sum | cut -c1-16)
BUILD=$CACHE_DIR/demo-$KEY

publish() { # copy the cached build into OUT_DIR, print the two paths
  local f
  for f in demo.img demo.iso; do
    if ! cmp -s "$BUILD/$f" "$OUT_DIR/$f" 2>/dev/null; then
      cp "$BUILD/$f" "$OUT_DIR/.$f.tmp" || die "cannot write $OUT_DIR/.$f.tmp"
      mv "$OUT_DIR/.$f.tmp" "$OUT_DIR/$f" || die "cannot rename $OUT_DIR/.$f.tmp"
    fi
  done
  cp "$BUILD/manifest.txt" "$OUT_DIR/demo-manifest.txt" || die "cannot write $OUT_DIR/demo-manifest.txt"
  echo "$OUT_DIR/demo.img"
  echo "$OUT_DIR/demo.iso"
}

if [[ -s $BUILD/demo.img && -s $BUILD/demo.iso && -s $BUILD/manifest.txt ]]; then
  log "cached: $BUILD"
  publish
  exit 0
fi

T0=$(date +%s)
DEBS=$CACHE_DIR/debs
# The kernel-initiator VM (tests/e2e/build-vm.sh) caches the same kernel and
# busybox: reuse its copies rather than download 70 MB again.
debpkg_fetch "$DEBS" "$REPO/.cache/e2e/debs" "${PKGS[@]}"

WORK=$CACHE_DIR/work-$KEY
rm -rf "$WORK"
TOOLS=$WORK/tools ROOT=$WORK/initramfs KSTAGE=$WORK/kernel FILES=$WORK/files ISO=$WORK/iso
mkdir -p "$TOOLS" "$ROOT" "$KSTAGE" "$FILES" "$ISO/isolinux"
for p in "${TOOL_PKGS[@]}"; do dpkg-deb -x "$(debpkg_file "$DEBS" "$p")" "$TOOLS"; done
dpkg-deb -x "$(debpkg_file "$DEBS" busybox-static)" "$WORK/busybox"
log "unpacking $KPKG"
dpkg-deb -x "$(debpkg_file "$DEBS" "$KPKG")" "$KSTAGE"
[[ -f $KSTAGE/boot/vmlinuz-$KVER ]] || die "no /boot/vmlinuz-$KVER in $KPKG"

# The unpacked tools, with their libraries; syslinux (the mtools installer)
# runs mcopy/mattrib from PATH.
export PATH="$TOOLS/usr/bin:$TOOLS/usr/sbin:$TOOLS/sbin:$TOOLS/bin:$PATH"
export LD_LIBRARY_PATH="$TOOLS/usr/lib/x86_64-linux-gnu:$TOOLS/lib/x86_64-linux-gnu"
export MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null
SYSLINUX_LIB=$TOOLS/usr/lib/syslinux
for f in "$SYSLINUX_LIB/mbr/mbr.bin" "$SYSLINUX_LIB/modules/bios/ldlinux.c32" "$TOOLS/usr/lib/ISOLINUX/isolinux.bin"; do
  [[ -f $f ]] || die "missing $f in the unpacked syslinux packages"
done
for t in mkfs.fat mcopy syslinux xorriso; do
  [[ -x $(command -v "$t") && $(command -v "$t") == "$TOOLS"/* ]] || die "$t not found in the unpacked packages"
done

# ---- initramfs: busybox-static, a few kernel modules and /init ---------------
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,root,etc,mnt,modules}
# The drivers for the disks QEMU gives it (virtio-blk; an IDE CD-ROM and
# ISO 9660), so the demo can show the target it booted from. Debian's .ko
# files name their dependencies in their modinfo section (depends=a,b).
MODULES=(virtio_pci virtio_blk ata_piix sr_mod isofs)
declare -A KO MOD_SEEN
while read -r f; do
  n=${f##*/}
  n=${n%.ko}
  KO[${n//-/_}]=$f
done < <(find "$KSTAGE/lib/modules/$KVER/kernel" -name '*.ko')
MOD_ORDER=()
add_module() { # NAME: its dependencies first, then itself; built-ins are skipped
  local m=${1//-/_} dep
  [[ -z ${MOD_SEEN[$m]:-} ]] || return 0
  MOD_SEEN[$m]=1
  if [[ -z ${KO[$m]:-} ]]; then
    grep -q "/$m\.ko\$" "$KSTAGE/lib/modules/$KVER/modules.builtin" || die "kernel module $m not in $KPKG"
    return 0
  fi
  for dep in $(tr '\0' '\n' <"${KO[$m]}" | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$dep"; done
  install -m 0644 "${KO[$m]}" "$ROOT/modules/$m.ko"
  MOD_ORDER+=("$m")
}
for m in "${MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${MOD_ORDER[@]}" >"$ROOT/modules/load-order"
install -m 0755 "$WORK/busybox/bin/busybox" "$ROOT/bin/busybox"
for a in $("$ROOT/bin/busybox" --list); do
  [[ $a == busybox ]] || ln -sf busybox "$ROOT/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
cat >"$ROOT/init" <<EOF
#!/bin/sh
# The scsipub demo image's whole userland (scripts/demo-image.sh).
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Both consoles: /dev/console is only the last console= of the command line.
for tty in /dev/ttyS0 /dev/tty0; do
  { echo; echo "$BANNER"; echo "kernel \$(uname -r), \$(grep -c ^processor /proc/cpuinfo) CPU(s)"; } >\$tty 2>/dev/null
done
{
  while read -r m; do insmod /modules/\$m.ko; done </modules/load-order
  sleep 1  # let the drivers find their disks
  echo "Block devices the kernel sees (virtio-blk and IDE CD-ROM drivers; a"
  echo "machine that booted through iPXE sanboot has no iSCSI session of its own):"
  cat /proc/partitions
  if [ -b /dev/sr0 ] && mount -t iso9660 -o ro /dev/sr0 /mnt 2>/dev/null; then
    echo "/dev/sr0 is mounted on /mnt; its README.TXT says:"
    cat /mnt/README.TXT
  fi
  echo "Leaving the shell powers the machine off."
} >/dev/console 2>&1
setsid cttyhack sh
poweroff -f
EOF
chmod 0755 "$ROOT/init"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | "$ROOT/bin/busybox" cpio -o -H newc 2>/dev/null) |
  gzip -9 >"$FILES/initrd.gz"
cp "$KSTAGE/boot/vmlinuz-$KVER" "$FILES/vmlinuz"
APPEND="console=tty0 console=ttyS0,115200 loglevel=4"
boot_config() { # the same boot menu for SYSLINUX and ISOLINUX
  printf 'SERIAL 0 115200\nDEFAULT demo\nPROMPT 0\nTIMEOUT 0\nLABEL demo\n  KERNEL /vmlinuz\n  INITRD /initrd.gz\n  APPEND %s\n' \
    "$APPEND"
}
cat >"$FILES/README.TXT" <<EOF
scsipub demo image
This disc boots a Debian 12 kernel ($KVER) and a busybox shell.
Built by scsipub's scripts/demo-image.sh from Debian packages.
EOF

# ---- demo.img: MBR + one FAT16 partition with SYSLINUX ----------------------
mkdir -p "$BUILD.tmp"
IMG=$BUILD.tmp/demo.img
PART_OFFSET=$((PART_START_SECTOR * 512))
PART_SECTORS=$((DISK_MIB * 2048 - PART_START_SECTOR))
truncate -s "${DISK_MIB}M" "$IMG"
# The partition table by hand (no sfdisk on a bare host): one bootable
# FAT16-LBA (0x0e) entry; CHS fields say "use LBA" (0xfe 0xff 0xff).
python3 - "$IMG" "$SYSLINUX_LIB/mbr/mbr.bin" "$PART_START_SECTOR" "$PART_SECTORS" <<'PY' || die "writing the MBR failed"
import struct, sys
img, mbr, start, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
code = open(mbr, 'rb').read()
if len(code) > 440:
    sys.exit(f'{mbr} is {len(code)} bytes, more than the 440 of MBR boot code')
entry = struct.pack('<B3sB3sII', 0x80, b'\xfe\xff\xff', 0x0e, b'\xfe\xff\xff', start, count)
with open(img, 'r+b') as f:
    f.write(code)
    f.seek(440)
    f.write(struct.pack('<IH', 0x5c5195b0, 0))  # disk signature
    f.write(entry + bytes(48) + b'\x55\xaa')
PY
mkfs.fat -F 16 -n SCSIPUBDEMO --offset "$PART_START_SECTOR" "$IMG" "$((PART_SECTORS / 2))" >&2 ||
  die "mkfs.fat failed"
boot_config >"$FILES/syslinux.cfg"
mcopy -i "$IMG@@$PART_OFFSET" "$FILES/vmlinuz" "$FILES/initrd.gz" "$FILES/syslinux.cfg" "$FILES/README.TXT" ::/ ||
  die "mcopy failed"
syslinux --offset "$PART_OFFSET" --install "$IMG" || die "syslinux --install failed"
mdir -i "$IMG@@$PART_OFFSET" ::/ >&2 || die "the FAT partition does not list"

# ---- demo.iso: El Torito, no emulation, ISOLINUX ----------------------------
cp "$TOOLS/usr/lib/ISOLINUX/isolinux.bin" "$SYSLINUX_LIB/modules/bios/ldlinux.c32" "$ISO/isolinux/"
boot_config >"$ISO/isolinux/isolinux.cfg"
cp "$FILES/vmlinuz" "$FILES/initrd.gz" "$FILES/README.TXT" "$ISO/"
# SOURCE_DATE_EPOCH-like determinism is not needed: the cache keeps one build.
xorriso -as mkisofs -quiet -o "$BUILD.tmp/demo.iso" -V SCSIPUB_DEMO -J -R \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  "$ISO" >&2 || die "xorriso failed"

{
  echo "key $KEY"
  echo "kernel $KVER"
  echo "banner $BANNER"
  echo "append $APPEND"
  echo "modules ${MOD_ORDER[*]}"
  echo "built $(date -u +%FT%TZ) in $(($(date +%s) - T0)) s"
  printf '%s' "$DEBPKG_VERSIONS" | sed 's/^/package /'
  echo "vmlinuz_bytes $(stat -c %s "$FILES/vmlinuz")"
  echo "initrd_bytes $(stat -c %s "$FILES/initrd.gz")"
  echo "demo.img_bytes $(stat -c %s "$BUILD.tmp/demo.img") sha256 $(sha256sum <"$BUILD.tmp/demo.img" | cut -c1-64)"
  echo "demo.iso_bytes $(stat -c %s "$BUILD.tmp/demo.iso") sha256 $(sha256sum <"$BUILD.tmp/demo.iso" | cut -c1-64)"
  echo "README.TXT_sha256 $(sha256sum <"$FILES/README.TXT" | cut -c1-64)"
} >"$BUILD.tmp/manifest.txt"
rm -rf "$BUILD"
mv "$BUILD.tmp" "$BUILD"
rm -rf "$WORK"
for old in "$CACHE_DIR"/demo-*; do
  [[ $old == "$BUILD" || ! -d $old ]] || rm -rf "$old"
done
log "built $BUILD in $(($(date +%s) - T0)) s"
publish
