"""harness.py: what every integration test shares.

Starts a server binary on a free port (and a Unix socket when asked), waits for it
with a deadline (connect + PING until the deadline passes, never a bare sleep), stops
it (SIGTERM, wait with a deadline, SIGKILL as a fallback) and checks that it exited 0
with no sanitizer report in its captured stderr. Gives raw-socket clients with a small
RESP reader that returns the raw bytes of exactly one reply, an oracle() that starts
Debian's redis-server for differential tests, and a tiny test runner.

The binary under test comes from RESPITE_SERVER (set by ctest to the built
respite-server), falling back to `redis-server` so the tests can be proved against
the real thing. Runner convention: a test file's module-level functions named test_*
are the cases, run in definition order; each failure is printed with its detail; the
last line is exactly "N passed, M failed" and the exit status is 1 if any failed.
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SOURCE_DIR = os.environ.get("RESPITE_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("RESPITE_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
ORACLE_BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"

START_DEADLINE = 30.0      # seconds for a server to answer PING (sanitizer builds are slow)
STOP_DEADLINE = 15.0       # seconds between SIGTERM and SIGKILL
IO_TIMEOUT = 20.0          # default socket timeout for clients
CASE_DEADLINE = 240        # seconds one case may take before the run is aborted

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


class Skip(Exception):
    """Raised by a case that cannot run here; the message says why."""


def server_binary():
    """The binary under test: $RESPITE_SERVER, else redis-server on PATH."""
    env = os.environ.get("RESPITE_SERVER")
    if env:
        return env
    return ORACLE_BINARY


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
            argv = self.start_argv(attempt)
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
        """Connect + PING until a deadline. Returns (ready, last error text)."""
        end = time.monotonic() + START_DEADLINE
        last = "no attempt"
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False, "process exited with status %d" % self.proc.returncode
            try:
                with Conn(self.port, timeout=2.0) as c:
                    r = c.cmd("PING")
                    if r == b"+PONG\r\n":
                        if self.unix:
                            with Conn(unix=self.unix, timeout=2.0) as u:
                                r = u.cmd("PING")
                                if r != b"+PONG\r\n":
                                    return False, "unix socket PING replied %r" % r
                        return True, ""
                    last = "PING replied %r" % r
            except (OSError, ConnectionClosed, TestFailure) as e:
                last = "%s: %s" % (type(e).__name__, e)
            # poll interval between readiness probes; the deadline bounds the wait
            select.select([], [], [], 0.02)
        return False, last

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


# ---------------------------------------------------------------- runner

def _case_timed_out(signum, frame):
    raise TestFailure("case exceeded its %ds deadline at:\n%s"
                      % (CASE_DEADLINE, "".join(traceback.format_stack(frame))))


def run(namespace, servers=()):
    """Run every function named test_* in `namespace` (definition order).

    `servers` are Server objects the cases use: after each case each must still be
    running (a crash fails that case), and at the end each is stopped and checked
    (exit status 0, no sanitizer report); a problem there is one more failure.
    Prints "N passed, M failed" last and exits 1 if any failed.
    """
    print("server under test: %s" % server_binary(), flush=True)
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
    signal.signal(signal.SIGALRM, _case_timed_out)
    only = os.environ.get("RESPITE_ONLY")       # run a subset while debugging
    passed = failed = skipped = 0
    for name, fn in tests:
        if only and only not in name:
            continue
        t0 = time.monotonic()
        # a hung case is interrupted by SIGALRM and fails with its stack
        signal.alarm(CASE_DEADLINE)
        try:
            fn()
        except Skip as e:
            signal.alarm(0)
            skipped += 1
            print("SKIP %s: %s" % (name, e), flush=True)
            continue
        except TestFailure as e:
            signal.alarm(0)
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception:
            signal.alarm(0)
            failed += 1
            print("FAIL %s: unexpected exception\n%s" % (name, traceback.format_exc()),
                  flush=True)
        else:
            signal.alarm(0)
            dead = [s for s in servers if not s.alive()]
            if dead:
                failed += 1
                for s in dead:
                    print("FAIL %s: %s died (status %s)\n%s" % (
                        name, s.name, s.proc.returncode, s.stderr_tail()), flush=True)
            else:
                passed += 1
                print("ok   %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
    for s in servers:
        probs = s.stop()
        if probs:
            failed += 1
            print("FAIL shutdown of %s:\n%s" % (s.name, "\n".join(probs)), flush=True)
    if skipped:
        print("%d skipped" % skipped)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)


def main(namespace, make_servers):
    """Start the servers (make_servers() returns them), run the cases, stop them.
    A start-up failure counts as one failed case."""
    try:
        servers = make_servers()
    except Exception as e:
        print("FAIL start-up: %s" % e, flush=True)
        print("0 passed, 1 failed", flush=True)
        sys.exit(1)
    run(namespace, servers)
