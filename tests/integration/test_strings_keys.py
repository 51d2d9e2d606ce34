#!/usr/bin/python3
"""test_strings_keys.py: differential test of the string and keyspace commands.

Starts RESPITE_SERVER (respite-server) and redis-server on free ports, sends the same
raw RESP command sequences to both and asserts byte-identical replies (or, for replies
that legitimately differ, equal after a normalisation: sorted arrays, TTLs within a
tolerance, a whole SCAN iteration compared as a set). Prints "N passed, M failed" and
exits non-zero on failure.
"""
import os
import shutil
import socket
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Conn:
    """A raw RESP connection: encode commands, return each reply's exact bytes."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def send(self, args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def _fill(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i + 2], self.buf[i + 2:]
        return line

    def _n(self, n):
        while len(self.buf) < n:
            self._fill()
        r, self.buf = self.buf[:n], self.buf[n:]
        return r

    def read_raw(self):
        line = self._line()
        t = line[:1]
        if t == b"$":
            n = int(line[1:-2])
            return line + (self._n(n + 2) if n >= 0 else b"")
        if t in (b"*", b"%", b"~", b">"):
            n = int(line[1:-2])
            if t == b"%":
                n *= 2
            return line + b"".join(self.read_raw() for _ in range(max(n, 0)))
        return line

    def raw(self, *args):
        self.send(args)
        return self.read_raw()


def parse(raw):
    """Parse one raw reply into Python values (bytes, int, list, None, ('err', text))."""
    def go(b, i):
        j = b.index(b"\r\n", i)
        t, body = b[i:i + 1], b[i + 1:j]
        i = j + 2
        if t == b"+":
            return body, i
        if t == b"-":
            return ("err", body), i
        if t == b":":
            return int(body), i
        if t == b"$":
            n = int(body)
            if n < 0:
                return None, i
            return b[i:i + n], i + n + 2
        if t == b"*":
            n = int(body)
            if n < 0:
                return None, i
            out = []
            for _ in range(n):
                v, i = go(b, i)
                out.append(v)
            return out, i
        raise ValueError(b)
    return go(raw, 0)[0]


# ---- the cases: (name, [commands]); a command is a tuple of args, optionally prefixed
# by a mode string: "sorted" (compare the array sorted), "approx:N" (integers within N),
# "sleep:MS" (pause, no command), "scanall" (iterate a whole SCAN with the given extra
# options, compare the key sets), "nocheck" (send to both, compare nothing).

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


def run_watch_cases(ports):
    """Returns mismatch descriptions for WATCH_CASES."""
    results = []
    for port in ports:
        res = []
        for before, between in WATCH_CASES:
            a, b = Conn(port), Conn(port)
            a.raw("flushall")
            for cmd in before:
                a.raw(*cmd)
            a.raw("watch", "k")
            a.raw("multi")
            a.raw("ping")
            for cmd in between:
                b.raw(*cmd)
            res.append(a.raw("exec"))
            a.s.close()
            b.s.close()
        results.append(res)
    return ["WATCH %r then %r: respite %r redis %r" % (c[0], c[1], x, y)
            for c, x, y in zip(WATCH_CASES, results[0], results[1]) if x != y]


def run_case(conns, cmds):
    """Run one case on both servers; returns a list of mismatch descriptions."""
    bad = []
    for c in conns:
        c.raw("flushall")
        c.raw("select", "0")
    for cmd in cmds:
        mode = "exact"
        if cmd and isinstance(cmd[0], str) and (cmd[0] in ("sorted", "scanall", "nocheck")
                                                 or cmd[0].startswith(("approx:", "sleep:"))):
            mode, cmd = cmd[0], cmd[1:]
        if mode.startswith("sleep:"):
            time.sleep(int(mode[6:]) / 1000.0)
            continue
        if mode == "scanall":
            sets = []
            for c in conns:
                cursor, seen, steps = b"0", [], 0
                while True:
                    r = parse(c.raw("scan", cursor, *cmd))
                    if isinstance(r, tuple):
                        seen = r
                        break
                    cursor, keys = r
                    seen.extend(keys)
                    steps += 1
                    if cursor == b"0" or steps > 100000:
                        break
                sets.append(seen if isinstance(seen, tuple) else sorted(set(seen)))
            if sets[0] != sets[1]:
                bad.append("SCAN %r: respite %r redis %r" % (cmd, sets[0][:20], sets[1][:20]))
            continue
        replies = [c.raw(*cmd) for c in conns]
        if mode == "nocheck":
            continue
        a, b = replies
        if mode == "sorted":
            pa, pb = parse(a), parse(b)
            ok = isinstance(pa, list) and isinstance(pb, list) and sorted(pa) == sorted(pb)
            ok = ok or a == b
        elif mode.startswith("approx:"):
            pa, pb = parse(a), parse(b)
            ok = isinstance(pa, int) and isinstance(pb, int) and abs(pa - pb) <= int(mode[7:])
        else:
            ok = a == b
        if not ok:
            bad.append("%r: respite %r redis %r" % (cmd, a[:200], b[:200]))
    return bad


def start(argv, port):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            if p.poll() is not None:
                raise RuntimeError("%s exited with %s" % (argv[0], p.returncode))
            time.sleep(0.05)
    p.kill()
    raise RuntimeError("%s did not start" % argv[0])


def main():
    respite = os.environ.get("RESPITE_SERVER")
    redis = shutil.which("redis-server")
    if not respite or not redis:
        print("RESPITE_SERVER and redis-server are needed")
        print("0 passed, 1 failed")
        return 1
    p1, p2 = free_port(), free_port()
    procs = []
    try:
        procs.append(start([respite, "--port", str(p1)], p1))
        procs.append(start([redis, "--port", str(p2), "--save", "", "--appendonly", "no"], p2))
        conns = [Conn(p1), Conn(p2)]
        only = sys.argv[1:]
        passed = failed = 0
        for name, cmds in CASES:
            if only and not any(o in name for o in only):
                continue
            try:
                bad = run_case(conns, cmds)
            except Exception as e:  # a crash or a protocol error fails the case
                bad = ["exception: %r" % (e,)]
                conns = [Conn(p1), Conn(p2)] if all(p.poll() is None for p in procs) else conns
            if bad:
                failed += 1
                print("FAIL %s" % name)
                for b in bad:
                    print("    " + b)
            else:
                passed += 1
                print("ok   %s" % name)
        if not only or any(o in "watch" for o in only):
            bad = run_watch_cases([p1, p2])
            if bad:
                failed += 1
                print("FAIL watch")
                for b in bad:
                    print("    " + b)
            else:
                passed += 1
                print("ok   watch")
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    finally:
        for p in procs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    sys.exit(main())
