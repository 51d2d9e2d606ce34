"""test_differential.py: the oracle test. The server under test and Debian's
redis-server receive identical command sequences over raw sockets and must answer with
identical reply bytes.

Fixed edge cases cover strings (every SET option combination, the GETEX/SETEX family,
ranges, the INCR family and INCRBYFLOAT formatting), keys (expiry options, renames,
glob patterns, databases), transactions (queued errors, EXECABORT, WATCH from a second
connection) and connection commands (arity, unknown commands, case). Seeded random
sequences then mix those commands with hostile arguments.

Only what is legitimately unordered is normalised (KEYS and SCAN results are sorted).
The cases use the one case format of harness.py (see conftest.py).
Time-dependent replies (TTL, PTTL, EXPIRETIME, PEXPIRETIME) are compared with a
tolerance; every expiry the tests set is at least 100 s away, or absolute, or already in
the past, so no key expires while a sequence runs and all other replies are exact.
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pytest  # noqa: E402
from harness import Differ, check, decode, diff_case, diff_random, same_reply  # noqa: E402

SERVER_ARGS = ORACLE_ARGS = ["--databases", "16"]

NOW = int(time.time())
FAR_S = NOW + 100000            # absolute expiries used by EXAT / EXPIREAT
FAR_MS = FAR_S * 1000 + 123

# The fixed scripts marked so run in RESP2 and again after HELLO 3 (nulls, doubles, maps
# and sets are encoded differently in RESP3).
both_protocols = pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])


def run_script(server, oracle, script, resp3=False):
    """Run a list of steps (tuples or space-separated strings) after FLUSHALL; TTLs are
    compared with a tolerance and KEYS as a set (harness.TOLERANCE, UNORDERED)."""
    diff_case(server, oracle, script, resp3=resp3, tolerant=True)


# ---------------------------------------------------------------- strings

SET_OPTIONS = [["NX"], ["XX"], ["GET"], ["EX", "100"], ["PX", "100000"],
               ["EXAT", str(FAR_S)], ["PXAT", str(FAR_MS)], ["KEEPTTL"]]


def test_set_every_option_combination(server, oracle):
    """Every ordered subset of up to 3 SET options (and a 4th reversed), on a missing
    key, a key with a TTL and a key without one; TTL after each."""
    script = []
    combos = []
    n = len(SET_OPTIONS)
    for i in range(n):
        combos.append([i])
        for j in range(n):
            if j != i:
                combos.append([i, j])
                for k in range(j + 1, n):
                    if k != i:
                        combos.append([i, j, k])
    for combo in combos:
        opts = [a for i in combo for a in SET_OPTIONS[i]]
        script += [("DEL", "s:missing"), ("SET", "s:missing", "v") + tuple(opts),
                   ("GET", "s:missing"), ("PTTL", "s:missing"),
                   ("SET", "s:ttl", "old", "EX", "300"), ("SET", "s:ttl", "new") + tuple(opts),
                   ("GET", "s:ttl"), ("TTL", "s:ttl"),
                   ("SET", "s:plain", "old"), ("SET", "s:plain", "new") + tuple(opts),
                   ("GET", "s:plain"), ("PTTL", "s:plain")]
    run_script(server, oracle, script)


@both_protocols
def test_set_option_errors(server, oracle, resp3):
    run_script(server, oracle, [
        "SET k v EX 0", "SET k v EX -1", "SET k v PX 0", "SET k v PX -5", "SET k v EX abc",
        "SET k v EX 1.5", "SET k v EX", "SET k v PX", "SET k v EXAT", "SET k v FOO",
        "SET k v EX 10 PX 10", "SET k v NX XX", "SET k v XX NX", "SET k v EX 10 KEEPTTL",
        "SET k v KEEPTTL PX 5", "SET k v EXAT 0", "SET k v PXAT -1",
        "SET k v EX 9223372036854775807", "SET k v PX 9223372036854775807",
        "SET k v EX 9223372036854776", "SET k v EXAT 9223372036854775807",
        "SET k v EX 100 EX 200", "TTL k", "SET k v ex 100 nx", "SET k v nx GET",
        "SET k v2 xx get", "GET k", "SET k v EXAT 1", "GET k", "SET k v PXAT 1000", "EXISTS k",
        "SET", "SET k", "SET k v EX 10 10",
    ], resp3=resp3)


def test_set_get_on_wrong_type_and_binary(server, oracle):
    run_script(server, oracle, [
        ("SET", "bin", b"\x00\x01\r\n\xff"), ("GET", "bin"), ("STRLEN", "bin"),
        ("SET", b"\x00key", ""), ("GET", b"\x00key"), ("STRLEN", b"\x00key"),
        ("SET", "big", "x" * 100000), ("STRLEN", "big"), ("GETRANGE", "big", "99990", "-1"),
    ])


@both_protocols
def test_setex_psetex_setnx_getset_getdel(server, oracle, resp3):
    run_script(server, oracle, [
        "SETEX k 100 v", "GET k", "TTL k", "SETEX k 0 v", "SETEX k -5 v", "SETEX k abc v",
        "SETEX k 100", "SETEX k 9223372036854775807 v", "PSETEX p 100000 v", "PTTL p",
        "PSETEX p 0 v", "PSETEX p -1 v", "PSETEX p 1.5 v",
        "SETNX n 1", "SETNX n 2", "GET n", "SETNX n", "GETSET n 3", "GETSET missing x",
        "GET missing", "TTL k", "GETSET k new", "TTL k", "GETDEL k", "GETDEL k", "EXISTS k",
        "GETDEL", "GETDEL a b",
    ], resp3=resp3)


@both_protocols
def test_getex(server, oracle, resp3):
    run_script(server, oracle, [
        "SET k v", "GETEX k", "TTL k", "GETEX k EX 100", "TTL k", "GETEX k PX 200000",
        "PTTL k", "GETEX k EXAT %d" % FAR_S, "TTL k", "GETEX k PXAT %d" % FAR_MS, "PTTL k",
        "GETEX k PERSIST", "TTL k", "GETEX k EX 0", "GETEX k EX -1", "GETEX k PX 0",
        "GETEX k EX abc", "GETEX k EX 10 PERSIST", "GETEX k PERSIST EX 10",
        "GETEX k EX 10 PX 10", "GETEX k FOO", "GETEX k EX", "GETEX missing",
        "GETEX missing EX 10", "GETEX k KEEPTTL", "GETEX k EXAT 1", "EXISTS k", "GETEX",
        "SET k v", "GETEX k EX 9223372036854775807",
    ], resp3=resp3)


@both_protocols
def test_mget_mset_msetnx(server, oracle, resp3):
    run_script(server, oracle, [
        "MSET a 1 b 2 c 3", "MGET a b c d", "MGET d", "MSET a", "MSET a 1 b",
        "MSETNX a 9 z 9", "MGET a z", "MSETNX y 1 z 2", "MGET y z", "MSETNX y", "MGET",
        "MSET a 1 a 2", "GET a", "MSETNX q 1 q 2", "GET q", "SET t v EX 100", "MSET t w",
        "TTL t",
    ], resp3=resp3)


@both_protocols
def test_append_strlen_getrange_setrange(server, oracle, resp3):
    s = ["SET s HelloWorld"]
    for a, b in [(0, -1), (0, 0), (-3, -1), (5, 2), (-100, 100), (100, 200), (3, 3),
                 (-1, -1), (-1, -100), (0, -11), (9, 100), (-10, 0), (10, 10),
                 ("9223372036854775807", "9223372036854775807"),
                 ("-9223372036854775808", "9223372036854775807"), ("x", 1), (1, "1.5")]:
        s.append("GETRANGE s %s %s" % (a, b))
    s += ["GETRANGE missing 0 -1", "SET e \"\"", "GETRANGE e 0 -1", "GETRANGE e -1 0",
          "GETRANGE s 0", "SUBSTR s 1 3",
          "APPEND s !!", "GET s", "APPEND new abc", "GET new", "STRLEN s", "STRLEN nokey",
          "APPEND s", "STRLEN", "STRLEN a b",
          "SETRANGE s 0 J", "GET s", "SETRANGE s 20 pad", "GET s", "STRLEN s",
          "SETRANGE s -1 x", "SETRANGE s abc x", "SETRANGE s 536870912 x",
          "SETRANGE s 536870911 \"\"", "SETRANGE s 9223372036854775807 x",
          "SETRANGE nokey2 5 \"\"", "EXISTS nokey2", "SETRANGE nokey3 3 ab", "GET nokey3",
          "SETRANGE s 2 \"\"", "GET s", "SETRANGE s 1", "SET n 12345", "APPEND n 6",
          "INCR n", "SETRANGE n 0 9", "INCR n"]
    # the literal "" in the strings above means an empty argument
    run_script(server, oracle, [tuple("" if w == '""' else w for w in c.split()) for c in s], resp3=resp3)


@both_protocols
def test_incr_family(server, oracle, resp3):
    run_script(server, oracle, [
        "INCR c", "INCR c", "DECR c", "INCRBY c 10", "DECRBY c 3", "INCRBY c -100",
        "DECRBY c -7", "GET c",
        "SET c 9223372036854775806", "INCR c", "INCR c", "GET c", "INCRBY c -1",
        "SET c -9223372036854775807", "DECR c", "DECR c", "DECRBY c 1",
        "SET c 0", "DECRBY c -9223372036854775808", "INCRBY c -9223372036854775808",
        "INCRBY c 9223372036854775808", "INCRBY c 1.5", "INCRBY c abc", "INCRBY c \"\"",
        "INCRBY c", "INCR", "INCR c d",
        "SET s abc", "INCR s", "SET s 1.5", "INCR s", "SET s \" 1\"", "INCR s",
        "SET s 010", "INCR s", "SET s +1", "INCR s", "SET s -0", "INCR s", "SET s 00",
        "INCR s", "SET s 1e3", "INCR s", "SET s 12345678901234567890", "INCR s",
        "SET s 0x10", "INCR s", "SET s \"\"", "INCR s", "SET s 9223372036854775807",
        "DECR s", "GET s",
        "SET t 5", "EXPIRE t 100", "INCR t", "TTL t",
    ], resp3=resp3)


@both_protocols
def test_incrbyfloat_formatting(server, oracle, resp3):
    cases = [("10.5", "0.1"), ("5.0e3", "1"), ("0", "1e-5"), ("3.0", "0"), ("1", "-1"),
             ("0.1", "0.2"), ("-0", "0"), ("1e308", "1e308"), ("1.7e308", "1.7e308"),
             ("0", "1e4932"), ("10", "inf"), ("10", "-inf"), ("10", "nan"), ("10", "abc"),
             ("abc", "1"), ("10", ""), ("10", " 1"), ("10", "1 "), ("10", "0x10"),
             ("10", "1.5e"), ("10", "+1.5"), ("10", ".5"), ("10", "5."),
             ("123456789012345678", "1"), ("1", "1e-320"), ("2", "-1e-20"),
             ("3", "1.23456789012345678901234567890"), ("", "1"), ("1", "1e17"),
             ("0", "9007199254740993"), ("1.5", "-3")]
    script = []
    for start, inc in cases:
        script += [("SET", "f", start), ("INCRBYFLOAT", "f", inc), ("GET", "f")]
    script += [("DEL", "g"), ("INCRBYFLOAT", "g", "2.5"), ("INCRBYFLOAT", "g", "2.5"),
               ("INCRBYFLOAT", "g"), ("INCRBYFLOAT",), ("SET", "h", "7"),
               ("EXPIRE", "h", "100"), ("INCRBYFLOAT", "h", "0.5"), ("TTL", "h")]
    run_script(server, oracle, script, resp3=resp3)


# ---------------------------------------------------------------- keys

@both_protocols
def test_del_exists_type(server, oracle, resp3):
    run_script(server, oracle, [
        "MSET a 1 b 2 c 3", "EXISTS a", "EXISTS a a b zz", "DEL a zz", "DEL a",
        "UNLINK b c d", "EXISTS a b c", "TYPE a", "SET a 1", "TYPE a", "DEL", "UNLINK",
        "EXISTS", "TYPE", "TYPE a b", "MSET x 1 y 2", "DEL x x y", "DBSIZE",
    ], resp3=resp3)


@both_protocols
def test_expire_family(server, oracle, resp3):
    s = ["SET k v", "TTL k", "PTTL k", "EXPIRETIME k", "PEXPIRETIME k", "TTL no", "PTTL no",
         "EXPIRETIME no", "PEXPIRETIME no"]
    # NX XX GT LT against no TTL, then against a TTL, for every command
    for cmd, small, big in (("EXPIRE", "100", "1000"), ("PEXPIRE", "100000", "1000000"),
                            ("EXPIREAT", str(FAR_S), str(FAR_S + 1000)),
                            ("PEXPIREAT", str(FAR_MS), str(FAR_MS + 1000000))):
        for opt in ("NX", "XX", "GT", "LT"):
            s += ["SET k v", "%s k %s %s" % (cmd, big, opt), "TTL k",
                  "%s k %s %s" % (cmd, small, opt), "TTL k",
                  "%s k %s %s" % (cmd, big, opt), "TTL k", "EXPIRETIME k"]
        s += ["%s k %s NX XX" % (cmd, big), "%s k %s GT LT" % (cmd, big),
              "%s k %s NX GT" % (cmd, big), "%s k %s XX LT" % (cmd, big),
              "%s k %s FOO" % (cmd, big), "%s k abc" % cmd, "%s k 1.5" % cmd, "%s k" % cmd,
              "%s no %s" % (cmd, big), "%s k 9223372036854775807" % cmd,
              "%s k -9223372036854775808" % cmd, "%s k %s XX XX" % (cmd, big), "TTL k"]
    s += ["SET k v", "EXPIRE k 0", "EXISTS k", "SET k v", "EXPIRE k -10", "EXISTS k",
          "SET k v", "PEXPIRE k 0", "EXISTS k", "SET k v", "EXPIREAT k 1", "EXISTS k",
          "SET k v", "PEXPIREAT k 0", "EXISTS k",
          "SET k v", "EXPIRE k 100", "PERSIST k", "PERSIST k", "PERSIST no", "TTL k",
          "PERSIST", "TTL", "PTTL a b", "EXPIRETIME", "SET k v EX 100", "SET k v2", "TTL k",
          "SET k v", "EXPIRE k 9223372036854775", "EXPIRE k 9223372036854776",
          "PEXPIRE k 9223372036854775807", "EXPIREAT k 9223372036854775807",
          "PEXPIREAT k 9223372036854775807", "TTL k"]
    run_script(server, oracle, s, resp3=resp3)


@both_protocols
def test_rename(server, oracle, resp3):
    run_script(server, oracle, [
        "SET a 1", "RENAME a b", "GET a", "GET b", "RENAME a b", "RENAME b b", "GET b",
        "SET c 3", "EXPIRE c 100", "RENAME c d", "TTL d", "TTL c", "SET e 5", "RENAME e d",
        "TTL d", "GET d", "RENAMENX b d", "RENAMENX b f", "GET f", "RENAMENX f f",
        "RENAMENX zz yy", "RENAME", "RENAME a", "RENAMENX a b c",
    ], resp3=resp3)


@both_protocols
def test_keys_glob_patterns(server, oracle, resp3):
    keys = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "h[a]llo",
            "a", "b", "c", "ab", "abc", "key:1", "key:2", "key:10", "Key:3", "x\\y", "-", "^",
            "]", "[", "h\\llo", ""]
    script = [("SET", k, "v") for k in keys]
    for p in ["*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo",
              "h\\*llo", "h\\?llo", "h[*]llo", "key:*", "key:?", "[abc]", "[a-c]", "?", "??",
              "*o", "h*", "*l*", "x\\\\y", "[[]", "[]]", "[^a-z]*", "[\\]]", "K*", "k*",
              "key:[0-9]", "key:[!1]", "nomatch*", "", "h[", "h[a", "***", "*\\", "[]",
              "h[a-]llo", "[-]", "[\\-]"]:
        script.append(("KEYS", p))
    script += [("DBSIZE",), ("KEYS",), ("KEYS", "a", "b")]
    run_script(server, oracle, script, resp3=resp3)


def test_scan_matches_keys(server, oracle):
    """SCAN results (iterated to cursor 0, sorted) equal on both servers."""
    with Differ(server, oracle) as d:
        d("FLUSHALL")
        for i in range(300):
            d("SET", "sc:%d" % i, i)
        t, o = d.pair()
        for match in (None, "sc:1*", "sc:?", "nomatch"):
            sets = []
            for c in (t, o):
                seen, cursor, rounds = [], b"0", 0
                while True:
                    args = ["SCAN", cursor, "COUNT", "17"] + (["MATCH", match] if match else [])
                    r = decode(c.cmd(*args))
                    if not isinstance(r, list) or len(r) != 2:
                        d.record(args, repr(r).encode(), b"<a 2-element array>")
                        break
                    cursor, keys = r
                    seen += keys
                    rounds += 1
                    if cursor == b"0" or rounds > 1000:
                        break
                sets.append(sorted(seen))
            if sets[0] != sets[1]:
                d.record(["SCAN ... MATCH", str(match)], repr(sets[0][:20]).encode(),
                         repr(sets[1][:20]).encode())
        for args in (["SCAN"], ["SCAN", "abc"], ["SCAN", "0", "COUNT", "0"],
                     ["SCAN", "0", "COUNT", "abc"], ["SCAN", "0", "FOO", "1"],
                     ["SCAN", "0", "MATCH"], ["SCAN", "-1"]):
            ro, rt = o.cmd(*args), t.cmd(*args)
            if ro.startswith(b"-") or rt.startswith(b"-"):
                if rt != ro:
                    d.record(args, rt, ro)
    d.finish()


@both_protocols
def test_dbsize_flushdb_select_move_swapdb(server, oracle, resp3):
    run_script(server, oracle, [
        "MSET a 1 b 2", "DBSIZE", "SELECT 1", "DBSIZE", "SET a one", "GET a", "SELECT 0",
        "GET a", "SELECT 15", "SELECT 16", "SELECT -1", "SELECT abc", "SELECT", "SELECT 0",
        "MOVE a 1", "MOVE b 1", "GET b", "MOVE b 0", "MOVE nokey 1", "MOVE b 16", "MOVE b -1",
        "MOVE b abc", "SET t v EX 100", "MOVE t 2", "SELECT 2", "TTL t", "GET t", "SELECT 0",
        "SWAPDB 0 1", "GET a", "GET b", "DBSIZE", "SWAPDB 0 16", "SWAPDB 0 abc", "SWAPDB 0",
        "SWAPDB 1 1", "SELECT 1", "GET a", "DBSIZE", "FLUSHDB", "DBSIZE", "SELECT 0",
        "DBSIZE", "FLUSHDB FOO", "FLUSHDB ASYNC", "DBSIZE", "SET x 1", "FLUSHDB SYNC",
        "DBSIZE", "FLUSHALL", "SELECT 2", "DBSIZE", "SELECT 0",
    ], resp3=resp3)


def test_copy_touch_object_randomkey(server, oracle):
    run_script(server, oracle, [
        "SET a 1", "EXPIRE a 100", "COPY a b", "GET b", "TTL b", "COPY a b", "COPY a b REPLACE",
        "COPY a a", "COPY nokey x", "COPY a c DB 3", "SELECT 3", "GET c", "TTL c", "SELECT 0",
        "COPY a c DB 16", "COPY a c DB abc", "COPY a c FOO", "COPY a c DB", "COPY a",
        "TOUCH a b nokey", "TOUCH", "FLUSHDB", "RANDOMKEY", "SET x 1",
        "RANDOMKEY", "RANDOMKEY x",
        "SET i 12345", "OBJECT ENCODING i", "SET e hello", "OBJECT ENCODING e",
        "SET r " + "r" * 50, "OBJECT ENCODING r", "APPEND e !", "OBJECT ENCODING e",
        "SET n -9223372036854775808", "OBJECT ENCODING n", "SET f 1.5", "OBJECT ENCODING f",
        "SET z 0123", "OBJECT ENCODING z", "OBJECT ENCODING nokey", "OBJECT REFCOUNT e",
        "OBJECT FOO e", "OBJECT",
    ])


def test_wrongtype_with_a_stream(server, oracle):
    """String commands on a stream key and key commands on one (explicit ids only)."""
    run_script(server, oracle, [
        "XADD s 1-1 f v", "TYPE s", "GET s", "SET s x GET", "GETSET s x", "GETDEL s",
        "GETEX s", "APPEND s x", "STRLEN s", "GETRANGE s 0 1", "SETRANGE s 0 x", "INCR s",
        "DECRBY s 2", "INCRBYFLOAT s 1", "MGET s a", "SETNX s x", "MSETNX s x a y", "EXISTS a",
        "LCS s s", "EXPIRE s 100", "TTL s", "RENAME s s2", "TYPE s2", "COPY s2 s3", "TYPE s3",
        "XLEN s3", "SET s2 now-a-string", "TYPE s2", "XADD s2 1-1 f v", "OBJECT ENCODING s3",
        "KEYS s*", "DBSIZE",
    ])


# ---------------------------------------------------------------- transactions

@both_protocols
def test_multi_exec_discard(server, oracle, resp3):
    run_script(server, oracle, [
        "MULTI", "SET a 1", "INCR a", "GET a", "EXEC", "MULTI", "SET a 5", "DISCARD", "GET a",
        "EXEC", "DISCARD", "MULTI", "MULTI", "EXEC", "MULTI", "WATCH a", "EXEC",
        "MULTI", "SET s abc", "INCR s", "SET after ok", "EXEC", "GET after",
        "MULTI", "SET q 1", "NOSUCHCOMMAND x", "SET q 2", "EXEC", "GET q",
        "MULTI", "SET q 1", "GET", "EXEC", "GET q",
        "MULTI", "EXEC", "MULTI", "SELECT 1", "SET indb1 x", "EXEC", "GET indb1",
        "SELECT 1", "GET indb1", "SELECT 0",
        "MULTI", "PING", "ECHO hi", "EXEC", "MULTI", "DISCARD", "DISCARD",
        "MULTI", "SET k v EX 0", "GET k", "EXEC",
        "MULTI", "INCRBYFLOAT f 1.5", "INCRBYFLOAT f abc", "GET f", "EXEC",
        "MULTI a", "EXEC a", "DISCARD a",
    ], resp3=resp3)


def test_watch(server, oracle):
    d = Differ(server, oracle)

    def a(*cmd):
        d(*cmd)

    def b(*cmd):
        d("@1", *cmd)
    try:
        a("FLUSHALL")
        # a watched key touched by another connection aborts EXEC (null array)
        a("SET", "w", "1"), a("WATCH", "w"), b("SET", "w", "2")
        a("MULTI"), a("SET", "w", "3"), a("EXEC"), a("GET", "w")
        # untouched: EXEC runs; EXEC also unwatches
        a("WATCH", "w"), a("MULTI"), a("INCR", "w"), a("EXEC"), b("SET", "w", "9")
        a("MULTI"), a("INCR", "w"), a("EXEC")
        # a missing watched key created elsewhere
        a("WATCH", "new"), b("SET", "new", "x"), a("MULTI"), a("GET", "new"), a("EXEC")
        # touched by the same connection, by DEL, EXPIRE, FLUSHDB, RENAME, APPEND
        for touch in (("SET", "w", "0"), ("DEL", "w"), ("EXPIRE", "w", "100"),
                      ("FLUSHDB",), ("RENAME", "w", "w2"), ("APPEND", "w", "x"),
                      ("INCR", "w"), ("SWAPDB", "0", "1"), ("MOVE", "w", "3")):
            a("FLUSHALL"), a("SET", "w", "5")
            a("WATCH", "w"), b(*touch), a("MULTI"), a("GET", "w"), a("EXEC")
        # a write that does not change the key's value still touches it
        a("SET", "w", "5"), a("WATCH", "w"), b("SET", "w", "5"), a("MULTI"), a("PING")
        a("EXEC")
        # read-only access does not touch
        a("WATCH", "w"), b("GET", "w"), b("EXISTS", "w"), b("TTL", "w"), a("MULTI")
        a("PING"), a("EXEC")
        # UNWATCH forgets; DISCARD forgets
        a("WATCH", "w"), a("UNWATCH"), b("SET", "w", "x"), a("MULTI"), a("PING"), a("EXEC")
        a("WATCH", "w"), b("SET", "w", "y"), a("MULTI"), a("DISCARD"), a("MULTI"), a("PING")
        a("EXEC")
        # several watched keys, one touched; WATCH with no key; WATCH in MULTI
        a("WATCH", "w", "v", "u"), b("SET", "u", "1"), a("MULTI"), a("PING"), a("EXEC")
        a("WATCH"), a("MULTI"), a("WATCH", "w"), a("EXEC")
        # a key that expires inside the transaction window is not our concern here;
        # a watched key in another db touched there
        a("SELECT", "4"), a("SET", "dbk", "1"), a("WATCH", "dbk"), b("SELECT", "4")
        b("SET", "dbk", "2"), b("SELECT", "0"), a("MULTI"), a("GET", "dbk"), a("EXEC")
        a("SELECT", "0")
        # a watched key touched in the other db name-alike is not touched
        a("SET", "same", "1"), a("WATCH", "same"), b("SELECT", "5"), b("SET", "same", "2")
        b("SELECT", "0"), a("MULTI"), a("GET", "same"), a("EXEC")
    finally:
        d.close()
    d.finish()


# ---------------------------------------------------------------- connection

ARITY_CASES = [
    "GET", "GET a b", "SET a", "SETNX a", "SETEX a 1", "PSETEX a 1", "GETSET a", "GETDEL",
    "GETEX", "MGET", "MSET", "MSET a", "MSETNX a", "APPEND a", "STRLEN", "GETRANGE a 1",
    "SETRANGE a 1", "INCR", "DECR a b", "INCRBY a", "DECRBY a", "INCRBYFLOAT a",
    "DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE a", "PEXPIRE a", "EXPIREAT a", "PEXPIREAT a",
    "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST", "RENAME a", "RENAMENX a",
    "KEYS", "DBSIZE x", "SELECT", "MOVE a", "SWAPDB 0", "ECHO", "ECHO a b", "PING a b",
    "MULTI x", "EXEC x", "DISCARD x", "WATCH", "UNWATCH x", "FLUSHDB a b c", "SCAN",
]


@both_protocols
def test_connection_and_arity(server, oracle, resp3):
    s = ["PING", "PING hello", "ping", "PiNg", "ECHO hi", "ECHO \"\"", "echo x"]
    s += ARITY_CASES
    s += [c.lower() for c in ARITY_CASES[:10]]
    s += ["gEt a", "SeT a 1", "gEt a", "InCr a", "mGeT a b"]
    s += ["FOO", "foo a b", "FoO 1 2 3 4 5 6 7 8 9 10 11 12",
          "foo " + "x" * 200, "foo " + " ".join("arg%d" % i for i in range(60)),
          "GET\x00 a", "\"\"", "CONFIGX get", "PING\x01"]
    script = [tuple("" if w == '""' else w for w in c.split(" ")) for c in s]
    script.append((b"GE\xffT", b"a"))
    run_script(server, oracle, script, resp3=resp3)


def test_client_kill_filters(server, oracle):
    # Filters come in pairs; a lone trailing word is a syntax error once the pairs
    # before it were checked (respite once read past argv on the odd forms).
    run_script(server, oracle, ["CLIENT KILL ID 999999", "CLIENT KILL ID 999999 SKIPME", "CLIENT KILL ID 0 SKIPME",
                "CLIENT KILL ID 999999 SKIPME no", "CLIENT KILL ID 999999 SKIPME maybe",
                "CLIENT KILL SKIPME yes TYPE", "CLIENT KILL TYPE bogus ID", "CLIENT KILL ID x",
                "CLIENT KILL ADDR 1.2.3.4:5", "CLIENT KILL ADDR 1.2.3.4:5 LADDR",
                "CLIENT KILL USER default", "CLIENT KILL USER nobody SKIPME",
                "CLIENT KILL TYPE pubsub", "CLIENT KILL 1.2.3.4:5", "CLIENT KILL BOGUS 1",
                "CLIENT KILL BOGUS 1 2", "PING"])


def test_server_command_edges(server, oracle):
    # SHUTDOWN forms that must not shut down (nor shut down: ABORT without a shutdown),
    # COMMAND GETKEYS arity, COMMAND INFO of an unknown name, INCRBYFLOAT's result
    # staying a string, the INFO sections of a server without modules or cluster.
    run_script(server, oracle, ["SHUTDOWN SAVE NOSAVE", "SHUTDOWN NOSAVE SAVE", "SHUTDOWN ABORT NOW",
                "SHUTDOWN ABORT FORCE", "SHUTDOWN NOSAVE ABORT", "SHUTDOWN ABORT", "SHUTDOWN FOO",
                "COMMAND GETKEYS get", "COMMAND GETKEYS ping", "COMMAND GETKEYS ping x",
                "COMMAND GETKEYS set a b", "COMMAND GETKEYS nosuch a", "COMMAND INFO nosuch",
                "SET f 5", "INCRBYFLOAT f 5", "OBJECT ENCODING f", "INCRBYFLOAT g 3",
                "OBJECT ENCODING g", "INCR g", "OBJECT ENCODING g", "INCRBYFLOAT h 1.5",
                "OBJECT ENCODING h", "INFO cluster", "INFO modules", "PING"])


def test_client_list_shows_the_current_command(server, oracle):
    for srv in (server, oracle):
        c = srv.conn()
        try:
            c.cmd("SELECT", "1")
            for cmd, want in ((("CLIENT", "LIST"), b"cmd=client|list "),
                              (("CLIENT", "INFO"), b"cmd=client|info ")):
                r = c.cmd(*cmd)
                check(want in r, "%s: %s gave %r" % (srv.name, " ".join(cmd), r[:300]))
            c.cmd("NOSUCHCMD")
            c2 = srv.conn()
            try:
                r = c2.cmd("CLIENT", "LIST")
                check(r.count(b"cmd=NULL ") == 1, "%s: the unknown command's client: %r" % (srv.name, r[:600]))
            finally:
                c2.close()
        finally:
            c.close()


def test_inline_commands_match(server, oracle):
    with Differ(server, oracle) as d:
        for line in (b"PING\r\n", b"SET in \"a\\x41b\"\r\n", b"GET in\r\n",
                     b"SET in2 'x\\'y'\r\n", b"GET in2\r\n", b"ECHO \"\\t\\r\\n\\\\\"\r\n",
                     b"foo bar\r\n", b"GET\r\n", b"  ECHO   spaced   \r\n",
                     b"ECHO \"\\xzz\"\r\n", b"ECHO \"\\x4\"\r\n", b"MGET in in2 none\r\n"):
            d.raw(line)
    d.finish()


# ---------------------------------------------------------------- random sequences

KEYS_POOL = ["r:a", "r:b", "r:c", "r:d", "r:e"]
VALUES = ["", "0", "1", "-1", "10", "abc", "3.5", "-0", "1e3", "9223372036854775807",
          "-9223372036854775808", "18446744073709551616", " 1", "0x1f", "hello world",
          "007", "+5", "1.5e2", "inf", "\x00\xff", "999999999999999999"]
INTS = ["0", "1", "-1", "5", "-100", "4611686018427387904", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808", "abc", "1.5", "", "+1", "007", "3 "]
FLOATS = ["0.1", "-1.5", "1e3", "abc", "5.0e3", "1e-5", "inf", "1e308", "-0", "10", "",
          "0.30000000000000004", "-1e308", "3"]
OFFSETS = ["0", "1", "2", "3", "-1", "-2", "-5", "10", "100", "-100", "abc",
           "9223372036854775807", "-9223372036854775808"]
REL_S = ["100", "300", "0", "-1", "abc", "9223372036854775807"]
FUTURE_S = [str(FAR_S + i * 1000) for i in range(4)]
# A past time deletes at once in EXPIREAT and GETEX, but SET ... EXAT <past> leaves an
# already-expired key that DBSIZE counts until active expiry reaps it: not for SET.
ABS_S = FUTURE_S + ["1", "0"]


def random_command(rng):
    """One random command over the small key pool (see the module comment for why
    expiries are relative only where no GT/LT comparison can observe timing)."""
    k = rng.choice(KEYS_POOL)
    k2 = rng.choice(KEYS_POOL)
    v = rng.choice(VALUES) if rng.random() < 0.8 else "v%d" % rng.randrange(100)
    r = rng.random
    op = rng.randrange(40)
    if op < 4:
        opts = []
        for _ in range(rng.randrange(3)):
            opts += rng.choice([["NX"], ["XX"], ["GET"], ["KEEPTTL"], ["EX", rng.choice(REL_S)],
                                ["PX", rng.choice(["100000", "0", "-5"])],
                                ["EXAT", rng.choice(FUTURE_S)],
                                ["PXAT", rng.choice(FUTURE_S) + "000"]])
        return ["SET", k, v] + opts
    if op < 7:
        return ["GET", k]
    if op == 7:
        return ["SETNX", k, v]
    if op == 8:
        return ["GETSET", k, v]
    if op == 9:
        return ["GETDEL", k]
    if op == 10:
        o = rng.choice([[], ["PERSIST"], ["EX", rng.choice(REL_S)], ["EXAT", rng.choice(ABS_S)],
                        ["PX", "200000"], ["FOO"]])
        return ["GETEX", k] + o
    if op == 11:
        return ["MGET"] + rng.sample(KEYS_POOL, rng.randrange(1, 4))
    if op == 12:
        ks = rng.sample(KEYS_POOL, rng.randrange(1, 3))
        return [rng.choice(["MSET", "MSETNX"])] + [x for kk in ks for x in (kk, rng.choice(VALUES))]
    if op in (13, 14):
        return ["APPEND", k, v]
    if op == 15:
        return ["STRLEN", k]
    if op == 16:
        return ["GETRANGE", k, rng.choice(OFFSETS), rng.choice(OFFSETS)]
    if op == 17:
        off = rng.choice(["0", "1", "3", "7", "20", "-1", "abc"])
        return ["SETRANGE", k, off, rng.choice(["", "x", "yz", "hello"])]
    if op in (18, 19):
        return [rng.choice(["INCR", "DECR"]), k]
    if op in (20, 21):
        return [rng.choice(["INCRBY", "DECRBY"]), k, rng.choice(INTS)]
    if op == 22:
        return ["INCRBYFLOAT", k, rng.choice(FLOATS)]
    if op == 23:
        return [rng.choice(["DEL", "UNLINK", "EXISTS"])] + rng.sample(KEYS_POOL, rng.randrange(1, 3))
    if op == 24:
        return ["TYPE", k]
    if op == 25:
        return ["EXPIRE", k, rng.choice(REL_S)] + ([rng.choice(["NX", "XX"])] if r() < 0.5 else [])
    if op == 26:
        return ["PEXPIRE", k, rng.choice(["100000", "200000", "0", "-3"])] + \
            ([rng.choice(["NX", "XX"])] if r() < 0.5 else [])
    if op == 27:
        return ["EXPIREAT", k, rng.choice(ABS_S)] + \
            ([rng.choice(["NX", "XX", "GT", "LT"])] if r() < 0.7 else [])
    if op == 28:
        return ["PEXPIREAT", k, rng.choice(ABS_S) + "000"] + \
            ([rng.choice(["NX", "XX", "GT", "LT"])] if r() < 0.7 else [])
    if op == 29:
        return [rng.choice(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), k]
    if op == 30:
        return ["PERSIST", k]
    if op == 31:
        return [rng.choice(["RENAME", "RENAMENX"]), k, k2]
    if op == 32:
        return ["DBSIZE"]
    if op == 33:
        return ["KEYS", rng.choice(["*", "r:?", "r:[a-c]", "r:[^a]", "x*"])]
    if op == 34:
        return ["SETEX", k, rng.choice(REL_S), v]
    if op == 35:
        return ["PSETEX", k, rng.choice(["100000", "0", "-1"]), v]
    if op == 36:
        return ["MOVE", k, rng.choice(["1", "2", "0", "16"])]
    if op == 37:
        return ["SELECT", rng.choice(["0", "0", "0", "1", "2"])]
    if op == 38:
        return ["SWAPDB", rng.choice(["0", "1"]), rng.choice(["1", "2"])]
    if op == 39 and r() < 0.5:      # streams with explicit ids make WRONGTYPE cases
        return rng.choice([["XADD", k, rng.choice(["1-1", "2-0", "5", "0-1"]), "f", v],
                           ["XLEN", k], ["COPY", k, k2] + (["REPLACE"] if r() < 0.5 else []),
                           ["TOUCH", k, k2], ["LCS", k, k2]])
    return [rng.choice(["GET", "SET", "INCR", "EXPIRE", "MSET", "GETRANGE", "ECHO"])] + \
        [k] * rng.randrange(0, 5)


UNSAFE_IN_MULTI = {"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "KEYS"}


def random_block(rng):
    """The next steps of a seeded random sequence: one random command, or (3%) a
    MULTI block of a few of them ended by EXEC or DISCARD."""
    if rng.random() < 0.03:
        block = [random_command(rng) for _ in range(rng.randrange(1, 5))]
        block = [c for c in block if c[0] not in UNSAFE_IN_MULTI]
        return [["MULTI"]] + block + [[rng.choice(["EXEC", "EXEC", "DISCARD"])]]
    return [random_command(rng)]


@pytest.mark.parametrize("seed,n,resp3", [(1, 1000, False), (2, 1000, False),
                                          (3, 1000, False), (4, 1000, False),
                                          (5, 1000, False), (6, 1500, True)])
def test_random(server, oracle, seed, n, resp3):
    diff_random(server, oracle, seed, n, random_block, resp3=resp3, tolerant=True)


def _inline_ok(cmd):
    return all(a and all(33 <= ch < 127 and ch not in b"\"'\\" for ch in a) for a in cmd)


def test_random_pipelined_seed_7(server, oracle):
    """2000 random commands written to each server in one buffer (simple ones in inline
    form), then the 2000 replies read and compared one by one."""
    rng = random.Random(7)
    cmds = []
    while len(cmds) < 2000:
        c = harness.split_step(random_command(rng))[1]
        if c[0] not in (b"SELECT", b"SWAPDB", b"MOVE"):
            cmds.append(c)
    req = b"".join(b" ".join(c) + b"\r\n" if _inline_ok(c) and i % 2 else harness.encode(*c)
                   for i, c in enumerate(cmds))
    with Differ(server, oracle, limit=1) as d:
        d("FLUSHALL")
        t, o = d.pair()
        o.send(req)
        t.send(req)
        for i, c in enumerate(cmds):
            ro = o.reply()
            rt = t.reply()
            if not same_reply([], c, rt, ro, tolerant=True):
                d.record(c, rt, ro)
                d.finish(" at pipelined command #%d; the commands before it:\n%s" % (
                    i, "\n".join("    %r" % (x,) for x in cmds[max(0, i - 10):i])))
