#!/usr/bin/python3
"""test_lists.py: the list commands and blocking pops, differentially against Redis 7.0.

Fixed edge cases and seeded random sequences run on RESPITE_SERVER and Debian's
redis-server and must give byte-identical replies, in RESP2 and RESP3 (and with small
list nodes, list-max-listpack-size 3, so sequences cross node boundaries). Blocking
scenarios run the same steps on both servers with several connections and compare
what every blocked client receives (which client is served, from which key, in which
order); waits are on INFO's blocked_clients, never sleeps. Then worker processes in
BRPOP fed by another process, a worker killed while blocked, timeouts, 10,000 blocked
clients woken in order, and redis-py (commands, blpop, pipelines, transactions).

Fixtures `server` and `oracle` come from conftest.py.
"""
import multiprocessing
import os
import random
import re
import signal
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, encode, eq, wait_until  # noqa: E402


def run_steps(port, steps, resp=2):
    """Run steps (tuples, or strings split on spaces; "@N" first picks connection N,
    "+N" reads N more replies of connection N later) on fresh connections; returns
    the raw replies."""
    conns = {}

    def c(i):
        if i not in conns:
            conns[i] = Conn(port)
            if resp == 3:
                conns[i].cmd("HELLO", "3")
        return conns[i]

    out = []
    try:
        c(0).cmd("FLUSHALL")
        for st in steps:
            if isinstance(st, str):
                st = tuple(st.split(" "))
            i = 0
            if st[0].startswith("@"):
                i, st = int(st[0][1:]), st[1:]
            if st[0] == "SEND":  # send without reading (a blocking command)
                c(i).send(encode(*st[1:]))
                continue
            if st[0] == "READ":
                out.append((i, c(i).reply()))
                continue
            if st[0] == "WAITBLOCKED":
                n = int(st[1])
                wait_until(lambda: blocked(c(0)) == n, 10, "blocked_clients == %d" % n)
                continue
            out.append((i, c(i).cmd(*st)))
    finally:
        for x in conns.values():
            x.close()
    return out


def blocked(conn):
    info = conn.cmd("INFO", "clients").decode()
    return int(re.search(r"blocked_clients:(\d+)", info).group(1))


def diff(server, oracle, steps, resp=(2, 3)):
    for r in resp:
        got = run_steps(server.port, steps, r)
        want = run_steps(oracle.port, steps, r)
        if got != want:
            lines = []
            k = 0
            for st in steps:
                if isinstance(st, str) and (st.startswith("SEND") or "WAITBLOCKED" in st or
                                            st.startswith("@") and " SEND " in st):
                    continue
                if k < len(got):
                    mark = "  " if k < len(want) and got[k] == want[k] else "!!"
                    lines.append("%s %r\n     respite %r\n     redis   %r" % (
                        mark, st, got[k], want[k] if k < len(want) else None))
                k += 1
            pytest.fail("RESP%d differs:\n%s" % (r, "\n".join(lines)))


# ---------------------------------------------------------------- fixed cases

CASES = [
    ("push_pop", ["RPUSH l a b c 1 2 3", "LPUSH l x y", "LRANGE l 0 -1", "LPOP l", "RPOP l", "LPOP l 2",
                  "RPOP l 2", "LPOP l 0", "RPOP l 100", "EXISTS l", "LPOP l", "LPOP l 0", "RPOP l 3",
                  "LPOP l -1", "LPOP l x", "LPOP l 1 2", "TYPE l"]),
    ("pushx", ["LPUSHX l a", "RPUSHX l a", "EXISTS l", "RPUSH l a", "LPUSHX l b c", "RPUSHX l d e",
               "LRANGE l 0 -1", "SET s v", "LPUSHX s a", "RPUSHX s a"]),
    ("wrongtype", ["SET s v", "LPUSH s a", "RPUSH s a", "LPOP s", "RPOP s 2", "LLEN s", "LRANGE s 0 -1",
                   "LINDEX s 0", "LSET s 0 x", "LINSERT s BEFORE a b", "LREM s 0 a", "LTRIM s 0 1",
                   "LPOS s a", "LMOVE s d LEFT LEFT", "RPUSH d x", "LMOVE d s LEFT LEFT", "LRANGE d 0 -1",
                   "RPOPLPUSH s d", "LMPOP 2 none s LEFT", "BLPOP none s 0", "BLPOP d s 0", "BLMPOP 0 1 s LEFT",
                   "BRPOPLPUSH s d 0", "RPUSH d y", "BLMOVE d s RIGHT LEFT 0", "LPOS none a", "LPOS none a COUNT 0"]),
    ("ranges", ["RPUSH l 0 1 2 3 4 5 6 7 8 9", "LRANGE l 0 -1", "LRANGE l -3 -1", "LRANGE l -100 2",
                "LRANGE l 5 2", "LRANGE l 8 100", "LRANGE l 10 11", "LRANGE l -1 -2", "LRANGE l x 1",
                "LRANGE l 0 9223372036854775807", "LRANGE l -9223372036854775808 0", "LRANGE none 0 -1",
                "LINDEX l 0", "LINDEX l -1", "LINDEX l 10", "LINDEX l -11", "LINDEX l -10", "LINDEX l x",
                "LINDEX none 0"]),
    ("lset", ["LSET none 0 x", "RPUSH l a b c", "LSET l 1 B", "LSET l -1 C", "LSET l 3 x", "LSET l -4 x",
              "LSET l x y", "LSET l 0 12345", "LSET l 0 " + "z" * 100, "LRANGE l 0 -1"]),
    ("linsert", ["LINSERT none BEFORE a b", "RPUSH l a b a", "LINSERT l BEFORE a x", "LINSERT l AFTER a y",
                 "LINSERT l after b 7", "LINSERT l MIDDLE a x", "LINSERT l BEFORE zz x", "LRANGE l 0 -1",
                 "LINSERT l BEFORE 7 8", "LRANGE l 0 -1"]),
    ("lrem", ["RPUSH l a b a c a b a", "LREM l 2 a", "LRANGE l 0 -1", "LREM l -1 a", "LRANGE l 0 -1",
              "LREM l 0 b", "LRANGE l 0 -1", "LREM l 0 zz", "LREM l x a", "LREM none 0 a", "LREM l 0 a",
              "LREM l 0 c", "EXISTS l"]),
    ("ltrim", ["LTRIM none 0 1", "RPUSH l 0 1 2 3 4 5 6 7 8 9", "LTRIM l 2 -3", "LRANGE l 0 -1",
               "LTRIM l -100 100", "LRANGE l 0 -1", "LTRIM l 1 0", "EXISTS l", "RPUSH l a b", "LTRIM l 5 10",
               "EXISTS l", "RPUSH l a", "LTRIM l x 1"]),
    ("lpos", ["RPUSH l a b c a b c a", "LPOS l a", "LPOS l c", "LPOS l z", "LPOS l a RANK 2", "LPOS l a RANK -1",
              "LPOS l a RANK -2", "LPOS l a RANK 5", "LPOS l a COUNT 0", "LPOS l a COUNT 2", "LPOS l a COUNT 0 RANK -1",
              "LPOS l a COUNT 2 RANK 2", "LPOS l a MAXLEN 3", "LPOS l a MAXLEN 4 COUNT 0", "LPOS l a RANK 0",
              "LPOS l a COUNT -1", "LPOS l a MAXLEN -1", "LPOS l a RANK x", "LPOS l a FOO", "LPOS l a COUNT",
              "LPOS l a RANK -9223372036854775808", "LPOS l a RANK -9223372036854775808 COUNT 2",
              "LPOS l a RANK 9223372036854775807", "LPOS l z COUNT 0", "LPOS l a RANK 1 RANK -1"]),
    ("lmove", ["LMOVE none d LEFT RIGHT", "RPUSH s a b c", "LMOVE s d LEFT RIGHT", "LMOVE s d RIGHT LEFT",
               "LRANGE d 0 -1", "LMOVE s s LEFT RIGHT", "LRANGE s 0 -1", "LMOVE s d UP LEFT", "RPOPLPUSH s d",
               "EXISTS s", "RPOPLPUSH d d", "LRANGE d 0 -1", "RPOPLPUSH none d"]),
    ("lmpop", ["LMPOP 2 a b LEFT", "RPUSH b 1 2 3", "LMPOP 2 a b LEFT", "LMPOP 2 a b RIGHT COUNT 10", "EXISTS b",
               "LMPOP 0 a LEFT", "LMPOP -1 a LEFT", "LMPOP x a LEFT", "LMPOP 2 a LEFT", "LMPOP 1 a MIDDLE",
               "LMPOP 1 a LEFT COUNT 0", "LMPOP 1 a LEFT COUNT -1", "LMPOP 1 a LEFT COUNT 1 COUNT 1",
               "LMPOP 1 a LEFT FOO", "LMPOP 1 a LEFT COUNT", "LMPOP 9223372036854775807 a LEFT",
               "BLMPOP 0 0 a LEFT", "BLMPOP x 1 a LEFT", "BLMPOP 0 1 a LEFT COUNT 0", "BLMPOP -1 1 a LEFT"]),
    ("timeouts", ["BLPOP a -1", "BLPOP a abc", "BLPOP a 1e400", "BLPOP a 1e20", "BLPOP a inf", "BLPOP a nan",
                  "BLPOP a -0.5e400", "BLPOP a 0.001", "BLPOP a 0x0.01", "BRPOP a 0.01", "BLMOVE a b LEFT LEFT 0.01",
                  "BRPOPLPUSH a b 0.01", "BLMPOP 0.01 1 a LEFT", "BLMOVE a b LEFT LEFT -1", "BRPOPLPUSH a b x",
                  "BLMOVE a b UP LEFT x"]),
    ("integers", ["RPUSH l 0 -0 00 1 -1 127 128 4095 4096 -4096 -4097 524287 524288 -524289 67108864 2147483647",
                  "RPUSH l 2147483648 -2147483649 9223372036854775807 -9223372036854775808 9223372036854775808",
                  "RPUSH l +1 1.0 1e3", "LRANGE l 0 -1", "LPOS l 0", "LPOS l 00", "LREM l 0 -0",
                  "LINSERT l AFTER 127 x", "LRANGE l 0 5"]),
    ("multi", ["RPUSH l a", "MULTI", "LPUSH l b", "BLPOP none 0", "BRPOP l 0", "BLMOVE none l LEFT LEFT 0",
               "BRPOPLPUSH none l 0", "BLMPOP 0 1 none LEFT", "LRANGE l 0 -1", "EXEC"]),
    ("keys", ["RPUSH l a b c", "TYPE l", "OBJECT ENCODING l", "COPY l c", "LRANGE c 0 -1", "RENAME l r",
              "LRANGE r 0 -1", "MOVE r 1", "SELECT 1", "LRANGE r 0 -1", "EXPIRE r 100", "TTL r", "SELECT 0",
              "SCAN 0 TYPE list", "RPUSH big " + " ".join(str(i) for i in range(300)), "OBJECT ENCODING big",
              "DEL big", "EXISTS big"]),
    ("big_elements", ["RPUSH l " + "a" * 70000, "LPUSH l " + "b" * 9000, "RPUSH l c", "LLEN l",
                      "LINDEX l 0", "LINDEX l 1", "LINSERT l BEFORE c " + "d" * 5000, "LRANGE l 1 -1",
                      "LSET l 2 " + "e" * 20000, "LREM l 1 c", "LRANGE l 0 -1"]),
]


@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps):
    diff(server, oracle, steps)


# ---------------------------------------------------------------- seeded random sequences

def gen(rng, n):
    keys = ["a", "b", "c", "s"]
    vals = ["x", "y", "z", "1", "-7", "300", "70000", "", "v" * 70, "12345678901", "deadbeef", "DEADBEEF", "0123",
            "abc", "c0ffeE"]

    def k():
        return rng.choice(keys[:3]) if rng.random() < 0.95 else "s"

    def v():
        return rng.choice(vals)

    def i():
        return str(rng.randint(-12, 12))

    def side():
        return rng.choice(["LEFT", "RIGHT"])

    steps = [("SET", "s", "str")]
    for _ in range(n):
        r = rng.random()
        if r < 0.22:
            steps.append((rng.choice(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), k()) +
                         tuple(v() for _ in range(rng.randint(1, 6))))
        elif r < 0.30:
            steps.append((rng.choice(["LPOP", "RPOP"]), k()) + ((str(rng.randint(0, 5)),) if rng.random() < 0.5 else ()))
        elif r < 0.38:
            steps.append(("LRANGE", k(), i(), i()))
        elif r < 0.43:
            steps.append(("LINDEX", k(), i()))
        elif r < 0.48:
            steps.append(("LSET", k(), i(), v()))
        elif r < 0.53:
            steps.append(("LINSERT", k(), rng.choice(["BEFORE", "AFTER"]), v(), v()))
        elif r < 0.58:
            steps.append(("LREM", k(), str(rng.randint(-3, 3)), v()))
        elif r < 0.62:
            steps.append(("LTRIM", k(), i(), i()))
        elif r < 0.70:
            opt = ()
            if rng.random() < 0.5:
                opt += ("RANK", str(rng.choice([-3, -2, -1, 1, 2, 3])))
            if rng.random() < 0.5:
                opt += ("COUNT", str(rng.randint(0, 3)))
            if rng.random() < 0.3:
                opt += ("MAXLEN", str(rng.randint(0, 6)))
            steps.append(("LPOS", k(), v()) + opt)
        elif r < 0.77:
            steps.append(("LMOVE", k(), k(), side(), side()))
        elif r < 0.80:
            steps.append(("RPOPLPUSH", k(), k()))
        elif r < 0.86:
            ks = rng.sample(keys, rng.randint(1, 3))
            steps.append(("LMPOP", str(len(ks))) + tuple(ks) + (side(),) +
                         (("COUNT", str(rng.randint(1, 4))) if rng.random() < 0.6 else ()))
        elif r < 0.90:
            ks = rng.sample(keys[:3], rng.randint(1, 3))
            steps.append((rng.choice(["BLPOP", "BRPOP"]),) + tuple(ks) + ("0.001",))
        elif r < 0.93:
            steps.append(("LLEN", k()))
        elif r < 0.95:
            steps.append(("BLMOVE", k(), k(), side(), side(), "0.001"))
        elif r < 0.97:
            steps.append(("DEL", k()))
        else:
            steps.append(("EXISTS", "a", "b", "c"))
    for key in keys[:3]:
        steps.append(("LRANGE", key, "0", "-1"))
    return steps


@pytest.mark.parametrize("seed", range(6))
def test_random(server, oracle, seed):
    rng = random.Random(seed)
    steps = gen(rng, 400)
    if seed % 2:  # small nodes: every sequence crosses node boundaries
        steps = [("CONFIG", "SET", "list-max-listpack-size", "3")] + steps + \
                [("CONFIG", "SET", "list-max-listpack-size", "-2")]
    # blocking pops with a tiny timeout may time out: they only run on empty lists,
    # where both servers answer a null array after 1 ms
    diff(server, oracle, steps, resp=(2, 3) if seed < 2 else (2,))


def test_long_lists(server, oracle):
    """Many nodes: negative indexes, trims and removals across node boundaries."""
    rng = random.Random(7)
    steps = [("RPUSH", "l") + tuple(str(rng.randint(0, 50)) for _ in range(500)) for _ in range(8)]
    steps += [("LPUSH", "l") + tuple("e%d" % rng.randint(0, 50) for _ in range(500)) for _ in range(4)]
    # runs sharing a prefix: full nodes store only what follows it
    steps += [("RPUSH", "l") + tuple("job:%07d" % rng.randint(0, 99999) for _ in range(500)) for _ in range(4)]
    steps += [("LPUSH", "l") + tuple("job:%07d" % rng.randint(0, 99999) + "x" * rng.choice([0, 0, 300])
                                     for _ in range(300)) for _ in range(3)]
    for _ in range(150):
        r = rng.random()
        a, b = str(rng.randint(-7000, 7000)), str(rng.randint(-7000, 7000))
        if r < 0.3:
            steps.append(("LINDEX", "l", a))
        elif r < 0.45:
            steps.append(("LRANGE", "l", a, str(int(a) + rng.randint(0, 40))))
        elif r < 0.55:
            steps.append(("LSET", "l", a, rng.choice(["s%d" % rng.randint(0, 9), "job:%07d" % rng.randint(0, 9)])))
        elif r < 0.65:
            steps.append(("LINSERT", "l", "BEFORE", str(rng.randint(0, 50)), "ins"))
        elif r < 0.72:
            steps.append(("LREM", "l", str(rng.randint(-5, 5)), str(rng.randint(0, 50))))
        elif r < 0.8:
            steps.append(("LPOS", "l", rng.choice(["ins", "job:%07d" % rng.randint(0, 99999)]), "RANK",
                          str(rng.choice([-2, -1, 1, 2])), "COUNT", "3"))
        elif r < 0.85:
            steps.append(("LTRIM", "l", str(rng.randint(0, 20)), str(-rng.randint(1, 20))))
        elif r < 0.93:
            steps.append((rng.choice(["LPOP", "RPOP"]), "l", str(rng.randint(1, 30))))
        else:
            steps.append(("LLEN", "l"))
    steps.append(("LRANGE", "l", "0", "-1"))
    diff(server, oracle, steps, resp=(2,))


def compressed_steps(rng, depth, fill):
    """A long list under list-compress-depth depth: every command on its compressed
    interior, then the settings back."""
    def val():
        r = rng.random()
        if r < 0.4:
            return "job:%07d" % rng.randint(0, 999)
        if r < 0.6:
            return "%010x" % rng.getrandbits(40)
        if r < 0.7:
            return str(rng.randint(-100000, 100000))
        if r < 0.8:
            return "payload-" + "ab" * rng.randint(0, 150)
        return rng.choice(["x", "ins", "job:0000007", "0123"])

    steps = [("CONFIG", "SET", "list-compress-depth", str(depth)), ("CONFIG", "SET", "list-max-listpack-size", fill)]
    steps += [(rng.choice(["RPUSH", "LPUSH"]), "l") + tuple(val() for _ in range(400)) for _ in range(10)]
    for _ in range(250):
        r = rng.random()
        a = rng.randint(-4000, 4000)
        if r < 0.2:
            steps.append(("LINDEX", "l", str(a)))
        elif r < 0.3:
            steps.append(("LRANGE", "l", str(a), str(a + rng.randint(0, 300))))
        elif r < 0.42:
            steps.append(("LSET", "l", str(a), val()))
        elif r < 0.54:
            steps.append(("LINSERT", "l", rng.choice(["BEFORE", "AFTER"]), val(), val()))
        elif r < 0.62:
            steps.append(("LREM", "l", str(rng.randint(-3, 3)), val()))
        elif r < 0.68:
            steps.append(("LPOS", "l", val(), "RANK", str(rng.choice([-2, -1, 1, 2])), "COUNT", "4"))
        elif r < 0.72:
            steps.append(("LTRIM", "l", str(rng.randint(0, 30)), str(-rng.randint(1, 30))))
        elif r < 0.84:
            steps.append((rng.choice(["LPOP", "RPOP"]), "l", str(rng.randint(1, 40))))
        elif r < 0.94:
            steps.append((rng.choice(["LPUSH", "RPUSH"]), "l") + tuple(val() for _ in range(rng.randint(1, 60))))
        elif r < 0.97:
            steps.append(("LMOVE", "l", "l", rng.choice(["LEFT", "RIGHT"]), rng.choice(["LEFT", "RIGHT"])))
        else:
            steps.append(("LLEN", "l"))
        if rng.random() < 0.05:
            steps.append(("LRANGE", "l", "0", "-1"))
    steps += [("LRANGE", "l", "0", "-1"), ("SORT", "l", "ALPHA", "LIMIT", "0", "50"),
              ("CONFIG", "SET", "list-compress-depth", "0"), ("CONFIG", "SET", "list-max-listpack-size", "-2")]
    return steps


@pytest.mark.parametrize("depth,fill,seed", [(1, "-2", 1), (2, "-1", 2), (1, "32", 3), (2, "8", 4), (3, "-2", 5)])
def test_compressed_random(server, oracle, depth, fill, seed):
    """Seeded sequences on a list whose interior nodes are compressed (differential)."""
    diff(server, oracle, compressed_steps(random.Random(seed), depth, fill), resp=(2,))


def test_compress_depth_change(server, oracle):
    """CONFIG SET list-compress-depth applies to lists made after it (as Redis); lists
    made before it keep working under the old depth, and the value reads back."""
    big = tuple("item:%d:%s" % (i, "z" * 30) for i in range(3000))
    steps = [("RPUSH", "old") + big, ("CONFIG", "SET", "list-compress-depth", "1"),
             ("CONFIG", "GET", "list-compress-depth"), ("RPUSH", "new") + big, ("RPUSH", "old") + big[:500],
             ("LINDEX", "old", "1700"), ("LINDEX", "new", "1700"), ("LSET", "new", "1500", "changed"),
             ("LINSERT", "new", "BEFORE", "item:2000:" + "z" * 30, "inserted"), ("LREM", "new", "0", "item:5:" + "z" * 30),
             ("LTRIM", "new", "3", "-4"), ("LRANGE", "new", "1490", "1510"), ("LPOS", "new", "inserted"),
             ("CONFIG", "SET", "list-compress-depth", "2"), ("RPUSH", "new") + big[:1000], ("LRANGE", "new", "0", "-1"),
             ("LRANGE", "old", "0", "-1"), ("CONFIG", "SET", "list-compress-depth", "0"),
             ("CONFIG", "SET", "list-compress-depth", "-1"), ("CONFIG", "GET", "list-compress-depth")]
    diff(server, oracle, steps, resp=(2,))


def test_compressed_memory_usage(server, oracle):
    """MEMORY USAGE of a list with compressed interior nodes is well under the same list
    uncompressed, on both servers."""
    ratios = []
    for srv in (server, oracle):
        c = Conn(srv.port)
        try:
            vals = tuple("event:%d:user:%d:ok" % (i, i % 50) for i in range(20000))
            c.cmd("FLUSHALL")
            c.cmd("CONFIG", "SET", "list-compress-depth", "0")
            c.cmd("RPUSH", "raw", *vals)
            c.cmd("CONFIG", "SET", "list-compress-depth", "1")
            c.cmd("RPUSH", "z", *vals)
            c.cmd("CONFIG", "SET", "list-compress-depth", "0")
            raw = int(c.cmd("MEMORY", "USAGE", "raw", "SAMPLES", "0")[1:-2])
            z = int(c.cmd("MEMORY", "USAGE", "z", "SAMPLES", "0")[1:-2])
            eq(c.cmd("LINDEX", "z", "12345"), c.cmd("LINDEX", "raw", "12345"), "LINDEX")
            ratios.append(z / raw)
        finally:
            c.close()
    assert ratios[0] < 0.5 and ratios[1] < 0.5, "compressed/raw MEMORY USAGE: respite %.2f, redis %.2f" % tuple(ratios)


# ---------------------------------------------------------------- blocking, differential

BLOCK_CASES = [
    ("served_by_push", ["@1 SEND BLPOP l 0", "WAITBLOCKED 1", "RPUSH l a b", "@1 READ", "LRANGE l 0 -1"]),
    ("brpop_order", ["@1 SEND BRPOP l 0", "WAITBLOCKED 1", "RPUSH l a b", "@1 READ", "LRANGE l 0 -1"]),
    ("fifo_three", ["@1 SEND BLPOP l 0", "WAITBLOCKED 1", "@2 SEND BLPOP l 0", "WAITBLOCKED 2",
                    "@3 SEND BLPOP l 0", "WAITBLOCKED 3", "RPUSH l a b", "@1 READ", "@2 READ", "WAITBLOCKED 1",
                    "RPUSH l c", "@3 READ", "EXISTS l"]),
    ("ready_key_order_in_multi", ["@1 SEND BLPOP a b 0", "WAITBLOCKED 1", "MULTI", "RPUSH b x", "RPUSH a y",
                                  "EXEC", "@1 READ", "LRANGE a 0 -1", "LRANGE b 0 -1"]),
    ("push_then_pop_in_multi", ["@1 SEND BLPOP l 0", "WAITBLOCKED 1", "MULTI", "RPUSH l a", "LPOP l", "EXEC",
                                "PING", "RPUSH l b", "@1 READ"]),
    ("push_in_multi_serves_after_exec", ["@1 SEND BLPOP l 0", "WAITBLOCKED 1", "@2 SEND BRPOP l 0",
                                         "WAITBLOCKED 2", "MULTI", "RPUSH l a b c", "LLEN l", "RPUSH l d",
                                         "EXEC", "@1 READ", "@2 READ", "LRANGE l 0 -1"]),
    ("wrongtype_keeps_waiting", ["@1 SEND BLPOP l 0", "WAITBLOCKED 1", "SET l x", "DEL l", "XADD l 1-1 f v",
                                 "DEL l", "RPUSH l a", "@1 READ"]),
    ("deleted_wakes_nobody", ["@1 SEND BLPOP l 0", "WAITBLOCKED 1", "MULTI", "RPUSH l a", "DEL l", "EXEC",
                              "PING", "LPUSH l z", "@1 READ"]),
    ("several_keys_second", ["@1 SEND BRPOP a b c 0", "WAITBLOCKED 1", "RPUSH c 1 2", "@1 READ", "LRANGE c 0 -1"]),
    ("blmove_served", ["@1 SEND BLMOVE src dst RIGHT LEFT 0", "WAITBLOCKED 1", "RPUSH src a b", "@1 READ",
                       "LRANGE src 0 -1", "LRANGE dst 0 -1"]),
    ("brpoplpush_served", ["@1 SEND BRPOPLPUSH src dst 0", "WAITBLOCKED 1", "RPUSH src a b", "@1 READ",
                           "LRANGE dst 0 -1"]),
    ("blmove_dst_wrongtype", ["SET dst x", "@1 SEND BLMOVE src dst LEFT LEFT 0", "WAITBLOCKED 1", "RPUSH src a",
                              "@1 READ", "LRANGE src 0 -1"]),
    ("blmove_chain_both_waiting", ["@1 SEND BLMOVE a b LEFT RIGHT 0", "WAITBLOCKED 1", "@2 SEND BLPOP b 0",
                                   "WAITBLOCKED 2", "@3 SEND BLMOVE b c LEFT LEFT 0", "WAITBLOCKED 3",
                                   "RPUSH a 1 2", "@1 READ", "@2 READ", "WAITBLOCKED 1", "LMOVE a b LEFT RIGHT", "@3 READ",
                                   "LRANGE a 0 -1", "LRANGE b 0 -1", "LRANGE c 0 -1"]),
    ("blmove_same_list", ["@1 SEND BLMOVE l l LEFT RIGHT 0", "WAITBLOCKED 1", "@2 SEND BLPOP l 0",
                          "WAITBLOCKED 2", "RPUSH l a", "@1 READ", "@2 READ", "EXISTS l"]),
    ("blmpop_count", ["@1 SEND BLMPOP 0 2 a b RIGHT COUNT 2", "WAITBLOCKED 1", "RPUSH b 1 2 3", "@1 READ",
                      "LRANGE b 0 -1"]),
    ("blmpop_and_blpop", ["@1 SEND BLMPOP 0 1 l LEFT COUNT 5", "WAITBLOCKED 1", "@2 SEND BLPOP l 0",
                          "WAITBLOCKED 2", "RPUSH l 1 2 3", "PING", "RPUSH l 4", "@1 READ", "@2 READ"]),
    ("timeout_shapes", ["BLPOP l 0.01", "BRPOP l 0.01", "BLMOVE l d LEFT LEFT 0.01", "BRPOPLPUSH l d 0.01",
                        "BLMPOP 0.01 1 l LEFT"]),
    ("rename_into_waited_key", ["RPUSH src a", "@1 SEND BLPOP l 0", "WAITBLOCKED 1", "RENAME src l", "@1 READ",
                                "EXISTS l"]),
    ("pipelined_after_unblock", ["@1 SEND BLPOP l 0", "WAITBLOCKED 1", "@1 SEND LLEN l", "RPUSH l a b",
                                 "@1 READ", "@1 READ"]),
    ("watch_touched_by_served_pop", ["@1 SEND BLPOP l 0", "WAITBLOCKED 1", "@2 WATCH l", "RPUSH l a", "@1 READ",
                                     "@2 MULTI", "@2 PING", "@2 EXEC"]),
]


@pytest.mark.parametrize("steps", [s for _, s in BLOCK_CASES], ids=[n for n, _ in BLOCK_CASES])
def test_block(server, oracle, steps):
    diff(server, oracle, steps)


# ---------------------------------------------------------------- blocking, behaviour

def _worker(port, n, q):
    """A job-queue worker: BRPOP until it got n jobs, report them."""
    got = []
    with Conn(port) as c:
        while len(got) < n:
            r = harness.decode(c.cmd("BRPOP", "jobs", "0"))
            got.append(r[1].decode())
    q.put(got)


def _producer(port, jobs):
    with Conn(port) as c:
        for j in jobs:
            c.cmd("LPUSH", "jobs", j)


def test_worker_pool(server):
    """Four worker processes in BRPOP, one producer process: each job once, in order."""
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    with Conn(server.port) as a:
        a.cmd("DEL", "jobs")
        workers = [ctx.Process(target=_worker, args=(server.port, 250, q)) for _ in range(4)]
        for w in workers:
            w.start()
        wait_until(lambda: blocked(a) == 4, 20, "4 workers blocked")
        jobs = ["job:%d" % i for i in range(1000)]
        p = ctx.Process(target=_producer, args=(server.port, jobs))
        p.start()
        results = [q.get(timeout=60) for _ in workers]
        p.join(30)
        for w in workers:
            w.join(30)
        everything = sorted(j for r in results for j in r)
        eq(everything, sorted(jobs), "every job delivered exactly once")
        for r in results:  # each worker sees its jobs in push order
            eq(r, sorted(r, key=lambda s: int(s.split(":")[1])), "a worker's jobs in order")
        eq(a.cmd("EXISTS", "jobs"), b":0\r\n", "queue drained")


def test_worker_killed_while_blocked(server):
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    with Conn(server.port) as a:
        a.cmd("DEL", "jobs")
        victim = ctx.Process(target=_worker, args=(server.port, 1, q))
        victim.start()
        wait_until(lambda: blocked(a) == 1, 20, "victim blocked")
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        wait_until(lambda: blocked(a) == 0, 20, "the killed worker's block is gone")
        survivor = ctx.Process(target=_worker, args=(server.port, 1, q))
        survivor.start()
        wait_until(lambda: blocked(a) == 1, 20, "survivor blocked")
        eq(a.cmd("LPUSH", "jobs", "j1"), b":1\r\n", "push")
        eq(q.get(timeout=20), ["j1"], "the survivor got the job")
        survivor.join(10)
        eq(a.cmd("LLEN", "jobs"), b":0\r\n", "nothing left")
        # a client killed with CLIENT KILL while blocked leaves nothing behind either
        b = Conn(server.port)
        cid = b.cmd("CLIENT", "ID").split(b"\r\n")[0][1:].decode()
        b.send(encode("BLPOP", "jobs", "0"))
        wait_until(lambda: blocked(a) == 1, 20, "b blocked")
        a.cmd("CLIENT", "KILL", "ID", cid)
        wait_until(lambda: blocked(a) == 0, 20, "killed client unblocked")
        eq(a.cmd("RPUSH", "jobs", "j2"), b":1\r\n", "push after kill")
        eq(a.cmd("LRANGE", "jobs", "0", "-1"), b"*1\r\n$2\r\nj2\r\n", "nobody took it")
        b.close()


def test_timeout_fires(server):
    with Conn(server.port) as c:
        t0 = time.monotonic()
        eq(c.cmd("BLPOP", "none", "0.2"), b"*-1\r\n", "timeout reply")
        dt = time.monotonic() - t0
        assert 0.19 <= dt < 2.0, dt
        c.cmd("HELLO", "3")
        eq(c.cmd("BLMOVE", "none", "d", "LEFT", "LEFT", "0.05"), b"_\r\n", "RESP3 timeout reply")


def test_many_blocked_clients(server):
    """1,000 idle clients in BLPOP cost no CPU; pushes wake them first-blocked first;
    one push under all of them re-runs nobody but the first."""
    n = 1000
    with Conn(server.port) as a:
        a.cmd("DEL", "q")
        conns = []
        for i in range(n):
            c = socket.create_connection(("127.0.0.1", server.port))
            c.sendall(encode("BLPOP", "q", "0"))
            conns.append(c)
            if i % 100 == 99:
                wait_until(lambda: blocked(a) == i + 1, 20, "%d blocked" % (i + 1))
        pid = server.proc.pid

        def cpu():
            with open("/proc/%d/stat" % pid) as f:
                p = f.read().split(")")[1].split()
            return int(p[11]) + int(p[12])

        c0 = cpu()
        time.sleep(0.5)  # measuring idleness itself
        assert cpu() - c0 <= 2, "blocked clients used CPU while idle"
        t0 = time.monotonic()
        for i in range(n):
            a.cmd("RPUSH", "q", "v%d" % i)
        dt = time.monotonic() - t0
        for i, c in enumerate(conns[:20]):
            c.settimeout(10)
            want = b"*2\r\n$1\r\nq\r\n$%d\r\nv%d\r\n" % (len("v%d" % i), i)
            got = b""
            while len(got) < len(want):
                got += c.recv(len(want) - len(got))
            eq(got, want, "client %d served in order" % i)
        for c in conns:
            c.close()
        wait_until(lambda: blocked(a) == 0, 20, "all served")
        assert dt < 5.0, "1,000 pushes to 1,000 waiters took %.2fs" % dt


# ---------------------------------------------------------------- redis-py

def test_redis_py(server):
    redis = pytest.importorskip("redis")
    r = redis.Redis(port=server.port)
    r.delete("rl", "rd")
    assert r.rpush("rl", "a", "b", "c") == 3
    assert r.lpush("rl", 1) == 4
    assert r.lrange("rl", 0, -1) == [b"1", b"a", b"b", b"c"]
    assert r.llen("rl") == 4
    assert r.lindex("rl", -1) == b"c"
    assert r.lset("rl", 0, "z")
    assert r.linsert("rl", "before", "a", "q") == 5
    assert r.lrem("rl", 0, "q") == 1
    assert r.lpos("rl", "b") == 2
    assert r.lpop("rl", 2) == [b"z", b"a"]
    assert r.lmove("rl", "rd", "LEFT", "RIGHT") == b"b"
    assert r.rpoplpush("rl", "rd") == b"c"
    assert r.exists("rl") == 0
    assert r.lmpop(1, "rd", direction="LEFT", count=5) == [b"rd", [b"c", b"b"]]
    assert r.blpop(["rl", "rd"], timeout=0.05) is None
    r.rpush("rd", "x")
    assert r.blpop(["rl", "rd"], timeout=1) == (b"rd", b"x")
    assert r.brpoplpush("none", "rd", timeout=0.05) is None
    p = r.pipeline(transaction=False)
    p.rpush("pl", *range(10)).ltrim("pl", 2, 5).lrange("pl", 0, -1).rpop("pl").llen("pl")
    assert p.execute() == [10, True, [b"2", b"3", b"4", b"5"], b"5", 3]
    p = r.pipeline(transaction=True)
    p.lpush("tl", "a").blpop("tl", timeout=0).blpop("tl", timeout=0).llen("tl")
    assert p.execute() == [1, (b"tl", b"a"), None, 0]
    r.delete("pl")
    r.close()

