#!/usr/bin/env bash
# install-deps.sh: install the Debian packages that building and testing respite need.
# Idempotent: packages already installed (dpkg -s) are left alone, and apt-get update +
# install run only when something is missing. Non-interactive; runs as root on a fresh
# Debian 12 (sudo is used only if present and we are not root).
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config libevent-dev check libhiredis-dev
  # LZF for list-compress-depth (and the RDB format)
  liblzf-dev
  liburing-dev
  # the allocator respite is built with (RESPITE_MALLOC, BENCHMARKS.md); mimalloc for the
  # comparison builds (-DRESPITE_MALLOC=mimalloc)
  libjemalloc-dev libmimalloc-dev
  # scripting: Lua 5.1 and the cjson and bit libraries (server/script.c)
  liblua5.1-0-dev lua-cjson-dev lua-bitop
  # integration tests: the runner, real clients, the oracle server, leak checks, and
  # `ip` for test_auth's network namespace
  python3 python3-pytest redis-tools python3-redis redis-server valgrind iproute2
  # sharding behind twemproxy (examples/sharded, test_sharded, bench/sharded)
  nutcracker
  # the fuzz targets (libFuzzer and the sanitizer runtimes)
  clang libclang-rt-14-dev
  # the aggregator example's page test: headless Chromium driven by Debian's selenium
  chromium chromium-driver python3-selenium
  # test_ops: the Prometheus exporter's metric families against respite and redis-server
  prometheus-redis-exporter
  # bench/: the charts beside each result (bench/chart.py)
  python3-matplotlib
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q -o Dpkg::Options::=--force-confdef \
  -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
echo "install-deps: done"
