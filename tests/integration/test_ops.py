"""test_ops.py: the operator commands against redis-server: DEBUG and its gating by
enable-debug-command, the LATENCY monitor (latency-monitor-threshold) and LATENCY
HISTOGRAM, INFO errorstats / latencystats / the Stats counters after the same scripted
errors on both servers, ROLE, WAIT, LOLWUT, MEMORY STATS / DOCTOR / MALLOC-STATS, and
prometheus-redis-exporter exporting the same metric families from both."""

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, decode, eq, wait_until  # noqa: E402

SERVER_ARGS = ORACLE_ARGS = ["--enable-debug-command", "yes"]

DEBUG_REFUSED = (b"-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
                 b"you can run it from a local connection, otherwise you need to set this option in the "
                 b"configuration file, and then restart the server.\r\n")


def both(server, oracle, fn):
    """fn(conn) on a fresh connection to each server: (respite's, redis's)."""
    out = []
    for s in (server, oracle):
        with s.conn() as c:
            out.append(fn(c))
    return out


def same(server, oracle, *cmds):
    """Send cmds in order to both; every reply must be byte-identical."""
    def run(c):
        return [c.cmd(*cmd.split()) if isinstance(cmd, str) else c.cmd(*cmd) for cmd in cmds]
    got, want = both(server, oracle, run)
    for cmd, g, w in zip(cmds, got, want):
        eq(g, w, "reply to %r" % (cmd,))
    return got


def info(c, section):
    """INFO section as {field: value-text} (commandstats: {cmd: {k: v}})."""
    raw = decode(c.cmd("INFO", section)).decode()
    out = {}
    for line in raw.split("\r\n"):
        if not line or line.startswith("#"):
            continue
        k, v = line.split(":", 1)
        out[k] = v
    return out


def fields(v):
    return dict(kv.split("=", 1) for kv in v.split(","))


# ---------------------------------------------------------------- DEBUG

def test_debug_refused_by_default(make_server, make_oracle):
    for s in (make_server(), make_oracle()):
        with s.conn() as c:
            c.cmd("CONFIG", "RESETSTAT")
            eq(c.cmd("DEBUG", "SLEEP", "0"), DEBUG_REFUSED, "%s: DEBUG without enable-debug-command" % s.name)
            eq(c.cmd("DEBUG", "HELP"), DEBUG_REFUSED, "%s: DEBUG HELP" % s.name)
            st = fields(info(c, "commandstats")["cmdstat_debug"])
            eq((st["calls"], st["rejected_calls"], st["failed_calls"]), ("0", "2", "0"), "%s: DEBUG stats" % s.name)
            eq(info(c, "errorstats"), {"errorstat_ERR": "count=2"}, "%s: errorstats" % s.name)
            eq(c.cmd("CONFIG", "GET", "enable-debug-command"),
               b"*2\r\n$20\r\nenable-debug-command\r\n$2\r\nno\r\n", "CONFIG GET")


def test_debug_subcommands(server, oracle):
    same(server, oracle, "FLUSHALL", "DEBUG SLEEP 0", "DEBUG SLEEP abc", "DEBUG SLEEP", "DEBUG NOSUCH 1",
         "DEBUG OBJECT nokey", "DEBUG SET-ACTIVE-EXPIRE 1")
    pat = re.compile(rb"^\+Value at:0x[0-9a-f]+ refcount:(\d+) encoding:(\w+) serializedlength:\d+ "
                     rb"lru:\d+ lru_seconds_idle:\d+\r\n$")

    def objects(c):
        c.cmd("SET", "s", "hello")
        c.cmd("SET", "n", "42")
        return [pat.match(c.cmd("DEBUG", "OBJECT", k)) for k in ("s", "n")]
    for m, name in zip(both(server, oracle, objects), ("respite", "redis")):
        check(all(m), "%s: DEBUG OBJECT shape: %r" % (name, m))
        eq([x.group(2) for x in m], [b"embstr", b"int"], "%s: DEBUG OBJECT encodings" % name)
        eq(m[1].group(1), b"2147483647", "%s: a shared integer's refcount" % name)


def test_debug_set_active_expire(server, oracle):
    for s in (server, oracle):
        with s.conn() as c:
            c.cmd("FLUSHALL")
            eq(c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0"), b"+OK\r\n", "SET-ACTIVE-EXPIRE 0")
            c.cmd("SET", "k", "v", "PX", "10")
            # A key that nobody reads stays while active expiry is off: several cycles pass.
            time.sleep(0.4)
            eq(c.cmd("DBSIZE"), b":1\r\n", "%s: key kept with active expiry off" % s.name)
            eq(c.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1"), b"+OK\r\n", "SET-ACTIVE-EXPIRE 1")
            wait_until(lambda: c.cmd("DBSIZE") == b":0\r\n", 5, "%s: active expiry back on" % s.name)


# ---------------------------------------------------------------- LATENCY

def digits_hidden(b):
    return re.sub(rb"\d+", b"N", b)


def test_latency_monitor(server, oracle):
    same(server, oracle, "LATENCY RESET", "CONFIG SET latency-monitor-threshold 0")
    same(server, oracle, "LATENCY DOCTOR", "LATENCY LATEST", "LATENCY HISTORY command", "LATENCY GRAPH command",
         "LATENCY HELP", "LATENCY NOSUCH")
    same(server, oracle, "CONFIG SET latency-monitor-threshold 40", "LATENCY DOCTOR", "DEBUG SLEEP 0.01",
         "LATENCY LATEST")

    def spike(c):
        c.cmd("LATENCY", "RESET")  # one sample: the graph's shape does not depend on timing
        c.cmd("DEBUG", "SLEEP", "0.05")
        now = int(time.time())
        latest = decode(c.cmd("LATENCY", "LATEST"))
        history = decode(c.cmd("LATENCY", "HISTORY", "command"))
        return now, latest, history, c.cmd("LATENCY", "DOCTOR"), c.cmd("LATENCY", "GRAPH", "command")
    for (now, latest, history, doctor, graph), name in zip(both(server, oracle, spike), ("respite", "redis")):
        eq(len(latest), 1, "%s: LATENCY LATEST events" % name)
        ev, t, last, worst = latest[0]
        eq(ev, b"command", "%s: event name" % name)
        check(abs(t - now) <= 1 and 50 <= last <= 1000 and worst == last, "%s: LATEST %r" % (name, latest))
        eq(history, [[t, last]], "%s: HISTORY" % name)
    got, want = (x[3:] for x in both(server, oracle, spike))
    eq(digits_hidden(got[0]), digits_hidden(want[0]), "LATENCY DOCTOR after a spike")
    eq(digits_hidden(got[1]), digits_hidden(want[1]), "LATENCY GRAPH after a spike")
    check(b"_\n" in got[1] and b"command - high " in got[1], "GRAPH draws the sample: %r" % got[1])
    same(server, oracle, "LATENCY RESET command nosuch", "LATENCY RESET", "LATENCY LATEST", "LATENCY GRAPH command",
         "LATENCY HISTORY command", "CONFIG SET latency-monitor-threshold 0")


def test_latency_histogram(server, oracle):
    def run(c):
        c.cmd("CONFIG", "RESETSTAT")
        for _ in range(3):
            c.cmd("SET", "a", "b")
        c.cmd("CONFIG", "GET", "port")
        return (decode(c.cmd("LATENCY", "HISTOGRAM", "set", "nosuch")),
                decode(c.cmd("LATENCY", "HISTOGRAM", "config")),
                decode(c.cmd("LATENCY", "HISTOGRAM", "get")))
    for (setv, configv, getv), name in zip(both(server, oracle, run), ("respite", "redis")):
        eq(setv[0], b"set", "%s: HISTOGRAM names the command" % name)
        body = dict(zip(setv[1][::2], setv[1][1::2]))
        eq(body[b"calls"], 3, "%s: calls" % name)
        buckets = body[b"histogram_usec"]
        keys, counts = buckets[::2], buckets[1::2]
        check(keys == sorted(keys) and counts == sorted(counts) and counts[-1] == 3,
              "%s: a cumulative distribution: %r" % (name, buckets))
        eq(sorted(configv[::2]), [b"config|get", b"config|resetstat"], "%s: a container reports its subcommands" % name)
        eq(getv, [], "%s: no histogram for a command never called" % name)


# ---------------------------------------------------------------- INFO

ERROR_SCRIPT = [
    ("GET",), ("GET", "a"), ("SET", "k", "v"), ("INCR", "k"), ("XADD", "k", "*", "f", "v"), ("NOSUCH", "x"),
    ("CONFIG", "NOSUCH"), ("MULTI",), ("INCR", "k"), ("GET", "k"), ("EXEC",), ("MULTI",), ("GET",), ("EXEC",),
    ("AUTH", "pw"), ("SET", "k", "v", "EX", "0"), ("DEBUG", "OBJECT", "nokey"), ("WAIT", "x", "0"),
]


def test_errorstats_and_call_counts(server, oracle):
    def run(c):
        c.cmd("CONFIG", "RESETSTAT")
        replies = [c.cmd(*cmd) for cmd in ERROR_SCRIPT]
        cmdstats = {k: {f: v for f, v in fields(v).items() if f in ("calls", "rejected_calls", "failed_calls")}
                    for k, v in info(c, "commandstats").items() if k not in ("cmdstat_info", "cmdstat_config|resetstat")}
        return replies, info(c, "errorstats"), cmdstats, info(c, "stats")["total_error_replies"]
    got, want = both(server, oracle, run)
    for cmd, g, w in zip(ERROR_SCRIPT, got[0], want[0]):
        eq(g, w, "reply to %r" % (cmd,))
    eq(got[1], want[1], "INFO errorstats")
    eq(got[2], want[2], "INFO commandstats calls / rejected_calls / failed_calls")
    eq(got[3], want[3], "total_error_replies")
    check(int(got[3]) >= 10, "the script makes errors: %r" % got[3])


def test_error_outside_a_command(server, oracle):
    """A protocol error counts as an error reply but fails no command: not the next one run."""
    for s in (server, oracle):
        with s.conn() as c, s.conn() as bad:
            c.cmd("CONFIG", "RESETSTAT")
            bad.send(b"*1\r\n$abc\r\n")
            eq(bad.reply(), b"-ERR Protocol error: invalid bulk length\r\n", "%s: protocol error" % s.name)
            c.cmd("GET", "k")
            eq(fields(info(c, "commandstats")["cmdstat_get"])["failed_calls"], "0", "%s: GET after it" % s.name)
            eq(info(c, "errorstats"), {"errorstat_ERR": "count=1"}, "%s: counted" % s.name)


def test_info_field_names(server, oracle):
    """Every field redis-server's INFO has, respite has too."""
    for section in ("server", "clients", "memory", "persistence", "stats", "replication", "cpu"):
        got, want = both(server, oracle, lambda c: set(info(c, section)))
        eq(sorted(want - got), [], "INFO %s fields respite lacks" % section)
    got, want = both(server, oracle, lambda c: decode(c.cmd("INFO", "everything")).decode())
    heads = [re.findall(r"^# (\w+)", x, re.M) for x in (got, want)]
    eq(heads[0], heads[1], "INFO everything sections")


def test_instantaneous_kbps(server):
    with server.conn() as c:
        payload = "x" * 20000

        def busy():
            for _ in range(20):
                c.cmd("SET", "big", payload)
            return float(info(c, "stats")["instantaneous_input_kbps"]) > 0
        wait_until(busy, 5, "instantaneous_input_kbps above 0 under traffic")
        st = info(c, "stats")
        check(float(st["instantaneous_output_kbps"]) >= 0 and int(st["instantaneous_ops_per_sec"]) > 0,
              "instantaneous figures: %r" % st)
        check(int(info(c, "memory")["used_memory_overhead"]) > 0, "used_memory_overhead")


def test_latencystats(server, oracle):
    line = re.compile(r"^p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$")
    for s in (server, oracle):
        with s.conn() as c:
            c.cmd("CONFIG", "RESETSTAT")
            c.cmd("SET", "a", "b")
            c.cmd("GET", "a")
            st = info(c, "latencystats")
            for cmd in ("set", "get"):
                check(line.match(st.get("latency_percentiles_usec_" + cmd, "")), "%s: %s %r" % (s.name, cmd, st))
            eq(c.cmd("CONFIG", "SET", "latency-tracking-info-percentiles", "0 50 100"), b"+OK\r\n", "percentiles")
            check(re.match(r"^p0=[\d.]+,p50=[\d.]+,p100=[\d.]+$", info(c, "latencystats")["latency_percentiles_usec_set"]),
                  "%s: configured percentiles" % s.name)
            c.cmd("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")
            c.cmd("CONFIG", "SET", "latency-tracking", "no")
            c.cmd("CONFIG", "RESETSTAT")
            c.cmd("SET", "a", "b")
            check("latency_percentiles_usec_set" not in info(c, "latencystats"), "%s: tracking off" % s.name)
            c.cmd("CONFIG", "SET", "latency-tracking", "yes")


# ---------------------------------------------------------------- ROLE, WAIT, LOLWUT

def test_role_wait_lolwut(server, oracle):
    same(server, oracle, "ROLE", "WAIT 0 0", "WAIT 0 10", "WAIT x 0", "WAIT 0 -1", "WAIT 0 x", "WAIT 0",
         "LOLWUT")
    with server.conn() as c:
        eq(c.cmd("LOLWUT"), b"$18\r\nRedis ver. 7.0.15\n\r\n", "LOLWUT's version line")


# ---------------------------------------------------------------- MEMORY

def test_memory_stats_doctor(server, oracle):
    def run(c):
        c.cmd("FLUSHALL")
        c.cmd("SET", "k", "v")
        c.cmd("SET", "e", "v", "EX", "100")
        st = decode(c.cmd("MEMORY", "STATS"))
        keys = st[::2]
        db0 = dict(zip(st[keys.index(b"db.0") * 2 + 1][::2], st[keys.index(b"db.0") * 2 + 1][1::2]))
        return keys, sorted(db0), dict(zip(keys, st[1::2]))[b"keys.count"], c.cmd("MEMORY", "DOCTOR")
    got, want = both(server, oracle, run)
    eq(got[0], want[0], "MEMORY STATS keys")
    eq(got[1], want[1], "MEMORY STATS db.0 keys")
    eq(got[2], 2, "keys.count")
    eq(got[3], want[3], "MEMORY DOCTOR on a nearly empty instance")
    same(server, oracle, "MEMORY STATS x", "MEMORY DOCTOR x", "MEMORY HELP")
    with server.conn() as c:
        allocator = info(c, "memory")["mem_allocator"]
        stats = decode(c.cmd("MEMORY", "MALLOC-STATS"))
        if allocator.startswith("jemalloc"):
            check(stats.startswith(b"___ Begin jemalloc statistics ___\n") and
                  stats.endswith(b"--- End jemalloc statistics ---\n"), "jemalloc's report: %r" % stats[:200])
        else:
            eq(stats, b"Stats not supported for the current allocator", "MALLOC-STATS under %s" % allocator)


# ---------------------------------------------------------------- prometheus-redis-exporter

EXPORTER = "/usr/bin/prometheus-redis-exporter"


def exporter_families(srv):
    port = harness.free_port()
    proc = subprocess.Popen([EXPORTER, "-redis.addr", "redis://127.0.0.1:%d" % srv.port,
                             "-web.listen-address", "127.0.0.1:%d" % port, "-redis-only-metrics"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def scrape():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
                    return r.read().decode()
            except OSError:
                return None
        text = wait_until(scrape, 15, "the exporter's /metrics")
    finally:
        proc.terminate()
        proc.wait(10)
    check("redis_up 1" in text, "the exporter reached %s:\n%s" % (srv.name, text[-2000:]))
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def test_prometheus_exporter_families(server, oracle):
    if not os.access(EXPORTER, os.X_OK):
        pytest.skip("needs prometheus-redis-exporter (apt-get install prometheus-redis-exporter)")
    for s in (server, oracle):
        with s.conn() as c:
            c.cmd("FLUSHALL")
            c.cmd("SET", "k", "v")
            c.cmd("SET", "e", "v", "EX", "100")
            c.cmd("CONFIG", "SET", "latency-monitor-threshold", "1")
            c.cmd("DEBUG", "SLEEP", "0.01")
            c.cmd("CONFIG", "SET", "latency-monitor-threshold", "0")
            c.cmd("INCR", "k")
    got, want = exporter_families(server), exporter_families(oracle)
    eq(sorted(got - want), [], "families only respite exports")
    eq(sorted(want - got), [], "families only redis-server exports")
