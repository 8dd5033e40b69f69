#!/usr/bin/env bash
# Builds the libFuzzer target for the STUN/TURN parsers with clang (ASan + UBSan) and runs it
# briefly from the seed corpus (RFC 5769 vectors, a ChannelData frame, an Allocate request):
# a crash, a sanitizer report or a leak fails. The long run (>= 10 minutes) is recorded in
# docs/benchmarks.md. Usage: tests/calling/turn/fuzz_smoke.sh [seconds, default 30]
# Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../../.."
seconds=${1:-30}
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing (scripts/install-deps --test)"; echo "0 passed, 1 failed"; exit 1; }
passed=0 failed=0
mkdir -p build-fuzz
if CXX=clang++ CC=clang cmake -S . -B build-fuzz -G Ninja -DWIREBOX_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     > build-fuzz/build.log 2>&1 && cmake --build build-fuzz --target stun_parser_fuzz >> build-fuzz/build.log 2>&1; then
  passed=$((passed + 1)); echo "ok: stun_parser_fuzz builds with clang (ASan, UBSan, libFuzzer)"
else
  tail -30 build-fuzz/build.log; failed=$((failed + 1)); echo "FAIL: building stun_parser_fuzz"
  echo "fuzz: $passed passed, $failed failed"; exit 1
fi
# The corpus grows in a scratch copy; the committed seeds stay as they are.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp tests/calling/turn/fuzz/corpus/* "$work/"
if UBSAN_OPTIONS=halt_on_error=1 build-fuzz/tests/calling/turn/stun_parser_fuzz -max_total_time="$seconds" \
     -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 "$work" > "$work.log" 2>&1; then
  passed=$((passed + 1))
  echo "ok: $(grep -E '^stat::number_of_executed_units' "$work.log" | awk '{print $2}') inputs in ${seconds} s, no crash"
else
  grep -A30 -E "ERROR|runtime error|deadly signal" "$work.log" | head -60
  failed=$((failed + 1)); echo "FAIL: the fuzzer found a crash (log above)"
fi
rm -f "$work.log"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
