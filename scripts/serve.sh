#!/usr/bin/env bash
# Fresh machine to running target: installs packages, builds, serves on
# 127.0.0.1:3260 with the data dir under ~/.local/share/scsipub.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCSIPUB_TESTS=OFF >/dev/null
cmake --build build-release --target scsipub
exec ./build-release/scsipub serve "$@"
