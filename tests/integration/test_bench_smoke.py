#!/usr/bin/python3
"""test_bench_smoke.py: each bench/ script runs at a small size against the server under test
and redis-server, exits 0 and prints its markdown table (bench/aggregator.sh: its figures).

Only checks that the harness works, never the figures. The server under test is
RESPITE_SERVER (as ctest sets it; without it, redis-server stands in), the scripts come from
RESPITE_SOURCE_DIR/bench, results go to a temporary directory. Prints `N passed, M failed`
last and exits non-zero on any failure. Skips (passes with a note) the comparing benchmarks
when redis-server or redis-benchmark is not installed, and bench/aggregator.sh when the
aggregator example is not built (RESPITE_BUILD_DIR, else RESPITE_SOURCE_DIR/build).

bench/aggregator.sh takes no --respite/--out: its cache server is $RESPITE_SERVER (else
redis-server), so the smoke sets RESPITE_SERVER to the server under test and checks the
output names it.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

SOURCE = os.environ.get("RESPITE_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
SERVER = os.environ.get("RESPITE_SERVER") or shutil.which("redis-server") or ""

# (name, arguments, text the output must contain)
CASES = [
    ("compare", ["--quick", "--requests", "500", "--keyspace", "2000"],
     ["| workload |", "| PING | 1 |", "### Targets", "server CPU per request, pipeline 16"]),
    ("memory", ["--keys", "20000"], ["| measure |", "bytes per key, no TTL",
                                     "bytes per key, TTL on every key"]),
    ("expiry", ["--quick", "--keys", "20000", "--persistent", "2000", "--deadline", "20"],
     ["| measure |", "time until reclaimed", "GET p99, ms"]),
    ("growth", ["--max-keys", "30000", "--phase", "10000"],
     ["| keys after phase (respite) |", "no p99.9 spike"]),
    ("growth", ["--stream", "--max-keys", "30000", "--phase", "10000"],
     ["| entries after phase (respite) |", "RSS B per item respite"]),
    ("idle", ["--clients", "200", "--seconds", "1"],
     ["| measure |", "clients blocked on streams", "readers woken: respite 200 of 200"]),
    ("aggregator.sh", ["--searches", "8", "--connections", "4", "--seconds", "1",
                       "--fast-ms", "50", "--medium-ms", "150", "--slow-ms", "300"],
     ["cache server %s;" % SERVER, "phase 1: 8 concurrent searches", "time to first result",
      "time to completion", "phase 2: cache hits", "requests per second",
      "supplier requests:"]),
]
BUILD = os.environ.get("RESPITE_BUILD_DIR") or os.path.join(SOURCE, "build")
AGG_BINARIES = [os.path.join(BUILD, "examples", "aggregator", b)
                for b in ("aggregator", "mock-supplier", "aggregator-bench")]


def command(name, args, out):
    """(argv, environment) of one case."""
    env = dict(os.environ, RESPITE_SERVER=SERVER)
    path = os.path.join(SOURCE, "bench", name)
    if name.endswith(".sh"):
        # Never let the script build: the binaries must be the ones under test.
        env["RESPITE_BUILD_DIR"] = BUILD
        return ["/bin/sh", path] + args, env
    return ["/usr/bin/python3", path, "--respite", SERVER, "--out", out] + args, env


def skip_reason(name, have_redis):
    if name.endswith(".sh"):
        missing = [b for b in AGG_BINARIES if not os.access(b, os.X_OK)]
        return "not built: %s" % ", ".join(missing) if missing else None
    if not have_redis:
        return "redis-server/redis-benchmark not installed; it compares against them"
    return None


def main():
    passed = failed = 0
    have_redis = bool(shutil.which("redis-server") and shutil.which("redis-benchmark"))
    if not os.access(SERVER, os.X_OK):
        if not have_redis:
            print("skip: redis-server/redis-benchmark not installed and no RESPITE_SERVER")
            print("0 passed, 0 failed")
            return 0
        print("FAIL: no server under test (RESPITE_SERVER=%r)" % SERVER)
        print("0 passed, 1 failed")
        return 1
    out = tempfile.mkdtemp(prefix="bench-smoke-")
    try:
        for name, args, needles in CASES:
            why = skip_reason(name, have_redis)
            if why:
                print("skip bench/%s: %s" % (name, why))
                continue
            cmd, env = command(name, args, out)
            t0 = time.monotonic()
            try:
                r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, timeout=150, stdin=subprocess.DEVNULL,
                                   env=env)
                rc, stdout, stderr = r.returncode, r.stdout, r.stderr
            except subprocess.TimeoutExpired as e:
                rc, stdout, stderr = "timeout", e.stdout or "", e.stderr or ""
                stdout = stdout if isinstance(stdout, str) else stdout.decode(errors="replace")
                stderr = stderr if isinstance(stderr, str) else stderr.decode(errors="replace")
            missing = [n for n in needles if n not in stdout]
            if "did not start" in stdout + stderr:
                missing.append("(a server did not start)")
            took = time.monotonic() - t0
            if rc == 0 and not missing:
                passed += 1
                print("ok   bench/%s (%.1f s)" % (name, took))
            else:
                failed += 1
                print("FAIL bench/%s (%.1f s): exit %s, missing %r" % (name, took, rc, missing))
                print("---- stdout ----\n%s\n---- stderr (tail) ----\n%s" % (
                    stdout[-3000:], stderr[-3000:]))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
