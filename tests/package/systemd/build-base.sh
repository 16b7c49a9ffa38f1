#!/usr/bin/env bash
# build-base.sh — the Debian 12 system the systemd VM test boots, built once
# and cached (tests/package/systemd_vm.sh decides when).
#
#   build-base.sh [--update] DIR MIRROR SOURCES-FILE PACKAGE...
#
# Makes DIR/root: debootstrap (minbase) of bookworm from MIRROR, then the
# host's bookworm sources (SOURCES-FILE, one "deb URI SUITE main" line each, so
# security updates come in too) and `apt-get install --no-install-recommends`
# of PACKAGE... (kernel, systemd, initiators, the package's Depends). The
# initramfs must mount a virtio root: checked here. Slow units are masked.
# DIR/root/boot holds the kernel and initrd the VM boots with -kernel/-initrd.
# /proc, /sys and /dev are mounted for the chroot steps and always unmounted.
# --update: DIR/root exists; refresh its package lists and install or
# upgrade PACKAGE... (a package built against newer libraries than the cache).
set -euo pipefail
UPDATE=0
if [[ ${1:-} == --update ]]; then UPDATE=1; shift; fi
[[ $# -ge 4 ]] || { echo "usage: build-base.sh [--update] DIR MIRROR SOURCES-FILE PACKAGE..." >&2; exit 2; }
DIR=$1 MIRROR=$2 SOURCES=$3
shift 3
PACKAGES=("$@")
R=$DIR/root
SUITE=bookworm

MOUNTED=()
unmount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" 2>/dev/null || true
  done
  MOUNTED=()
}
trap unmount_all EXIT
mount_chroot() {
  local m
  for m in proc sys dev dev/pts; do
    mkdir -p "$R/$m"
    case $m in
      proc) mount -t proc proc "$R/proc" ;;
      sys) mount -t sysfs sysfs "$R/sys" ;;
      dev) mount --bind /dev "$R/dev" ;;
      dev/pts) mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts" ;;
    esac
    MOUNTED+=("$R/$m")
  done
}
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

prepare_apt() {
  cp "$SOURCES" "$R/etc/apt/sources.list"
  cp -L /etc/resolv.conf "$R/etc/resolv.conf"
  # No daemon starts inside the chroot (systemd is not running there anyway).
  printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
  chmod 0755 "$R/usr/sbin/policy-rc.d"
}
finish_apt() {
  in_root apt-get clean
  rm -f "$R/usr/sbin/policy-rc.d" "$R/etc/resolv.conf"
}

if ((UPDATE)); then
  t0=$SECONDS
  prepare_apt
  mount_chroot
  { in_root apt-get update -qq && in_root apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; } \
    >"$DIR/apt-update.log" 2>&1 || { tail -n 30 "$DIR/apt-update.log" >&2; exit 1; }
  finish_apt
  unmount_all
  echo "[base] updated in $((SECONDS - t0)) s" >&2
  exit 0
fi

t0=$SECONDS
echo "[base] debootstrap $SUITE (minbase) from $MIRROR" >&2
debootstrap --variant=minbase --components=main --include=ca-certificates "$SUITE" "$R" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 ||
  { tail -n 30 "$DIR/debootstrap.log" >&2; exit 1; }
echo "[base] debootstrap took $((SECONDS - t0)) s" >&2

prepare_apt
# Not part of the image: documentation, manuals, translations. No fsync per
# file either: a half-written base is thrown away, never booted.
cat >"$R/etc/dpkg/dpkg.cfg.d/01-vm" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/info/*
force-unsafe-io
CFG
# A small initrd (quick to load under TCG) that can mount the virtio root.
mkdir -p "$R/etc/initramfs-tools/conf.d" "$R/usr/share/initramfs-tools/modules.d"
echo MODULES=list >"$R/etc/initramfs-tools/conf.d/scsipub-vm.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' >"$R/usr/share/initramfs-tools/modules.d/scsipub-vm"

mount_chroot
t1=$SECONDS
in_root apt-get update -qq >"$DIR/apt.log" 2>&1 || { tail -n 30 "$DIR/apt.log" >&2; exit 1; }
# The kernel last, so its initrd is built once, with everything else in place.
others=()
for p in "${PACKAGES[@]}"; do [[ $p == linux-image-* ]] || others+=("$p"); done
{ in_root apt-get -y -q upgrade &&
  in_root apt-get install -y -q --no-install-recommends "${others[@]}" &&
  in_root apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; } >>"$DIR/apt.log" 2>&1 ||
  { tail -n 40 "$DIR/apt.log" >&2; exit 1; }
echo "[base] apt-get install of ${#PACKAGES[@]} packages took $((SECONDS - t1)) s" >&2

kernel=$(find "$R/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n 1)
initrd=$(find "$R/boot" -maxdepth 1 -name 'initrd.img-*' | sort -V | tail -n 1)
[[ -n $kernel && -n $initrd ]] || { echo "[base] no kernel or initrd in $R/boot" >&2; exit 1; }
contents=$(in_root lsinitramfs "/boot/${initrd##*/}")
for mod in virtio_blk virtio_pci ext4; do
  grep -q "/$mod\.ko" <<<"$contents" ||
    { echo "[base] the initrd lacks $mod: it could not mount the virtio root" >&2; exit 1; }
done

# Units that only cost boot time in a VM with no network and no console login.
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer systemd-networkd-wait-online.service systemd-firstboot.service \
  serial-getty@ttyS0.service getty@tty1.service getty-static.service \
  systemd-timesyncd.service open-iscsi.service >/dev/null 2>&1
finish_apt
echo scsipub-vm >"$R/etc/hostname"
unmount_all
echo "[base] done in $((SECONDS - t0)) s: ${kernel##*/}, ${initrd##*/}, $(du -sm "$R" | cut -f1) MiB" >&2
