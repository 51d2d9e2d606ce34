"""conftest.py: the pytest fixtures every tests/integration/test_*.py uses.

Run one file with `/usr/bin/python3 -m pytest -q tests/integration/test_raw.py` (ctest
does exactly that, with RESPITE_SERVER pointing at the built respite-server; without it
the tests run against redis-server itself). The plumbing is in harness.py.

Fixtures
  server        the server under test ($RESPITE_SERVER), one per test file, started on a
                free port (deadline-based start: connect + PING). A file changes its
                command line with a module-level SERVER_ARGS = [...] and asks for a Unix
                socket with SERVER_UNIXSOCKET = True. After every test it must still be
                running (a crash fails that test); at the end of the file it is stopped
                with SIGTERM and must exit 0 with no sanitizer report in its stderr
                (otherwise the teardown fails).
  oracle        Debian's redis-server, the same way (ORACLE_ARGS = [...]); skipped with
                a message if redis-server is not installed.
  make_server   factory: make_server(args=(), unixsocket=False) starts one more server
                under test for this test only, make_server(cls=Sub, **kw) one of a
                harness.Server subclass (e.g. started from a config file); each is
                stopped and checked like `server` when the test ends.
  make_oracle   the same for redis-server.
  conn          a raw client to `server`: conn.cmd(*args) returns the exact bytes of
                one reply, conn.reply() reads the next one, conn.call() decodes.
  differ        a harness.Differ on (server, oracle): differ("SET k v") sends a step to
                both and records a mismatch; the test fails at its end if any was
                recorded, listing each command with both replies.

The differential case format (described in full above harness.Differ): a case is a list
of steps; a step is a command (a tuple of arguments or one space-separated string),
optionally led by mode words: "sorted", "approx:N", "clock", "rax", "noid", "nocheck",
"scanall", "sleep:MS", "@N" (connection N). Fixed cases are lists of (name, steps) run
with @pytest.mark.parametrize and harness.diff_case(server, oracle, steps); seeded
random sequences are a generator gen(rng) -> [steps] run with harness.diff_random(server,
oracle, seed, n, gen), which stops at the first difference.

A test file, then (an old-style file converts by taking these fixtures as arguments in
place of its SRV/ORA globals and dropping make_servers and the __main__ block):

    import os, sys
    import pytest
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from harness import diff_case, eq

    SERVER_ARGS = ORACLE_ARGS = ["--databases", "16"]
    CASES = [("append", ["SET k a", "APPEND k b", "GET k"]),
             ("ttl", ["SET k v EX 100", ("approx:1", "TTL", "k")])]

    @pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
    def test_case(server, oracle, steps):
        diff_case(server, oracle, steps)

    def test_ping(conn):
        eq(conn.cmd("PING"), b"+PONG\r\n", "PING")

Missing tools: a test that needs a program calls harness.need_program(name, package), or
pytest.skip("needs X (apt-get install Y)") (harness.Skip is the same exception): a clear
skip, never a traceback. Each test has a deadline of harness.CASE_DEADLINE seconds
(SIGALRM), after which it fails with its stack.
"""

import os
import signal
import sys
import traceback

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def pytest_report_header(config):
    return "server under test: %s" % harness.server_binary()


def _need_oracle():
    if not os.access(harness.ORACLE_BINARY, os.X_OK):
        pytest.skip("needs Debian's redis-server as the oracle (apt-get install redis-server)")


def _check_stopped(servers):
    problems = []
    for s in servers:
        problems += s.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def _module_server(request, binary, name, args_attr, unix_attr):
    args = getattr(request.module, args_attr, ())
    unix = getattr(request.module, unix_attr, False)
    srv = harness.Server(binary=binary, args=args, unixsocket=unix, name=name).start()
    yield srv
    _check_stopped([srv])


@pytest.fixture(scope="module")
def server(request):
    yield from _module_server(request, None, None, "SERVER_ARGS", "SERVER_UNIXSOCKET")


@pytest.fixture(scope="module")
def oracle(request):
    _need_oracle()
    yield from _module_server(request, harness.ORACLE_BINARY, "oracle redis-server",
                              "ORACLE_ARGS", "ORACLE_UNIXSOCKET")


@pytest.fixture(autouse=True)
def _servers_survive(request):
    """Fail the test if a module-scoped server died during it."""
    yield
    for name in ("server", "oracle"):
        if name in request.fixturenames:
            s = request.getfixturevalue(name)
            if not s.alive():
                pytest.fail("%s died during this test (status %s)\n%s" % (
                    s.name, s.proc.returncode, s.stderr_tail()), pytrace=False)


def _factory(binary, name):
    started = []

    def make(args=(), unixsocket=False, cls=None, **kw):
        """Start a harness.Server (or cls(binary=..., **kw), a subclass with its own
        constructor) and return it, ready."""
        if cls is None:
            srv = harness.Server(binary=binary, args=args, unixsocket=unixsocket,
                                 name=kw.pop("name", name), **kw)
        else:
            kw.setdefault("binary", binary or harness.server_binary())
            srv = cls(**kw)
        started.append(srv)
        return srv.start()

    return make, started


@pytest.fixture
def make_server():
    make, started = _factory(None, None)
    yield make
    _check_stopped(started)


@pytest.fixture
def make_oracle():
    _need_oracle()
    make, started = _factory(harness.ORACLE_BINARY, "oracle redis-server")
    yield make
    _check_stopped(started)


@pytest.fixture
def conn(server):
    with server.conn() as c:
        yield c


@pytest.fixture
def differ(server, oracle):
    with harness.Differ(server, oracle) as d:
        yield d
    d.finish()


@pytest.fixture(autouse=True)
def _deadline():
    """Interrupt a hung test after harness.CASE_DEADLINE seconds, with its stack."""
    def expired(signum, frame):
        raise harness.TestFailure("test exceeded its %ds deadline at:\n%s" % (
            harness.CASE_DEADLINE, "".join(traceback.format_stack(frame))))

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(harness.CASE_DEADLINE)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)

