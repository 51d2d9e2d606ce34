"""harness.py: the plumbing every integration test and every bench/ script shares.

Starts a server binary on a free port (and a Unix socket when asked), waits for it
with a deadline (connect + PING until the deadline passes, never a bare sleep), stops
it (SIGTERM, wait with a deadline, SIGKILL as a fallback) and checks that it exited 0
with no sanitizer report in its captured stderr. Gives raw-socket clients with a small
RESP reader that returns the raw bytes of exactly one reply, an oracle() that starts
Debian's redis-server, and the one differential helper (Differ, diff_case,
diff_random) with the one case format that every differential test uses; the format
is described above Differ. The pytest fixtures built on this live in conftest.py.

The binary under test comes from RESPITE_SERVER (set by ctest to the built
respite-server), falling back to `redis-server` so the tests can be proved against
the real thing. Standard library only (pytest is optional), so bench/benchlib.py can
import it under plain /usr/bin/python3.
"""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SOURCE_DIR = os.environ.get("RESPITE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("RESPITE_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
ORACLE_BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"

START_DEADLINE = 30.0      # seconds for a server to answer PING (sanitizer builds are slow)
STOP_DEADLINE = 15.0       # seconds between SIGTERM and SIGKILL
IO_TIMEOUT = 20.0          # default socket timeout for clients
CASE_DEADLINE = 240        # seconds one case may take before it is interrupted

SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "SUMMARY: AddressSanitizer",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)


class TestFailure(AssertionError):
    """An assertion of a test case failed; the message is the detail to print."""
    __test__ = False        # not a pytest test class


try:
    import pytest
    # `raise Skip("why")` in a case is pytest's skip: reported as skipped with the reason.
    Skip = pytest.skip.Exception
except ImportError:         # bench/ imports this module without pytest
    class Skip(Exception):
        """Raised by a case that cannot run here; the message says why."""


def server_binary():
    """The binary under test: $RESPITE_SERVER, else redis-server on PATH."""
    env = os.environ.get("RESPITE_SERVER")
    if env:
        return os.path.abspath(env)     # servers run in their own temporary directory
    return ORACLE_BINARY


def need_program(name, package):
    """The path of program `name`; skips the test, naming the Debian package that has it,
    when it is not installed."""
    path = shutil.which(name)
    if not path:
        raise Skip("needs `%s` (apt-get install %s)" % (name, package))
    return path


def aggregator_harness():
    """examples/aggregator/harness.py (Cluster, http_json, ...), loaded as module
    agg_harness: its name clashes with this module's."""
    import importlib.util
    import sys
    if "agg_harness" not in sys.modules:
        path = os.path.join(SOURCE_DIR, "examples", "aggregator", "harness.py")
        spec = importlib.util.spec_from_file_location("agg_harness", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["agg_harness"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["agg_harness"]


def is_oracle_under_test():
    """True when the server under test is Redis itself (developing the tests)."""
    return os.path.realpath(server_binary()) == os.path.realpath(ORACLE_BINARY)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- RESP encoding/reading

def _b(x):
    if isinstance(x, bytes):
        return x
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    return str(x).encode()


def encode(*args):
    """Encode one command as a RESP multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = _b(a)
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class ConnectionClosed(Exception):
    """The peer closed the connection before a complete reply arrived."""


class Conn:
    """A raw client socket with a buffered RESP reader.

    reply() returns the raw bytes of exactly one complete RESP2/RESP3 reply; bytes of
    later replies stay buffered for the next call.
    """

    def __init__(self, port=None, host="127.0.0.1", unix=None, timeout=IO_TIMEOUT):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(_b(data))

    def _fill(self):
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed("connection closed by server; unread bytes: %r"
                                   % bytes(self.buf[self.pos:self.pos + 200]))
        if self.pos > (1 << 22):
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += chunk

    def _line(self):
        """The next CRLF-terminated line, without the CRLF."""
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def _read(self, out):
        line = self._line()
        out.append(line + b"\r\n")
        if not line:
            raise TestFailure("empty RESP line")
        t, rest = line[:1], line[1:]
        if t in b"+-:_,#(":
            return
        if t in b"$=!":
            n = int(rest)
            if n >= 0:
                data = self._exact(n + 2)
                out.append(data)
                if data[-2:] != b"\r\n":
                    raise TestFailure("bulk string of length %d not followed by CRLF: %r"
                                      % (n, data[-40:]))
            return
        if t in b"*~>":
            n = int(rest)
            for _ in range(max(n, 0)):
                self._read(out)
            return
        if t == b"%":
            for _ in range(2 * int(rest)):
                self._read(out)
            return
        if t == b"|":   # attribute: a map, then the reply it annotates
            for _ in range(2 * int(rest)):
                self._read(out)
            self._read(out)
            return
        raise TestFailure("unknown RESP type byte in line %r" % line)

    def reply(self):
        """Raw bytes of the next complete reply."""
        out = []
        self._read(out)
        return b"".join(out)

    def cmd(self, *args):
        """Send one multibulk command and return its raw reply."""
        self.send(encode(*args))
        return self.reply()

    def call(self, *args):
        """Send one command and return its reply decoded to Python values."""
        return decode(self.cmd(*args))

    def has_pending(self, wait=0.0):
        """True if reply bytes are buffered or arrive within `wait` seconds."""
        if self.pos < len(self.buf):
            return True
        r, _, _ = select.select([self.sock], [], [], wait)
        return bool(r)

    def wait_closed(self, deadline_s=10.0):
        """Wait until the server closes the connection (EOF or reset), reading and
        discarding any bytes on the way. Returns (closed, discarded_bytes)."""
        end = time.monotonic() + deadline_s
        junk = bytearray(self.buf[self.pos:])
        self.buf.clear()
        self.pos = 0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False, bytes(junk)
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return True, bytes(junk)
            if not chunk:
                return True, bytes(junk)
            junk += chunk


class RespError(Exception):
    """A decoded RESP error reply (decode() returns it, never raises it)."""

    def __eq__(self, other):
        return isinstance(other, RespError) and self.args == other.args

    def __hash__(self):
        return hash(self.args)


def decode(raw):
    """Decode raw RESP bytes (one reply) to Python values; errors become RespError."""
    val, pos = _decode(raw, 0)
    if pos != len(raw):
        raise TestFailure("trailing bytes after reply: %r" % raw[pos:])
    return val


def _decode(raw, pos):
    """Decode the reply at raw[pos:]; returns (value, end). Raises ValueError or
    IndexError if the reply is incomplete, TestFailure if it is malformed."""
    i = raw.index(b"\r\n", pos)
    t, rest = raw[pos:pos + 1], raw[pos + 1:i]
    pos = i + 2
    if t == b"+":
        return rest, pos
    if t == b"-":
        return RespError(rest.decode(errors="replace")), pos
    if t == b":":
        return int(rest), pos
    if t == b"_":
        return None, pos
    if t == b",":
        return float(rest), pos
    if t == b"#":
        return rest == b"t", pos
    if t == b"(":
        return int(rest), pos
    if t in b"$=!":
        n = int(rest)
        if n < 0:
            return None, pos
        if pos + n + 2 > len(raw):
            raise IndexError("truncated bulk string")
        if raw[pos + n:pos + n + 2] != b"\r\n":
            raise TestFailure("bulk string of length %d not followed by CRLF: %r"
                              % (n, raw[pos:pos + n + 10]))
        return raw[pos:pos + n], pos + n + 2
    if t in b"*~>":
        n = int(rest)
        if n < 0:
            return None, pos
        out = []
        for _ in range(n):
            v, pos = _decode(raw, pos)
            out.append(v)
        return out, pos
    if t == b"%":
        out = {}
        for _ in range(int(rest)):
            k, pos = _decode(raw, pos)
            v, pos = _decode(raw, pos)
            out[k if not isinstance(k, list) else tuple(k)] = v
        return out, pos
    raise TestFailure("cannot decode %r" % raw[pos - 2 - len(rest) - 1:])


# ---------------------------------------------------------------- servers

class Server:
    """A server process on 127.0.0.1:<free port>, optionally also on a Unix socket.

    stderr and stdout are captured to files in a private temporary directory, which is
    also the server's working directory (so a stray dump file lands there).
    """

    def __init__(self, binary=None, args=(), unixsocket=False, name=None):
        self.binary = binary or server_binary()
        self.extra = list(args)
        self.want_unix = unixsocket
        self.name = name or os.path.basename(self.binary)
        self.proc = None
        self.port = None
        self.unix = None
        self.dir = None
        self.stopped = False
        self.problems = []

    def start(self):
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise TestFailure("server binary %r not found or not executable" % self.binary)
        self.dir = tempfile.mkdtemp(prefix="respite-it-")
        last = ""
        for attempt in range(5):          # the free port may be taken before we bind it
            self.port = free_port()
            argv = self.start_argv(attempt) + io_uring_args(self.binary)
            self.argv = argv
            self.err_path = os.path.join(self.dir, "stderr-%d.log" % attempt)
            self.out_path = os.path.join(self.dir, "stdout-%d.log" % attempt)
            with open(self.err_path, "wb") as err, open(self.out_path, "wb") as out:
                self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=err)
            ok, last = self._wait_ready()
            if ok:
                return self
            if self.proc.poll() is None:
                self._kill()
                raise TestFailure("%s did not answer PING within %.0fs: %s\nstderr:\n%s"
                                  % (self.name, START_DEADLINE, last, self.stderr_tail()))
            if "in use" not in self.output().lower():
                break
        raise TestFailure("%s exited during start-up (status %s): %s\nargv: %r\noutput:\n%s"
                          % (self.name, self.proc.returncode, last, self.argv,
                             self.output()[-4000:]))

    def start_argv(self, attempt):
        """The command line for start-up attempt `attempt` on self.port (subclasses may
        start the server differently, e.g. from a config file)."""
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no"]
        if self.want_unix:
            self.unix = os.path.join(self.dir, "s%d.sock" % attempt)
            argv += ["--unixsocket", self.unix]
        return argv + self.extra

    def _wait_ready(self):
        """Probe (self._probe) until it says ready or a deadline passes. Returns (ready,
        last error text)."""
        end = time.monotonic() + START_DEADLINE
        last = "no attempt"
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False, "process exited with status %d" % self.proc.returncode
            try:
                ready, last = self._probe()
                if ready:
                    return True, ""
            except (OSError, ConnectionClosed, TestFailure) as e:
                last = "%s: %s" % (type(e).__name__, e)
            # poll interval between readiness probes; the deadline bounds the wait
            select.select([], [], [], 0.02)
        return False, last

    def _probe(self):
        """One readiness probe: (ready, why not). Subclasses that start a server which
        needs AUTH, or that must count a listening socket as ready, override this."""
        with Conn(self.port, timeout=2.0) as c:
            r = c.cmd("PING")
            if r != b"+PONG\r\n":
                return False, "PING replied %r" % r
        if self.unix:
            with Conn(unix=self.unix, timeout=2.0) as u:
                r = u.cmd("PING")
                if r != b"+PONG\r\n":
                    return False, "unix socket PING replied %r" % r
        return True, ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def conn(self, **kw):
        return Conn(self.port, **kw)

    def output(self):
        text = ""
        for p in (getattr(self, "err_path", None), getattr(self, "out_path", None)):
            if p and os.path.exists(p):
                with open(p, "rb") as f:
                    text += f.read().decode(errors="replace")
        return text

    def stderr_text(self):
        if not getattr(self, "err_path", None) or not os.path.exists(self.err_path):
            return ""
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stderr_tail(self, n=4000):
        return self.stderr_text()[-n:]

    def sanitizer_report(self):
        """The sanitizer report in stderr, or '' if none."""
        text = self.stderr_text()
        for m in SANITIZER_MARKERS:
            i = text.find(m)
            if i >= 0:
                return text[max(0, i - 200):i + 6000]
        return ""

    def _kill(self):
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self):
        """SIGTERM, wait with a deadline, SIGKILL fallback. Returns a list of problems
        (empty when the server exited 0 promptly with no sanitizer report)."""
        if self.stopped or self.proc is None:
            return self.problems
        self.stopped = True
        problems = []
        if self.proc.poll() is not None:
            problems.append("%s had already exited (status %d) before it was stopped"
                            % (self.name, self.proc.returncode))
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                problems.append("%s ignored SIGTERM for %.0fs; killed"
                                % (self.name, STOP_DEADLINE))
                self._kill()
            else:
                if self.proc.returncode != 0:
                    problems.append("%s exited with status %d after SIGTERM"
                                    % (self.name, self.proc.returncode))
        rep = self.sanitizer_report()
        if rep:
            problems.append("%s: sanitizer report in stderr:\n%s" % (self.name, rep))
        if problems:
            problems.append("%s stderr tail:\n%s" % (self.name, self.stderr_tail()))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.problems = problems
        return problems


def io_uring_args(binary):
    """["--io-uring", "yes"] when RESPITE_IO_URING=1 asks the suite to run on the io_uring
    write path (scripts/test.sh's second pass) and binary is respite, else []."""
    if os.environ.get("RESPITE_IO_URING") != "1":
        return []
    if os.path.realpath(binary) == os.path.realpath(ORACLE_BINARY) or os.path.basename(binary) == "redis-server":
        return []
    return ["--io-uring", "yes"]


def oracle(args=(), unixsocket=False):
    """Debian's redis-server (the reference), started and ready."""
    return Server(binary=ORACLE_BINARY, args=args, unixsocket=unixsocket,
                  name="oracle redis-server").start()


def start_server(args=(), unixsocket=False):
    """The server under test, started and ready."""
    return Server(args=args, unixsocket=unixsocket).start()


def server_and_oracle(args=()):
    """The server under test and the oracle, both started with args (neither is left
    running if the other cannot start)."""
    srv = start_server(args)
    try:
        return srv, oracle(args)
    except Exception:
        srv.stop()
        raise


# ---------------------------------------------------------------- assertions

def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def eq(got, want, what="value"):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


def wait_until(pred, deadline_s, what):
    """Poll pred() until it is true or the deadline passes (then fail with `what`)."""
    end = time.monotonic() + deadline_s
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            raise TestFailure("timed out after %.1fs waiting for %s" % (deadline_s, what))
        select.select([], [], [], 0.02)


# ---------------------------------------------------------------- differential testing
#
# The case format. A differential case is a list of steps, run in order on a fresh
# connection to each server (after `setup`, FLUSHALL by default). A step is a command:
# a tuple or list of arguments (str, bytes or int) or one space-separated string. It
# may start with mode words that say how its replies are compared:
#   "sorted"     the replies are arrays equal up to order (KEYS, SMEMBERS...)
#   "approx:N"   integer replies within N of each other (TTL, PTTL...)
#   "clock"      clock-dependent parts hidden first: auto stream ids, absolute ms
#                times, idle/seen-time/inactive/active-time fields, XPENDING idle times
#   "rax"        with "clock": XINFO STREAM's radix-tree-keys/nodes hidden too
#   "noid"       the connection id in a HELLO reply hidden first
#   "nocheck"    sent to both, not compared
#   "scanall"    no command of its own: iterate a whole SCAN (the rest of the step are
#                SCAN's options) and compare the sets of keys (or the error)
#   "sleep:MS"   no command: pause MS milliseconds on both (for expiry cases)
#   "@N"         send on the case's connection number N (default 0; more connections
#                are opened on demand), e.g. WATCH on @0, a write on @1, EXEC on @0
# Anything else is compared byte for byte. A connection the server closes gives the
# reply b"<closed>" and is reopened for the next step. Named collections of cases are lists of
# (name, steps) pairs, run with pytest.mark.parametrize. Seeded random sequences are a
# generator gen(rng) that returns the next block of steps; diff_random() runs them and
# stops at the first difference, reporting the seed, the command and the commands
# before it.

MODE_WORDS = ("sorted", "clock", "rax", "noid", "nocheck", "scanall")
MODE_PREFIXES = ("approx:", "sleep:", "@")

# With tolerant=True these commands' replies are compared like "approx:N" / "sorted"
# without saying so in every step (for generated sequences).
TOLERANCE = {b"TTL": 2, b"PTTL": 2000, b"EXPIRETIME": 2, b"PEXPIRETIME": 2000}
UNORDERED = {b"KEYS"}


def split_step(step):
    """(modes, command args as bytes) of one step."""
    if isinstance(step, bytes):
        step = step.split()
    elif isinstance(step, str):     # split on ASCII whitespace only, as bytes.split does
        step = [w for w in re.split(r"[ \t\n\r\x0b\x0c]+", step) if w]
    modes = []
    args = list(step)
    while args and isinstance(args[0], str) and (
            args[0] in MODE_WORDS or args[0].startswith(MODE_PREFIXES)):
        modes.append(args.pop(0))
    return modes, [_b(a) for a in args]


def show_command(cmd):
    return " ".join(repr(a)[2:-1] if isinstance(a, bytes) else str(a) for a in cmd)[:300]


def parse_tree(raw, i=0):
    """Parse one RESP2/RESP3 reply into (type, value) nodes; returns (node, next index)."""
    j = raw.index(b"\r\n", i)
    t, body = raw[i:i + 1], raw[i + 1:j]
    i = j + 2
    if t in b"$=!":
        n = int(body)
        if n < 0:
            return (t, None), i
        return (t, raw[i:i + n]), i + n + 2
    if t in b"*~>%":
        n = int(body)
        if n < 0:
            return (t, None), i
        out = []
        for _ in range(n * 2 if t == b"%" else n):
            node, i = parse_tree(raw, i)
            out.append(node)
        return (t, out), i
    return (t, body), i


def enc_tree(node):
    t, v = node
    if t in b"$=!":
        return t + b"-1\r\n" if v is None else t + b"%d\r\n%s\r\n" % (len(v), v)
    if t in b"*~>%":
        if v is None:
            return t + b"-1\r\n"
        n = len(v) // 2 if t == b"%" else len(v)
        return t + b"%d\r\n" % n + b"".join(enc_tree(x) for x in v)
    return t + v + b"\r\n"


_TS_ID = re.compile(rb"^\d{12,14}-(\d+)$")
_TIME_KEYS = {b"idle", b"seen-time", b"inactive", b"active-time"}
_RAX_KEYS = {b"radix-tree-keys", b"radix-tree-nodes"}


def _norm_time(node, hidden):
    t, v = node
    if t in b"$+" and v is not None and _TS_ID.match(v):
        return (t, b"<auto-id>")
    if t == b":" and int(v) >= 10 ** 12:
        return (t, b"<abs-ms>")
    if t in b"*%~" and v:
        v = [_norm_time(x, hidden) for x in v]
        for k in range(0, len(v) - 1, 2):          # maps (and RESP2 flat maps)
            if v[k][0] == b"$" and v[k][1] in hidden and v[k + 1][0] == b":":
                v[k + 1] = (b":", b"<t>")
        # an XPENDING row: id, consumer, idle, count
        if t == b"*" and len(v) == 4 and v[0][0] == b"$" and v[1][0] == b"$" and \
                v[2][0] == b":" and v[3][0] == b":":
            v[2] = (b":", b"<idle>")
        return (t, v)
    return node


def normalise_time(raw, rax=False):
    """raw with the clock-dependent parts replaced by placeholders (the "clock" mode;
    rax=True: the "rax" mode too)."""
    node, end = parse_tree(raw)
    if end != len(raw):
        raise TestFailure("trailing bytes after reply: %r" % raw[end:])
    return enc_tree(_norm_time(node, _TIME_KEYS | _RAX_KEYS if rax else _TIME_KEYS))


def mask_hello_id(raw):
    """A HELLO reply with the connection id (different on each server) masked."""
    return re.sub(rb"(\$2\r\nid\r\n):\d+\r\n", rb"\1:<id>\r\n", raw)


def same_reply(modes, cmd, rt, ro, tolerant=False):
    """True if reply rt (under test) matches ro (oracle) for cmd under the step's modes."""
    if "nocheck" in modes:
        return True
    if "clock" in modes:
        rax = "rax" in modes
        try:
            return normalise_time(rt, rax) == normalise_time(ro, rax)
        except (ValueError, IndexError):
            return rt == ro
    if rt == ro:
        return True
    try:
        dt, do = decode(rt), decode(ro)
    except Exception:
        return False
    name = cmd[0].upper() if cmd else b""
    approx = [int(m[7:]) for m in modes if m.startswith("approx:")]
    if not approx and tolerant and name in TOLERANCE and isinstance(dt, int) \
            and isinstance(do, int) and dt >= 0 and do >= 0:
        approx = [TOLERANCE[name]]
    if approx:
        return isinstance(dt, int) and isinstance(do, int) and abs(dt - do) <= approx[0]
    if "sorted" in modes or (tolerant and name in UNORDERED):
        return isinstance(dt, list) and isinstance(do, list) and \
            sorted(dt, key=repr) == sorted(do, key=repr)
    return False


class Differ:
    """Connections to the server under test and to the oracle, driven in lockstep with
    steps of the case format; mismatches are collected and finish() fails with them."""

    def __init__(self, server, oracle, resp3=False, tolerant=False, limit=25):
        self.servers = (server, oracle)
        self.resp3 = resp3
        self.tolerant = tolerant
        self.limit = limit
        self.conns = {}
        self.mismatches = []
        self.history = []       # the commands sent, in order
        self.got = []           # the replies of the server under test, in order

    def pair(self, n=0):
        """The (under test, oracle) connections number n, opened on first use."""
        if n not in self.conns:
            pair = tuple(s.conn() for s in self.servers)
            if self.resp3:      # the HELLO replies differ legitimately (server name, id)
                for c, who in zip(pair, ("server under test", "oracle")):
                    r = c.cmd("HELLO", "3")
                    if not r.startswith(b"%"):
                        raise TestFailure("%s: HELLO 3 replied %r" % (who, r[:200]))
            self.conns[n] = pair
        return self.conns[n]

    def close(self):
        for pair in self.conns.values():
            for c in pair:
                c.close()
        self.conns = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def record(self, cmd, rt, ro):
        self.mismatches.append((list(cmd), rt, ro))

    def __call__(self, *words):
        """Run one step, given as its words or as one step (a list, tuple or string);
        returns the oracle's raw reply (None for a step without a command)."""
        one = len(words) == 1 and isinstance(words[0], (list, tuple, str))
        modes, cmd = split_step(words[0] if one else words)
        self.history.append(cmd)
        n = next((int(m[1:]) for m in modes if m.startswith("@")), 0)
        sleep = [int(m[6:]) for m in modes if m.startswith("sleep:")]
        if sleep:
            select.select([], [], [], sleep[0] / 1000.0)
            if not cmd:
                return None
        if "scanall" in modes:
            got = [self._scan_all(c, cmd) for c in self.pair(n)]
            if got[0] != got[1]:
                self.record([b"<whole SCAN>"] + cmd, repr(got[0][:20]).encode(),
                            repr(got[1][:20]).encode())
            return None
        ro = self._cmd(n, 1, cmd)
        rt = self._cmd(n, 0, cmd)
        if "noid" in modes:
            ro, rt = mask_hello_id(ro), mask_hello_id(rt)
        self.got.append(rt)
        if not same_reply(modes, cmd, rt, ro, self.tolerant):
            self.record(cmd, rt, ro)
        return ro

    def _cmd(self, n, side, cmd):
        """Send cmd on side (0 under test, 1 oracle) of connection pair n; a closed
        connection answers b"<closed>" and is replaced by a fresh one."""
        pair = self.pair(n)
        try:
            return pair[side].cmd(*cmd)
        except ConnectionClosed:
            pair[side].close()
            fresh = list(pair)
            fresh[side] = self.servers[side].conn()
            self.conns[n] = tuple(fresh)
            return b"<closed>"

    @staticmethod
    def _scan_all(conn, opts):
        cursor, seen = b"0", set()
        for _ in range(100000):
            r = conn.call("SCAN", cursor, *opts)
            if isinstance(r, RespError):
                return r
            cursor, keys = r
            seen.update(keys)
            if cursor == b"0":
                break
        return sorted(seen)

    def raw(self, data, n=0):
        """Send raw request bytes (one reply expected) to both and compare exactly."""
        t, o = self.pair(n)
        o.send(data)
        ro = o.reply()
        t.send(data)
        rt = t.reply()
        if rt != ro:
            self.record([b"<raw>", data], rt, ro)
        return ro

    def run(self, steps):
        for s in steps:
            self(s)

    def report(self, context=""):
        """The failure text for the collected mismatches ('' when there are none)."""
        if not self.mismatches:
            return ""
        lines = ["%d mismatch(es)%s" % (len(self.mismatches), context)]
        for cmd, rt, ro in self.mismatches[:self.limit]:
            lines.append("  command: %s" % show_command(cmd))
            lines.append("    respite: %r" % rt[:400])
            lines.append("    redis:   %r" % ro[:400])
        if len(self.mismatches) > self.limit:
            lines.append("  ... %d more" % (len(self.mismatches) - self.limit))
        return "\n".join(lines)

    def finish(self, context=""):
        text = self.report(context)
        if text:
            raise TestFailure(text)


def diff_case(server, oracle, steps, setup=("FLUSHALL",), resp3=False, tolerant=False):
    """Run one case (a list of steps) on both servers; fail with every mismatch."""
    with Differ(server, oracle, resp3=resp3, tolerant=tolerant) as d:
        for s in setup:
            d(s)
        d.run(steps)
    d.finish()


def diff_random(server, oracle, seed, n, gen, setup=("FLUSHALL",), resp3=False,
                tolerant=False):
    """Run at least n steps that gen(rng) returns in blocks (rng seeded with seed) on
    both servers; stop at the first difference and fail with it, the seed and the
    commands before it."""
    import random
    rng = random.Random(seed)
    with Differ(server, oracle, resp3=resp3, tolerant=tolerant, limit=1) as d:
        for s in setup:
            d(s)
        d.history = []
        while len(d.history) < n and not d.mismatches:
            for s in gen(rng):
                d(s)
                if d.mismatches:
                    break
    d.finish(" in seeded random sequence (seed %r%s) at command #%d; the commands before "
             "it:\n%s" % (seed, ", RESP3" if resp3 else "", len(d.history) - 1,
                         "\n".join("    %s" % show_command(c) for c in d.history[-15:-1])))
