#!/bin/sh
# `cmake --install` into a temporary prefix, then use it as a user would:
#   * the shared library has a SONAME (libmivos.so.<major>) and the
#     development symlink, the header and the pkg-config file are there;
#   * a small C program compiles with `pkg-config --cflags --libs mivos`
#     alone and runs against the installed library;
#   * `require "mivos"` works in plain luajit with the prefix's Lua folder
#     on the path LuaJIT searches for /usr/local (no LUA_PATH needed there),
#     and loads the installed library, not the build's;
#   * the installed `mivos` command runs.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; }

libdir=$(dirname "$(find "$prefix" -name 'libmivos.so.*.*' | head -n 1)")
[ -f "$libdir/libmivos.so.0.1.0" ] || fail "no $libdir/libmivos.so.<version>: $(ls -R "$prefix")"
soname=$(objdump -p "$libdir/libmivos.so.0.1.0" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = "libmivos.so.0" ] || fail "SONAME is '$soname', expected libmivos.so.0"
[ -L "$libdir/libmivos.so.0" ] && [ -L "$libdir/libmivos.so" ] ||
  fail "libmivos.so.0 and libmivos.so must be symlinks to the versioned file"
[ -f "$prefix/include/mivos.h" ] || fail "no include/mivos.h"
echo "ok: library $soname, header, in $libdir"

# A C program built with pkg-config only.
cat > "$tmp/use_mivos.c" <<'C'
#include <mivos.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  mv_json *json = NULL;
  const char *text = "{\"rounds\": [{\"frame\": 3}]}";
  if (mv_json_parse(text, strlen(text), "inline", &json) != MV_OK) return 1;
  int frame = (int)mv_json_get(&mv_json_path(json, "rounds")->items[0], "frame")->number;
  mv_json_free(json);
  mv_video *video = NULL;
  if (mv_video_open(argv[1], NULL, &video) != MV_OK) {
    fprintf(stderr, "%s\n", mv_error_message());
    return 1;
  }
  mv_video_info info;
  mv_video_get_info(video, &info);
  printf("frame %d, %d frames %dx%d\n", frame, info.frame_count, info.width, info.height);
  mv_video_close(video);
  return argc == 2 ? 0 : 1;
}
C
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs mivos) || fail "pkg-config --cflags --libs mivos"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$tmp/use_mivos" "$tmp/use_mivos.c" $flags ||
  fail "compiling with: $flags"
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/use_mivos" "$src/examples/data/libby.mp4") ||
  fail "the program built with pkg-config: $out"
[ "$out" = "frame 3, 49 frames 854x480" ] || fail "the program printed '$out'"
LD_LIBRARY_PATH="$libdir" ldd "$tmp/use_mivos" | grep -q "libmivos.so.0 => $libdir/" ||
  fail "the program does not use the installed library: $(ldd "$tmp/use_mivos")"
echo "ok: pkg-config ($flags) program: $out"

# LuaJIT's default module path for the prefix /usr/local, moved to $prefix.
default_path=$(env -u LUA_PATH luajit -e 'io.write(package.path)')
case ";$default_path;" in
  *";/usr/local/share/lua/5.1/?.lua;"*) ;;
  *) fail "LuaJIT does not search /usr/local/share/lua/5.1 by default: $default_path" ;;
esac
lua_path=$(printf '%s' "$default_path" | sed "s#/usr/local/#$prefix/#g")
loaded=$(cd "$tmp" && env -u MIVOS_LIBRARY LUA_PATH="$lua_path" CLIP="$src/examples/data/libby.mp4" \
  luajit -e '
  local mivos = require "mivos"
  io.write(mivos.library_path, " ", tostring(mivos.open_video(os.getenv("CLIP"))))') ||
  fail "require 'mivos' against the prefix: $loaded"
case "$loaded" in
  "$prefix/"*"libmivos.so.0 video: libby.mp4, 49 frames, 854x480") ;;
  *) fail "require 'mivos' loaded '$loaded', expected the prefix's library" ;;
esac
echo "ok: luajit require 'mivos' -> $loaded"

version=$(env -u MIVOS_LIBRARY -u LUA_PATH "$prefix/bin/mivos" --version) ||
  fail "installed mivos --version"
echo "ok: installed mivos --version: $version"
