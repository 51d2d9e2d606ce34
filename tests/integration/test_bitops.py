"""test_bitops.py: the bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
BITFIELD, BITFIELD_RO), differentially against Redis 7.0: fixed edge cases and seeded
random sequences over a few small keys, replies compared byte for byte (RESP2 and
RESP3), values compared through GET, plus redis-py in a pipeline and a transaction.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import diff_case, diff_random, eq  # noqa: E402

CASES = []


def case(name, steps):
    CASES.append((name, steps))


case("setbit_getbit", [
    "SETBIT k 7 1", "GET k", "SETBIT k 7 1", "SETBIT k 7 0", "GET k", "SETBIT k 0 1", "GETBIT k 0",
    "GETBIT k 1", "GETBIT k 100000", "GETBIT nokey 3", "SETBIT k 100 1", "STRLEN k", "GET k",
    "SETBIT k -1 1", "SETBIT k x 1", "SETBIT k 1 2", "SETBIT k 1 -1", "SETBIT k 1 x", "SETBIT k 1 01",
    "SETBIT k 4294967296 1", "SETBIT k 4294967295x 1", "GETBIT k -1", "GETBIT k 1.5", "GETBIT k",
    "SETBIT k 1", "SET n 255", "SETBIT n 0 1", "GET n", "OBJECT ENCODING n", "SET i 12345",
    "GETBIT i 2", "GETBIT i 3", "GETBIT i 39", "GETBIT i 40", "OBJECT ENCODING i",
    "XADD l 1-1 a b", "SETBIT l 0 1", "GETBIT l 0", "SET e abc", "SETBIT e 1 0", "OBJECT ENCODING e",
    "SET t v EX 100", "SETBIT t 3 1", ("approx:2", "TTL", "t"),
])
case("bitcount", [
    "SET k foobar", "BITCOUNT k", "BITCOUNT k 0 0", "BITCOUNT k 1 1", "BITCOUNT k 1 1 BYTE",
    "BITCOUNT k 5 30 BIT", "BITCOUNT k 0 -1 bit", "BITCOUNT k -3 -1", "BITCOUNT k -1 -3",
    "BITCOUNT k -100 100", "BITCOUNT k 100 200", "BITCOUNT k 2 1", "BITCOUNT k 0", "BITCOUNT k 0 1 2",
    "BITCOUNT k 0 1 bits", "BITCOUNT k a b", "BITCOUNT k 0 b", "BITCOUNT nokey", "BITCOUNT nokey 0",
    "BITCOUNT nokey a b", "BITCOUNT k 1 1 BIT", "BITCOUNT k 7 8 BIT", "BITCOUNT k 9 9 BIT",
    "BITCOUNT k -9 -2 BIT", "BITCOUNT k -2 -9 BIT", "SET i 1234567", "BITCOUNT i", "BITCOUNT i 1 2",
    "SET e ''", "SET e2 \"\"", ("set", "empty", ""), "BITCOUNT empty", "BITCOUNT empty 0 -1",
    "BITCOUNT empty 0 -1 BIT", "XADD l 1-1 a b", "BITCOUNT l", "BITCOUNT l 0 1", "BITCOUNT",
    ("set", "big", "\xff" * 100), "BITCOUNT big", "BITCOUNT big 3 797 BIT", "BITCOUNT big 1 98",
])
case("bitpos", [
    ("set", "k", b"\xff\xf0\x00"), "BITPOS k 0", "BITPOS k 1", "BITPOS k 1 1", "BITPOS k 0 1",
    "BITPOS k 1 2", "BITPOS k 0 2", "BITPOS k 1 2 -1", "BITPOS k 0 0 1", "BITPOS k 0 0 0",
    ("set", "f", b"\xff\xff\xff"), "BITPOS f 0", "BITPOS f 0 0", "BITPOS f 0 0 -1", "BITPOS f 1",
    "BITPOS f 0 1 2 BIT", "BITPOS f 0 0 -1 BIT", "BITPOS f 1 3 5 bit", "BITPOS f 1 7 20 BIT",
    ("set", "z", b"\x00\x00\x00"), "BITPOS z 1", "BITPOS z 0", "BITPOS z 1 0 -1", "BITPOS z 0 1 1",
    "BITPOS z 0 9 12 BIT", "BITPOS z 1 9 12 BIT", "BITPOS z 1 2 1", "BITPOS z 0 2 1",
    ("set", "m", b"\x0f\xf0\x0f\xf0\x00\xff"), "BITPOS m 1 2 13 BIT", "BITPOS m 0 4 11 BIT",
    "BITPOS m 1 9 9 BIT", "BITPOS m 0 12 12 BIT", "BITPOS m 1 -9 -1 BIT", "BITPOS m 0 -16 -9 BIT",
    "BITPOS m 1 33 46 BIT", "BITPOS m 0 40 47 BIT", "BITPOS m 1 3 2 BIT",
    "BITPOS nokey 0", "BITPOS nokey 1", "BITPOS nokey 1 0 -1", "BITPOS k 2", "BITPOS k -1",
    "BITPOS k x", "BITPOS k 1 x", "BITPOS k 1 0 x", "BITPOS k 1 0 1 BYTES", "BITPOS k 1 0 1 BIT x",
    "BITPOS nokey 2", "XADD l 1-1 a b", "BITPOS l 1", "BITPOS l 3", "SET i 1000", "BITPOS i 1",
    "BITPOS i 0 1 1", ("set", "empty", ""), "BITPOS empty 0", "BITPOS empty 1", "BITPOS empty 0 0 -1",
])
case("bitop", [
    ("set", "a", b"\x0f\xf0"), ("set", "b", b"\xff\x00\xaa"), "BITOP AND d a b", "GET d",
    "BITOP OR d a b", "GET d", "BITOP XOR d a b", "GET d", "BITOP NOT d a", "GET d",
    "BITOP NOT d a b", "BITOP NAND d a b", "BITOP and d a nokey", "GET d", "BITOP or d nokey nokey2",
    "EXISTS d", "SET d x", "BITOP xor d nokey", "EXISTS d", "BITOP AND d", "BITOP NOT d",
    "XADD l 1-1 a b", "BITOP AND d a l", "BITOP OR l a", "TYPE l", "GET l", "SET i 123", "BITOP NOT d i",
    "GET d", "OBJECT ENCODING d", "SET t v EX 100", "BITOP OR t a", "TTL t", "BITOP AND a a b",
    "GET a", "BITOP OR x a a a a b", "GET x", "OBJECT ENCODING x",
    ("set", "l1", bytes(range(100))), ("set", "l2", bytes(range(255, 218, -1))), ("set", "l3", b"\x5a" * 64),
    "BITOP AND r l1 l2 l3", "GET r", "BITOP OR r l1 l2 l3", "GET r", "BITOP XOR r l1 l2 l3 nokey", "GET r",
    "BITOP NOT r l1", "GET r", "OBJECT ENCODING r", "BITOP XOR r l3 l3", "GET r", "BITCOUNT l1", "BITCOUNT l1 3 91",
    "BITCOUNT l1 5 700 BIT", "BITPOS l3 0 9", "BITPOS l1 1 70 800 BIT", "BITPOS l2 0", "BITPOS l2 0 0 -1",
])
case("bitfield", [
    "BITFIELD k SET i8 0 -100", "GET k", "BITFIELD k GET i8 0 GET u8 0 GET u4 0 GET i4 4",
    "BITFIELD k INCRBY i8 0 -50", "BITFIELD k OVERFLOW SAT INCRBY i8 0 -50", "BITFIELD k GET i8 0",
    "BITFIELD k OVERFLOW FAIL INCRBY i8 0 -1", "BITFIELD k OVERFLOW WRAP INCRBY i8 0 -1",
    "BITFIELD k SET u8 #1 255 INCRBY u8 #1 10 OVERFLOW SAT INCRBY u8 #1 10 OVERFLOW FAIL INCRBY u8 #1 10",
    "GET k", "BITFIELD k SET i64 0 -1 GET u63 0 GET i64 1 GET u1 63", "BITFIELD k GET i64 #1",
    "BITFIELD k INCRBY i64 0 9223372036854775807", "BITFIELD k OVERFLOW SAT INCRBY i64 0 -9223372036854775808",
    "BITFIELD k OVERFLOW SAT INCRBY i64 0 -1", "BITFIELD k OVERFLOW FAIL SET i64 0 5 INCRBY i64 0 9223372036854775807",
    "BITFIELD k SET u63 0 -1", "BITFIELD k OVERFLOW SAT SET u63 0 -1", "BITFIELD k OVERFLOW FAIL SET u63 0 -1",
    "BITFIELD k OVERFLOW SAT SET u2 0 5 OVERFLOW WRAP SET u2 0 5 GET u2 0", "BITFIELD k OVERFLOW SAT SET i3 0 -9",
    "BITFIELD k OVERFLOW WRAP SET i3 0 -9 GET i3 0", "BITFIELD k OVERFLOW FAIL SET i3 0 9",
    "BITFIELD k u8 0", "BITFIELD k GET u64 0", "BITFIELD k GET i65 0", "BITFIELD k GET i0 0",
    "BITFIELD k GET I8 0", "BITFIELD k GET x8 0", "BITFIELD k GET u8 -1", "BITFIELD k GET u8 #-1",
    "BITFIELD k GET u8 #x", "BITFIELD k GET u8 x", "BITFIELD k GET u8", "BITFIELD k SET u8 0",
    "BITFIELD k SET u8 0 x", "BITFIELD k OVERFLOW", "BITFIELD k OVERFLOW nope GET u8 0",
    "BITFIELD k GET u8 0 BOGUS", "BITFIELD k", "BITFIELD nokey", "BITFIELD nokey GET u16 100",
    "EXISTS nokey", "BITFIELD nokey2 OVERFLOW FAIL SET u2 0 9", "EXISTS nokey2", "GET nokey2",
    "BITFIELD_RO k GET u8 0 GET i5 3", "BITFIELD_RO k SET u8 0 1", "BITFIELD_RO k INCRBY u8 0 1",
    "BITFIELD_RO k OVERFLOW SAT GET u8 0", "BITFIELD_RO nokey GET u8 0", "BITFIELD_RO k",
    "XADD l 1-1 a b", "BITFIELD l GET u8 0", "BITFIELD l SET u8 0 1", "BITFIELD_RO l GET u8 0",
    "SET i 1234", "BITFIELD i GET u8 0 SET u8 #1 65", "GET i", "OBJECT ENCODING i",
    "BITFIELD w INCRBY u5 100 1 INCRBY i7 3 -3 GET u12 98", "GET w", "STRLEN w",
    "BITFIELD w SET u8 #4294967296 1", "BITFIELD w SET u8 #536870911 1", "BITFIELD w GET u8 4294967295",
    "BITFIELD w GET i64 #144115188075855872", "BITFIELD w OVERFLOW WRAP INCRBY u1 0 -3 GET u1 0",
    "BITFIELD w INCRBY u63 0 -1", "BITFIELD w OVERFLOW SAT INCRBY u63 0 -1",
    "BITFIELD w OVERFLOW SAT INCRBY u63 0 9223372036854775807 INCRBY u63 0 9223372036854775807",
])


@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps):
    diff_case(server, oracle, steps)


@pytest.mark.parametrize("steps", [s for _, s in CASES[:2]], ids=[n for n, _ in CASES[:2]])
def test_case_resp3(server, oracle, steps):
    diff_case(server, oracle, steps, resp3=True)


def bits_gen(rng):
    """Random bitmap traffic over three small keys (and a few other shapes), each write
    followed by a GET so every byte is compared."""
    keys = ["b1", "b2", "b3"]
    k = rng.choice(keys)
    r = rng.random()

    def idx(n):
        return str(rng.randint(-n, n))

    def ftype():
        return rng.choice("iu") + str(rng.randint(1, 64) if rng.random() < 0.9 else rng.choice([0, 65]))

    def foff():
        return ("#" if rng.random() < 0.3 else "") + str(rng.randint(0, 40))

    if r < 0.2:
        return [("setbit", k, str(rng.randint(0, 120)), str(rng.randint(0, 1))), ("get", k)]
    if r < 0.28:
        return [("getbit", k, str(rng.randint(0, 130)))]
    if r < 0.4:
        unit = rng.choice([(), ("byte",), ("bit",), ("BIT",)])
        return [("bitcount", k) + ((idx(20), idx(20)) + unit if rng.random() < 0.8 else ())]
    if r < 0.52:
        extra = rng.choice([(), (idx(20),), (idx(20), idx(20)), (idx(130), idx(130), "bit")])
        return [("bitpos", k, str(rng.randint(0, 1))) + extra]
    if r < 0.62:
        op = rng.choice(["and", "or", "xor", "not"])
        srcs = (rng.choice(keys + ["nokey"]),) if op == "not" else tuple(
            rng.choice(keys + ["nokey"]) for _ in range(rng.randint(1, 3)))
        return [("bitop", op, k) + srcs, ("get", k)]
    if r < 0.9:
        ops = ()
        for _ in range(rng.randint(1, 4)):
            q = rng.random()
            if q < 0.2:
                ops += ("overflow", rng.choice(["wrap", "sat", "fail"]))
            elif q < 0.5:
                ops += ("get", ftype(), foff())
            else:
                val = rng.choice([rng.randint(-300, 300), rng.randint(-2 ** 63, 2 ** 63 - 1), 2 ** 63 - 1, -2 ** 63])
                ops += (rng.choice(["set", "incrby"]), ftype(), foff(), str(val))
        cmd = "bitfield_ro" if rng.random() < 0.1 else "bitfield"
        return [(cmd, k) + ops, ("get", k)]
    if r < 0.95:
        return [("set", k, rng.choice(["", "123", "abc", "\xff", "-7"]))]
    return [("del", k)]


@pytest.mark.parametrize("seed", range(4))
def test_random(server, oracle, seed):
    diff_random(server, oracle, seed, 1500, bits_gen)


def test_random_resp3(server, oracle):
    diff_random(server, oracle, 99, 500, bits_gen, resp3=True)


def test_keyspace_stats(server, oracle):
    """keyspace_hits/misses as Redis counts them: reads (GETBIT, BITCOUNT, BITPOS, BITOP's
    sources, BITFIELD of GETs only, PFCOUNT of many keys, PFMERGE's sources) count, the
    write paths (SETBIT, BITFIELD with a write, PFADD) do not; PFCOUNT of one key counts."""
    cmds = ["SETBIT a 1 1", "SETBIT b 1 1", "GETBIT a 1", "GETBIT nokey 1", "BITCOUNT a", "BITCOUNT nokey",
            "BITPOS a 1", "BITPOS nokey 1", "BITOP OR d a nokey", "BITFIELD a GET u8 0", "BITFIELD nokey GET u8 0",
            "BITFIELD a SET u8 0 1", "BITFIELD_RO a GET u8 0", "PFADD h x", "PFCOUNT h", "PFCOUNT nokey",
            "PFCOUNT h nokey", "PFMERGE m h nokey"]
    stats = []
    for s in (server, oracle):
        with s.conn() as c:
            c.call("FLUSHALL")
            c.call("CONFIG", "RESETSTAT")
            got = []
            for cmd in cmds:
                c.call(*cmd.split())
                info = c.call("INFO", "stats").decode()
                got.append((cmd,) + tuple(int(line.split(":")[1]) for line in info.split("\r\n")
                                          if line.startswith(("keyspace_hits:", "keyspace_misses:"))))
            stats.append(got)
    eq(stats[0], stats[1], "keyspace hits and misses after each command")
