#!/bin/sh
# shards.sh: N respite servers behind twemproxy (nutcracker) with one command.
#   examples/sharded/shards.sh start [--shards 3] [--port 22121] [--base-port P] [--dir D] [--server BIN]
#   examples/sharded/shards.sh status | stop [--dir D]
# Builds respite-server into build/ if it is missing (unless --server or RESPITE_SERVER
# names another binary); needs Debian's nutcracker package.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${RESPITE_BUILD_DIR:-$src/build}
if ! command -v nutcracker >/dev/null 2>&1 && [ ! -x /usr/sbin/nutcracker ]; then
    echo "shards.sh: nutcracker is not installed (apt-get install nutcracker)" >&2
    exit 1
fi
if [ "${1:-}" = start ] && [ -z "${RESPITE_SERVER:-}" ] && [ ! -x "$build/respite-server" ]; then
    echo "building respite-server into $build ..."
    cmake -S "$src" -B "$build" >/dev/null
    cmake --build "$build" --target respite-server >/dev/null
fi
export RESPITE_BUILD_DIR="$build"
exec /usr/bin/python3 "$here/shards.py" "$@"
