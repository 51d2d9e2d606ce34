#!/bin/sh
# demo.sh: start respite, three mock suppliers and the aggregator with one command, then
# open http://127.0.0.1:8080/ (Ctrl-C stops everything).
# Usage: examples/aggregator/demo.sh [--port 8080] [--cache-port N]
# Builds respite-server and the aggregator into build/ if they are missing. Set
# RESPITE_SERVER to use another cache server binary (e.g. redis-server).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${RESPITE_BUILD_DIR:-$src/build}
if [ ! -x "$build/examples/aggregator/aggregator" ] || [ ! -x "$build/examples/aggregator/mock-supplier" ] ||
   { [ -z "${RESPITE_SERVER:-}" ] && [ ! -x "$build/respite-server" ]; }; then
    echo "building into $build ..."
    cmake -S "$src" -B "$build" >/dev/null
    targets="aggregator mock-supplier"
    [ -z "${RESPITE_SERVER:-}" ] && targets="$targets respite-server"
    # shellcheck disable=SC2086
    cmake --build "$build" --target $targets >/dev/null
fi
export RESPITE_BUILD_DIR="$build"
export RESPITE_SERVER="${RESPITE_SERVER:-$build/respite-server}"
exec /usr/bin/python3 "$here/harness.py" demo "$@"
