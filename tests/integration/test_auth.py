"""test_auth.py: requirepass, AUTH, HELLO AUTH and protected mode, byte for byte.

Every sequence is sent to the server under test and to Debian's redis-server started
with the same settings, and the raw replies must be identical (HELLO's connection id
is the one field that is masked). Covered: NOAUTH before authentication for every
command but AUTH/HELLO/QUIT/RESET (and what Redis checks before it: unknown commands,
arity), WRONGPASS, AUTH <pass> and AUTH default <pass>, HELLO 3 AUTH (RESP3 map),
HELLO without AUTH, RESET de-authenticating, AUTH with no password configured,
CONFIG SET requirepass at run time, passwords redacted from SLOWLOG, redis-py with
password=, and protected mode: a peer that is not on the loopback interface gets
-DENIED and a closed connection (from this host's own non-loopback address, and from a
network namespace over a veth pair when `ip netns` works here).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, Differ, Skip, TestFailure, check, decode, eq  # noqa: E402

PASSWORD = "secret"
NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


class PwServer(harness.Server):
    """A harness server that may need a password before it answers PING."""

    def __init__(self, password=None, **kw):
        super().__init__(**kw)
        self.password = password

    def _probe(self):
        with Conn(self.port, timeout=2.0) as c:
            if self.password is not None:
                r = c.cmd("AUTH", self.password)
                if r != b"+OK\r\n":
                    return False, "AUTH replied %r" % r
            r = c.cmd("PING")
            return r == b"+PONG\r\n", "PING replied %r" % r


@contextlib.contextmanager
def pair(args=(), password=None):
    """The server under test and the oracle, both started with `args`; yields
    (respite, oracle); stops and checks both."""
    mine = PwServer(password=password, args=args).start()
    try:
        ora = PwServer(password=password, args=args, binary=harness.ORACLE_BINARY,
                       name="oracle redis-server").start()
    except BaseException:
        mine.stop()
        raise
    failed = False
    try:
        yield mine, ora
    except BaseException:
        failed = True
        raise
    finally:
        problems = mine.stop() + ora.stop()
        if problems and not failed:
            raise TestFailure("\n".join(problems))


def differ(mine, ora, steps, what):
    """Run `steps` (tuples of arguments; None = go on on a fresh connection) on both
    servers through harness.Differ (HELLO's connection id masked); the raw replies must be
    identical. Returns respite's replies (b"" for each None)."""
    got = []
    conn = 0
    with Differ(mine, ora) as d:
        for st in steps:
            if st is None:
                conn += 1
                got.append(b"")
                continue
            d(("@%d" % conn, "noid") + tuple(st))
            got.append(d.got[-1])
    d.finish(" (%s)" % what)
    return got


# ---------------------------------------------------------------- before AUTH

# Every one of these must be refused with NOAUTH before authentication (no side effect).
GUARDED = [
    ("GET", "k"), ("SET", "k", "v"), ("PING",), ("PING", "x"), ("ECHO", "x"), ("SELECT", "1"),
    ("DBSIZE",), ("KEYS", "*"), ("SCAN", "0"), ("EXISTS", "k"), ("DEL", "k"), ("INCR", "n"),
    ("MSET", "a", "1", "b", "2"), ("EXPIRE", "k", "10"), ("TTL", "k"), ("TYPE", "k"),
    ("FLUSHALL",), ("FLUSHDB",), ("INFO",), ("INFO", "stats"), ("TIME",), ("LASTSAVE",),
    ("CONFIG", "GET", "maxclients"), ("CONFIG", "SET", "requirepass", "stolen"),
    ("CONFIG", "RESETSTAT"), ("CLIENT", "ID"), ("CLIENT", "LIST"), ("CLIENT", "SETNAME", "x"),
    ("CLIENT", "KILL", "ID", "1"), ("SLOWLOG", "GET"), ("SLOWLOG", "RESET"),
    ("COMMAND",), ("COMMAND", "COUNT"), ("COMMAND", "INFO", "get"),
    ("WATCH", "k"), ("UNWATCH",), ("MULTI",), ("EXEC",), ("DISCARD",),
    ("XADD", "s", "*", "f", "v"), ("XLEN", "s"), ("XRANGE", "s", "-", "+"),
    ("XREAD", "STREAMS", "s", "0"), ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"),
    ("OBJECT", "ENCODING", "k"), ("SWAPDB", "0", "1"), ("RANDOMKEY",),
]
# What Redis decides before authentication: unknown commands and subcommands, arity.
PRE_AUTH_ERRORS = [
    ("NOSUCHCOMMAND", "x"), ("GET",), ("SET", "k"), ("CONFIG", "NOPE"), ("CLIENT", "NOPE"),
    ("EXEC", "x"), ("PING", "a", "b"), ("AUTH",), ("AUTH", "a", "b", "c"),
]


def test_noauth_matches_redis():
    args = ["--requirepass", PASSWORD]
    with pair(args, PASSWORD) as (mine, ora):
        got = differ(mine, ora, GUARDED, "commands before AUTH")
        for st, r in zip(GUARDED, got):
            if st != ("EXEC",):       # Redis words a refused EXEC as EXECABORT
                eq(r, NOAUTH, "reply to %r before AUTH" % (st,))
        differ(mine, ora, PRE_AUTH_ERRORS, "unknown commands and arity errors before AUTH")
        # nothing above had an effect
        with mine.conn() as c:
            eq(c.cmd("AUTH", PASSWORD), b"+OK\r\n", "AUTH with the configured password")
            eq(c.cmd("DBSIZE"), b":0\r\n", "DBSIZE after the refused writes")
            eq(c.cmd("CONFIG", "GET", "requirepass"),
               b"*2\r\n$11\r\nrequirepass\r\n$6\r\nsecret\r\n", "requirepass unchanged")


def test_refused_exec_is_execabort():
    """Redis answers any refused EXEC with EXECABORT, even outside MULTI."""
    with pair(["--requirepass", PASSWORD], PASSWORD) as (mine, ora):
        differ(mine, ora, [("EXEC",), ("MULTI",), ("EXEC",), ("EXEC", "x"), ("AUTH", PASSWORD),
                           ("EXEC", "x"), ("EXEC",)], "EXEC refused before and after AUTH")


def test_wrongpass_matches_redis():
    steps = [("AUTH", "bad"), ("AUTH", "default", "bad"), ("AUTH", "nouser", PASSWORD),
             ("AUTH", ""), ("AUTH", "default", ""), ("AUTH", PASSWORD + "x"), ("AUTH", PASSWORD[:-1]),
             ("AUTH", PASSWORD.upper()), ("AUTH", "DEFAULT", PASSWORD), ("AUTH", "Default", PASSWORD),
             ("AUTH", "default ", PASSWORD), ("AUTH", PASSWORD + "\x00"),
             ("GET", "k"),                  # still not authenticated
             ("AUTH", PASSWORD), ("GET", "k"),
             ("AUTH", "bad"), ("GET", "k")]   # a failed AUTH keeps an earlier success
    with pair(["--requirepass", PASSWORD], PASSWORD) as (mine, ora):
        got = differ(mine, ora, steps, "AUTH with wrong credentials")
        eq(got[0], WRONGPASS, "AUTH bad")


def test_auth_forms_work():
    steps = [("AUTH", PASSWORD), ("SET", "k", "v"), ("GET", "k"), None,
             ("AUTH", "default", PASSWORD), ("GET", "k"), ("AUTH", PASSWORD), None,
             ("GET", "k")]
    with pair(["--requirepass", PASSWORD], PASSWORD) as (mine, ora):
        got = differ(mine, ora, steps, "AUTH <pass> and AUTH default <pass>")
        eq(got[:3], [b"+OK\r\n", b"+OK\r\n", b"$1\r\nv\r\n"], "AUTH then SET/GET")
        eq(got[-1], NOAUTH, "a new connection needs AUTH again")


def test_hello_auth_matches_redis():
    steps = [("HELLO", "3", "AUTH", "default", PASSWORD), ("GET", "missing"), ("SET", "k", "v"),
             ("GET", "k"), None,
             ("HELLO", "2", "AUTH", "default", PASSWORD, "SETNAME", "me"), ("CLIENT", "GETNAME"),
             None,
             ("HELLO", "3", "AUTH", "default", "bad"), ("GET", "k"),
             ("HELLO", "3", "AUTH", "nouser", PASSWORD), ("HELLO", "3", "AUTH", "default"),
             ("HELLO", "3", "SETNAME", "x", "AUTH", "default", PASSWORD), ("CLIENT", "GETNAME"),
             ("HELLO",), ("HELLO", "2"), None,
             ("HELLO", "4", "AUTH", "default", PASSWORD), ("HELLO", "x", "AUTH", "default", PASSWORD),
             ("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "bad name"), ("GET", "k")]
    with pair(["--requirepass", PASSWORD], PASSWORD) as (mine, ora):
        got = differ(mine, ora, steps, "HELLO with AUTH")
        check(got[0].startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
              "HELLO 3 AUTH reply is not a RESP3 map: %r" % got[0][:80])
        eq(got[1], b"_\r\n", "RESP3 null after HELLO 3 AUTH")


def test_hello_without_auth_matches_redis():
    steps = [("HELLO",), ("HELLO", "3"), ("HELLO", "2", "SETNAME", "x"), ("GET", "k"),
             ("AUTH", PASSWORD), ("HELLO", "3"), ("GET", "k")]
    with pair(["--requirepass", PASSWORD], PASSWORD) as (mine, ora):
        differ(mine, ora, steps, "HELLO before and after AUTH")


def test_reset_and_quit_before_auth():
    steps = [("RESET",), ("GET", "k"), ("AUTH", PASSWORD), ("GET", "k"), ("RESET",), ("GET", "k"),
             ("HELLO", "3", "AUTH", "default", PASSWORD), ("RESET",), ("GET", "k"), ("QUIT",)]
    with pair(["--requirepass", PASSWORD], PASSWORD) as (mine, ora):
        got = differ(mine, ora, steps, "RESET de-authenticates")
        eq(got[-1], b"+OK\r\n", "QUIT before AUTH")
        for srv in (mine, ora):
            with srv.conn() as c:
                eq(c.cmd("QUIT"), b"+OK\r\n", "%s: QUIT before AUTH" % srv.name)
                closed, junk = c.wait_closed(5.0)
                check(closed and junk == b"", "%s: QUIT did not close (junk %r)" % (srv.name, junk))


def test_auth_without_password_configured():
    steps = [("AUTH", "x"), ("AUTH", "default", "x"), ("AUTH", "default", ""), ("AUTH", "nouser", "x"),
             ("HELLO", "3", "AUTH", "default", "anything"), ("HELLO", "2", "AUTH", "nouser", "x"),
             ("GET", "k")]
    with pair() as (mine, ora):
        got = differ(mine, ora, steps, "AUTH with no password configured")
        eq(got[0], b"-ERR AUTH <password> called without any password configured for the default "
                   b"user. Are you sure your configuration is correct?\r\n", "AUTH x")


def test_requirepass_at_runtime():
    with pair() as (mine, ora):
        for srv in (mine, ora):
            a, b = srv.conn(), srv.conn()
            try:
                eq(a.cmd("CONFIG", "SET", "requirepass", "pw2"), b"+OK\r\n", "%s: CONFIG SET" % srv.name)
                eq(a.cmd("PING"), b"+PONG\r\n", "%s: the setter stays authenticated" % srv.name)
                eq(b.cmd("PING"), b"+PONG\r\n", "%s: an existing connection stays usable" % srv.name)
                with srv.conn() as n:
                    eq(n.cmd("PING"), NOAUTH, "%s: a new connection needs AUTH" % srv.name)
                    eq(n.cmd("AUTH", "pw2"), b"+OK\r\n", "%s: AUTH with the new password" % srv.name)
                    eq(n.cmd("PING"), b"+PONG\r\n", "%s: after AUTH" % srv.name)
                eq(a.cmd("CONFIG", "SET", "requirepass", "pw3"), b"+OK\r\n", "%s: change it" % srv.name)
                with srv.conn() as n:
                    eq(n.cmd("AUTH", "pw2"), WRONGPASS, "%s: the old password" % srv.name)
                    eq(n.cmd("AUTH", "pw3"), b"+OK\r\n", "%s: the new password" % srv.name)
                eq(a.cmd("CONFIG", "SET", "requirepass", ""), b"+OK\r\n", "%s: clear it" % srv.name)
                with srv.conn() as n:
                    eq(n.cmd("PING"), b"+PONG\r\n", "%s: no AUTH needed once cleared" % srv.name)
                    eq(n.cmd("AUTH", "x")[:5], b"-ERR ", "%s: AUTH once cleared" % srv.name)
            finally:
                a.close()
                b.close()


def test_slowlog_redacts_passwords():
    steps = [("AUTH", PASSWORD), ("CONFIG", "SET", "slowlog-log-slower-than", "0"), ("SLOWLOG", "RESET"),
             ("AUTH", PASSWORD), ("AUTH", "default", PASSWORD), ("AUTH", "wrong"),
             ("HELLO", "2", "AUTH", "default", PASSWORD), ("CONFIG", "SET", "requirepass", PASSWORD),
             ("SET", "k", "v")]
    with pair(["--requirepass", PASSWORD], PASSWORD) as (mine, ora):
        logs = {}
        for name, srv in (("respite", mine), ("redis", ora)):
            with srv.conn() as c:
                for st in steps:
                    c.cmd(*st)
                val = decode(c.cmd("SLOWLOG", "GET", "-1"))
                logs[name] = [e[3] for e in val]
        eq(logs["respite"], logs["redis"], "SLOWLOG arguments (newest first) vs redis-server")
        for args in logs["respite"]:
            check(PASSWORD.encode() not in args, "the password is in SLOWLOG: %r" % (args,))


def test_redis_py_password():
    try:
        import redis
    except ImportError:
        raise Skip("python3-redis is not installed")
    srv = PwServer(password=PASSWORD, args=["--requirepass", PASSWORD]).start()
    failed = False
    try:
        r = redis.Redis(host="127.0.0.1", port=srv.port, password=PASSWORD, socket_timeout=10)
        check(r.ping() is True, "redis-py ping with password=")
        check(r.set("py", "1") is True, "redis-py set")
        eq(r.get("py"), b"1", "redis-py get")
        eq(r.incr("py"), 2, "redis-py incr")
        r.close()
        r = redis.Redis(host="127.0.0.1", port=srv.port, username="default", password=PASSWORD,
                        socket_timeout=10)
        eq(r.get("py"), b"2", "redis-py with username='default'")
        r.close()
        for kw, what in (({}, "no password"), ({"password": "wrong"}, "a wrong password")):
            r = redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=10, **kw)
            try:
                r.get("py")
            except redis.exceptions.AuthenticationError:
                pass
            except redis.exceptions.ResponseError as e:
                # redis-py 4.3 maps NOAUTH to AuthenticationError but leaves WRONGPASS a
                # plain ResponseError
                check(str(e).startswith("WRONGPASS"), "redis-py with %s: %r" % (what, e))
            else:
                raise TestFailure("redis-py with %s could read a key" % what)
            finally:
                r.close()
    except BaseException:
        failed = True
        raise
    finally:
        problems = srv.stop()
        if problems and not failed:
            raise TestFailure("\n".join(problems))


# ---------------------------------------------------------------- protected mode

CLIENT_SCRIPT = r"""
import json, socket, sys, time
host, port, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(10)
if src:
    s.bind((src, 0))
out = {"data": "", "closed": False, "error": ""}
try:
    s.connect((host, port))
    try:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
    except OSError:
        pass
    buf = b""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            c = s.recv(65536)
        except ConnectionResetError:
            out["closed"] = True
            break
        except socket.timeout:
            break
        if not c:
            out["closed"] = True
            break
        buf += c
        if buf.endswith(b"\r\n") and not buf.startswith(b"-DENIED"):
            break        # a normal reply: the connection stays open
    out["data"] = buf.hex()
except OSError as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
"""


def remote_client(host, port, src="", netns=None):
    """Connect to host:port (from `src`, or from inside network namespace `netns`),
    send PING and read until EOF or a complete non-DENIED reply. Returns
    (bytes, closed)."""
    argv = [sys.executable, "-c", CLIENT_SCRIPT, host, str(port), src]
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    p = subprocess.run(argv, capture_output=True, timeout=60, text=True)
    if p.returncode != 0:
        raise TestFailure("client %r failed (%d): %s" % (argv[:5], p.returncode, p.stderr[-2000:]))
    out = json.loads(p.stdout.strip().splitlines()[-1])
    if out["error"]:
        raise TestFailure("client to %s:%d from %s: %s" % (host, port, netns or src or "here", out["error"]))
    return bytes.fromhex(out["data"]), out["closed"]


def info_stat(c, name):
    text = decode(c.cmd("INFO", "stats")).decode()
    fields = dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)
    return int(fields[name])


def check_protected(host, src="", netns=None, where=""):
    """Against servers bound to every address: protected mode's refusal of a
    non-loopback peer matches Redis byte for byte, and a password or protected-mode
    no lets the peer in."""
    bind = ["--bind", "0.0.0.0"] + (["::"] if ":" in host else []) + ["--protected-mode", "yes"]
    with pair(bind) as (mine, ora):
        want, oclosed = remote_client(host, ora.port, src, netns)
        check(want.startswith(b"-DENIED Redis is running in protected mode") and oclosed,
              "redis-server did not refuse %s (got %r, closed %s): is the peer really not loopback?"
              % (where, want[:80], oclosed))
        got, closed = remote_client(host, mine.port, src, netns)
        eq(got, want, "reply to a peer %s with protected mode on and no password" % where)
        check(closed, "the connection from %s was not closed after -DENIED" % where)
        for srv in (mine, ora):
            with srv.conn() as c:                 # loopback is still let in
                eq(c.cmd("PING"), b"+PONG\r\n", "%s: PING over loopback with protected mode on" % srv.name)
                eq(info_stat(c, "rejected_connections"), 1,
                   "%s: INFO stats rejected_connections after the refusal" % srv.name)
        for srv in (mine, ora):
            with srv.conn() as c:
                eq(c.cmd("CONFIG", "SET", "requirepass", "pw"), b"+OK\r\n", "set a password")
            got, closed = remote_client(host, srv.port, src, netns)
            eq((got, closed), (NOAUTH, False), "%s: a peer %s once a password is set" % (srv.name, where))
            with srv.conn() as c:
                eq(c.cmd("AUTH", "pw"), b"+OK\r\n", "AUTH")
                eq(c.cmd("CONFIG", "SET", "requirepass", ""), b"+OK\r\n", "clear the password")
                eq(c.cmd("CONFIG", "SET", "protected-mode", "no"), b"+OK\r\n", "protected-mode no")
            got, closed = remote_client(host, srv.port, src, netns)
            eq((got, closed), (b"+PONG\r\n", False), "%s: a peer %s with protected-mode no" % (srv.name, where))
            with srv.conn() as c:
                eq(c.cmd("CONFIG", "SET", "protected-mode", "yes"), b"+OK\r\n", "protected-mode yes")
            got, closed = remote_client(host, srv.port, src, netns)
            check(got.startswith(b"-DENIED") and closed,
                  "%s: refusal is back after CONFIG SET protected-mode yes: %r" % (srv.name, got[:60]))


def local_addresses(family):
    """This host's global (non-loopback) addresses of one family, from `ip`."""
    harness.need_program("ip", "iproute2")
    try:
        p = subprocess.run(["ip", "-o", "-4" if family == socket.AF_INET else "-6", "addr", "show",
                            "scope", "global"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    out = []
    for line in p.stdout.splitlines():
        f = line.split()
        if "inet" in f or "inet6" in f:
            i = f.index("inet" if "inet" in f else "inet6")
            a = f[i + 1].split("/")[0]
            if "tentative" not in line and "dadfailed" not in line:
                out.append(a)
    return out


def test_protected_mode_own_address_ipv4():
    addrs = local_addresses(socket.AF_INET)
    if not addrs:
        raise Skip("this host has no global IPv4 address")
    check_protected(addrs[0], src=addrs[0], where="from %s (this host's own address)" % addrs[0])


def test_protected_mode_own_address_ipv6():
    addrs = local_addresses(socket.AF_INET6)
    if not addrs:
        raise Skip("this host has no global IPv6 address")
    check_protected(addrs[0], src=addrs[0], where="from [%s] (this host's own address)" % addrs[0])


def sh(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30)


def test_protected_mode_from_network_namespace():
    if os.geteuid() != 0:
        raise Skip("network namespaces need root")
    harness.need_program("ip", "iproute2")
    pid = os.getpid()
    ns, vh, vn = "rspt%d" % pid, "rsph%d" % (pid % 1000000), "rspn%d" % (pid % 1000000)
    made_ns = made_link = False
    try:
        r = sh("ip", "netns", "add", ns)
        if r.returncode != 0:
            raise Skip("`ip netns add` failed here: %s" % r.stderr.strip())
        made_ns = True
        r = sh("ip", "link", "add", vh, "type", "veth", "peer", "name", vn)
        if r.returncode != 0:
            raise Skip("cannot create a veth pair here: %s" % r.stderr.strip())
        made_link = True
        r = sh("ip", "link", "set", vn, "netns", ns)
        if r.returncode != 0:
            raise Skip("cannot move a veth end into the namespace: %s" % r.stderr.strip())
        # a point-to-point pair of 192.0.2.0/24 (TEST-NET-1) addresses; a pair another
        # run holds at the moment is skipped
        for i in range(40):
            k = (pid + i) % 40
            host_ip, ns_ip = "192.0.2.%d" % (100 + 2 * k), "192.0.2.%d" % (101 + 2 * k)
            r = sh("ip", "addr", "add", host_ip + "/32", "peer", ns_ip + "/32", "dev", vh)
            if r.returncode == 0:
                break
        else:
            raise Skip("no free address pair in 192.0.2.100-179: %s" % r.stderr.strip())
        for cmd in (["ip", "link", "set", vh, "up"],
                    ["ip", "-n", ns, "addr", "add", ns_ip + "/32", "peer", host_ip + "/32", "dev", vn],
                    ["ip", "-n", ns, "link", "set", vn, "up"],
                    ["ip", "-n", ns, "link", "set", "lo", "up"]):
            r = sh(*cmd)
            if r.returncode != 0:
                raise Skip("network namespace set-up failed at %s: %s" % (" ".join(cmd), r.stderr.strip()))
        check_protected(host_ip, netns=ns, where="in network namespace %s (%s)" % (ns, ns_ip))
    finally:
        if made_link:
            sh("ip", "link", "del", vh)          # removes the peer in the namespace too
        if made_ns:
            sh("ip", "netns", "del", ns)
        left = sh("ip", "netns", "list").stdout
        if ns in left.split():
            print("WARNING: network namespace %s could not be removed" % ns, flush=True)
