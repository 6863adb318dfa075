#!/bin/sh
# The relocatable bundle (scripts/bundle.sh): made from this build, moved,
# run with a bare environment; every library resolves inside it or to glibc;
# the OpenCL vendor library is found without an ICD file.
# usage: test_bundle.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() {  # check DESCRIPTION COMMAND...
  what=$1
  shift
  if "$@" > "$tmp/out" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $what"
    sed 's/^/  | /' "$tmp/out" | head -20
  fi
}

check "bundle.sh makes the bundle" sh "$src/scripts/bundle.sh" "$build" "$tmp/made"
mv "$tmp/made" "$tmp/moved"          # relocatable: nothing points at where it was made
b="$tmp/moved"
bare() { env -i PATH=/usr/bin:/bin HOME="$tmp" "$@"; }

outside_glibc() {  # prints libraries an ELF resolves outside the bundle, except glibc
  LD_LIBRARY_PATH="$b/lib" ldd "$1" | awk -v b="$b" '$2 == "=>" && index($3, b) != 1 {
      if ($1 !~ /^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so)/)
        print $1 " -> " $3 }'
}
for elf in "$b/lib/libmivos.so" "$b/lib/luajit" "$b/libexec/"*; do
  outside_glibc "$elf" > "$tmp/outside"
  check "$(basename "$elf") needs nothing outside the bundle but glibc: $(cat "$tmp/outside")" \
    test ! -s "$tmp/outside"
done
check "bin/mivos --version in a bare environment" bare "$b/bin/mivos" --version
check "bin/mivos info reads a video" bare "$b/bin/mivos" info "$src/examples/data/libby.mp4"
check "bin/mivos-lua loads the module and LuaFileSystem" \
  bare "$b/bin/mivos-lua" -e 'local m = require("mivos"); require("lfs"); assert(m.builtin_modules)'
pocl_dir=$(dirname "$(ldconfig -p | awk '/libpocl\.so\.2 /{print $NF; exit}')")
check "with no ICD file the vendor library is found on the search path" \
  bare MIVOS_ICD_DIR="$tmp/no-icd" MIVOS_ICD_SEARCH="$pocl_dir" TMPDIR="$tmp" \
  "$b/bin/mivos" devices
check "with no driver at all the wrapper says so" sh -c \
  "env -i PATH=/usr/bin:/bin HOME='$tmp' MIVOS_ICD_DIR='$tmp/no-icd' MIVOS_ICD_SEARCH='$tmp/empty' \
   TMPDIR='$tmp' '$b/bin/mivos' devices 2>&1 | grep -q 'no OpenCL driver found'"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
