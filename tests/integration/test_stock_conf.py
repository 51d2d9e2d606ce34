"""test_stock_conf.py: a stock redis.conf, and every setting Redis has, against redis-server.

Both binaries start on Debian's /etc/redis/redis.conf unchanged (port, dir, logfile,
pidfile and daemonize overridden by --flags after the file, so they run in a temporary
directory in the foreground) and show the same CONFIG GET * but for the settings that
legitimately differ. Settings respite accepts but does not act on are named in one
start-up warning line. CONFIG GET * lists the same names as redis-server 7.0.15 with
the same values; CONFIG SET of good and bad values for every name answers byte for byte
as redis-server does (and leaves the same value behind). A real mistake in a file is
reported with Redis's message and line number, also inside an included file; include
nests. daemonize yes detaches (new session, pidfile written by the daemon, removed at
SIGTERM). syslog-enabled sends the log lines to syslog(3) with the ident, facility
and priorities Redis uses. stream-node-max-entries decides what XADD MAXLEN ~ removes, as in Redis
(stream-node-max-bytes closes blocks too, but counts respite's bytes, not listpack's).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Skip, TestFailure, check, decode, eq, wait_until  # noqa: E402

DEBIAN_CONF = "/etc/redis/redis.conf"
RUN_DEADLINE = 10.0

# Settings whose values legitimately differ between two servers started side by side:
# each has its own port and temporary directory (dir, logfile, pidfile).
PER_SERVER = {"port", "dir", "logfile", "pidfile"}


def binaries():
    """(label, path) of the server under test and the oracle."""
    return (("server under test", harness.server_binary()),
            ("oracle redis-server", harness.ORACLE_BINARY))


def need_respite(what):
    if harness.is_oracle_under_test():
        raise Skip("%s is respite's own behaviour" % what)


def config_map(c, pattern="*"):
    flat = decode(c.cmd("CONFIG", "GET", pattern))
    if isinstance(flat, dict):
        return {k.decode(): v.decode() for k, v in flat.items()}
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


class StockConfServer(harness.Server):
    """Started on a config file with only the per-server settings overridden."""

    def __init__(self, binary, conf, flags=(), name=None):
        super().__init__(binary=binary, name=name)
        self.conf = conf
        self.flags = list(flags)

    def start_argv(self, attempt):
        self.logfile = os.path.join(self.dir, "server.log")
        return [self.binary, self.conf, "--port", str(self.port), "--dir", self.dir,
                "--logfile", self.logfile, "--pidfile", os.path.join(self.dir, "server.pid"),
                "--daemonize", "no"] + self.flags


def stop_ok(srv):
    probs = srv.stop()
    check(not probs, "%s stopped uncleanly: %s" % (srv.name, probs))


def need_debian_conf():
    if not os.path.isfile(DEBIAN_CONF):
        raise Skip("%s is not installed (apt-get install redis-server)" % DEBIAN_CONF)


# ---------------------------------------------------------------- Debian's file

def test_debian_redis_conf_starts_unchanged():
    need_debian_conf()
    maps = {}
    for label, binary in binaries():
        srv = StockConfServer(binary, DEBIAN_CONF, name=label).start()
        try:
            with srv.conn() as c:
                eq(c.cmd("SET", "k", "v"), b"+OK\r\n", "%s: SET" % label)
                maps[label] = config_map(c)
                eq(maps[label]["dir"], srv.dir, "%s: CONFIG GET dir (the --dir after the file)" % label)
                eq(maps[label]["daemonize"], "no", "%s: --daemonize no overrides the file" % label)
            wait_until(lambda: "Ready to accept connections" in read_text(srv.logfile), 10.0,
                       "%s: 'Ready to accept connections' in its logfile" % label)
            if label == "server under test":
                log = read_text(srv.logfile)
                # Debian's file sets nothing respite ignores to a non-default value.
                check("accepts but does not act on" not in log,
                      "warning about inert settings on Debian's file:\n%s" % log)
        finally:
            stop_ok(srv)
    t, o = maps.values()
    eq(sorted(t), sorted(o), "CONFIG GET * names on Debian's file")
    diffs = ["%s: %r, redis-server %r" % (k, t[k], o[k]) for k in sorted(o)
             if k not in PER_SERVER and t.get(k) != o[k]]
    check(not diffs, "CONFIG GET differs on Debian's file:\n" + "\n".join(diffs))


def test_inert_settings_named_in_one_warning():
    need_debian_conf()
    need_respite("the inert-settings warning")
    flags = ["--io-threads", "4", "--active-defrag-cycle-max", "30", "--notify-keyspace-events", "KEA",
             "--rename-command", "FLUSHALL", "", "--slave-priority", "5", "--stream-node-max-entries", "50"]
    srv = StockConfServer(harness.server_binary(), DEBIAN_CONF, flags).start()
    try:
        with srv.conn() as c:
            eq(config_map(c, "io-threads"), {"io-threads": "4"}, "CONFIG GET io-threads")
            eq(config_map(c, "notify-keyspace-events"), {"notify-keyspace-events": "AKE"},
               "CONFIG GET notify-keyspace-events (Redis's canonical letters)")
        wait_until(lambda: "Ready to accept connections" in read_text(srv.logfile), 10.0, "ready line")
        lines = [ln for ln in read_text(srv.logfile).splitlines() if "accepts but does not act on" in ln]
        eq(len(lines), 1, "warning lines about inert settings")
        m = re.search(r" # Settings respite accepts but does not act on: (.*)$", lines[0])
        check(m, "warning line format: %r" % lines[0])
        named = m.group(1).split(", ")
        eq(sorted(named), sorted(["io-threads", "active-defrag-cycle-max", "replica-priority"]),
           "settings named (stream-node-max-entries, notify-keyspace-events and rename-command are acted "
           "on; the alias is named by its own name)")
    finally:
        stop_ok(srv)


# ---------------------------------------------------------------- CONFIG GET / SET

def _pair():
    return harness.start_server(), harness.oracle()


def test_config_get_every_name_matches_redis():
    srv, ora = _pair()
    try:
        with srv.conn() as c, ora.conn() as o:
            t, r = config_map(c), config_map(o)
            eq(sorted(set(r) - set(t)), [], "names redis-server lists that respite lacks")
            eq(sorted(set(t) - set(r)), [], "names respite lists that redis-server lacks")
            diffs = []
            for name in sorted(r):
                if name in PER_SERVER:
                    continue
                rt, ro = c.cmd("CONFIG", "GET", name), o.cmd("CONFIG", "GET", name)
                if rt != ro:
                    diffs.append("%s: %r, redis-server %r" % (name, rt, ro))
                # Upper case names answer with the name as Redis spells it.
                rt, ro = c.cmd("CONFIG", "GET", name.upper()), o.cmd("CONFIG", "GET", name.upper())
                if rt != ro:
                    diffs.append("%s: %r, redis-server %r" % (name.upper(), rt, ro))
            check(not diffs, "CONFIG GET differs:\n" + "\n".join(diffs))
    finally:
        stop_ok(srv)
        stop_ok(ora)


# Values tried on every setting: each type's good and bad forms (integers with signs,
# leading zeros and overflow, memory units, yes/no, enum words, flag letters, lists).
SET_VALUES = ["zzz", "-99999999999999999", "-1", "", "0", "1", "777", "70000", "yes", "NO",
              "05", "+5", "1.5", "10kb", "2GB", "3m", "100%", "10%", "K", "Exg", "AKEnm", "x$",
              "1 2", "1 2 3", "-2001 0 0", "900 1 300 10", "50 99.999 100", "100.5",
              "default now", "save nosave", "no one", "{title} x", "{nosuch}", "{title}",
              "normal 0 0 0", "pubsub 1mb 2mb 3", "pubsub 1 2 +3", "pubsub 1 2 x", "foo 1 2 3", "local", "local3", "allchannels", "swapdb",
              "a-b.c", "a_b"]
# Where respite differs from redis-server on purpose (CONFIG SET only):
SET_DIFFERS = {
    "port": "respite listens once: port and bind cannot change at run time",
    "bind": "respite listens once: port and bind cannot change at run time",
    "maxclients": "bounded by respite's own limits (fd limit, 1000000)",
    "tls-port": "Debian's redis-server refuses TLS changes without certificates; respite stores them",
    "tls-cluster": "as tls-port",
    "tls-replication": "as tls-port",
    "activedefrag": "Debian's redis-server (system jemalloc) refuses 'yes'; respite stores it",
}


def test_config_set_matches_redis_byte_for_byte():
    srv, ora = _pair()
    try:
        with srv.conn() as c, ora.conn() as o:
            names = sorted(config_map(o))
            diffs = []
            for name in names:
                if name in SET_DIFFERS or name in PER_SERVER:
                    continue
                for conn in (c, o):
                    conn.before = conn.cmd("CONFIG", "GET", name)
                for v in SET_VALUES:
                    got = []
                    for conn in (c, o):
                        r = conn.cmd("CONFIG", "SET", name, v)
                        after = conn.cmd("CONFIG", "GET", name)
                        got.append((r, after))
                        flat = decode(conn.before)
                        conn.cmd("CONFIG", "SET", name, flat[1])      # put the old value back
                    if got[0] != got[1]:
                        diffs.append("CONFIG SET %s %r: %r / %r, redis-server %r / %r"
                                     % (name, v, got[0][0], got[0][1], got[1][0], got[1][1]))
            # Several pairs, an alias with its own name, the unknown and immutable errors.
            for args in (["SET", "slave-priority", "x"], ["SET", "Lua-Time-Limit", "-1"],
                         ["SET", "nosuch", "1"], ["SET", "DAEMONIZE", "no"], ["SET", "io-threads", "2"],
                         ["SET", "dir", "/tmp"], ["SET", "dbfilename", "x.rdb"],
                         ["SET", "hz", "20", "lazyfree-lazy-expire", "yes"], ["GET", "hz"],
                         ["GET", "lazyfree-lazy-expire"], ["SET", "hz", "10", "lazyfree-lazy-expire", "no"]):
                rt, ro = c.cmd("CONFIG", *args), o.cmd("CONFIG", *args)
                if rt != ro:
                    diffs.append("CONFIG %s: %r, redis-server %r" % (" ".join(args), rt, ro))
            check(not diffs, "%d differences:\n%s" % (len(diffs), "\n".join(diffs[:60])))
    finally:
        stop_ok(srv)
        stop_ok(ora)


def test_protected_dir_with_enable_protected_configs():
    for label, binary in binaries():
        srv = harness.Server(binary=binary, args=["--enable-protected-configs", "yes"], name=label).start()
        try:
            target = os.path.join(srv.dir, "sub dir")
            os.mkdir(target)
            with srv.conn() as c:
                eq(c.cmd("CONFIG", "SET", "dir", target), b"+OK\r\n", "%s: CONFIG SET dir" % label)
                eq(config_map(c, "dir"), {"dir": target}, "%s: CONFIG GET dir after the change" % label)
                eq(c.cmd("CONFIG", "SET", "dir", os.path.join(srv.dir, "nosuch")),
                   b"-ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory\r\n",
                   "%s: CONFIG SET dir to a missing directory" % label)
                eq(config_map(c, "dir"), {"dir": target}, "%s: dir unchanged by the failed CONFIG SET" % label)
        finally:
            stop_ok(srv)


# ---------------------------------------------------------------- fatal errors, include

def run_to_exit(argv, cwd):
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
    m = re.search(r"\*\*\* FATAL CONFIG FILE ERROR [^\n]*\*\*\*\n"
                  r"Reading the configuration file, at line (\d+)\n"
                  r">>> '([^\n]*)'\n([^\n]*)", out)
    check(m, "%s: no FATAL CONFIG FILE ERROR report in the output:\n%s" % (what, out[-2000:]))
    return int(m.group(1)), m.group(2), m.group(3)


# Real mistakes, each appended to Debian's file (so the line number is past its ~2300
# lines) or alone.
MISTAKES = ["io-threads 0", "notify-keyspace-events Q", "oom-score-adj-values 1 2", "replicaof a b",
            "slaveof a", "port 1 2", "save 1", "unixsocketperm 8", "unixsocketperm 1000",
            "syslog-facility foo", "maxmemory-clients 101%", "proc-title-template {nosuch}",
            "latency-tracking-info-percentiles 101", "shutdown-on-sigterm save nosave",
            "appendfsync sometimes", "hash-max-ziplist-entries -1", "lazyfree-lazy-expire maybe",
            "include", "rename-command FLUSHALL", "nosuch-directive 1", "stream-node-max-bytes 1.5kb"]


def test_fatal_error_line_matches_redis():
    d = tempfile.mkdtemp(prefix="respite-it-")
    try:
        base = read_text(DEBIAN_CONF) if os.path.isfile(DEBIAN_CONF) else "port 0\n"
        diffs = []
        for i, mistake in enumerate(MISTAKES):
            path = os.path.join(d, "bad%d.conf" % i)
            with open(path, "w") as f:
                f.write(base + "\n" + mistake + "\n")
            got = []
            for label, binary in binaries():
                rc, out = run_to_exit([binary, path, "--port", str(harness.free_port()), "--daemonize", "no",
                                       "--logfile", "", "--dir", d], d)
                check(rc != 0, "%s: %r accepted" % (label, mistake))
                got.append(fatal_parts(out, "%s: %r" % (label, mistake)))
            if got[0] != got[1]:
                diffs.append("%r: line %d >>> '%s' / %s; redis-server line %d >>> '%s' / %s"
                             % ((mistake,) + got[0] + got[1]))
        check(not diffs, "\n".join(diffs))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_include_nested():
    d = tempfile.mkdtemp(prefix="respite-it-")
    try:
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        # top.conf includes sub/a.conf by absolute path; a.conf includes b.conf by a
        # path relative to the working directory (the server's cwd is d).
        # A glob pattern reads each match in order; one with no match reads nothing.
        os.mkdir(os.path.join(d, "globbed"))
        for fname, text in (("1.conf", "slowlog-max-len 11\n"), ("2.conf", "slowlog-max-len 22\nacllog-max-len 3\n")):
            with open(os.path.join(d, "globbed", fname), "w") as f:
                f.write(text)
        with open(os.path.join(d, "top.conf"), "w") as f:
            f.write("timeout 5\nsave 900 1\ninclude %s\nhz 11\nsave 60 10000\ninclude %s/globbed/*.conf\n"
                    "include %s/nosuch/*.conf\n" % (os.path.join(sub, "a.conf"), d, d))
        with open(os.path.join(sub, "a.conf"), "w") as f:
            f.write("# a\ntimeout 7\ninclude sub/b.conf\nmaxmemory-samples 9\n")
        with open(os.path.join(sub, "b.conf"), "w") as f:
            f.write("hz 12\ntcp-keepalive 100\nlazyfree-lazy-expire yes\nsave 300 10\n")
        maps = {}
        for label, binary in binaries():
            srv = IncludeServer(binary, os.path.join(d, "top.conf"), d, name=label).start()
            try:
                with srv.conn() as c:
                    maps[label] = {k: config_map(c, k)[k] for k in
                                   ("timeout", "hz", "maxmemory-samples", "tcp-keepalive", "lazyfree-lazy-expire",
                                    "save", "slowlog-max-len", "acllog-max-len")}
            finally:
                stop_ok(srv)
        # save lines add up while a file is read (b.conf's adds to top.conf's), but, as in
        # Redis, one after an include replaces them.
        want = {"timeout": "7", "hz": "11", "maxmemory-samples": "9", "tcp-keepalive": "100",
                "lazyfree-lazy-expire": "yes", "save": "60 10000", "slowlog-max-len": "22", "acllog-max-len": "3"}
        for label, got in maps.items():
            eq(got, want, "%s: settings from the nested includes, in order" % label)
        # Without includes, save lines in the file and --save flags after it add up.
        with open(os.path.join(d, "save.conf"), "w") as f:
            f.write("save 900 1\nhz 13\nsave 300 10\n")
        for label, binary in binaries():
            srv = IncludeServer(binary, os.path.join(d, "save.conf"), d, name=label, flags=["--save", "60 5"]).start()
            try:
                with srv.conn() as c:
                    eq(config_map(c, "save"), {"save": "900 1 300 10 60 5"}, "%s: save lines add up" % label)
            finally:
                stop_ok(srv)
        # A mistake inside an included file: its own line number, as Redis reports it.
        with open(os.path.join(sub, "b.conf"), "a") as f:
            f.write("\nhz fast\n")
        got = []
        for label, binary in binaries():
            rc, out = run_to_exit([binary, os.path.join(d, "top.conf"), "--port", str(harness.free_port())], d)
            check(rc != 0, "%s: a bad included file was accepted" % label)
            got.append(fatal_parts(out, label))
        eq(got[0], got[1], "fatal error inside an included file (server under test, redis-server)")
        eq(got[0][:2], (6, "hz fast"), "line reported inside the included file")
        # A missing included file stops start-up with Redis's message.
        with open(os.path.join(d, "missing.conf"), "w") as f:
            f.write("include %s\n" % os.path.join(d, "nope.conf"))
        for label, binary in binaries():
            rc, out = run_to_exit([binary, os.path.join(d, "missing.conf"), "--port", str(harness.free_port())], d)
            check(rc != 0, "%s: a missing included file was accepted" % label)
            want = "Fatal error, can't open config file '%s': No such file or directory" % os.path.join(d, "nope.conf")
            check(want in out, "%s: want %r in:\n%s" % (label, want, out))
    finally:
        shutil.rmtree(d, ignore_errors=True)


class IncludeServer(harness.Server):
    def __init__(self, binary, conf, cwd, name=None, flags=()):
        super().__init__(binary=binary, name=name)
        self.conf = conf
        self.cwd = cwd
        self.flags = list(flags)

    def start_argv(self, attempt):
        # The relative include is resolved from the working directory: run from cwd.
        return ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", self.cwd, self.binary,
                self.conf, "--port", str(self.port)] + self.flags


# ---------------------------------------------------------------- daemonize

def test_daemonize_detaches_and_writes_pidfile():
    for label, binary in binaries():
        d = tempfile.mkdtemp(prefix="respite-it-")
        pidfile = os.path.join(d, "daemon.pid")
        logfile = os.path.join(d, "daemon.log")
        pid = None
        try:
            for attempt in range(5):
                port = harness.free_port()
                p = subprocess.run([binary, "--port", str(port), "--daemonize", "yes", "--pidfile", pidfile,
                                    "--logfile", logfile, "--dir", d, "--save", ""],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=RUN_DEADLINE)
                # The foreground process returns at once, with status 0 and nothing printed.
                eq(p.returncode, 0, "%s: exit status of the launching process" % label)
                eq(p.stdout + p.stderr, b"", "%s: output of the launching process" % label)
                wait_until(lambda: read_text(pidfile).strip().isdigit() or "in use" in read_text(logfile),
                           harness.START_DEADLINE, "%s: the daemon writes its pidfile" % label)
                if read_text(pidfile).strip().isdigit():
                    break
            pid = int(read_text(pidfile).strip())
            check(pid != p.returncode and os.getsid(pid) == pid,
                  "%s: the daemon (pid %d) leads its own session" % (label, pid))

            def pong():
                try:
                    with harness.Conn(port, timeout=2.0) as c:
                        return c.cmd("PING") == b"+PONG\r\n"
                except OSError:
                    return False
            wait_until(pong, harness.START_DEADLINE, "%s: the daemon answers PING" % label)
            with harness.Conn(port) as c:
                eq(config_map(c, "daemonize"), {"daemonize": "yes"}, "%s: CONFIG GET daemonize" % label)
                eq(config_map(c, "pidfile"), {"pidfile": pidfile}, "%s: CONFIG GET pidfile" % label)
            eq(os.readlink("/proc/%d/fd/1" % pid), "/dev/null", "%s: the daemon's stdout" % label)
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
                       "Z" in read_text("/proc/%d/stat" % pid).split(" ")[2:3],
                       harness.STOP_DEADLINE, "%s: the daemon exits on SIGTERM" % label)
            pid = None
            wait_until(lambda: not os.path.exists(pidfile), 5.0, "%s: pidfile removed at exit" % label)
            check("ready to exit" in read_text(logfile).lower() or "bye bye" in read_text(logfile),
                  "%s: shut-down logged:\n%s" % (label, read_text(logfile)[-2000:]))
        finally:
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            shutil.rmtree(d, ignore_errors=True)


# Runs argv in a private mount namespace whose /dev/log is the test's own datagram
# socket ($1), so syslog(3) lines can be read without touching the machine's /dev.
SYSLOG_NS = (r'set -e; d=$(mktemp -d); mount --bind /dev "$d"; mount -t tmpfs tmpfs /dev; '
             r'for n in null zero urandom random; do touch /dev/$n; mount --bind "$d/$n" /dev/$n; done; '
             r'touch /dev/log; mount --bind "$1" /dev/log; shift; exec "$@"')


def test_syslog_lines_reach_syslog():
    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        raise Skip("needs unshare -m (a private mount namespace) to give the server its own /dev/log")
    for label, binary in binaries():
        d = tempfile.mkdtemp(prefix="respite-it-")
        sock_path = os.path.join(d, "log.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(harness.START_DEADLINE)
        port = harness.free_port()
        p = subprocess.Popen(["unshare", "-m", "sh", "-c", SYSLOG_NS, "sh", sock_path, binary, "--port", str(port),
                              "--save", "", "--syslog-enabled", "yes", "--syslog-ident", "rt-ident",
                              "--syslog-facility", "local3"],
                             cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            lines = []
            while not any("Ready to accept connections" in ln for ln in lines):
                try:
                    lines.append(sock.recv(65536).decode(errors="replace"))
                except socket.timeout:
                    raise TestFailure("%s: no 'Ready to accept connections' through syslog; got %r, stderr %r"
                                      % (label, lines, p.stderr.read() if p.poll() is not None else ""))
            with harness.Conn(port) as c:
                eq(config_map(c, "syslog-*"), {"syslog-enabled": "yes", "syslog-ident": "rt-ident",
                                               "syslog-facility": "local3"}, "%s: CONFIG GET syslog-*" % label)
            # local3 (19) * 8 + notice (5) = 157, with the ident and the pid.
            ready = [ln for ln in lines if "Ready to accept connections" in ln][0]
            check(re.match(r"<157>\w{3} [ \d]\d \d\d:\d\d:\d\d rt-ident\[%d\]: Ready to accept connections$"
                           % p.pid, ready), "%s: syslog line %r" % (label, ready))
            p.send_signal(signal.SIGTERM)
            eq(p.wait(timeout=harness.STOP_DEADLINE), 0, "%s: exit status after SIGTERM" % label)
            sock.settimeout(0.5)
            try:
                while True:
                    lines.append(sock.recv(65536).decode(errors="replace"))
            except socket.timeout:
                pass
            # Warnings (4) at local3: 156.
            check(any(ln.startswith("<156>") and "ready to exit" in ln for ln in lines),
                  "%s: the shut-down warning through syslog: %r" % (label, lines[-4:]))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            sock.close()
            shutil.rmtree(d, ignore_errors=True)


DEFAULT_PIDFILE = "/var/run/redis.pid"


def test_daemon_without_pidfile_writes_redis_default():
    """The daemon runs in a private mount namespace with its own /run, so the default
    pidfile never meets the machine's; the test reads it through /proc/<pid>/root."""
    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        raise Skip("needs unshare -m (a private mount namespace) to give the daemon its own /run")
    for label, binary in binaries():
        d = tempfile.mkdtemp(prefix="respite-it-")
        port = harness.free_port()
        pid = None
        try:
            p = subprocess.run(["unshare", "-m", "sh", "-c", 'mount -t tmpfs tmpfs /run && exec "$@"', "sh",
                                binary, "--port", str(port), "--daemonize", "yes", "--logfile",
                                os.path.join(d, "log"), "--dir", d, "--save", ""],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=RUN_DEADLINE)
            eq(p.returncode, 0, "%s: exit status of the launching process (%r)" % (label, p.stderr))

            def info_pid():
                try:
                    with harness.Conn(port, timeout=2.0) as c:
                        m = re.search(rb"process_id:(\d+)", c.cmd("INFO", "server"))
                        return int(m.group(1)) if m else None
                except OSError:
                    return None
            wait_until(info_pid, harness.START_DEADLINE, "%s: the daemon answers" % label)
            pid = info_pid()
            with harness.Conn(port) as c:
                eq(config_map(c, "pidfile"), {"pidfile": DEFAULT_PIDFILE}, "%s: CONFIG GET pidfile" % label)
            # (/var/run is a symlink to /run here: resolve it on our side first)
            seen = "/proc/%d/root%s" % (pid, os.path.realpath(DEFAULT_PIDFILE))
            wait_until(lambda: read_text(seen).strip() == str(pid), 5.0,
                       "%s: the daemon's pid in its %s" % (label, DEFAULT_PIDFILE))
            # Keep a handle on the daemon's /run to see the pidfile go at exit.
            run_fd = os.open(os.path.dirname(seen), os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.kill(pid, signal.SIGTERM)
                wait_until(lambda: not os.path.exists("/proc/%d" % pid), harness.STOP_DEADLINE,
                           "%s: the daemon exits" % label)
                eq(os.listdir(run_fd), [], "%s: its /run after exit (the pidfile removed)" % label)
            finally:
                os.close(run_fd)
            pid = None
        finally:
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            shutil.rmtree(d, ignore_errors=True)


def test_supervised_systemd_overrides_daemonize():
    """As Redis: under a service manager daemonize yes is ignored (the process the
    manager started stays the server)."""
    for label, binary in binaries():
        d = tempfile.mkdtemp(prefix="respite-it-")
        sock_path = os.path.join(d, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(harness.START_DEADLINE)
        srv = harness.Server(binary=binary, args=["--daemonize", "yes", "--supervised", "systemd",
                                                  "--pidfile", os.path.join(d, "p.pid")], name=label)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        old = os.environ.get("NOTIFY_SOCKET")
        os.environ.update(env)
        try:
            srv.start()     # PING answers while the started process is still running
            check(srv.alive(), "%s: the started process is the server" % label)
            eq(int(read_text(os.path.join(d, "p.pid")).strip()), srv.proc.pid, "%s: pidfile names it" % label)
            msgs = []
            while not any("READY=1" in m for m in msgs):   # Redis sends a STATUS= first
                try:
                    msgs.append(sock.recv(4096).decode())
                except socket.timeout:
                    raise TestFailure("%s: no READY=1 on $NOTIFY_SOCKET: %r" % (label, msgs))
        finally:
            if old is None:
                os.environ.pop("NOTIFY_SOCKET", None)
            else:
                os.environ["NOTIFY_SOCKET"] = old
            probs = srv.stop()
            sock.close()
            shutil.rmtree(d, ignore_errors=True)
        check(not probs, "%s: %s" % (label, probs))


# ---------------------------------------------------------------- stream block limits

def test_stream_node_limits_decide_approximate_trimming():
    srv, ora = _pair()
    try:
        with srv.conn() as c, ora.conn() as o:
            diffs = []
            # Block sizes in bytes are respite's encoding's, not listpack's, so only limits
            # where the entry count closes blocks are compared.
            for entries, nbytes in ((7, "4096"), (13, "0"), (100, "0"), (3, "4kb"), (50, "1gb")):
                for conn in (c, o):
                    eq(conn.cmd("CONFIG", "SET", "stream-node-max-entries", str(entries),
                                "stream-node-max-bytes", nbytes), b"+OK\r\n", "CONFIG SET stream limits")
                    conn.cmd("DEL", "s")
                    for i in range(1, 201):
                        conn.cmd("XADD", "s", "%d-1" % i, "field", "value-%d" % i)
                for maxlen in (150, 77, 10):
                    rt = c.cmd("XADD", "s", "MAXLEN", "~", str(maxlen), "*", "f", "v")
                    ro = o.cmd("XADD", "s", "MAXLEN", "~", str(maxlen), "*", "f", "v")
                    lt, lo = c.cmd("XLEN", "s"), o.cmd("XLEN", "s")
                    ft, fo = c.cmd("XRANGE", "s", "-", "+", "COUNT", "1"), o.cmd("XRANGE", "s", "-", "+", "COUNT", "1")
                    check(rt.startswith(b"$") and ro.startswith(b"$"), "XADD replies %r %r" % (rt, ro))
                    if (lt, ft) != (lo, fo):
                        diffs.append("entries %d bytes %s MAXLEN ~ %d: XLEN %r first %r; redis-server %r %r"
                                     % (entries, nbytes, maxlen, lt, ft, lo, fo))
            check(not diffs, "\n".join(diffs))
    finally:
        stop_ok(srv)
        stop_ok(ora)

