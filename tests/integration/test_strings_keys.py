"""test_strings_keys.py: differential test of the string and keyspace commands.

The server under test and redis-server (the fixtures of conftest.py) receive the same
raw RESP command sequences and must give byte-identical replies (or, for replies that
legitimately differ, equal after a normalisation: sorted arrays, TTLs within a
tolerance, a whole SCAN iteration compared as a set).
"""
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import diff_case  # noqa: E402

# ---- the cases: (name, steps) in the case format of harness.py (see conftest.py); a
# step may start with a mode word: "sorted" (compare the array sorted), "approx:N"
# (integers within N), "sleep:MS" (pause, no command), "scanall" (iterate a whole SCAN
# with the given extra options, compare the key sets), "nocheck" (compare nothing).

NOW = int(time.time())
FUTURE_S = NOW + 100000
FUTURE_MS = FUTURE_S * 1000 + 123
PAST_S = NOW - 1000

CASES = [
    ("get/set basic", [
        ("get", "k"), ("set", "k", "v"), ("get", "k"), ("set", "k", ""), ("get", "k"),
        ("set", "n", "123"), ("get", "n"), ("set", "n", "-0"), ("get", "n"),
        ("set", "k", "a\r\nb\x00c"), ("get", "k"), ("strlen", "k"),
        ("set", "k"), ("get",), ("get", "a", "b"),
    ]),
    ("set options", [
        ("set", "k", "v", "nx"), ("set", "k", "v2", "nx"), ("get", "k"),
        ("set", "k", "v3", "xx"), ("get", "k"), ("set", "x", "v", "xx"), ("exists", "x"),
        ("set", "k", "v", "nx", "xx"), ("set", "k", "v", "xx", "nx"),
        ("set", "k", "v", "NX", "nx"), ("set", "k", "v", "GET", "get"),
        ("set", "k", "v", "ex"), ("set", "k", "v", "ex", "10", "px", "10"),
        ("set", "k", "v", "ex", "10", "ex", "20"), ("ttl", "k"),
        ("set", "k", "v", "keepttl", "ex", "10"), ("set", "k", "v", "ex", "10", "keepttl"),
        ("set", "k", "v", "persist"), ("set", "k", "v", "foo"), ("set", "k", "v", "foo", "ex", "abc"),
        ("set", "k", "v", "ex", "abc", "foo"), ("set", "k", "v", "ex", "abc"),
        ("set", "k", "v", "ex", "0"), ("set", "k", "v", "ex", "-1"), ("set", "k", "v", "px", "0"),
        ("set", "k", "v", "ex", "9223372036854775807"), ("set", "k", "v", "ex", "9223372036854775"),
        ("set", "k", "v", "px", "9223372036854775807"), ("set", "k", "v", "exat", "9223372036854775807"),
        ("set", "k", "v", "exat", "9223372036854775"), ("set", "k", "v", "pxat", "9223372036854775807"),
        ("set", "k", "v", "ex", "9223372036854"), ("ttl", "k"),
        ("set", "k", "v", "exat", FUTURE_S), ("expiretime", "k"), ("pexpiretime", "k"),
        ("set", "k", "v", "pxat", FUTURE_MS), ("pexpiretime", "k"), ("expiretime", "k"),
        ("set", "k", "v2", "keepttl"), ("pexpiretime", "k"), ("get", "k"),
        ("set", "k", "v3"), ("ttl", "k"),
        ("set", "k", "v", "px", "100000"), ("approx:50", "pttl", "k"),
        ("set", "k", "v", "exat", PAST_S), ("get", "k"), ("exists", "k"),
        ("set", "k", "v", "pxat", "1"), ("get", "k"),
        ("set", "k", "v", "Ex", "100", "Nx"), ("set", "k", "v", "xX", "pX", "100000", "geT"),
    ]),
    ("set get", [
        ("set", "k", "v", "get"), ("set", "k", "v2", "get"), ("get", "k"),
        ("set", "k", "v3", "nx", "get"), ("get", "k"), ("set", "nk", "v", "nx", "get"), ("get", "nk"),
        ("set", "nk2", "v", "xx", "get"), ("exists", "nk2"),
        ("xadd", "h", "1-1", "a", "1"), ("set", "h", "v", "get"), ("type", "h"),
        ("set", "h", "v", "get", "ex", "0"), ("set", "h", "v", "get", "foo"), ("set", "h", "v"),
        ("type", "h"), ("set", "n", "42"), ("set", "n", "x", "get"),
    ]),
    ("setex psetex setnx", [
        ("setex", "k", "100", "v"), ("ttl", "k"), ("get", "k"),
        ("setex", "k", "0", "v"), ("setex", "k", "-5", "v"), ("setex", "k", "abc", "v"),
        ("setex", "k", "9223372036854775807", "v"), ("psetex", "k", "9223372036854775807", "v"),
        ("psetex", "k", "100000", "v"), ("approx:50", "pttl", "k"), ("psetex", "k", "-5", "v"),
        ("psetex", "k", "0", "v"), ("setex", "k", "10"), ("setnx", "k", "x"), ("setnx", "k2", "x"),
        ("get", "k2"), ("ttl", "k2"), ("setnx", "k2"),
    ]),
    ("getset getdel", [
        ("getset", "k", "v"), ("getset", "k", "v2"), ("get", "k"),
        ("setex", "k", "100", "v"), ("getset", "k", "x"), ("ttl", "k"),
        ("xadd", "l", "1-1", "a", "x"), ("getset", "l", "x"), ("getdel", "l"), ("type", "l"),
        ("getdel", "k"), ("getdel", "k"), ("exists", "k"), ("set", "n", "10"), ("getdel", "n"),
    ]),
    ("getex", [
        ("getex", "nokey"), ("getex", "nokey", "ex", "0"), ("getex", "nokey", "foo"),
        ("set", "k", "v"), ("getex", "k"), ("ttl", "k"),
        ("getex", "k", "ex", "100"), ("ttl", "k"), ("getex", "k", "persist"), ("ttl", "k"),
        ("getex", "k", "px", "100000"), ("approx:50", "pttl", "k"),
        ("getex", "k", "exat", FUTURE_S), ("expiretime", "k"),
        ("getex", "k", "pxat", FUTURE_MS), ("pexpiretime", "k"),
        ("getex", "k", "persist", "ex", "10"), ("getex", "k", "ex", "10", "persist"),
        ("getex", "k", "nx"), ("getex", "k", "keepttl"), ("getex", "k", "get"), ("getex", "k", "ex"),
        ("getex", "k", "ex", "0"), ("getex", "k", "ex", "abc"), ("getex", "k", "ex", "9223372036854775807"),
        ("getex", "k", "persist", "persist"), ("getex", "k", "ex", "10", "ex", "100"), ("ttl", "k"),
        ("getex", "k", "exat", "1"), ("exists", "k"),
        ("set", "k", "v"), ("getex", "k", "pxat", PAST_S * 1000), ("get", "k"),
        ("xadd", "h", "1-1", "a", "1"), ("getex", "h"), ("getex", "h", "ex", "0"), ("getex", "h", "foo"),
        ("set", "n", "77"), ("getex", "n", "ex", "100"), ("get", "n"),
    ]),
    ("mget mset msetnx", [
        ("mset", "a", "1", "b", "2"), ("mget", "a", "b", "c"), ("mset", "a"), ("mset", "a", "1", "b"),
        ("xadd", "h", "1-1", "f", "v"), ("mget", "a", "h", "b", "a"), ("mget",),
        ("setex", "a", "100", "x"), ("mset", "a", "3"), ("ttl", "a"),
        ("msetnx", "a", "1", "z", "2"), ("exists", "z"), ("msetnx", "y", "1", "z", "2"), ("mget", "y", "z"),
        ("msetnx", "a", "1", "b"), ("msetnx", "q", "1", "q", "2"), ("get", "q"),
    ]),
    ("append strlen", [
        ("append", "k", "hello"), ("append", "k", " world"), ("get", "k"), ("strlen", "k"),
        ("append", "k", ""), ("append", "new", ""), ("exists", "new"),
        ("set", "n", "12"), ("append", "n", "34"), ("get", "n"), ("incr", "n"), ("append", "n", "x"),
        ("incr", "n"), ("strlen", "nokey"), ("xadd", "h", "1-1", "a", "1"), ("strlen", "h"), ("append", "h", "x"),
        ("set", "i", "-123"), ("strlen", "i"), ("setex", "t", "100", "a"), ("append", "t", "b"), ("ttl", "t"),
    ]),
    ("getrange substr", [
        ("set", "k", "Hello World"), ("getrange", "k", "0", "4"), ("getrange", "k", "-5", "-1"),
        ("getrange", "k", "0", "-1"), ("getrange", "k", "5", "3"), ("getrange", "k", "-1", "-5"),
        ("getrange", "k", "-100", "-5"), ("getrange", "k", "-100", "100"), ("getrange", "k", "100", "200"),
        ("getrange", "k", "0", "0"), ("getrange", "k", "10", "10"), ("getrange", "k", "11", "11"),
        ("getrange", "k", "-9223372036854775808", "9223372036854775807"),
        ("getrange", "k", "a", "1"), ("getrange", "k", "1", "b"), ("getrange", "nokey", "0", "-1"),
        ("getrange", "nokey", "a", "1"), ("set", "n", "12345"), ("getrange", "n", "1", "-2"),
        ("substr", "k", "0", "4"), ("set", "e", ""), ("getrange", "e", "0", "-1"), ("getrange", "e", "-1", "0"),
        ("xadd", "h", "1-1", "a", "1"), ("getrange", "h", "0", "1"), ("getrange", "h", "x", "1"),
    ]),
    ("setrange", [
        ("setrange", "k", "0", "abc"), ("get", "k"), ("setrange", "k", "5", "xy"), ("get", "k"),
        ("setrange", "k", "1", "Z"), ("get", "k"), ("setrange", "k", "1", ""), ("setrange", "nk", "5", ""),
        ("exists", "nk"), ("setrange", "nk", "3", "a"), ("get", "nk"),
        ("setrange", "k", "-1", "x"), ("setrange", "k", "abc", "x"), ("setrange", "k", "536870912", "x"),
        ("setrange", "k", "536870911", "xy"), ("setrange", "nk2", "536870912", ""), ("setrange", "nk2", "9223372036854775807", "x"),
        ("set", "n", "123"), ("setrange", "n", "1", "9"), ("get", "n"), ("incr", "n"),
        ("xadd", "h", "1-1", "a", "1"), ("setrange", "h", "0", "x"), ("setrange", "h", "-1", "x"), ("setrange", "h", "0", ""),
        ("setex", "t", "100", "abc"), ("setrange", "t", "1", "x"), ("ttl", "t"),
    ]),
    ("incr decr", [
        ("incr", "n"), ("incr", "n"), ("decr", "n"), ("decr", "m"), ("incrby", "n", "10"), ("decrby", "n", "3"),
        ("incrby", "n", "abc"), ("incrby", "n", ""), ("incrby", "n", " 1"), ("incrby", "n", "+1"), ("incrby", "n", "01"),
        ("set", "n", "9223372036854775807"), ("incr", "n"), ("incrby", "n", "0"), ("decrby", "n", "-1"),
        ("set", "n", "-9223372036854775808"), ("decr", "n"), ("incrby", "n", "-1"), ("decrby", "n", "1"),
        ("decrby", "x", "-9223372036854775808"), ("decrby", "x", "9223372036854775807"),
        ("incrby", "x", "9223372036854775808"),
        ("set", "s", "abc"), ("incr", "s"), ("set", "s", " 1"), ("incr", "s"), ("set", "s", "1.5"), ("incr", "s"),
        ("set", "s", "007"), ("incr", "s"), ("set", "s", ""), ("incr", "s"),
        ("xadd", "h", "1-1", "a", "1"), ("incr", "h"), ("decrby", "h", "x"),
        ("setex", "t", "100", "5"), ("incr", "t"), ("ttl", "t"), ("get", "t"),
        ("set", "big", "99999999999999999999"), ("incr", "big"),
    ]),
    ("incrbyfloat", [
        ("incrbyfloat", "f", "1.5"), ("incrbyfloat", "f", "1.5"), ("get", "f"), ("incrbyfloat", "f", "-3"),
        ("get", "f"), ("incrbyfloat", "f", "0.1"), ("incrbyfloat", "f", "5.0e3"), ("incrbyfloat", "f", "1e400"),
        ("incrbyfloat", "g", "inf"), ("incrbyfloat", "g", "-inf"), ("incrbyfloat", "g", "nan"), ("exists", "g"),
        ("incrbyfloat", "g", "abc"), ("incrbyfloat", "g", " 1"), ("incrbyfloat", "g", "1 "), ("incrbyfloat", "g", ""),
        ("incrbyfloat", "g", "0x10"), ("incrbyfloat", "g", "1e2"), ("incrbyfloat", "g", "-0"),
        ("set", "s", "abc"), ("incrbyfloat", "s", "1"), ("incrbyfloat", "s", "abc"),
        ("set", "n", "10"), ("incrbyfloat", "n", "0.5"), ("incrbyfloat", "n", "-0.5"), ("incr", "n"),
        ("set", "m", "9223372036854775807"), ("incrbyfloat", "m", "1"),
        ("xadd", "h", "1-1", "a", "1"), ("incrbyfloat", "h", "1"),
        ("setex", "t", "100", "1"), ("incrbyfloat", "t", "1.25"), ("ttl", "t"),
        ("set", "z", "1.0e2"), ("incrbyfloat", "z", "0"),
        ("incrbyfloat", "w", "3.0000000000000000001"), ("incrbyfloat", "w2", "-1.1e-5"),
    ]),
    ("lcs", [
        ("mset", "key1", "ohmytext", "key2", "mynewtext", "x", "abcabcabcxyzabc", "y", "bcaxyzaabcbc", "n", "12345"),
        ("lcs", "key1", "key2"), ("lcs", "key1", "key2", "len"), ("lcs", "key1", "key2", "idx"),
        ("lcs", "key1", "key2", "idx", "minmatchlen", "4"), ("lcs", "key1", "key2", "idx", "minmatchlen", "4", "withmatchlen"),
        ("lcs", "key1", "key2", "idx", "len"), ("lcs", "key1", "key2", "len", "idx"), ("lcs", "key1", "key2", "foo"),
        ("lcs", "key1", "key2", "minmatchlen"), ("lcs", "key1", "key2", "minmatchlen", "abc"),
        ("lcs", "key1", "key2", "minmatchlen", "-5", "idx", "withmatchlen"), ("lcs", "key1", "nokey"),
        ("lcs", "nokey", "nokey2", "idx"), ("lcs", "nokey", "nokey2", "len"), ("lcs", "key1", "key1", "idx", "withmatchlen"),
        ("lcs", "x", "y", "idx", "withmatchlen"), ("lcs", "y", "x", "idx", "minmatchlen", "2"), ("lcs", "x", "y"),
        ("lcs", "n", "x"), ("lcs", "x", "n", "idx"), ("xadd", "st", "1-1", "a", "b"), ("lcs", "key1", "st"),
        ("lcs", "st", "key1", "foo"), ("lcs", "key1"),
    ]),
    ("del exists type touch", [
        ("mset", "a", "1", "b", "2"), ("exists", "a", "a", "b", "c"), ("touch", "a", "c", "b"),
        ("del", "a", "a", "c"), ("exists", "a"), ("unlink", "b", "b"), ("del", "nokey"),
        ("set", "s", "x"), ("type", "s"), ("type", "nokey"), ("xadd", "h", "1-1", "a", "1"), ("type", "h"),
        ("xadd", "l", "1-1", "a", "x"), ("type", "l"), ("xadd", "st", "1-1", "f", "v"), ("type", "st"),
        ("del", "s", "h", "l", "st"), ("dbsize",),
    ]),
    ("expire family", [
        ("set", "k", "v"), ("expire", "k", "100"), ("ttl", "k"), ("expire", "k", "100", "nx"), ("expire", "k", "200", "xx"),
        ("ttl", "k"), ("expire", "k", "50", "gt"), ("expire", "k", "300", "gt"), ("ttl", "k"),
        ("expire", "k", "400", "lt"), ("expire", "k", "150", "lt"), ("ttl", "k"),
        ("persist", "k"), ("persist", "k"), ("ttl", "k"), ("expire", "k", "100", "xx"), ("expire", "k", "100", "gt"),
        ("expire", "k", "100", "lt"), ("ttl", "k"), ("persist", "k"), ("expire", "k", "100", "nx"), ("ttl", "k"),
        ("expire", "k", "10", "nx", "xx"), ("expire", "k", "10", "gt", "lt"), ("expire", "k", "10", "nx", "gt"),
        ("expire", "k", "10", "nx", "lt"), ("expire", "k", "10", "xx", "gt"), ("expire", "k", "10", "xx", "lt", "XX"),
        ("ttl", "k"), ("expire", "k", "10", "foo"), ("expire", "k", "abc", "foo"), ("expire", "k", "abc", "nx", "xx"),
        ("expire", "k", "10", "gt", "foo", "lt"), ("expire", "k", "abc"), ("expire", "k", "10 "),
        ("expire", "k", "9223372036854775807"), ("expire", "k", "-9223372036854775807"), ("expire", "k", "-9223372036854775"),
        ("pexpire", "k", "9223372036854775807"), ("expireat", "k", "9223372036854775807"),
        ("expireat", "k", "9223372036854775"), ("expiretime", "k"), ("pexpiretime", "k"),
        ("pexpireat", "k", "9223372036854775807"), ("pexpiretime", "k"), ("ttl", "k"),
        ("expire", "nokey", "9223372036854775807"), ("expire", "nokey", "100"), ("expire", "nokey", "10", "foo"),
        ("pexpire", "k", "100000"), ("approx:50", "pttl", "k"), ("expireat", "k", FUTURE_S), ("expiretime", "k"),
        ("pexpireat", "k", FUTURE_MS), ("pexpiretime", "k"), ("expiretime", "k"),
        ("expire", "k", "0"), ("exists", "k"), ("set", "k", "v"), ("expire", "k", "-1"), ("get", "k"),
        ("set", "k", "v"), ("expireat", "k", PAST_S), ("exists", "k"),
        ("set", "k", "v"), ("pexpireat", "k", "0"), ("exists", "k"),
        ("set", "k", "v"), ("expire", "k", "-5", "lt"), ("exists", "k"),
        ("set", "k", "v"), ("expire", "k", "100"), ("expire", "k", "-5", "gt"), ("exists", "k"),
        ("expire", "k", "-5", "lt"), ("exists", "k"),
        ("set", "k", "v"), ("pexpire", "k", "30"), ("sleep:80",), ("get", "k"), ("ttl", "k"), ("pttl", "k"),
        ("ttl", "nokey"), ("pttl", "nokey"), ("expiretime", "nokey"), ("pexpiretime", "nokey"),
        ("set", "k", "v"), ("expiretime", "k"), ("pexpiretime", "k"), ("persist", "nokey"),
        ("setex", "r", "100", "v"), ("ttl", "r"), ("pexpire", "r", "99800"), ("ttl", "r"),
        ("pexpire", "r", "99499"), ("ttl", "r"),
    ]),
    ("keys", [
        ("mset", "foo", "1", "foobar", "2", "bar", "3", "f*o", "4", "h?llo", "5", "hello", "6", "hallo", "7"),
        ("sorted", "keys", "*"), ("sorted", "keys", "foo*"), ("sorted", "keys", "f\\*o"), ("sorted", "keys", "h[ae]llo"),
        ("sorted", "keys", "h[^e]llo"), ("sorted", "keys", "h?llo"), ("sorted", "keys", "h\\?llo"), ("sorted", "keys", "*o"),
        ("sorted", "keys", "[a-g]*"), ("keys", "nomatch*"), ("keys", ""),
        ("set", "exp", "v", "px", "20"), ("sleep:60",), ("sorted", "keys", "e*"), ("keys", "a", "b"),
    ]),
    ("scan", [
        ("mset",) + tuple(x for i in range(300) for x in ("key:%d" % i, str(i))),
        ("xadd", "h1", "1-1", "a", "1"), ("xadd", "h2", "1-1", "a", "1"), ("xadd", "list1", "1-1", "x", "y"),
        ("scanall",), ("scanall", "count", "1"), ("scanall", "count", "1000"), ("scanall", "match", "key:1*"),
        ("scanall", "match", "key:1*", "count", "5"), ("scanall", "type", "stream"), ("scanall", "type", "STREAM", "count", "3"),
        ("scanall", "type", "string", "match", "*9"), ("scanall", "type", "hash"), ("scanall", "type", "foo"),
        ("scanall", "match", "*"),
        ("scan", "abc"), ("scan", " 1"), ("scan", "1 "), ("scan", "18446744073709551616"),
        ("scan", "0", "count", "0"), ("scan", "0", "count", "-1"),
        ("scan", "0", "count", "abc"), ("scan", "0", "match"), ("scan", "0", "type"), ("scan", "0", "foo", "bar"),
        ("scan", "0", "count"), ("scan", "abc", "foo"), ("scan", "0", "count", "abc", "foo"),
        ("scan", "0", "foo", "count", "abc"), ("flushdb",), ("scan", "0"), ("scan", "-1"), ("scan", "18446744073709551615"), ("scan", ""), ("scan", "+0"),
    ]),
    ("randomkey dbsize flush", [
        ("randomkey",), ("dbsize",), ("set", "a", "1"), ("randomkey",), ("dbsize",), ("flushdb", "sync"),
        ("dbsize",), ("set", "a", "1"), ("flushdb", "async"), ("dbsize",), ("flushdb", "foo"), ("flushdb", "a", "b"),
        ("flushall", "foo"), ("flushall", "ASYNC"), ("select", "1"), ("set", "b", "1"), ("select", "0"), ("set", "a", "1"),
        ("flushdb",), ("select", "1"), ("dbsize",), ("flushall",), ("dbsize",), ("select", "0"),
    ]),
    ("rename", [
        ("rename", "nokey", "x"), ("rename", "nokey", "nokey"), ("renamenx", "nokey", "x"), ("renamenx", "nokey", "nokey"),
        ("set", "a", "1"), ("rename", "a", "a"), ("renamenx", "a", "a"), ("rename", "a", "b"), ("exists", "a"), ("get", "b"),
        ("set", "c", "3"), ("renamenx", "b", "c"), ("get", "b"), ("renamenx", "b", "d"), ("get", "d"),
        ("expire", "d", "100"), ("rename", "d", "e"), ("ttl", "e"), ("xadd", "h", "1-1", "f", "v"), ("rename", "e", "h"),
        ("type", "h"), ("ttl", "h"), ("set", "x", "v", "px", "20"), ("sleep:60",), ("rename", "x", "y"),
        ("set", "z", "1"), ("set", "w", "v", "px", "20"), ("sleep:60",), ("renamenx", "z", "w"), ("get", "w"),
    ]),
    ("copy", [
        ("set", "a", "1"), ("copy", "a", "b"), ("copy", "a", "b"), ("copy", "a", "b", "replace"), ("copy", "a", "a"),
        ("copy", "a", "a", "db", "1"), ("copy", "a", "a", "db", "0"), ("copy", "a", "b", "db", "16"),
        ("copy", "a", "b", "db", "abc"), ("copy", "a", "b", "db", "99999999999"), ("copy", "a", "b", "foo"),
        ("copy", "a", "b", "db"), ("copy", "nokey", "b"), ("copy", "nokey", "nokey"),
        ("copy", "a", "b", "replace", "replace", "db", "1", "db", "2"), ("select", "2"), ("get", "b"), ("select", "0"),
        ("setex", "t", "100", "v"), ("copy", "t", "t2"), ("ttl", "t2"), ("set", "r", "abc"), ("append", "r", "d"),
        ("copy", "r", "r2"), ("object", "encoding", "r2"), ("get", "r2"), ("set", "e", "abc"), ("copy", "e", "e2"),
        ("object", "encoding", "e2"), ("copy", "a", "e2", "replace"), ("get", "e2"), ("object", "encoding", "e2"),
        ("append", "n", "1"), ("append", "n", "2"), ("copy", "n", "n2"), ("object", "encoding", "n2"),
        ("setex", "tt", "100", "v"), ("copy", "tt", "n2", "replace"), ("ttl", "n2"),
        ("set", "px", "v", "px", "20"), ("sleep:60",), ("copy", "px", "px2"), ("copy", "a", "px"), ("get", "px"),
        ("set", "s", "v"), ("set", "d", "w", "ex", "100"), ("copy", "s", "d", "replace"), ("ttl", "d"), ("copy",), ("copy", "a"),
        ("xadd", "x", "1-1", "a", "1", "b", "2"), ("xadd", "x", "1-2", "a", "3"), ("xadd", "x", "2-1", "c", "4"),
        ("xdel", "x", "1-2"), ("xgroup", "create", "x", "g1", "0"), ("xgroup", "create", "x", "g2", "$"),
        ("xreadgroup", "group", "g1", "alice", "count", "1", "streams", "x", ">"),
        ("xreadgroup", "group", "g1", "bob", "streams", "x", ">"), ("xgroup", "createconsumer", "x", "g2", "dave"),
        ("expire", "x", "1000"), ("copy", "x", "x2", "db", "1"), ("select", "1"), ("xrange", "x2", "-", "+"), ("xlen", "x2"),
        ("xpending", "x2", "g1"), ("ttl", "x2"), ("xadd", "x2", "1-2", "f", "v"), ("xadd", "x2", "3-1", "f", "v"),
        ("xreadgroup", "group", "g2", "dave", "streams", "x2", ">"), ("select", "0"), ("xlen", "x"),
        ("copy", "a", "x", "replace"), ("type", "x"), ("copy", "x2", "a", "db", "0"),
    ]),
    ("select move swapdb", [
        ("select", "99999999999"), ("select", "16"), ("select", "-1"), ("select", "abc"), ("select", "15"), ("select", "0"),
        ("set", "k", "v"), ("move", "k", "16"), ("move", "k", "0"), ("move", "k", "abc"), ("move", "k", "99999999999"),
        ("move", "k", "-1"), ("move", "k", "1"), ("exists", "k"), ("move", "k", "1"), ("select", "1"), ("get", "k"),
        ("set", "j", "1"), ("select", "0"), ("set", "j", "2"), ("move", "j", "1"), ("get", "j"), ("move", "nokey", "1"),
        ("move", "nokey", "0"), ("setex", "t", "100", "v"), ("move", "t", "2"), ("select", "2"), ("ttl", "t"), ("select", "0"),
        ("swapdb", "0", "abc"), ("swapdb", "abc", "0"), ("swapdb", "0", "99999999999"), ("swapdb", "0", "16"),
        ("swapdb", "99", "16"), ("swapdb", "-1", "0"), ("swapdb", "0", "0"), ("dbsize",), ("swapdb", "0", "1"),
        ("dbsize",), ("get", "k"), ("get", "j"), ("swapdb", "1", "0"), ("get", "j"), ("select", "0"),
    ]),
    ("object", [
        ("set", "k", "v"), ("object", "encoding", "k"), ("set", "n", "123"), ("object", "encoding", "n"),
        ("set", "l", "x" * 50), ("object", "encoding", "l"), ("append", "k", "x"), ("object", "encoding", "k"),
        ("object", "encoding", "nokey"), ("object", "refcount", "k"), ("object", "refcount", "nokey"),
        ("object", "refcount", "n"), ("set", "s5", "5"), ("object", "refcount", "s5"), ("set", "s10k", "10000"),
        ("object", "refcount", "s10k"), ("incr", "ic"), ("object", "refcount", "ic"),
        ("object", "freq", "k"), ("object", "freq", "nokey"), ("object", "help"), ("object", "foo"),
        ("object", "encoding"), ("object", "encoding", "a", "b"), ("object",),
        ("setrange", "sr", "0", "12"), ("object", "encoding", "sr"), ("incrbyfloat", "f", "1.5"),
        ("object", "encoding", "f"), ("set", "e", "x" * 44), ("object", "encoding", "e"),
        ("append", "x", "1"), ("object", "encoding", "x"), ("set", "y", "5"), ("append", "y", ""),
        ("object", "encoding", "y"), ("set", "z", "abc"), ("append", "z", ""), ("object", "encoding", "z"),
        ("setrange", "z2", "0", "abc"), ("set", "z3", "abc"), ("setrange", "z3", "9", ""), ("object", "encoding", "z3"), ("append", "x", "2"), ("object", "encoding", "x"),
        ("setrange", "n", "0", "9"), ("object", "encoding", "n"), ("getset", "g", "10"), ("object", "encoding", "g"),
        ("set", "neg", "-0"), ("object", "encoding", "neg"), ("set", "big", "9223372036854775808"),
        ("object", "encoding", "big"), ("incrby", "i", "-9223372036854775807"), ("object", "encoding", "i"),
        ("xadd", "st", "1-1", "f", "v"), ("object", "encoding", "st"),
    ]),
    ("wrong arity", [
        ("get",), ("set", "a"), ("setex", "a", "1"), ("psetex", "a"), ("setnx", "a"), ("getset", "a"), ("getdel",),
        ("getex",), ("mget",), ("mset",), ("msetnx", "a"), ("append", "a"), ("strlen",), ("getrange", "a", "1"),
        ("setrange", "a", "1"), ("incr",), ("decr",), ("incrby", "a"), ("decrby", "a"), ("incrbyfloat", "a"),
        ("del",), ("unlink",), ("exists",), ("type",), ("expire", "a"), ("pexpire", "a"), ("expireat", "a"),
        ("pexpireat", "a"), ("ttl",), ("pttl",), ("expiretime",), ("pexpiretime",), ("persist",), ("keys",),
        ("scan",), ("randomkey", "a"), ("rename", "a"), ("renamenx", "a"), ("dbsize", "a"), ("select",),
        ("move", "a"), ("swapdb", "a"), ("touch",), ("substr", "a", "1"),
    ]),
]


# WATCH k, then another client runs the commands: does EXEC abort? (before, between)
WATCH_CASES = [
    ([("set", "k", "v")], [("set", "k", "v")]),
    ([("set", "k", "v")], [("setnx", "k", "x")]),
    ([("set", "k", "v")], [("set", "k", "x", "nx")]),
    ([], [("set", "k", "x", "xx")]),
    ([("set", "k", "v")], [("expire", "k", "100", "xx")]),
    ([("set", "k", "v")], [("expire", "k", "100")]),
    ([("set", "k", "v")], [("persist", "k")]),
    ([("set", "k", "v", "ex", "100")], [("persist", "k")]),
    ([("set", "k", "v")], [("getex", "k")]),
    ([("set", "k", "v")], [("getex", "k", "persist")]),
    ([("set", "k", "v")], [("getex", "k", "ex", "100")]),
    ([("set", "k", "v")], [("append", "k", "")]),
    ([("set", "k", "v")], [("setrange", "k", "0", "")]),
    ([("set", "k", "v")], [("rename", "k", "k")]),
    ([("set", "k", "v")], [("rename", "k", "j")]),
    ([("set", "j", "v")], [("rename", "j", "k")]),
    ([("set", "k", "v")], [("move", "k", "1")]),
    ([], [("flushdb",)]),
    ([("set", "k", "v")], [("flushdb",)]),
    ([("set", "j", "v")], [("flushdb",)]),
    ([("set", "k", "v")], [("flushall",)]),
    ([], [("flushall",)]),
    ([("set", "k", "v")], [("select", "1"), ("flushdb",), ("select", "0")]),
    ([], [("select", "1"), ("set", "k", "v"), ("select", "0"), ("swapdb", "0", "1")]),
    ([("set", "k", "v")], [("swapdb", "0", "1")]),
    ([], [("swapdb", "0", "1")]),
    ([("set", "j", "v")], [("swapdb", "0", "1")]),
    ([("set", "k", "1")], [("incrby", "k", "0")]),
    ([("set", "k", "v")], [("del", "k")]),
    ([], [("del", "k")]),
    ([("set", "k", "v")], [("getdel", "k")]),
    ([("set", "k", "v")], [("expire", "k", "-1")]),
    ([("set", "k", "v")], [("mset", "k", "v")]),
    ([("set", "k", "v")], [("msetnx", "k", "v")]),
]


def watch_steps(before, between):
    """WATCH k on connection 0 after `before`, MULTI, then `between` on connection 1:
    does EXEC abort?"""
    return ([("@0",) + c for c in before] + [("@0", "watch", "k"), ("@0", "multi"), ("@0", "ping")]
            + [("@1",) + c for c in between] + [("@0", "exec")])


@pytest.mark.parametrize("steps", [steps for _, steps in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps):
    diff_case(server, oracle, steps)


@pytest.mark.parametrize("before,between", WATCH_CASES,
                         ids=["%d-%s" % (i, "+".join(c[0] for c in w[1]))
                              for i, w in enumerate(WATCH_CASES)])
def test_watch(server, oracle, before, between):
    diff_case(server, oracle, watch_steps(before, between))
