#!/bin/sh
# bench/aggregator.sh: the hotel-price aggregator (examples/aggregator) under load.
# Starts a cache server ($RESPITE_SERVER, else redis-server), three mock suppliers
# (0.1 s, 1 s, 3 s) and the aggregator(s) on free loopback ports, then for N concurrent
# searches reports the time to the first result and to completion, and the requests per
# second of cache hits; everything is stopped at the end.
# Usage: bench/aggregator.sh [--searches N] [--connections C] [--seconds S]
#                            [--aggregators A] [--fast-ms MS] [--medium-ms MS] [--slow-ms MS]
# Environment: RESPITE_BUILD_DIR (default: build/, built here if the binaries are missing).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${RESPITE_BUILD_DIR:-$src/build}
if [ ! -x "$build/examples/aggregator/aggregator-bench" ]; then
    cmake -S "$src" -B "$build" >/dev/null
    cmake --build "$build" --target aggregator mock-supplier aggregator-bench >/dev/null
fi
export RESPITE_BUILD_DIR="$build"
exec /usr/bin/python3 "$src/examples/aggregator/harness.py" bench "$@"
