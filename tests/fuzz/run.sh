#!/usr/bin/env bash
# Runs every fuzzer of a ZOO_FUZZ build for SECONDS each (default 30) from its committed seed corpus, with its
# dictionary, under ASan+UBSan. Any crash, leak, timeout (10 s per input), out-of-memory (2 GB) or sanitizer report
# stops that fuzzer with a non-zero status and fails the script. New inputs go to a scratch corpus, never into the
# committed one. Prints execs and coverage per harness.
#   tests/fuzz/run.sh BUILD_DIR [SECONDS] [NAME...]
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [SECONDS] [NAME...]}
seconds=${2:-30}
shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(npy safetensors pth pickle yaml_spec run_config experiment image report)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for n in "${names[@]}"; do
  mkdir -p "$scratch/$n"
  log="$scratch/$n.log"
  if "$build/bin/fuzz_$n" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -dict="$here/dict/$n.dict" -artifact_prefix="$scratch/$n-" -print_final_stats=1 \
       "$scratch/$n" "$here/corpus/$n" >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
  printf '%-12s %-6s %10s execs  %6s edges\n' "$n" "$status" "$execs" "$cov"
  if [ "$status" = FAILED ]; then
    tail -40 "$log"
    for a in "$scratch/$n"-*; do [ -e "$a" ] && cp "$a" "${ZOO_FUZZ_ARTIFACTS:-.}/" && echo "artifact kept: $(basename "$a")"; done
  fi
done
exit $failed
