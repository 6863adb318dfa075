#!/bin/sh
# Every C test once under AddressSanitizer + UBSan, plus a brief run of each
# fuzz target: configures and builds a second tree (default: build-asan
# beside BUILD_DIR) with -DMIVOS_SANITIZE=ON and runs its C tests (the Lua
# tests, which test the Lua layer, and the packaging tests stay in the plain
# tree). With clang installed the tree is built by clang with MIVOS_FUZZ=ON,
# so the same build also runs each libFuzzer target for MIVOS_FUZZ_BRIEF_S
# seconds (default 4) on its corpus through scripts/fuzz.sh; without clang,
# gcc builds it and only the replay of the saved fuzz inputs runs.
# Leak suppressions: tests/sanitizers/lsan.supp (the OpenCL driver stack only).
# Usage: sanitized_suite.sh BUILD_DIR SOURCE_DIR SHARED_DIR
set -eu
build=$1
src=$2
shared=$3
tree=${MIVOS_ASAN_BUILD:-$(dirname "$build")/build-asan}
brief=${MIVOS_FUZZ_BRIEF_S:-4}
start=$(date +%s)

fuzz=OFF
compiler=${CC:-cc}
if command -v clang >/dev/null 2>&1; then
  fuzz=ON
  compiler=clang
fi
echo "sanitized tree: $tree ($compiler, MIVOS_FUZZ=$fuzz)"
CC=$compiler cmake -S "$src" -B "$tree" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIVOS_SANITIZE=ON \
  -DMIVOS_FUZZ=$fuzz -DMIVOS_LUA_ASAN=OFF "-DMIVOS_SHARED_DIR=$shared" >/dev/null
cmake --build "$tree" -j"$(nproc)" >"$tree.build.log" 2>&1 ||
  { tail -n 40 "$tree.build.log"; echo "FAIL: building the sanitized tree" >&2; exit 1; }
built=$(date +%s)
echo "built in $((built - start)) s"

status=0
ctest --test-dir "$tree" --output-on-failure -LE 'lua|packaging' -j1 || status=1
tested=$(date +%s)
echo "C suite under ASan + UBSan: $((tested - built)) s"

if [ "$fuzz" = ON ]; then
  MIVOS_FUZZ_BUILD=$tree sh "$src/scripts/fuzz.sh" "$brief" || status=1
  echo "fuzz targets, $brief s each: $(($(date +%s) - tested)) s"
fi
echo "sanitized suite: $(($(date +%s) - start)) s in all"
exit $status
