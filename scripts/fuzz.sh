#!/bin/sh
# Coverage-guided fuzzing of every reader of outside input (tests/fuzz/):
# builds the libFuzzer targets with clang into build-fuzz/ (MIVOS_FUZZ=ON:
# ASan + UBSan + coverage over the whole library) and runs each target for
# SECONDS (default 600), one after another, then prints per target the
# executions, the coverage (edges of the instrumented code reached, "cov",
# and libFuzzer's features, "ft") and the result.
#
#   sh scripts/fuzz.sh [SECONDS] [TARGET ...]
#
# Environment: MIVOS_FUZZ_BUILD (build folder, default build-fuzz),
# MIVOS_FUZZ_RSS_MB (memory limit per target, default 2048), CC (default clang).
# The corpus grows in <build>/fuzz/corpus/NAME and is reused by the next run.
# A crash, leak or timeout leaves its input in <build>/fuzz/artifacts/NAME/
# and makes the script fail: fix it, then copy the input to
# tests/fuzz/regressions/NAME/ so the suite replays it (fuzz_NAME_replay).
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
build=${MIVOS_FUZZ_BUILD:-build-fuzz}
rss=${MIVOS_FUZZ_RSS_MB:-2048}
src=$(pwd)

command -v "${CC:-clang}" >/dev/null 2>&1 ||
  { echo "fuzz: ${CC:-clang} not found (Debian: apt-get install clang)" >&2; exit 2; }
CC=${CC:-clang} cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIVOS_FUZZ=ON \
  -DMIVOS_LUA_ASAN=OFF >/dev/null
cmake --build "$build" --target fuzz -j"${MIVOS_FUZZ_JOBS:-2}" >&2

# The OpenCL driver stack (PoCL, LLVM, the ICD loader) keeps process-lifetime
# allocations: the same leak suppressions as the sanitized suite.
export LSAN_OPTIONS="suppressions=$src/tests/sanitizers/lsan.supp:print_suppressions=0"
# (full stacks through the uninstrumented C++ of the driver, so that its
# leaks match the suppressions)
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:fast_unwind_on_malloc=0"
export UBSAN_OPTIONS="print_stacktrace=1"

results=$(mktemp)
trap 'rm -f "$results"' EXIT
failed=0
tab=$(printf '\t')
while IFS="$tab" read -r name binary regressions seeds; do
  if [ $# -gt 0 ]; then
    case " $* " in *" $name "*) ;; *) continue ;; esac
  fi
  work=$build/fuzz
  mkdir -p "$work/corpus/$name" "$work/artifacts/$name" "$work/logs"
  # Seeds: files and folders, copied into one folder libFuzzer reads.
  rm -rf "$work/seeds/$name"
  mkdir -p "$work/seeds/$name"
  old_ifs=$IFS
  IFS='|'
  for seed in $seeds; do
    if [ -d "$seed" ]; then
      find "$seed" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$work/seeds/$name/" \;
    elif [ -f "$seed" ]; then
      cp "$seed" "$work/seeds/$name/$(basename "$(dirname "$seed")")-$(basename "$seed")"
    fi
  done
  IFS=$old_ifs
  log=$work/logs/$name.log
  echo "fuzz: $name for $seconds s (log: $log)" >&2
  status=0
  "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb="$rss" \
    -max_len=262144 -print_final_stats=1 -artifact_prefix="$work/artifacts/$name/" \
    "$work/corpus/$name" "$work/seeds/$name" "$regressions" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  corpus=$(find "$work/corpus/$name" -type f | wc -l)
  result=ok
  if [ "$status" -ne 0 ]; then
    failed=1
    result="FAILED ($(grep -m1 -o 'ERROR: [A-Za-z]*: [a-z-]*\|ERROR: libFuzzer: [a-z-]*\|runtime error' "$log" || echo "exit $status"); see $log)"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "$corpus" "$result" >>"$results"
done <"$build/fuzz/targets.tsv"

printf '%-16s %8s %12s %8s %8s %8s  %s\n' target seconds executions cov ft corpus result
while IFS="$tab" read -r name secs execs cov ft corpus result; do
  printf '%-16s %8s %12s %8s %8s %8s  %s\n' "$name" "$secs" "$execs" "$cov" "$ft" "$corpus" "$result"
done <"$results"
exit $failed
