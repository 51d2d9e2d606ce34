#!/usr/bin/python3
"""test_notify.py: keyspace notifications are the ones redis-server 7.0 publishes.

Each case runs the same command sequence against respite and redis-server, each watched
by a subscriber on `psubscribe __key*__:*` under a notify-keyspace-events setting, and
compares the events command by command: after every command the driving connection
publishes a mark on a channel the subscriber also listens to, so the events between
two marks are that command's (with what a blocked client it served did). Both sides
must publish the same (channel, message) pairs in the same order.

Cases: every write command respite has (test_propagation.py's workload, which fails if
the command table has a write command it does not exercise), with KEA, KEAn (key
creation) and KEAnm (and read misses); commands that empty or remove keys; a seeded random sequence under
several partial flag sets; lazy expiry (active expiry off), active expiry (the set of
expired keys, waited for with a deadline), eviction under a small maxmemory (every
eviction published, once, for a key now gone); CONFIG SET/GET of the setting.
"""

import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, RespError, TestFailure, check, decode, eq, wait_until  # noqa: E402
import test_propagation as prop  # noqa: E402

SERVER_ARGS = ORACLE_ARGS = ["--enable-debug-command", "yes"]
MARK = b"notify-test-mark"


class Watched:
    """A server with a driving connection, a second client and a subscriber."""

    def __init__(self, srv, flags, leader=None):
        self.srv = srv
        self.flags = flags
        self.leader = leader  # the side run first, whose random choices this one copies
        self.snapshots = {}
        self.c = Conn(srv.port)
        self.c2 = Conn(srv.port)
        self.sub = Conn(srv.port)
        self.c.call("FLUSHALL")
        for cmd in (("CONFIG", "SET", "notify-keyspace-events", flags), ("DEBUG", "SET-ACTIVE-EXPIRE", 1)):
            r = self.c.call(*cmd)
            check(r == b"OK", "%r: %r" % (cmd, r))
        self.sub.call("PSUBSCRIBE", "__key*__:*")
        self.sub.call("SUBSCRIBE", MARK)
        self.marks = 0
        self.in_multi = False
        self.steps = []  # (label, [(channel, message)])

    def events(self):
        """The events published since the last mark, up to a new one."""
        self.marks += 1
        self.c.call("PUBLISH", MARK, self.marks)
        out = []
        while True:
            m = decode(self.sub.reply())
            if m[0] == b"message" and m[1] == MARK:
                check(int(m[2]) == self.marks, "mark %d, expected %d" % (int(m[2]), self.marks))
                return out
            check(m[0] == b"pmessage", "subscriber got %r" % (m,))
            out.append((m[2], m[3]))

    def step(self, label, *args):
        """Run one command; inside MULTI its events come with EXEC's."""
        r = self.c.call(*args)
        name = harness._b(args[0]).lower()
        if name == b"multi":
            self.in_multi = True
        elif name in (b"exec", b"discard"):
            self.in_multi = False
        self.steps.append((label, [] if self.in_multi else self.events()))
        if name == b"spop" and not self.in_multi:
            self.sync_set(args[1])
        return r

    def sync_set(self, key):
        """SPOP chose at random: the second side takes the first side's set, unpublished."""
        i = len(self.steps)
        self.c.call("CONFIG", "SET", "notify-keyspace-events", "")  # (reads publish keymiss)
        if self.leader is None:
            self.snapshots[i] = (self.c.call("SMEMBERS", key), self.c.call("PTTL", key))
            self.c.call("CONFIG", "SET", "notify-keyspace-events", self.flags)
            return
        members, pttl = self.leader.snapshots[i]
        self.c.call("DEL", key)
        if members:
            self.c.call("SADD", key, *members)
        if pttl > 0:
            self.c.call("PEXPIRE", key, pttl)
        self.c.call("CONFIG", "SET", "notify-keyspace-events", self.flags)

    def close(self):
        self.c.call("CONFIG", "SET", "notify-keyspace-events", "")
        for x in (self.c, self.c2, self.sub):
            x.close()


class Tracked(prop.Tracking):
    """test_propagation's Tracking, recording each command's events."""

    def __init__(self, w, used):
        self.c = w.c
        self.used = used
        self.w = w

    def call(self, *args):
        name = str(args[0]).lower()
        if name in self.CONTAINERS:
            name += "|" + str(args[1]).lower()
        self.used.add(name)
        return self.w.step(" ".join(harness._b(a).decode("latin-1")[:40] for a in args)[:200], *args)


def compare(a, b, an="respite", bn="redis-server"):
    eq(len(a.steps), len(b.steps), "number of steps")
    bad = []
    for (la, ea), (lb, eb) in zip(a.steps, b.steps):
        if ea != eb:
            bad.append("after %s\n  %s: %r\n  %s: %r" % (la, an, ea, bn, eb))
    check(not bad, "%d command(s) published different events:\n%s" % (len(bad), "\n".join(bad[:15])))


def both(server, oracle, flags, run):
    sides = []
    for srv in (server, oracle):
        w = Watched(srv, flags, sides[0] if sides else None)
        try:
            run(w)
        finally:
            w.close()
        sides.append(w)
    return sides


# ---------------------------------------------------------------- the setting

def test_config_canonical_form(server, oracle):
    for conn_s, conn_o in [(server.conn(), oracle.conn())]:
        for v in ("KEA", "AKE", "KEAn", "KEAm", "Kn", "Exe", "AKEnm", "g$lshzxetdKE", "K", "d", "Elzt", "",
                  "tdnm$", "KA", "x"):
            eq(conn_s.call("CONFIG", "SET", "notify-keyspace-events", v), b"OK", "CONFIG SET %r" % v)
            eq(conn_o.call("CONFIG", "SET", "notify-keyspace-events", v), b"OK", "oracle CONFIG SET %r" % v)
            eq(conn_s.call("CONFIG", "GET", "notify-keyspace-events"),
               conn_o.call("CONFIG", "GET", "notify-keyspace-events"), "CONFIG GET after %r" % v)
        for v in ("Q", "KE!", "a"):
            eq(conn_s.cmd("CONFIG", "SET", "notify-keyspace-events", v),
               conn_o.cmd("CONFIG", "SET", "notify-keyspace-events", v), "CONFIG SET %r" % v)
        eq(conn_s.call("CONFIG", "SET", "notify-keyspace-events", ""), b"OK", "reset")
        conn_s.close()
        conn_o.close()


def test_off_publishes_nothing(server):
    w = Watched(server, "")
    try:
        w.step("set", "SET", "k", "v")
        w.step("del", "DEL", "k")
        eq(w.steps, [("set", []), ("del", [])], "events with the setting empty")
        w.c.call("CONFIG", "SET", "notify-keyspace-events", "KA")  # no E: keyspace channel only
        w.step("set", "SET", "k", "v", "EX", 100)
        eq(w.steps[-1][1], [(b"__keyspace@0__:k", b"set"), (b"__keyspace@0__:k", b"expire")], "K only")
        w.c.call("CONFIG", "SET", "notify-keyspace-events", "E$")  # strings only, keyevent only
        w.step("set", "SET", "k", "v", "EX", 100)
        eq(w.steps[-1][1], [(b"__keyevent@0__:set", b"k")], "E$")
    finally:
        w.close()


# ---------------------------------------------------------------- every write command

def every_write(flags, server, oracle):
    used = set()

    def run(w):
        t = Tracked(w, used)
        t.ok("SET", "before", "flushall")
        t.ok("FLUSHALL")
        w.c2.call("SELECT", 0)
        prop.every_write_command(t, w.c2)

    a, b = both(server, oracle, flags, run)
    with Conn(server.port) as c:
        missing = prop.write_commands(c) - used
    if harness.is_oracle_under_test():
        missing -= {"migrate", "restore", "restore-asking"} | {m for m in missing if m.startswith("function|")}
    check(not missing, "write commands the workload does not exercise: %s" % sorted(missing))
    compare(a, b)


def test_every_write_command_kea(server, oracle):
    every_write("KEA", server, oracle)


def test_every_write_command_kean(server, oracle):
    every_write("KEAn", server, oracle)


def test_every_write_command_keanm(server, oracle):
    every_write("KEAnm", server, oracle)


# Commands that remove keys, empty collections or change nothing (no event), in one db.
EDGES = [
    ("SET", "s", "1"), ("SET", "s", "2", "NX"), ("SET", "s", "3", "XX", "GET"), ("SET", "nx", "1", "XX"),
    ("SET", "s", "4", "PXAT", 1), ("SET", "s", "5", "EX", 100), ("SET", "s", "6", "KEEPTTL"),
    ("GETEX", "s"), ("GETEX", "s", "PERSIST"), ("GETEX", "s", "PX", 100000), ("GETEX", "s", "PXAT", 1),
    ("GETEX", "none", "EX", 10), ("GETDEL", "none"), ("SETRANGE", "sr", 0, ""), ("SETRANGE", "s", 0, ""),
    ("APPEND", "a", ""), ("INCRBYFLOAT", "f", "1.5"), ("MSETNX", "m1", "1", "m1", "2"),
    ("SET", "e", "v"), ("EXPIRE", "e", 100, "XX"), ("EXPIRE", "e", 100, "NX"), ("EXPIRE", "e", 50, "GT"),
    ("PEXPIRE", "e", 10000, "LT"), ("PERSIST", "e"), ("PERSIST", "e"), ("EXPIRE", "e", -5), ("EXPIRE", "nope", 5),
    ("SET", "r", "v"), ("RENAME", "r", "r"), ("RENAME", "r", "r2"), ("SET", "r3", "x"), ("RENAME", "r2", "r3"),
    ("RENAMENX", "r3", "r3"), ("COPY", "r3", "r3"), ("COPY", "r3", "r4"), ("COPY", "r3", "r4"),
    ("COPY", "r3", "r4", "REPLACE"), ("MOVE", "r4", 1), ("MOVE", "r3", 0), ("DEL", "r3", "r3", "none"),
    ("RPUSH", "l", "a", "b"), ("LPOP", "l", 0), ("LPOP", "l", 5), ("RPUSH", "l", "a"), ("RPOP", "l"),
    ("RPUSH", "l", "a", "b", "a"), ("LREM", "l", 0, "a"), ("LREM", "l", 0, "b"), ("RPUSH", "l", "x"),
    ("LTRIM", "l", 5, 10), ("RPUSH", "l", "x", "y"), ("LTRIM", "l", 0, -1), ("LMOVE", "l", "l", "LEFT", "RIGHT"),
    ("LMOVE", "l", "l3", "LEFT", "RIGHT"), ("LMOVE", "l", "l3", "RIGHT", "LEFT"), ("LSET", "l3", 0, "z"),
    ("LINSERT", "l3", "AFTER", "nope", "q"), ("LINSERT", "l3", "BEFORE", "z", "q"), ("LMPOP", 1, "l3", "LEFT", "COUNT", 10),
    ("HSET", "h", "a", "1"), ("HSET", "h", "a", "1"), ("HSETNX", "h", "a", "2"), ("HDEL", "h", "zz"), ("HDEL", "h", "a"),
    ("HINCRBY", "h", "n", 1), ("HINCRBYFLOAT", "h", "n", "0"), ("HMSET", "h", "x", "y"),
    ("SADD", "st", "a"), ("SADD", "st", "a"), ("SREM", "st", "b"), ("SREM", "st", "a"), ("SADD", "st", "a", "b"),
    ("SMOVE", "st", "st", "a"), ("SMOVE", "st", "st2", "a"), ("SMOVE", "st", "st2", "b"), ("SMOVE", "st2", "st3", "zz"),
    ("SPOP", "st2", 0), ("SPOP", "st2", 10), ("SINTERSTORE", "st4", "st3", "none"), ("SADD", "st4", "x"),
    ("SINTERSTORE", "st4", "st3", "none"), ("SUNIONSTORE", "st5", "st3"), ("SDIFFSTORE", "st5", "st3", "st3"),
    ("SADD", "st6", "a"), ("SUNIONSTORE", "st6", "none"),
    ("ZADD", "z", 1, "a"), ("ZADD", "z", "NX", 2, "a"), ("ZADD", "z", "XX", "CH", 3, "a"), ("ZADD", "z", 3, "a"),
    ("ZADD", "z", "INCR", 0, "a"), ("ZINCRBY", "z", 1, "b"), ("ZREM", "z", "none"), ("ZREM", "z", "a", "b"),
    ("ZADD", "z", 1, "a", 2, "b"), ("ZREMRANGEBYSCORE", "z", 5, 6), ("ZREMRANGEBYRANK", "z", 0, -1),
    ("ZADD", "z", 1, "a"), ("ZREMRANGEBYLEX", "z", "-", "+"), ("ZADD", "z", 1, "a", 2, "b"), ("ZPOPMIN", "z", 0),
    ("ZPOPMAX", "z", 5), ("ZADD", "z", 1, "a"), ("ZRANGESTORE", "z2", "z", 5, 6), ("ZRANGESTORE", "z2", "z", 0, -1),
    ("ZRANGESTORE", "z2", "z", 5, 6), ("ZUNIONSTORE", "z3", 1, "none"), ("ZINTERSTORE", "z3", 1, "z"),
    ("ZDIFFSTORE", "z3", 2, "z", "z"), ("ZMPOP", 1, "z", "MIN"),
    ("XADD", "x", "1-1", "a", "b"), ("XADD", "x", "NOMKSTREAM", "2-1", "a", "b"), ("XADD", "nx", "NOMKSTREAM", "*", "a", "b"),
    ("XDEL", "x", "9-9"), ("XDEL", "x", "1-1"), ("XTRIM", "x", "MAXLEN", 0), ("XTRIM", "x", "MAXLEN", 0),
    ("XGROUP", "CREATE", "x", "g", "0"), ("XGROUP", "CREATE", "x", "g", "0"), ("XGROUP", "CREATECONSUMER", "x", "g", "c"),
    ("XGROUP", "CREATECONSUMER", "x", "g", "c"), ("XGROUP", "DELCONSUMER", "x", "g", "zz"), ("XGROUP", "SETID", "x", "g", "$"),
    ("XGROUP", "DESTROY", "x", "zz"), ("XGROUP", "DESTROY", "x", "g"), ("XSETID", "x", "5-5"),
    ("XADD", "x", "6-1", "a", "b"), ("XGROUP", "CREATE", "x", "g", "0"), ("XREADGROUP", "GROUP", "g", "new", "STREAMS", "x", ">"),
    ("XREADGROUP", "GROUP", "g", "new", "STREAMS", "x", ">"), ("XREADGROUP", "GROUP", "g", "other", "STREAMS", "x", "0"),
    ("XCLAIM", "x", "g", "c3", 0, "6-1"), ("XCLAIM", "x", "g", "c3", 0, "7-1"), ("XAUTOCLAIM", "x", "g", "c4", 0, "0"),
    ("XACK", "x", "g", "6-1"), ("XACK", "x", "g", "6-1"),
    ("SETBIT", "b", 7, 1), ("SETBIT", "b", 7, 1), ("SETBIT", "b", 7, 0), ("BITFIELD", "bf", "GET", "u8", 0),
    ("BITFIELD", "bf", "SET", "u8", 0, 1), ("BITOP", "NOT", "bo", "none"), ("BITOP", "OR", "bo", "b"),
    ("PFADD", "p"), ("PFADD", "p", "a"), ("PFADD", "p", "a"), ("PFMERGE", "p2"), ("PFMERGE", "p2", "p"), ("PFCOUNT", "p", "p2"),
    ("RPUSH", "srt", 3, 1, 2), ("SORT", "srt", "STORE", "srt2"), ("SORT", "none", "STORE", "srt2"),
    ("SORT", "srt", "LIMIT", 5, 5, "STORE", "srt3"),
    ("SET", "wt", "v"), ("LPUSH", "wt", "x"), ("UNLINK", "wt", "none"), ("DEL", "none"),
    ("SET", "k" * 300, "long key"), ("APPEND", "k" * 300, "!"), ("DEL", "k" * 300),
    ("SET", b"bin\x00\r\n:key", "v"), ("EXPIRE", b"bin\x00\r\n:key", 100), ("RENAME", b"bin\x00\r\n:key", "k" * 299),
    ("ZADD", "zn", "INCR", "+inf", "a"), ("ZADD", "zn", "INCR", "-inf", "a"), ("ZADD", "zn", 1, "b", "nan", "c"),
    ("XADD", "xe", "0-0", "a", "b"), ("XADD", "xe", "5-1", "a", "b"), ("XADD", "xe", "4-1", "a", "b"),
    ("XADD", "xe", "MAXLEN", 1, "6-1", "a", "b"), ("XADD", "xe", "MAXLEN", 5, "7-1", "a", "b"),
    ("XGROUP", "CREATE", "xm", "g", "$", "MKSTREAM"), ("XGROUP", "CREATE", "xm", "g", "$", "MKSTREAM"),
    ("XADD", "xz", "MAXLEN", 0, "1-1", "a", "b"), ("XTRIM", "xz", "MINID", "5-0"), ("XADD", "xz", "NOMKSTREAM", "2-1", "a", "b"),
    ("MULTI",), ("SET", "tx", "1"), ("LPUSH", "tx", "a"), ("INCR", "tx"), ("DEL", "tx"), ("EXEC",),
    ("HINCRBYFLOAT", "hf", "f", "1.5"), ("HINCRBY", "hf", "f", 1), ("HSET", "hf", "f", "x"), ("HINCRBY", "hf", "f", 1),
    ("BITFIELD", "bf2", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 9), ("BITFIELD", "bf2", "INCRBY", "u2", 0, 1),
    ("SETBIT", "bf3", 100, 0), ("INCR", "s"), ("SET", "i", "1"), ("INCRBY", "i", 5), ("DECR", "i"),
    ("INCRBYFLOAT", "i", "x"), ("MSET", "m1", "a", "m1", "b"), ("SMOVE", "st3", "st3", "zz"),
    ("LINSERT", "none", "BEFORE", "a", "b"), ("LPUSHX", "none", "a"), ("RPUSHX", "l3", "a"), ("LPOP", "none"),
    ("PFADD", "p3", "a"), ("PFADD", "p3"), ("PFMERGE", "p3", "p3"), ("PFCOUNT", "p3"),
    ("SET", "ex", "v", "EX", 100), ("SET", "ex", "v2", "KEEPTTL"), ("GETSET", "ex", "v3"), ("TTL", "ex"),
    ("SET", "ex", "v", "PX", 100000, "GET"), ("GETDEL", "ex"), ("GETDEL", "ex"),
    ("SET", "wr", "v"), ("HSET", "wr", "a", "b"), ("SADD", "wr", "a"), ("XADD", "wr", "*", "a", "b"),
    ("ZADD", "wr", 1, "a"), ("LPUSH", "wr", "a"), ("PFADD", "wr", "a"), ("SETBIT", "wr", 1, 1),
    ("GEOADD", "wr", 1, 1, "a"), ("GEOADD", "ge", 1, 1, "a"), ("GEOADD", "ge", "NX", 2, 2, "a"),
    ("GEOADD", "ge", "XX", "CH", 2, 2, "a"), ("GEOADD", "ge", "XX", 3, 3, "b"), ("GEOADD", "gx", "XX", 1, 1, "a"),
    ("GEOADD", "ge", 500, 1, "c"), ("GEORADIUS", "ge", 2, 2, 10, "km", "STORE", "gs"),
    ("GEORADIUS", "ge", 50, 50, 1, "m", "STORE", "gs"), ("GEORADIUS", "ge", 50, 50, 1, "m", "STORE", "gs"),
    ("GEOSEARCHSTORE", "gs2", "ge", "FROMMEMBER", "a", "BYBOX", 1, 1, "km"),
    ("GEOSEARCHSTORE", "gs2", "none", "FROMMEMBER", "a", "BYBOX", 1, 1, "km"),
    ("GEORADIUSBYMEMBER", "ge", "a", 1, "km", "STOREDIST", "gs3"), ("GEORADIUSBYMEMBER", "none", "a", 1, "km", "STORE", "gs3"),
]


def test_edges(server, oracle):
    for flags in ("KEA", "KEAn", "KEAnm"):
        def run(w):
            for args in EDGES:
                w.step(" ".join(str(a) for a in args)[:120], *args)
        compare(*both(server, oracle, flags, run))


# Every read command with keys, on absent keys ("keymiss" where Redis's lookup publishes
# it) and on present ones.
READS = [
    ("GET", "%s"), ("MGET", "%s", "s"), ("STRLEN", "%s"), ("GETRANGE", "%s", 0, 1), ("SUBSTR", "%s", 0, 1),
    ("GETBIT", "%s", 1), ("BITCOUNT", "%s"), ("BITPOS", "%s", 1), ("BITFIELD_RO", "%s", "GET", "u8", 0),
    ("LCS", "%s", "s"), ("EXISTS", "%s", "s"), ("TYPE", "%s"), ("TTL", "%s"), ("PTTL", "%s"),
    ("EXPIRETIME", "%s"), ("PEXPIRETIME", "%s"), ("TOUCH", "%s", "s"), ("DUMP", "%s"), ("OBJECT", "ENCODING", "%s"),
    ("OBJECT", "FREQ", "%s"), ("OBJECT", "IDLETIME", "%s"), ("OBJECT", "REFCOUNT", "%s"),
    ("MEMORY", "USAGE", "%s"), ("PFCOUNT", "%s"), ("PFCOUNT", "%s", "p"),
    ("HGET", "%s", "f"), ("HMGET", "%s", "f"), ("HGETALL", "%s"), ("HKEYS", "%s"), ("HVALS", "%s"),
    ("HLEN", "%s"), ("HEXISTS", "%s", "f"), ("HSTRLEN", "%s", "f"), ("HRANDFIELD", "%s"), ("HSCAN", "%s", 0),
    ("LLEN", "%s"), ("LINDEX", "%s", 0), ("LRANGE", "%s", 0, -1), ("LPOS", "%s", "a"),
    ("SCARD", "%s"), ("SISMEMBER", "%s", "a"), ("SMISMEMBER", "%s", "a"), ("SMEMBERS", "%s"),
    ("SRANDMEMBER", "%s"), ("SSCAN", "%s", 0), ("SINTER", "%s", "st"), ("SUNION", "%s", "st"),
    ("SDIFF", "%s", "st"), ("SINTERCARD", 2, "%s", "st"),
    ("ZCARD", "%s"), ("ZSCORE", "%s", "a"), ("ZMSCORE", "%s", "a"), ("ZRANK", "%s", "a"),
    ("ZREVRANK", "%s", "a"), ("ZCOUNT", "%s", "-inf", "+inf"), ("ZLEXCOUNT", "%s", "-", "+"),
    ("ZRANGE", "%s", 0, -1), ("ZREVRANGE", "%s", 0, -1), ("ZRANGEBYSCORE", "%s", "-inf", "+inf"),
    ("ZREVRANGEBYSCORE", "%s", "+inf", "-inf"), ("ZRANGEBYLEX", "%s", "-", "+"),
    ("ZREVRANGEBYLEX", "%s", "+", "-"), ("ZRANDMEMBER", "%s"), ("ZSCAN", "%s", 0),
    ("ZUNION", 2, "%s", "z"), ("ZINTER", 2, "%s", "z"), ("ZDIFF", 2, "%s", "z"), ("ZINTERCARD", 2, "%s", "z"),
    ("SORT_RO", "%s"), ("XLEN", "%s"), ("XRANGE", "%s", "-", "+"), ("XREVRANGE", "%s", "+", "-"),
    ("XREAD", "STREAMS", "%s", "x", "0", "0"), ("XPENDING", "%s", "g"), ("XINFO", "STREAM", "%s"),
    ("XINFO", "GROUPS", "%s"), ("XINFO", "CONSUMERS", "%s", "g"),
    ("GEOPOS", "%s", "a"), ("GEODIST", "%s", "a", "b"), ("GEOHASH", "%s", "a"), ("GEORADIUS_RO", "%s", 0, 0, 1, "km"),
    ("GEORADIUSBYMEMBER_RO", "%s", "a", 1, "km"), ("GEOSEARCH", "%s", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "km"),
]


def test_reads_keymiss(server, oracle):
    def run(w):
        for cmd in (("SET", "s", "v"), ("PFADD", "p", "a"), ("HSET", "h", "f", "v"), ("RPUSH", "l", "a"),
                    ("SADD", "st", "a"), ("ZADD", "z", 1, "a"), ("XADD", "x", "1-1", "a", "b"),
                    ("XGROUP", "CREATE", "x", "g", "0")):
            w.c.call(*cmd)
        for key in ("none", "s", "p", "h", "l", "st", "z", "x"):
            for cmd in READS:
                args = tuple(a % key if isinstance(a, str) and "%" in a else a for a in cmd)
                w.step(" ".join(str(a) for a in args), *args)

    compare(*both(server, oracle, "KEm", run))
    with Conn(server.port) as c:
        covered = {(r[0] + ("|" + r[1] if r[0] in ("OBJECT", "MEMORY", "XINFO") else "")).lower() for r in READS}
        missing = set()
        for e in c.call("COMMAND"):
            for name, flags, first in [(e[0], e[2], e[3])] + [(x[0], x[2], x[3]) for x in (e[9] if len(e) > 9 else [])]:
                if b"readonly" in flags and first > 0 and name.decode() not in covered:
                    missing.add(name.decode())
        if harness.is_oracle_under_test():
            missing = {m for m in missing if not m.startswith(("dump", "bf.", "json"))}
        check(not missing, "read commands test_reads_keymiss does not exercise: %s" % sorted(missing))


# ---------------------------------------------------------------- random sequences

def test_random_sequences(server, oracle):
    for seed, flags in enumerate(["KEA", "KEAn", "Kg", "E$", "Kls", "Ehz", "KEt", "KEn", "Kgx", "AE", "KEm", "Em$", "KEAnm"], 1):
        rnd = random.Random(seed)
        keys = ["k%d" % i for i in range(6)]

        def run(w):
            rnd.seed(seed)
            ids = []
            for i in range(250):
                args = prop.random_ops(rnd, keys, ids)
                if args[0] == "XADD":  # explicit ids: the same on both sides, whatever the clock
                    args = tuple("%d-1" % (i + 1) if a == "*" else a for a in args)
                r = w.step(" ".join(str(a) for a in args), *args)
                if args[0] == "XADD" and isinstance(r, bytes):
                    ids.append(r)

        try:
            compare(*both(server, oracle, flags, run))
        except TestFailure as e:
            raise TestFailure("seed %d, flags %s: %s" % (seed, flags, e))


# ---------------------------------------------------------------- expiry and eviction

def test_lazy_expiry(server, oracle):
    """Keys past their TTL, met by commands of every kind (active expiry off)."""
    def run(w):
        w.c.call("DEBUG", "SET-ACTIVE-EXPIRE", 0)
        w.c.call("SELECT", 3)
        for i in range(13):
            w.step("set", "SET", "lazy%d" % i, "v", "PX", 50)
        w.step("hset", "HSET", "lh", "f", "v")
        w.step("pexpire", "PEXPIRE", "lh", 50)
        w.step("canary", "SET", "canary", "v", "PX", 60)
        wait_until(lambda: w.c.call("EXISTS", "canary") == 0, 10, "the canary to expire")
        w.events()  # the canary's own expiry
        for i, cmd in enumerate([("GET", "%s"), ("SET", "%s", "new"), ("LPUSH", "%s", "x"), ("TTL", "%s"),
                                 ("DEL", "%s"), ("EXISTS", "%s"), ("TYPE", "%s"), ("OBJECT", "ENCODING", "%s"),
                                 ("RENAME", "%s", "r"), ("COPY", "%s", "c"), ("INCR", "%s"),
                                 ("MEMORY", "USAGE", "%s"), ("GET", "%s")]):
            args = tuple(a % ("lazy%d" % i) if "%" in a else a for a in cmd)
            w.step(" ".join(args), *args)
        w.step("hget", "HGET", "lh", "f")
        w.step("keys", "KEYS", "*")
        w.step("scan", "SCAN", 0, "COUNT", 100)  # lazy11: MEMORY USAGE does not expire (as Redis 7.0)
        w.step("dbsize", "DBSIZE")
        w.c.call("DEBUG", "SET-ACTIVE-EXPIRE", 1)
        w.c.call("SELECT", 0)

    for flags in ("KEA", "KEAn", "Ex", "KEAm"):
        compare(*both(server, oracle, flags, run))


def test_active_expiry(server, oracle):
    got = []

    def run(w):
        w.c.call("SELECT", 5)
        for i in range(50):
            w.c.call("SET", "act%d" % i, "v", "PX", 20)
        w.c.call("HSET", "acth", "f", "v")
        w.c.call("PEXPIRE", "acth", 20)
        w.c.call("SET", "stays", "v")
        w.events()
        seen = []

        def drained():
            seen.extend(w.events())
            return w.c.call("DBSIZE") == 1

        wait_until(drained, 20, "active expiry to reclaim db 5")
        seen.extend(w.events())
        got.append(sorted(seen))
        w.c.call("SELECT", 0)

    both(server, oracle, "KEA", run)
    want = sorted([(b"__keyspace@5__:act%d" % i, b"expired") for i in range(50)] +
                  [(b"__keyevent@5__:expired", b"act%d" % i) for i in range(50)] +
                  [(b"__keyspace@5__:acth", b"expired"), (b"__keyevent@5__:expired", b"acth")])
    eq(got[0], want, "respite's active expiry events")
    eq(got[1], want, "redis-server's active expiry events")


def test_eviction(server, oracle):
    """Each side evicts its own choice of keys; both publish every eviction (K and E),
    around the SET's own events (before it, or before the mark's PUBLISH), and only for
    keys now gone."""
    for srv in (server, oracle):
        w = Watched(srv, "KEAn")
        c = w.c
        try:
            used = 0
            for line in c.call("INFO", "memory").split(b"\r\n"):
                if line.startswith(b"used_memory:"):
                    used = int(line.split(b":")[1])
            eq(c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), b"OK", "policy")
            eq(c.call("CONFIG", "SET", "maxmemory", used + 300 * 1024), b"OK", "maxmemory")
            evicted = []
            for i in range(1200):
                w.step("set", "SET", "ev%d" % i, b"x" * 1000)
                ev = w.steps[-1][1]
                names = [m if ch.startswith(b"__keyspace") else ch.split(b":", 1)[1] for ch, m in ev]
                check(re.fullmatch(r"(evicted,evicted,)*new,new,set,set,(evicted,evicted,)*", "".join(
                    n.decode() + "," for n in names)) is not None, "%s: SET ev%d published %r" % (srv.name, i, ev))
                evicted += [m for ch, m in ev if ch == b"__keyevent@0__:evicted"]
            eq(c.call("CONFIG", "SET", "maxmemory", 0), b"OK", "maxmemory 0")
            stat = 0
            for line in c.call("INFO", "stats").split(b"\r\n"):
                if line.startswith(b"evicted_keys:"):
                    stat = int(line.split(b":")[1])
            check(len(evicted) > 100, "%s evicted %d keys" % (srv.name, len(evicted)))
            eq(len(evicted), stat, "%s: evicted events against INFO evicted_keys" % srv.name)
            eq(c.call("EXISTS", *evicted[:500]), 0, "%s: evicted keys are gone" % srv.name)
        finally:
            c.call("CONFIG", "SET", "maxmemory", 0)
            c.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            w.close()
