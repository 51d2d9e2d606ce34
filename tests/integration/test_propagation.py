#!/usr/bin/python3
"""test_propagation.py: the propagation stream rebuilds the dataset it came from.

respite runs with `propagation-log <file>`, which appends every propagated command (as
RESP, with SELECT when the db changes). Each case runs a workload against it, then
replays the log into a fresh respite and into Debian's redis-server (7.0.15), and
compares the three datasets: DBSIZE of every db, and each key's TYPE, PEXPIRETIME (an
absolute time: exact, since relative expiries are propagated as absolute ones) and
value (strings by GET; streams by XRANGE and XINFO STREAM FULL without the times that
depend on when a consumer was last seen; hashes by HGETALL and sets by SMEMBERS, as
sorted pairs and members). The replay must answer no error.

The workloads: one that uses every write command respite has (the case reads COMMAND
and fails if a write command or subcommand is not exercised), in several dbs, with
MULTI/EXEC, a blocked XREADGROUP served by an XADD, lazy and active expiry; one under
maxmemory with allkeys-lru that evicts; and seeded random sequences over a small key
space. Plus checks of the stream itself: commands that change nothing propagate
nothing; relative expiries, generated ids and INCRBYFLOAT are rewritten as Redis 7.0
rewrites them.

Each case starts its own servers (the recorded one, and the fresh ones it replays into)
and stops and checks them itself. Run with `/usr/bin/python3 -m pytest -q
tests/integration/test_propagation.py` (RESPITE_SERVER names the binary under test).
"""

import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, RespError, TestFailure, check, decode, encode, eq, wait_until  # noqa: E402

NDBS = 16
FAR = 10 ** 6  # seconds: a TTL that cannot run out during a case


# ---------------------------------------------------------------- plumbing

class Recorded:
    """respite with a propagation log, for a with-block; .log() reads what it wrote."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="respite-prop-")
        self.path = os.path.join(self.dir, "propagation.log")
        self.args = ["--propagation-log", self.path] + list(args)

    def __enter__(self):
        self.srv = harness.start_server(self.args)
        return self

    def __exit__(self, exc_type, exc, tb):
        problems = self.srv.stop()
        if problems and exc_type is None:
            raise TestFailure("shutdown: %s" % "\n".join(problems))

    def conn(self):
        return Conn(self.srv.port)

    def log(self):
        with open(self.path, "rb") as f:
            return f.read()


def split_commands(raw):
    """The log as a list of commands, each a list of bytes arguments."""
    out, pos = [], 0
    while pos < len(raw):
        check(raw[pos:pos + 1] == b"*", "log: expected an array at byte %d: %r" % (pos, raw[pos:pos + 40]))
        i = raw.index(b"\r\n", pos)
        n, pos = int(raw[pos + 1:i]), i + 2
        args = []
        for _ in range(n):
            i = raw.index(b"\r\n", pos)
            check(raw[pos:pos + 1] == b"$", "log: expected a bulk at byte %d" % pos)
            ln, pos = int(raw[pos + 1:i]), i + 2
            args.append(raw[pos:pos + ln])
            check(raw[pos + ln:pos + ln + 2] == b"\r\n", "log: bulk not followed by CRLF")
            pos += ln + 2
        out.append(args)
    return out


def replay(srv, raw):
    """Send the log to srv in one pipeline; every reply (and every EXEC element) must be
    free of errors."""
    cmds = split_commands(raw)
    c = Conn(srv.port)
    c.send(raw)
    for cmd in cmds:
        r = decode(c.reply())
        items = r if isinstance(r, list) and cmd[0].upper() == b"EXEC" else [r]
        for it in items:
            if isinstance(it, RespError):
                raise TestFailure("replaying %r into %s: %s" % (cmd, srv.name, it))
    c.close()
    return cmds


def reclaim_expired(c):
    """A full SCAN of every db: reclaims keys whose TTL passed, so DBSIZE counts only
    live keys (lazy expiry; what it deletes is propagated too)."""
    for db in range(NDBS):
        c.call("SELECT", db)
        cur = b"0"
        while True:
            cur, _ = c.call("SCAN", cur, "COUNT", 1000)
            if cur == b"0":
                break
    c.call("SELECT", 0)


def pairs(flat):
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def stream_state(c, key):
    full = pairs(c.call("XINFO", "STREAM", key, "FULL"))
    for k in (b"radix-tree-keys", b"radix-tree-nodes"):  # the encoding's shape, not the data
        full.pop(k, None)
    groups = []
    for g in full.pop(b"groups"):
        g = pairs(g)
        consumers = []
        for cons in g.pop(b"consumers"):
            cons = pairs(cons)
            cons.pop(b"seen-time", None)  # when it was last seen: not replayed
            cons.pop(b"active-time", None)
            consumers.append(cons)
        g[b"consumers"] = consumers
        groups.append(g)
    full[b"groups"] = groups
    full[b"xrange"] = c.call("XRANGE", key, "-", "+")
    return full


def snapshot(c):
    """{db: {key: (type, pexpiretime, value)}} plus every db's DBSIZE."""
    reclaim_expired(c)
    out = {}
    for db in range(NDBS):
        c.call("SELECT", db)
        keys = c.call("KEYS", "*")
        eq(c.call("DBSIZE"), len(keys), "DBSIZE of db %d" % db)
        state = {}
        for k in keys:
            t = c.call("TYPE", k)
            if t == b"string":
                v = c.call("GET", k)
            elif t == b"stream":
                v = stream_state(c, k)
            elif t == b"hash":
                v = sorted(pairs(c.call("HGETALL", k)))
            elif t == b"set":
                v = sorted(c.call("SMEMBERS", k))
            elif t == b"zset":
                v = c.call("ZRANGE", k, 0, -1, "WITHSCORES")
            elif t == b"list":
                v = c.call("LRANGE", k, 0, -1)
            else:
                raise TestFailure("unexpected type %r of %r" % (t, k))
            state[k] = (t, c.call("PEXPIRETIME", k), v)
        out[db] = state
    c.call("SELECT", 0)
    return out


def diff(a, b, an, bn):
    """A readable description of the first differences between two snapshots."""
    lines = []
    for db in range(NDBS):
        ka, kb = set(a[db]), set(b[db])
        for k in sorted(ka - kb)[:5]:
            lines.append("db %d: %r only in %s: %r" % (db, k, an, a[db][k]))
        for k in sorted(kb - ka)[:5]:
            lines.append("db %d: %r only in %s: %r" % (db, k, bn, b[db][k]))
        for k in sorted(ka & kb):
            if a[db][k] != b[db][k]:
                lines.append("db %d: %r differs:\n  %s: %r\n  %s: %r" % (db, k, an, a[db][k], bn, b[db][k]))
            if len(lines) > 8:
                break
    return "\n".join(lines[:10])


def check_round_trip(rec):
    """Snapshot the recorded server, replay its log into a fresh respite and a fresh
    redis-server, and require all three datasets to be equal. Returns the commands."""
    c = rec.conn()
    want = snapshot(c)  # its lazy expiry goes to the log too: read the log after
    c.close()
    raw = rec.log()
    check(raw, "the propagation log is empty")
    nkeys = sum(len(v) for v in want.values())
    nstreams = sum(1 for v in want.values() for t, _, _ in v.values() if t == b"stream")
    npending = sum(g[b"pel-count"] for v in want.values() for t, _, x in v.values() if t == b"stream"
                   for g in x[b"groups"])
    print("  round trip: %d commands logged; %d keys (%d streams, %d pending messages), %d with a TTL"
          % (raw.count(b"\r\n*") + 1, nkeys, nstreams, npending,
             sum(1 for v in want.values() for _, ttl, _ in v.values() if ttl != -1)), flush=True)
    cmds = None
    for make in (harness.start_server, harness.oracle):
        srv = make()
        try:
            cmds = replay(srv, raw)
            rc = Conn(srv.port)
            got = snapshot(rc)
            rc.close()
            if got != want:
                raise TestFailure("replay into %s differs:\n%s" % (srv.name, diff(want, got, "original", srv.name)))
        finally:
            problems = srv.stop()
        check(not problems, "shutdown of %s: %s" % (srv.name, problems))
    return cmds


def blocked_clients(c):
    for line in c.call("INFO", "clients").split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    return 0


def write_commands(c):
    """Every command and subcommand (as "xgroup|create") COMMAND flags as a write."""
    names = set()
    for e in c.call("COMMAND"):
        if b"write" in e[2]:
            names.add(e[0].decode())
        for s in (e[9] if len(e) > 9 else []):
            if b"write" in s[2]:
                names.add(s[0].decode())
    return names


class Tracking:
    """A connection that remembers the name of every command it sent."""

    CONTAINERS = {"xgroup", "function"}

    def __init__(self, port, used):
        self.c = Conn(port)
        self.used = used

    def call(self, *args):
        name = str(args[0]).lower()
        if name in self.CONTAINERS:
            name += "|" + str(args[1]).lower()
        self.used.add(name)
        return self.c.call(*args)

    def ok(self, *args):
        r = self.call(*args)
        if isinstance(r, RespError):
            raise TestFailure("%r: %s" % (args, r))
        return r


# ---------------------------------------------------------------- the stream itself

def test_nothing_changed_propagates_nothing():
    with Recorded() as rec:
        c = rec.conn()
        c.call("SET", "k", "v")
        c.call("SETBIT", "b", 3, 1)
        c.call("SET", "n", 12)
        c.call("PFADD", "h", "a", "b")
        c.call("PFCOUNT", "h")
        c.call("HSET", "hh", "f", "v")
        c.call("SADD", "ss", "m")
        before = rec.log()
        for args in (("SET", "k", "w", "NX"), ("SET", "absent", "w", "XX"), ("DEL", "nope"),
                     ("EXPIRE", "nope", 10), ("PERSIST", "k"), ("GET", "k"), ("GETEX", "k"),
                     ("XTRIM", "nope", "MAXLEN", 0), ("SETRANGE", "k", 0, ""), ("MSETNX", "k", "x"),
                     ("RENAMENX", "k", "k"), ("EXPIRE", "k", 10, "XX"),
                     # bitmaps and HLLs, as Redis 7.0: only a changed bit or register counts
                     ("SETBIT", "b", 3, 1), ("SETBIT", "n", 0, 0), ("BITFIELD", "b", "SET", "u8", 0, 16),
                     ("BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 9), ("BITFIELD", "b", "GET", "u8", 0),
                     ("BITOP", "AND", "nope", "nope2"), ("PFADD", "h", "a"), ("PFCOUNT", "h"),
                     ("PFCOUNT", "h", "nope"), ("PFDEBUG", "ENCODING", "h"),
                     # hashes and sets
                     ("HSETNX", "hh", "f", "w"), ("HDEL", "hh", "nope"), ("HDEL", "nope", "f"),
                     ("SADD", "ss", "m"), ("SREM", "ss", "nope"), ("SPOP", "nope"), ("SPOP", "nope", 3),
                     ("SPOP", "ss", 0), ("SMOVE", "ss", "t", "nope"), ("SMOVE", "ss", "ss", "m"),
                     ("SINTERSTORE", "nope2", "ss", "nope"), ("SDIFFSTORE", "nope2", "ss", "ss"),
                     ("SRANDMEMBER", "ss", -3), ("HRANDFIELD", "hh", 2)):
            c.call(*args)
        eq(rec.log(), before, "the log after commands that change nothing")
        c.close()


def test_rewrites_as_redis():
    with Recorded() as rec:
        c = rec.conn()
        c.call("SET", "a", "1", "EX", 100)
        c.call("SETEX", "b", 100, "x")
        c.call("GETEX", "a", "PX", 5000)
        c.call("GETEX", "a", "PERSIST")
        c.call("EXPIRE", "b", 200, "GT")
        c.call("EXPIRE", "b", -1)
        c.call("SET", "f", "1.5")
        c.call("INCRBYFLOAT", "f", "0.25")
        c.call("GETSET", "f", "2")
        c.call("GETDEL", "f")
        c.call("SET", "g", "v", "GET")
        sid = c.call("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "5", "*", "f", "v")
        c.call("HSET", "h", "n", "1.5")
        c.call("HINCRBYFLOAT", "h", "n", "0.25")
        c.call("SADD", "p", "a")
        popped = c.call("SPOP", "p")
        c.call("SADD", "q", *range(10))
        many = c.call("SPOP", "q", 3)
        c.call("SPOP", "q", 100)
        c.call("SRANDMEMBER", "q")
        cmds = split_commands(rec.log())
        up = [[x.upper() if i == 0 else x for i, x in enumerate(cmd)] for cmd in cmds]
        t = [cmd for cmd in up if cmd[0] != b"SELECT"]
        eq(t[0][:4], [b"SET", b"a", b"1", b"PXAT"], "SET EX")
        check(int(t[0][4]) > 10 ** 12, "SET EX becomes an absolute PXAT: %r" % t[0])
        eq(t[1][:4], [b"SET", b"b", b"x", b"PXAT"], "SETEX")
        eq(t[2][:2], [b"PEXPIREAT", b"a"], "GETEX PX")
        eq(t[3], [b"PERSIST", b"a"], "GETEX PERSIST")
        eq([t[4][0], t[4][1], t[4][3]], [b"PEXPIREAT", b"b", b"GT"], "EXPIRE GT")
        eq(t[5], [b"DEL", b"b"], "EXPIRE in the past")
        eq(t[7], [b"SET", b"f", b"1.75", b"KEEPTTL"], "INCRBYFLOAT")
        eq(t[8], [b"SET", b"f", b"2"], "GETSET")
        eq(t[9], [b"DEL", b"f"], "GETDEL")
        eq(t[10], [b"SET", b"g", b"v"], "SET GET")
        eq(t[11], [b"XADD", b"s", b"MAXLEN", b"=", b"1", sid, b"f", b"v"], "XADD * with ~ LIMIT")
        eq(t[13], [b"HSET", b"h", b"n", b"1.75"], "HINCRBYFLOAT")
        eq(t[15], [b"SREM", b"p", popped], "SPOP")
        eq(t[17][:2], [b"SREM", b"q"], "SPOP with a count")
        eq(sorted(t[17][2:]), sorted(many), "SPOP with a count removes what it popped")
        eq(t[18], [b"DEL", b"q"], "SPOP of the whole set")
        eq(len(t), 19, "SRANDMEMBER propagates nothing")
        c.close()


def test_scripts_propagate_their_commands():
    """EVAL/EVALSHA/FCALL go out as the commands they ran, in MULTI/EXEC when more than
    one; a script that wrote nothing, or used redis.set_repl(redis.REPL_NONE), adds
    nothing."""
    with Recorded() as rec:
        c = rec.conn()
        c.call("SET", "seed", "1")
        before = len(rec.log())
        c.call("EVAL", "redis.call('set', KEYS[1], 'v') redis.call('expire', KEYS[1], 100) "
               "return redis.call('get', KEYS[1])", 1, "k")
        c.call("EVAL", "return redis.call('get', 'k')", 0)
        c.call("EVAL", "redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', '1') return 1", 0)
        sha = c.call("SCRIPT", "LOAD", "return redis.call('incr', KEYS[1])")
        c.call("EVALSHA", sha, 1, "n")
        c.call("FUNCTION", "LOAD", "#!lua name=l\nredis.register_function('f', function(k) "
               "return redis.call('lpush', k[1], 'x') end)")
        c.call("FCALL", "f", 1, "lst")
        cmds = [[a.upper() if i == 0 else a for i, a in enumerate(cmd)]
                for cmd in split_commands(rec.log()[before:])]
        names = [cmd[0] for cmd in cmds if cmd[0] != b"SELECT"]
        eq(names, [b"MULTI", b"SET", b"PEXPIREAT", b"EXEC", b"INCR", b"FUNCTION", b"LPUSH"], "propagated")
        c.close()


def test_geo_propagates_as_redis():
    with Recorded() as rec:
        c = rec.conn()
        c.call("GEOADD", "g", "ch", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")
        before = rec.log()
        for args in (("GEOADD", "g", "NX", 13, 38, "Palermo"), ("GEOADD", "g", "XX", 13, 38, "nope"),
                     ("GEOADD", "g", 13.361389, 38.115556, "Palermo"), ("GEORADIUS", "g", 0, 0, 1, "m", "STORE", "d"),
                     ("GEOSEARCHSTORE", "d", "nokey", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "km"),
                     ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", 1, "km")):
            c.call(*args)
        eq(rec.log(), before, "the log after GEO commands that change nothing")
        c.call("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "STOREDIST")
        c.call("EVAL", "return redis.call('geoadd', KEYS[1], 'xx', 0, 0, 'Palermo')", 1, "g")
        t = [cmd for cmd in split_commands(rec.log()) if cmd[0].upper() != b"SELECT"]
        eq(t[0], [b"zadd", b"g", b"ch", b"3479099956230698", b"Palermo", b"3479447370796909", b"Catania"],
           "GEOADD as ZADD")
        eq(t[1][:3], [b"GEOSEARCHSTORE", b"d", b"g"], "GEOSEARCHSTORE as itself")
        eq(t[2:], [[b"zadd", b"g", b"xx", b"3377699720527872", b"Palermo"]], "GEOADD in a script as ZADD")
        c.close()


def test_multi_exec_wrapped_and_select():
    with Recorded() as rec:
        c = rec.conn()
        c.call("SELECT", 3)
        c.call("MULTI")
        c.call("SET", "x", "1")
        c.call("GET", "x")
        c.call("SELECT", 4)
        c.call("INCR", "y")
        eq(c.call("EXEC"), [b"OK", b"1", b"OK", 1], "EXEC")
        cmds = [[a.upper() if i == 0 else a for i, a in enumerate(cmd)] for cmd in split_commands(rec.log())]
        # As Redis 7.0.15: MULTI in its first command's db, so that SELECT comes first.
        eq(cmds, [[b"SELECT", b"3"], [b"MULTI"], [b"SET", b"x", b"1"], [b"SELECT", b"4"], [b"INCR", b"y"],
                  [b"EXEC"]], "the transaction as propagated")
        c.close()


def test_big_value_with_expiry():
    """A value of 32 KB or more is read into a buffer of its own that SET may keep as the
    record; with EX the record is rebuilt, and SLOWLOG and the stream still read argv
    after the command (a use-after-free the sanitizer build catches)."""
    with Recorded("--slowlog-log-slower-than", "0") as rec:
        c = rec.conn()
        big = b"z" * 100000
        eq(c.call("SET", "big", big, "EX", FAR), b"OK", "SET big EX")
        eq(c.call("SETEX", "big2", FAR, big), b"OK", "SETEX big")
        entry = c.call("SLOWLOG", "GET", 1)[0]
        eq(entry[3][:2], [b"SETEX", b"big2"], "SLOWLOG's record of SETEX")
        t = [cmd for cmd in split_commands(rec.log()) if cmd[0] != b"SELECT"]
        eq([x[:4] for x in t], [[b"SET", b"big", big, b"PXAT"], [b"SET", b"big2", big, b"PXAT"]], "propagated")
        eq(c.call("STRLEN", "big"), len(big), "STRLEN big")
        c.close()


# ---------------------------------------------------------------- round trips

def every_write_command(t, c2):
    """A workload that exercises every write command; t tracks, c2 is a second client."""
    # strings, db 0
    t.ok("SET", "s1", "hello")
    t.ok("SET", "s2", "v", "EX", FAR)
    t.ok("SET", "s3", "v", "PX", FAR * 1000, "GET")
    t.ok("SET", "s4", "v", "EXAT", 4102444800)
    t.ok("SET", "s5", "v", "PXAT", 4102444800000, "NX")
    t.ok("SET", "big", b"b" * 100000, "EX", FAR)  # a big value's buffer becomes the record
    t.ok("SET", "big2", b"c" * 100000)
    t.ok("SET", "s2", "kept", "KEEPTTL", "XX")
    t.ok("SETEX", "s6", FAR, "x")
    t.ok("PSETEX", "s7", FAR * 1000, "y")
    t.ok("SETNX", "s8", "z")
    t.ok("SETNX", "s8", "not this")
    t.ok("GETSET", "s8", "zz")
    t.ok("SET", "gd", "gone")
    t.ok("GETDEL", "gd")
    t.ok("GETEX", "s1", "EX", FAR)
    t.ok("GETEX", "s6", "PERSIST")
    t.ok("GETEX", "s7", "PXAT", 4102444800123)
    t.ok("SET", "past", "v")
    t.ok("GETEX", "past", "EXAT", 1)
    t.ok("MSET", "m1", "1", "m2", "2", "m3", "x")
    t.ok("MSETNX", "m4", "4", "m5", "5")
    t.ok("MSETNX", "m4", "no", "m6", "no")
    t.ok("APPEND", "m3", "yz")
    t.ok("APPEND", "ap", "new")
    t.ok("SETRANGE", "m3", 10, "pad")
    t.ok("SETRANGE", "sr", 2, "zz")
    t.ok("INCR", "m1")
    t.ok("DECR", "m2")
    t.ok("INCRBY", "n", 40)
    t.ok("DECRBY", "n", 2)
    t.ok("SET", "fl", "10.5", "EX", FAR)
    t.ok("INCRBYFLOAT", "fl", "0.1")
    t.ok("INCRBYFLOAT", "fl2", "3.0e2")
    # keys
    t.ok("SET", "e1", "v")
    t.ok("EXPIRE", "e1", FAR)
    t.ok("SET", "e2", "v")
    t.ok("PEXPIRE", "e2", FAR * 1000, "NX")
    t.ok("SET", "e3", "v")
    t.ok("EXPIREAT", "e3", 4102444800)
    t.ok("SET", "e4", "v")
    t.ok("PEXPIREAT", "e4", 4102444800999)
    t.ok("EXPIRE", "e4", FAR, "GT")
    t.ok("SET", "e5", "v", "EX", FAR)
    t.ok("PERSIST", "e5")
    t.ok("SET", "e6", "v")
    t.ok("EXPIRE", "e6", 0)
    t.ok("PEXPIREAT", "e5", 1)
    t.ok("DEL", "m5", "nope")
    t.ok("UNLINK", "m4")
    t.ok("RENAME", "e1", "e1r")
    t.ok("RENAMENX", "e2", "e2r")
    t.ok("RENAMENX", "e3", "e2r")
    t.ok("COPY", "e1r", "e1c")
    t.ok("COPY", "e3", "e1c", "REPLACE")
    t.ok("COPY", "e2r", "e2c", "DB", 5)
    t.ok("MOVE", "s1", 6)
    payload = t.call("DUMP", "e1c")
    t.ok("RESTORE", "rs1", 0, payload)
    t.ok("RESTORE", "rs2", FAR, payload)
    t.ok("RESTORE", "rs1", 0, payload, "REPLACE", "IDLETIME", 5)
    t.ok("RESTORE", "rs1", 1, payload, "REPLACE", "ABSTTL")
    # streams, db 1
    t.ok("SELECT", 1)
    for i in range(30):
        t.ok("XADD", "st", "*", "i", str(i))
    t.ok("XADD", "st", "99999999999999-*", "seq", "auto")
    t.ok("XADD", "st", "99999999999999-5", "exp", "licit")
    t.ok("XADD", "st2", "MAXLEN", "~", 10, "*", "a", "b")
    for i in range(120):
        t.ok("XADD", "st2", "MAXLEN", "~", 10, "LIMIT", 50, "*", "n", str(i))
    t.ok("XADD", "st3", "MINID", "=", "0-1", "5-1", "x", "y")
    t.ok("XADD", "nomk", "NOMKSTREAM", "*", "x", "y")
    t.ok("XTRIM", "st2", "MAXLEN", "~", 20)
    t.ok("XTRIM", "st2", "MAXLEN", "=", 15)
    t.ok("XTRIM", "st3", "MINID", "~", "6-0")
    ids = [e[0] for e in t.ok("XRANGE", "st", "-", "+")]
    t.ok("XDEL", "st", ids[3], ids[4], b"1-1")
    t.ok("XGROUP", "CREATE", "st", "g1", "0")
    t.ok("XGROUP", "CREATE", "st", "g2", "$")
    t.ok("XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM", "ENTRIESREAD", 0)
    t.ok("XGROUP", "CREATECONSUMER", "st", "g1", "idle")
    t.ok("XGROUP", "CREATECONSUMER", "st", "g1", "todelete")
    t.ok("XGROUP", "DELCONSUMER", "st", "g1", "todelete")
    t.ok("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 5, "STREAMS", "st", ">")
    t.ok("XREADGROUP", "GROUP", "g1", "bob", "COUNT", 5, "STREAMS", "st", ">")
    t.ok("XREADGROUP", "GROUP", "g1", "carol", "COUNT", 3, "NOACK", "STREAMS", "st", ">")
    t.ok("XREADGROUP", "GROUP", "g1", "alice", "STREAMS", "st", "0")  # history: redelivered
    t.ok("XACK", "st", "g1", ids[0], ids[1])
    t.ok("XCLAIM", "st", "g1", "dave", 0, ids[2], ids[5])
    t.ok("XCLAIM", "st", "g1", "erin", 0, ids[6], "JUSTID", "RETRYCOUNT", 7)
    t.ok("XCLAIM", "st", "g1", "erin", 0, ids[7], "IDLE", 5000, "LASTID", ids[20])
    t.ok("XAUTOCLAIM", "st", "g1", "frank", 0, "0-0", "COUNT", 2)
    t.ok("XDEL", "st", ids[8])
    t.ok("XAUTOCLAIM", "st", "g1", "gina", 0, "0-0", "COUNT", 50, "JUSTID")  # drops the deleted one
    t.ok("XGROUP", "SETID", "st", "g2", ids[10], "ENTRIESREAD", 9)
    t.ok("XGROUP", "CREATE", "st", "g3", "0")
    t.ok("XGROUP", "DESTROY", "st", "g3")
    t.ok("XGROUP", "CREATE", "st4", "g", "$", "MKSTREAM")
    t.ok("XADD", "st4", "1-1", "a", "1")
    t.ok("XSETID", "st4", "5-0", "ENTRIESADDED", 7, "MAXDELETEDID", "2-0")
    # a blocked XREADGROUP, served by an XADD from another client
    t.ok("XGROUP", "CREATE", "bl", "g", "$", "MKSTREAM")
    c2.call("SELECT", 1)
    c2.send(encode("XREADGROUP", "GROUP", "g", "waiter", "BLOCK", 0, "STREAMS", "bl", ">"))
    wait_until(lambda: blocked_clients(t.c) == 1, 10, "the XREADGROUP to block")
    t.ok("XADD", "bl", "*", "wake", "up")
    r = decode(c2.reply())
    check(isinstance(r, list) and r[0][0] == b"bl", "the blocked XREADGROUP was served: %r" % (r,))
    # bitmaps and HyperLogLog (values compared by GET: the HLL bytes must be Redis's)
    t.ok("SETBIT", "bm", 100, 1)
    t.ok("SET", "bn", 12345)
    t.ok("SETBIT", "bn", 0, 1)
    t.ok("BITFIELD", "bf", "SET", "u8", 0, 200, "INCRBY", "i5", 3, 7, "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 9)
    t.ok("BITFIELD_RO", "bf", "GET", "u8", 0)
    t.ok("BITOP", "XOR", "bx", "bm", "bf")
    t.ok("SET", "bgone", "x")
    t.ok("BITOP", "AND", "bgone", "nokey")
    t.ok("PFADD", "hll", "a", "b", "c")
    t.ok("PFCOUNT", "hll")
    t.ok("PFMERGE", "hll2", "hll")
    t.ok("PFADD", "hll3", *["e%d" % i for i in range(3000)])
    t.ok("PFCOUNT", "hll3", "hll")
    t.ok("PFDEBUG", "TODENSE", "hll2")
    t.ok("PFDEBUG", "GETREG", "hll")
    t.ok("PFSELFTEST")
    # hashes and sets
    t.ok("HSET", "h1", "a", "1", "b", "2", "c", "x" * 100)
    t.ok("HSETNX", "h1", "d", "4")
    t.ok("HMSET", "h2", "a", "1")
    t.ok("HDEL", "h1", "b")
    t.ok("HINCRBY", "h1", "a", 5)
    t.ok("HINCRBYFLOAT", "h1", "f", "1.5")
    t.ok("HDEL", "h2", "a")
    t.ok("SADD", "s1", 1, 2, 3, 4, 5, 6, 7, 8, "x")
    t.ok("SADD", "s2", 3, 4, 9)
    t.ok("SREM", "s1", 2)
    t.ok("SPOP", "s1")
    t.ok("SPOP", "s1", 2)
    t.ok("SMOVE", "s2", "s3", 9)
    t.ok("SINTERSTORE", "s4", "s1", "s2")
    t.ok("SUNIONSTORE", "s5", "s1", "s2")
    t.ok("SDIFFSTORE", "s6", "s1", "s2")
    t.ok("SADD", "s7", "a", "b")
    t.ok("SPOP", "s7", 5)
    t.ok("EXPIRE", "s5", FAR)
    # sorted sets (scores that need all 17 digits, pops named by key, stores)
    t.ok("ZADD", "zs", 1.1, "a", 2, "b", 3, "c", "-inf", "d", 0.30000000000000004, "e")
    t.ok("ZADD", "zs", "NX", "CH", 5, "a", 6, "f")
    t.ok("ZADD", "zs", "INCR", 0.1, "b")
    t.ok("ZINCRBY", "zs", 2.5, "c")
    t.ok("ZREM", "zs", "d")
    t.ok("ZADD", "zl", 0, "aa", 0, "bb", 0, "cc", 0, "dd")
    t.ok("ZREMRANGEBYLEX", "zl", "[bb", "(dd")
    t.ok("ZREMRANGEBYRANK", "zl", 0, 0)
    t.ok("ZADD", "zr", 1, "x", 2, "y", 3, "z", 4, "w")
    t.ok("ZREMRANGEBYSCORE", "zr", "(3", "+inf")
    t.ok("ZPOPMIN", "zr")
    t.ok("ZPOPMAX", "zr", 5)
    t.ok("ZADD", "zp", 1, "p", 2, "q", 3, "r", 4, "s")
    t.ok("ZMPOP", 2, "nozset", "zp", "MAX", "COUNT", 2)
    t.ok("BZPOPMIN", "zp", 0)
    t.ok("BZPOPMAX", "nozset", "zp", 1)
    t.ok("ZADD", "zp", 9, "t", 8, "u")
    t.ok("BZMPOP", 0, 1, "zp", "MIN", "COUNT", 5)
    t.ok("ZRANGESTORE", "zst", "zs", 1, -1)
    t.ok("ZUNIONSTORE", "zu", 2, "zs", "zl", "WEIGHTS", 2, 3)
    t.ok("ZINTERSTORE", "zi", 2, "zs", "zu", "AGGREGATE", "MAX")
    t.ok("ZDIFFSTORE", "zd", 2, "zs", "zi")
    t.ok("SORT", "zs", "BY", "nosort")
    # geo sets: GEOADD replays as the ZADD it amounts to, the stores as themselves
    t.ok("GEOADD", "geo", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania", 2.35, 48.85, "Paris")
    t.ok("GEOADD", "geo", "XX", "CH", 13.4, 38.1, "Palermo", 1, 1, "nowhere")
    t.ok("GEORADIUS", "geo", 15, 37, 200, "km", "STORE", "geost")
    t.ok("GEORADIUSBYMEMBER", "geo", "Palermo", 300, "km", "STOREDIST", "geosd")
    t.ok("GEOSEARCHSTORE", "geoss", "geo", "FROMLONLAT", 15, 37, "BYBOX", 400, 400, "km", "STOREDIST")
    t.ok("GEOSEARCHSTORE", "geosd", "geo", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "m")
    t.ok("EXPIRE", "zu", 1000)
    # a blocked BZPOPMIN served by a ZADD from another client
    c2.send(encode("BZPOPMIN", "zbl", 0))
    wait_until(lambda: blocked_clients(t.c) == 1, 10, "the BZPOPMIN to block")
    t.ok("ZADD", "zbl", 1, "first", 2, "second")
    eq(decode(c2.reply())[1], b"first", "the blocked BZPOPMIN was served")
    # lists, db 11: the blocking and multi-key pops replay as the pop that ran
    t.ok("SELECT", 11)
    t.ok("RPUSH", "l", "a", "b", "c", "d", "e", "f", "g")
    t.ok("LPUSH", "l", "z", "job:1")
    t.ok("LPUSHX", "l", "x")
    t.ok("RPUSHX", "l", "y")
    t.ok("LPUSHX", "none", "x")
    t.ok("LPOP", "l")
    t.ok("RPOP", "l", 2)
    t.ok("LSET", "l", 1, "B")
    t.ok("LINSERT", "l", "BEFORE", "c", "c0")
    t.ok("LREM", "l", 0, "d")
    t.ok("LTRIM", "l", 0, 6)
    t.ok("LMOVE", "l", "l2", "LEFT", "RIGHT")
    t.ok("RPOPLPUSH", "l", "l2")
    t.ok("LMPOP", 2, "none", "l", "RIGHT", "COUNT", 2)
    t.ok("BLPOP", "none", "l2", 0)
    t.ok("BRPOP", "l2", 0)
    t.ok("RPUSH", "bm", "1", "2", "3")
    t.ok("BLMOVE", "bm", "bm2", "RIGHT", "LEFT", 0)
    t.ok("BRPOPLPUSH", "bm", "bm2", 0)
    t.ok("BLMPOP", 0, 1, "bm2", "LEFT", "COUNT", 5)
    c2.call("SELECT", 11)
    for blocker, push in ((("BLPOP", "q", 0), ("RPUSH", "q", "1", "2")),
                          (("BLMOVE", "q", "q2", "LEFT", "RIGHT", 0), ("RPUSH", "q", "3")),
                          (("BLMPOP", 0, 1, "q", "LEFT", "COUNT", 3), ("RPUSH", "q", "4", "5")),
                          (("BRPOPLPUSH", "q", "q3", 0), ("LPUSH", "q", "6")),
                          (("BRPOP", "q", 0), ("LPUSH", "q", "7"))):
        t.ok("DEL", "q")
        c2.send(encode(*blocker))
        wait_until(lambda: blocked_clients(t.c) == 1, 10, "%s to block" % blocker[0])
        t.ok(*push)
        check(c2.reply()[:1] in (b"*", b"$"), "%s served" % blocker[0])
    # MULTI/EXEC across dbs
    t.ok("SELECT", 2)
    t.ok("MULTI")
    t.ok("SET", "tx", "1", "PX", FAR * 1000)
    t.ok("INCR", "tx")
    t.ok("XADD", "txs", "*", "a", "b")
    t.ok("SELECT", 3)
    t.ok("SET", "tx3", "v")
    eq(len(t.ok("EXEC")), 5, "EXEC replies")
    # SWAPDB, FLUSHDB, FLUSHALL (then rebuild something after it)
    t.ok("SELECT", 7)
    t.ok("SET", "swapme", "7")
    t.ok("SWAPDB", 7, 8)
    t.ok("SELECT", 9)
    t.ok("SET", "fl9", "v")
    t.ok("FLUSHDB")
    t.ok("SELECT", 10)
    t.ok("SET", "k10", "v")
    t.ok("SELECT", 0)
    # scripts: propagated as the commands they ran (relative expiries rewritten, SELECT
    # inside the script in its own db), wrapped in MULTI/EXEC
    t.ok("EVAL", "redis.call('set', KEYS[1], ARGV[1]) redis.call('expire', KEYS[1], ARGV[2]) "
         "return redis.call('incr', KEYS[2])", 2, "ev1", "ev2", "v", FAR)
    sha = t.ok("SCRIPT", "LOAD", "redis.call('select', '11') redis.call('rpush', KEYS[1], ARGV[1]) "
               "return redis.call('lpop', KEYS[1])")
    t.ok("EVALSHA", sha, 1, "evl", "a")
    t.ok("EVALSHA", sha, 1, "evl", "b")
    t.ok("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "ev1")
    t.call("EVAL", "return redis.pcall('incr', KEYS[1])", 1, "ev1")  # fails: nothing written
    t.ok("EVAL", "redis.call('del', KEYS[1]) return redis.call('set', KEYS[2], 'x', 'px', ARGV[1])", 2, "ev2",
         "ev3", FAR * 1000)
    t.ok("FUNCTION", "LOAD", "#!lua name=plib\nredis.register_function('pset', function(keys, args) "
         "return redis.call('hset', keys[1], args[1], args[2]) end)")
    t.ok("FCALL", "pset", 1, "fh", "f", "v")
    t.ok("FUNCTION", "DELETE", "plib")
    t.ok("FUNCTION", "LOAD", "#!lua name=plib2\nredis.register_function('pinc', function(keys) "
         "return redis.call('incr', keys[1]) end)")
    t.ok("FCALL", "pinc", 1, "fn")
    fdump = t.ok("FUNCTION", "DUMP")
    t.ok("FUNCTION", "FLUSH")
    t.ok("FUNCTION", "RESTORE", fdump)
    t.ok("FUNCTION", "RESTORE", fdump, "REPLACE")
    t.call("FUNCTION", "RESTORE", fdump, "APPEND")  # fails: plib2 exists, nothing written
    t.ok("FUNCTION", "RESTORE", fdump, "FLUSH")
    t.ok("FCALL", "pinc", 1, "fn")
    t.ok("FUNCTION", "FLUSH")


def test_every_write_command_round_trip():
    used = set()
    with Recorded() as rec:
        t = Tracking(rec.srv.port, used)
        c2 = rec.conn()
        # FLUSHALL first (it would erase the rest), on a non-empty keyspace.
        t.ok("SET", "before", "flushall")
        t.ok("FLUSHALL")
        every_write_command(t, c2)
        # lazy expiry: keys reclaimed by reads
        for i in range(5):
            t.ok("SET", "lazy%d" % i, "v", "PX", 30)
        wait_until(lambda: all(t.ok("PTTL", "lazy%d" % i) == -2 for i in range(5)), 10, "lazy keys to expire")
        # active expiry: keys nobody reads again, in db 4
        t.ok("SELECT", 4)
        for i in range(200):
            t.ok("SET", "act%d" % i, "v", "PX", 20)
        t.ok("SET", "stays", "v")
        wait_until(lambda: t.ok("DBSIZE") == 1, 20, "active expiry to reclaim db 4")
        t.ok("SELECT", 0)
        missing = write_commands(t.c) - used
        check(not missing, "write commands the workload does not exercise: %s" % sorted(missing))
        cmds = check_round_trip(rec)
        dels = [cmd for cmd in cmds if cmd[0].upper() == b"DEL" and cmd[1].startswith((b"lazy", b"act"))]
        check(len(dels) >= 205, "expired keys are propagated as DEL: %d of 205" % len(dels))
        names = {cmd[0].upper() for cmd in cmds}
        for absent in (b"SETEX", b"PSETEX", b"GETEX", b"GETSET", b"GETDEL", b"INCRBYFLOAT", b"EXPIRE",
                       b"PEXPIRE", b"EXPIREAT", b"XREADGROUP", b"XAUTOCLAIM", b"BZPOPMIN", b"BZPOPMAX",
                       b"BZMPOP", b"ZMPOP", b"BLPOP", b"BRPOP", b"BLMOVE", b"BRPOPLPUSH", b"BLMPOP", b"LMPOP"):
            check(absent not in names, "%s is propagated rewritten, never as itself" % absent.decode())
        c2.close()


def test_eviction_round_trip():
    with Recorded("--maxmemory-policy", "allkeys-lru") as rec:
        c = rec.conn()
        used = 0
        for line in c.call("INFO", "memory").split(b"\r\n"):
            if line.startswith(b"used_memory:"):
                used = int(line.split(b":")[1])
        eq(c.call("CONFIG", "SET", "maxmemory", used + 2 * 1024 * 1024), b"OK", "CONFIG SET maxmemory")
        val = b"x" * 1000
        for db in (0, 1):
            c.call("SELECT", db)
            for i in range(3000):
                c.send(encode("SET", "k%d" % i, val))
            for i in range(3000):
                c.reply()
            c.call("XADD", "stream%d" % db, "*", "f", val)
        c.call("SELECT", 0)
        evicted = 0
        for line in c.call("INFO", "stats").split(b"\r\n"):
            if line.startswith(b"evicted_keys:"):
                evicted = int(line.split(b":")[1])
        check(evicted > 1000, "keys were evicted: %d" % evicted)
        # No more eviction while the snapshot reads (its replies count against the limit).
        eq(c.call("CONFIG", "SET", "maxmemory", 0), b"OK", "CONFIG SET maxmemory 0")
        cmds = check_round_trip(rec)
        dels = sum(1 for cmd in cmds if cmd[0].upper() == b"DEL")
        check(dels >= evicted, "evictions propagated as DEL: %d of %d" % (dels, evicted))
        c.close()


def random_ops(rnd, keys, ids):
    """One random command over a small key space."""
    k = rnd.choice(keys)
    k2 = rnd.choice(keys)
    s = "st" + rnd.choice("ab")
    g = rnd.choice(["g1", "g2"])
    ttl = rnd.choice([FAR, FAR * 2])
    ops = [
        lambda: ("SET", k, str(rnd.randint(0, 99))),
        lambda: ("SET", k, "v%d" % rnd.randint(0, 9), rnd.choice(["EX", "PX"]), ttl),
        lambda: ("SET", k, "n", rnd.choice(["NX", "XX"]), "KEEPTTL"),
        lambda: ("SETEX", k, ttl, "sx"),
        lambda: ("GETEX", k, rnd.choice(["PERSIST", "EX"]), *([ttl] if rnd.random() < 0.5 else [])),
        lambda: ("INCRBY", k, rnd.randint(-5, 5)),
        lambda: ("INCRBYFLOAT", k, "%.3f" % rnd.uniform(-2, 2)),
        lambda: ("APPEND", k, "ab"),
        lambda: ("SETRANGE", k, rnd.randint(0, 5), "Q"),
        lambda: ("GETSET", k, "gs"),
        lambda: ("GETDEL", k),
        lambda: ("DEL", k, k2),
        lambda: ("EXPIRE", k, rnd.choice([ttl, -1]), *rnd.choice([[], ["NX"], ["XX"], ["GT"], ["LT"]])),
        lambda: ("PERSIST", k),
        lambda: ("RENAME", k, k2),
        lambda: ("COPY", k, k2, "REPLACE"),
        lambda: ("MOVE", k, rnd.randint(1, 2)),
        lambda: ("SELECT", rnd.randint(0, 2)),
        lambda: ("XADD", s, *rnd.choice([[], ["MAXLEN", "~", 5], ["MAXLEN", 8]]), "*", "f", "v"),
        lambda: ("XGROUP", "CREATE", s, g, rnd.choice(["0", "$"])),
        lambda: ("XREADGROUP", "GROUP", g, rnd.choice("xyz"), "COUNT", rnd.randint(1, 3),
                 *(["NOACK"] if rnd.random() < 0.2 else []), "STREAMS", s, rnd.choice([">", ">", "0"])),
        lambda: ("XACK", s, g, rnd.choice(ids) if ids else "0-1"),
        lambda: ("XCLAIM", s, g, rnd.choice("xyz"), 0, rnd.choice(ids) if ids else "0-1"),
        lambda: ("XAUTOCLAIM", s, g, rnd.choice("xyz"), 0, "0-0", "COUNT", 2),
        lambda: ("XDEL", s, rnd.choice(ids) if ids else "0-1"),
        lambda: ("XTRIM", s, "MAXLEN", "~", rnd.randint(0, 6)),
        lambda: ("HSET", "h" + k, rnd.choice("abc"), str(rnd.randint(0, 9))),
        lambda: ("HDEL", "h" + k, rnd.choice("abc")),
        lambda: ("HINCRBYFLOAT", "h" + k, rnd.choice("abc"), "%.3f" % rnd.uniform(-2, 2)),
        lambda: ("SADD", "z" + k, *rnd.sample([str(i) for i in range(8)] + ["m", "n"], 3)),
        lambda: ("SPOP", "z" + k, *rnd.choice([[], [rnd.randint(0, 4)]])),
        lambda: ("SREM", "z" + k, rnd.choice("0123mn")),
        lambda: (rnd.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), "z" + k2, "z" + k, "z" + k2),
        lambda: ("SMOVE", "z" + k, "z" + k2, rnd.choice("0123mn")),
    ]
    return rnd.choice(ops)()


def test_random_sequences_round_trip():
    for seed in range(1, 7):
        rnd = random.Random(seed)
        keys = ["k%d" % i for i in range(8)]
        ids = []
        with Recorded() as rec:
            c = rec.conn()
            in_multi = False
            for _ in range(1000):
                if not in_multi and rnd.random() < 0.03:
                    c.call("MULTI")
                    in_multi = True
                args = random_ops(rnd, keys, ids)
                r = c.call(*args)
                if args[0] == "XADD" and isinstance(r, bytes):
                    ids.append(r)
                if in_multi and rnd.random() < 0.2:
                    c.call("EXEC")
                    in_multi = False
            if in_multi:
                c.call("EXEC")
            try:
                check_round_trip(rec)
            except TestFailure as e:
                raise TestFailure("seed %d: %s" % (seed, e))
            c.close()

