"""test_security.py: the checks of issue 15 that Redis 7.0.15 passes, one case per point.

1. Cross-protocol scripting: an HTTP request sent to the port must not run its body; a
   command named POST or Host: closes the connection with nothing answered and logs
   Redis's "Possible SECURITY ATTACK detected" line (compared with redis-server).
2. Input limits before AUTH: with requirepass, an unauthenticated client may send at most
   10 arguments and bulks of at most 16 KB (Redis's errors, connection closed; compared
   byte for byte); a huge unfinished bulk neither grows memory nor evicts keys; the
   parser's argument tables count in used_memory.
3. maxclients beyond the file limit: under `ulimit -n 256` maxclients is lowered to 224
   at start-up with Redis's warnings and CONFIG SET maxclients 1000 is refused with
   Redis's text (compared); accept() failing with EMFILE backs off instead of spinning,
   and its log line is rate-limited.
4. CONFIG SET is all or nothing: `CONFIG SET maxmemory 1 hz bogus` leaves maxmemory as
   it was (compared).
5. Big values: a 64 MB SET is read straight into the value's own allocation: the peak
   RSS stays under 1.3x the value (the old path peaked at 2x), and big arguments give
   the same replies as Redis in every command shape that carries them.
7. Password hygiene: SLOWLOG redacts exactly what Redis redacts (compared), and no
   password appears in the log (at loglevel debug) or in CLIENT LIST.
"""

import contextlib
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, ConnectionClosed, Skip, TestFailure, check, decode, eq, wait_until  # noqa: E402

SECURITY_LINE = ("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands "
                 "to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to "
                 "compromise your Redis instance. Connection aborted.")


class AuthServer(harness.Server):
    """A harness server that may need a password before PING, optionally started under
    `prlimit --nofile=<n>:<n>` (prlimit execs the server, so the pid is the server's)."""

    def __init__(self, password=None, nofile=None, **kw):
        super().__init__(**kw)
        self.password = password
        self.nofile = nofile

    def start_argv(self, attempt):
        argv = super().start_argv(attempt)
        if self.nofile:
            argv = ["prlimit", "--nofile=%d:%d" % (self.nofile, self.nofile), "--"] + argv
        return argv

    def _probe(self):
        with Conn(self.port, timeout=2.0) as c:
            if self.password:
                c.cmd("AUTH", self.password)
            r = c.cmd("PING")
            return r == b"+PONG\r\n", "PING replied %r" % r

    def authed(self, **kw):
        c = self.conn(**kw)
        if self.password:
            eq(c.cmd("AUTH", self.password), b"+OK\r\n", "%s: AUTH" % self.name)
        return c


@contextlib.contextmanager
def serving(args=(), oracle=False, password=None, nofile=None):
    """One server (the one under test, or the oracle) for the length of a case; stopped
    and checked (exit status, sanitizer report) at the end."""
    kw = {"binary": harness.ORACLE_BINARY, "name": "oracle redis-server"} if oracle else {}
    if password:
        args = list(args) + ["--requirepass", password]
    srv = AuthServer(password=password, nofile=nofile, args=args, **kw).start()
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


@contextlib.contextmanager
def both(args=(), password=None, nofile=None):
    """The server under test and the oracle, started alike."""
    with serving(args, password=password, nofile=nofile) as mine, \
            serving(args, oracle=True, password=password, nofile=nofile) as ora:
        yield mine, ora


def exchange(port, data, wait=1.0):
    """Send raw bytes on a fresh connection; return (bytes received, closed?) once the
    server closed the connection or sent nothing more for `wait` seconds."""
    with Conn(port) as c:
        c.send(data)
        got = bytearray()
        end = time.monotonic() + 10.0
        while time.monotonic() < end:
            r, _, _ = select.select([c.sock], [], [], wait)
            if not r:
                return bytes(got), False
            try:
                chunk = c.sock.recv(65536)
            except ConnectionResetError:
                return bytes(got), True
            if not chunk:
                return bytes(got), True
            got += chunk
        return bytes(got), False


def info_field(c, section, field):
    for line in decode(c.cmd("INFO", section)).decode().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    raise TestFailure("INFO %s has no %s" % (section, field))


def proc_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise TestFailure("/proc/%d/status has no %s" % (pid, field))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- 1. cross-protocol scripting

HTTP_INPUTS = [
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 15\r\n\r\nSET pwned yes\r\n",
    b"*1\r\n$4\r\nPING\r\nPOST / HTTP/1.1\r\nSET pwned yes\r\n",   # the PING's reply is dropped too
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\nSET pwned yes\r\n",
    b"*2\r\n$5\r\nHost:\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$5\r\npwned\r\n$3\r\nyes\r\n",
    b"post\r\nSET pwned yes\r\n",
]


def test_cross_protocol_http_post_is_refused():
    with both() as (mine, ora):
        for srv in (mine, ora):
            if shutil.which("curl"):            # the reproduction, as is
                subprocess.run(["curl", "-s", "-m", "2", "-X", "POST", "--data-binary", "SET pwned yes\r\n",
                                "http://127.0.0.1:%d/" % srv.port], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=10)
            with srv.conn() as c:
                eq(c.cmd("GET", "pwned"), b"$-1\r\n", "%s: GET pwned after curl POST" % srv.name)
        for data in HTTP_INPUTS:
            got = exchange(mine.port, data)
            eq(got, exchange(ora.port, data), "reply and close for %r" % data)
            eq(got, (b"", True), "respite on %r" % data)
            with mine.conn() as c:
                eq(c.cmd("GET", "pwned"), b"$-1\r\n", "GET pwned after %r" % data)
        for srv in (mine, ora):
            wait_until(lambda: SECURITY_LINE in srv.output(), 5.0, "%s: the security log line" % srv.name)
        # logged at most once a minute, as Redis, however many requests came
        eq(mine.output().count(SECURITY_LINE), 1, "security log lines for %d requests" % (len(HTTP_INPUTS) + 1))


# ---------------------------------------------------------------- 2. limits before AUTH

UNAUTH_INPUTS = [
    b"*11\r\n",
    b"*10\r\n",
    b"*12\r\n$3\r\nSET\r\n",
    b"*2\r\n$16385\r\n",
    b"*2\r\n$16384\r\n",
    b"*-1\r\n*11\r\n",
    b"*1\r\n$4\r\nPING\r\n*11\r\n",
    b"*2147483648\r\n",
    b"*2\r\n$999999999999\r\n",
    b"*2\r\n$-5\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000000\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*20\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$20000\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n*11\r\n",
    b"a b c d e f g h i j k l m n\r\n",
]


def test_unauthenticated_input_limits():
    with both(password="pw") as (mine, ora):
        for data in UNAUTH_INPUTS:
            eq(exchange(mine.port, data, wait=0.3), exchange(ora.port, data, wait=0.3),
               "reply and close for %r" % data)
        eq(exchange(mine.port, b"*11\r\n"),
           (b"-ERR Protocol error: unauthenticated multibulk length\r\n", True), "an 11-argument header")
        eq(exchange(mine.port, b"*2\r\n$16385\r\n"),
           (b"-ERR Protocol error: unauthenticated bulk length\r\n", True), "a 16385-byte bulk header")


def test_unauthenticated_client_cannot_grow_memory_or_evict():
    """The issue's reproduction: a client that never authenticates streams a huge
    multibulk, or an unfinished 200 MB bulk under an eviction policy."""
    with serving(["--maxmemory", "20mb", "--maxmemory-policy", "allkeys-lru"], password="pw") as srv:
        with srv.authed() as ctl:
            for i in range(0, 1000, 100):
                ctl.send(b"".join(harness.encode("SET", "key:%d" % j, "v" * 100) for j in range(i, i + 100)))
                for _ in range(100):
                    ctl.reply()
            eq(ctl.cmd("DBSIZE"), b":1000\r\n", "keys before")
            rss0 = proc_status(srv.proc.pid, "VmRSS")
            for header in (b"*100000000\r\n", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000000\r\n"):
                with srv.conn() as bad:
                    bad.send(header)
                    sent = 0
                    try:
                        for _ in range(256):              # up to 16 MB more
                            bad.sock.sendall(b"$1\r\na\r\n" * 9362 if header[1:2] == b"1" else b"x" * 65536)
                            sent += 65536
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    closed, _ = bad.wait_closed(10.0)
                    check(closed, "the unauthenticated client sending %r was not closed" % header)
            eq(ctl.cmd("DBSIZE"), b":1000\r\n", "keys after the unauthenticated bulk (nothing evicted)")
            grew = proc_status(srv.proc.pid, "VmRSS") - rss0
            check(grew < 8 << 20, "RSS grew by %d bytes for unauthenticated input" % grew)


def test_parser_tables_count_in_used_memory():
    """An authenticated client's unfinished 2-million-argument command: its argument
    tables (32 bytes an argument) are in used_memory, not just its query buffer."""
    with serving() as srv, srv.conn() as ctl, srv.conn() as big:
        used0 = int(info_field(ctl, "memory", "used_memory"))
        big.send(b"*2000000\r\n" + b"$1\r\na\r\n" * 1000000)     # 7 MB, 1 million arguments
        eq(ctl.cmd("PING"), b"+PONG\r\n", "PING beside the big command")

        def grown():
            return int(info_field(ctl, "memory", "used_memory")) - used0 >= 7000000 + 24 * 1000000
        wait_until(grown, 10.0, "used_memory to count 1 million parsed arguments (7 MB of input + tables)")


# ---------------------------------------------------------------- 3. maxclients and the fd limit

def test_maxclients_within_the_file_limit():
    if not shutil.which("prlimit"):
        raise Skip("prlimit is not installed")
    with both(nofile=256) as (mine, ora):
        for srv in (mine, ora):
            wait_until(lambda: "maxclients has been reduced to 224 to compensate for low ulimit" in srv.output(),
                       5.0, "%s: the start-up warning" % srv.name)
        script = [("CONFIG", "GET", "maxclients"), ("CONFIG", "SET", "maxclients", "1000"),
                  ("CONFIG", "GET", "maxclients"), ("CONFIG", "SET", "maxclients", "100"),
                  ("CONFIG", "SET", "maxclients", "225"), ("CONFIG", "SET", "maxclients", "224", "hz", "bogus"),
                  ("CONFIG", "SET", "maxclients", "1000", "hz", "bogus"), ("CONFIG", "GET", "maxclients"),
                  ("CONFIG", "SET", "maxclients", "224"), ("CONFIG", "GET", "maxclients")]
        with mine.conn() as m, ora.conn() as o:
            for cmd in script:
                eq(m.cmd(*cmd), o.cmd(*cmd), " ".join(cmd))
            eq(m.cmd("CONFIG", "SET", "maxclients", "1000"),
               b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not "
               b"able to handle the specified number of clients, try with 224\r\n", "CONFIG SET maxclients 1000")
        for srv in (mine, ora):
            check("Failed applying new configuration. Possibly related to new maxclients setting. Restoring "
                  "previous settings." in srv.output(), "%s: the log line of the refused maxclients" % srv.name)


def test_accept_backs_off_when_out_of_descriptors():
    """Descriptors run out under the server (its limit lowered after start-up): accept()
    fails with EMFILE. The server must not spin on it or flood the log, and must accept
    again once descriptors are free."""
    if not shutil.which("prlimit"):
        raise Skip("prlimit is not installed")
    with serving() as srv:
        pid = srv.proc.pid
        r = subprocess.run(["prlimit", "--pid", str(pid), "--nofile=64:64"], capture_output=True)
        if r.returncode != 0:
            raise Skip("cannot lower the server's file limit: %s" % r.stderr.decode().strip())
        socks = []
        try:
            for _ in range(120):                  # more than 64 descriptors' worth
                socks.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
            wait_until(lambda: "Accepting client connection: Too many open files" in srv.output(), 5.0,
                       "the EMFILE log line")
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            select.select([], [], [], 1.5)         # measuring CPU use over a fixed window
            share = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
            check(share < 0.3, "the server used %.0f%% of a CPU while out of descriptors" % (share * 100))
            lines = srv.output().count("Accepting client connection")
            check(lines <= 5, "%d 'Accepting client connection' log lines in 2 s" % lines)
        finally:
            for s in socks:
                s.close()

        def serves():
            try:
                with srv.conn(timeout=2.0) as c:
                    return c.cmd("PING") == b"+PONG\r\n"
            except (OSError, ConnectionClosed):
                return False
        wait_until(serves, 10.0, "PING on a new connection once descriptors are free")


# ---------------------------------------------------------------- 4. CONFIG SET all or nothing

CONFIG_SCRIPT = [
    ("CONFIG", "SET", "maxmemory", "1", "hz", "bogus"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "hz", "bogus", "maxmemory", "1"),
    ("CONFIG", "SET", "hz", "50", "maxmemory-policy", "bogus"),
    ("CONFIG", "GET", "hz"),
    ("CONFIG", "SET", "maxmemory", "5mb", "timeout", "-1"),
    ("CONFIG", "SET", "loglevel", "debug", "maxmemory", "1", "active-expire-effort", "0"),
    ("CONFIG", "GET", "loglevel"),
    ("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3", "hz", "x"),
    ("CONFIG", "GET", "client-output-buffer-limit"),
    ("CONFIG", "SET", "requirepass", "x", "maxmemory", "bogus"),
    ("CONFIG", "SET", "maxmemory", "7", "maxmemory", "8"),
    ("CONFIG", "SET", "maxmemory", "7", "bogus", "8"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "maxmemory", "7mb", "hz", "20"),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "GET", "hz"),
]


def test_config_set_is_all_or_nothing():
    with both() as (mine, ora), mine.conn() as m, ora.conn() as o:
        for cmd in CONFIG_SCRIPT:
            eq(m.cmd(*cmd), o.cmd(*cmd), " ".join(cmd))
        # requirepass was rolled back with the failed pair: a new client needs no AUTH
        with mine.conn() as fresh:
            eq(fresh.cmd("PING"), b"+PONG\r\n", "PING without AUTH after the failed CONFIG SET requirepass")
    with serving() as srv, srv.conn() as c:
        eq(c.cmd("CONFIG", "SET", "maxmemory", "1", "hz", "bogus"),
           b"-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an "
           b"integer\r\n", "the issue's reproduction")
        eq(decode(c.cmd("CONFIG", "GET", "maxmemory")), [b"maxmemory", b"0"], "maxmemory after it")


# ---------------------------------------------------------------- 5. big values

BIG = 64 << 20


def test_big_set_is_not_copied():
    """The issue's reproduction at 64 MB: the value goes straight into its final
    allocation, so the peak RSS grows by about 1x the value (the copying path: 2x);
    another client is served meanwhile."""
    with serving() as srv:
        pid = srv.proc.pid
        base = proc_status(pid, "VmRSS")
        stop = threading.Event()
        worst = [0.0]

        def pinger():
            with srv.conn() as p:
                while not stop.is_set():
                    t = time.monotonic()
                    p.cmd("PING")
                    worst[0] = max(worst[0], time.monotonic() - t)
        th = threading.Thread(target=pinger)
        th.start()
        try:
            with srv.conn(timeout=120) as c:
                c.send(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % BIG)
                chunk = bytes(range(256)) * 4096               # 1 MB
                for _ in range(BIG >> 20):
                    c.sock.sendall(chunk)
                c.sock.sendall(b"\r\n")
                eq(c.reply(), b"+OK\r\n", "SET of 64 MB")
                peak = proc_status(pid, "VmHWM") - base
                eq(c.cmd("STRLEN", "big"), b":%d\r\n" % BIG, "STRLEN")
                eq(c.cmd("GETRANGE", "big", str(BIG - 300), str(BIG - 1)), b"$300\r\n" + chunk[-300:] + b"\r\n",
                   "the value's tail")
                mem = int(info_field(c, "memory", "used_memory"))
                check(mem >= BIG, "used_memory %d does not count the 64 MB value" % mem)
        finally:
            stop.set()
            th.join()
        print("    64 MB SET: peak RSS +%.2fx the value, worst PING latency %.1f ms"
              % (peak / BIG, worst[0] * 1000), flush=True)
        check(peak < 1.3 * BIG, "peak RSS grew by %.2fx the value (a copy on the way in)" % (peak / BIG))


def big_script():
    """Commands carrying big arguments in every shape the parser meets them: value,
    key, several in one command, split header, pipelined after, inside MULTI, with TTL."""
    v1 = b"a" * 40000
    v2 = bytes(range(256)) * 300                           # 76800 bytes
    k = b"k" * 50000
    return [
        ("SET", "s1", v1), ("GET", "s1"), ("STRLEN", "s1"),
        ("SET", k, v2), ("GET", k), ("EXISTS", k),
        ("MSET", "m1", v1, "m2", v2), ("MGET", "m1", "m2"),
        ("SETEX", "t", "100", v2), ("GET", "t"), ("TTL", "t"),
        ("SET", "s1", v2, "KEEPTTL", "GET"), ("SET", "t", v1, "KEEPTTL"), ("TTL", "t"), ("GET", "t"),
        ("SET", "s1", v1, "NX"), ("SET", "s1", v2, "XX", "EX", "50"), ("TTL", "s1"),
        ("APPEND", "s1", v1), ("STRLEN", "s1"), ("GETRANGE", "s1", "76790", "76810"),
        ("ECHO", v2), ("SET", "s2", v2), ("SET", "s2", v1), ("GET", "s2"),
        ("SET", "s3", b"12345" + b"0" * 40000), ("INCR", "s3"),
        ("XADD", "st", "*", "f", v1), ("XLEN", "st"),
        ("DEL", "s1", "s2", "m1", "t"), ("DBSIZE",),
    ]


def test_big_arguments_match_redis():
    with both() as (mine, ora), mine.conn() as m, ora.conn() as o:
        script = big_script()
        for cmd in script:
            got, want = m.cmd(*cmd), o.cmd(*cmd)
            if cmd[0] == "XADD":
                got, want = got[:3], want[:3]                   # ids differ
            eq(got[:200] + got[-50:], want[:200] + want[-50:], "%s ... (%d args)" % (cmd[0], len(cmd)))
            eq(got, want, "%s reply" % cmd[0])
        # pipelined, with the header and the data split over many small writes
        data = b"".join(harness.encode(*cmd) for cmd in script[:12])
        for c in (m, o):
            for i in range(0, len(data), 7001):
                c.send(data[i:i + 7001])
        for cmd in script[:12]:
            eq(m.reply(), o.reply(), "pipelined %s" % cmd[0])
        for c in (m, o):
            c.send(harness.encode("MULTI") + harness.encode("SET", "x", b"z" * 70000) +
                   harness.encode("GET", "x") + harness.encode("EXEC"))
        for _ in range(4):
            eq(m.reply(), o.reply(), "MULTI with a big SET")


# ---------------------------------------------------------------- 7. password hygiene

SLOWLOG_CMDS = [
    ("AUTH", "a", "b"), ("AUTH", "onlypw"), ("AUTH", "a", "b", "c"),
    ("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "x"), ("HELLO", "2", "auth", "u", "p"),
    ("HELLO", "3", "AUTH"), ("HELLO", "3", "AUTH", "u"), ("HELLO", "3", "AUTH", "u", "p", "extra"),
    ("HELLO", "4", "AUTH", "u", "p"), ("HELLO", "x", "AUTH", "u", "p"), ("HELLO", "3", "SETNAME", "auth", "u", "p"),
    ("HELLO", "3", "AUTH", "u", "p", "AUTH", "v", "q"), ("HELLO", "3", "AUTH", "default", "x", "AUTH", "default", "y"),
    ("HELLO", "3", "SETNAME", "n", "AUTH", "u", "p"), ("HELLO", "3", "SETNAME", "bad name", "AUTH", "u", "p"),
    ("HELLO", "3", "AUTH", "default", "x", "SETNAME", "bad name"),
    ("CONFIG", "SET", "requirepass", "", "maxmemory", "0"), ("CONFIG", "SET", "maxmemory", "0", "requirepass", ""),
    ("CONFIG", "SET", "requirepass", "x", "maxmemory", "bogus"), ("CONFIG", "SET", "REQUIREPASS", ""),
    ("CONFIG", "SET", "requirepass", "x", "requirepass", "y"), ("CONFIG", "SET", "requirepass", "x", "maxmemory"),
    ("CONFIG", "SET", "requirepass", "x", "bogus", "1"), ("CONFIG", "SET", "bogus", "1", "requirepass", "x"),
    ("CONFIG", "SET", "maxmemory", "requirepass"), ("CONFIG", "SET", "requirepass", ""),
]


def slowlog_of(srv):
    out = []
    with srv.conn() as c:
        c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "0")
        c.cmd("SLOWLOG", "RESET")
        for cmd in SLOWLOG_CMDS:
            with srv.conn() as d:
                d.cmd(*cmd)
        with srv.conn() as d:
            d.send(harness.encode("MULTI") + harness.encode("AUTH", "inmulti") + harness.encode("EXEC"))
            for _ in range(3):
                d.reply()
        c.cmd("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        for e in reversed(decode(c.cmd("SLOWLOG", "GET", "-1"))):
            out.append(e[3])
    return out


def test_passwords_redacted_as_redis_does():
    with both() as (mine, ora):
        got, want = slowlog_of(mine), slowlog_of(ora)
        eq(len(got), len(want), "slow log entries")
        for g, w in zip(got, want):
            eq(g, w, "slow log arguments")


def test_passwords_never_logged_or_listed():
    secret = "Pw-7f3a9c"
    with serving(["--loglevel", "debug", "--slowlog-log-slower-than", "0"], password=secret) as srv:
        with srv.conn() as c:
            eq(c.cmd("AUTH", secret + "x"), b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
               "wrong AUTH")
            c.cmd("HELLO", "3", "AUTH", "default", secret + "y")
            eq(c.cmd("AUTH", "default", secret), b"+OK\r\n", "AUTH")
            c.cmd("CONFIG", "SET", "requirepass", secret + "z", "hz", "bogus")
            c.send(harness.encode("AUTH", secret + "w")[:-3])        # left unfinished
            with srv.authed() as d:
                listing = decode(d.cmd("CLIENT", "LIST"))
                slow = d.cmd("SLOWLOG", "GET", "-1")
        for bad in (b"*1\r\n$4\r\nAUTH\r\n$9\r\n%s\r\n" % secret.encode(),        # protocol error mid-command
                    b"AUTH \"%s\r\n" % secret.encode(),                            # unbalanced quotes
                    b"*12\r\n$4\r\nAUTH\r\n$9\r\n%s\r\n" % secret.encode(),       # pre-AUTH limit
                    b"POST / HTTP/1.1\r\nAUTH %s\r\n" % secret.encode()):
            exchange(srv.port, bad, wait=0.3)
        check(secret.encode() not in listing, "CLIENT LIST shows the password: %r" % listing)
        check(secret.encode() not in slow, "SLOWLOG shows the password")
        with srv.authed() as d:
            eq(d.cmd("PING"), b"+PONG\r\n", "PING")
        text = srv.output()
        check("Protocol error" in text, "the debug log has no protocol-error lines (is loglevel debug?)")
        check(secret not in text, "the log shows the password:\n%s" % text[-3000:])
