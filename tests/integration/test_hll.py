"""test_hll.py: PFADD, PFCOUNT and PFMERGE differentially against Redis 7.0. The HLL
value itself is compared byte for byte through GET after every change (sparse and
dense encodings, the cached cardinality's bytes), values are moved between the two
servers (GET on one, SET on the other) and keep counting, corrupt values get Redis's
errors, hll-sparse-max-bytes decides promotion, and PFCOUNT's numbers are Redis's.
"""
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Conn, decode, diff_case, diff_random, eq  # noqa: E402

CASES = []


def case(name, steps):
    CASES.append((name, steps))


case("basics", [
    "PFADD h", "GET h", "PFCOUNT h", "GET h", "PFADD h a b c", "GET h", "PFCOUNT h", "GET h",
    "PFADD h a", "PFADD h a d", "PFCOUNT h", "PFCOUNT nokey", "PFCOUNT h nokey", "PFCOUNT nokey nokey2",
    "PFADD h2 x y z a", "PFCOUNT h h2", "PFMERGE m h h2", "GET m", "PFCOUNT m", "PFMERGE m",
    "PFMERGE new", "GET new", "PFMERGE new2 nokey", "GET new2", "PFCOUNT new", "OBJECT ENCODING h",
    "OBJECT ENCODING new", "TYPE h", "PFADD", "PFCOUNT", "PFMERGE", "PFADD h ''",
    ("pfadd", "bin", b"\x00\xff", b"", b"a\r\nb"), "GET bin",
])
case("errors", [
    "SET s notanhll", "PFADD s a", "PFCOUNT s", "PFCOUNT s h", "PFMERGE s", "PFMERGE d s", "EXISTS d",
    "SET i 123", "PFADD i a", "PFCOUNT i", "XADD l 1-1 a b", "PFADD l a", "PFCOUNT l", "PFCOUNT h l",
    "PFMERGE l", "PFMERGE d l", "PFADD h a", "PFMERGE h l",
    ("set", "bad1", b"HYLL\x02\x00\x00\x00" + b"\x00" * 8 + b"\x7f\xff"), "PFADD bad1 a", "PFCOUNT bad1",
    ("set", "bad2", b"HYLL\x00\x00\x00\x00" + b"\x00" * 8 + b"\x00" * 100), "PFCOUNT bad2",
    ("set", "short", b"HYLL\x01\x00"), "PFCOUNT short", "PFADD short a",
    # sparse data covering too few / too many registers
    ("set", "few", b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\x7f\xfe"), "PFCOUNT few",
    "PFADD few a b c", "PFCOUNT few h", "PFMERGE x few", "EXISTS x",
    ("set", "many", b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\x7f\xff\x00"), "PFCOUNT many",
    "PFADD many a", "PFCOUNT many h",
    ("set", "trunc", b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\x7f"), "PFCOUNT trunc",
    "PFADD trunc a", "GET trunc", "PFCOUNT trunc h",
    ("set", "valover", b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\x7f\xfd\xff"),
    "PFCOUNT valover", "PFMERGE y valover", "PFADD valover a",
    ("set", "val32", b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\x7f\xfb\xff"), "PFCOUNT val32",
    "GET val32", "PFADD val32 a b c", "GET val32", "PFMERGE val32 h", "GET val32",
    # a sparse value whose register 0 is 33 can only come from outside: promotion copes
    ("set", "cached", b"HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x7f\xff"), "PFCOUNT cached",
    "PFADD cached a", "PFCOUNT cached",
])
case("dense_promotion", [
    ("config", "set", "hll-sparse-max-bytes", "40"), ("pfadd", "h") + tuple("e%d" % i for i in range(30)),
    "GET h", "STRLEN h", "PFCOUNT h", "GET h", ("pfadd", "h", "new"), "STRLEN h", "PFCOUNT h",
    ("config", "set", "hll-sparse-max-bytes", "3000"), ("pfadd", "s") + tuple("e%d" % i for i in range(30)),
    "PFMERGE h s", "GET h", "PFMERGE s2 s", "GET s2", "PFMERGE s2 h", "STRLEN s2", "GET s2",
    "CONFIG GET hll-sparse-max-bytes", ("config", "set", "hll-sparse-max-bytes", "0"), "PFADD z a",
    "STRLEN z", "PFADD z b", "STRLEN z", ("config", "set", "hll-sparse-max-bytes", "3000"),
])


def big_add(key, n, start=0):
    return ("pfadd", key) + tuple("item:%d" % i for i in range(start, start + n))


case("large", [
    big_add("a", 2000), "STRLEN a", "GET a", "PFCOUNT a", big_add("a", 3000, 2000), "STRLEN a", "GET a",
    "PFCOUNT a", big_add("b", 5000, 4000), "PFCOUNT a b", "PFMERGE c a b", "GET c", "PFCOUNT c",
    big_add("d", 100), "PFMERGE d a", "GET d", "PFCOUNT d", "PFADD a item:1", "PFADD a zzz", "PFCOUNT a",
    "GET a",
])


case("pfdebug", [
    "PFDEBUG ENCODING nokey", "PFADD h a b c d e f g h i j k l", "PFDEBUG ENCODING h", "PFDEBUG DECODE h",
    "PFDEBUG decode h", "PFDEBUG FOO h", "PFDEBUG FOO nokey", "SET s x", "PFDEBUG DECODE s", "PFDEBUG GETREG",
    "PFDEBUG GETREG h x", "PFDEBUG TODENSE h", "PFDEBUG TODENSE h", "PFDEBUG ENCODING h", "PFDEBUG DECODE h",
    "GET h", "PFCOUNT h", "PFADD z", "PFDEBUG DECODE z", "PFADD y a", "PFDEBUG GETREG y", "PFDEBUG ENCODING y",
    "GET y", ("set", "c", b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\x7f\xfe\x83\x7f"),
    "PFDEBUG DECODE c", "PFDEBUG GETREG c", "PFDEBUG TODENSE c", "PFSELFTEST", "PFSELFTEST x",
])
case("very_large", [big_add("v", 20000, i * 20000) for i in range(6)] + ["PFCOUNT v", "GET v"])


def crafted_dense(rng, top):
    """A dense value with random registers 0..top (top up to 63: more than any hash can
    give, but a valid value Redis counts without complaint)."""
    bits = 0
    for i in range(16384):
        bits |= rng.randint(0, top) << (6 * i)
    return b"HYLL\x00\x00\x00\x00" + b"\x00" * 7 + b"\x80" + bits.to_bytes(12288, "little")


def crafted_steps():
    rng = random.Random(5)
    steps = []
    for top in (1, 5, 20, 40, 51, 63):
        steps += [("set", "d", crafted_dense(rng, top)), "PFCOUNT d", "GET d", "PFADD d a b c", "PFCOUNT d",
                  "PFADD s x", "PFCOUNT d s", "PFMERGE s d", "GET s", "PFCOUNT s"]
    # a register at 0 among many high ones: the sigma term; all registers high: tau
    steps += [("set", "z", b"HYLL\x00\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\xff" * 12288), "PFCOUNT z"]
    return steps


case("crafted_dense", crafted_steps())


@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps):
    diff_case(server, oracle, steps)


def test_case_resp3(server, oracle):
    diff_case(server, oracle, CASES[0][1], resp3=True)


def hll_gen(rng):
    """Random PF* traffic over three keys with GETs of the values (byte comparison of
    sparse and dense forms) and an occasional change of the promotion threshold."""
    keys = ["h1", "h2", "h3"]
    k = rng.choice(keys)
    r = rng.random()
    if r < 0.45:
        n = rng.choice([1, 1, 2, 5, 20, 200])
        base = rng.randint(0, 50000)
        return [("pfadd", k) + tuple("v%d" % rng.randint(base, base + n * 3) for _ in range(n)), ("get", k)]
    if r < 0.65:
        return [("pfcount", k), ("get", k)]
    if r < 0.75:
        return [("pfcount",) + tuple(rng.sample(keys, rng.randint(2, 3)))]
    if r < 0.85:
        return [("pfmerge", k) + tuple(rng.sample(keys, rng.randint(0, 3))), ("get", k)]
    if r < 0.9:
        return [("config", "set", "hll-sparse-max-bytes", str(rng.choice([0, 20, 100, 500, 3000])))]
    if r < 0.95:
        return [("del", k)]
    return [("setbit", k, str(rng.randint(0, 200)), "1"), ("pfcount", k)]


@pytest.mark.parametrize("seed", range(3))
def test_random(server, oracle, seed):
    diff_random(server, oracle, seed, 600, hll_gen, setup=("FLUSHALL", "CONFIG SET hll-sparse-max-bytes 3000"))


def test_values_move_between_servers(server, oracle):
    """An HLL made on one server, SET on the other, keeps counting the same there."""
    rng = random.Random(7)
    with server.conn() as r, oracle.conn() as o:
        for c in (r, o):
            c.call("FLUSHALL")
        for n in (10, 3000):
            elems = ["m%d" % rng.randint(0, 10 ** 9) for _ in range(n)]
            o.call("PFADD", "src", *elems)
            r.call("SET", "dst", o.call("GET", "src"))
            more = ["x%d" % i for i in range(n)]
            o.call("PFADD", "src", *more)
            r.call("PFADD", "dst", *more)
            eq(r.call("PFCOUNT", "dst"), o.call("PFCOUNT", "src"), "PFCOUNT after moving to respite")
            eq(r.call("GET", "dst"), o.call("GET", "src"), "value after moving to respite")
            o.call("SET", "back", r.call("GET", "dst"))
            eq(o.call("PFCOUNT", "back"), r.call("PFCOUNT", "dst"), "PFCOUNT after moving to redis")


WATCH_CASES = [
    (["PFADD w a", "PFCOUNT w"], "PFADD w a"), (["PFADD w a", "PFCOUNT w"], "PFADD w b"),
    (["PFADD w a", "PFCOUNT w"], "PFCOUNT w"), (["PFADD w a"], "PFCOUNT w"), (["PFADD w a"], "PFMERGE w"),
    (["PFADD w a"], "PFCOUNT w x"), (["SETBIT w 3 1"], "SETBIT w 3 1"), (["SETBIT w 3 1"], "SETBIT w 3 0"),
    (["SETBIT w 3 1"], "SETBIT w 8 0"), (["SET w 12"], "SETBIT w 0 0"), (["SETBIT w 3 1"], "GETBIT w 3"),
    (["SETBIT w 3 1"], "BITFIELD w GET u8 0"), (["SETBIT w 3 1"], "BITFIELD w SET u8 0 16"),
    (["SETBIT w 3 1"], "BITFIELD w SET u8 0 17"), (["SETBIT w 3 1"], "BITFIELD w INCRBY u8 0 0"),
    (["SETBIT w 3 1"], "BITFIELD w OVERFLOW FAIL INCRBY u4 0 100"), (["SETBIT w 3 1"], "BITFIELD w SET u8 8 0"),
    (["SETBIT w 3 1"], "BITOP NOT w w"), (["SETBIT w 3 1"], "BITCOUNT w"), ([], "BITOP AND w nokey"),
]


@pytest.mark.parametrize("setup,cmd", WATCH_CASES, ids=["%s/%s" % (s[-1] if s else "-", c) for s, c in WATCH_CASES])
def test_watch(server, oracle, setup, cmd):
    """Which commands touch a WATCHed key, as Redis 7.0 signals modified keys: only
    real changes (a SETBIT of a bit already set, a BITFIELD SET of the same value, a
    PFADD that changes no register, a PFCOUNT answered from the cache do not)."""
    diff_case(server, oracle, ["DEL w"] + setup + ["@0 WATCH w", "@1 " + cmd, "@0 MULTI", "@0 PING", "@0 EXEC"])


def test_redis_py(server):
    redis = pytest.importorskip("redis")
    r = redis.Redis(port=server.port)
    r.flushall()
    p = r.pipeline(transaction=False)
    p.pfadd("v", "a", "b", "c").pfcount("v").bitfield("bf").set("u8", 0, 200).incrby("u8", 0, 100).execute()
    p.setbit("flags", 5, 1).bitcount("flags")
    eq(p.execute()[:4], [1, 3, [0, 44], 0], "pipeline replies")
    with r.pipeline(transaction=True) as t:
        t.pfadd("v2", "x").pfmerge("u", "v", "v2").pfcount("u")
        t.bitfield("bf").overflow("FAIL").incrby("u8", 0, 250).get("i8", 0).execute()
        eq(t.execute(), [1, True, 4, [None, 44]], "transaction replies")
    eq(r.getbit("flags", 5), 1, "getbit")


CORRUPT_BODIES = [b"\x7f\xff", b"\x7f\xff\x80", b"\x7f\xff\x00", b"\x7f\xff\x40\x00", b"\x7f\xfe\x80\x80",
                  b"\x7f\xfb\x83", b"\x7f\xfb\x83\x84", b"\x7f\xfb\x03\x84", b"\x7f", b"\x7f\xfd\x83",
                  b"\x7f\xf0", b"\x83\x7f\xfe"]


@pytest.mark.parametrize("body", CORRUPT_BODIES, ids=[b.hex() for b in CORRUPT_BODIES])
def test_corrupt_sparse(server, oracle, body):
    """Sparse bodies that cover too few or too many registers, or end mid-opcode,
    through every path: count, union, merge, add, and promotion (by the byte limit and
    by merging a dense value in)."""
    v = b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + body
    diff_case(server, oracle, [
        ("set", "c", v), "PFADD src a", "PFCOUNT c", "PFCOUNT c src", "PFMERGE m c", "GET m", ("set", "c", v),
        "PFADD c x y", "GET c", "CONFIG SET hll-sparse-max-bytes 0", ("set", "c", v), "PFADD c x y", "STRLEN c",
        "PFCOUNT c", ("set", "c", v), "CONFIG SET hll-sparse-max-bytes 3000", "SET d foo", "DEL d",
        ("pfadd", "d") + tuple("z%d" % i for i in range(2000)), "STRLEN d", "PFMERGE c d", "STRLEN c", "PFCOUNT c"])


def test_random_corruption(server, oracle):
    """Sparse values with random bytes changed, cut or appended: PFCOUNT, PFADD, PFMERGE
    and the bytes left behind are Redis's (its errors where it finds corruption, its
    answers where it does not)."""
    rng = random.Random(11)
    with oracle.conn() as o:
        o.call("FLUSHALL")
        o.call("PFADD", "src", *["e%d" % i for i in range(150)])
        good = o.call("GET", "src")
    steps = []
    for i in range(150):
        v = bytearray(good)
        how = rng.random()
        if how < 0.6:
            for _ in range(rng.randint(1, 3)):
                v[rng.randrange(16, len(v))] = rng.randrange(256)
        elif how < 0.8:
            del v[rng.randrange(17, len(v)):]
        else:
            v += bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        steps += [("set", "c", bytes(v)), "PFCOUNT c", "PFCOUNT c src", ("set", "c", bytes(v)), "PFADD c a b c x y z",
                  "GET c", ("set", "c", bytes(v)), "PFMERGE m c", "GET m", "DEL m"]
    diff_case(server, oracle, steps)
