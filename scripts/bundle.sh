#!/bin/sh
# Makes a relocatable folder of mivos that runs on an offline x86-64 Linux
# machine with only a GPU driver installed:
#
#   sh scripts/bundle.sh [BUILD_DIR] [OUT_DIR]     (defaults: build, dist/mivos)
#
# OUT_DIR/bin      mivos, mivos-lua, mivos-selfcheck, mivos-golden, mivos-bench,
#                  gpu-check.sh (wrappers that set the paths and find OpenCL)
# OUT_DIR/lib      libmivos.so, luajit, the LuaFileSystem and LuaSocket modules and every
#                  shared library they need except the C library itself
#                  (CLBlast, FFmpeg and its codecs, libpng, the OpenCL ICD
#                  loader, ...): the target needs glibc >= the build machine's
# OUT_DIR/share    the Lua modules, the CLI script, the README
#
# The wrappers find the GPU vendor's OpenCL library when the target has no
# ICD file (/etc/OpenCL/vendors): see lib/mivos-env.sh.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-dist/mivos}

for f in "$build/libmivos.so" "$build/tests/test_golden" "$build/tests/bench" \
         "$build/examples/mivos-selfcheck"; do
  [ -f "$f" ] || { echo "bundle: $f is missing: build first (sh scripts/setup.sh)" >&2; exit 1; }
done
luajit=$(command -v luajit) || { echo "bundle: luajit not found" >&2; exit 1; }
lfs=$(luajit -e 'local p = package.searchpath("lfs", package.cpath); io.write(p or "")')
[ -n "$lfs" ] || { echo "bundle: LuaFileSystem (lua-filesystem) not found for luajit" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib/lua/5.1" "$out/libexec" "$out/share/mivos/scripts"

cp "$build/libmivos.so" "$out/lib/"
cp "$(readlink -f "$luajit")" "$out/lib/luajit"
cp "$lfs" "$out/lib/lua/5.1/lfs.so"
# LuaSocket (lua-socket) for `mivos serve`; without it only serve is missing
socket_core=$(luajit -e 'local p = package.searchpath("socket.core", package.cpath); io.write(p or "")')
socket_lua=$(luajit -e 'local p = package.searchpath("socket", package.path); io.write(p or "")')
if [ -n "$socket_core" ] && [ -n "$socket_lua" ]; then
  mkdir -p "$out/lib/lua/5.1/socket"
  cp -L "$socket_core" "$out/lib/lua/5.1/socket/core.so"
else
  echo "bundle: LuaSocket (lua-socket) not found: the bundle will have no mivos serve" >&2
fi
cp "$build/tests/test_golden" "$out/libexec/mivos-golden"
cp "$build/tests/bench" "$out/libexec/mivos-bench"
cp "$build/examples/mivos-selfcheck" "$out/libexec/mivos-selfcheck"
cp -R lua "$out/share/mivos/lua"
[ -n "$socket_lua" ] && cp "$socket_lua" "$out/share/mivos/lua/socket.lua"
cp scripts/mivos scripts/gpu-check.sh "$out/share/mivos/scripts/"
cp README.md "$out/share/mivos/"

# Shared libraries: everything ldd resolves, except glibc's own libraries
# (they must match the target's kernel interface and loader).
is_glibc() {
  case "$1" in
    linux-vdso.so*|ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|\
    libresolv.so*|libutil.so*|libnsl.so*|libanl.so*) return 0 ;;
  esac
  return 1
}
for elf in "$out/lib/libmivos.so" "$out/lib/luajit" "$out/lib/lua/5.1/lfs.so" \
           "$out/lib/lua/5.1/socket/"*.so "$out/libexec/"*; do
  [ -e "$elf" ] || continue
  ldd "$elf" | while read -r name arrow path rest; do
    [ "$arrow" = "=>" ] || continue
    is_glibc "$name" && continue
    [ "$path" = "not" ] && { echo "bundle: $elf needs $name, which is not found" >&2; exit 1; }
    [ -e "$out/lib/$name" ] || cp -L "$path" "$out/lib/$name"
  done
done

cp scripts/bundle-env.sh "$out/lib/mivos-env.sh"

# Wrappers: wrap NAME PROGRAM [ARGS...] writes bin/NAME.
wrap() {
  name=$1
  shift
  {
    echo '#!/bin/sh'
    echo '# mivos bundle wrapper (scripts/bundle.sh): libraries, Lua paths, OpenCL.'
    echo 'here=$(cd "$(dirname "$0")/.." && pwd)'
    echo '. "$here/lib/mivos-env.sh"'
    echo "exec $*"' "$@"'
  } > "$out/bin/$name"
  chmod +x "$out/bin/$name"
}
wrap mivos '"$here/lib/luajit" "$here/share/mivos/scripts/mivos"'
wrap mivos-lua '"$here/lib/luajit"'
wrap mivos-selfcheck '"$here/libexec/mivos-selfcheck"'
wrap mivos-golden '"$here/libexec/mivos-golden"'
wrap mivos-bench '"$here/libexec/mivos-bench"'
wrap gpu-check.sh 'sh "$here/share/mivos/scripts/gpu-check.sh"'

echo "bundle: $out ($(du -sh "$out" | cut -f1), $(ls "$out/lib" | wc -l) files in lib/)"
