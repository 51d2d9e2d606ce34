"""test_limits.py: the server's limits and the numbers it keeps about itself.

Output limits (a client that pipelines big GETs and never reads is dropped at
client-output-buffer-limit while another client's PINGs stay fast; without a limit the
same flood costs bounded memory and every reply arrives intact once the client reads; a
client held over the soft limit stays connected for soft-seconds, then is dropped, on
both servers), CLIENT LIST's qbuf/omem/oll and its field names compared with
redis-server, 10,000 concurrent clients and the maxclients rejection,
client-query-buffer-limit, the idle timeout, the log lines for clients dropped at
maxclients or the idle timeout, maxmemory-samples compared with redis-server, SLOWLOG (reply shape and argument trimming compared with Debian's
redis-server, LEN, RESET, max-len, GET counts) and the INFO stats counters (deltas
compared with redis-server for the same command sequence).

Each case starts the servers it needs, so a limit set by one case never leaks into
another; every server is stopped and checked (exit 0, no sanitizer report) by the case.
"""

import contextlib
import os
import resource
import select
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, TestFailure, check, decode, encode, eq, wait_until  # noqa: E402

# A sanitizer build keeps freed memory in quarantine (256 MB by default), which would
# make a freed reply look like retained memory to the RSS checks; keep it small. This
# changes nothing for a plain build and keeps every sanitizer check.
if "quarantine_size_mb" not in os.environ.get("ASAN_OPTIONS", ""):
    os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16").lstrip(":")

MB = 1024 * 1024
PING_BUDGET_S = 0.050       # each PING of a bystander while another client floods


# ---------------------------------------------------------------- helpers

@contextlib.contextmanager
def serving(args=(), oracle=False):
    """A server (under test, or the oracle) for the length of a with-block; stopped and
    checked at the end, its problems reported as a failure of the case."""
    srv = harness.oracle(args) if oracle else harness.start_server(args)
    failed = False
    try:
        yield srv
    except BaseException:
        failed = True
        raise
    finally:
        problems = srv.stop()
        if problems and not failed:
            raise TestFailure("\n".join(problems))
        if problems:
            print("also on shutdown:\n%s" % "\n".join(problems), flush=True)


def info(c, section="all"):
    """INFO <section> parsed to a dict of str -> str."""
    text = decode(c.cmd("INFO", section)).decode()
    out = {}
    for line in text.split("\r\n"):
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def stat(c, name, section="stats"):
    d = info(c, section)
    check(name in d, "INFO %s has no field %r" % (section, name))
    return int(d[name])


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise TestFailure("no VmRSS in /proc/%d/status" % pid)


def small_rcvbuf_conn(port, rcvbuf=4096):
    """A client whose kernel receive buffer is small, so unread replies pile up in the
    server rather than in the client's socket."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(harness.IO_TIMEOUT)
    s.connect(("127.0.0.1", port))
    c = Conn.__new__(Conn)
    c.sock, c.buf, c.pos = s, bytearray(), 0
    return c


def client_ids(c):
    """Ids of the clients CLIENT LIST shows."""
    text = decode(c.cmd("CLIENT", "LIST")).decode()
    ids = set()
    for line in text.splitlines():
        for field in line.split(" "):
            if field.startswith("id="):
                ids.add(int(field[3:]))
    return ids


WORST_PING_S = 0.5


def ping_latencies(c, n=50):
    """Round-trip times of n PINGs, each checked for +PONG."""
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        eq(c.cmd("PING"), b"+PONG\r\n", "bystander PING")
        out.append(time.monotonic() - t0)
    return out


def check_latencies(lat, what):
    """The typical PING stays within the budget; the worst one may include the one
    bounded batch the server runs for the flooding client before its limit or its
    backpressure stops it (a few MB of copying: tens of ms on a loaded 2-core machine),
    but never a stall."""
    worst = max(lat)
    median = sorted(lat)[len(lat) // 2]
    detail = ", ".join("%.1f" % (x * 1000) for x in lat)
    check(median < PING_BUDGET_S, "%s: median of %d PINGs took %.1f ms (budget %.0f ms); all: %s"
          % (what, len(lat), median * 1000, PING_BUDGET_S * 1000, detail))
    check(worst < WORST_PING_S, "%s: slowest of %d PINGs took %.1f ms (limit %.0f ms); all: %s"
          % (what, len(lat), worst * 1000, WORST_PING_S * 1000, detail))


def big_value(i):
    """1 MiB whose bytes say which value it is and where in it they are."""
    unit = (b"v%d-" % i) + bytes(range(256))
    return (unit * (MB // len(unit) + 1))[:MB]


# ---------------------------------------------------------------- (a) output limits

def test_output_limit_drops_unread_flood():
    args = ["--client-output-buffer-limit", "normal 8mb 4mb 1"]
    with serving(args) as srv, srv.conn() as ctl, srv.conn() as bystander:
        eq(ctl.cmd("CONFIG", "GET", "client-output-buffer-limit"),
           encode_config("client-output-buffer-limit",
                         "normal 8388608 4194304 1 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
           "CONFIG GET client-output-buffer-limit after --client-output-buffer-limit")
        eq(ctl.cmd("SET", "big", big_value(0)), b"+OK\r\n", "SET 1 MB value")
        flood = small_rcvbuf_conn(srv.port)
        try:
            fid = decode(flood.cmd("CLIENT", "ID"))
            flood.send(encode("GET", "big") * 64)          # 64 MB of replies, never read
            lat = ping_latencies(bystander)
            wait_until(lambda: fid not in client_ids(ctl), 15.0,
                       "the flooding client to be dropped at the output buffer limit")
            closed, _ = flood.wait_closed(10.0)
            check(closed, "the flooding client's socket was not closed by the server")
        finally:
            flood.close()
        if not harness.is_oracle_under_test():     # Redis runs the whole pipeline at once
            check_latencies(lat, "while another client flooded")
        check_latencies(ping_latencies(bystander), "after the flooding client was dropped")
        wait_until(lambda: "for overcoming of output buffer limits" in srv.output(), 5.0,
                   "a log line about closing the client for its output buffer limit; output:\n"
                   + srv.output()[-2000:])
        if not harness.is_oracle_under_test():      # Redis 7.0 has no such INFO field
            eq(stat(ctl, "client_output_buffer_limit_disconnections"), 1,
               "INFO stats client_output_buffer_limit_disconnections")
        eq(ctl.cmd("DBSIZE"), b":1\r\n", "DBSIZE after the drop")


def encode_config(name, value):
    """The raw RESP2 reply of CONFIG GET for one setting."""
    n, v = name.encode(), value.encode()
    return b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(n), n, len(v), v)


def test_output_limit_set_at_runtime():
    with serving() as srv, srv.conn() as ctl, srv.conn() as bystander:
        eq(ctl.cmd("CONFIG", "SET", "client-output-buffer-limit", "normal 2mb 1mb 1"), b"+OK\r\n",
           "CONFIG SET client-output-buffer-limit")
        eq(ctl.cmd("SET", "big", big_value(0)), b"+OK\r\n", "SET 1 MB value")
        flood = small_rcvbuf_conn(srv.port)
        try:
            fid = decode(flood.cmd("CLIENT", "ID"))
            flood.send(encode("GET", "big") * 32)
            wait_until(lambda: fid not in client_ids(ctl), 15.0,
                       "the flooding client to be dropped at the limit set with CONFIG SET")
            closed, _ = flood.wait_closed(10.0)
            check(closed, "the flooding client's socket was not closed")
        finally:
            flood.close()
        check_latencies(ping_latencies(bystander), "after the drop")


def test_no_limit_flood_is_bounded_and_intact():
    nkeys, ngets = 4, 128                  # 128 MB of replies to a client that waits
    with serving() as srv, srv.conn() as ctl, srv.conn() as bystander:
        for i in range(nkeys):
            eq(ctl.cmd("SET", "big%d" % i, big_value(i)), b"+OK\r\n", "SET 1 MB value %d" % i)
        pid = srv.proc.pid
        base = rss_bytes(pid)
        flood = small_rcvbuf_conn(srv.port)
        try:
            fid = decode(flood.cmd("CLIENT", "ID"))
            flood.send(b"".join(encode("GET", "big%d" % (j % nkeys)) for j in range(ngets)))

            def flood_started():
                text = decode(ctl.cmd("CLIENT", "LIST", "ID", fid)).decode()
                return "cmd=get" in text
            wait_until(flood_started, 10.0, "the flooding client's GETs to run")
            peak = rss_bytes(pid)
            lat = []
            window_end = time.monotonic() + 1.5     # watch memory while the flood waits
            while len(lat) < 50 or time.monotonic() < window_end:
                lat.extend(ping_latencies(bystander, 1))
                peak = max(peak, rss_bytes(pid))
            check_latencies(lat[:50], "while an unread flood of 128 MB of replies waited")
            check_limit = not harness.is_oracle_under_test()   # Redis buffers it all
            if check_limit:
                check(peak - base < 64 * MB,
                      "RSS grew by %.1f MB (from %.1f MB) while a client left %d MB of replies "
                      "unread; output backpressure should bound it"
                      % ((peak - base) / MB, base / MB, ngets))
            flood.sock.settimeout(30.0)
            for j in range(ngets):
                r = flood.reply()
                want = b"$%d\r\n%s\r\n" % (MB, big_value(j % nkeys))
                if r != want:
                    raise TestFailure("reply %d of the flood is not the value of big%d (got %d bytes, "
                                      "starting %r)" % (j, j % nkeys, len(r), r[:40]))
                if j % 8 == 0:
                    peak = max(peak, rss_bytes(pid))
            eq(flood.cmd("PING"), b"+PONG\r\n", "the flooding client still works after reading")
            if check_limit:
                check(peak - base < 64 * MB,
                      "RSS grew by %.1f MB while the flood was read back" % ((peak - base) / MB))
        finally:
            flood.close()
        check_latencies(ping_latencies(bystander), "after the flood")
        if not harness.is_oracle_under_test():
            eq(stat(ctl, "client_output_buffer_limit_disconnections"), 0,
               "no client dropped without a limit")


def client_fields(c, cid):
    """CLIENT LIST ID <cid> parsed to a dict of field -> str ({} once the client is gone)."""
    text = decode(c.cmd("CLIENT", "LIST", "ID", cid)).decode().strip()
    out = {}
    for field in text.split(" ") if text else ():
        k, _, v = field.partition("=")
        out[k] = v
    return out


SOFT_LIMIT = MB
SOFT_SECONDS = 2


def soft_limit_session(srv):
    """A client that pipelines 16 GETs of a 1 MiB value and never reads, under
    "normal 0 1mb 2": held over the soft limit it stays connected for the soft period,
    then is dropped. Checks the timing against when its output went over the limit."""
    with srv.conn() as ctl:
        eq(ctl.cmd("CONFIG", "SET", "client-output-buffer-limit",
                   "normal 0 1mb %d" % SOFT_SECONDS), b"+OK\r\n",
           "%s: CONFIG SET client-output-buffer-limit normal 0 1mb 2" % srv.name)
        eq(ctl.cmd("CONFIG", "GET", "client-output-buffer-limit"),
           encode_config("client-output-buffer-limit",
                         "normal 0 1048576 2 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
           "%s: CONFIG GET client-output-buffer-limit" % srv.name)
        eq(ctl.cmd("SET", "big", big_value(0)), b"+OK\r\n", "SET 1 MB value")
        flood = small_rcvbuf_conn(srv.port)
        try:
            fid = decode(flood.cmd("CLIENT", "ID"))
            t_send = time.monotonic()
            flood.send(encode("GET", "big") * 16)          # 16 MB of replies, never read

            def over():
                f = client_fields(ctl, fid)
                check(f, "%s: the flooding client was dropped before its output was seen over the "
                      "soft limit (%.2fs after the GETs were sent)" % (srv.name, time.monotonic() - t_send))
                return int(f["omem"]) >= SOFT_LIMIT
            wait_until(over, 5.0, "%s: the flooding client's omem to pass the 1 MB soft limit" % srv.name)
            t_over = time.monotonic()
            # Held over the soft limit: still connected a second later. A client found gone
            # by a CLIENT LIST whose reply came back before soft-seconds had passed since the
            # GETs were sent was dropped too early.
            polls = 0
            while True:
                sent = time.monotonic()
                if sent >= t_over + 1.0 and polls:
                    break
                f = client_fields(ctl, fid)
                back = time.monotonic()
                polls += 1
                check(f, "%s: the client over the soft limit was dropped within %.2fs of sending its "
                      "GETs (soft-seconds %d; it went over by %.2fs)"
                      % (srv.name, back - t_send, SOFT_SECONDS, t_over - t_send))
                check(int(f["omem"]) >= SOFT_LIMIT, "%s: omem fell to %s while the client read nothing"
                      % (srv.name, f["omem"]))
            # ... and gone once it has been over for longer than soft-seconds
            end = t_over + SOFT_SECONDS + 2.0
            while True:
                f = client_fields(ctl, fid)
                back = time.monotonic()
                if not f:
                    check(back - t_send > SOFT_SECONDS,
                          "%s: dropped %.2fs after sending its GETs, before soft-seconds (%d) had passed"
                          % (srv.name, back - t_send, SOFT_SECONDS))
                    break
                check(back < end, "%s: a client over the soft limit for %.1fs (soft-seconds %d) is still "
                      "connected: %r" % (srv.name, back - t_over, SOFT_SECONDS, f))
                select.select([], [], [], 0.02)
            closed, _ = flood.wait_closed(10.0)
            check(closed, "%s: the socket of the client dropped at the soft limit was not closed" % srv.name)
        finally:
            flood.close()
        eq(ctl.cmd("PING"), b"+PONG\r\n", "%s: another client after the drop" % srv.name)
        wait_until(lambda: "for overcoming of output buffer limits" in srv.output(), 5.0,
                   "%s: a log line about closing the client for its output buffer limit; output:\n%s"
                   % (srv.name, srv.output()[-2000:]))


def test_output_soft_limit_held_then_dropped():
    with serving() as srv:
        with srv.conn() as c:
            before = None
            if not harness.is_oracle_under_test():      # Redis 7.0 has no such INFO field
                before = stat(c, "client_output_buffer_limit_disconnections")
                eq(before, 0, "INFO stats client_output_buffer_limit_disconnections at start")
        soft_limit_session(srv)
        lines = [l for l in srv.output().splitlines() if "for overcoming of output buffer limits" in l]
        eq(len(lines), 1, "log lines about the output buffer limit (%r)" % lines)
        check(" # " in lines[0], "the output-limit log line is not at warning level ('#'): %r" % lines[0])
        if before is not None:
            with srv.conn() as c:
                eq(stat(c, "client_output_buffer_limit_disconnections"), before + 1,
                   "INFO stats client_output_buffer_limit_disconnections after a soft-limit drop")


def test_output_soft_limit_redis_does_the_same():
    """The same session against Debian's redis-server: it too holds, then drops."""
    with serving(oracle=True) as ora:
        soft_limit_session(ora)


# ---------------------------------------------------------------- CLIENT LIST buffers

def test_client_list_shows_query_buffer():
    for use_oracle in (False, True):
        with serving(oracle=use_oracle) as srv, srv.conn() as ctl, srv.conn() as part:
            pid_ = decode(part.cmd("CLIENT", "ID"))
            eq(client_fields(ctl, pid_).get("qbuf"), "0", "%s: qbuf of an idle client" % srv.name)
            head = b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$102400\r\n"
            part.send(head + b"h" * 51200)              # half of a 100 KB argument
            wait_until(lambda: int(client_fields(ctl, pid_).get("qbuf", "0")) >= 51200, 5.0,
                       "%s: CLIENT LIST to show qbuf >= 51200 for a client half-way through a "
                       "100 KB argument: %r" % (srv.name, client_fields(ctl, pid_)))
            eq(ctl.cmd("EXISTS", "half"), b":0\r\n", "%s: the partial SET has not run" % srv.name)
            part.send(b"h" * 51200 + b"\r\n")
            eq(part.reply(), b"+OK\r\n", "%s: the SET once its argument is complete" % srv.name)
            eq(ctl.cmd("STRLEN", "half"), b":102400\r\n", "%s: STRLEN of the 100 KB value" % srv.name)
            eq(client_fields(ctl, pid_).get("qbuf"), "0",
               "%s: qbuf once the command has run" % srv.name)


def test_client_list_shows_pending_output():
    for use_oracle in (False, True):
        with serving(oracle=use_oracle) as srv, srv.conn() as ctl:
            eq(ctl.cmd("SET", "big", big_value(1)), b"+OK\r\n", "SET 1 MB value")
            lazy = small_rcvbuf_conn(srv.port)
            try:
                lid = decode(lazy.cmd("CLIENT", "ID"))
                f = client_fields(ctl, lid)
                eq((f.get("omem"), f.get("oll")), ("0", "0"),
                   "%s: omem/oll of a client with nothing pending" % srv.name)
                lazy.send(encode("GET", "big") * 16)      # far more than the socket buffers hold

                def pending():
                    f = client_fields(ctl, lid)
                    check(f, "%s: the client with unread output disappeared" % srv.name)
                    return int(f["omem"]) > 0 and int(f["oll"]) > 0
                wait_until(pending, 5.0, "%s: CLIENT LIST to show omem > 0 and oll > 0 for a client "
                           "with unread replies: %r" % (srv.name, client_fields(ctl, lid)))
                f = client_fields(ctl, lid)
                check(int(f["tot-mem"]) >= int(f["omem"]),
                      "%s: tot-mem %s below omem %s" % (srv.name, f["tot-mem"], f["omem"]))
            finally:
                lazy.close()


def test_client_list_field_names_match_redis():
    def names(c):
        line = decode(c.cmd("CLIENT", "LIST")).decode().splitlines()
        eq(len(line), 1, "CLIENT LIST lines with one client")
        return [f.partition("=")[0] for f in line[0].split(" ")]
    with serving() as srv, serving(oracle=True) as ora, srv.conn() as c, ora.conn() as o:
        mine, want = names(c), names(o)
        extra = ("lib-name", "lib-ver")        # Redis 7.2 fields; 7.0.15 does not have them
        eq([n for n in mine if n not in extra], [n for n in want if n not in extra],
           "CLIENT LIST field names (in order) vs redis-server")
        info_mine = [f.partition("=")[0] for f in decode(c.cmd("CLIENT", "INFO")).decode().strip().split(" ")]
        eq(info_mine, mine, "CLIENT INFO field names vs CLIENT LIST")


# ---------------------------------------------------------------- (b) many clients

def raise_nofile(want):
    """Raise this process's soft RLIMIT_NOFILE toward `want`; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def close_now(s):
    """Close with a reset rather than FIN, so 10,000 closes leave no TIME_WAIT sockets
    holding this host's ephemeral ports."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def open_clients(port, n, deadline_s, batch=500):
    """Open n connections, each doing SET cK vK / GET cK (checked); return the sockets,
    all still open. Non-blocking sockets driven by one selector, `batch` in flight."""
    sel = selectors.DefaultSelector()
    done = []
    end = time.monotonic() + deadline_s
    i = 0
    try:
        while i < n:
            inflight = {}
            for k in range(i, min(n, i + batch)):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                err = s.connect_ex(("127.0.0.1", port))
                if err not in (0, 115):     # 115: EINPROGRESS
                    s.close()
                    raise TestFailure("connect %d failed: %s" % (k, os.strerror(err)))
                key, val = b"c%d" % k, b"v%d" % k
                st = {"i": k, "sent": False, "buf": b"",
                      "req": encode("SET", key, val) + encode("GET", key),
                      "want": b"+OK\r\n$%d\r\n%s\r\n" % (len(val), val)}
                inflight[s] = st
                sel.register(s, selectors.EVENT_WRITE, st)
            i = min(n, i + batch)
            while inflight:
                left = end - time.monotonic()
                if left <= 0:
                    raise TestFailure("timed out after %.0fs with %d of %d clients served"
                                      % (deadline_s, len(done), n))
                for key, ev in sel.select(min(left, 1.0)):
                    s, st = key.fileobj, key.data
                    if not st["sent"]:
                        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if err:
                            raise TestFailure("client %d: connect: %s" % (st["i"], os.strerror(err)))
                        s.send(st["req"])           # tiny: fits the empty send buffer
                        st["sent"] = True
                        sel.modify(s, selectors.EVENT_READ, st)
                        continue
                    try:
                        chunk = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        chunk = b""
                    if not chunk:
                        raise TestFailure("client %d: closed by the server after %r"
                                          % (st["i"], st["buf"]))
                    st["buf"] += chunk
                    if len(st["buf"]) >= len(st["want"]):
                        eq(st["buf"], st["want"], "client %d: replies to SET/GET" % st["i"])
                        sel.unregister(s)
                        del inflight[s]
                        done.append(s)
        return done
    except BaseException:
        for s in done:
            close_now(s)
        for key in list(sel.get_map().values()):
            close_now(key.fileobj)
        raise
    finally:
        sel.close()


def test_ten_thousand_clients_and_maxclients():
    n = 10000
    have = raise_nofile(n + 256)
    if have < n + 256:
        n = max(64, have - 256)
        print("NOTE: RLIMIT_NOFILE hard limit is %d; scaled the concurrent-clients case down "
              "to %d clients" % (have, n), flush=True)
    with serving(["--maxclients", str(n)]) as srv:
        ctl = srv.conn()                           # client 1 of n
        socks = []
        try:
            eq(ctl.cmd("SET", "ctl", "x"), b"+OK\r\n", "control client SET")
            t0 = time.monotonic()
            socks = open_clients(srv.port, n - 1, 120.0)
            print("    %d clients served in %.1fs" % (n, time.monotonic() - t0), flush=True)
            eq(len(socks), n - 1, "clients served")
            eq(int(info(ctl, "clients")["connected_clients"]), n, "INFO clients connected_clients")
            eq(ctl.cmd("DBSIZE"), b":%d\r\n" % n, "DBSIZE after every client's SET")
            rejected0 = stat(ctl, "rejected_connections")
            # client n+1, with all n still open
            got = rejected_reply(srv.port)
            eq(got, b"-ERR max number of clients reached\r\n", "reply to connection %d" % (n + 1))
            eq(stat(ctl, "rejected_connections"), rejected0 + 1, "INFO stats rejected_connections")
            # the held clients still work
            for s in (socks[0], socks[len(socks) // 2], socks[-1]):
                s.setblocking(True)
                s.settimeout(10)
                s.sendall(encode("PING"))
                eq(s.recv(64), b"+PONG\r\n", "PING on a held client")
            # once one leaves, a new client is admitted
            close_now(socks.pop())
            wait_until(lambda: int(info(ctl, "clients")["connected_clients"]) == n - 1, 10.0,
                       "connected_clients to drop after a client left")
            with srv.conn() as c:
                eq(c.cmd("PING"), b"+PONG\r\n", "PING from a client admitted after one left")
        finally:
            for s in socks:
                close_now(s)
            ctl.close()
        with srv.conn() as c:
            wait_until(lambda: int(info(c, "clients")["connected_clients"]) == 1, 30.0,
                       "all clients to be gone")


# ---------------------------------------------------------------- (c) query buffer limit

def test_query_buffer_limit():
    with serving() as srv, srv.conn() as ctl, srv.conn() as bystander:
        eq(ctl.cmd("CONFIG", "SET", "client-query-buffer-limit", "1mb"), b"+OK\r\n",
           "CONFIG SET client-query-buffer-limit 1mb")
        eq(ctl.cmd("CONFIG", "GET", "client-query-buffer-limit"),
           encode_config("client-query-buffer-limit", "1048576"), "CONFIG GET client-query-buffer-limit")
        with srv.conn() as victim:
            vid = decode(victim.cmd("CLIENT", "ID"))
            victim.send(b"*3\r\n$3\r\nSET\r\n$4\r\nqbuf\r\n$4194304\r\n")
            chunk = b"x" * 65536
            try:
                for _ in range(32):                        # 2 MB of a 4 MB bulk
                    victim.sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass                                       # closed while we were sending
            closed, junk = victim.wait_closed(10.0)
            check(closed, "a client with 2 MB of unparsed input was not closed (limit 1mb)")
            eq(junk, b"", "bytes sent to the client before closing it")
        check(vid not in client_ids(ctl), "the closed client is still in CLIENT LIST")
        eq(bystander.cmd("PING"), b"+PONG\r\n", "another client after the close")
        eq(bystander.cmd("EXISTS", "qbuf"), b":0\r\n", "the partial SET did not run")
        wait_until(lambda: "reached max query buffer length" in srv.output(), 5.0,
                   "a log line about the query buffer limit")
        if not harness.is_oracle_under_test():
            eq(stat(ctl, "client_query_buffer_limit_disconnections"), 1,
               "INFO stats client_query_buffer_limit_disconnections")
        # a 512 KB value is within the limit
        eq(bystander.cmd("SET", "ok", b"y" * (512 * 1024)), b"+OK\r\n", "SET 512 KB under a 1 MB limit")
        eq(bystander.cmd("STRLEN", "ok"), b":524288\r\n", "STRLEN of the 512 KB value")


# ---------------------------------------------------------------- idle timeout

def wait_idle_closed(active, idle, deadline=10.0):
    """With timeout 1: the server closes idle while active, PINGing, stays open."""
    end = time.monotonic() + deadline
    closed = False
    while time.monotonic() < end and not closed:
        eq(active.cmd("PING"), b"+PONG\r\n", "the active client stays open")
        closed, _ = idle.wait_closed(0.1)
    check(closed, "an idle client was not closed within %.0fs of timeout 1" % deadline)


def test_idle_timeout():
    with serving() as srv, srv.conn() as active:
        eq(active.cmd("CONFIG", "SET", "timeout", "1"), b"+OK\r\n", "CONFIG SET timeout 1")
        idle = srv.conn()
        try:
            eq(idle.cmd("PING"), b"+PONG\r\n", "idle client's first PING")
            wait_idle_closed(active, idle)
        finally:
            idle.close()
        eq(active.cmd("CONFIG", "SET", "timeout", "0"), b"+OK\r\n", "CONFIG SET timeout 0")


def rejected_reply(port):
    """Connect, read until the server closes the connection; return what it sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        got = b""
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                return got
            got += chunk
        raise TestFailure("a connection over maxclients was not closed; got %r" % got)


def log_lines(srv, text):
    return [l for l in srv.output().splitlines() if text in l]


def test_limit_drops_are_logged():
    """At loglevel verbose the maxclients rejection and the idle-timeout close are logged
    (verbose mark '-'); at notice the rejection is not."""
    on_oracle = harness.is_oracle_under_test()     # Redis 7.0 does not log the rejection
    reject_text = "Rejected connection: max number of clients (1) reached"
    with serving(["--loglevel", "verbose"]) as srv, srv.conn() as ctl:
        eq(ctl.cmd("CONFIG", "GET", "loglevel"), encode_config("loglevel", "verbose"), "CONFIG GET loglevel")
        eq(ctl.cmd("CONFIG", "SET", "maxclients", "1"), b"+OK\r\n", "CONFIG SET maxclients 1")
        eq(rejected_reply(srv.port), b"-ERR max number of clients reached\r\n", "reply over maxclients")
        # the server logs right after closing the socket, before it serves anything else
        eq(ctl.cmd("PING"), b"+PONG\r\n", "PING after the rejection")
        if not on_oracle:
            lines = log_lines(srv, reject_text)
            eq(len(lines), 1, "log lines %r; output:\n%s" % (reject_text, srv.output()[-2000:]))
            check(" - " in lines[0], "the rejection is not logged at verbose level ('-'): %r" % lines[0])
            eq(ctl.cmd("CONFIG", "SET", "loglevel", "notice"), b"+OK\r\n", "CONFIG SET loglevel notice")
            eq(rejected_reply(srv.port), b"-ERR max number of clients reached\r\n",
               "reply over maxclients at loglevel notice")
            eq(ctl.cmd("PING"), b"+PONG\r\n", "PING after the second rejection")
            eq(len(log_lines(srv, reject_text)), 1, "rejection log lines after one more at loglevel notice")
            eq(ctl.cmd("CONFIG", "SET", "loglevel", "verbose"), b"+OK\r\n", "CONFIG SET loglevel verbose")
        eq(ctl.cmd("CONFIG", "SET", "maxclients", "100"), b"+OK\r\n", "CONFIG SET maxclients 100")

        eq(ctl.cmd("CONFIG", "SET", "timeout", "1"), b"+OK\r\n", "CONFIG SET timeout 1")
        idle = srv.conn()
        try:
            iid = decode(idle.cmd("CLIENT", "ID"))
            wait_idle_closed(ctl, idle)
        finally:
            idle.close()
        eq(ctl.cmd("PING"), b"+PONG\r\n", "PING after the idle close")
        idle_text = "Closing idle client" if on_oracle else "Closing idle client id=%d addr=" % iid
        lines = log_lines(srv, idle_text)
        eq(len(lines), 1, "log lines %r; output:\n%s" % (idle_text, srv.output()[-2000:]))
        check(" - " in lines[0], "the idle close is not logged at verbose level ('-'): %r" % lines[0])
        eq(ctl.cmd("CONFIG", "SET", "timeout", "0"), b"+OK\r\n", "CONFIG SET timeout 0")


# ---------------------------------------------------------------- (d) SLOWLOG

def slowlog_entries(c, raw, now_s):
    """Normalise a SLOWLOG GET reply: check each entry's shape (6 fields: id, unix
    time, microseconds, argument array, client address, client name) and return
    [(id, [args], name)]."""
    val = decode(raw)
    check(isinstance(val, list), "SLOWLOG GET reply is not an array: %r" % raw[:200])
    laddr = "%s:%d" % c.sock.getsockname()[:2]
    out = []
    for e in val:
        check(isinstance(e, list) and len(e) == 6, "slowlog entry is not a 6-element array: %r" % (e,))
        eid, ts, dur, args, addr, name = e
        check(isinstance(eid, int) and eid >= 0, "entry id %r" % (eid,))
        check(isinstance(ts, int) and abs(ts - now_s) <= 10, "entry time %r (now %d)" % (ts, now_s))
        check(isinstance(dur, int) and 0 <= dur < 10_000_000, "entry duration %r" % (dur,))
        check(isinstance(args, list) and all(isinstance(a, bytes) for a in args),
              "entry arguments %r" % (args,))
        eq(addr, laddr.encode(), "entry client address")
        out.append((eid, args, name))
    ids = [x[0] for x in out]
    eq(ids, sorted(ids, reverse=True), "entry ids newest first")
    return out


def slowlog_script(c):
    """The same SLOWLOG session for either server; returns what must be identical."""
    got = []

    def cmd(*a):
        r = c.cmd(*a)
        got.append((a[:3], r if not a[0].upper().startswith("SLOWLOG") or a[1:2] != ("GET",)
                    else None))
        return r

    def getlog(*a):
        r = c.cmd("SLOWLOG", "GET", *a)
        got.append((("SLOWLOG GET",) + a, slowlog_entries(c, r, int(time.time()))))

    cmd("CLIENT", "SETNAME", "slowtest")
    cmd("CONFIG", "SET", "slowlog-max-len", "128")
    cmd("CONFIG", "SET", "slowlog-log-slower-than", "0")
    cmd("SLOWLOG", "RESET")
    cmd("SLOWLOG", "LEN")
    cmd("SET", "k", "v")
    cmd("NOSUCHCOMMAND", "x")                      # rejected: never logged
    cmd("GET")                                     # arity error: never logged
    cmd("DEL", *["k%d" % i for i in range(1, 32)])     # 32 arguments: all kept
    cmd("DEL", *["k%d" % i for i in range(1, 33)])     # 33: 31 kept + "... (2 more arguments)"
    cmd("DEL", *["k%d" % i for i in range(1, 41)])     # 41: "... (10 more arguments)"
    cmd("SET", "a" * 128, "v")                     # 128 bytes: kept whole
    cmd("SET", "b" * 129, "v")                     # "... (1 more bytes)"
    cmd("SET", "k", "c" * 1000)                    # "... (872 more bytes)"
    cmd("DEL", "x" * 300, *["k%d" % i for i in range(40)])   # both trims in one entry
    cmd("SLOWLOG", "LEN")
    getlog("-1")
    getlog()                                       # default count 10
    getlog("3")
    getlog("0")
    getlog("1000")
    for bad in ("-2", "abc", "1.5"):
        cmd("SLOWLOG", "GET", bad)
    cmd("SLOWLOG", "GET", "1", "2")
    cmd("SLOWLOG", "LEN", "x")
    cmd("SLOWLOG", "RESET", "x")
    cmd("SLOWLOG", "NOPE")
    cmd("SLOWLOG")
    cmd("SLOWLOG", "HELP")
    # max-len caps the log at its newest entries
    cmd("CONFIG", "SET", "slowlog-max-len", "5")
    for i in range(20):
        cmd("PING", "p%d" % i)
    cmd("SLOWLOG", "LEN")
    getlog("-1")
    cmd("CONFIG", "SET", "slowlog-max-len", "2")       # shrinking trims at the next push
    cmd("SLOWLOG", "LEN")
    cmd("SLOWLOG", "LEN")
    cmd("SLOWLOG", "RESET")
    cmd("SLOWLOG", "LEN")
    # -1 turns logging off; a huge threshold logs nothing fast
    cmd("CONFIG", "SET", "slowlog-max-len", "128")
    cmd("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    cmd("SLOWLOG", "RESET")
    cmd("PING")
    cmd("SLOWLOG", "LEN")
    cmd("CONFIG", "SET", "slowlog-log-slower-than", "100000000")
    cmd("PING")
    cmd("SLOWLOG", "LEN")
    cmd("CONFIG", "SET", "slowlog-max-len", "0")
    cmd("CONFIG", "SET", "slowlog-log-slower-than", "0")
    cmd("PING")
    cmd("SLOWLOG", "LEN")
    return got


def test_slowlog_matches_redis():
    with serving() as srv, serving(oracle=True) as ora, srv.conn() as c, ora.conn() as o:
        mine, want = slowlog_script(c), slowlog_script(o)
        eq(len(mine), len(want), "number of steps")
        diffs = ["at %r:\n  respite: %r\n  redis:   %r" % (step, got, exp)
                 for (step, got), (_, exp) in zip(mine, want) if got != exp]
        check(not diffs, "SLOWLOG session differs from redis-server in %d steps; the first:\n%s"
              % (len(diffs), "\n".join(diffs[:4])))


def test_slowlog_config_errors_match_redis():
    bad = (("slowlog-log-slower-than", "-2"), ("slowlog-log-slower-than", "x"),
           ("slowlog-max-len", "-1"), ("slowlog-max-len", "x"))
    with serving() as srv, serving(oracle=True) as ora, srv.conn() as c, ora.conn() as o:
        for name, val in bad:
            eq(c.cmd("CONFIG", "SET", name, val), o.cmd("CONFIG", "SET", name, val),
               "CONFIG SET %s %s vs redis-server" % (name, val))


def test_slowlog_transaction_matches_redis():
    """Redis logs the commands a transaction ran, each on its own, but not EXEC."""
    def session(c):
        eq(c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0"), b"+OK\r\n", "threshold 0")
        c.cmd("SLOWLOG", "RESET")
        for a in (("MULTI",), ("SET", "m", "1"), ("INCR", "m"), ("EXEC",), ("PING",)):
            c.cmd(*a)
        return [e[1] for e in slowlog_entries(c, c.cmd("SLOWLOG", "GET", "-1"), int(time.time()))]
    with serving() as srv, serving(oracle=True) as ora, srv.conn() as c, ora.conn() as o:
        eq(session(c), session(o), "SLOWLOG entries (arguments, newest first) after MULTI/SET/INCR/EXEC/PING "
           "vs redis-server")


def test_slowlog_trimming_exact():
    """The trimmed arguments themselves, independent of the oracle."""
    with serving() as srv, srv.conn() as c:
        eq(c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0"), b"+OK\r\n", "threshold 0")
        c.cmd("SLOWLOG", "RESET")
        c.cmd("DEL", "x" * 300, *["k%d" % i for i in range(40)])
        e = slowlog_entries(c, c.cmd("SLOWLOG", "GET", "1"), int(time.time()))
        eq(len(e), 1, "entries")
        args = e[0][1]
        eq(len(args), 32, "logged argument count")
        eq(args[0], b"DEL", "first argument")
        eq(args[1], b"x" * 128 + b"... (172 more bytes)", "long argument trimmed")
        eq(args[2:31], [b"k%d" % i for i in range(29)], "middle arguments")
        eq(args[31], b"... (11 more arguments)", "last slot counts what was left out")


# ---------------------------------------------------------------- maxmemory-samples

def test_maxmemory_samples():
    with serving() as srv, serving(oracle=True) as ora, srv.conn() as c, ora.conn() as o:
        eq(c.cmd("CONFIG", "SET", "maxmemory-samples", "10"), b"+OK\r\n", "CONFIG SET maxmemory-samples 10")
        eq(c.cmd("CONFIG", "GET", "maxmemory-samples"), encode_config("maxmemory-samples", "10"),
           "CONFIG GET maxmemory-samples after setting 10")
        diffs = []
        for val in ("0", "65", "-1", "x"):
            got, want = c.cmd("CONFIG", "SET", "maxmemory-samples", val), \
                o.cmd("CONFIG", "SET", "maxmemory-samples", val)
            if got != want:
                diffs.append("CONFIG SET maxmemory-samples %s:\n  respite: %r\n  redis:   %r" % (val, got, want))
            check(got == b"+OK\r\n" or got.startswith(b"-ERR "), "reply %r" % got)
        for conn in (c, o):
            conn.cmd("CONFIG", "SET", "maxmemory-samples", "10")
        eq(c.cmd("CONFIG", "GET", "maxmemory-samples"), o.cmd("CONFIG", "GET", "maxmemory-samples"),
           "CONFIG GET maxmemory-samples after resetting to 10, vs redis-server")
        check(not diffs, "CONFIG SET maxmemory-samples differs from redis-server %s:\n%s"
              % (ora.binary, "\n".join(diffs)))


# ---------------------------------------------------------------- (e) INFO stats

STAT_FIELDS = ("keyspace_hits", "keyspace_misses", "total_commands_processed",
               "expired_keys", "rejected_connections", "total_connections_received",
               "evicted_keys")


def stats_script(srv, c):
    """One session; returns the deltas of STAT_FIELDS after each step."""
    steps = []

    def snap():
        d = info(c, "stats")
        return {f: int(d[f]) for f in STAT_FIELDS}

    def step(name, fn, fields=STAT_FIELDS):
        before = snap()
        fn()
        after = snap()
        steps.append((name, {f: after[f] - before[f] for f in fields}))

    step("GET miss", lambda: c.cmd("GET", "nokey"))
    step("SET", lambda: c.cmd("SET", "k", "v"))
    step("GET hit", lambda: c.cmd("GET", "k"))
    step("MGET", lambda: c.cmd("MGET", "k", "nokey", "k", "nokey2"))
    step("EXISTS", lambda: c.cmd("EXISTS", "k", "nokey"))
    step("TYPE", lambda: c.cmd("TYPE", "k"))
    step("STRLEN", lambda: c.cmd("STRLEN", "nokey"))
    step("TTL", lambda: c.cmd("TTL", "k"))
    step("GETRANGE", lambda: c.cmd("GETRANGE", "k", "0", "-1"))
    step("INCR", lambda: c.cmd("INCR", "n"))
    step("APPEND", lambda: c.cmd("APPEND", "k", "w"))
    step("unknown command", lambda: c.cmd("NOSUCH"))
    step("arity error", lambda: c.cmd("GET"))
    step("pipeline of 10 PINGs", lambda: (c.send(encode("PING") * 10), [c.reply() for _ in range(10)]))

    def expire_three():
        for k in ("e1", "e2", "e3"):
            eq(c.cmd("SET", k, "v", "PX", "1"), b"+OK\r\n", "SET PX 1")
        base = int(info(c, "stats")["expired_keys"])
        # active expiry must find them without anyone touching the keys
        wait_until(lambda: int(info(c, "stats")["expired_keys"]) >= base + 3, 10.0,
                   "expired_keys to count three PX 1 keys")
    # how many INFO polls the waits take varies, so only expired_keys is compared
    step("three PX 1 keys expire", expire_three, ("expired_keys",))

    def one_expires():
        eq(c.cmd("SET", "lz", "v", "PX", "1"), b"+OK\r\n", "SET PX 1")
        wait_until(lambda: c.cmd("EXISTS", "lz") == b":0\r\n", 5.0, "lz to expire")
    step("one PX 1 key expires (lazily or actively)", one_expires, ("expired_keys",))

    def reject_one():
        eq(c.cmd("CONFIG", "SET", "maxclients", "1"), b"+OK\r\n", "CONFIG SET maxclients 1")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            got = b""
            while True:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                got += chunk
        eq(got, b"-ERR max number of clients reached\r\n", "reply over maxclients")
        eq(c.cmd("CONFIG", "SET", "maxclients", "10000"), b"+OK\r\n", "CONFIG SET maxclients back")
    step("one connection over maxclients", reject_one)

    def two_connections():
        for _ in range(2):
            with srv.conn() as x:
                eq(x.cmd("PING"), b"+PONG\r\n", "PING on a new connection")
    step("two new connections", two_connections)
    return steps


def test_info_stats_match_redis():
    with serving() as srv, serving(oracle=True) as ora, srv.conn() as c, ora.conn() as o:
        mine, want = stats_script(srv, c), stats_script(ora, o)
        bad = []
        for (name, got), (_, exp) in zip(mine, want):
            for f, v in exp.items():
                if got.get(f) != v:
                    bad.append("%s: %s changed by %r, redis-server: %r" % (name, f, got.get(f), v))
        check(not bad, "INFO stats deltas differ from redis-server:\n  " + "\n  ".join(bad))
        eq(int(info(c, "stats")["evicted_keys"]), 0, "evicted_keys with no maxmemory")


def test_info_stats_counts():
    """The counters on their own terms (what the brief's server promises)."""
    with serving() as srv, srv.conn() as c:
        s0 = info(c, "stats")
        for i in range(5):
            c.cmd("SET", "k%d" % i, "v")
        for i in range(5):
            c.cmd("GET", "k%d" % i)
        for i in range(3):
            c.cmd("GET", "missing%d" % i)
        s1 = info(c, "stats")
        eq(int(s1["keyspace_hits"]) - int(s0["keyspace_hits"]), 5, "keyspace_hits delta")
        eq(int(s1["keyspace_misses"]) - int(s0["keyspace_misses"]), 3, "keyspace_misses delta")
        # 13 commands + the first INFO (counted once it has run)
        eq(int(s1["total_commands_processed"]) - int(s0["total_commands_processed"]), 14,
           "total_commands_processed delta")
        # instantaneous_ops_per_sec rises under load
        end = time.monotonic() + 10
        seen = 0
        while time.monotonic() < end and seen <= 0:
            c.send(encode("PING") * 2000)
            for _ in range(2000):
                c.reply()
            seen = int(info(c, "stats")["instantaneous_ops_per_sec"])
        check(seen > 0, "instantaneous_ops_per_sec stayed 0 under a load of PINGs")
