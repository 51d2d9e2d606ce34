"""test_types.py: what goes through the value-type descriptor, over the wire: TYPE,
OBJECT ENCODING, COPY (strings of each encoding, streams with groups, consumers and
pending entries, across databases, with REPLACE) and MEMORY USAGE / MEMORY HELP.

COPY and MEMORY's errors and help are differential: the server under test and Debian's
redis-server get the same commands and must answer with the same bytes, except that
absolute times (ms since the epoch), idle times and seen-times are hidden before the
comparison (XPENDING's extended form, XINFO STREAM FULL, XINFO CONSUMERS). MEMORY
USAGE's figures cannot match Redis's (another allocator, other structures): against
the server under test they are checked to be integers that grow with a value and
shrink when it does; redis-cli --memkeys and --bigkeys must run cleanly against it. The differential steps
use the case format of harness.py ("clock" marks the normalised ones).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, decode, diff_case, eq  # noqa: E402

SERVER_ARGS = ORACLE_ARGS = ["--databases", "16"]

TIME_KEYS = {b"idle", b"seen-time", b"inactive", b"active-time"}


def hide_times(v):
    """A decoded reply with the clock's traces replaced: integers that are absolute ms
    times, the values of time fields in (flat) maps, and the idle column of XPENDING
    rows [id, consumer, idle, count]."""
    if isinstance(v, int) and v >= 10 ** 12:
        return "<abs-ms>"
    if isinstance(v, list):
        v = [hide_times(x) for x in v]
        for k in range(0, len(v) - 1, 2):
            if isinstance(v[k], bytes) and v[k] in TIME_KEYS and isinstance(v[k + 1], int):
                v[k + 1] = "<t>"
        if len(v) == 4 and isinstance(v[0], bytes) and isinstance(v[1], bytes) \
                and isinstance(v[2], int) and isinstance(v[3], int):
            v[2] = "<idle>"
        return v
    return v


def diff_script(server, oracle, script):
    """Run steps on both servers after FLUSHALL (harness.diff_case); a step starting with
    "clock" has its reply compared with the clock's traces hidden, the others byte for
    byte. Fails with every mismatch."""
    diff_case(server, oracle, script)


# ---------------------------------------------------------------- COPY

def test_copy_keeps_pending_entries_of_deleted_messages(server, oracle):
    """The bug: a pending message whose entry was XDELed was dropped by COPY."""
    diff_script(server, oracle, [
        "XADD s 1-1 f v", "XADD s 2-1 f v", "XGROUP CREATE s g 0",
        "clock XREADGROUP GROUP g c STREAMS s >", "XDEL s 1-1", "COPY s s2",
        "XPENDING s2 g", "clock XPENDING s2 g - + 10", "clock XPENDING s2 g - + 10 c",
        "clock XINFO STREAM s2 FULL", "XINFO GROUPS s2", "clock XINFO CONSUMERS s2 g",
        "clock XREADGROUP GROUP g c STREAMS s2 0", "XACK s2 g 1-1", "XPENDING s2 g", "XPENDING s g",
    ])


def test_copy_auto_ids_pending_count(server, oracle):
    """The sequence as reported, with "*" ids (which differ between the servers, so only
    the pending counts are compared)."""
    counts = []
    for srv in (server, oracle):
        with srv.conn() as c:
            c.cmd("FLUSHALL")
            c.cmd("XADD", "s", "*", "f", "v")
            c.cmd("XADD", "s", "*", "f", "v")
            c.cmd("XGROUP", "CREATE", "s", "g", "0")
            first = decode(c.cmd("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"))[0][1][0][0]
            eq(c.call("XDEL", "s", first), 1, "XDEL")
            eq(c.call("COPY", "s", "s2"), 1, "COPY")
            counts.append(c.call("XPENDING", "s2", "g")[0])
    eq(counts, [2, 2], "XPENDING s2 g count (respite, redis)")


def test_copy_equals_original_on_each_server(server, oracle):
    """Right after COPY, XINFO STREAM FULL of the copy equals the original's exactly,
    times included (COPY keeps delivery and seen times), on both servers."""
    for srv in (server, oracle):
        with srv.conn() as c:
            c.cmd("FLUSHALL")
            for i in range(1, 40):
                c.cmd("XADD", "s", "%d-1" % i, "f", "v%d" % i, "g", "w")
            c.cmd("XGROUP", "CREATE", "s", "g", "0")
            c.cmd("XGROUP", "CREATE", "s", "h", "20-1")
            c.cmd("XREADGROUP", "GROUP", "g", "a", "COUNT", "10", "STREAMS", "s", ">")
            c.cmd("XREADGROUP", "GROUP", "g", "b", "COUNT", "10", "STREAMS", "s", ">")
            c.cmd("XREADGROUP", "GROUP", "h", "a", "COUNT", "5", "STREAMS", "s", ">")
            c.cmd("XDEL", "s", "3-1", "15-1", "22-1", "39-1")
            c.cmd("XCLAIM", "s", "g", "b", "0", "3-1", "5-1", "TIME", "1000", "RETRYCOUNT", "9")
            c.cmd("XACK", "s", "g", "7-1")
            eq(c.call("COPY", "s", "s2"), 1, "COPY")
            eq(c.cmd("XINFO", "STREAM", "s2", "FULL"), c.cmd("XINFO", "STREAM", "s", "FULL"),
               "%s: XINFO STREAM s2 FULL vs s" % srv.name)
            for g in ("g", "h"):
                eq(hide_times(c.call("XPENDING", "s2", g, "-", "+", "100")),
                   hide_times(c.call("XPENDING", "s", g, "-", "+", "100")),
                   "%s: XPENDING of the copy, group %s" % (srv.name, g))


def test_copy_streams_with_groups_db_replace(server, oracle):
    diff_script(server, oracle, [
        "XADD s 1-1 a 1 b 2", "XADD s 2-1 a 3", "XADD s 3-1 a 4 b 5", "XADD s 4-1 c 6",
        "XADD s 5-1 a 7",
        "XGROUP CREATE s g1 0", "XGROUP CREATE s g2 $", "XGROUP CREATE s g3 2-1 ENTRIESREAD 2",
        "XGROUP CREATECONSUMER s g1 lazy",
        "clock XREADGROUP GROUP g1 alice COUNT 2 STREAMS s >",
        "clock XREADGROUP GROUP g1 bob COUNT 2 STREAMS s >",
        "clock XREADGROUP GROUP g3 carol STREAMS s >",
        "clock XREADGROUP GROUP g1 dave NOACK STREAMS s >",
        "XDEL s 2-1 4-1", "XACK s g3 3-1",
        "clock XCLAIM s g1 bob 0 1-1 RETRYCOUNT 5",
        "XSETID s 9-9 ENTRIESADDED 12 MAXDELETEDID 4-1",
        # another db, then REPLACE over a string and over a stream
        "clock COPY s s2 DB 3", "SELECT 3", "clock XINFO STREAM s2 FULL", "XINFO GROUPS s2",
        "XPENDING s2 g1", "XPENDING s2 g3", "clock XPENDING s2 g1 - + 10 bob", "TYPE s2",
        "OBJECT ENCODING s2", "SELECT 0",
        "SET str x", "COPY s str", "COPY s str REPLACE", "TYPE str", "clock XINFO STREAM str FULL",
        "XADD other 1-1 z z", "COPY s other REPLACE", "XRANGE other - +", "XINFO GROUPS other",
        # the copy lives on its own: changes to the original do not show in it
        "XGROUP DELCONSUMER s g1 alice", "XGROUP DESTROY s g3", "XDEL s 1-1", "XADD s 10-1 n n",
        "XPENDING other g1", "XINFO GROUPS other", "XLEN other", "XLEN s",
        "clock XREADGROUP GROUP g1 alice STREAMS other 0", "XACK other g1 1-1 3-1",
        "XPENDING other g1", "XPENDING s g1",
        # with a TTL
        "EXPIRE s 1000", "COPY s ttl", "TTL ttl", "COPY s ttl DB 2 REPLACE", "SELECT 2", "TTL ttl",
        "XLEN ttl", "SELECT 0", "DBSIZE",
    ])


def test_copy_empty_streams_and_groups_without_pending(server, oracle):
    diff_script(server, oracle, [
        "XADD s 1-1 f v", "XDEL s 1-1", "COPY s e", "XLEN e", "clock XINFO STREAM e FULL",
        "XGROUP CREATE m g $ MKSTREAM", "XGROUP CREATECONSUMER m g c", "COPY m m2",
        "clock XINFO STREAM m2 FULL", "clock XINFO CONSUMERS m2 g", "XADD m2 1-1 f v",
        "clock XREADGROUP GROUP g c STREAMS m2 >", "XINFO GROUPS m", "XINFO GROUPS m2",
    ])


def test_copy_strings_type_encoding(server, oracle):
    big = "b" * 60
    diff_script(server, oracle, [
        "SET i 123", "SET neg -5", "SET e hello", "SET r " + big, "SET a ab", "APPEND a cd",
        "SET f 1.5", "SETRANGE sr 3 x",
        "COPY i i2", "COPY neg neg2", "COPY e e2", "COPY r r2", "COPY a a2", "COPY f f2", "COPY sr sr2",
        "OBJECT ENCODING i2", "OBJECT ENCODING neg2", "OBJECT ENCODING e2", "OBJECT ENCODING r2",
        "OBJECT ENCODING a2", "OBJECT ENCODING f2", "OBJECT ENCODING sr2",
        "GET i2", "GET e2", "GET r2", "GET a2", "GET sr2", "TYPE i2", "TYPE a2",
        "APPEND a2 !", "GET a", "GET a2", "INCR i2", "GET i",
        "COPY e i2", "COPY e i2 REPLACE", "GET i2", "OBJECT ENCODING i2",
        "PEXPIRE e 500000", "COPY e e3", "OBJECT ENCODING e3",
        "COPY e e3 DB 5", "SELECT 5", "GET e3", "OBJECT ENCODING e3", "SELECT 0",
        "COPY e e", "COPY e e DB 0", "COPY e e DB 1", "COPY nokey x", "COPY e x DB 99",
        "COPY e x REPLACE DB", "COPY e x BAD", "COPY e",
        "TYPE nokey", "OBJECT ENCODING nokey", "DBSIZE",
    ])


# ---------------------------------------------------------------- MEMORY

def test_memory_errors_and_help(server, oracle):
    diff_script(server, oracle, [
        "SET k v", "MEMORY HELP", "memory help", "MEMORY", "MEMORY HELP x", "MEMORY USAGE",
        "MEMORY FOO", "MEMORY FOO bar", "MEMORY USAGE nokey", "MEMORY USAGE nokey SAMPLES 5",
        "MEMORY USAGE nokey SAMPLES x", "MEMORY USAGE nokey FOO", "MEMORY USAGE k SAMPLES",
        "MEMORY USAGE k SAMPLES -1", "MEMORY USAGE k SAMPLES x", "MEMORY USAGE k SAMPLES 1.5",
        "MEMORY USAGE k SAMPLES 99999999999999999999", "MEMORY USAGE k SAMPLES 5 x",
        "MEMORY USAGE k BAD 1", "MEMORY USAGE nokey SAMPLES -9223372036854775808",
    ])
    for extra in ([], ["SAMPLES", "0"], ["SAMPLES", "5"], ["samples", "9223372036854775807"],
                  ["SAMPLES", "3", "SAMPLES", "4"]):
        with server.conn() as c:
            r = c.call("MEMORY", "USAGE", "k", *extra)
            check(isinstance(r, int) and r > 0, "MEMORY USAGE k %s: %r" % (" ".join(extra), r))
    with server.conn() as c:            # a null in RESP3 too
        c.cmd("HELLO", "3")
        eq(c.cmd("MEMORY", "USAGE", "nokey"), b"_\r\n", "RESP3 null")
        c.cmd("MULTI")
        c.cmd("MEMORY", "USAGE", "k")
        r = decode(c.cmd("EXEC"))
        check(isinstance(r[0], int) and r[0] > 0, "MEMORY USAGE in EXEC: %r" % r)


def usage(c, key):
    r = c.call("MEMORY", "USAGE", key)
    check(isinstance(r, int) and r > 0, "MEMORY USAGE %s: %r" % (key, r))
    return r


def test_memory_usage_follows_values(server):
    with server.conn() as c:
        c.cmd("FLUSHALL")
        sizes = []
        for n in (1, 100, 1000, 10000, 100000):
            c.cmd("SET", "s", "x" * n)
            sizes.append(usage(c, "s"))
        check(sizes == sorted(sizes) and sizes[-1] >= 100000, "string sizes %r" % sizes)
        c.cmd("SET", "s", "x")
        check(usage(c, "s") < 100, "a short string after a long one: %d" % usage(c, "s"))
        c.cmd("SET", "n", "12345")
        check(usage(c, "n") < 100, "an integer")
        plain = usage(c, "n")
        c.cmd("EXPIRE", "n", "1000")
        check(usage(c, "n") > plain, "a TTL costs something: %d vs %d" % (usage(c, "n"), plain))

        c.cmd("XADD", "st", "1-1", "f", "v")
        one = usage(c, "st")
        for i in range(2, 2001):
            c.send(harness.encode("XADD", "st", "%d-1" % i, "field", "value-%d" % i))
        for i in range(2, 2001):
            c.reply()
        full = usage(c, "st")
        check(full > one + 2000 * 10, "2000 entries: %d, one: %d" % (full, one))
        c.cmd("XGROUP", "CREATE", "st", "g", "0")
        c.cmd("XREADGROUP", "GROUP", "g", "c", "STREAMS", "st", ">")
        grouped = usage(c, "st")
        check(grouped > full + 2000 * 16, "2000 pending records: %d, before: %d" % (grouped, full))
        c.cmd("XGROUP", "DESTROY", "st", "g")
        check(usage(c, "st") < grouped, "after XGROUP DESTROY")
        c.cmd("XTRIM", "st", "MAXLEN", "10")
        trimmed = usage(c, "st")
        check(trimmed < full / 4, "trimmed to 10 entries: %d, full: %d" % (trimmed, full))
        c.cmd("COPY", "st", "st2")
        copied = usage(c, "st2")     # the copy has no spare room in its vectors
        check(trimmed / 2 < copied <= trimmed, "a copy of %d bytes weighs %d" % (trimmed, copied))
        ids = ["%d-1" % i for i in range(1, 2001)]
        c.cmd("XADD", "big", "1-1", "f", "v" * 5000)
        b1 = usage(c, "big")
        c.cmd("XADD", "big", "2-1", "f", "v")
        c.cmd("XDEL", "big", "1-1")
        check(usage(c, "big") < b1, "XDEL of a 5000-byte entry: %d vs %d" % (usage(c, "big"), b1))
        c.cmd("XDEL", "st", *ids)
        check(usage(c, "st") < trimmed, "every entry deleted")
        c.cmd("DEL", "st")
        eq(c.cmd("MEMORY", "USAGE", "st"), b"$-1\r\n", "deleted key")


def test_memory_usage_is_no_access(server, oracle):
    """As Redis: MEMORY USAGE counts no keyspace hit or miss (both servers)."""
    for srv in (server, oracle):
        with srv.conn() as c:
            c.cmd("FLUSHALL")
            c.cmd("SET", "k", "v")
            c.cmd("CONFIG", "RESETSTAT")
            c.cmd("MEMORY", "USAGE", "k")
            c.cmd("MEMORY", "USAGE", "nokey")
            info = c.call("INFO", "stats").decode()
            stats = dict(l.split(":", 1) for l in info.split("\r\n") if ":" in l)
            eq((stats["keyspace_hits"], stats["keyspace_misses"]), ("0", "0"),
               "%s: hits and misses after MEMORY USAGE" % srv.name)


def redis_cli(server, args):
    return subprocess.run([harness.need_program("redis-cli", "redis-tools"), "-p", str(server.port)] + args, capture_output=True,
                          timeout=60, text=True)


def test_redis_cli_memkeys_and_bigkeys(server):
    with server.conn() as c:
        c.cmd("FLUSHALL")
        c.cmd("SET", "small", "x")
        c.cmd("SET", "large", "y" * 5000)
        c.cmd("INCR", "counter")
        c.cmd("XADD", "st", "1-1", "f", "v")
        for i in range(2, 200):
            c.cmd("XADD", "bigst", "%d-1" % i, "f", "v" * 20)
    for args, what in ((["--memkeys"], "bytes"), (["--memkeys", "--memkeys-samples", "0"], "bytes"),
                       (["--bigkeys"], "entries")):
        r = redis_cli(server, args)
        out = r.stdout + r.stderr
        eq(r.returncode, 0, "redis-cli %s exit status (output: %s)" % (" ".join(args), out[-2000:]))
        low = out.lower()
        check("warning" not in low and "error" not in low,
              "redis-cli %s complained:\n%s" % (" ".join(args), out[-2000:]))
        check("Sampled 5 keys" in out, "redis-cli %s sampled:\n%s" % (" ".join(args), out[-2000:]))
        check("Biggest string found '\"large\"'" in out, "biggest string:\n%s" % out[-2000:])
        check("Biggest stream found '\"bigst\"'" in out, "biggest stream:\n%s" % out[-2000:])
        check("3 strings with" in out and "2 streams with" in out and what in out,
              "redis-cli %s summary:\n%s" % (" ".join(args), out[-2000:]))
