#!/usr/bin/env bash
# Installs every Debian 12 package scsipub needs to build, test and benchmark.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libasio-dev libssl-dev liburing-dev libsqlite3-dev libpq-dev zlib1g-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libmicrohttpd-dev curl
  # real peers for tests and benchmarks
  libiscsi-bin libiscsi-dev qemu-utils qemu-block-extra tgt qemu-system-x86
  # iPXE ROMs for QEMU (a Recommends of qemu-system-x86, which --no-install-recommends skips):
  # the iPXE sanboot tests (tests/integration/boot_images.sh)
  ipxe-qemu
  postgresql stunnel4 openssl
  python3 procps jq strace
  # the packaged unit under systemd in a VM (tests/package/systemd_vm.sh): a Debian 12
  # system debootstrapped once, an ext4 image made without loop mounts
  debootstrap e2fsprogs
  # HTTP load test of the landing page (bench/http_landing.sh)
  wrk
  # ISO 9660 images for the DVD-ROM tests (tests/integration/dvd_iso.sh, tests/e2e)
  xorriso
  # image ingestion (src/ingest): downloads and decompressors
  libcurl4-openssl-dev xz-utils gzip zstd
  # Ceph RBD storage for provisioned disks (built in when librbd-dev is present) and
  # the single-host test cluster (scripts/ceph-test-cluster.sh)
  librbd-dev librados-dev ceph-mon ceph-osd ceph-mgr ceph-common
  # the Debian package (scripts/build-deb.sh): man pages from --help, dpkg-shlibdeps
  help2man dpkg-dev
)
# browser tests (tests/browser): Debian's Chromium, driven headless by
# playwright-core from npm. Node.js and npm from Debian unless the machine
# already has them (a nodejs package that bundles npm conflicts with Debian's npm).
PACKAGES+=(chromium)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
