"""test_redis_cli.py: the real redis-cli and redis-benchmark (redis-tools) as clients.

One-shot commands in raw and formatted output, commands read from stdin, --pipe mass
insertion of 100k SETs, and redis-benchmark's ping/set/get/incr/mset with pipelining,
whose side effects are checked afterwards (every INCR must have landed).
"""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytest  # noqa: E402
from harness import check, encode, eq  # noqa: E402

CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
BENCH = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
pytestmark = pytest.mark.skipif(not os.access(CLI, os.X_OK),
                                reason="needs redis-cli (apt-get install redis-tools)")


def cli(server, *args, stdin=None, timeout=60, extra=()):
    """Run redis-cli against the server; returns (exit status, stdout, stderr)."""
    argv = [CLI, "-p", str(server.port), "-h", "127.0.0.1"] + list(extra) + [str(a) for a in args]
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def out(server, *args, **kw):
    rc, so, se = cli(server, *args, **kw)
    eq(rc, 0, "redis-cli %r exit status (stderr %r)" % (args, se))
    return so


def test_tools_present():
    check(os.access(CLI, os.X_OK), "redis-cli not installed")
    check(os.access(BENCH, os.X_OK), "redis-benchmark not installed")


def test_set_get_raw(server):
    eq(out(server, "set", "cli:k", "hello world"), "OK\n", "set")
    eq(out(server, "get", "cli:k"), "hello world\n", "get")
    eq(out(server, "get", "cli:missing"), "\n", "get missing (raw output is empty)")
    eq(out(server, "append", "cli:k", "!"), "12\n", "append")
    eq(out(server, "strlen", "cli:k"), "12\n", "strlen")


def test_formatted_output(server):
    fmt = ["--no-raw"]
    eq(out(server, "set", "cli:f", "v", extra=fmt), "OK\n", "set formatted")
    eq(out(server, "get", "cli:f", extra=fmt), '"v"\n', "get formatted")
    eq(out(server, "get", "cli:nope", extra=fmt), "(nil)\n", "nil formatted")
    eq(out(server, "del", "cli:n", extra=fmt), "(integer) 0\n", "integer formatted")
    eq(out(server, "incr", "cli:n", extra=fmt), "(integer) 1\n", "incr formatted")
    eq(out(server, "mget", "cli:f", "cli:nope", extra=fmt), '1) "v"\n2) (nil)\n', "mget formatted")
    eq(out(server, "get", extra=fmt),
       "(error) ERR wrong number of arguments for 'get' command\n", "arity error formatted")


def test_incr_family(server):
    out(server, "del", "cli:c")
    eq(out(server, "incr", "cli:c"), "1\n", "incr")
    eq(out(server, "incrby", "cli:c", "41"), "42\n", "incrby")
    eq(out(server, "decr", "cli:c"), "41\n", "decr")
    eq(out(server, "decrby", "cli:c", "-9"), "50\n", "decrby negative")
    eq(out(server, "incrbyfloat", "cli:c", "0.5"), "50.5\n", "incrbyfloat")
    rc, so, se = cli(server, "incr", "cli:c")
    check("ERR value is not an integer or out of range" in so + se,
          "incr on a float value should fail, got %r %r" % (so, se))


def test_expire_ttl(server):
    out(server, "set", "cli:e", "v")
    eq(out(server, "ttl", "cli:e"), "-1\n", "ttl without expiry")
    eq(out(server, "ttl", "cli:none"), "-2\n", "ttl of a missing key")
    eq(out(server, "expire", "cli:e", "100"), "1\n", "expire")
    ttl = int(out(server, "ttl", "cli:e"))
    check(95 <= ttl <= 100, "ttl after expire 100: %d" % ttl)
    pttl = int(out(server, "pttl", "cli:e"))
    check(95000 <= pttl <= 100000, "pttl after expire 100: %d" % pttl)
    eq(out(server, "persist", "cli:e"), "1\n", "persist")
    eq(out(server, "ttl", "cli:e"), "-1\n", "ttl after persist")
    eq(out(server, "expire", "cli:e", "0"), "1\n", "expire 0 deletes")
    eq(out(server, "exists", "cli:e"), "0\n", "gone after expire 0")


def test_interactive_session(server):
    # redis-cli on a terminal (a pty): its prompt, replies as a person sees them, the
    # "(TX)" prompt inside MULTI, and the hints it gets from COMMAND.
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "dumb"
        os.execv(CLI, [CLI, "-p", str(server.port), "-h", "127.0.0.1"])
    seen = b""

    def expect(needle, deadline=10.0):
        nonlocal seen
        end = time.monotonic() + deadline
        while needle not in seen:
            left = end - time.monotonic()
            check(left > 0, "redis-cli never printed %r; screen so far: %r" % (needle, seen[-600:]))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    chunk = b""
                check(chunk, "redis-cli exited; screen: %r" % seen[-600:])
                seen += chunk
        i = seen.index(needle) + len(needle)
        seen = seen[i:]

    prompt = b"127.0.0.1:%d> " % server.port
    try:
        expect(prompt)
        for line, want in ((b"SET cli:tty \"hello world\"", b"OK"),
                           (b"GET cli:tty", b'"hello world"'),
                           (b"INCRBY cli:tty:n 5", b"(integer) 5"),
                           (b"GET cli:tty:missing", b"(nil)"),
                           (b"MULTI", b"OK")):
            os.write(fd, line + b"\r")
            expect(want)
        expect(b"127.0.0.1:%d(TX)> " % server.port)
        os.write(fd, b"INCR cli:tty:n\r")
        expect(b"QUEUED")
        os.write(fd, b"EXEC\r")
        expect(b"1) (integer) 6")
        os.write(fd, b"FOOBAR x\r")
        expect(b"(error) ERR unknown command 'FOOBAR'")
        os.write(fd, b"quit\r")
        end = time.monotonic() + 10
        while time.monotonic() < end:          # until redis-cli closes the terminal
            r, _, _ = select.select([fd], [], [], 0.5)
            try:
                if r and not os.read(fd, 4096):
                    break
            except OSError:
                break
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    eq(os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1, 0, "redis-cli exit status after quit")
    eq(out(server, "get", "cli:tty:n"), "6\n", "the session's INCRs landed")


def test_commands_from_stdin(server):
    script = b"set cli:s 10\nincr cli:s\nget cli:s\nset cli:q \"two words\"\nget cli:q\n"
    eq(out(server, stdin=script), "OK\n11\n11\nOK\ntwo words\n", "commands read from stdin")


def test_pipe_100k(server):
    eq(out(server, "flushdb"), "OK\n", "flushdb")
    data = b"".join(encode("SET", "pipe:%d" % i, "value-%d" % i) for i in range(100000))
    rc, so, se = cli(server, extra=["--pipe"], stdin=data, timeout=300)
    eq(rc, 0, "redis-cli --pipe exit status (stdout %r stderr %r)" % (so, se))
    check("errors: 0, replies: 100000" in so,
          "--pipe summary wrong: stdout %r stderr %r" % (so, se))
    eq(out(server, "dbsize"), "100000\n", "dbsize after --pipe")
    eq(out(server, "get", "pipe:99999"), "value-99999\n", "last piped key")
    eq(out(server, "get", "pipe:0"), "value-0\n", "first piped key")


def test_pipe_counts_errors(server):
    data = encode("SET", "pe:a", "1") + encode("INCR", "pe:a") + encode("GET") \
        + encode("INCRBY", "pe:a", "x")
    rc, so, se = cli(server, extra=["--pipe"], stdin=data)
    check("errors: 2, replies: 4" in so, "--pipe error count: %r %r" % (so, se))
    eq(out(server, "get", "pe:a"), "2\n", "value after piped INCR")


BENCH_TESTS = ("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)")


def test_benchmark(server):
    eq(out(server, "flushdb"), "OK\n", "flushdb")
    argv = [BENCH, "-h", "127.0.0.1", "-p", str(server.port), "-t", "ping,set,get,incr,mset",
            "-P", "16", "-q", "-n", "20000"]
    p = subprocess.run(argv, capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    so = p.stdout.decode(errors="replace")
    se = p.stderr.decode(errors="replace")
    text = so.replace("\r", "\n")
    eq(p.returncode, 0, "redis-benchmark exit status (stdout %r stderr %r)" % (so, se))
    for name in BENCH_TESTS:
        check(re.search(r"^%s: [0-9.]+ requests per second" % re.escape(name), text, re.M),
              "redis-benchmark did not report %s:\n%s" % (name, text[-3000:]))
    for bad in ("Error", "ERR", "error"):
        check(bad not in so + se, "redis-benchmark reported %r:\n%s\n%s" % (bad, so, se))
    # every INCR landed on the one counter key; SET/MSET wrote a 3-byte payload
    eq(out(server, "get", "counter:__rand_int__"), "20000\n", "counter after 20000 INCRs")
    eq(out(server, "strlen", "key:__rand_int__"), "3\n", "3-byte value written by SET/MSET")
    eq(out(server, "ping"), "PONG\n", "server answers after the benchmark")
