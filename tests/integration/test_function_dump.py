"""test_function_dump.py: FUNCTION DUMP and FUNCTION RESTORE against redis-server 7.0.15.

Payloads cross over: one dumped by respite is restored into redis-server and the other
way round, under each policy (APPEND, REPLACE, FLUSH); bad payloads (truncated, bad
CRC, newer version, not a function, a malformed library) and bad arguments get the same
reply bytes from both.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import diff_case, eq  # noqa: E402

LIB_A = "#!lua name=liba\nredis.register_function('fa', function(k, a) return 'a' end)"
LIB_A2 = "#!lua name=liba\nredis.register_function('fa2', function(k, a) return 'a2' end)"
LIB_B = "#!lua name=libb\nredis.register_function('fb', function(k, a) return 'b' end)"
LIB_FA = "#!lua name=libc\nredis.register_function('fa', function(k, a) return 'c' end)"


def crc64(data):
    # Redis's CRC-64 (Jones polynomial, reflected), bit by bit: the tests' own copy
    poly = 0x95AC9329AC4BC9B5
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


def rdb_string(s):
    s = s.encode() if isinstance(s, str) else s
    assert len(s) < 64
    return bytes([len(s)]) + s


def payload(body, version=10):
    head = body + struct.pack("<H", version)
    return head + struct.pack("<Q", crc64(head))


def both(server, oracle):
    return server.conn(), oracle.conn()


def reset(*conns):
    for c in conns:
        eq(c.cmd("FUNCTION", "FLUSH"), b"+OK\r\n", "FUNCTION FLUSH")


def same(cs, co, *args):
    rs, ro = cs.cmd(*args), co.cmd(*args)
    eq(rs, ro, " ".join(a if isinstance(a, str) else repr(a[:40]) for a in args))
    return rs


def bulk(reply):
    head, _, rest = reply.partition(b"\r\n")
    assert head[:1] == b"$", reply
    return rest[:int(head[1:])]


def libs(c):
    out = c.call("FUNCTION", "LIST")
    return sorted(tuple(sorted(f[1] for f in e[5])) + (e[1],) for e in out)


def test_dump_empty(server, oracle):
    cs, co = both(server, oracle)
    reset(cs, co)
    rs = same(cs, co, "FUNCTION", "DUMP")
    eq(bulk(rs), payload(b""), "empty dump is the footer alone")
    eq(same(cs, co, "FUNCTION", "RESTORE", bulk(rs)), b"+OK\r\n", "restore empty")


def test_dump_one_library_bytes(server, oracle):
    cs, co = both(server, oracle)
    reset(cs, co)
    same(cs, co, "FUNCTION", "LOAD", LIB_A)
    d = same(cs, co, "FUNCTION", "DUMP")
    eq(bulk(d)[:1], b"\xf5", "FUNCTION2 opcode")


def test_cross_restore_policies(server, oracle):
    cs, co = both(server, oracle)
    for src, dst in ((cs, co), (co, cs)):
        reset(cs, co)
        src.cmd("FUNCTION", "LOAD", LIB_A)
        src.cmd("FUNCTION", "LOAD", LIB_B)
        p = bulk(src.cmd("FUNCTION", "DUMP"))
        # into an empty server: everything runs there
        eq(dst.cmd("FUNCTION", "RESTORE", p), b"+OK\r\n", "restore")
        eq(dst.cmd("FCALL", "fa", "0"), b"$1\r\na\r\n", "fa")
        eq(dst.cmd("FCALL", "fb", "0"), b"$1\r\nb\r\n", "fb")
        eq(libs(dst), libs(src), "libraries")
        # APPEND (the default and spelled out) over the same libraries fails on the first
        r = dst.cmd("FUNCTION", "RESTORE", p)
        assert r in (b"-ERR Library liba already exists\r\n", b"-ERR Library libb already exists\r\n"), r
        r = dst.cmd("FUNCTION", "RESTORE", p, "append")
        assert r in (b"-ERR Library liba already exists\r\n", b"-ERR Library libb already exists\r\n"), r
        eq(dst.cmd("FUNCTION", "RESTORE", p, "REPLACE"), b"+OK\r\n", "replace")
        eq(libs(dst), libs(src), "libraries after replace")
        # REPLACE keeps the others; a clash with a function left is an error
        dst.cmd("FUNCTION", "FLUSH")
        dst.cmd("FUNCTION", "LOAD", LIB_A2)
        eq(dst.cmd("FUNCTION", "RESTORE", p, "replace"), b"+OK\r\n", "replace liba")
        eq(dst.cmd("FCALL", "fa", "0"), b"$1\r\na\r\n", "fa replaced")
        eq(dst.cmd("FCALL", "fa2", "0")[:5], b"-ERR ", "fa2 gone")
        dst.cmd("FUNCTION", "FLUSH")
        dst.cmd("FUNCTION", "LOAD", LIB_FA)
        for pol in ("APPEND", "REPLACE"):
            eq(dst.cmd("FUNCTION", "RESTORE", p, pol), b"-ERR Function fa already exists\r\n", pol)
        eq(dst.cmd("FCALL", "fa", "0"), b"$1\r\nc\r\n", "failed restore left libc alone")
        eq(dst.cmd("FUNCTION", "RESTORE", p, "flush"), b"+OK\r\n", "flush")
        eq(libs(dst), libs(src), "libraries after flush")


def test_cross_restore_bytes(server, oracle):
    """One library, so the dump's bytes are fixed: both servers dump the same."""
    cs, co = both(server, oracle)
    reset(cs, co)
    same(cs, co, "FUNCTION", "LOAD", LIB_A)
    same(cs, co, "FUNCTION", "LOAD", LIB_B)
    ps, po = bulk(cs.cmd("FUNCTION", "DUMP")), bulk(co.cmd("FUNCTION", "DUMP"))
    reset(cs, co)
    same(cs, co, "FUNCTION", "LOAD", LIB_A)
    same(cs, co, "FUNCTION", "DUMP")
    for p in (ps, po):
        for pol in ("APPEND", "REPLACE", "FLUSH"):
            reset(cs, co)
            same(cs, co, "FUNCTION", "LOAD", LIB_A2)
            same(cs, co, "FUNCTION", "RESTORE", p, pol)
            same(cs, co, "FCALL", "fb", "0")
            same(cs, co, "FCALL", "fa2", "0")


def test_bad_payloads(server, oracle):
    cs, co = both(server, oracle)
    reset(cs, co)
    same(cs, co, "FUNCTION", "LOAD", LIB_A)
    good = bulk(same(cs, co, "FUNCTION", "DUMP"))
    reset(cs, co)
    code = LIB_B.encode()
    fn2 = b"\xf5" + bytes([0x40 | (len(code) >> 8), len(code) & 0xff]) + code
    pre_ga = (b"\xf6" + rdb_string("libp") + rdb_string("LUA") + b"\x01" + rdb_string("desc")
              + rdb_string("redis.register_function('fp', function() return 'p' end)"))
    cases = [
        b"", b"x", b"123456789", good[:-1], good[1:], good[:-10], good[:5] + good[-10:],
        good[:-1] + bytes([good[-1] ^ 1]),                      # bad CRC
        payload(good[:-10], version=11),                         # newer RDB version
        payload(good[:-10], version=9),
        payload(good[:-10], version=0),
        payload(b"\x00" + rdb_string("k") + rdb_string("v")),   # a key, not a function
        payload(b"\xf5"),                                        # opcode, no string
        payload(b"\xf5\x05abc"),                                 # string cut short
        payload(fn2[:-1] + b"\n"),                               # a string past its end
        payload(fn2 + fn2),                                      # the same library twice
        payload(b"\xf5" + rdb_string("#!lua name=x\nreturn 1")),  # registers nothing
        payload(b"\xf5" + rdb_string("#!lua\nreturn 1")),
        payload(b"\xf5" + rdb_string("return 1")),
        payload(b"\xf5" + rdb_string("#!lua name=y\nerror('boom'")),
        payload(b"\xf5" + rdb_string("#!js name=z\n")),
        payload(b"\xf5\xc0\x07"),                                # an integer-encoded string
        payload(pre_ga),                                         # 7.0 release candidates' format
        payload(pre_ga[:12]),
        payload(pre_ga[:-5]),
        payload(b"\xf6" + rdb_string("libq") + rdb_string("LUA") + b"\x00"
                + rdb_string("redis.register_function('fq', function() return 'q' end)")),
        payload(fn2 + b"\xff"),
        payload(fn2) + b"\x00",
    ]
    for p in cases:
        for pol in ((), ("FLUSH",), ("REPLACE",)):
            same(cs, co, "FUNCTION", "RESTORE", p, *pol)
            same(cs, co, "FCALL", "fb", "0")
            same(cs, co, "FCALL", "fp", "0")
            same(cs, co, "FCALL", "fq", "0")
            reset(cs, co)


ARG_CASES = [
    ("policy", ["FUNCTION RESTORE x bogus", "FUNCTION RESTORE x flushx", "FUNCTION RESTORE x APPEND extra",
                "function restore x a b c", "FUNCTION RESTORE", "FUNCTION DUMP x", "FUNCTION RESTORE x",
                "FUNCTION RESTORE x fLuSh"]),
    ("dump_after_flush", ["FUNCTION FLUSH", "FUNCTION DUMP"]),
]


def test_args(server, oracle):
    for _, steps in ARG_CASES:
        diff_case(server, oracle, steps)
