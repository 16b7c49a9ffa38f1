#!/usr/bin/env bash
# build-deb.sh [--build-dir DIR] [--out DIR]: the Debian package from this
# source tree. Configures DIR (default build-release in the tree, the Release
# build scripts/test.sh and scripts/serve.sh make, reused) as Release with
# CMAKE_INSTALL_PREFIX=/usr and SCSIPUB_PACKAGING=ON, builds the binary, the
# man pages and the packaged docs, and runs `cpack -G DEB`. The .deb goes to
# --out (default DIR/deb); its absolute path is the last line on stdout.
# Needs cmake, ninja, a compiler, dpkg-dev (dpkg-shlibdeps) and help2man:
# scripts/deps.sh installs them. What the package holds: docs/PACKAGING.md.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-release
OUT=
JOBS=${JOBS:-$(nproc)}
while (($#)); do
  case $1 in
    --build-dir) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-deb.sh: unknown argument $1 (--build-dir DIR, --out DIR)" >&2; exit 2 ;;
  esac
done
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
OUT=${OUT:-$BUILD/deb}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
for tool in cmake cpack dpkg-shlibdeps help2man; do
  command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool is missing (scripts/deps.sh)" >&2; exit 1; }
done

# Everything but the package path goes to stderr, so `| tail -n 1` is the .deb.
{
  generator=()
  # A build dir made by another generator keeps it; a new one uses Ninja.
  [[ -f $BUILD/CMakeCache.txt ]] || generator=(-G Ninja)
  cmake -S "$SRC" -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DSCSIPUB_TESTS=OFF \
    -DCMAKE_INSTALL_PREFIX=/usr -DSCSIPUB_PACKAGING=ON
  cmake --build "$BUILD" -j "$JOBS" --target scsipub scsipub_man scsipub_package_docs
  # cpack writes into its working directory's _CPack_Packages too: keep both in OUT.
  (cd "$OUT" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$OUT") | tee "$OUT/cpack.log"
} >&2
rm -rf "$OUT/_CPack_Packages"
# "CPack: - package: /abs/path/scsipub_VERSION_ARCH.deb generated."
deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' "$OUT/cpack.log" | tail -n 1)
rm -f "$OUT/cpack.log"
[[ -n $deb && -f $deb ]] || { echo "build-deb.sh: cpack made no .deb in $OUT" >&2; exit 1; }
echo "$deb"
