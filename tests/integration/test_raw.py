"""test_raw.py: the wire protocol over raw sockets, byte for byte.

Inline commands and their quoting, pipelining, requests split across writes, protocol
errors (each answered with Redis's exact text and then a closed connection), unknown
commands and arity errors, fairness between clients (garbage or an unread flood on one
client must not stall another), idle timeouts, HELLO 3 / RESP3, QUIT and Unix sockets.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, check, encode, eq  # noqa: E402

SERVER_UNIXSOCKET = True


def expect_error_then_close(server, data, want):
    """Send `data` on a fresh connection; expect exactly the error `want` and EOF."""
    with server.conn() as c:
        c.send(data)
        eq(c.reply(), want, "reply to %r" % data[:40])
        closed, junk = c.wait_closed(5.0)
        check(closed, "connection still open after protocol error for %r" % data[:40])
        eq(junk, b"", "bytes after the protocol error")
    # the server must still serve others afterwards
    with server.conn() as c:
        eq(c.cmd("PING"), b"+PONG\r\n", "PING after protocol error")


# ---------------------------------------------------------------- inline commands

def test_inline_ping(server):
    with server.conn() as c:
        c.send(b"PING\r\n")
        eq(c.reply(), b"+PONG\r\n", "inline PING")
        c.send(b"ping hello\r\n")
        eq(c.reply(), b"$5\r\nhello\r\n", "inline PING with argument")
        c.send(b"PING\n")          # a bare LF ends an inline command too
        eq(c.reply(), b"+PONG\r\n", "inline PING ended by LF")


def test_inline_double_quotes(server):
    with server.conn() as c:
        c.send(b'SET inl:a "hello world"\r\n')
        eq(c.reply(), b"+OK\r\n", "SET with quoted value")
        eq(c.cmd("GET", "inl:a"), b"$11\r\nhello world\r\n", "GET quoted value")
        c.send(b'SET inl:b "\\x41\\n\\t\\\\\\"z"\r\n')
        eq(c.reply(), b"+OK\r\n", "SET with escapes")
        eq(c.cmd("GET", "inl:b"), b'$6\r\nA\n\t\\"z\r\n', "escapes decoded")
        c.send(b'SET inl:e ""\r\n')
        eq(c.reply(), b"+OK\r\n", "SET empty quoted")
        eq(c.cmd("STRLEN", "inl:e"), b":0\r\n", "empty quoted value")


def test_inline_single_quotes(server):
    with server.conn() as c:
        c.send(b"SET inl:c 'it\\'s \"raw\" \\n'\r\n")
        eq(c.reply(), b"+OK\r\n", "SET with single quotes")
        eq(c.cmd("GET", "inl:c"), b'$13\r\nit\'s "raw" \\n\r\n',
           "single quotes keep backslash-n and double quotes literally")


def test_inline_extra_spaces_and_empty_lines(server):
    with server.conn() as c:
        c.send(b"\r\n\r\n   SET    inl:d   v1   \r\nGET inl:d\r\n")
        eq(c.reply(), b"+OK\r\n", "SET with extra spaces")
        eq(c.reply(), b"$2\r\nv1\r\n", "GET after empty lines")
        check(not c.has_pending(0.05), "empty inline lines must not produce replies")


def test_inline_unbalanced_quotes(server):
    expect_error_then_close(server, b'SET a "foo\r\n',
                            b"-ERR Protocol error: unbalanced quotes in request\r\n")
    expect_error_then_close(server, b"SET a 'foo\r\n",
                            b"-ERR Protocol error: unbalanced quotes in request\r\n")
    # a closing quote must be followed by a space
    expect_error_then_close(server, b'SET a "foo"bar\r\n',
                            b"-ERR Protocol error: unbalanced quotes in request\r\n")


def test_inline_too_big(server):
    expect_error_then_close(server, b"x" * 70000,
                            b"-ERR Protocol error: too big inline request\r\n")


# ---------------------------------------------------------------- pipelining, splitting

def test_pipeline_1000_in_one_write(server):
    with server.conn() as c:
        c.cmd("DEL", "pipe:ctr")
        req = b"".join(encode("INCR", "pipe:ctr") + encode("ECHO", "e%d" % i)
                       for i in range(1000))
        c.send(req)
        for i in range(1000):
            eq(c.reply(), b":%d\r\n" % (i + 1), "INCR reply #%d" % i)
            e = b"e%d" % i
            eq(c.reply(), b"$%d\r\n%s\r\n" % (len(e), e), "ECHO reply #%d" % i)
        check(not c.has_pending(0.05), "extra bytes after 2000 replies")


def test_pipeline_mixed_inline_and_multibulk(server):
    with server.conn() as c:
        c.send(b"SET mix:k 1\r\n" + encode("INCR", "mix:k") + b"INCR mix:k\r\n"
               + encode("GET", "mix:k"))
        eq([c.reply() for _ in range(4)],
           [b"+OK\r\n", b":2\r\n", b":3\r\n", b"$1\r\n3\r\n"], "mixed pipeline")


def test_split_byte_by_byte(server):
    with server.conn() as c:
        req = encode("SET", "split:k", "hello\r\nworld") + encode("GET", "split:k")
        for i in range(len(req) - 1):
            c.send(req[i:i + 1])
            if i == len(encode("SET", "split:k", "hello\r\nworld")) - 2:
                check(not c.has_pending(0.05),
                      "server replied before the SET command was complete")
        c.send(req[-1:])
        eq(c.reply(), b"+OK\r\n", "SET sent byte by byte")
        eq(c.reply(), b"$12\r\nhello\r\nworld\r\n", "GET sent byte by byte")
        inline = b"SET split:i 'a b'\r\n"
        for i in range(len(inline)):
            c.send(inline[i:i + 1])
        eq(c.reply(), b"+OK\r\n", "inline SET sent byte by byte")
        eq(c.cmd("GET", "split:i"), b"$3\r\na b\r\n", "inline value")


def test_split_at_every_point(server):
    req = encode("SET", "sp:k", "v" * 50) + encode("GET", "sp:k")
    want = b"+OK\r\n$50\r\n" + b"v" * 50 + b"\r\n"
    with server.conn() as c:
        for cut in range(1, len(req)):
            c.send(req[:cut])
            c.send(req[cut:])
            got = c.reply() + c.reply()
            eq(got, want, "request split at byte %d" % cut)


def test_large_value_in_many_writes(server):
    value = bytes(range(256)) * 4096           # 1 MiB with every byte value incl. CR LF
    req = encode("SET", "big:bin", value)
    with server.conn() as c:
        for i in range(0, len(req), 7000):
            c.send(req[i:i + 7000])
        eq(c.reply(), b"+OK\r\n", "SET 1 MiB binary")
        eq(c.cmd("STRLEN", "big:bin"), b":%d\r\n" % len(value), "STRLEN")
        eq(c.cmd("GET", "big:bin"), b"$%d\r\n%s\r\n" % (len(value), value), "GET binary")


# ---------------------------------------------------------------- protocol errors

def test_bad_multibulk_length(server):
    expect_error_then_close(server, b"*abc\r\n",
                            b"-ERR Protocol error: invalid multibulk length\r\n")
    expect_error_then_close(server, b"*1" + b"1" * 70000,
                            b"-ERR Protocol error: too big mbulk count string\r\n")


def test_expected_dollar(server):
    expect_error_then_close(server, b"*1\r\n+foo\r\n",
                            b"-ERR Protocol error: expected '$', got '+'\r\n")
    expect_error_then_close(server, b"*2\r\n$4\r\nECHO\r\n:12\r\n",
                            b"-ERR Protocol error: expected '$', got ':'\r\n")


def test_bad_bulk_length(server):
    # proto-max-bulk-len defaults to 512 MiB
    expect_error_then_close(server, b"*1\r\n$536870913\r\n",
                            b"-ERR Protocol error: invalid bulk length\r\n")
    expect_error_then_close(server, b"*1\r\n$-1\r\n",
                            b"-ERR Protocol error: invalid bulk length\r\n")
    expect_error_then_close(server, b"*1\r\n$x\r\n",
                            b"-ERR Protocol error: invalid bulk length\r\n")


def test_empty_and_negative_multibulk_ignored(server):
    with server.conn() as c:
        c.send(b"*0\r\n*-1\r\nPING\r\n")
        eq(c.reply(), b"+PONG\r\n", "*0 and *-1 produce no reply")


def test_replies_before_protocol_error_are_sent(server):
    with server.conn() as c:
        c.send(encode("SET", "pe:k", "v") + encode("GET", "pe:k") + b"*abc\r\n")
        eq(c.reply(), b"+OK\r\n", "reply before the bad request")
        eq(c.reply(), b"$1\r\nv\r\n", "second reply before the bad request")
        eq(c.reply(), b"-ERR Protocol error: invalid multibulk length\r\n", "error")
        check(c.wait_closed(5.0)[0], "connection not closed after protocol error")


def test_unknown_command(server):
    with server.conn() as c:
        eq(c.cmd("foo", "a", "b"),
           b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
           "unknown command with args")
        eq(c.cmd("NoSuchCmd"),
           b"-ERR unknown command 'NoSuchCmd', with args beginning with: \r\n",
           "unknown command without args (name kept as typed)")
        c.send(b"foo a b\r\n")
        eq(c.reply(), b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n",
           "inline unknown command")
        eq(c.cmd("PING"), b"+PONG\r\n", "connection stays usable after unknown command")


def test_wrong_arity(server):
    with server.conn() as c:
        for cmd, name in ((["GET"], "get"), (["get", "a", "b"], "get"),
                          (["SET", "a"], "set"), (["Incr"], "incr"),
                          (["mset", "a"], "mset"), (["ECHO"], "echo"),
                          (["DEL"], "del")):
            eq(c.cmd(*cmd),
               b"-ERR wrong number of arguments for '%s' command\r\n" % name.encode(),
               "arity error for %r" % cmd)
        eq(c.cmd("PING"), b"+PONG\r\n", "usable after arity errors")


def test_other_client_served_during_garbage(server):
    with server.conn() as a, server.conn() as b:
        # a: an incomplete huge bulk, then a stream of bytes that never completes it
        a.send(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$100000\r\n" + b"z" * 50000)
        eq(b.cmd("PING"), b"+PONG\r\n", "PING while another client is mid-request")
        eq(b.cmd("SET", "g:k", "1"), b"+OK\r\n", "SET while another client is mid-request")
        # a: an inline line that never ends
        with server.conn() as g:
            g.send(b"\x00\x01garbage" * 1000)
            eq(b.cmd("GET", "g:k"), b"$1\r\n1\r\n", "GET while garbage arrives")
        a.send(b"z" * 50000 + b"\r\n")
        eq(a.reply(), b"+OK\r\n", "the slow SET completes")
        eq(b.cmd("STRLEN", "x"), b":100000\r\n", "value of the slow SET")


def test_unread_flood_does_not_stall_others(server):
    with server.conn() as setup:
        eq(setup.cmd("SET", "flood:v", "f" * (1 << 20)), b"+OK\r\n", "SET 1 MiB")
    n = 64
    a = Conn(server.port, timeout=60)
    try:
        a.send(encode("GET", "flood:v") * n)          # never read (yet)
        with server.conn() as b:
            for i in range(20):
                t0 = time.monotonic()
                b.sock.settimeout(2.0)
                eq(b.cmd("PING"), b"+PONG\r\n", "PING #%d during flood" % i)
                check(time.monotonic() - t0 < 2.0, "PING took over 2s during flood")
            eq(b.cmd("INCR", "flood:ctr"), b":1\r\n", "INCR during flood")
        # the flooded client still gets every reply, intact and in order
        want = b"$%d\r\n%s\r\n" % (1 << 20, b"f" * (1 << 20))
        a.sock.settimeout(15.0)
        for i in range(n):
            try:
                r = a.reply()
            except (OSError, harness.ConnectionClosed) as e:
                raise harness.TestFailure(
                    "flooded client stalled: got %d of %d 1 MiB GET replies, then %s: %s"
                    % (i, n, type(e).__name__, e))
            check(r == want, "flood reply #%d wrong (len %d)" % (i, len(r)))
    finally:
        a.close()


def test_hello3_resp3(server):
    with server.conn() as c:
        r = c.cmd("HELLO", "3")
        check(r.startswith(b"%"), "HELLO 3 must reply with a RESP3 map, got %r" % r[:80])
        m = harness.decode(r)
        eq(m.get(b"proto"), 3, "HELLO 3 proto field")
        for k in (b"server", b"version", b"id", b"mode", b"role", b"modules"):
            check(k in m, "HELLO map lacks %r: %r" % (k, m))
        eq(c.cmd("GET", "resp3:none"), b"_\r\n", "RESP3 null for a missing key")
        eq(c.cmd("SET", "resp3:k", "v"), b"+OK\r\n", "SET in RESP3")
        eq(c.cmd("MGET", "resp3:k", "resp3:none"), b"*2\r\n$1\r\nv\r\n_\r\n",
           "RESP3 MGET with null element")
        eq(c.cmd("HELLO", "4"), b"-NOPROTO unsupported protocol version\r\n", "HELLO 4")
        r = c.cmd("HELLO", "2")
        check(r.startswith(b"*14\r\n"), "HELLO 2 must reply with a flat array: %r" % r[:80])
        eq(c.cmd("GET", "resp3:none"), b"$-1\r\n", "RESP2 null after HELLO 2")
        eq(c.cmd("MGET", "resp3:none"), b"*1\r\n$-1\r\n", "RESP2 null in array")


def test_quit(server):
    with server.conn() as c:
        eq(c.cmd("SET", "quit:k", "v"), b"+OK\r\n", "SET before QUIT")
        c.send(encode("QUIT") + encode("SET", "quit:k", "after"))
        eq(c.reply(), b"+OK\r\n", "QUIT reply")
        closed, junk = c.wait_closed(5.0)
        check(closed, "connection not closed after QUIT")
        eq(junk, b"", "no reply after QUIT")
    with server.conn() as c:
        eq(c.cmd("GET", "quit:k"), b"$1\r\nv\r\n", "commands after QUIT not executed")


def test_unix_socket(server):
    check(server.unix and os.path.exists(server.unix), "unix socket path missing")
    with Conn(unix=server.unix) as u, server.conn() as t:
        eq(u.cmd("PING"), b"+PONG\r\n", "PING over unix socket")
        eq(u.cmd("SET", "unix:k", "via-unix"), b"+OK\r\n", "SET over unix socket")
        eq(t.cmd("GET", "unix:k"), b"$8\r\nvia-unix\r\n", "same keyspace over TCP")
        u.send(encode("INCR", "unix:c") * 500)
        for i in range(500):
            eq(u.reply(), b":%d\r\n" % (i + 1), "pipelined INCR over unix #%d" % i)


def test_idle_timeout(make_server):
    srv = make_server(["--timeout", "1"])
    with srv.conn() as idle, srv.conn() as busy:
        eq(idle.cmd("PING"), b"+PONG\r\n", "PING on timeout server")
        t0 = time.monotonic()
        # keep the other client active; only the idle one must be closed
        end = t0 + 10.0
        closed = False
        while time.monotonic() < end:
            eq(busy.cmd("PING"), b"+PONG\r\n", "busy client PING")
            if idle.has_pending(0.2):
                closed, junk = idle.wait_closed(1.0)
                eq(junk, b"", "idle client got bytes before close")
                break
        elapsed = time.monotonic() - t0
        check(closed, "idle client not closed within 10s with --timeout 1")
        check(elapsed >= 0.9, "idle client closed too early (%.2fs < 1s)" % elapsed)
        eq(busy.cmd("PING"), b"+PONG\r\n", "active client kept alive")


def test_maxclients_and_databases(make_server):
    srv = make_server(["--maxclients", "3", "--databases", "4"])
    conns = [srv.conn() for _ in range(3)]
    for i, c in enumerate(conns):
        eq(c.cmd("PING"), b"+PONG\r\n", "client %d of 3" % i)
    with srv.conn() as extra:
        eq(extra.reply(), b"-ERR max number of clients reached\r\n", "4th client")
        check(extra.wait_closed(5.0)[0], "4th client not closed")
    conns.pop().close()

    def new_client_served():
        try:
            with srv.conn(timeout=2.0) as c:
                return c.cmd("PING") == b"+PONG\r\n"
        except (OSError, harness.ConnectionClosed):
            return False
    harness.wait_until(new_client_served, 10.0, "a slot after a client left")
    c = conns[0]
    eq(c.cmd("SELECT", "3"), b"+OK\r\n", "SELECT 3 with --databases 4")
    eq(c.cmd("SELECT", "4"), b"-ERR DB index is out of range\r\n", "SELECT 4")
    eq(c.cmd("SWAPDB", "0", "4"), b"-ERR DB index is out of range\r\n", "SWAPDB 0 4")
    eq(c.cmd("MOVE", "k", "4"), b"-ERR DB index is out of range\r\n", "MOVE k 4")
    for c in conns:
        c.close()


def test_disconnect_mid_request_and_mid_reply(server):
    for data in (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc", b"SET k \"unfinished",
                 encode("GET", "flood:v") * 20):
        c = server.conn()
        c.send(data)
        c.close()
    with server.conn() as c:
        eq(c.cmd("PING"), b"+PONG\r\n", "PING after clients vanished mid-request")


def test_sigterm_with_busy_clients():
    """SIGTERM while clients hold partial requests, unread output and a MULTI: the
    server exits 0 promptly with no sanitizer report."""
    srv = harness.start_server()
    conns = []
    try:
        with srv.conn() as c:
            eq(c.cmd("SET", "big", "b" * (1 << 20)), b"+OK\r\n", "SET 1 MiB")
        for i in range(10):
            c = srv.conn()
            conns.append(c)
            eq(c.cmd("PING"), b"+PONG\r\n", "client %d" % i)
        conns[0].send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\npartial")
        conns[1].send(encode("GET", "big") * 30)
        conns[2].send(b"SET k \"unterminated")
        eq(conns[3].cmd("MULTI"), b"+OK\r\n", "MULTI")
        eq(conns[3].cmd("SET", "m", "1"), b"+QUEUED\r\n", "queued")
        eq(conns[4].cmd("WATCH", "k"), b"+OK\r\n", "WATCH")
        eq(conns[5].cmd("HELLO", "3")[:1], b"%", "HELLO 3")
    finally:
        probs = srv.stop()
        for c in conns:
            c.close()
    check(not probs, "\n".join(probs))


def _reply_stream_ok(data):
    """Check that `data` is a run of well-framed RESP replies, possibly cut short at the
    end (the server may drop output when the peer half-closes). Returns an error text
    or ''."""
    pos = 0
    while pos < len(data):
        try:
            _, end = harness._decode(data, pos)
        except (ValueError, IndexError):
            # incomplete last reply: acceptable only if it starts like a reply
            if data[pos:pos + 1] not in b"+-:$*%_,#(~>|=!":
                return "reply framing broken at byte %d: %r" % (pos, data[pos:pos + 60])
            return ""
        except harness.TestFailure as e:
            return "undecodable reply at byte %d: %s" % (pos, e)
        if end > len(data):
            return ""
        pos = end
    return ""


def test_protocol_fuzz_survival(server):
    """800 connections send seeded mutations of valid requests (bit flips, cuts,
    inserted bytes, mangled lengths) in random chunks, then half-close. The server
    must keep serving, and every byte it sent must be well-framed RESP."""
    import random
    rng = random.Random(1234)
    words = [b"SET", b"GET", b"INCR", b"MSET", b"ECHO", b"PING", b"MULTI", b"EXEC",
             b"HELLO", b"GETRANGE", b"SETRANGE", b"APPEND", b"XADD", b"DEL", b"EXPIRE"]
    for i in range(800):
        reqs = []
        for _ in range(rng.randrange(1, 6)):
            args = [rng.choice(words)] + [
                rng.choice([b"k", b"fz:%d" % rng.randrange(5), b"1", b"-1", b"3", b"*",
                            b"99999999999999999999", b"\r\n", b"", b"x" * rng.randrange(200)])
                for _ in range(rng.randrange(0, 4))]
            if rng.random() < 0.3:
                reqs.append(b" ".join(args) + b"\r\n")
            else:
                reqs.append(encode(*args))
        data = bytearray(b"".join(reqs))
        for _ in range(rng.randrange(0, 4)):
            kind = rng.randrange(5)
            p = rng.randrange(len(data) + 1)
            if kind == 0 and data:
                data[min(p, len(data) - 1)] ^= 1 << rng.randrange(8)
            elif kind == 1:
                data[p:p] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
            elif kind == 2:
                del data[p:p + rng.randrange(1, 10)]
            elif kind == 3:
                data[p:p] = rng.choice([b"*-5\r\n", b"$-2\r\n", b"*99999999\r\n", b"$0\r\n",
                                        b"*1\r\n$2147483648\r\n", b"\x00", b"\r", b"\n",
                                        b"\"", b"'", b"*2\r\n$3\r\nGET\r\n"])
            else:
                data = data[:p]
        data = bytes(data)
        with server.conn() as c:
            pos = 0
            try:
                while pos < len(data):
                    n = rng.randrange(1, 64)
                    c.send(data[pos:pos + n])
                    pos += n
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass            # the server closed first (a protocol error): fine
            closed, got = c.wait_closed(10.0)
            check(closed, "fuzz #%d: connection not closed 10s after half-close; input %r"
                  % (i, data[:200]))
            err = _reply_stream_ok(got)
            check(not err, "fuzz #%d: %s; input %r" % (i, err, data[:300]))
        if i % 100 == 99:
            check(server.alive(), "server died during protocol fuzzing (case %d, input %r)\n%s"
                  % (i, data[:300], server.stderr_tail()))
            with server.conn() as c:
                eq(c.cmd("PING"), b"+PONG\r\n", "PING after %d fuzz cases" % (i + 1))


def test_server_still_healthy(server):
    with server.conn() as c:
        eq(c.cmd("PING"), b"+PONG\r\n", "final PING")
        eq(c.cmd("GET", "g:k"), b"$1\r\n1\r\n", "keyspace intact")
