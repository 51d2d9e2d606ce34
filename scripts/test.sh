#!/usr/bin/env bash
# test.sh: the one command that builds respite and runs every test.
# Installs missing Debian packages, builds build/ (optimised, with debug info) and
# build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer), runs ctest in both
# (unit tests, integration tests, the aggregator example's tests), prints a summary
# and exits non-zero if any build or test failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
START=$(date +%s)

echo "== install-deps"
bash scripts/install-deps.sh || { echo "test.sh: install-deps.sh failed" >&2; exit 1; }

declare -a SUMMARY=()
TOTAL_PASSED=0
TOTAL_FAILED=0
STATUS=0

# run_config NAME BUILD_DIR CTEST_ARGS CMAKE_ARGS... : configure, build and ctest one build dir.
run_config() {
  local name=$1 dir=$2 ctest_args=$3
  shift 3
  echo "== [$name] configure + build in $dir"
  if ! cmake -S "$ROOT" -B "$ROOT/$dir" "$@" >/dev/null \
     || ! cmake --build "$ROOT/$dir" -j"$JOBS"; then
    SUMMARY+=("$name: BUILD FAILED")
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    STATUS=1
    return
  fi
  run_tests "$name" "$dir" "$ctest_args"
}

# run_tests NAME BUILD_DIR CTEST_ARGS : ctest one (already built) build dir, one summary line.
run_tests() {
  local name=$1 dir=$2 ctest_args=$3
  local log="$ROOT/$dir/ctest-$name.log"
  echo "== [$name] ctest"
  local t0 rc
  t0=$(date +%s)
  # shellcheck disable=SC2086
  (cd "$ROOT/$dir" && ctest --output-on-failure --timeout 600 $ctest_args) 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local line total failed
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -n "$line" ]; then
    total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    failed=$(sed -E 's/.*tests passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  else
    total=0
    failed=1
  fi
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  TOTAL_PASSED=$((TOTAL_PASSED + total - failed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  [ "$rc" -eq 0 ] || STATUS=1
  local failing
  failing=$(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^\s+[0-9]+ - ' | sed -E 's/^\s+[0-9]+ - //' | paste -sd, -)
  SUMMARY+=("$name: $((total - failed))/$total ctest tests passed in $(( $(date +%s) - t0 ))s${failing:+; failed: $failing}")
}

run_config release build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESPITE_SANITIZE=OFF

# The integration tests again on the io_uring write path (io-uring yes: the harness adds
# --io-uring yes to every respite it starts); the first pass ran the direct write path.
# test_fuzz (libFuzzer on the parsers, no server) and test_bench_smoke (bench/ starts its
# own servers) never reach the harness, so a second pass of them would only cost ~140 s.
if [ -x "$ROOT/build/respite-server" ]; then
  export RESPITE_IO_URING=1
  run_tests release-io-uring build "-L integration -E integration_test_(fuzz|bench_smoke)$"
  unset RESPITE_IO_URING
fi

# The Release build (-O3) that scripts/start.sh and bench/ use must compile too: its
# optimiser sees warnings (-Werror=maybe-uninitialized) that -O2 does not.
echo "== [optimised] configure + build respite-server in build-release"
if cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null \
   && cmake --build "$ROOT/build-release" -j"$JOBS" --target respite-server; then
  SUMMARY+=("optimised: respite-server builds with -DCMAKE_BUILD_TYPE=Release")
else
  SUMMARY+=("optimised: BUILD FAILED (-DCMAKE_BUILD_TYPE=Release)")
  TOTAL_FAILED=$((TOTAL_FAILED + 1))
  STATUS=1
fi

export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_config sanitize build-asan "-LE once" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESPITE_SANITIZE=ON
unset ASAN_OPTIONS UBSAN_OPTIONS

echo
echo "== summary ($(( $(date +%s) - START ))s)"
for s in "${SUMMARY[@]}"; do echo "  $s"; done
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
exit "$STATUS"
