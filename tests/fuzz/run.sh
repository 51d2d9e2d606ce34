#!/bin/sh
# run.sh: configure and build the fuzz tree, replay the regression inputs, then run each
# libFuzzer target for N seconds (default 60) on its seed corpus and dictionary.
# Exits non-zero if anything crashed; prints the executions each target ran.
#
#   tests/fuzz/run.sh [seconds]
#
# Environment: RESPITE_FUZZ_BUILD (build tree, default <source>/build-fuzz),
# RESPITE_FUZZ_JOBS (parallel compile jobs, default 2), RESPITE_FUZZ_TARGETS (default
# "fuzz_resp fuzz_commands fuzz_rdb"). New corpus entries go to <build>/fuzz-corpus/<target>,
# crash reproducers to <build>/fuzz-artifacts/, logs to <build>/fuzz-logs/.
set -u

SECS=${1:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${RESPITE_FUZZ_BUILD:-$SRC/build-fuzz}
JOBS=${RESPITE_FUZZ_JOBS:-2}
TARGETS=${RESPITE_FUZZ_TARGETS:-"fuzz_resp fuzz_commands fuzz_rdb"}

case "$SECS" in
''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac
if ! command -v clang >/dev/null 2>&1; then
    echo "run.sh: clang not found (install clang and libclang-rt-dev)" >&2
    exit 2
fi

echo "== configure and build ($BUILD)"
mkdir -p "$BUILD/fuzz-logs" "$BUILD/fuzz-artifacts"
if ! CC=clang cmake -S "$SRC" -B "$BUILD" -DRESPITE_FUZZ=ON >"$BUILD/fuzz-logs/configure.log" 2>&1; then
    cat "$BUILD/fuzz-logs/configure.log" >&2
    echo "run.sh: configure failed" >&2
    exit 1
fi
# Only our targets: the rest of the tree is not ours to build here.
if ! cmake --build "$BUILD" --target $TARGETS -j "$JOBS" >"$BUILD/fuzz-logs/build.log" 2>&1; then
    tail -50 "$BUILD/fuzz-logs/build.log" >&2
    echo "run.sh: build failed" >&2
    exit 1
fi

failed=0
summary=""

# fuzz_one NAME TARGET SECONDS [ENV=VALUE]: one libFuzzer run; appends to $summary.
fuzz_one() {
    name=$1 target=$2 secs=$3 extra=${4:-}
    bin="$BUILD/tests/fuzz/$target"
    seeds="$BUILD/fuzz-seeds/$target"
    work="$BUILD/fuzz-corpus/$target"
    log="$BUILD/fuzz-logs/$name.log"
    case $target in
    fuzz_resp) dict="$HERE/resp.dict" maxlen=4096 ;;
    fuzz_rdb) dict="$HERE/rdb.dict" maxlen=16384 ;;
    *) dict="$HERE/commands.dict" maxlen=1024 ;;   # up to ~60 commands: more inputs per second
    esac
    # Slow inputs (@fill) would otherwise take most of the time.
    sched=-entropic_scale_per_exec_time=$([ "$target" = fuzz_commands ] && echo 1 || echo 0)
    mkdir -p "$work"
    echo "== $name: $secs s"
    # shellcheck disable=SC2086 # $extra is one optional VAR=value word
    env $extra "$bin" -max_total_time="$secs" -max_len="$maxlen" -rss_limit_mb=2048 -timeout=25 "$sched" \
        -dict="$dict" -print_final_stats=1 -artifact_prefix="$BUILD/fuzz-artifacts/$target-" \
        "$work" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=${execs:-0}
    if [ $rc -eq 0 ]; then
        line="$name: $execs executions in $secs s, no finding"
    else
        failed=1
        line="$name: FAILED (exit $rc) after $execs executions; log $log"
        grep -E "ERROR: |SUMMARY: |invariant violated|fuzz_commands: |Test unit written" "$log" | head -20
        grep -E "^    #[0-9]+ " "$log" | head -15
    fi
    echo "$line"
    summary="$summary$line
"
}

# Regression inputs first: each once, so a known bug is named by its file. The seeds
# the fuzzers start from are the corpus without the failing ones, so an open bug does
# not stop the search for others (the run still fails).
for target in $TARGETS; do
    rm -rf "$BUILD/fuzz-seeds/$target"
    mkdir -p "$BUILD/fuzz-seeds/$target"
    cp "$HERE/corpus/$target"/* "$BUILD/fuzz-seeds/$target/"
    set -- "$HERE/corpus/$target"/regress_*
    [ -e "$1" ] || continue
    log="$BUILD/fuzz-logs/$target-regress.log"
    echo "== $target: replaying $# regression input(s)"
    for f in "$@"; do
        if ! "$BUILD/tests/fuzz/$target" "$f" >"$log" 2>&1; then
            failed=1
            rm -f "$BUILD/fuzz-seeds/$target/$(basename "$f")"
            line="$target: regression input $(basename "$f") FAILS"
            grep -E "ERROR: |SUMMARY: |invariant violated|fuzz_commands: " "$log" | head -5
            grep -E "^    #[0-9]+ " "$log" | head -8
            echo "$line"
            summary="$summary$line
"
        fi
    done
done

for target in $TARGETS; do
    fuzz_one "$target" "$target" "$SECS"
    if [ "$target" = fuzz_resp ]; then
        # The 64 KiB request limits, reachable only with the (slow) filler inputs on.
        fill=$((SECS / 6))
        [ $fill -ge 5 ] || fill=5
        fuzz_one fuzz_resp_filler fuzz_resp "$fill" RESPITE_FUZZ_FILLER=1
    fi
done

echo "== summary"
printf "%s" "$summary"
if [ $failed -ne 0 ]; then
    echo "run.sh: FAILED (reproducers in $BUILD/fuzz-artifacts/ or the regress_ inputs above)"
    exit 1
fi
echo "run.sh: all targets passed"
