#!/bin/sh
# Installs the Debian packages mivos needs (only those missing), then
# configures and builds into ./build. Safe to run again: it skips what is done.
set -eu
cd "$(dirname "$0")/.."

packages="build-essential cmake pkg-config ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd
clinfo libclblast-dev libopenblas-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg
libpng-dev zlib1g-dev luajit libluajit-5.1-dev lua-filesystem lua-socket chromium nodejs
clang libclang-rt-14-dev"
# clang + its runtime libraries (libFuzzer, ASan, UBSan; only recommended by
# clang, hence named): the sanitized tree and the fuzz targets of the suite
# (tests/scripts/sanitized_suite.sh, scripts/fuzz.sh). lua-socket: `mivos
# serve`; chromium + nodejs: its browser test (tests/browser).
# npm: Debian's package, unless a Node.js that brings its own npm is installed
command -v npm >/dev/null 2>&1 || packages="$packages npm"

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
fi

# the browser test's driver (no browser download: it drives Debian's chromium)
[ -d tests/browser/node_modules/playwright-core ] ||
  npm ci --prefix tests/browser --no-audit --no-fund >&2

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >&2
