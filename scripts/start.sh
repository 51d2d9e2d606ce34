#!/usr/bin/env bash
# Build respite (installing any missing Debian packages first) and start it on
# 127.0.0.1:6379 in the foreground. Extra arguments go to respite-server,
# e.g. `bash scripts/start.sh --port 7000 --loglevel verbose`.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in build-essential cmake pkg-config libevent-dev libjemalloc-dev liblua5.1-0-dev lua-cjson-dev lua-bitop liblzf-dev liburing-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release --target respite-server -j"$(nproc)"
exec ./build-release/respite-server --bind 127.0.0.1 --port 6379 "$@"
