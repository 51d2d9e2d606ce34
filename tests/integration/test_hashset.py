#!/usr/bin/python3
"""test_hashset.py: hashes and sets against Debian's redis-server, over RESP2 and RESP3.

Fixed edge cases and seeded random sequences go to both servers and their replies are
compared byte for byte, with three exceptions, each named by a mode word leading a step:

  - order: a hashtable-encoded hash or set lists its elements in its table's order, which
    depends on the hash function (Redis's is seeded at random), so when a reply of a
    listing command differs and its elements came from a hashtable (OBJECT ENCODING of a
    key involved says so on the oracle, or a built result is too big or not integer
    enough for an intset) the replies are compared as multisets. Listpack hashes and
    intsets must match in order: their order is Redis's. A step led by "order" (SCAN of
    the keyspace, listings known to come from a table) is always compared as a multiset.
  - rand: HRANDFIELD, SRANDMEMBER and SPOP pick with a random generator other than
    Redis's, so their replies cannot match; both are checked for shape (reply kind,
    length, RESP3 type), membership in the key's contents before the command, field/value
    pairing, distinctness where Redis promises it, and the errors byte for byte. After an
    SPOP the two sets differ, so both are rebuilt from the oracle's remaining members.
  - scan: HSCAN/SSCAN are iterated to the end on each server and the element sets
    compared (the cursors are table positions).

Run with pytest (`/usr/bin/python3 -m pytest -q tests/integration/test_hashset.py`) or
directly. redis-py cases: hset(mapping=...), hgetall, hscan_iter, sscan_iter in a
pipeline and in a MULTI/EXEC transaction.
"""
import os
import random
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RespError, TestFailure, decode, eq  # noqa: E402


@pytest.fixture
def servers(server, oracle):
    """conftest's module-scoped server under test and oracle, as a pair."""
    return server, oracle


def _b(x):
    return x if isinstance(x, bytes) else str(x).encode()


MODES = ("order", "rand", "scan", "nocheck")
SET_RESULT = {b"SMEMBERS", b"SINTER", b"SUNION", b"SDIFF", b"SPOP", b"SRANDMEMBER"}


class Pair:
    """A connection to each server at one RESP version; step() runs one step on both."""

    def __init__(self, srv, ora, resp):
        self.t, self.o = srv.conn(), ora.conn()
        self.resp = resp
        if resp == 3:
            self.t.cmd("HELLO", "3")
            self.o.cmd("HELLO", "3")
        self.bad = []

    def close(self):
        self.t.close()
        self.o.close()

    def both(self, *args):
        return self.t.cmd(*args), self.o.cmd(*args)

    def oracle_encoding(self, key):
        return decode(self.o.cmd("OBJECT", "ENCODING", key))

    def contents(self, conn, key):
        """A key's elements as the server holds them: dict for a hash, set for a set."""
        t = decode(conn.cmd("TYPE", key))
        if t == b"hash":
            r = decode(conn.cmd("HGETALL", key))
            return dict(r) if isinstance(r, dict) else dict(zip(r[::2], r[1::2]))
        if t == b"set":
            return set(decode(conn.cmd("SMEMBERS", key)))
        return None

    def step(self, step):
        if isinstance(step, str):
            step = step.split()
        step = list(step)
        mode = step.pop(0) if step and step[0] in MODES else None
        args = [_b(a) for a in step]
        name = args[0].upper()
        if mode == "rand":
            return self.rand_step(args)
        if mode == "scan":
            return self.scan_step(args)
        rt, ro = self.both(*args)
        if mode == "nocheck" or rt == ro:
            return rt, ro
        if mode == "order" or name in SET_RESULT or name in (b"HGETALL", b"HKEYS", b"HVALS"):
            if (mode == "order" or self.order_free(args, ro)) and canon(decode(rt)) == canon(decode(ro)):
                return rt, ro
        self.bad.append("RESP%d %s:\n  respite %r\n  redis   %r" % (self.resp, b" ".join(args)[:200], rt[:300],
                                                                    ro[:300]))
        return rt, ro

    def order_free(self, args, ro):
        """May this reply's element order differ from Redis's? Only if it came from a
        hashtable: a key involved is one, or a built set result could not be an intset."""
        name = args[0].upper()
        keys = args[1:2]
        if name in (b"SINTER", b"SUNION", b"SDIFF"):
            keys = args[1:]
        for k in keys:
            if self.oracle_encoding(k) == b"hashtable":
                return True
        v = decode(ro)
        if name in (b"SUNION", b"SDIFF", b"SPOP", b"SRANDMEMBER") and isinstance(v, list):
            cfg = decode(self.o.cmd("CONFIG", "GET", "set-max-intset-entries"))
            maxi = int(list(cfg.values())[0] if isinstance(cfg, dict) else cfg[1])
            return len(v) > maxi or any(not is_int(x) for x in v)
        return False

    def rand_step(self, args):
        name = args[0].upper()
        key = args[1]
        before_t = self.contents(self.t, key)
        before_o = self.contents(self.o, key)
        rt, ro = self.both(*args)
        vt, vo = decode(rt), decode(ro)
        what = "RESP%d %s" % (self.resp, b" ".join(args)[:120])
        try:
            if isinstance(vo, RespError) or vo is None or isinstance(vo, int):
                eq(rt, ro, what)
            else:
                eq(rt[:1], ro[:1], what + " reply type")
                check_random(name, args, vt, before_t, self.resp, what)
                check_random(name, args, vo, before_o, self.resp, what + " (oracle)")
                if isinstance(vo, list):
                    eq(len(vt), len(vo), what + " length")
        except TestFailure as e:
            self.bad.append(str(e))
        if name == b"SPOP" and before_o is not None:
            # Both servers popped different members: rebuild both from the oracle's rest.
            rest = [m for m in sorted(self.contents(self.o, key) or ())]
            ttl = decode(self.o.cmd("PTTL", key))
            for c in (self.t, self.o):
                c.cmd("DEL", key)
                for i in range(0, len(rest), 100):
                    c.cmd("SADD", key, *rest[i:i + 100])
                if isinstance(ttl, int) and ttl > 0:
                    c.cmd("PEXPIRE", key, ttl + 60000)
        return rt, ro

    def scan_step(self, args):
        out = []
        for c in (self.t, self.o):
            cursor, seen, rounds = b"0", [], 0
            while True:
                r = decode(c.cmd(args[0], args[1], cursor, *args[3:]))
                if isinstance(r, RespError):
                    seen = r
                    break
                cursor, items = r
                if args[0].upper() == b"HSCAN":
                    seen += [(items[i], items[i + 1]) for i in range(0, len(items), 2)]
                else:
                    seen += items
                rounds += 1
                if cursor == b"0" or rounds > 100000:
                    break
            out.append(seen if isinstance(seen, RespError) else sorted(set(seen)))
        if out[0] != out[1]:
            self.bad.append("RESP%d scan %s: respite %r, redis %r" % (self.resp, b" ".join(args), out[0][:20],
                                                                       out[1][:20]))
        return out


def is_int(x):
    try:
        return isinstance(x, bytes) and str(int(x)).encode() == x
    except ValueError:
        return False


def canon(v):
    """A reply with element order removed (lists sorted, maps as sorted pairs)."""
    if isinstance(v, dict):
        return sorted((canon(k), canon(x)) for k, x in v.items())
    if isinstance(v, list):
        return sorted((canon(x) for x in v), key=repr)
    return v


def check_random(name, args, v, before, resp, what):
    """The checks a random reply must pass against the key's contents before it."""
    count = int(args[2]) if len(args) > 2 else None
    withvalues = len(args) > 3 and args[3].lower() == b"withvalues"
    if count is None:
        if before is None:
            harness.check(v is None, what + ": not null for a missing key")
        else:
            harness.check(v in before, what + ": %r not in the key" % (v,))
        return
    harness.check(isinstance(v, list), what + ": not an array")
    if withvalues:
        if resp == 3:
            harness.check(all(isinstance(p, list) and len(p) == 2 for p in v), what + ": RESP3 pairs")
            pairs = [tuple(p) for p in v]
        else:
            harness.check(len(v) % 2 == 0, what + ": odd flat length")
            pairs = list(zip(v[::2], v[1::2]))
        for f, val in pairs:
            harness.check(before is not None and before.get(f) == val, what + ": pair %r %r" % (f, val))
        items = [f for f, _ in pairs]
    else:
        items = v
        harness.check(all(before is not None and x in before for x in items), what + ": member not in the key")
    size = len(before or ())
    want = abs(count) if count < 0 else min(count, size)
    if before is None:
        want = 0
    eq(len(items), want, what + " count")
    if count > 0:
        eq(len(set(items)), len(items), what + " distinct")


def run_case(servers, steps, resp):
    srv, ora = servers
    p = Pair(srv, ora, resp)
    try:
        p.both("FLUSHALL")
        for c in ("hash-max-listpack-entries 512", "hash-max-listpack-value 64", "set-max-intset-entries 512"):
            p.both("CONFIG", "SET", *c.split())
        for s in steps:
            p.step(s)
    finally:
        p.close()
    if p.bad:
        raise TestFailure("%d mismatches:\n%s" % (len(p.bad), "\n".join(p.bad[:10])))


# ---------------------------------------------------------------- fixed cases

def big(prefix, n, step=1):
    return " ".join("%s%d" % (prefix, i * step) for i in range(n))


CASES = [
    ("hset_basic", ["HSET h a 1 b 2 c 3", "HSET h a 10 d 4", "HGETALL h", "HKEYS h", "HVALS h", "HLEN h",
                    "HGET h a", "HGET h zz", "HGET nokey a", "HMGET h a zz b", "HMGET nokey a b",
                    "HEXISTS h a", "HEXISTS h zz", "HEXISTS nokey a", "HSTRLEN h a", "HSTRLEN h zz",
                    "HSTRLEN nokey a", "OBJECT ENCODING h", "TYPE h", "HGETALL nokey", "HKEYS nokey",
                    "HVALS nokey", "HLEN nokey"]),
    ("hset_arity", ["HSET h a", "HSET h a 1 b", "HMSET h a 1 b", "HMSET h a 1 b 2", "HSET h", "HGETALL h",
                    "HGET h", "HDEL h", "HSETNX h a", "HRANDFIELD", "HSCAN h", "HMGET h"]),
    ("hsetnx", ["HSETNX h a 1", "HSETNX h a 2", "HGET h a", "HSETNX h b 3", "HGETALL h"]),
    ("hdel_empty_removal", ["HSET h a 1 b 2", "HDEL h a a zz", "EXISTS h", "HDEL h b", "EXISTS h", "TYPE h",
                            "HDEL h b", "HDEL nokey a", "HSET h a 1 b 2 c 3", "HDEL h a b c d", "EXISTS h"]),
    ("hincrby", ["HINCRBY h n 5", "HINCRBY h n -7", "HGET h n", "HINCRBY h n x", "HINCRBY h n 1.5",
                 "HSET h s abc", "HINCRBY h s 1", "HSET h big 9223372036854775807", "HINCRBY h big 1",
                 "HSET h small -9223372036854775808", "HINCRBY h small -1", ("HINCRBY", "h", "sp", " 1"),
                 "HSET h lead 01", "HINCRBY h lead 1", "HINCRBY h n 9223372036854775808", "HGETALL h",
                 "HINCRBY nokey2 f 1", "TYPE nokey2"]),
    ("hincrbyfloat", ["HINCRBYFLOAT h f 1.5", "HINCRBYFLOAT h f 0.1", "HINCRBYFLOAT h f -1.6",
                      "HINCRBYFLOAT h f 1e3", "HINCRBYFLOAT h f abc", "HINCRBYFLOAT h f inf",
                      "HINCRBYFLOAT h f nan", "HSET h s abc", "HINCRBYFLOAT h s 1", "HSET h i 10",
                      "HINCRBYFLOAT h i 0.5", "HINCRBYFLOAT h g 5.0e3", "HINCRBYFLOAT h g 1.7976931348623157e308",
                      "HINCRBYFLOAT h g 1.7976931348623157e308", "HGETALL h", ("HINCRBYFLOAT", "h", "e", "")]),
    ("hrandfield_errors", ["HSET h a 1 b 2 c 3", "rand HRANDFIELD h", "rand HRANDFIELD nokey",
                           "HRANDFIELD h x", "HRANDFIELD h 1 withvalue", "HRANDFIELD h 1 WITHVALUES x",
                           "HRANDFIELD h -9223372036854775808", "HRANDFIELD h -9223372036854775807 WITHVALUES",
                           "HRANDFIELD h 4611686018427387904 WITHVALUES", "HRANDFIELD h 0", "HRANDFIELD nokey 5",
                           "HRANDFIELD nokey -5 WITHVALUES", "HRANDFIELD h 0 WITHVALUES",
                           "rand HRANDFIELD h 2", "rand HRANDFIELD h 3", "rand HRANDFIELD h 10",
                           "rand HRANDFIELD h -10", "rand HRANDFIELD h 2 WITHVALUES",
                           "rand HRANDFIELD h -7 WITHVALUES", "rand HRANDFIELD h 10 withvalues"]),
    ("hrandfield_big", ["HSET h " + " ".join("f%d v%d" % (i, i) for i in range(600)), "OBJECT ENCODING h",
                        "rand HRANDFIELD h", "rand HRANDFIELD h 5", "rand HRANDFIELD h 300 WITHVALUES",
                        "rand HRANDFIELD h 599", "rand HRANDFIELD h 1000", "rand HRANDFIELD h -1000 WITHVALUES"]),
    ("hash_thresholds", ["CONFIG SET hash-max-listpack-entries 4", "CONFIG GET hash-max-listpack-entries",
                         "HSET h a 1 b 2 c 3 d 4", "OBJECT ENCODING h", "HSET h e 5", "OBJECT ENCODING h",
                         "HDEL h a b c d", "OBJECT ENCODING h", "order HGETALL h",
                         "CONFIG SET hash-max-listpack-value 8", "HSET v a 12345678", "OBJECT ENCODING v",
                         "HSET v b 123456789", "OBJECT ENCODING v", "HSET w 123456789 a", "OBJECT ENCODING w",
                         "HSETNX x a 1", "HSETNX x a 123456789", "OBJECT ENCODING x", "HGET x a",
                         "HSET y a 1", "HINCRBYFLOAT y 123456789012 1", "OBJECT ENCODING y",
                         "HINCRBYFLOAT y a 0.1234567890123", "OBJECT ENCODING y",
                         "CONFIG SET hash-max-listpack-entries 0", "HSET z a 1", "OBJECT ENCODING z",
                         "CONFIG SET hash-max-listpack-value 0", "CONFIG SET hash-max-listpack-entries 1",
                         ("HSET", "q", "", ""), "OBJECT ENCODING q", "CONFIG SET hash-max-listpack-value 1kb",
                         "CONFIG GET hash-max-listpack-value", "CONFIG SET hash-max-listpack-value -1",
                         "CONFIG SET hash-max-listpack-entries x"]),
    ("hash_order", ["HSET h z 1 y 2 x 3", "HSET h y 20", "HDEL h z", "HSET h z 30 a 4", "HGETALL h",
                    "HSET h y " + "x" * 40, "HGETALL h", "HSET h y s", "HGETALL h", "HSCAN h 0",
                    "HSCAN h 0 MATCH [xz]", "HSCAN h 0 COUNT 1", "HSCAN h 0 MATCH * COUNT 100"]),
    ("hscan_errors", ["HSET h a 1", "HSCAN h x", "HSCAN h -1", "HSCAN h 0 COUNT 0", "HSCAN h 0 COUNT x",
                      "HSCAN h 0 MATCH", "HSCAN h 0 TYPE hash", "HSCAN h 0 foo bar", "HSCAN nokey 0",
                      "HSCAN nokey 0 COUNT 0", "HSCAN nokey x", "HSCAN h 18446744073709551615",
                      "HSCAN h 18446744073709551616", "SET str v", "HSCAN str 0", "SSCAN str 0"]),
    ("hscan_big", ["HSET h " + " ".join("f%d v%d" % (i, i) for i in range(700)), "scan HSCAN h 0",
                   "scan HSCAN h 0 COUNT 3", "scan HSCAN h 0 MATCH f1* COUNT 50"]),
    ("sadd_basic", ["SADD s 3 1 2 2", "SMEMBERS s", "SCARD s", "OBJECT ENCODING s", "TYPE s", "SISMEMBER s 1",
                    "SISMEMBER s 9", "SISMEMBER nokey 1", "SMISMEMBER s 1 9 2", "SMISMEMBER nokey a b",
                    "SADD s -5 100000 -70000 5000000000", "SMEMBERS s", "OBJECT ENCODING s", "SADD s a",
                    "OBJECT ENCODING s", "SCARD s", "SCARD nokey", "SMEMBERS nokey", "SISMEMBER s 01",
                    "SADD t 01", "OBJECT ENCODING t", "SADD u x 1", "OBJECT ENCODING u", "SADD n -0",
                    "OBJECT ENCODING n", "SADD m 9223372036854775807 -9223372036854775808", "SMEMBERS m",
                    "SADD m 9223372036854775808", "OBJECT ENCODING m"]),
    ("srem_empty_removal", ["SADD s 1 2 3", "SREM s 1 9", "SREM s 2 3 4", "EXISTS s", "SREM s 1",
                            "SREM nokey a", "SADD s a b", "SREM s a b c", "EXISTS s", "SADD s 1", "SREM s x",
                            "SMEMBERS s"]),
    ("set_thresholds", ["CONFIG SET set-max-intset-entries 3", "CONFIG GET set-max-intset-entries",
                        "SADD s 1 2 3", "OBJECT ENCODING s", "SADD s 4", "OBJECT ENCODING s", "SREM s 1 2 3",
                        "OBJECT ENCODING s", "SADD big " + big("", 10), "OBJECT ENCODING big",
                        "CONFIG SET set-max-intset-entries 0", "SADD z 1", "OBJECT ENCODING z",
                        "CONFIG SET set-max-intset-entries 512", "SADD a " + big("", 512), "OBJECT ENCODING a",
                        "SADD a 99999", "OBJECT ENCODING a", "CONFIG SET set-max-intset-entries x"]),
    ("smove", ["SADD a 1 2 3", "SADD b x", "SMOVE a b 1", "SMEMBERS a", "order SMEMBERS b",
               "SMOVE a b 9", "SMOVE a a 2", "SMOVE a a 9", "SMOVE nokey b 1", "SMOVE a c 2", "SMEMBERS c",
               "OBJECT ENCODING c", "SMOVE a d 3", "EXISTS a", "SET str v", "SMOVE str b x",
               "SMOVE b str x", "SMOVE nokey str x", "SADD e a", "SMOVE e f a", "OBJECT ENCODING f",
               "SMOVE b b x", "SMOVE b b nope"]),
    ("set_ops", ["SADD a 1 2 3 4 5", "SADD b 4 5 6", "SADD c 5 x y", "SINTER a b", "SINTER a b c",
                 "SINTER a nokey", "SINTER nokey a", "SUNION a b", "order SUNION a c", "SDIFF a b",
                 "SDIFF a b c", "SDIFF nokey a", "SDIFF a nokey", "SDIFF a a", "SINTER a a", "SUNION nokey",
                 "SINTERSTORE d a b", "SMEMBERS d", "OBJECT ENCODING d", "SUNIONSTORE d a b", "SMEMBERS d",
                 "SDIFFSTORE d a b", "SMEMBERS d", "SDIFFSTORE d b a", "SMEMBERS d", "SINTERSTORE d a nokey",
                 "EXISTS d", "SET str v", "SINTER a str", "SINTER nokey str", "SUNION a str",
                 "SDIFF str a", "SDIFF nokey str", "SINTERSTORE str a b", "TYPE str", "SMEMBERS str",
                 "SET str2 v", "SUNIONSTORE str2 nokey", "EXISTS str2", "SET str3 v", "SDIFFSTORE str3 a a",
                 "EXISTS str3", "SET str4 v EX 100", "SUNIONSTORE str4 a", "TTL str4",
                 "SINTERSTORE a a b", "SMEMBERS a", "SUNIONSTORE c c b", "order SMEMBERS c"]),
    ("sintercard", ["SADD a 1 2 3 4 5", "SADD b 2 3 4 5 6", "SINTERCARD 2 a b", "SINTERCARD 2 a b LIMIT 2",
                    "SINTERCARD 2 a b LIMIT 0", "SINTERCARD 2 a b LIMIT 100", "SINTERCARD 1 a",
                    "SINTERCARD 2 a nokey", "SINTERCARD 0 a", "SINTERCARD -1 a", "SINTERCARD x a",
                    "SINTERCARD 3 a b", "SINTERCARD 2 a b LIMIT", "SINTERCARD 2 a b LIMIT -1",
                    "SINTERCARD 2 a b LIMIT x", "SINTERCARD 2 a b FOO 1", "SET str v",
                    "SINTERCARD 2 a str", "SINTERCARD 2 nokey str", "SINTERCARD 1 a limit 3 limit 1"]),
    ("set_ops_big", ["SADD a " + big("", 700), "SADD b " + big("", 400, 2), "SADD c " + big("m", 50),
                     "SINTERCARD 2 a b", "SINTERSTORE d a b", "OBJECT ENCODING d", "SCARD d",
                     "order SINTER a b", "order SUNION b c", "SUNIONSTORE e b c", "OBJECT ENCODING e",
                     "SDIFFSTORE f a b", "OBJECT ENCODING f", "SCARD f", "SDIFFSTORE g b a", "OBJECT ENCODING g",
                     "SMEMBERS g", "SADD h " + big("", 600), "SADD i " + big("", 560), "SDIFFSTORE j h i",
                     "OBJECT ENCODING j", "SMEMBERS j", "SDIFF h i"]),
    ("srandmember", ["SADD s 1 2 3", "SADD t a b c d e f g h", "rand SRANDMEMBER s", "rand SRANDMEMBER nokey",
                     "SRANDMEMBER nokey 5", "SRANDMEMBER s 0", "SRANDMEMBER s x", "SRANDMEMBER s 1 2",
                     "SRANDMEMBER s -9223372036854775808", "rand SRANDMEMBER s 1", "rand SRANDMEMBER s 2",
                     "SRANDMEMBER s 3", "SRANDMEMBER s 10", "rand SRANDMEMBER s -5", "rand SRANDMEMBER t 2",
                     "rand SRANDMEMBER t 5", "order SRANDMEMBER t 8", "rand SRANDMEMBER t -20",
                     "rand SRANDMEMBER t 1", "SADD one x", "SRANDMEMBER one 1", "SRANDMEMBER one 2"]),
    ("spop", ["SADD s 1 2 3 4 5 6 7 8 9 10", "rand SPOP s", "SCARD s", "rand SPOP s 2", "SCARD s",
              "rand SPOP s 6", "SCARD s", "SPOP s 0", "SPOP s -1", "SPOP s x", "SPOP s 1 2", "SPOP nokey",
              "SPOP nokey 3", "SPOP nokey 0", "SADD t 1 2", "SPOP t 2", "EXISTS t", "SADD t 1 2 3", "SPOP t 5",
              "EXISTS t", "SADD u x", "SPOP u", "EXISTS u", "SADD v a b c", "order SPOP v 3", "EXISTS v",
              "SET str x", "SPOP str", "SPOP str 1"]),
    ("spop_big", ["SADD s " + big("", 600), "OBJECT ENCODING s", "rand SPOP s 590", "SCARD s",
                  "SADD t " + big("e", 300), "rand SPOP t 10", "SCARD t", "rand SPOP t 280", "SCARD t",
                  "rand SPOP t 10", "EXISTS t"]),
    ("sscan", ["SADD s 3 1 2", "SSCAN s 0", "SSCAN s 0 MATCH 1", "SSCAN s 0 COUNT 1", "SSCAN nokey 0",
               "SSCAN s x", "SSCAN s 0 COUNT 0", "SSCAN s 0 TYPE set", "SADD big " + big("m", 800),
               "scan SSCAN big 0", "scan SSCAN big 0 COUNT 7", "scan SSCAN big 0 MATCH m1*"]),
    ("wrongtype", ["SET str v", "HSET str a 1", "HGET str a", "HGETALL str", "HMSET str a 1", "HSETNX str a 1",
                   "HDEL str a", "HLEN str", "HSTRLEN str a", "HKEYS str", "HVALS str", "HEXISTS str a",
                   "HINCRBY str a 1", "HINCRBYFLOAT str a 1", "HRANDFIELD str", "HRANDFIELD str 2",
                   "HMGET str a", "SADD str a", "SREM str a", "SCARD str", "SISMEMBER str a",
                   "SMISMEMBER str a", "SMEMBERS str", "SRANDMEMBER str", "SRANDMEMBER str 2", "SPOP str",
                   "HSET h a 1", "SADD s a", "GET h", "GET s", "APPEND h x", "INCR s", "STRLEN h", "SETRANGE s 0 x",
                   "GETRANGE h 0 1", "GETDEL s", "GETEX h", "INCRBYFLOAT h 1", "MGET h s str",
                   "SADD h x", "HSET s a 1", "SMEMBERS h", "HGETALL s", "SINTER s h", "SUNION s h",
                   "XADD s * a 1", "XLEN h", "SET h v", "TYPE h", "GETSET s v", "TYPE s"]),
    ("keyspace", ["HSET h a 1 b 2", "SADD s 1 2 x", "SADD i 1 2", "TYPE h", "TYPE s", "order SCAN 0 TYPE hash",
                  "order SCAN 0 TYPE set", "COPY h h2", "HGETALL h2", "OBJECT ENCODING h2", "COPY s s2",
                  "order SMEMBERS s2", "OBJECT ENCODING s2", "COPY i i2", "SMEMBERS i2", "OBJECT ENCODING i2",
                  "HSET h2 c 3", "HGETALL h", "HGETALL h2", "SADD s2 y", "SCARD s", "COPY h s", "COPY h s REPLACE",
                  "TYPE s", "HGETALL s", "RENAME h hh", "HGETALL hh", "EXISTS h", "RENAMENX hh i",
                  "MOVE hh 1", "EXISTS hh", "SELECT 1", "HGETALL hh", "COPY hh hh 0", "COPY hh hx DB 0",
                  "SELECT 0", "HGETALL hx", "DEL hx i", "UNLINK s2 i2", "EXISTS hx i s2 i2", "EXPIRE h2 100",
                  "TTL h2", "HSET h2 d 4", "TTL h2", "PERSIST h2", "TTL h2", "PEXPIREAT h2 1", "EXISTS h2",
                  "HGETALL h2", "SADD e 1", "PEXPIRE e 0", "EXISTS e", "DBSIZE", "FLUSHDB", "DBSIZE"]),
    ("empty_keys_in_multi", ["HSET h a 1", "MULTI", "HDEL h a", "HSET h b 2", "HGETALL h", "EXEC",
                             "SADD s 1", "MULTI", "SPOP s", "SADD s 2", "SMEMBERS s", "EXEC"]),
    ("big_conversions", ["CONFIG SET set-max-intset-entries 5000", "SADD s " + big("", 5000), "OBJECT ENCODING s",
                         "SADD s x", "OBJECT ENCODING s", "SCARD s", "SISMEMBER s 4999", "SISMEMBER s 0",
                         "SADD s 0", "SREM s 0 4999 x", "SCARD s", "SMISMEMBER s 0 1 4998", "rand SRANDMEMBER s 100",
                         "rand SRANDMEMBER s -100", "rand SRANDMEMBER s 4000", "scan SSCAN s 0 COUNT 7",
                         "order SMEMBERS s", "SINTERCARD 2 s s", "rand SPOP s 3", "SCARD s",
                         "CONFIG SET hash-max-listpack-entries 3000",
                         "HSET h " + " ".join("f%d v%d" % (i, i) for i in range(3000)), "OBJECT ENCODING h",
                         "HSET h x y", "OBJECT ENCODING h", "HLEN h", "HGET h f2999", "HGET h f0",
                         "HSET h f2999 new", "HGET h f2999", "HDEL h f2998 f0 nope", "HLEN h", "HEXISTS h f2998",
                         "HSTRLEN h f2999", "rand HRANDFIELD h 50 WITHVALUES", "rand HRANDFIELD h -50",
                         "scan HSCAN h 0 COUNT 5", "order HGETALL h", "HINCRBY h f1 5", "HGET h f1"]),
    ("binary", [("HSET", "h", "a\x00b", "v\r\nx", "", ""), ("HGET", "h", "a\x00b"), ("HGET", "h", ""),
                "HGETALL h", ("SADD", "s", "\x00", "\xff\xfe", ""), "order SMEMBERS s",
                ("SISMEMBER", "s", ""), ("HSET", "long", "f", "x" * 20000), ("HSTRLEN", "long", "f"),
                "OBJECT ENCODING long", ("SADD", "ls", "y" * 20000), ("SISMEMBER", "ls", "y" * 20000)]),
]


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(servers, steps, resp):
    run_case(servers, steps, resp)


# ---------------------------------------------------------------- seeded random sequences

FIELDS = ["f%d" % i for i in range(12)] + ["long" + "x" * 70, "", "1", "-3"]
VALUES = ["0", "1", "-5", "10", "3.5", "abc", "x" * 70, "", "9223372036854775807", "1e3"]
MEMBERS = [str(i) for i in range(-3, 14)] + ["a", "b", "c", "", "99999999999", "m" * 70]
KEYS = ["h1", "h2", "s1", "s2", "s3", "str"]


def gen(rng):
    k = lambda: rng.choice(KEYS)  # noqa: E731
    f = lambda: rng.choice(FIELDS)  # noqa: E731
    v = lambda: rng.choice(VALUES)  # noqa: E731
    m = lambda: rng.choice(MEMBERS)  # noqa: E731
    choices = [
        lambda: ["HSET", k()] + sum(([f(), v()] for _ in range(rng.randint(1, 4))), []),
        lambda: ["HSETNX", k(), f(), v()],
        lambda: ["HGET", k(), f()],
        lambda: ["HMGET", k(), f(), f()],
        lambda: ["HDEL", k()] + [f() for _ in range(rng.randint(1, 4))],
        lambda: ["HEXISTS", k(), f()],
        lambda: ["HLEN", k()],
        lambda: ["HSTRLEN", k(), f()],
        lambda: ["HGETALL", k()],
        lambda: ["HKEYS", k()],
        lambda: ["HINCRBY", k(), f(), str(rng.randint(-5, 5))],
        lambda: ["HINCRBYFLOAT", k(), f(), rng.choice(["0.5", "-1", "2e2", "x"])],
        lambda: ["rand", "HRANDFIELD", k()] + rng.choice([[], [str(rng.randint(-6, 6))],
                                                          [str(rng.randint(-6, 6)), "WITHVALUES"]]),
        lambda: ["SADD", k()] + [m() for _ in range(rng.randint(1, 5))],
        lambda: ["SREM", k()] + [m() for _ in range(rng.randint(1, 5))],
        lambda: ["SCARD", k()],
        lambda: ["SISMEMBER", k(), m()],
        lambda: ["SMISMEMBER", k(), m(), m()],
        lambda: ["SMEMBERS", k()],
        lambda: ["rand", "SRANDMEMBER", k()] + rng.choice([[], [str(rng.randint(-6, 6))]]),
        lambda: ["rand", "SPOP", k()] + rng.choice([[], [str(rng.randint(0, 6))]]),
        lambda: ["SMOVE", k(), k(), m()],
        lambda: [rng.choice(["SINTER", "SUNION", "SDIFF"])] + [k() for _ in range(rng.randint(1, 3))],
        lambda: [rng.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])] + [k() for _ in range(rng.randint(2, 4))],
        lambda: ["SINTERCARD", "2", k(), k(), "LIMIT", str(rng.randint(0, 3))],
        lambda: ["OBJECT", "ENCODING", k()],
        lambda: ["TYPE", k()],
        lambda: ["SET", k(), v()],
        lambda: ["GET", k()],
        lambda: ["DEL", k()],
        lambda: ["COPY", k(), k(), "REPLACE"],
        lambda: ["RENAME", k(), k()],
        lambda: ["EXISTS", k()],
        lambda: ["CONFIG", "SET", rng.choice(["hash-max-listpack-entries", "set-max-intset-entries"]),
                 str(rng.choice([2, 4, 8, 512]))],
        lambda: ["CONFIG", "SET", "hash-max-listpack-value", str(rng.choice([2, 8, 64]))],
    ]
    return [rng.choice(choices)() for _ in range(300)]


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_random(servers, seed, resp):
    run_case(servers, gen(random.Random(seed * 7919 + resp)), resp)


# ---------------------------------------------------------------- around the types

def test_watch(servers):
    srv, _ = servers
    with srv.conn() as a, srv.conn() as b:
        for change in (("HSET", "h", "x", "1"), ("HDEL", "h", "a"), ("SADD", "s", "z"), ("SPOP", "s"),
                       ("SREM", "s", "a"), ("HINCRBY", "h", "a", "1"), ("SMOVE", "s", "t", "a"),
                       ("SINTERSTORE", "s", "t", "s")):
            a.cmd("FLUSHALL")
            a.cmd("HSET", "h", "a", "1")
            a.cmd("SADD", "s", "a", "b")
            a.cmd("SADD", "t", "a")
            key = change[1]
            eq(a.cmd("WATCH", key), b"+OK\r\n", "WATCH")
            b.cmd(*change)
            a.cmd("MULTI")
            a.cmd("PING")
            eq(a.cmd("EXEC"), b"*-1\r\n", "EXEC after %s" % (change,))
        # A write that changes nothing leaves a WATCH alone, as Redis.
        a.cmd("WATCH", "h")
        b.cmd("HSETNX", "h", "a", "2")
        a.cmd("MULTI")
        a.cmd("PING")
        eq(a.cmd("EXEC"), b"*1\r\n+PONG\r\n", "EXEC after a no-op HSETNX")


def test_memory_usage(servers):
    srv, _ = servers
    with srv.conn() as c:
        c.cmd("FLUSHALL")
        c.cmd("HSET", "h", "a", "1")
        small = decode(c.cmd("MEMORY", "USAGE", "h"))
        c.cmd("HSET", "h", *sum((["f%d" % i, "v" * 30] for i in range(100)), []))
        mid = decode(c.cmd("MEMORY", "USAGE", "h"))
        c.cmd("HSET", "h", *sum((["g%d" % i, "v" * 30] for i in range(1000)), []))
        large = decode(c.cmd("MEMORY", "USAGE", "h"))
        harness.check(small < mid < large, "hash MEMORY USAGE grows: %r %r %r" % (small, mid, large))
        harness.check(large > 1000 * 40, "hashtable figure counts its fields: %r" % large)
        c.cmd("HDEL", "h", *["g%d" % i for i in range(1000)])
        harness.check(decode(c.cmd("MEMORY", "USAGE", "h")) < large, "hash MEMORY USAGE shrinks")
        c.cmd("SADD", "s", *[str(i) for i in range(100)])
        si = decode(c.cmd("MEMORY", "USAGE", "s"))
        harness.check(si < 600, "a 100-integer intset is compact: %r" % si)
        c.cmd("SADD", "s", "x")
        harness.check(decode(c.cmd("MEMORY", "USAGE", "s")) > si, "hashtable set is larger than its intset")


def test_scan_while_growing_and_shrinking(servers):
    """SCAN's guarantee under changes: every element present for the whole scan is
    returned, while others are added and removed between calls (the table grows,
    rehashes and shrinks)."""
    srv, _ = servers
    rng = random.Random(5)
    with srv.conn() as c:
        for cmd, add, rem in (("HSCAN", "HSET", "HDEL"), ("SSCAN", "SADD", "SREM")):
            c.cmd("DEL", "k")
            stable = ["stable%d" % i for i in range(300)]
            for i in range(0, 300, 50):
                args = sum(([x, "v"] for x in stable[i:i + 50]), []) if add == "HSET" else stable[i:i + 50]
                c.cmd(add, "k", *args)
            cursor, seen, extra, step = b"0", set(), 0, 0
            while True:
                cursor, items = decode(c.cmd(cmd, "k", cursor, "COUNT", "5"))
                seen.update(items[::2] if cmd == "HSCAN" else items)
                step += 1
                # Grow during the first half, shrink during the second.
                if step < 40:
                    new = ["tmp%d" % (extra + i) for i in range(60)]
                    extra += 60
                    c.cmd(add, "k", *(sum(([x, "v"] for x in new), []) if add == "HSET" else new))
                else:
                    gone = ["tmp%d" % rng.randrange(extra) for _ in range(200)]
                    c.cmd(rem, "k", *gone)
                if cursor == b"0":
                    break
            missing = [s for s in stable if s.encode() not in seen]
            eq(missing, [], "%s missed stable elements" % cmd)


def test_redis_py(servers):
    redis = pytest.importorskip("redis")
    srv, _ = servers
    r = redis.Redis(port=srv.port, decode_responses=True)
    r.flushall()
    eq(r.hset("h", mapping={"a": "1", "b": "2"}), 2, "hset(mapping=)")
    eq(r.hgetall("h"), {"a": "1", "b": "2"}, "hgetall")
    r.hset("big", mapping={"f%d" % i: str(i) for i in range(1000)})
    eq(dict(r.hscan_iter("big", count=50)), {"f%d" % i: str(i) for i in range(1000)}, "hscan_iter")
    r.sadd("s", *range(700))
    eq(set(r.sscan_iter("s", count=30)), {str(i) for i in range(700)}, "sscan_iter")
    for transaction in (False, True):
        p = r.pipeline(transaction=transaction)
        p.hset("p", mapping={"x": "1", "y": "2"})
        p.hgetall("p")
        p.hscan("big", 0, count=10)
        p.sscan("s", 0, count=10)
        p.sadd("ps", "a", "b")
        p.smembers("ps")
        p.hincrbyfloat("p", "x", 0.5)
        p.delete("p", "ps")
        out = p.execute()
        eq(out[0] in (0, 2), True, "pipeline hset")
        eq(out[1], {"x": "1", "y": "2"}, "pipeline hgetall")
        harness.check(len(out[2][1]) >= 4, "pipeline hscan")
        harness.check(len(out[3][1]) >= 1, "pipeline sscan")
        eq(out[5], {"a", "b"}, "pipeline smembers")
        eq(out[6], 1.5, "pipeline hincrbyfloat")
        eq(out[7], 2, "pipeline delete")
    r3 = redis.Redis(port=srv.port, protocol=3, decode_responses=True) if "protocol" in \
        redis.Redis.__init__.__code__.co_varnames else None
    if r3 is not None:
        eq(r3.hgetall("h"), {"a": "1", "b": "2"}, "RESP3 hgetall")
        eq(r3.smembers("s") == {str(i) for i in range(700)}, True, "RESP3 smembers")
    r.close()



def test_eviction_of_whole_keys(make_server):
    """Under maxmemory, hashes and sets are evicted as whole keys and the figures the
    policy compares follow their sizes (a big set counts for its members)."""
    srv = make_server(args=["--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"])
    with srv.conn() as c:
        fields = sum((["field%d" % i, "v" * 40] for i in range(20)), [])
        members = ["member-%d" % i for i in range(60)]
        for i in range(2000):
            r = c.cmd("HSET", "h%d" % i, *fields)
            harness.check(r == b":20\r\n", "HSET h%d: %r" % (i, r))
            r = c.cmd("SADD", "s%d" % i, *members)
            harness.check(r == b":60\r\n", "SADD s%d: %r" % (i, r))
        info = decode(c.cmd("INFO", "stats")).decode()
        evicted = int(info.split("evicted_keys:")[1].split()[0])
        harness.check(evicted > 1000, "evicted_keys %d" % evicted)
        mem = decode(c.cmd("INFO", "memory")).decode()
        used = int(mem.split("used_memory:")[1].split()[0])
        harness.check(used <= 3 * 1024 * 1024 * 1.2, "used_memory %d over the limit" % used)
        left = decode(c.cmd("KEYS", "*"))
        harness.check(0 < len(left) < 4000, "keys left %d" % len(left))
        for k in left[:200]:
            # Whole, or evicted whole since KEYS (Redis evicts before any command).
            n = decode(c.cmd("HLEN" if k.startswith(b"h") else "SCARD", k))
            harness.check(n in (0, 20 if k.startswith(b"h") else 60), "%r is not whole: %r" % (k, n))


def test_active_expiry_of_whole_keys(servers):
    """Hashes and sets with a TTL go away whole without being touched (active expiry),
    and their memory goes with them."""
    srv, _ = servers
    with srv.conn() as c:
        c.cmd("FLUSHALL")
        for i in range(200):
            c.cmd("HSET", "eh%d" % i, *sum((["f%d" % j, "v"] for j in range(600)), []))
            c.cmd("SADD", "es%d" % i, *[str(j) for j in range(50)])
        c.cmd("SET", "keep", "1")
        mem = lambda: int(decode(c.cmd("INFO", "memory")).decode().split("used_memory:")[1].split()[0])  # noqa: E731
        full = mem()
        for i in range(200):
            c.cmd("PEXPIRE", "eh%d" % i, "50")
            c.cmd("PEXPIRE", "es%d" % i, "50")
        harness.wait_until(lambda: decode(c.cmd("DBSIZE")) == 1, 20, "active expiry of 400 keys")
        harness.check(mem() < full - 200 * 600 * 20, "memory released: %d -> %d" % (full, mem()))
        eq(decode(c.cmd("GET", "keep")), b"1", "the key without a TTL stays")
