"""test_packaging.py: what an operator installs and starts.

cmake --install into a temporary prefix gives bin/respite-server, etc/respite.conf (every
setting respite has, at its default), the systemd unit naming the installed paths and
the man page; --version and --help say what they should; the installed server starts on
the sample file; `supervised systemd` sends READY=1 and STOPPING=1 to $NOTIFY_SOCKET
(a datagram socket the test owns, as systemd's is).
"""
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

BUILD = harness.BUILD_DIR
SOURCE = harness.SOURCE_DIR
SAMPLE = os.path.join(SOURCE, "packaging", "respite.conf")


def _run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)


def _default_settings():
    """CONFIG GET * of a server started with no settings: name -> value."""
    srv = BareServer().start()
    try:
        with srv.conn() as c:
            flat = harness.decode(c.cmd("CONFIG", "GET", "*"))
        got = {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}
    finally:
        probs = srv.stop()
    check(not probs, "server with defaults: %s" % probs)
    return got, srv.port


def _conf_directives(path):
    """The sample file's directives: name -> value text (quotes and units as written)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = shlex.split(line)
            out[parts[0]] = " ".join(parts[1:])
    return out


MEM = {"kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}


def _normalise(value):
    """Memory units as CONFIG GET shows them (bytes)."""
    def one(tok):
        m = re.fullmatch(r"(\d+)(kb|mb|gb)", tok)
        return str(int(m.group(1)) * MEM[m.group(2)]) if m else tok
    return " ".join(one(t) for t in value.split(" "))


class BareServer(harness.Server):
    """A server with nothing set but its port: every other setting at its default."""

    def start_argv(self, attempt):
        return [self.binary, "--port", str(self.port)]


class ConfFileServer(harness.Server):
    """A server started as an operator starts it: the config file first, then flags."""

    def __init__(self, binary, conf):
        super().__init__(binary=binary)
        self.conf = conf

    def start_argv(self, attempt):
        return [self.binary, self.conf, "--port", str(self.port)]


def test_install_tree():
    with tempfile.TemporaryDirectory() as prefix:
        r = _run(["cmake", "--install", BUILD, "--prefix", prefix])
        eq(r.returncode, 0, "cmake --install exit status (stderr %r)" % r.stderr[-500:])
        for rel in ("bin/respite-server", "etc/respite.conf", "lib/systemd/system/respite-server.service",
                    "share/man/man1/respite-server.1"):
            check(os.path.isfile(os.path.join(prefix, rel)), "installed %s" % rel)
        check(os.access(os.path.join(prefix, "bin/respite-server"), os.X_OK), "bin/respite-server executable")
        unit = open(os.path.join(prefix, "lib/systemd/system/respite-server.service")).read()
        check("Type=notify" in unit, "unit has Type=notify")
        m = re.search(r"^ExecStart=(.*)$", unit, re.M)
        check(m, "unit has ExecStart")
        argv = shlex.split(m.group(1))
        eq(argv[0], os.path.join(prefix, "bin/respite-server"), "ExecStart binary is the installed one")
        eq(argv[1], os.path.join(prefix, "etc/respite.conf"), "ExecStart config is the installed one")
        check("--supervised" in argv and argv[argv.index("--supervised") + 1] == "systemd",
              "ExecStart passes --supervised systemd")
        if shutil.which("systemd-analyze"):
            r = _run(["systemd-analyze", "verify", os.path.join(prefix, "lib/systemd/system/respite-server.service")])
            # Its only complaint may be that the man page is not in this machine's man path.
            problems = [ln for ln in r.stderr.decode(errors="replace").splitlines()
                        if "respite-server" in ln and "Command 'man " not in ln]
            eq(problems, [], "systemd-analyze verify")
        man = open(os.path.join(prefix, "share/man/man1/respite-server.1")).read()
        check(man.startswith(".TH RESPITE-SERVER 1"), "man page has a .TH header")
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "FILES"):
            check(".SH %s" % section in man, "man page has section %s" % section)
        if shutil.which("groff"):
            r = _run(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(prefix, "share/man/man1/respite-server.1")])
            eq(r.stderr, b"", "groff warnings on the man page")
        # The installed server starts on the installed sample file.
        srv = ConfFileServer(os.path.join(prefix, "bin/respite-server"), os.path.join(prefix, "etc/respite.conf"))
        srv.start()
        try:
            with srv.conn() as c:
                eq(c.cmd("PING"), b"+PONG\r\n", "PING to the server started on the sample file")
        finally:
            probs = srv.stop()
        check(not probs, "installed server stopped cleanly: %s" % probs)


def test_sample_conf_has_every_setting_at_its_default():
    defaults, port = _default_settings()
    conf = _conf_directives(SAMPLE)
    missing = sorted(set(defaults) - set(conf))
    eq(missing, [], "settings missing from packaging/respite.conf")
    unknown = sorted(set(conf) - set(defaults))
    eq(unknown, [], "directives in packaging/respite.conf that CONFIG GET * lacks")
    for name, value in conf.items():
        want = defaults[name]
        if name == "port":
            want = "6379"  # the default server ran on a free port
        if name == "dir":
            continue  # CONFIG GET dir may show the working directory
        if name in ("replicaof", "slaveof") and value == "no one":
            want = {"": "no one"}.get(want, want)  # "no one" is how a file says "not a replica"
        eq(_normalise(value), want, "default of %s in the sample file" % name)


def test_version_and_help():
    binary = harness.server_binary()
    r = _run([binary, "--version"])
    eq(r.returncode, 0, "--version exit status")
    check(re.fullmatch(rb"respite-server v=\d+\.\d+\.\d+ \(Redis 7\.0\.15 compatible\)\n", r.stdout),
          "--version output %r" % r.stdout)
    r = _run([binary, "--help"])
    eq(r.returncode, 0, "--help exit status")
    text = r.stdout.decode()
    check("Usage: respite-server" in text, "--help has a usage line")
    defaults, _ = _default_settings()
    for name in defaults:
        check(re.search(r"^  --%s\s+default " % re.escape(name), text, re.M), "--help lists --%s" % name)


def _notify_socket():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(harness.START_DEADLINE)
    return s, path, d


def test_supervised_systemd_notifies_ready_and_stopping():
    sock, path, d = _notify_socket()
    old = os.environ.get("NOTIFY_SOCKET")
    os.environ["NOTIFY_SOCKET"] = path
    try:
        srv = harness.Server(args=["--supervised", "systemd"]).start()
    finally:
        if old is None:
            del os.environ["NOTIFY_SOCKET"]
        else:
            os.environ["NOTIFY_SOCKET"] = old
    try:
        msg = sock.recv(4096).decode()
        check("READY=1" in msg.split("\n"), "first notification has READY=1: %r" % msg)
        with srv.conn() as c:
            eq(c.cmd("PING"), b"+PONG\r\n", "PING once READY was sent")
            eq(harness.decode(c.cmd("CONFIG", "GET", "supervised")), [b"supervised", b"systemd"],
               "CONFIG GET supervised")
        srv.proc.terminate()
        msg = sock.recv(4096).decode()
        check("STOPPING=1" in msg.split("\n"), "SIGTERM sends STOPPING=1: %r" % msg)
        eq(srv.proc.wait(timeout=harness.STOP_DEADLINE), 0, "exit status after SIGTERM")
        log = srv.output()
        eq(srv.sanitizer_report(), "", "sanitizer report")
    finally:
        if srv.alive():
            srv.stop()
        sock.close()
        shutil.rmtree(d, ignore_errors=True)
    check("Supervised by systemd" in log, "the log says it is supervised by systemd")


def test_supervised_refuses_bad_mode():
    r = _run([harness.server_binary(), "--supervised", "sometimes", "--port", "0"])
    check(r.returncode != 0, "--supervised sometimes refused")
    check(b"must be one of the following: no, upstart, systemd, auto" in r.stderr,
          "the error names the modes: %r" % r.stderr[-300:])
