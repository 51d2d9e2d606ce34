"""test_write_path.py: the socket write path under the cases that batching replies across
clients could break (issue 18): many clients with large replies in one event-loop turn,
partial writes into a small receive window, a client that goes away with output pending,
a slow reader over its output limit beside clients that keep being served, a blocked
client woken in the same turn as its neighbour's write, and SHUTDOWN with writes pending.

Every case checks the exact bytes and order of each client's replies, and that the
server keeps serving others. The cases pass against redis-server too (run pytest
without RESPITE_SERVER).
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, check, encode, eq, wait_until  # noqa: E402

BIG = 200 * 1024


def big_value(tag):
    """A value whose bytes say where they came from (a swapped reply would show)."""
    unit = ("%s:" % tag).encode()
    return (unit * (BIG // len(unit) + 1))[:BIG]


def bulk(v):
    return b"$%d\r\n%s\r\n" % (len(v), v)


def small_window_conn(port, rcvbuf=4096):
    """A client whose receive buffer is small, so the server's writes to it are partial."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(harness.IO_TIMEOUT)
    s.connect(("127.0.0.1", port))
    c = Conn.__new__(Conn)
    c.sock, c.buf, c.pos = s, bytearray(), 0
    return c


def read_exact(c, n):
    """n reply bytes, raw (across reply boundaries)."""
    while len(c.buf) - c.pos < n:
        c._fill()
    out = bytes(c.buf[c.pos:c.pos + n])
    c.pos += n
    return out


def client_field(srv, name_value, field):
    """The field of the CLIENT LIST line whose name= is name_value, or None if absent."""
    with srv.conn() as c:
        text = c.call("CLIENT", "LIST")
    text = text.decode() if isinstance(text, bytes) else text
    for line in text.splitlines():
        kv = dict(p.split("=", 1) for p in line.split(" ") if "=" in p)
        if kv.get("name") == name_value:
            return kv.get(field)
    return None


def test_many_clients_large_replies_in_one_turn(server):
    with server.conn() as setup:
        for i in range(4):
            eq(setup.cmd("SET", "big%d" % i, big_value("v%d" % i)), b"+OK\r\n", "SET")
    conns = [server.conn() for _ in range(40)]
    try:
        # Every client's whole pipeline is sent before any reply is read: the server
        # finds many of them ready in the same turns, each with megabytes to send.
        for n, c in enumerate(conns):
            c.send(b"".join(encode("GET", "big%d" % ((n + j) % 4)) for j in range(4)) +
                   encode("ECHO", "client-%d" % n))
        for n, c in enumerate(conns):
            for j in range(4):
                eq(c.reply(), bulk(big_value("v%d" % ((n + j) % 4))), "client %d reply %d" % (n, j))
            eq(c.reply(), bulk(b"client-%d" % n), "client %d last reply" % n)
            check(not c.has_pending(0), "client %d: bytes after its last reply" % n)
    finally:
        for c in conns:
            c.close()


def test_partial_writes_keep_order_and_bytes(server):
    with server.conn() as setup:
        eq(setup.cmd("SET", "big", big_value("p")), b"+OK\r\n", "SET")
    slow = small_window_conn(server.port)
    try:
        eq(slow.cmd("CLIENT", "SETNAME", "slow"), b"+OK\r\n", "SETNAME")
        pipeline = [encode("GET", "big") if i % 2 == 0 else encode("INCR", "n") for i in range(30)]
        slow.send(b"".join(pipeline))
        # The server holds most of it unsent (the window is small); meanwhile it serves
        # another client at once.
        wait_until(lambda: int(client_field(server, "slow", "omem") or 0) > 0 or
                   int(client_field(server, "slow", "tot-mem") or 0) > 64 * 1024, 10,
                   "output pending for the slow client")
        with server.conn() as other:
            eq(other.cmd("PING"), b"+PONG\r\n", "a neighbour served while output is pending")
        want = bulk(big_value("p"))
        for i in range(30):
            if i % 2 == 0:
                eq(read_exact(slow, len(want)), want, "reply %d" % i)
            else:
                eq(slow.reply(), b":%d\r\n" % (i // 2 + 1), "reply %d" % i)
        check(not slow.has_pending(0), "bytes after the last reply")
    finally:
        slow.close()


def test_client_gone_with_output_pending(server):
    with server.conn() as setup:
        eq(setup.cmd("SET", "big", big_value("g")), b"+OK\r\n", "SET")
    goners = []
    for i in range(5):
        c = small_window_conn(server.port)
        eq(c.cmd("CLIENT", "SETNAME", "gone%d" % i), b"+OK\r\n", "SETNAME")
        c.send(encode("GET", "big") * 20)
        goners.append(c)
    for i in range(5):
        wait_until(lambda: int(client_field(server, "gone%d" % i, "tot-mem") or 0) > 64 * 1024, 10,
                   "output pending for client %d" % i)
    for i, c in enumerate(goners):
        if i % 2:  # half of them reset the connection (SO_LINGER 0), half close it
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
    for i in range(5):
        wait_until(lambda: client_field(server, "gone%d" % i, "id") is None, 10,
                   "client %d to leave CLIENT LIST" % i)
    with server.conn() as other:
        eq(other.cmd("GET", "big"), bulk(big_value("g")), "GET after the others left")


def test_slow_reader_over_output_limit_beside_served_clients(make_server):
    srv = make_server(args=["--client-output-buffer-limit", "normal 1mb 0 0"])
    with srv.conn() as setup:
        eq(setup.cmd("SET", "big", big_value("s")), b"+OK\r\n", "SET")
    slow = small_window_conn(srv.port)
    fast = [srv.conn() for _ in range(5)]
    try:
        slow.send(encode("GET", "big") * 100)  # 20 MB it never reads
        for rnd in range(5):
            for n, c in enumerate(fast):
                c.send(encode("GET", "big") + encode("ECHO", "f%d-%d" % (n, rnd)))
            for n, c in enumerate(fast):
                eq(c.reply(), bulk(big_value("s")), "fast client %d round %d" % (n, rnd))
                eq(c.reply(), bulk(b"f%d-%d" % (n, rnd)), "fast client %d round %d echo" % (n, rnd))
        closed, got = slow.wait_closed(10)
        check(closed, "the slow reader was not closed at its output limit")
        check(len(got) < 100 * len(bulk(big_value("s"))), "the slow reader got all its output")
        with srv.conn() as other:
            eq(other.cmd("PING"), b"+PONG\r\n", "PING after the slow reader was dropped")
    finally:
        slow.close()
        for c in fast:
            c.close()


def test_blocked_client_woken_in_a_neighbours_turn(server):
    with server.conn() as setup:
        eq(setup.cmd("SET", "big", big_value("b")), b"+OK\r\n", "SET")
        setup.cmd("DEL", "q1", "q2")
    a, b, w = server.conn(), server.conn(), server.conn()
    try:
        a.send(encode("BLPOP", "q1", "0"))
        b.send(encode("BLPOP", "q2", "0"))

        def blocked():
            info = w.call("INFO", "clients")
            info = info.decode() if isinstance(info, bytes) else info
            return "blocked_clients:2" in info

        wait_until(blocked, 10, "two clients blocked")
        # One request wakes both and asks for a big reply of its own, in one packet.
        w.send(encode("RPUSH", "q1", "x") + encode("GET", "big") + encode("RPUSH", "q2", "y") + encode("PING"))
        eq(w.reply(), b":1\r\n", "RPUSH q1")
        eq(w.reply(), bulk(big_value("b")), "GET big")
        eq(w.reply(), b":1\r\n", "RPUSH q2")
        eq(w.reply(), b"+PONG\r\n", "PING")
        eq(a.reply(), b"*2\r\n$2\r\nq1\r\n$1\r\nx\r\n", "first blocked client")
        eq(b.reply(), b"*2\r\n$2\r\nq2\r\n$1\r\ny\r\n", "second blocked client")
        # A woken client's next command is served in order after its wake-up reply.
        a.send(encode("LLEN", "q1") + encode("PING"))
        eq(a.reply(), b":0\r\n", "LLEN after the wake-up")
        eq(a.reply(), b"+PONG\r\n", "PING after the wake-up")
    finally:
        for c in (a, b, w):
            c.close()


def test_shutdown_with_writes_pending():
    srv = harness.Server().start()
    try:
        with srv.conn() as setup:
            eq(setup.cmd("SET", "big", big_value("d")), b"+OK\r\n", "SET")
        slow = small_window_conn(srv.port)
        eq(slow.cmd("CLIENT", "SETNAME", "slow"), b"+OK\r\n", "SETNAME")
        slow.send(encode("GET", "big") * 20)
        wait_until(lambda: int(client_field(srv, "slow", "tot-mem") or 0) > 64 * 1024, 10,
                   "output pending for the slow client")
        with srv.conn() as c:
            c.send(encode("SHUTDOWN", "NOSAVE"))
            closed, junk = c.wait_closed(harness.STOP_DEADLINE)
            check(closed, "the SHUTDOWN client was not disconnected")
            eq(junk, b"", "bytes received after SHUTDOWN")
        closed, _ = slow.wait_closed(harness.STOP_DEADLINE)
        check(closed, "the slow client was not disconnected")
        slow.close()
        rc = srv.proc.wait(timeout=harness.STOP_DEADLINE)
        eq(rc, 0, "exit status after SHUTDOWN with output pending")
        srv.stopped = True
        rep = srv.sanitizer_report()
        check(not rep, "sanitizer report:\n%s" % rep)
    finally:
        if not srv.stopped:
            srv.stop()


def _respite_only():
    if os.path.basename(harness.server_binary()) == "redis-server":
        import pytest
        pytest.skip("io-uring is respite's setting")


def test_io_uring_many_clients_small_replies_interleaved(make_server):
    """io-uring yes: many clients' replies of one turn in one io_uring_enter, including
    ones that fill a small window (partial sends) and one that leaves meanwhile."""
    _respite_only()
    srv = make_server(args=["--io-uring", "yes"])
    check("io_uring_enter" in srv.output(), "io-uring not in use:\n%s" % srv.output()[-2000:])
    mid = b"m" * 12000
    with srv.conn() as setup:
        eq(setup.cmd("SET", "mid", mid), b"+OK\r\n", "SET")
    conns = [srv.conn() for _ in range(40)]
    slow = [small_window_conn(srv.port) for _ in range(4)]
    gone = small_window_conn(srv.port)
    try:
        for rnd in range(3):
            for n, c in enumerate(conns):
                c.send(encode("INCR", "c%d" % n) + encode("ECHO", "r%d-%d" % (rnd, n)))
            for c in slow + ([gone] if rnd == 0 else []):
                c.send(encode("GET", "mid") * 8)
            if rnd == 0:
                gone.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                gone.close()
            for n, c in enumerate(conns):
                eq(c.reply(), b":%d\r\n" % (rnd + 1), "client %d INCR round %d" % (n, rnd))
                eq(c.reply(), bulk(b"r%d-%d" % (rnd, n)), "client %d ECHO round %d" % (n, rnd))
            for k, c in enumerate(slow):
                for j in range(8):
                    eq(read_exact(c, len(bulk(mid))), bulk(mid), "slow %d round %d reply %d" % (k, rnd, j))
        for c in conns + slow:
            check(not c.has_pending(0), "bytes after the last reply")
    finally:
        for c in conns + slow:
            c.close()


def test_io_uring_probe_failure_falls_back_once(make_server, monkeypatch):
    """When io_uring cannot be set up (forced here), the server says so once and serves
    on the direct write path."""
    _respite_only()
    monkeypatch.setenv("RESPITE_IO_URING_PROBE_FAIL", "1")
    srv = make_server(args=["--io-uring", "yes"])
    monkeypatch.delenv("RESPITE_IO_URING_PROBE_FAIL")
    conns = [srv.conn() for _ in range(10)]
    try:
        for n, c in enumerate(conns):
            c.send(encode("SET", "k%d" % n, "v%d" % n) + encode("GET", "k%d" % n))
        for n, c in enumerate(conns):
            eq(c.reply(), b"+OK\r\n", "SET %d" % n)
            eq(c.reply(), bulk(b"v%d" % n), "GET %d" % n)
    finally:
        for c in conns:
            c.close()
    out = srv.output()
    eq(out.count("io_uring is unavailable"), 1, "fallback log lines:\n%s" % out[-2000:])
    check("io_uring_enter" not in out, "io-uring claimed in use after a failed probe")
