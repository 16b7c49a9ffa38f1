#!/usr/bin/env bash
# Fresh machine to running target: installs packages, builds, serves on
# 127.0.0.1:3260 with the data dir under ~/.local/share/scsipub.
#
# When the catalog is empty, it first adds a starter image: `demo`, a small
# bootable disk built from Debian packages by scripts/demo-image.sh (a kernel,
# a busybox initramfs, SYSLINUX), so `image.demo` can be logged in to and
# booted in QEMU with the command the landing page shows. SCSIPUB_NO_DEMO=1
# skips it. Arguments go to `scsipub serve`; the ones that say where the
# catalog lives (--config, --data-dir, --images-dir, --database) are passed to
# `scsipub image` too.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCSIPUB_TESTS=OFF >/dev/null
cmake --build build-release --target scsipub
BIN=./build-release/scsipub

catalog_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --config | --data-dir | --images-dir | --database)
      catalog_args+=("${args[i]}" "${args[i + 1]:-}")
      i=$((i + 1))
      ;;
    --config=* | --data-dir=* | --images-dir=* | --database=*) catalog_args+=("${args[i]}") ;;
  esac
done

if [[ ${SCSIPUB_NO_DEMO:-0} != 1 ]]; then
  listed=$("$BIN" image list --json "${catalog_args[@]}")
  if [[ $(jq 'length' <<<"$listed") == 0 ]]; then
    echo "serve.sh: the catalog is empty; building the starter image (scripts/demo-image.sh)" >&2
    demo_dir=.cache/demo/out
    if out=$(scripts/demo-image.sh "$demo_dir"); then
      demo_img=$(tail -n 2 <<<"$out" | head -n 1)
      "$BIN" image add demo "$demo_img" "${catalog_args[@]}" \
        --title "scsipub demo" \
        --description "A Debian kernel and a busybox shell that boot from this target (SYSLINUX on FAT)." ||
        echo "serve.sh: could not add the starter image; serving an empty catalog" >&2
    else
      echo "serve.sh: could not build the starter image; serving an empty catalog" >&2
    fi
  fi
fi
exec "$BIN" serve "$@"
