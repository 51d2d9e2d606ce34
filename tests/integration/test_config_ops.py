"""test_config_ops.py: settings, logging, shut-down and introspection, against redis-server.

Start-up from a config file in redis.conf syntax (comments, blank lines, quoted values,
CRLF) with --flags after the file overriding it; fatal config errors (unknown setting,
bad value, in a file and as a --flag; the error text and its line number compared with
Debian's redis-server 7.0.15); --logfile and --loglevel (what is and is not logged at
verbose and at warning); SIGINT and the SHUTDOWN command (exit status 0, no reply, a
shutdown log line); INFO server versions, COMMAND COUNT / INFO / DOCS compared with
redis-server; CLIENT INFO and CLIENT SETINFO (a Redis 7.2 command respite supports on
purpose, so not compared with the 7.0 oracle).

Every case that can runs the same checks against both binaries, so a check that fails
on the oracle is a wrong test, not a respite bug.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import TestFailure, check, decode, encode, eq, wait_until  # noqa: E402

RUN_DEADLINE = 10.0     # seconds a start-up that must fail may take before it is killed


def binaries():
    """(label, path) of the server under test and the oracle."""
    return (("server under test", harness.server_binary()),
            ("oracle redis-server", harness.ORACLE_BINARY))


def need_respite(what):
    if harness.is_oracle_under_test():
        raise harness.Skip("%s is respite-only (the server under test is redis-server)" % what)


def config_get(c, name):
    """CONFIG GET <name> decoded to the single value (bytes)."""
    r = c.call("CONFIG", "GET", name)
    if isinstance(r, list):
        r = dict(zip(r[::2], r[1::2]))
    check(isinstance(r, dict) and name.encode() in r,
          "CONFIG GET %s replied %r" % (name, r))
    return r[name.encode()]


def read_text(path):
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def finish_exited(srv, label):
    """Bookkeeping for a server that exited by itself: no sanitizer report, clean up."""
    srv.stopped = True
    rep = srv.sanitizer_report()
    check(not rep, "%s: sanitizer report:\n%s" % (label, rep))
    shutil.rmtree(srv.dir, ignore_errors=True)


def stop_ok(srv):
    probs = srv.stop()
    check(not probs, "\n".join(probs))


class FileServer(harness.Server):
    """A server started as `binary <config file> [flags...]`; the file (format strings
    with {port} and {dir}) names the port, so the file really is what configures it."""

    def __init__(self, binary, conf, flags=(), name=None):
        super().__init__(binary=binary, name=name)
        self.conf = conf
        self.flags = list(flags)

    def start_argv(self, attempt):
        self.conf_path = os.path.join(self.dir, "server-%d.conf" % attempt)
        with open(self.conf_path, "wb") as f:
            f.write(self.conf.format(port=self.port, dir=self.dir).encode())
        return [self.binary, self.conf_path] + self.flags


# ---------------------------------------------------------------- 1. config file

GOOD_CONF = (
    "# respite config-file start-up test\n"
    "   # an indented comment\n"
    "\n"
    "port {port}\n"
    "bind 127.0.0.1\n"
    "save \"\"\n"
    "appendonly no\n"
    "\n"
    "\n"
    "maxclients   123\n"
    "  timeout 77\n"
    "hz 20\r\n"
    "maxmemory-policy \"allkeys-lru\"\n"
    "maxmemory 10mb\n"
    "logfile \"{dir}/log file.txt\"\n"
    "loglevel notice\n"
    "# the last line has no newline\n"
    "slowlog-max-len 99")

# (setting, value expected after the flags) compared byte for byte between the servers
GOOD_CONF_EXPECT = [("maxclients", b"123"), ("timeout", b"300"), ("hz", b"20"),
                    ("maxmemory-policy", b"allkeys-lru"), ("maxmemory", b"10485760"),
                    ("loglevel", b"verbose"), ("slowlog-max-len", b"99")]


def test_config_file_startup_and_flag_override():
    raws = {}
    for label, binary in binaries():
        srv = FileServer(binary, GOOD_CONF, ["--timeout", "300", "--loglevel", "verbose"],
                         name=label).start()
        try:
            with srv.conn() as c:
                eq(config_get(c, "port"), str(srv.port).encode(), "%s: CONFIG GET port" % label)
                logfile = os.path.join(srv.dir, "log file.txt")
                eq(config_get(c, "logfile"), logfile.encode(),
                   "%s: CONFIG GET logfile (a quoted value with a space)" % label)
                for name, want in GOOD_CONF_EXPECT:
                    eq(config_get(c, name), want, "%s: CONFIG GET %s" % (label, name))
                raws[label] = [c.cmd("CONFIG", "GET", name) for name, _ in GOOD_CONF_EXPECT]
            wait_until(lambda: "Ready to accept connections" in read_text(logfile), 10.0,
                       "%s: 'Ready to accept connections' in the quoted logfile" % label)
        finally:
            stop_ok(srv)
    t, o = raws.values()
    for (name, _), rt, ro in zip(GOOD_CONF_EXPECT, t, o):
        eq(rt, ro, "CONFIG GET %s: server under test vs redis-server" % name)


# ---------------------------------------------------------------- 2. fatal config errors

def run_to_exit(argv, cwd):
    """Run a start-up that must fail; returns (exit status, stdout + stderr text)."""
    try:
        p = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_DEADLINE)
    except subprocess.TimeoutExpired:
        raise TestFailure("%r was still running after %.0fs (it should have refused to start)"
                          % (argv, RUN_DEADLINE))
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    for m in harness.SANITIZER_MARKERS:
        check(m not in out, "sanitizer report from %r:\n%s" % (argv, out[-4000:]))
    return p.returncode, out


def fatal_parts(out, what):
    """(line number, offending line, reason) of a FATAL CONFIG FILE ERROR report."""
    m = re.search(r"\*\*\* FATAL CONFIG FILE ERROR [^\n]*\*\*\*\n"
                  r"Reading the configuration file, at line (\d+)\n"
                  r">>> '([^\n]*)'\n([^\n]*)", out)
    check(m, "%s: no FATAL CONFIG FILE ERROR report in the output:\n%s" % (what, out[-2000:]))
    return int(m.group(1)), m.group(2), m.group(3)


def fail_startup(binary, conf, flags, what):
    """Start `binary [file] flags` expecting refusal; returns the output text."""
    d = tempfile.mkdtemp(prefix="respite-it-")
    try:
        port = str(harness.free_port())      # never the default port, even if it starts
        argv = [binary]
        if conf is not None:
            path = os.path.join(d, "bad.conf")
            with open(path, "wb") as f:
                f.write(conf.format(port=port).encode())
            argv.append(path)
        argv += [a.format(port=port) for a in flags]
        rc, out = run_to_exit(argv, d)
        check(rc != 0, "%s: exit status 0 for a bad configuration %r\n%s" % (what, argv, out))
        return out
    finally:
        shutil.rmtree(d, ignore_errors=True)


# (what, file text or None, flags, setting named in the message, offending line, reason)
BAD_CONFIGS = [
    ("unknown setting in a file", "port {port}\nnosuch-setting 1\n", [],
     "nosuch-setting", "nosuch-setting 1", "Bad directive or wrong number of arguments"),
    ("bad integer in a file", "port {port}\nmaxclients lots\n", [],
     "maxclients", "maxclients lots", "argument couldn't be parsed into an integer"),
    ("bad enum in a file", "port {port}\nloglevel loud\n", [],
     "loglevel", "loglevel loud",
     "argument(s) must be one of the following: debug, verbose, notice, warning"),
    ("unknown --flag", None, ["--port", "{port}", "--nosuch-flag", "1"],
     "nosuch-flag", 'nosuch-flag "1"', "Bad directive or wrong number of arguments"),
    ("out-of-range --flag", None, ["--port", "{port}", "--timeout", "-5"],
     "timeout", 'timeout "-5"', "argument must be between 0 and 2147483647 inclusive"),
    ("bad --flag after a good file", "port {port}\n", ["--hz", "often"],
     "hz", 'hz "often"', "argument couldn't be parsed into an integer"),
]


def test_bad_setting_stops_startup():
    failures = []
    for what, conf, flags, name, line, reason in BAD_CONFIGS:
        for label, binary in binaries():
            out = fail_startup(binary, conf, flags, "%s (%s)" % (what, label))
            _, got_line, got_reason = fatal_parts(out, "%s (%s)" % (what, label))
            check(name in got_line, "%s (%s): the message does not name %r:\n%s"
                  % (what, label, name, out))
            if (got_line, got_reason) != (line, reason):
                failures.append("%s (%s): got >>> '%s' / %r, want >>> '%s' / %r"
                                % (what, label, got_line, got_reason, line, reason))
    check(not failures, "\n".join(failures))


def test_missing_config_file_stops_startup():
    for label, binary in binaries():
        d = tempfile.mkdtemp(prefix="respite-it-")
        try:
            path = os.path.join(d, "no-such.conf")
            rc, out = run_to_exit([binary, path, "--port", str(harness.free_port())], d)
            check(rc != 0, "%s: exit status 0 with a missing config file" % label)
            want = "Fatal error, can't open config file '%s': No such file or directory" % path
            check(want in out, "%s: want %r in the output, got:\n%s" % (label, want, out))
        finally:
            shutil.rmtree(d, ignore_errors=True)


# Line numbers count every line of the file, blank ones included, and the --flags after
# it (redis-server joins them to the file text with one extra newline).
LINE_CASES = [
    ("blank lines before the error in a file",
     "# comment\n\nport {port}\n\n   \n  # indented comment\nmaxclients 10\ntimeout  \"abc\"\n",
     []),
    ("second --flag without a file", None, ["--port", "{port}", "--maxclients", "abc"]),
    ("--flag after a two-line file", "port {port}\nhz 10\n", ["--timeout", "abc"]),
]


def test_config_error_line_numbers_match_redis():
    diffs = []
    for what, conf, flags in LINE_CASES:
        got = {}
        for label, binary in binaries():
            out = fail_startup(binary, conf, flags, "%s (%s)" % (what, label))
            got[label] = fatal_parts(out, "%s (%s)" % (what, label))
        t, o = got.values()
        if t != o:
            diffs.append("%s: server under test reports line %d >>> '%s' / %s; "
                         "redis-server reports line %d >>> '%s' / %s" % ((what,) + t + o))
    check(not diffs, "\n".join(diffs))


# ---------------------------------------------------------------- 3. logfile / loglevel

def client_count(c):
    info = decode(c.cmd("INFO", "clients")).decode()
    m = re.search(r"connected_clients:(\d+)", info)
    check(m, "no connected_clients in INFO clients: %r" % info)
    return int(m.group(1))


def log_case(label, binary, level):
    d = tempfile.mkdtemp(prefix="respite-it-log-")
    try:
        log_case_in(label, binary, level, os.path.join(d, "server.log"))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def log_case_in(label, binary, level, logfile):
    srv = harness.Server(binary=binary, args=["--logfile", logfile, "--loglevel", level],
                         name=label).start()
    try:
        with srv.conn() as a:
            eq(a.cmd("PING"), b"+PONG\r\n", "%s: PING" % label)
            b = srv.conn()
            eq(b.cmd("PING"), b"+PONG\r\n", "%s: second client PING" % label)
            addr = "127.0.0.1:%d" % b.sock.getsockname()[1]
            b.close()
            # once the server counts one client it has handled the close (and logged it)
            wait_until(lambda: client_count(a) == 1, 10.0,
                       "%s: the server to see the second client close" % label)
            accepted = "Accepted %s" % addr
            closed = re.compile(r"Client closed connection id=\d+ addr=%s( |$)" % re.escape(addr),
                                re.M)
            if level == "verbose":
                wait_until(lambda: closed.search(read_text(logfile)), 10.0,
                           "%s: a 'Client closed connection ... addr=%s' line at loglevel "
                           "verbose; log:\n%s" % (label, addr, read_text(logfile)))
                text = read_text(logfile)
                check(accepted in text, "%s: no %r line at loglevel verbose; log:\n%s"
                      % (label, accepted, text))
                check("Ready to accept connections" in text,
                      "%s: no 'Ready to accept connections' line in the logfile:\n%s"
                      % (label, text))
            else:
                text = read_text(logfile)
                for bad in ("Accepted ", "Client closed connection", "Ready to accept connections"):
                    check(bad not in text, "%s: %r logged at loglevel %s:\n%s"
                          % (label, bad, level, text))
            check("Ready to accept connections" not in read_text(srv.out_path),
                  "%s: log lines went to stdout despite --logfile" % label)
    finally:
        stop_ok(srv)
    text = read_text(logfile)
    # warning-level lines still reach the file at either level
    check("Received SIGTERM scheduling shutdown" in text,
          "%s: no SIGTERM line in the logfile at loglevel %s:\n%s" % (label, level, text))
    check("ready to exit, bye bye" in text,
          "%s: no exit line in the logfile at loglevel %s:\n%s" % (label, level, text))


def test_logfile_at_verbose_logs_connections():
    for label, binary in binaries():
        log_case(label, binary, "verbose")


def test_logfile_at_warning_omits_connections():
    for label, binary in binaries():
        log_case(label, binary, "warning")


# ---------------------------------------------------------------- 4./5. SIGINT, SHUTDOWN

def test_sigint_graceful_shutdown():
    for label, binary in binaries():
        srv = harness.Server(binary=binary, name=label).start()
        try:
            with srv.conn() as c:
                eq(c.cmd("SET", "k", "v"), b"+OK\r\n", "%s: SET" % label)
                srv.proc.send_signal(signal.SIGINT)
                closed, junk = c.wait_closed(harness.STOP_DEADLINE)
                check(closed, "%s: client not disconnected after SIGINT" % label)
                eq(junk, b"", "%s: bytes sent to an idle client on SIGINT" % label)
            try:
                rc = srv.proc.wait(timeout=harness.STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                raise TestFailure("%s still running %.0fs after SIGINT"
                                  % (label, harness.STOP_DEADLINE))
            eq(rc, 0, "%s: exit status after SIGINT" % label)
            out = srv.output()
            i = out.find("Received SIGINT scheduling shutdown...")
            j = out.find("ready to exit, bye bye...")
            check(i >= 0 and j > i, "%s: want the SIGINT line then the exit line:\n%s"
                  % (label, out[-2000:]))
            finish_exited(srv, label)
        finally:
            if not srv.stopped:
                srv.stop()


def test_shutdown_command_and_nosave():
    for label, binary in binaries():
        for form in (["SHUTDOWN"], ["SHUTDOWN", "NOSAVE"], ["shutdown", "nosave", "now"]):
            what = "%s: %s" % (label, " ".join(form))
            srv = harness.Server(binary=binary, name=label).start()
            try:
                with srv.conn() as other, srv.conn() as c:
                    eq(other.cmd("PING"), b"+PONG\r\n", what + ": other client PING")
                    # the pipelined SET after SHUTDOWN must get no reply either
                    c.send(encode(*form) + encode("SET", "after", "1"))
                    closed, junk = c.wait_closed(harness.STOP_DEADLINE)
                    check(closed, what + ": connection not closed")
                    eq(junk, b"", what + ": bytes received after SHUTDOWN")
                    closed, junk = other.wait_closed(harness.STOP_DEADLINE)
                    check(closed, what + ": the other client not disconnected")
                    eq(junk, b"", what + ": bytes sent to the other client")
                try:
                    rc = srv.proc.wait(timeout=harness.STOP_DEADLINE)
                except subprocess.TimeoutExpired:
                    raise TestFailure(what + ": still running after SHUTDOWN")
                eq(rc, 0, what + ": exit status")
                out = srv.output()
                check("User requested shutdown..." in out,
                      what + ": no 'User requested shutdown...' log line:\n" + out[-2000:])
                check(not os.path.exists(os.path.join(srv.dir, "dump.rdb")),
                      what + ": a dump file was written")
                finish_exited(srv, label)
            finally:
                if not srv.stopped:
                    srv.stop()


def test_shutdown_argument_errors_match_redis(server, oracle):
    script = [["SHUTDOWN", "ABORT"], ["SHUTDOWN", "bogus"], ["SHUTDOWN", "NOSAVE", "SAVE"],
              ["SHUTDOWN", "ABORT", "NOW"], ["MULTI"], ["SHUTDOWN"], ["EXEC"], ["PING"]]
    with server.conn() as t, oracle.conn() as o:
        for cmd in script:
            rt, ro = t.cmd(*cmd), o.cmd(*cmd)
            eq(rt, ro, "reply to %s (server under test vs redis-server)" % " ".join(cmd))
    check(server.alive(), "server under test exited after a refused SHUTDOWN")


# ---------------------------------------------------------------- 6. INFO and COMMAND

def test_info_server_versions(server, oracle):
    for label, srv in (("server under test", server), ("oracle redis-server", oracle)):
        with srv.conn() as c:
            lines = decode(c.cmd("INFO", "server")).decode().split("\r\n")
        check("redis_version:7.0.15" in lines, "%s: no redis_version:7.0.15 line in %r"
              % (label, lines[:6]))
    need_respite("respite_version")
    with server.conn() as c:
        lines = decode(c.cmd("INFO", "server")).decode().split("\r\n")
    vers = [ln for ln in lines if ln.startswith("respite_version:")]
    eq(len(vers), 1, "respite_version lines in INFO server")
    v = vers[0].split(":", 1)[1]
    check(re.fullmatch(r"\d+\.\d+\.\d+", v), "respite_version %r is not x.y.z" % v)
    out = subprocess.run([harness.server_binary(), "--version"], stdout=subprocess.PIPE,
                         timeout=RUN_DEADLINE).stdout.decode()
    check(("v=%s " % v) in out, "INFO respite_version %s differs from --version %r" % (v, out))
    with server.conn() as c:
        every = decode(c.cmd("INFO")).decode().split("\r\n")
    check(vers[0] in every, "respite_version missing from plain INFO")


def test_command_count_equals_command_entries(server, oracle):
    for label, srv in (("server under test", server), ("oracle redis-server", oracle)):
        with srv.conn() as c:
            raw = c.cmd("COMMAND", "COUNT")
            check(re.fullmatch(rb":\d+\r\n", raw), "%s: COMMAND COUNT replied %r" % (label, raw))
            entries = c.call("COMMAND")
            eq(decode(raw), len(entries), "%s: COMMAND COUNT vs entries of COMMAND" % label)
            names = [e[0] for e in entries]
            eq(len(set(names)), len(names), "%s: distinct command names" % label)
            check(b"get" in names and b"command" in names, "%s: get/command in COMMAND" % label)


def both_protocols(server, oracle):
    """(protocol, connection to respite, connection to redis), in RESP2 then RESP3."""
    for proto in ("2", "3"):
        with server.conn() as t, oracle.conn() as o:
            if proto == "3":
                for c in (t, o):
                    check(c.cmd("HELLO", "3").startswith(b"%"), "HELLO 3")
            yield proto, t, o


def test_command_info_matches_redis(server, oracle):
    for proto, t, o in both_protocols(server, oracle):
        for cmd in (["COMMAND", "INFO", "get"], ["COMMAND", "INFO", "set", "nosuch"],
                    ["COMMAND", "INFO", "GET", "xadd", "config"]):
            what = "RESP%s %s" % (proto, " ".join(cmd))
            rt, ro = t.cmd(*cmd), o.cmd(*cmd)
            dt, do = decode(rt), decode(ro)
            eq(len(dt), len(do), what + ": number of entries")
            for et, eo in zip(dt, do):
                if eo is None:
                    eq(et, None, what + ": unknown command entry")
                    continue
                check(isinstance(et, list) and len(et) >= 7,
                      "%s: entry %r is not a command array" % (what, et))
                eq(et[:7], eo[:7], what + ": name, arity, flags, first/last/step, ACL "
                   "categories")
            if cmd[-1] == "nosuch":
                null = b"_\r\n" if proto == "3" else b"$-1\r\n"
                check(rt.endswith(null) and ro.endswith(null),
                      "%s: null entry encoding: %r / %r" % (what, rt[-8:], ro[-8:]))


def docs_fields(reply, name):
    """COMMAND DOCS reply (RESP2 array or RESP3 map) -> dict of the one command's docs."""
    if isinstance(reply, dict):
        check(list(reply) == [name], "COMMAND DOCS keys %r" % list(reply))
        docs = reply[name]
    else:
        check(isinstance(reply, list) and len(reply) == 2 and reply[0] == name,
              "COMMAND DOCS reply %r" % (reply,))
        docs = reply[1]
        check(isinstance(docs, list) and len(docs) % 2 == 0, "docs %r" % (docs,))
        docs = dict(zip(docs[::2], docs[1::2]))
    return docs


def test_command_docs_matches_redis(server, oracle):
    for proto, t, o in both_protocols(server, oracle):
        for name in (b"get", b"set", b"xadd"):
            what = "RESP%s COMMAND DOCS %s" % (proto, name.decode())
            ft = docs_fields(t.call("COMMAND", "DOCS", name), name)
            fo = docs_fields(o.call("COMMAND", "DOCS", name), name)
            for k in (b"summary", b"since", b"group"):
                check(k in ft, "%s: no %s in %r" % (what, k.decode(), ft))
                eq(ft[k], fo.get(k), "%s: %s" % (what, k.decode()))
            # whatever else the server under test returns must be what redis returns
            for k, v in ft.items():
                eq(v, fo.get(k), "%s: field %r" % (what, k))
        eq(t.cmd("COMMAND", "DOCS", "nosuch"), o.cmd("COMMAND", "DOCS", "nosuch"),
           "RESP%s COMMAND DOCS nosuch" % proto)


# ---------------------------------------------------------------- 7. CLIENT INFO / SETINFO

def info_fields(line):
    return [kv.split("=", 1)[0] for kv in line.split(" ")]


def test_client_info(server, oracle):
    lines = {}
    for label, srv in (("server under test", server), ("oracle redis-server", oracle)):
        with srv.conn() as c:
            eq(c.cmd("CLIENT", "SETNAME", "ci"), b"+OK\r\n", "%s: CLIENT SETNAME" % label)
            raw = c.cmd("CLIENT", "INFO")
            check(raw.startswith(b"$"), "%s: CLIENT INFO is not a bulk string: %r" % (label, raw))
            text = decode(raw).decode()
            check(text.endswith("\n") and text.count("\n") == 1,
                  "%s: CLIENT INFO is not one line: %r" % (label, text))
            line = text[:-1]
            port = c.sock.getsockname()[1]
            for want in ("id=", "addr=127.0.0.1:%d " % port, "name=ci ", "cmd=client|info "):
                check(want in line + " ", "%s: %r not in CLIENT INFO %r" % (label, want, line))
            check(line.startswith("id="), "%s: CLIENT INFO starts %r" % (label, line[:20]))
            lines[label] = line
    need_respite("the lib-name/lib-ver fields of CLIENT INFO")
    t, o = lines.values()
    eq(info_fields(t), info_fields(o) + ["lib-name", "lib-ver"],
       "CLIENT INFO field names: redis 7.0's, then 7.2's lib-name and lib-ver")


def test_client_setinfo(server):
    need_respite("CLIENT SETINFO (Redis 7.2)")
    with server.conn() as c, server.conn() as watcher:
        eq(c.cmd("CLIENT", "SETINFO", "LIB-NAME", "x"), b"+OK\r\n", "CLIENT SETINFO LIB-NAME x")
        eq(c.cmd("CLIENT", "SETINFO", "lib-ver", "1.2.3"), b"+OK\r\n", "CLIENT SETINFO lib-ver")
        line = decode(c.cmd("CLIENT", "INFO")).decode().rstrip("\n")
        check(" lib-name=x " in line and line.endswith(" lib-ver=1.2.3"),
              "CLIENT INFO after SETINFO: %r" % line)
        r = c.cmd("CLIENT", "SETINFO", "LIB-NAME", "a b")
        check(r.startswith(b"-ERR ") and b"lib-name" in r, "SETINFO with a space: %r" % r)
        line = decode(c.cmd("CLIENT", "INFO")).decode()
        check(" lib-name=x " in line, "a refused SETINFO changed lib-name: %r" % line)
        cid = re.match(r"id=(\d+) ", line).group(1)
        listing = decode(watcher.cmd("CLIENT", "LIST")).decode().splitlines()
        mine = [ln for ln in listing if ln.startswith("id=%s " % cid)]
        eq(len(mine), 1, "CLIENT LIST lines for client %s" % cid)
        check(" lib-name=x lib-ver=1.2.3" in mine[0], "CLIENT LIST line %r" % mine[0])
