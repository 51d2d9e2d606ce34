"""test_streams.py: the stream commands, differentially against Redis 7.0, and blocking.

Starts RESPITE_SERVER and Debian's redis-server on free ports, replays the same command
sequences on both (each case after a FLUSHALL) and asserts byte-identical replies. Only
time-dependent fields are normalised, and only in the commands marked for it: the
millisecond part of auto-generated ids, absolute times (seen-time, delivery times),
idle times, and XINFO STREAM's radix-tree-keys/nodes (rax internals). Replies are
re-encoded from a parse tree after normalisation, so the comparison stays byte-exact
everywhere else (RESP2 and RESP3).

Blocking cases run the same scenario on both servers (a second connection, waiting on
INFO clients' blocked_clients, never on a sleep) and compare what the blocked client
gets; timing and FIFO cases run against the server under test. The differential cases
use the case format of harness.py (see conftest.py); "clock", "rax" marks the normalised
ones.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pytest  # noqa: E402
from harness import (Conn, TestFailure, check, diff_case, diff_random, encode, eq,  # noqa: E402
                     normalise_time, wait_until)

@pytest.fixture
def servers(server, oracle):
    """The server under test ("r") and the oracle ("o") by name."""
    return {"r": server, "o": oracle}


STREAM_CASES = []       # (name, steps) in harness's case format, run by test_diff


def case(name, cmds):
    STREAM_CASES.append((name, cmds))


MAX = "18446744073709551615"

# ---------------------------------------------------------------- cases

case("xadd_ids", [
    ("xadd", "s", "1-1", "f", "v"), ("xadd", "s", "1-1", "f", "v"), ("xadd", "s", "1-0", "f", "v"),
    ("xadd", "s", "1-2", "f", "v", "g", "w"), ("xadd", "s", "1", "a", "b"), ("xadd", "s", "2", "a", "b"),
    ("xadd", "s", "2-*", "a", "b"), ("xadd", "s", "3-*", "a", "b"), ("xadd", "s", "1-*", "a", "b"),
    ("xadd", "s", "0-0", "a", "b"), ("xadd", "z", "0-0", "a", "b"), ("exists", "z"),
    ("xadd", "z", "0-*", "a", "b"), ("xadd", "z", "0-*", "a", "b"), ("xadd", "z", "0", "a", "b"),
    ("xadd", "s", "abc", "a", "b"), ("xadd", "s", "-", "a", "b"), ("xadd", "s", "+", "a", "b"),
    ("xadd", "s", "1-x", "a", "b"), ("xadd", "s", "-1", "a", "b"), ("xadd", "s", "5-*-1", "a", "b"),
    ("xadd", "s", "01-05", "a", "b"), ("xadd", "s", "+10-1", "a", "b"), ("xadd", "s", " 11-1", "a", "b"),
    ("xadd", "s", "12-18446744073709551615", "a", "b"), ("xadd", "s", "12-*", "a", "b"),
    ("xadd", "s", "18446744073709551616-1", "a", "b"),
    ("xadd", "s", MAX + "-" + MAX, "a", "b"), ("xadd", "s", "*", "a", "b"),
    ("xadd", "s", MAX + "-*", "a", "b"), ("xlen", "s"),
    ("xadd", "m", MAX + "-*", "a", "b"), ("xadd", "m", MAX + "-*", "a", "b"),
    ("xrange", "s", "-", "+"), ("xlen", "s"), ("xlen", "nokey"),
    ("xadd", "s"), ("xadd", "s", "1-1"), ("xadd", "s", "1-1", "f"), ("xadd", "s", "99-1", "f", "v", "g"),
    ("xadd", "s", "*", "f"), ("xadd", "bin", "1-1", "f\x00\r\n", "", "", "v\x00"),
    ("xrange", "bin", "-", "+"), ("type", "s"), ("type", "nokey"),
])

case("xadd_auto", [
    ("clock", "rax", "xadd", "a", "*", "f", "v"), ("clock", "rax", "xadd", "a", "*", "f", "v", "g", "w"), ("xlen", "a"),
    ("xadd", "b", "99999999999999-5", "f", "v"), ("xadd", "b", "*", "f", "v"), ("xrange", "b", "-", "+"),
    ("clock", "rax", "xadd", "c", "nomkstream", "*", "f", "v"), ("exists", "c"),
    ("clock", "rax", "xadd", "a", "NOMKSTREAM", "*", "f", "v"), ("xlen", "a"),
    ("xadd", "d", "nomkstream", "1-1", "f", "v"), ("exists", "d"),
])

case("xadd_trim", [
    *[("xadd", "s", "%d-1" % i, "f", "v") for i in range(1, 31)],
    ("xadd", "s", "maxlen", "25", "31-1", "f", "v"), ("xlen", "s"), ("xrange", "s", "-", "+", "count", "2"),
    ("xadd", "s", "maxlen", "=", "20", "32-1", "f", "v"), ("xlen", "s"),
    ("xadd", "s", "maxlen", "~", "5", "33-1", "f", "v"), ("xlen", "s"),
    ("xadd", "s", "minid", "30", "34-1", "f", "v"), ("xrange", "s", "-", "+"),
    ("xadd", "s", "minid", "=", "32-1", "35-1", "f", "v"), ("xrange", "s", "-", "+"),
    ("xadd", "s", "minid", "~", "35", "36-1", "f", "v"), ("xlen", "s"),
    ("xadd", "s", "maxlen", "~", "1", "limit", "10", "37-1", "f", "v"), ("xlen", "s"),
    ("xadd", "s", "maxlen", "1", "limit", "10", "38-1", "f", "v"),
    ("xadd", "s", "limit", "10", "38-1", "f", "v"), ("xadd", "s", "limit", "0", "38-1", "f", "v"),
    ("xadd", "s", "maxlen", "~", "1", "limit", "0", "39-1", "f", "v"), ("xlen", "s"),
    ("xadd", "s", "maxlen", "1", "minid", "1", "40-1", "f", "v"),
    ("xadd", "s", "minid", "1", "maxlen", "1", "40-1", "f", "v"),
    ("xadd", "s", "maxlen", "-1", "40-1", "f", "v"), ("xadd", "s", "maxlen", "x", "40-1", "f", "v"),
    ("xadd", "s", "maxlen", "~", "x", "40-1", "f", "v"), ("xadd", "s", "minid", "x", "40-1", "f", "v"),
    ("xadd", "s", "minid", "-", "40-1", "f", "v"), ("xadd", "s", "limit", "-1", "40-1", "f", "v"),
    ("xadd", "s", "maxlen", "~", "1", "limit", "x", "40-1", "f", "v"),
    ("xadd", "s", "MAXLEN", "0", "41-1", "f", "v"), ("xlen", "s"), ("xrange", "s", "-", "+"),
    ("xadd", "s", "maxlen", "2", "nomkstream", "42-1", "f", "v"), ("xlen", "s"),
    ("xadd", "s", "maxlen", "~", "~", "43-1", "f", "v"), ("xadd", "s", "maxlen", "=", "43-1", "f", "v"),
    ("xadd", "s", "foo", "43-1", "f", "v"),
    ("xinfo", "stream", "s"),
])

big = [("xadd", "big", "%d-1" % i, "field", "value%d" % i) for i in range(1, 1001)]
case("trim_approx_blocks", big + [
    ("xtrim", "big", "maxlen", "~", "950"), ("xlen", "big"),
    ("xtrim", "big", "maxlen", "~", "10", "limit", "200"), ("xlen", "big"),
    ("xtrim", "big", "minid", "~", "420"), ("xlen", "big"), ("xrange", "big", "-", "+", "count", "1"),
    ("xtrim", "big", "minid", "~", "1000", "limit", "100"), ("xlen", "big"),
    ("xtrim", "big", "maxlen", "~", "0"), ("xlen", "big"),
    ("clock", "rax", "xinfo", "stream", "big"),
])

case("xtrim", [
    *[("xadd", "s", "%d-1" % i, "f", "v") for i in range(1, 11)],
    ("xtrim", "s", "maxlen", "8"), ("xtrim", "s", "maxlen", "=", "8"), ("xtrim", "s", "MINID", "5"),
    ("xrange", "s", "-", "+"), ("xtrim", "s", "minid", "(5"), ("xtrim", "s", "maxlen", "~", "0"),
    ("xtrim", "s", "maxlen", "~", "0", "limit", "1"), ("xtrim", "s", "maxlen", "0", "limit", "1"),
    ("xtrim", "s", "limit", "1"), ("xtrim", "s", "foo", "1"), ("xtrim", "s", "maxlen"),
    ("xtrim", "s", "maxlen", "1", "foo"), ("xtrim", "s", "maxlen", "-1"),
    ("xtrim", "s", "maxlen", "1", "minid", "1"), ("xtrim", "s", "nomkstream", "maxlen", "1"),
    ("xtrim", "nokey", "maxlen", "1"), ("xtrim", "nokey", "maxlen", "x"),
    ("set", "str", "x"), ("xtrim", "str", "maxlen", "1"), ("xtrim", "str", "maxlen", "x"),
    ("xtrim", "s", "maxlen", "0"), ("xlen", "s"), ("exists", "s"), ("xinfo", "stream", "s"),
])

case("xrange", [
    *[("xadd", "s", "%d-%d" % (i // 3 + 1, i % 3), "f%d" % i, "v%d" % i) for i in range(12)],
    ("xrange", "s", "-", "+"), ("xrevrange", "s", "+", "-"),
    ("xrange", "s", "2", "3"), ("xrange", "s", "2-1", "3-1"), ("xrevrange", "s", "3", "2"),
    ("xrange", "s", "(2-1", "(3-1"), ("xrevrange", "s", "(3-1", "(2-1"),
    ("xrange", "s", "(2", "+"), ("xrange", "s", "-", "(3"),
    ("xrange", "s", "-", "+", "count", "3"), ("xrevrange", "s", "+", "-", "COUNT", "3"),
    ("xrange", "s", "-", "+", "count", "0"), ("xrange", "s", "-", "+", "count", "-5"),
    ("xrevrange", "s", "+", "-", "count", "0"), ("xrange", "nokey", "-", "+", "count", "0"),
    ("xrange", "s", "-", "+", "count", "1", "count", "2"), ("xrange", "s", "-", "+", "count"),
    ("xrange", "s", "-", "+", "foo"), ("xrange", "s", "-", "+", "count", "x"),
    ("xrange", "s", "x", "+"), ("xrange", "s", "-", "x"), ("xrange", "s", "(-", "+"),
    ("xrange", "s", "-", "(+"), ("xrange", "s", "(", "+"), ("xrange", "s", "((1", "+"),
    ("xrange", "s", "(" + MAX + "-" + MAX, "+"), ("xrange", "s", "-", "(0-0"),
    ("xrange", "s", "(0-0", "+", "count", "1"), ("xrange", "s", "-", "(" + MAX + "-" + MAX),
    ("xrange", "s", "4", "2"), ("xrange", "s", "3-5", "3-1"), ("xrange", "nokey", "-", "+"),
    ("xrange", "nokey", "x", "+"), ("xrevrange", "s", "-", "+"), ("xrevrange", "s", "(3", "(2"),
    ("xrange", "s", "1-1", "1-1"), ("xrange", "s", "0", "0"), ("xrange", "s", "-", "-"), ("xrange", "s", "+", "+"),
    ("xrange", "s", "-"), ("set", "str", "x"), ("xrange", "str", "-", "+"), ("xrange", "str", "x", "+"),
    ("xlen", "str"), ("xrevrange", "str", "+", "-"),
])

case("xdel", [
    *[("xadd", "s", "%d-1" % i, "f", "v") for i in range(1, 8)],
    ("xdel", "s", "3-1"), ("xdel", "s", "3-1"), ("xdel", "s", "1-1", "2-1", "9-1"),
    ("xdel", "s", "4-1", "bad"), ("xlen", "s"), ("xdel", "s", "4"), ("xdel", "s", "-"),
    ("xdel", "nokey", "bad"), ("xrange", "s", "-", "+"), ("xinfo", "stream", "s"),
    ("xdel", "s", "5-1", "6-1", "7-1"), ("xlen", "s"), ("exists", "s"), ("xinfo", "stream", "s"),
    ("xadd", "s", "7-1", "f", "v"), ("xadd", "s", "8-1", "f", "v"), ("xinfo", "stream", "s"),
    ("set", "str", "x"), ("xdel", "str", "1-1"), ("xdel", "s"),
])

case("xsetid", [
    ("xsetid", "nokey", "1-1"), ("xadd", "s", "5-1", "f", "v"), ("xsetid", "s", "4-1"),
    ("xsetid", "s", "5-1"), ("xsetid", "s", "10-1"), ("xadd", "s", "9-1", "f", "v"),
    ("clock", "rax", "xadd", "s", "*", "f", "v"), ("xsetid", "s", "x"), ("xsetid", "s", "-"),
    ("xsetid", "s", "20-1", "entriesadded", "1"), ("xsetid", "s", "20-1", "entriesadded", "-1"),
    ("xsetid", "s", "20-1", "entriesadded", "x"), ("xsetid", "s", "20-1", "entriesadded", "100"),
    ("xsetid", "s", "20-1", "maxdeletedid", "21-1"), ("xsetid", "s", "20-1", "maxdeletedid", "x"),
    ("xsetid", "s", "20-1", "maxdeletedid", "15-1"), ("xsetid", "s", "19-1"),
    ("xsetid", "s", "20-1", "foo"), ("xsetid", "s", "20-1", "entriesadded"),
    ("clock", "rax", "xinfo", "stream", "s"), ("xdel", "s", "5-1"), ("xdel", "s", "5-1"),
    ("clock", "rax", "xinfo", "stream", "s"), ("set", "str", "x"), ("xsetid", "str", "1-1"),
    ("xadd", "e", "1-1", "f", "v"), ("xdel", "e", "1-1"), ("xsetid", "e", "0-1"), ("xinfo", "stream", "e"),
])

case("xread", [
    ("xadd", "a", "1-1", "f", "v"), ("xadd", "a", "2-1", "f", "v"), ("xadd", "b", "1-1", "g", "w"),
    ("xread", "streams", "a", "0"), ("xread", "streams", "a", "b", "0", "1-1"),
    ("xread", "count", "1", "streams", "a", "b", "0", "0"), ("xread", "COUNT", "0", "streams", "a", "0"),
    ("xread", "count", "-1", "streams", "a", "0"), ("xread", "streams", "a", "$"),
    ("xread", "streams", "a", "nokey", "0", "0"), ("xread", "streams", "nokey", "0"),
    ("xread", "streams", "a", "2-1"), ("xread", "streams", "a", "b", "2-1", "1-1"),
    ("xread", "streams", "a", "b", "0"), ("xread", "streams", "a"), ("xread", "count", "1", "a", "0"),
    ("xread", "streams", "a", ">"), ("xread", "streams", "a", "x"), ("xread", "streams", "a", "-"),
    ("xread", "streams", "a", "+"), ("xread", "group", "g", "c", "streams", "a", "0"),
    ("xread", "noack", "streams", "a", "0"), ("xread", "count", "x", "streams", "a", "0"),
    ("xread", "block", "x", "streams", "a", "0"), ("xread", "block", "-1", "streams", "a", "0"),
    ("xread", "block", "0", "streams", "a", "0"), ("xread", "block", "100", "streams", "a", "1"),
    ("xread", "foo", "streams", "a", "0"), ("xread", "streams", "a", "a", "0", "1-1"),
    ("xread", "block", "9223372036854775807", "streams", "a", "0"),
    ("set", "str", "x"), ("xread", "streams", "str", "0"), ("xread", "streams", "a", "str", "0", "x"),
    ("xread", "streams", "a", "str", "x", "0"), ("xread", "streams", "a", "1"),
    ("multi",), ("xread", "block", "0", "streams", "a", "$"), ("xread", "block", "10", "streams", "a", "0"),
    ("exec",),
    ("xadd", "a", "3-1", "f", "v"), ("xdel", "a", "3-1"), ("xread", "streams", "a", "2-1"),
    ("xread", "streams", "a", "(1-1"),
])

case("xgroup", [
    ("xgroup", "create", "s", "g", "$"), ("xgroup", "create", "s", "g", "$", "mkstream"),
    ("exists", "s"), ("type", "s"), ("xgroup", "create", "s", "g", "$"),
    ("xadd", "s", "1-1", "f", "v"), ("xadd", "s", "2-1", "f", "v"),
    ("xgroup", "create", "s", "g2", "0"), ("xgroup", "create", "s", "g3", "$"),
    ("xgroup", "create", "s", "g4", "1", "entriesread", "1"),
    ("xgroup", "create", "s", "g5", "0", "entriesread", "-1"),
    ("xgroup", "create", "s", "g6", "0", "entriesread", "-2"),
    ("xgroup", "create", "s", "g6", "0", "entriesread", "x"),
    ("xgroup", "create", "s", "g6", "0", "entriesread"), ("xgroup", "create", "s", "g6", "0", "foo"),
    ("xgroup", "create", "s", "g6", "x"), ("xgroup", "create", "s", "g6", "-"),
    ("xgroup", "create", "s", "g6", "+"), ("xgroup", "create", "s", "g6", "0", "mkstream", "mkstream", "mkstream", "mkstream"),
    ("xgroup", "create", "nokey", "g", "0"), ("xgroup", "create", "nokey", "g", "x", "mkstream"),
    ("exists", "nokey"), ("xgroup", "create", "nokey", "g", "0", "foo"),
    ("xinfo", "groups", "s"),
    ("xgroup", "setid", "s", "g", "0"), ("xgroup", "setid", "s", "g", "1-1", "entriesread", "1"),
    ("xgroup", "setid", "s", "g", "$"), ("xgroup", "setid", "s", "g", "-"), ("xgroup", "setid", "s", "g", "+"),
    ("xgroup", "setid", "s", "g", "x"), ("xgroup", "setid", "s", "g", "0", "foo", "1"),
    ("xgroup", "setid", "s", "g", "0", "entriesread"), ("xgroup", "setid", "s", "g", "0", "entriesread", "-3"),
    ("xgroup", "setid", "s", "nog", "0"), ("xgroup", "setid", "nokey", "g", "0"),
    ("xgroup", "setid", "nokey", "g", "0", "foo", "1"), ("xgroup", "setid", "s", "g", "0", "mkstream"),
    ("xinfo", "groups", "s"),
    ("xgroup", "createconsumer", "s", "g", "c1"), ("xgroup", "createconsumer", "s", "g", "c1"),
    ("xgroup", "createconsumer", "s", "nog", "c1"), ("xgroup", "createconsumer", "nokey", "g", "c1"),
    ("xgroup", "delconsumer", "s", "g", "c1"), ("xgroup", "delconsumer", "s", "g", "c1"),
    ("xgroup", "delconsumer", "s", "nog", "c1"),
    ("xgroup", "destroy", "s", "g3"), ("xgroup", "destroy", "s", "g3"), ("xgroup", "destroy", "nokey", "g"),
    ("xinfo", "groups", "s"),
    ("xgroup", "help"), ("XGROUP", "HELP"), ("xgroup", "help", "x"), ("xgroup",), ("xgroup", "foo"),
    ("xgroup", "foo", "s", "g"), ("xgroup", "create", "s"), ("xgroup", "destroy", "s", "g", "x"),
    ("xgroup", "createconsumer", "s", "g"), ("xgroup", "delconsumer", "s", "g", "c", "d"),
    ("set", "str", "x"), ("xgroup", "create", "str", "g", "0"), ("xgroup", "create", "str", "g", "0", "mkstream"),
    ("xgroup", "destroy", "str", "g"),
])

case("xreadgroup", [
    *[("xadd", "s", "%d-1" % i, "f", "v%d" % i) for i in range(1, 6)],
    ("xgroup", "create", "s", "g", "0"),
    ("xreadgroup", "group", "g", "alice", "count", "2", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "bob", "count", "1", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "alice", "streams", "s", "0"),
    ("xreadgroup", "group", "g", "alice", "streams", "s", "1-1"),
    ("xreadgroup", "group", "g", "alice", "count", "1", "streams", "s", "0"),
    ("xreadgroup", "group", "g", "carol", "streams", "s", "0"),
    ("xreadgroup", "group", "g", "bob", "noack", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "bob", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "bob", "block", "10", "streams", "s", ">"),
    ("clock", "rax", "xpending", "s", "g"), ("xinfo", "groups", "s"), ("clock", "rax", "xinfo", "consumers", "s", "g"),
    ("xdel", "s", "1-1"), ("xreadgroup", "group", "g", "alice", "streams", "s", "0"),
    ("xadd", "s", "6-1", "f", "v6"), ("xinfo", "groups", "s"),
    ("xreadgroup", "group", "g", "dave", "streams", "s", ">"), ("xinfo", "groups", "s"),
    ("xgroup", "setid", "s", "g", "0"), ("xreadgroup", "group", "g", "erin", "count", "2", "streams", "s", ">"),
    ("clock", "rax", "xpending", "s", "g", "-", "+", "10"), ("xinfo", "groups", "s"),
    ("xreadgroup", "group", "nog", "c", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "c", "streams", "nokey", ">"),
    ("xreadgroup", "group", "g", "c", "streams", "s", "$"), ("xreadgroup", "group", "g", "c", "streams", "s", "x"),
    ("xreadgroup", "group", "g", "c", "streams", "s"), ("xreadgroup", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "streams", "s", ">"), ("xreadgroup", "count", "1", "streams", "s", ">", "x"),
    ("xreadgroup", "group", "g", "c", "count", "1", "streams", "s", "s", ">", ">"),
    ("xgroup", "create", "t", "g", "$", "mkstream"), ("xadd", "t", "1-1", "a", "b"),
    ("xreadgroup", "group", "g", "c", "streams", "s", "t", ">", ">"),
    ("xreadgroup", "group", "g", "c", "streams", "t", "s", "0", "0"),
    ("set", "str", "x"), ("xreadgroup", "group", "g", "c", "streams", "str", ">"),
    ("xreadgroup", "group", "g", "c", "streams", "s", "str", ">", ">"),
    ("xreadgroup", "GROUP", "g", "c", "NOACK", "COUNT", "1", "BLOCK", "5", "STREAMS", "s", ">"),
    ("multi",), ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"), ("exec",),
    ("xadd", "u", "1-1", "f", "v"), ("xgroup", "create", "u", "g", "$"), ("xadd", "u", "2-1", "f", "v"),
    ("xdel", "u", "2-1"), ("xreadgroup", "group", "g", "c", "streams", "u", ">"), ("xinfo", "groups", "u"),
])

case("xack_xpending", [
    *[("xadd", "s", "%d-1" % i, "f", "v%d" % i) for i in range(1, 8)],
    ("xgroup", "create", "s", "g", "0"),
    ("xreadgroup", "group", "g", "alice", "count", "3", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "bob", "count", "3", "streams", "s", ">"),
    ("clock", "rax", "xpending", "s", "g"),
    ("clock", "rax", "xpending", "s", "g", "-", "+", "10"), ("clock", "rax", "xpending", "s", "g", "-", "+", "2"),
    ("clock", "rax", "xpending", "s", "g", "(2-1", "(5-1", "10"), ("clock", "rax", "xpending", "s", "g", "-", "+", "10", "bob"),
    ("clock", "rax", "xpending", "s", "g", "-", "+", "10", "nobody"), ("clock", "rax", "xpending", "s", "g", "-", "+", "0"),
    ("clock", "rax", "xpending", "s", "g", "-", "+", "-1"), ("clock", "rax", "xpending", "s", "g", "idle", "0", "-", "+", "10"),
    ("clock", "rax", "xpending", "s", "g", "IDLE", "100000", "-", "+", "10"),
    ("clock", "rax", "xpending", "s", "g", "idle", "0", "-", "+", "10", "alice"),
    ("xpending", "s", "g", "-"), ("xpending", "s", "g", "-", "+"), ("xpending", "s", "g", "idle", "0", "-", "+"),
    ("xpending", "s", "g", "idle", "x", "-", "+", "10"), ("xpending", "s", "g", "-", "+", "x"),
    ("xpending", "s", "g", "x", "+", "10"), ("xpending", "s", "g", "-", "x", "10"),
    ("xpending", "s", "g", "(" + MAX + "-" + MAX, "+", "10"), ("xpending", "s", "g", "-", "(0-0", "10"),
    ("xpending", "s", "g", "-", "+", "10", "a", "b", "c"), ("xpending", "s", "nog"), ("xpending", "nokey", "g"),
    ("xpending", "nokey", "g", "-", "+", "10"), ("xpending", "nokey", "g", "x", "+", "10"),
    ("xack", "s", "g", "1-1", "2-1", "9-1"), ("xack", "s", "g", "1-1"), ("xack", "s", "g", "3-1", "x"),
    ("xack", "s", "g", "3"), ("xack", "s", "nog", "3-1"), ("xack", "nokey", "g", "x"),
    ("xack", "s", "g", "-"), ("clock", "rax", "xpending", "s", "g"),
    ("xack", "s", "g", "3-1", "4-1", "5-1", "6-1"), ("xpending", "s", "g"),
    ("xpending", "s", "g", "-", "+", "10"), ("set", "str", "x"), ("xack", "str", "g", "1-1"),
    ("xpending", "str", "g"), ("xpending", "str", "g", "x", "+", "1"),
])

case("xclaim", [
    *[("xadd", "s", "%d-1" % i, "f", "v%d" % i) for i in range(1, 8)],
    ("xgroup", "create", "s", "g", "0"),
    ("xreadgroup", "group", "g", "alice", "count", "4", "streams", "s", ">"),
    ("xclaim", "s", "g", "bob", "3600000", "1-1"),
    ("xclaim", "s", "g", "bob", "0", "1-1"), ("clock", "rax", "xpending", "s", "g", "-", "+", "10"),
    ("xclaim", "s", "g", "bob", "0", "2-1", "3-1", "justid"), ("clock", "rax", "xpending", "s", "g", "-", "+", "10"),
    ("xclaim", "s", "g", "carol", "0", "2-1", "idle", "500000"), ("xclaim", "s", "g", "dave", "400000", "2-1"),
    ("xclaim", "s", "g", "dave", "600000", "2-1"),
    ("xclaim", "s", "g", "carol", "0", "3-1", "time", "1000", "retrycount", "7"),
    ("clock", "rax", "xinfo", "stream", "s", "full"),
    ("xclaim", "s", "g", "carol", "0", "6-1"), ("xclaim", "s", "g", "carol", "0", "6-1", "force"),
    ("xclaim", "s", "g", "carol", "0", "99-1", "force"), ("clock", "rax", "xpending", "s", "g", "-", "+", "10"),
    ("xdel", "s", "4-1"), ("xclaim", "s", "g", "carol", "0", "4-1"), ("xpending", "s", "g", "-", "+", "10", "alice"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "lastid", "50-1"), ("xinfo", "groups", "s"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "lastid", "2-1"), ("xinfo", "groups", "s"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "lastid", "x"), ("xclaim", "s", "g", "carol", "0", "1-1", "idle", "x"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "time", "x"), ("xclaim", "s", "g", "carol", "0", "1-1", "retrycount", "x"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "foo"), ("xclaim", "s", "g", "carol", "0", "1-1", "idle"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "justid", "2-1"), ("xclaim", "s", "g", "carol", "x", "1-1"),
    ("xclaim", "s", "g", "carol", "-5", "1-1", "justid"), ("xclaim", "s", "nog", "c", "0", "1-1"),
    ("xclaim", "nokey", "g", "c", "0", "1-1"), ("xclaim", "nokey", "g", "c", "x", "1-1"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "idle", "-5", "justid"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "time", "99999999999999", "justid"),
    ("xclaim", "s", "g", "carol", "0", "1-1", "retrycount", "-3", "justid"), ("xclaim", "s", "g", "c", "0"),
    ("xclaim", "s", "g", "carol", "0", "x"), ("clock", "rax", "xinfo", "consumers", "s", "g"),
    ("set", "str", "x"), ("xclaim", "str", "g", "c", "0", "1-1"),
])

case("xautoclaim", [
    *[("xadd", "s", "%d-1" % i, "f", "v%d" % i) for i in range(1, 11)],
    ("xgroup", "create", "s", "g", "0"),
    ("xreadgroup", "group", "g", "alice", "streams", "s", ">"),
    ("xautoclaim", "s", "g", "bob", "3600000", "0"),
    ("xautoclaim", "s", "g", "bob", "0", "0", "count", "3"),
    ("xautoclaim", "s", "g", "bob", "0", "4-1", "count", "3", "justid"),
    ("xdel", "s", "8-1", "9-1"),
    ("xautoclaim", "s", "g", "carol", "0", "(6-1", "count", "2"),
    ("xautoclaim", "s", "g", "carol", "0", "0", "count", "100", "justid"),
    ("clock", "rax", "xpending", "s", "g", "-", "+", "20"), ("xpending", "s", "g"),
    ("xautoclaim", "s", "g", "carol", "0", "0", "count", "0"), ("xautoclaim", "s", "g", "carol", "0", "0", "count", "x"),
    ("xautoclaim", "s", "g", "carol", "0", "0", "count", "922337203685477581"),
    ("xautoclaim", "s", "g", "carol", "0", "0", "count"), ("xautoclaim", "s", "g", "carol", "0", "0", "foo"),
    ("xautoclaim", "s", "g", "carol", "x", "0"), ("xautoclaim", "s", "g", "carol", "0", "x"),
    ("xautoclaim", "s", "g", "carol", "0", "(" + MAX + "-" + MAX),
    ("xautoclaim", "s", "nog", "c", "0", "0"), ("xautoclaim", "nokey", "g", "c", "0", "0"),
    ("xautoclaim", "nokey", "g", "c", "0", "x"), ("xautoclaim", "s", "g", "dave", "-1", "0", "COUNT", "1", "JUSTID"),
    ("xautoclaim", "s", "g", "c", "0"), ("set", "str", "x"), ("xautoclaim", "str", "g", "c", "0", "0"),
    ("xautoclaim", "str", "g", "c", "x", "0"),
])

case("xinfo", [
    ("xinfo", "stream", "nokey"), ("xinfo", "groups", "nokey"), ("xinfo", "consumers", "nokey", "g"),
    ("xinfo", "stream", "nokey", "foo"),
    *[("xadd", "s", "%d-1" % i, "f", "v%d" % i, "x", "y") for i in range(1, 16)],
    ("xinfo", "stream", "s"), ("xinfo", "STREAM", "s", "FULL"),
    ("xgroup", "create", "s", "g1", "0"), ("xgroup", "create", "s", "g2", "5-1"),
    ("xreadgroup", "group", "g1", "c1", "count", "12", "streams", "s", ">"),
    ("xreadgroup", "group", "g1", "c2", "count", "1", "streams", "s", ">"),
    ("xreadgroup", "group", "g2", "c1", "noack", "count", "1", "streams", "s", ">"),
    ("clock", "rax", "xinfo", "stream", "s", "full"), ("clock", "rax", "xinfo", "stream", "s", "full", "count", "3"),
    ("clock", "rax", "xinfo", "stream", "s", "full", "count", "0"), ("clock", "rax", "xinfo", "stream", "s", "full", "count", "-1"),
    ("xinfo", "stream", "s", "full", "count"), ("xinfo", "stream", "s", "full", "count", "x"),
    ("xinfo", "stream", "s", "full", "foo", "1"), ("xinfo", "stream", "s", "foo"),
    ("xinfo", "stream", "s", "full", "count", "1", "x"),
    ("xinfo", "groups", "s"), ("clock", "rax", "xinfo", "consumers", "s", "g1"), ("xinfo", "consumers", "s", "nog"),
    ("xinfo", "help"), ("xinfo", "HELP", "x"), ("xinfo",), ("xinfo", "foo"), ("xinfo", "foo", "s"),
    ("xinfo", "groups"), ("xinfo", "groups", "s", "x"), ("xinfo", "consumers", "s"),
    ("xdel", "s", "1-1", "15-1"), ("xinfo", "groups", "s"), ("xinfo", "stream", "s"),
    ("xadd", "e", "1-1", "f", "v"), ("xdel", "e", "1-1"), ("xinfo", "stream", "e"), ("xinfo", "stream", "e", "full"),
    ("set", "str", "x"), ("xinfo", "stream", "str"), ("xinfo", "groups", "str"),
])

case("lag_and_entries_read", [
    *[("xadd", "s", "%d-1" % i, "f", "v") for i in range(1, 6)],
    ("xgroup", "create", "s", "a", "0"), ("xgroup", "create", "s", "b", "$"), ("xgroup", "create", "s", "c", "3-1"),
    ("xgroup", "create", "s", "d", "0", "entriesread", "2"), ("xinfo", "groups", "s"),
    ("xreadgroup", "group", "a", "x", "count", "2", "streams", "s", ">"), ("xinfo", "groups", "s"),
    ("xdel", "s", "4-1"), ("xinfo", "groups", "s"),
    ("xreadgroup", "group", "a", "x", "streams", "s", ">"), ("xinfo", "groups", "s"),
    ("xdel", "s", "1-1"), ("xinfo", "groups", "s"), ("xadd", "s", "9-1", "f", "v"), ("xinfo", "groups", "s"),
    ("xtrim", "s", "maxlen", "1"), ("xinfo", "groups", "s"), ("xgroup", "setid", "s", "c", "0"),
    ("xinfo", "groups", "s"), ("xsetid", "s", "20-1", "entriesadded", "50", "maxdeletedid", "10-1"),
    ("xinfo", "groups", "s"), ("xinfo", "stream", "s"),
])

case("keyspace", [
    ("xadd", "s", "1-1", "f", "v"), ("type", "s"), ("exists", "s"), ("expire", "s", "100"), ("ttl", "s"),
    ("persist", "s"), ("ttl", "s"), ("rename", "s", "t"), ("xrange", "t", "-", "+"), ("exists", "s"),
    ("xgroup", "create", "t", "g", "0"), ("renamenx", "t", "u"), ("xinfo", "groups", "u"),
    ("object", "encoding", "u"), ("scan", "0", "type", "stream"), ("scan", "0", "type", "string"),
    ("get", "u"), ("incr", "u"), ("append", "u", "x"), ("strlen", "u"), ("set", "u", "x"), ("type", "u"),
    ("xadd", "u", "1-1", "f", "v"), ("xadd", "v", "1-1", "f", "v"), ("copy", "v", "w"), ("del", "v"),
    ("exists", "v"), ("xadd", "x", "1-1", "f", "v"), ("pexpireat", "x", "1"),
    ("exists", "x"), ("xlen", "x"), ("move", "u", "1"), ("dbsize",),
])

case("resp3", [
    ("nocheck", "hello", "3"), ("xadd", "s", "1-1", "f", "v"), ("xadd", "s", "2-1", "f", "v"),
    ("xread", "streams", "s", "0"), ("xread", "streams", "s", "nokey", "0", "0"), ("xread", "streams", "s", "5"),
    ("xrange", "s", "-", "+"), ("xrange", "s", "-", "+", "count", "0"),
    ("xgroup", "create", "s", "g", "0"), ("xreadgroup", "group", "g", "c", "count", "1", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "c", "streams", "s", "0"), ("xdel", "s", "1-1"),
    ("xreadgroup", "group", "g", "c", "streams", "s", "0"), ("xpending", "s", "g"), ("xpending", "s", "nog"),
    ("xinfo", "stream", "s"), ("clock", "rax", "xinfo", "stream", "s", "full"), ("xinfo", "groups", "s"),
    ("clock", "rax", "xinfo", "consumers", "s", "g"), ("xadd", "s", "nomkstream", "*", "f"), ("xadd", "n", "nomkstream", "*", "f", "v"),
    ("xautoclaim", "s", "g", "d", "0", "0"), ("xclaim", "s", "g", "d", "0", "2-1"), ("xinfo", "help"),
    ("xpending", "s", "g"), ("xack", "s", "g", "2-1"), ("xpending", "s", "g"),
    ("xinfo", "stream", "nokey"), ("xread", "block", "1", "streams", "s", "$"), ("nocheck", "hello", "2"),
])

case("commands_meta", [
    ("xlen",), ("xlen", "a", "b"), ("xack", "s", "g"), ("xdel", "s"), ("xrange", "s", "-"),
    ("xclaim", "s", "g", "c", "0"), ("xautoclaim", "s", "g", "c", "0"), ("xread", "streams", "s"),
    ("xreadgroup", "group", "g", "c", "streams", "s"), ("xsetid", "s"), ("xtrim", "s", "maxlen"),
])


case("large_entries", [
    *[("xadd", "s", "%d-1" % i, "field", "v" * (300 + 97 * i)) for i in range(1, 40)],
    ("xlen", "s"), ("xtrim", "s", "maxlen", "~", "30"), ("xlen", "s"), ("xtrim", "s", "minid", "~", "20"),
    ("xlen", "s"), ("xrange", "s", "-", "+", "count", "1"), ("xtrim", "s", "maxlen", "~", "3"), ("xlen", "s"),
    *[("xadd", "t", "%d-1" % i, "f%d" % (i % 3), "v", "g", "w" * (i % 7)) for i in range(1, 400)],
    ("xtrim", "t", "maxlen", "~", "150"), ("xlen", "t"), ("xrange", "t", "-", "+", "count", "2"),
    ("xrevrange", "t", "+", "-", "count", "2"), ("xdel", "t", "300-1", "301-1"), ("xrange", "t", "299", "302"),
])

case("history_never_blocks", [
    ("xadd", "s", "1-1", "f", "v"), ("xgroup", "create", "s", "g", "0"),
    ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", "0"),
    ("xreadgroup", "group", "g", "c", "count", "1", "block", "0", "streams", "s", ">"),
    ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", "0"),
    ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", "1-1"),
])


def fuzz_gen():
    """gen(rng) for diff_random: one random command at a time over a small id and name
    space (the highest id used so far lives in the closure)."""
    top = {"s": 1, "t": 1}

    def gen(rnd):
        return [fuzz_command(rnd, top)]
    return gen


def fuzz_command(rnd, top):
    """One random stream command."""

    def rid():
        return "%d-%d" % (rnd.randint(0, max(top.values()) + 1), rnd.randint(0, 3))

    def bound():
        return rnd.choice(["-", "+", rid(), "(" + rid(), str(rnd.randint(0, 30))])

    keys, groups, cons = ["s", "t"], ["g", "h"], ["a", "b", "c"]
    k, g, c = rnd.choice(keys), rnd.choice(groups), rnd.choice(cons)
    r = rnd.random()
    if r < 0.25:
        top[k] += rnd.randint(0, 2)
        nid = rnd.choice(["%d-%d" % (top[k], rnd.randint(0, 3)), "%d-*" % top[k], rid()])
        return ("xadd", k, nid, "f", str(rnd.randint(0, 9)))
    elif r < 0.30:
        return ("xdel", k) + tuple(rid() for _ in range(rnd.randint(1, 3)))
    elif r < 0.34:
        return (("xtrim", k, rnd.choice(["maxlen", "minid"]), rnd.choice(["=", "~"]),
                    str(rnd.randint(0, 20)) if rnd.random() < 0.5 else rid()))
    elif r < 0.42:
        cmd = rnd.choice(["xrange", "xrevrange"])
        return (cmd, k, bound(), bound()) + (("count", str(rnd.randint(0, 5))) if rnd.random() < 0.5 else ())
    elif r < 0.47:
        return (("xgroup", "create", k, g, rnd.choice(["$", "0", rid()])) +
                   (("mkstream",) if rnd.random() < 0.5 else ()))
    elif r < 0.50:
        return ("xgroup", "setid", k, g, rnd.choice(["$", "0", rid()]))
    elif r < 0.52:
        sub = rnd.choice(["destroy", "createconsumer", "delconsumer"])
        return ("xgroup", sub, k, g) + ((c,) if sub != "destroy" else ())
    elif r < 0.64:
        return (("xreadgroup", "group", g, c) + (("count", str(rnd.randint(1, 4))) if rnd.random() < 0.6 else ()) +
                   (("noack",) if rnd.random() < 0.1 else ()) + ("streams", k, rnd.choice([">", ">", "0", rid()])))
    elif r < 0.70:
        return ("xack", k, g) + tuple(rid() for _ in range(rnd.randint(1, 3)))
    elif r < 0.75:
        return (("xclaim", k, g, c, "0") + tuple(rid() for _ in range(rnd.randint(1, 3))) +
                   tuple(rnd.sample(["justid", "force"], rnd.randint(0, 2))))
    elif r < 0.79:
        return (("xautoclaim", k, g, c, "0", bound(), "count", str(rnd.randint(1, 5))) +
                   (("justid",) if rnd.random() < 0.5 else ()))
    elif r < 0.84:
        return ("clock", "rax", "xpending", k, g) + (("-", "+", "10") + ((c,) if rnd.random() < 0.5 else ()
                                              if rnd.random() < 0.6 else ()))
    elif r < 0.88:
        return ("xinfo", "groups", k)
    elif r < 0.91:
        return ("clock", "rax", "xinfo", "stream", k) + (("full",) if rnd.random() < 0.5 else ())
    elif r < 0.94:
        return ("xread", "count", str(rnd.randint(1, 5)), "streams", k, rid())
    elif r < 0.96:
        return ("xsetid", k, rid())
    elif r < 0.98:
        return ("xlen", k)
    else:
        return ("del", k)



@pytest.mark.parametrize("steps", [steps for _, steps in STREAM_CASES],
                         ids=[name for name, _ in STREAM_CASES])
def test_diff(server, oracle, steps):
    diff_case(server, oracle, steps)


@pytest.mark.parametrize("seed", range(4))
def test_fuzz(server, oracle, seed):
    diff_random(server, oracle, seed, 1500, fuzz_gen())


def two_conn_diff(server, oracle, steps):
    """Run (connection index, command) steps on both servers; compare every reply."""
    diff_case(server, oracle, [("@%d" % i,) + c for i, c in steps])


def test_watch_and_stream_commands(server, oracle):
    # which stream commands invalidate a WATCH, as Redis 7.0 signals modified keys
    pre = [(0, ("xadd", "s", "1-1", "f", "v")), (0, ("xadd", "s", "2-1", "f", "v")),
           (0, ("xgroup", "create", "s", "g", "0"))]
    bad = []
    cmds = [("xadd", "s", "9-1", "f", "v"), ("xadd", "s", "nomkstream", "1-1", "f", "v"),
            ("xdel", "s", "1-1"), ("xdel", "s", "7-7"), ("xtrim", "s", "maxlen", "1"),
            ("xtrim", "s", "maxlen", "100"), ("xsetid", "s", "10-1"),
            ("xgroup", "create", "s", "g2", "0"), ("xgroup", "create", "s", "g", "0"),
            ("xgroup", "setid", "s", "g", "0"), ("xgroup", "destroy", "s", "g"),
            ("xgroup", "createconsumer", "s", "g", "c"), ("xgroup", "delconsumer", "s", "g", "c"),
            ("xreadgroup", "group", "g", "c", "streams", "s", ">"),
            ("xreadgroup", "group", "g", "c", "streams", "s", "0"),
            ("xack", "s", "g", "1-1"), ("xclaim", "s", "g", "d", "0", "1-1"),
            ("xautoclaim", "s", "g", "d", "0", "0"), ("xread", "streams", "s", "0"),
            ("xgroup", "create", "new", "g", "$", "mkstream")]
    for c in cmds:
        steps = list(pre)
        if c[0] == "xack" or c[0] in ("xclaim", "xautoclaim"):
            steps.append((0, ("xreadgroup", "group", "g", "c", "streams", "s", ">")))
        steps += [(0, ("watch", c[1] if c[0] != "xgroup" and c[0] != "xreadgroup" and c[0] != "xread"
                       else ("new" if "new" in c else "s"))),
                  (1, c), (0, ("multi",)), (0, ("ping",)), (0, ("exec",))]
        try:
            two_conn_diff(server, oracle, steps)
        except TestFailure as e:
            bad.append("WATCH then %r: %s" % (c, str(e)[-200:]))
    check(not bad, "\n".join(bad))


def test_block_default_count_1000(servers):
    setup = [("xadd", "s", "1-1", "f", "v")]
    adds = [("multi",)] + [("xadd", "s", "%d-1" % i, "f", "v") for i in range(2, 1203)] + [("exec",)]
    block_diff(servers, setup, ("xread", "block", "0", "streams", "s", "$"), adds)
    block_diff(servers, [("xgroup", "create", "s", "g", "$", "mkstream")],
               ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"),
               adds + [("xpending", "s", "g"), ("xinfo", "groups", "s")])


# ---------------------------------------------------------------- blocking

def blocked_clients(conn):
    info = conn.cmd("INFO", "clients").decode()
    m = re.search(r"blocked_clients:(\d+)", info)
    return int(m.group(1))


def wait_blocked(conn, n, deadline=10.0):
    wait_until(lambda: blocked_clients(conn) == n, deadline, "blocked_clients == %d" % n)


def block_scenario(port, setup, blocker, actions):
    """On one server: run setup, send the blocking command on a second connection, wait
    until it is blocked, run the actions, return the blocked client's reply followed by
    the actions' replies (all raw)."""
    with Conn(port) as a, Conn(port) as b:
        a.cmd("FLUSHALL")
        for c in setup:
            a.cmd(*c)
        b.send(encode(*blocker))
        wait_blocked(a, 1)
        acts = [a.cmd(*c) for c in actions]
        got = normalise_time(b.reply(), rax=True)
        b.cmd("PING")
        wait_blocked(a, 0)
        return [got] + acts


def block_diff(servers, setup, blocker, actions):
    r = block_scenario(servers["r"].port, setup, blocker, actions)
    o = block_scenario(servers["o"].port, setup, blocker, actions)
    eq(r, o, "blocked reply and actions (respite vs redis) for %r" % (blocker,))


def test_block_xreadgroup_served_by_xadd(servers):
    setup = [("xgroup", "create", "s", "g", "$", "mkstream")]
    block_diff(servers, setup, ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"),
               [("xadd", "s", "1-1", "f", "v"), ("xpending", "s", "g"), ("xinfo", "groups", "s")])


def test_block_xreadgroup_noack_count(servers):
    setup = [("xgroup", "create", "s", "g", "$", "mkstream")]
    block_diff(servers, setup, ("xreadgroup", "group", "g", "c", "noack", "count", "1", "block", "0", "streams", "s", ">"),
               [("multi",), ("xadd", "s", "1-1", "f", "v"), ("xadd", "s", "2-1", "f", "v"), ("exec",),
                ("xpending", "s", "g"), ("xinfo", "groups", "s")])


def test_block_xread_dollar_pinned(servers):
    # "$" means the last id when the client blocked, even if the key is deleted meanwhile
    block_diff(servers, [("xadd", "s", "5-1", "f", "v")], ("xread", "block", "0", "streams", "s", "$"),
               [("del", "s"), ("xadd", "s", "3-1", "f", "v"), ("xadd", "s", "6-1", "g", "w")])


def test_block_xread_several_keys(servers):
    block_diff(servers, [("xadd", "a", "1-1", "f", "v")],
               ("xread", "block", "0", "streams", "a", "b", "$", "$"), [("xadd", "b", "7-7", "f", "v")])


def test_block_xread_wrongtype_keeps_waiting(servers):
    block_diff(servers, [("xadd", "s", "5-1", "f", "v")], ("xread", "block", "0", "streams", "s", "$"),
               [("del", "s"), ("set", "s", "x"), ("del", "s"), ("xadd", "s", "9-1", "f", "v")])


def test_block_xreadgroup_key_deleted(servers):
    block_diff(servers, [("xgroup", "create", "s", "g", "$", "mkstream")],
               ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"), [("del", "s")])


def test_block_xreadgroup_key_replaced(servers):
    block_diff(servers, [("xgroup", "create", "s", "g", "$", "mkstream")],
               ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"), [("set", "s", "x")])


def test_block_xreadgroup_group_destroyed(servers):
    block_diff(servers, [("xgroup", "create", "s", "g", "$", "mkstream")],
               ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"),
               [("xgroup", "destroy", "s", "g")])


def test_block_xread_added_then_deleted(servers):
    block_diff(servers, [("xadd", "s", "1-1", "f", "v")], ("xread", "block", "0", "streams", "s", "$"),
               [("multi",), ("xadd", "s", "2-1", "f", "v"), ("xdel", "s", "2-1"), ("exec",)])


def test_block_xreadgroup_flushall_swapdb(servers):
    block_diff(servers, [("xgroup", "create", "s", "g", "$", "mkstream")],
               ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"), [("flushall",)])
    block_diff(servers, [("xgroup", "create", "s", "g", "$", "mkstream")],
               ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"), [("swapdb", "0", "1")])
    block_diff(servers, [("xadd", "s", "1-1", "f", "v")],
               ("xread", "block", "0", "streams", "s", "$"), [("flushdb",), ("xadd", "s", "1-2", "f", "v")])


def test_block_xreadgroup_key_expired_actively(servers):
    # Nobody touches the key: active expiry removes it and the blocked client is told in
    # that cycle, as redis does, not when some other client next sends a command.
    for name in ("r", "o"):
        port = servers[name].port
        with Conn(port) as a, Conn(port) as b:
            a.cmd("FLUSHALL")
            a.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            a.cmd("PEXPIRE", "s", "400")
            b.send(encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"))
            wait_blocked(a, 1)
            t0 = time.monotonic()
            r = b.reply()   # no command is sent on any connection meanwhile
            eq(r, b"-UNBLOCKED the stream key no longer exists\r\n", "%s: reply once s expired" % name)
            check(time.monotonic() - t0 < 3.0, "%s: woke %.3fs after blocking" % (name, time.monotonic() - t0))
            eq(a.cmd("EXISTS", "s"), b":0\r\n", "%s: s is gone" % name)


def test_block_xreadgroup_rename(servers):
    block_diff(servers, [("xgroup", "create", "s", "g", "$", "mkstream"), ("xgroup", "create", "t", "g", "$", "mkstream"),
                ("xadd", "t", "5-5", "f", "v")],
               ("xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"), [("rename", "t", "s")])


def test_block_timeout_returns_null(servers):
    port = servers["r"].port
    with Conn(port) as a, Conn(port) as b:
        a.cmd("FLUSHALL")
        a.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        t0 = time.monotonic()
        b.send(encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "300", "STREAMS", "s", ">"))
        wait_blocked(a, 1)
        r = b.reply()
        dt = time.monotonic() - t0
        eq(r, b"*-1\r\n", "timeout reply")
        check(dt >= 0.29, "returned after %.3fs, before the 300 ms timeout" % dt)
        check(dt < 2.0, "returned only after %.3fs" % dt)
        wait_blocked(a, 0)
        t0 = time.monotonic()
        eq(b.cmd("XREAD", "BLOCK", "150", "STREAMS", "s", "$"), b"*-1\r\n", "XREAD timeout reply")
        dt = time.monotonic() - t0
        check(0.14 <= dt < 2.0, "XREAD BLOCK 150 returned after %.3fs" % dt)


def test_block_served_immediately(servers):
    port = servers["r"].port
    with Conn(port) as a, Conn(port) as b:
        a.cmd("FLUSHALL")
        a.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        b.send(encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"))
        wait_blocked(a, 1)
        t0 = time.monotonic()
        a.cmd("XADD", "s", "1-1", "f", "v")
        check(b.has_pending(5.0), "blocked client not served within 5s")
        r = b.reply()
        dt = time.monotonic() - t0
        eq(r, b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", "served reply")
        check(dt < 1.0, "served after %.3fs" % dt)
        eq(a.call("XPENDING", "s", "g")[0], 1, "delivered message is pending")


def test_block_fifo(servers):
    port = servers["r"].port
    with Conn(port) as a:
        a.cmd("FLUSHALL")
        a.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        waiters = []
        for i in range(5):
            w = Conn(port)
            w.send(encode("XREADGROUP", "GROUP", "g", "c%d" % i, "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">"))
            wait_blocked(a, i + 1)
            waiters.append(w)
        xr = [Conn(port) for _ in range(2)]
        for i, w in enumerate(xr):
            w.send(encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
            wait_blocked(a, 6 + i)
        for i in range(5):
            a.cmd("XADD", "s", "%d-1" % (i + 1), "n", str(i))
            got = harness.decode(waiters[i].reply())
            eq(got[0][1][0][0], b"%d-1" % (i + 1), "waiter %d got the %d-th entry" % (i, i + 1))
            for j in range(i + 1, 5):
                check(not waiters[j].has_pending(0.05), "waiter %d served out of turn" % j)
            if i == 0:
                for w in xr:       # plain XREADs all see the first entry
                    eq(harness.decode(w.reply())[0][1][0][0], b"1-1", "XREAD waiter")
        wait_blocked(a, 0)
        for w in waiters + xr:
            w.close()
        pend = a.call("XPENDING", "s", "g")
        eq(pend[0], 5, "pending count")


def test_block_groups_share_a_stream(servers):
    # Readers of two groups and plain XREADs on one stream; one EXEC adds two entries:
    # each group hands them to its first two readers in FIFO order, its later readers
    # keep waiting (respite skips re-running them once a reader of the group found
    # nothing), the XREADs all see the first entry. The same on both servers.
    for name in ("r", "o"):
        port = servers[name].port
        with Conn(port) as a:
            a.cmd("FLUSHALL")
            for g in ("g1", "g2"):
                a.cmd("XGROUP", "CREATE", "s", g, "$", "MKSTREAM")
            readers = []
            for i, g in enumerate(["g1", "g2", "g1", "g2", "g1", "g1"]):
                w = Conn(port)
                w.send(encode("XREADGROUP", "GROUP", g, "c%d" % i, "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">"))
                wait_blocked(a, i + 1)
                readers.append((g, w))
            x = Conn(port)
            x.send(encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$"))
            wait_blocked(a, 7)
            a.cmd("MULTI")
            a.cmd("XADD", "s", "1-1", "n", "1")
            a.cmd("XADD", "s", "2-1", "n", "2")
            a.cmd("EXEC")
            want = {0: b"1-1", 1: b"1-1", 2: b"2-1", 3: b"2-1"}   # reader index -> entry
            for i, (g, w) in enumerate(readers):
                if i in want:
                    eq(harness.decode(w.reply())[0][1][0][0], want[i], "%s: reader %d of %s" % (name, i, g))
                else:
                    check(not w.has_pending(0.05), "%s: reader %d of %s served without an entry" % (name, i, g))
            eq(harness.decode(x.reply())[0][1][0][0], b"1-1", "%s: XREAD waiter" % name)
            wait_blocked(a, 2)
            a.cmd("XADD", "s", "3-1", "n", "3")
            eq(harness.decode(readers[4][1].reply())[0][1][0][0], b"3-1", "%s: the next g1 reader" % name)
            check(not readers[5][1].has_pending(0.05), "%s: the last g1 reader served too early" % name)
            wait_blocked(a, 1)
            eq(a.call("XPENDING", "s", "g1")[0], 3, "%s: g1 pending" % name)
            eq(a.call("XPENDING", "s", "g2")[0], 2, "%s: g2 pending" % name)
            for _, w in readers:
                w.close()
            x.close()
            wait_blocked(a, 0)


def test_block_disconnect_leaks_nothing(servers):
    port = servers["r"].port
    with Conn(port) as a:
        a.cmd("FLUSHALL")
        a.cmd("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        a.cmd("XGROUP", "CREATE", "t", "g", "$", "MKSTREAM")
        for round_ in range(3):
            cs = []
            for i in range(20):
                w = Conn(port)
                if i % 2:
                    w.send(encode("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", "t", ">", ">"))
                else:
                    w.send(encode("XREAD", "BLOCK", "100000", "STREAMS", "s", "x", "$", "$"))
                cs.append(w)
            wait_blocked(a, 20)
            for w in cs:
                w.close()
            wait_blocked(a, 0)
        a.cmd("XADD", "s", "1-1", "f", "v")
        eq(a.cmd("PING"), b"+PONG\r\n", "server alive")
        # a blocked client with pipelined commands behind its blocking one
        w = Conn(port)
        w.send(encode("XREAD", "BLOCK", "0", "STREAMS", "s", "$") + encode("PING") + encode("XLEN", "s"))
        wait_blocked(a, 1)
        a.cmd("XADD", "s", "2-1", "f", "v")
        r1, r2, r3 = w.reply(), w.reply(), w.reply()
        check(r1.startswith(b"*1\r\n"), "served %r" % r1)
        eq((r2, r3), (b"+PONG\r\n", b":2\r\n"), "pipelined commands after unblocking")
        w.close()
