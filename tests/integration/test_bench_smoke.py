"""test_bench_smoke.py: each bench/ script runs at a small size against the server under test
and redis-server, exits 0 and prints its markdown table (bench/aggregator.sh: its figures);
each Python script also writes its chart, a PNG beside its markdown in the output directory
(bench/chart.py, python3-matplotlib).

Only checks that the harness works, never the figures. The server under test is
RESPITE_SERVER (as ctest sets it; without it, redis-server stands in), the scripts come from
RESPITE_SOURCE_DIR/bench, results go to a temporary directory. One pytest case per
script run. Skips, saying what is missing, the comparing benchmarks
when redis-server or redis-benchmark is not installed, and bench/aggregator.sh when the
aggregator example is not built (RESPITE_BUILD_DIR, else RESPITE_SOURCE_DIR/build).

bench/aggregator.sh takes no --respite/--out: its cache server is $RESPITE_SERVER (else
redis-server), so the smoke sets RESPITE_SERVER to the server under test and checks the
output names it.
"""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

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
    ("pubsub", ["--publishes", "2000", "--fanout", "20", "--clients", "100", "--seconds", "1",
                "--subs-each", "500"],
     ["| measure |", "1 subscriber, channel", "20 subscribers, pattern", "100 idle subscribers",
      "RSS bytes per subscription"]),
    ("aggregator.sh", ["--searches", "8", "--connections", "4", "--seconds", "1",
                       "--fast-ms", "50", "--medium-ms", "150", "--slow-ms", "300"],
     ["cache server %s;" % SERVER, "phase 1: 8 concurrent searches", "time to first result",
      "time to completion", "phase 2: cache hits", "requests per second",
      "supplier requests:"]),
    ("sharded", ["--quick"],
     ["## twemproxy in front of N shards", "| 2 | GET | 1 |", "| 2 | MGET 10 | 16 |",
      "## Resident bytes per key", "| respite | 2 | 20000 |"]),
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
    if name == "sharded" and not (shutil.which("nutcracker") or os.path.exists("/usr/sbin/nutcracker")):
        return "nutcracker not installed (apt-get install nutcracker)"
    return None


@pytest.fixture(scope="module")
def out_dir():
    d = tempfile.mkdtemp(prefix="bench-smoke-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("name,args,needles", CASES,
                         ids=["%s%s" % (c[0], "-stream" if "--stream" in c[1] else "")
                              for c in CASES])
def test_bench_script(name, args, needles, out_dir):
    have_redis = bool(shutil.which("redis-server") and shutil.which("redis-benchmark"))
    if not os.access(SERVER, os.X_OK):
        if not have_redis:
            pytest.skip("needs redis-server/redis-benchmark (apt-get install redis-server "
                        "redis-tools) or RESPITE_SERVER")
        pytest.fail("no server under test (RESPITE_SERVER=%r)" % SERVER)
    why = skip_reason(name, have_redis)
    if why:
        pytest.skip("bench/%s: %s" % (name, why))
    cmd, env = command(name, args, out_dir)
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=150, stdin=subprocess.DEVNULL, env=env)
        rc, stdout, stderr = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = "timeout", e.stdout or "", e.stderr or ""
        stdout = stdout if isinstance(stdout, str) else stdout.decode(errors="replace")
        stderr = stderr if isinstance(stderr, str) else stderr.decode(errors="replace")
    missing = [n for n in needles if n not in stdout]
    if "did not start" in stdout + stderr:
        missing.append("(a server did not start)")
    chart_name = None if name.endswith(".sh") else name + ("-stream" if "--stream" in args else "")
    if chart_name:
        png = os.path.join(out_dir, chart_name + ".png")
        md = os.path.join(out_dir, chart_name + ".md")
        if "Chart: %s" % png not in stdout:
            missing.append("Chart: %s" % png)
        try:
            with open(png, "rb") as f:
                if f.read(8) != b"\x89PNG\r\n\x1a\n":
                    missing.append("(%s is not a PNG)" % png)
        except OSError:
            missing.append("(no chart %s)" % png)
        if not os.path.exists(md):
            missing.append("(no markdown %s)" % md)
    took = time.monotonic() - t0
    assert rc == 0 and not missing, \
        "bench/%s (%.1f s): exit %s, missing %r\n---- stdout ----\n%s\n" \
        "---- stderr (tail) ----\n%s" % (name, took, rc, missing, stdout[-3000:], stderr[-3000:])
