"""test_client_ctl.py: CLIENT UNBLOCK, REPLY, NO-EVICT, PAUSE and UNPAUSE against Debian's
redis-server 7.0.15.

Differential cases compare every reply and error byte of the subcommands; behaviour tests
drive several connections the same way on both servers and compare what each connection
received: UNBLOCK (TIMEOUT and ERROR) of BLPOP, BZPOPMIN, XREAD and XREADGROUP, REPLY
OFF/SKIP/ON in pipelines (raw sockets: exactly which replies arrive, also on the io_uring
write path), PAUSE WRITE holding a SET while a GET runs, PAUSE ALL holding everything
until its timeout, held commands released in order, which commands WRITE holds, keys
that do not expire while paused, and a client that disconnects while held.

Not sent to redis-server: CLIENT UNBLOCK of a client held by a pause (7.0.15 crashes on
it; respite answers :0).
"""

import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, decode, diff_case, encode, eq, wait_until  # noqa: E402

DEADLINE = 20.0
NO_ID = "999999999"

CASES = [
    ("reply_errors", ["CLIENT REPLY", "CLIENT REPLY foo", "CLIENT REPLY on x", "CLIENT REPLY ON", "client reply On"]),
    ("unblock_errors", ["CLIENT UNBLOCK", "CLIENT UNBLOCK abc", "CLIENT UNBLOCK 1 foo", "CLIENT UNBLOCK abc foo",
                        "CLIENT UNBLOCK -1", "CLIENT UNBLOCK " + NO_ID, "CLIENT UNBLOCK %s error" % NO_ID,
                        "CLIENT UNBLOCK %s TIMEOUT" % NO_ID, "CLIENT UNBLOCK %s timeout x" % NO_ID,
                        "client UnBlock 1 2 3", "CLIENT UNBLOCK 1.5", "CLIENT UNBLOCK 99999999999999999999"]),
    ("unblock_zero", ["CLIENT UNBLOCK 0", "CLIENT UNBLOCK 0 ERROR"]),
    ("no_evict", ["CLIENT NO-EVICT", "CLIENT NO-EVICT on", "CLIENT NO-EVICT OFF", "CLIENT NO-EVICT x",
                  "CLIENT NO-EVICT on off", "client no-evict ON"]),
    ("pause_errors", ["CLIENT PAUSE", "CLIENT PAUSE abc", "CLIENT PAUSE -1", "CLIENT PAUSE 0 foo",
                      "CLIENT PAUSE abc foo", "CLIENT PAUSE 1.5", "CLIENT PAUSE 99999999999999999999",
                      "CLIENT PAUSE 9223372036854775807", "CLIENT PAUSE 0 write x", "CLIENT PAUSE -1 bad",
                      "CLIENT UNPAUSE x", "CLIENT UNPAUSE"]),
    ("pause_zero", ["CLIENT PAUSE 0 WRITE", "SET k v", "GET k", "CLIENT PAUSE 0 all", "GET k", "CLIENT PAUSE 0",
                    "INCR n", "CLIENT UNPAUSE", "CLIENT UNPAUSE"]),
    ("in_multi", ["MULTI", "CLIENT UNBLOCK 1 bad", "CLIENT NO-EVICT on", "CLIENT PAUSE 0 WRITE", "SET k v",
                  "CLIENT UNPAUSE", "EXEC", "GET k"]),
]


@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps):
    diff_case(server, oracle, steps)


def test_help(server, oracle):
    """CLIENT HELP is Redis 7.0's, with SETINFO's entry (a 7.2 command) added."""
    with server.conn() as t, oracle.conn() as o:
        got, want = decode(t.cmd("CLIENT", "HELP")), decode(o.cmd("CLIENT", "HELP"))
    if b"SETINFO <LIB-NAME|LIB-VER> <value>" in got:
        i = got.index(b"SETINFO <LIB-NAME|LIB-VER> <value>")
        got = got[:i] + got[i + 2:]
    eq(got, want, "CLIENT HELP without SETINFO")
    for word in (b"UNBLOCK <clientid> [TIMEOUT|ERROR]", b"REPLY (ON|OFF|SKIP)", b"NO-EVICT (ON|OFF)",
                 b"PAUSE <timeout> [WRITE|ALL]", b"UNPAUSE"):
        check(word in got, "CLIENT HELP lists %r" % word)


def test_no_evict_flag(server, oracle):
    """CLIENT LIST/INFO show NO-EVICT as flag e."""
    for srv in (server, oracle):
        with srv.conn() as c:
            c.cmd("CLIENT", "NO-EVICT", "ON")
            check(b" flags=e " in c.cmd("CLIENT", "INFO"), "%s: flags=e" % srv.name)
            c.cmd("RESET")
            check(b" flags=e " in c.cmd("CLIENT", "INFO"), "%s: flags=e after RESET" % srv.name)
            c.cmd("CLIENT", "NO-EVICT", "OFF")
            check(b" flags=N " in c.cmd("CLIENT", "INFO"), "%s: flags=N" % srv.name)


# ---------------------------------------------------------------- helpers

def info_clients(c):
    text = decode(c.cmd("INFO", "clients"))
    return dict(line.split(":", 1) for line in text.decode().split("\r\n") if ":" in line)


def wait_blocked(c, n, what):
    wait_until(lambda: int(info_clients(c)["blocked_clients"]) == n, DEADLINE, what)


def read_until(c, tail, what):
    """Everything c receives up to and including the bytes tail."""
    end = time.monotonic() + DEADLINE
    while not bytes(c.buf[c.pos:]).endswith(tail):
        check(time.monotonic() < end, "%s: got only %r" % (what, bytes(c.buf[c.pos:])))
        if c.has_pending(0.05):
            c._fill()
    data = bytes(c.buf[c.pos:])
    c.pos = len(c.buf)
    return data


def both(server, oracle, fn, *args):
    """fn(srv, *args) on both servers; the results must be equal. Returns respite's."""
    got, want = fn(server, *args), fn(oracle, *args)
    eq(got, want, "%s%r: respite vs redis-server" % (fn.__name__, args))
    return got


# ---------------------------------------------------------------- CLIENT UNBLOCK

BLOCKERS = {
    "blpop": ([], ("BLPOP", "l1", "l2", "0")),
    "bzpopmin": ([("SET", "str", "x")], ("BZPOPMIN", "z", "0")),
    "xread": ([("XADD", "s", "1-1", "f", "v")], ("XREAD", "BLOCK", "0", "STREAMS", "s", "$")),
    "xreadgroup": ([("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")],
                   ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")),
    "blmove_timeout": ([], ("BLMOVE", "a", "b", "LEFT", "RIGHT", "100")),
}


def unblock_flow(srv, name, mode, resp3):
    setup, blocker = BLOCKERS[name]
    with srv.conn() as a, srv.conn() as b:
        a.cmd("FLUSHALL")
        a.cmd("CONFIG", "RESETSTAT")
        for s in setup:
            a.cmd(*s)
        if resp3:
            b.cmd("HELLO", "3")
        bid = str(b.call("CLIENT", "ID"))
        b.send(encode(*blocker) + encode("PING", "after"))
        wait_blocked(a, 1, "%s blocked" % name)
        out = [a.cmd("CLIENT", "UNBLOCK", bid, *mode), b.reply(), b.reply(), a.cmd("CLIENT", "UNBLOCK", bid)]
        out.append(info_clients(a)["blocked_clients"])
        stats = decode(a.cmd("INFO", "errorstats")).decode()
        out.append([line for line in stats.split("\r\n") if "UNBLOCKED" in line])
        # the client goes on normally: it can block again and be served
        b.send(encode(*blocker))
        wait_blocked(a, 1, "%s blocked again" % name)
        a.cmd("MULTI")
        a.cmd("CLIENT", "UNBLOCK", bid)
        out.append(a.cmd("EXEC"))
        out.append(b.reply())
    return out


@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
@pytest.mark.parametrize("mode", [(), ("TIMEOUT",), ("error",)], ids=["default", "timeout", "error"])
@pytest.mark.parametrize("name", sorted(BLOCKERS))
def test_unblock(server, oracle, name, mode, resp3):
    got = both(server, oracle, unblock_flow, name, mode, resp3)
    eq(got[0], b":1\r\n", "first UNBLOCK")
    eq(got[3], b":0\r\n", "second UNBLOCK")


def test_unblock_under_reply_skip(server, oracle):
    """A blocked command's reply is dropped under CLIENT REPLY SKIP, however it ends."""
    def flow(srv):
        with srv.conn() as a, srv.conn() as b:
            a.cmd("DEL", "l")
            bid = str(b.call("CLIENT", "ID"))
            b.send(encode("CLIENT", "REPLY", "SKIP") + encode("BLPOP", "l", "0") + encode("PING", "x"))
            wait_blocked(a, 1, "BLPOP blocked")
            r = [a.cmd("CLIENT", "UNBLOCK", bid, "ERROR"), b.reply()]
            b.send(encode("CLIENT", "REPLY", "SKIP") + encode("BLPOP", "l", "0") + encode("PING", "y"))
            wait_blocked(a, 1, "BLPOP blocked")
            r += [a.cmd("RPUSH", "l", "v"), b.reply()]
            b.send(encode("CLIENT", "REPLY", "OFF") + encode("BLPOP", "l", "0") + encode("CLIENT", "REPLY", "ON"))
            wait_blocked(a, 1, "BLPOP blocked")
            r += [a.cmd("CLIENT", "UNBLOCK", bid), b.reply()]
            check(not b.has_pending(0.05), "nothing more for b")
            return r
    eq(both(server, oracle, flow), [b":1\r\n", b"$1\r\nx\r\n", b":1\r\n", b"$1\r\ny\r\n", b":1\r\n", b"+OK\r\n"],
       "replies")


def test_unblock_disconnected_and_killed(server, oracle):
    def flow(srv):
        with srv.conn() as a:
            b = srv.conn()
            bid = str(b.call("CLIENT", "ID"))
            b.send(encode("BLPOP", "l", "0"))
            wait_blocked(a, 1, "BLPOP blocked")
            b.close()
            wait_blocked(a, 0, "closed client gone")
            return [a.cmd("CLIENT", "UNBLOCK", bid), a.cmd("LPUSH", "l", "v"), a.cmd("LPOP", "l")]
    both(server, oracle, flow)


# ---------------------------------------------------------------- CLIENT REPLY

BIG = "x" * 70000
PIPELINES = [
    ("skip_off_on", [("CLIENT", "REPLY", "SKIP"), ("PING", "1"), ("PING", "2"), ("CLIENT", "REPLY", "OFF"),
                     ("PING", "3"), ("CLIENT", "REPLY", "SKIP"), ("PING", "4"), ("CLIENT", "REPLY", "ON"),
                     ("PING", "5")], b"$1\r\n2\r\n+OK\r\n$1\r\n5\r\n"),
    ("skip_skip", [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("PING", "1"), ("PING", "2")],
     b"$1\r\n2\r\n"),
    ("multi", [("MULTI",), ("CLIENT", "REPLY", "OFF"), ("PING", "a"), ("CLIENT", "REPLY", "ON"), ("PING", "b"),
               ("EXEC",), ("PING", "c")],
     b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+OK\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    ("off_then_exec_on", [("CLIENT", "REPLY", "OFF"), ("MULTI",), ("PING", "a"), ("CLIENT", "REPLY", "ON"),
                          ("PING", "b"), ("EXEC",), ("PING", "c")], b"+OK\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    ("skip_multi", [("CLIENT", "REPLY", "SKIP"), ("MULTI",), ("PING", "x"), ("EXEC",)], b"+QUEUED\r\n*1\r\n$1\r\nx\r\n"),
    ("skip_errors", [("CLIENT", "REPLY", "SKIP"), ("NOSUCH",), ("CLIENT", "REPLY", "SKIP"), ("GET",),
                     ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "bad"), ("PING", "y")], b"$1\r\ny\r\n"),
    ("skip_timeout", [("CLIENT", "REPLY", "SKIP"), ("BLPOP", "nolist", "0.05"), ("PING", "after")],
     b"$5\r\nafter\r\n"),
    ("reset", [("CLIENT", "REPLY", "OFF"), ("RESET",), ("PING", "a"), ("CLIENT", "REPLY", "SKIP"), ("RESET",),
               ("PING", "b"), ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "ON"),
               ("PING", "c")], b"+RESET\r\n$1\r\na\r\n$1\r\nb\r\n+OK\r\n$1\r\nc\r\n"),
    ("big_off", [("CLIENT", "REPLY", "OFF"), ("SET", "big", BIG), ("GET", "big"), ("GET", "big"),
                 ("CLIENT", "REPLY", "ON"), ("STRLEN", "big")], b"+OK\r\n:70000\r\n"),
    ("big_skip_between", [("SET", "big", BIG), ("GET", "big"), ("CLIENT", "REPLY", "SKIP"), ("GET", "big"),
                          ("GETRANGE", "big", "0", "2")],
     b"+OK\r\n$70000\r\n" + BIG.encode() + b"\r\n$3\r\nxxx\r\n"),
]


def pipeline_flow(srv, cmds, resp3=False):
    with srv.conn() as c:
        if resp3:
            c.cmd("HELLO", "3")
        c.send(b"".join(encode(*x) for x in cmds) + encode("ECHO", "end-of-pipeline"))
        got = read_until(c, b"$15\r\nend-of-pipeline\r\n", "pipeline")
        check(not c.has_pending(0.05), "nothing after the pipeline's end")
        return got[:-len(b"$15\r\nend-of-pipeline\r\n")]


@pytest.mark.parametrize("case", PIPELINES, ids=[p[0] for p in PIPELINES])
def test_reply_pipeline(server, oracle, case):
    _, cmds, want = case
    eq(both(server, oracle, pipeline_flow, cmds), want, "what arrives")


def test_reply_io_uring(make_server, oracle):
    """The io_uring write path sends what the common path does."""
    if harness.is_oracle_under_test():
        pytest.skip("io-uring is respite's")
    srv = make_server(args=["--io-uring", "yes"])
    for _, cmds, want in PIPELINES:
        eq(pipeline_flow(srv, cmds), want, "io-uring yes: what arrives")


def test_reply_off_keeps_pushes(server, oracle):
    """Pushes are not replies: CLIENT REPLY OFF drops neither Pub/Sub messages (from
    others or from the client itself), nor (un)subscribe confirmations (RESP2 too), nor
    tracking invalidations."""
    def flow(srv):
        r = []
        with srv.conn() as s, srv.conn() as p:
            s.cmd("FLUSHALL")
            s.cmd("HELLO", "3")
            r.append(s.cmd("SUBSCRIBE", "ch"))
            s.send(encode("CLIENT", "REPLY", "OFF") + encode("PING", "hidden"))
            wait_until(lambda: b"cmd=ping" in p.cmd("CLIENT", "LIST"), DEADLINE, "REPLY OFF and PING run")
            r += [p.cmd("PUBLISH", "ch", "m"), s.reply()]
            r.append(pipeline_flow_on(s, [("PUBLISH", "ch", "self"), ("PING", "x"), ("CLIENT", "REPLY", "ON"),
                                          ("PING", "y")]))
        with srv.conn() as s2, srv.conn() as p:
            r.append(pipeline_flow_on(s2, [("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "c2"), ("UNSUBSCRIBE", "c2"),
                                           ("CLIENT", "REPLY", "ON")]))
        with srv.conn() as s3:
            s3.cmd("HELLO", "3")
            s3.cmd("CLIENT", "TRACKING", "ON")
            r.append(pipeline_flow_on(s3, [("GET", "tk"), ("CLIENT", "REPLY", "OFF"), ("SET", "tk", "1"),
                                           ("CLIENT", "REPLY", "ON"), ("GET", "tk")]))
        return r
    got = both(server, oracle, flow)
    eq(got[2], b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n", "message while OFF")


def pipeline_flow_on(c, cmds):
    """Send cmds and an ECHO; what arrives before the ECHO's reply."""
    c.send(b"".join(encode(*x) for x in cmds) + encode("ECHO", "end-of-pipeline"))
    return read_until(c, b"$15\r\nend-of-pipeline\r\n", "pipeline")[:-len(b"$15\r\nend-of-pipeline\r\n")]


# ---------------------------------------------------------------- CLIENT PAUSE

def test_pause_write_holds_set_runs_get(server, oracle):
    def flow(srv):
        with srv.conn() as a, srv.conn() as b, srv.conn() as c:
            a.cmd("FLUSHALL")
            r = [a.cmd("CLIENT", "PAUSE", "100000", "WRITE")]
            b.send(encode("SET", "k", "v") + encode("GET", "k"))
            wait_blocked(a, 1, "SET held")
            r += [c.cmd("GET", "k"), c.cmd("PING"), c.cmd("EVAL", "#!lua flags=no-writes\nreturn 1", "0")]
            cl = [line for line in decode(a.cmd("CLIENT", "LIST")).split(b"\n") if b"cmd=set" in line]
            r.append(b" flags=b " in cl[0])
            r.append(info_clients(a)["clients_in_timeout_table"])
            check(not b.has_pending(0.05), "SET still held")
            r += [a.cmd("CLIENT", "UNPAUSE"), b.reply(), b.reply(), c.cmd("GET", "k")]
            r.append(info_clients(a)["blocked_clients"])
            return r
    both(server, oracle, flow)


def test_pause_write_releases_in_order(server, oracle):
    """Held clients go on in the order they were held, each with its pipelined rest."""
    def flow(srv):
        with srv.conn() as a:
            a.cmd("FLUSHALL")
            a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
            conns = [srv.conn() for _ in range(5)]
            for i, c in enumerate(conns):
                c.send(encode("APPEND", "k", str(i)) + encode("GET", "k"))
                wait_blocked(a, i + 1, "%d held" % (i + 1))
            r = [a.cmd("GET", "k"), a.cmd("CLIENT", "UNPAUSE")]
            for c in conns:
                r += [c.reply(), c.reply()]
                c.close()
            r.append(a.cmd("GET", "k"))
            return r
    got = both(server, oracle, flow)
    eq(got[-1], b"$5\r\n01234\r\n", "order")


def test_pause_write_what_is_held(server, oracle):
    """WRITE holds writes and may-replicate commands (PUBLISH, PFCOUNT, scripts that may
    write), EXEC of those, and queueing a write in MULTI; the rest runs."""
    lib = "#!lua name=lib\nredis.register_function{function_name='ro', callback=function() return 1 end, " \
          "flags={'no-writes'}}\nredis.register_function('rw', function() return 2 end)"
    cmds = [("PUBLISH", "c", "m"), ("SPUBLISH", "c", "m"), ("PFCOUNT", "h"), ("EVAL", "return 1", "0"),
            ("EVAL", "#!lua flags=no-writes\nreturn 1", "0"), ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
            ("EVAL_RO", "return 1", "0"), ("FCALL", "ro", "0"), ("FCALL", "rw", "0"), ("FCALL", "nosuch", "0"),
            ("FCALL_RO", "ro", "0"), ("SCRIPT", "LOAD", "return 2"), ("GET", "k"), ("SET", "k", "v"), ("PING",),
            ("FLUSHALL",), ("SWAPDB", "0", "1"), ("WAIT", "0", "0"), ("SORT_RO", "l"), ("PFADD", "h", "y"),
            ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"), ("CLIENT", "GETNAME"), ("SELECT", "0"),
            ("FUNCTION", "FLUSH"), ("SUBSCRIBE", "x"), ("NOSUCH",), ("GET",),
            ("MULTI",), ("EXPIRE", "k", "100"), ("OBJECT", "FREQ", "k")]
    multis = [[("MULTI",), ("GET", "k"), ("EXEC",)], [("MULTI",), ("SET", "k", "v"), ("EXEC",)],
              [("MULTI",), ("EVAL", "return 1", "0"), ("EXEC",)], [("MULTI",), ("PING",), ("EXEC",)]]

    def flow(srv):
        out = []
        with srv.conn() as a:
            a.cmd("FLUSHALL")
            a.cmd("FUNCTION", "FLUSH")
            a.cmd("PFADD", "h", "x")
            a.cmd("SCRIPT", "LOAD", "return 1")
            a.cmd("FUNCTION", "LOAD", lib)
            for seq in [[c] for c in cmds] + multis:
                a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
                with srv.conn() as b:
                    rs, held = [], 0
                    for cmd in seq:
                        b.send(encode(*cmd))
                        wait_until(lambda: b.has_pending(0.01) or info_clients(a)["blocked_clients"] == "1",
                                   DEADLINE, "%r replies or is held" % (cmd,))
                        if b.has_pending(0):
                            rs.append((cmd[0], "ran", b.reply()))
                        else:
                            rs.append((cmd[0], "held"))
                            held = 1
                            break
                    a.cmd("CLIENT", "UNPAUSE")
                    if held:
                        rs.append(b.reply())
                    out.append(rs)
                a.cmd("FUNCTION", "LOAD", "REPLACE", lib)
        return out
    got = both(server, oracle, flow)
    eq(got[cmds.index(("SET", "k", "v"))][0], ("SET", "held"), "SET")
    eq(got[cmds.index(("GET", "k"))][0][:2], ("GET", "ran"), "GET")


def test_pause_all_holds_until_timeout(server, oracle):
    """ALL holds every command that passes its checks (UNPAUSE from another client too,
    as Redis 7.0) until the timeout, then runs them; refused commands still get their
    error at once."""
    pause_ms = 1500

    def flow(srv):
        with srv.conn() as a, srv.conn() as b, srv.conn() as c, srv.conn() as d:
            a.cmd("FLUSHALL")
            eq(a.cmd("CLIENT", "PAUSE", str(pause_ms), "ALL"), b"+OK\r\n", "PAUSE")
            t0 = time.monotonic()
            r = [d.cmd("NOSUCH"), d.cmd("GET")]
            with srv.conn() as e:
                r.append(e.cmd("QUIT"))  # answered before any check, as Redis
            b.send(encode("SET", "k", "1") + encode("APPEND", "k", "2") + encode("GET", "k"))
            c.send(encode("CLIENT", "UNPAUSE"))
            a.send(encode("PING"))
            first = b.reply()
            t1 = time.monotonic()
            check(t1 - t0 >= pause_ms / 1000.0 - 0.05, "%s: SET held %.3fs of a %dms pause"
                  % (srv.name, t1 - t0, pause_ms))
            r += [first, b.reply(), b.reply(), c.reply(), a.reply()]
            return r
    eq(both(server, oracle, flow)[5], b"$2\r\n12\r\n", "pipelined order")


def test_pause_extends_and_all_overrides(server, oracle):
    """A later PAUSE keeps the later end and the stricter mode."""
    def flow(srv):
        with srv.conn() as a, srv.conn() as b:
            a.cmd("SET", "k", "v")
            a.send(encode("CLIENT", "PAUSE", "1000", "WRITE") + encode("CLIENT", "PAUSE", "10", "ALL"))
            t0 = time.monotonic()
            r = [a.reply(), a.reply(), b.cmd("GET", "k")]
            t1 = time.monotonic()
            check(t1 - t0 >= 0.95, "%s: GET held by ALL until the later end (%.3fs)" % (srv.name, t1 - t0))
            r += [a.cmd("CLIENT", "PAUSE", "5", "WRITE"), b.cmd("SET", "k", "w")]
            return r
    both(server, oracle, flow)


def test_pause_expiry_and_disconnect(server, oracle):
    """Keys do not expire while paused (reads see them gone, DBSIZE still counts them);
    a held client that disconnects leaves nothing behind."""
    def flow(srv):
        with srv.conn() as a:
            a.cmd("FLUSHALL")
            a.cmd("SET", "e", "1", "PX", "50")
            a.cmd("SET", "f", "1", "PX", "50")
            r = [a.cmd("CLIENT", "PAUSE", "100000", "WRITE")]
            wait_until(lambda: a.cmd("PTTL", "e") == b":-2\r\n", DEADLINE, "e expired")
            r += [a.cmd("GET", "e"), a.cmd("EXISTS", "f"), a.cmd("DBSIZE")]
            b = srv.conn()
            b.send(encode("SET", "x", "1") + encode("SET", "y", "2"))
            wait_blocked(a, 1, "SET held")
            b.close()
            wait_blocked(a, 0, "held client gone")
            r += [a.cmd("CLIENT", "UNPAUSE"), a.cmd("GET", "e")]
            wait_until(lambda: a.cmd("DBSIZE") == b":0\r\n", DEADLINE, "expired keys reclaimed")
            r.append(a.cmd("EXISTS", "x", "y"))
            return r
    eq(both(server, oracle, flow)[3], b":2\r\n", "DBSIZE while paused")


def test_pause_reply_off_and_multi(server, oracle):
    def flow(srv):
        with srv.conn() as a, srv.conn() as b:
            a.cmd("FLUSHALL")
            a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
            b.send(encode("CLIENT", "REPLY", "OFF") + encode("SET", "y", "1") + encode("CLIENT", "REPLY", "ON") +
                   encode("GET", "y"))
            wait_blocked(a, 1, "SET held")
            r = [a.cmd("CLIENT", "UNPAUSE"), b.reply(), b.reply()]
            a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
            b.send(encode("MULTI") + encode("SET", "x", "1") + encode("GET", "x"))
            r.append(b.reply())
            wait_blocked(a, 1, "queueing SET held")
            r += [a.cmd("CLIENT", "UNPAUSE"), b.reply(), b.reply(), b.cmd("EXEC")]
            a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
            b.send(encode("MULTI") + encode("INCR", "x"))
            r.append(b.reply())
            wait_blocked(a, 1, "queueing INCR held")
            a.cmd("CLIENT", "UNPAUSE")
            r.append(b.reply())
            a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
            b.send(encode("EXEC"))
            wait_blocked(a, 1, "EXEC with a write held")
            r += [a.cmd("GET", "x"), a.cmd("CLIENT", "UNPAUSE"), b.reply()]
            return r
    both(server, oracle, flow)


def test_unblock_of_held_client(server):
    """respite only: a client held by a pause is not unblockable (Redis 7.0.15 crashes)."""
    with server.conn() as a, server.conn() as b:
        bid = str(b.call("CLIENT", "ID"))
        a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
        b.send(encode("SET", "k", "held"))
        wait_blocked(a, 1, "SET held")
        eq(a.cmd("CLIENT", "UNBLOCK", bid), b":0\r\n", "UNBLOCK of a held client")
        eq(a.cmd("CLIENT", "UNBLOCK", bid, "ERROR"), b":0\r\n", "UNBLOCK ERROR of a held client")
        eq(a.cmd("CLIENT", "UNPAUSE"), b"+OK\r\n", "UNPAUSE")
        eq(b.reply(), b"+OK\r\n", "SET ran")


def test_shutdown_while_paused(make_server):
    """SIGTERM during a pause, with held clients: a clean exit, nothing leaked (the
    fixture checks the exit status and the sanitizer report)."""
    srv = make_server()
    a, b, c = srv.conn(), srv.conn(), srv.conn()
    a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
    b.send(encode("SET", "k", "v") + encode("GET", "k"))
    wait_blocked(a, 1, "SET held")
    a.cmd("CLIENT", "PAUSE", "100000", "ALL")
    c.send(encode("GET", "k"))
    for x in (a, b, c):
        x.close()


# ---------------------------------------------------------------- seeded random pipelines

def random_pipeline(rng):
    """A pipeline of CLIENT REPLY modes among commands that reply one way or another."""
    cmds = []
    for _ in range(rng.randint(5, 40)):
        r = rng.random()
        if r < 0.3:
            cmds.append(("CLIENT", "REPLY", rng.choice(["ON", "OFF", "SKIP", "skip", "bad"])))
        elif r < 0.4:
            cmds.append(("MULTI",) if rng.random() < 0.5 else ("EXEC",))
        elif r < 0.45:
            cmds.append(("CLIENT", "NO-EVICT", rng.choice(["on", "off", "x"])))
        elif r < 0.5:
            cmds.append(("CLIENT", "UNBLOCK", rng.choice(["0", NO_ID, "x"]), rng.choice(["TIMEOUT", "ERROR", "no"])))
        elif r < 0.55:
            cmds.append(("CLIENT", "PAUSE", "0", "WRITE"))
        elif r < 0.6:
            cmds.append(("BLPOP", "nolist", "0.01"))
        elif r < 0.7:
            cmds.append(("GET",))
        elif r < 0.8:
            cmds.append(("INCR", "n"))
        else:
            cmds.append(("ECHO", "v%d" % rng.randint(0, 99)))
    return cmds + [("DISCARD",), ("CLIENT", "REPLY", "ON")]


def random_flow(srv, seed):
    import random
    rng = random.Random(seed)
    out = []
    with srv.conn() as c:
        c.cmd("FLUSHALL")
        for _ in range(20):
            out.append(pipeline_flow_on(c, random_pipeline(rng)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_reply_random_pipelines(server, oracle, seed):
    both(server, oracle, random_flow, seed)
