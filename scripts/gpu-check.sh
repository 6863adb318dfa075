#!/bin/sh
# The GPU check: lists the OpenCL devices, runs the operator self-check, the
# golden tests and the benchmarks on the first GPU (or $MIVOS_DEVICE), and
# prints one table. Works from a build tree and inside a bundle:
#
#   sh scripts/gpu-check.sh [SHARED_DIR]        (build tree: programs in build/)
#   dist/mivos/bin/gpu-check.sh [SHARED_DIR]    (bundle made by scripts/bundle.sh)
#
# SHARED_DIR holds fixtures/golden, spec/checkpoints and data/ (default:
# $MIVOS_SHARED, else ../shared beside the repository). Logs go to
# $MIVOS_GPU_CHECK_OUT (default ./gpu-check). Bench sections:
# $MIVOS_GPU_CHECK_BENCH (default "ops memory networks labelprop").
# Exit status: 0 when every step passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ -x "$here/../../../libexec/mivos-golden" ]; then      # inside a bundle
  root=$(cd "$here/../../.." && pwd)
  selfcheck="$root/libexec/mivos-selfcheck"
  golden="$root/libexec/mivos-golden"
  bench="$root/libexec/mivos-bench"
  default_shared="$PWD/shared"
else                                                       # a build tree
  root=$(cd "$here/.." && pwd)
  build=${MIVOS_BUILD_DIR:-$root/build}
  selfcheck="$build/examples/mivos-selfcheck"
  golden="$build/tests/test_golden"
  bench="$build/tests/bench"
  default_shared="$root/../shared"
fi
shared=${1:-${MIVOS_SHARED:-$default_shared}}
out=${MIVOS_GPU_CHECK_OUT:-./gpu-check}
device=${MIVOS_DEVICE:-gpu}
sections=${MIVOS_GPU_CHECK_BENCH:-ops memory networks labelprop}
mkdir -p "$out"
export MIVOS_SHARED="$shared" MIVOS_DEVICE="$device"

for p in "$selfcheck" "$golden" "$bench"; do
  [ -x "$p" ] || { echo "gpu-check: $p is missing (build first: sh scripts/setup.sh)" >&2; exit 1; }
done

summary="$out/summary.txt"
: > "$summary"
failed=0

# step NAME COMMAND...: runs it with its output in $out/NAME.log, records
# status and wall seconds.
step() {
  name=$1
  shift
  start=$(date +%s.%N)
  "$@" > "$out/$name.log" 2>&1
  rc=$?
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc = 0 ]; then status=ok; else status="FAILED (exit $rc)"; failed=1; fi
  printf '%-22s %-16s %8s s  %s\n' "$name" "$status" "$secs" "$out/$name.log" >> "$summary"
}

echo "gpu-check: device '$device', shared '$shared', logs in $out" >&2
step devices "$selfcheck" --list
step self-check "$selfcheck" --device "$device"
if [ -d "$shared/fixtures/golden" ]; then
  step golden "$golden" "$shared/fixtures/golden" "$shared/spec/checkpoints"
else
  echo "golden                 skipped (no $shared/fixtures/golden)" >> "$summary"
fi
for s in $sections; do
  step "bench-$s" "$bench" --device "$device" "$s"
done

echo
echo "== devices"
cat "$out/devices.log"
echo
echo "== golden (relative L2 error per compared tensor)"
grep -E "rel L2|max abs|differ|passed" "$out/golden.log" 2>/dev/null || echo "(not run)"
for s in $sections; do
  echo
  echo "== bench $s"
  cat "$out/bench-$s.log"
done
echo
echo "== summary ($device)"
printf '%-22s %-16s %10s  %s\n' step status time log
cat "$summary"
exit $failed
