#!/usr/bin/python3
"""shards.py: N respite servers behind one twemproxy (Debian's `nutcracker`), on loopback.

Clients talk to the proxy as to one Redis; it spreads keys over the servers by consistent
hashing (ketama over murmur hashes of the key) and ejects a server that stops
answering, so its keys move to the others until it is back. Stdlib only.

As a library (tests, bench/sharded): Shards(n).start() ... .close().
As a command (examples/sharded/shards.sh wraps it):

    shards.py start [--shards N] [--port P] [--dir D] [--server BIN]   # returns once all answer
    shards.py status [--dir D]
    shards.py stop [--dir D]

`start` writes D/nutcracker.yml, D/state.json (ports and pids) and one log per process in D
(default: $XDG_RUNTIME_DIR or /tmp, then respite-shards). Every wait is a condition with a
deadline, never a fixed sleep.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))

# What the generated nutcracker.yml says, and why (README.md explains each).
PROXY_DEFAULTS = {
    "hash": "murmur",               # key -> hash (fnv1a_64 spreads similar keys badly: 290/10/0)
    "distribution": "ketama",       # consistent hashing: an ejected server moves only its keys
    "redis": "true",                # speak the Redis protocol (not memcached's)
    "auto_eject_hosts": "true",     # take a failing server out of the ring ...
    "server_failure_limit": 1,      # ... after this many consecutive failures
    "server_retry_timeout": 2000,   # ms before an ejected server is tried again
    "timeout": 400,                 # ms a request may wait for its server before failing
    "preconnect": "true",           # connect to every server at start-up
    "server_connections": 1,        # connections per server (requests are pipelined on it)
}


# What twemproxy 0.5.0 (Debian 12's nutcracker) does with each kind of command, as
# tests/integration/test_sharded.py checks and README.md tells: (family, example, outcome).
# "forwarded": sent to the shard that owns the key (multi-key commands split per shard
# and put back together), and its reply returned; "closed": the proxy does not support
# the command and closes the client's connection; "error": the proxy answers an error
# itself.
PASSTHROUGH = [
    ("strings", ("SET", "k", "v", "NX", "PX", "60000"), "forwarded"),
    ("strings", ("SET", "k", "v2", "XX", "KEEPTTL"), "forwarded"),
    ("strings", ("GET", "k"), "forwarded"),
    ("strings", ("INCRBY", "n", "5"), "forwarded"),
    ("strings", ("INCRBYFLOAT", "f", "1.5"), "forwarded"),
    ("strings", ("GETEX", "k", "PX", "60000"), "forwarded"),
    ("strings", ("GETDEL", "k"), "forwarded"),
    ("multi-key", ("MSET", "a", "1", "b", "2"), "forwarded"),
    ("multi-key", ("MGET", "a", "b"), "forwarded"),
    ("multi-key", ("DEL", "a", "b"), "forwarded"),
    ("multi-key", ("EXISTS", "a", "b"), "forwarded"),
    ("multi-key", ("MSETNX", "a", "1", "b", "2"), "closed"),
    ("keys", ("EXPIRE", "n", "100"), "forwarded"),
    ("keys", ("TTL", "n"), "forwarded"),
    ("keys", ("TYPE", "n"), "forwarded"),
    ("keys", ("RENAME", "n", "n2"), "closed"),
    ("keys", ("COPY", "n", "n3"), "forwarded"),
    ("keyspace", ("KEYS", "*"), "closed"),
    ("keyspace", ("SCAN", "0"), "closed"),
    ("keyspace", ("DBSIZE",), "closed"),
    ("keyspace", ("RANDOMKEY",), "closed"),
    ("keyspace", ("FLUSHALL",), "closed"),
    ("keyspace", ("SELECT", "1"), "closed"),
    ("transactions", ("MULTI",), "closed"),
    ("transactions", ("WATCH", "k"), "closed"),
    ("streams", ("XADD", "s", "*", "f", "v"), "closed"),
    ("streams", ("XLEN", "s"), "closed"),
    ("streams", ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"), "closed"),
    ("blocking", ("XREAD", "BLOCK", "10", "STREAMS", "s", "$"), "closed"),
    ("blocking", ("BLPOP", "l", "1"), "closed"),
    ("pub/sub", ("SUBSCRIBE", "c"), "closed"),
    ("pub/sub", ("PUBLISH", "c", "m"), "closed"),
    ("scripts", ("EVAL", "return 1", "0"), "closed"),
    ("connection", ("PING",), "forwarded"),
    ("connection", ("ECHO", "hi"), "closed"),
    ("connection", ("HELLO", "3"), "closed"),
    ("connection", ("CLIENT", "SETNAME", "x"), "closed"),
    ("connection", ("AUTH", "secret"), "error"),
    ("server", ("INFO",), "closed"),
    ("server", ("CONFIG", "GET", "maxmemory"), "closed"),
]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what, interval=0.02):
    """Poll cond() until it returns a true value (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the thing may not be up yet
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s"
                                 % (timeout, what, " (last error: %r)" % last if last else ""))
        time.sleep(interval)


def encode(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(f):
    """One decoded reply from a file object: bytes, int, None, list, or an Exception for
    an error reply. ConnectionError if the peer closed the connection."""
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return Exception(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ValueError("bad reply %r" % line)


def command(port, *args, timeout=2.0):
    """Send one command on a new connection; return its decoded reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(encode(*args))
        return read_reply(s.makefile("rb"))


def load(port, commands, window=1000, timeout=60):
    """Send encoded commands on one connection, window at a time (a proxy queues what it
    is sent: an unbounded pipeline makes its server timeout fire). Returns the number of
    error replies."""
    errors = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rb")
        batch = []
        for c in commands:
            batch.append(c)
            if len(batch) == window:
                s.sendall(b"".join(batch))
                errors += sum(isinstance(read_reply(f), Exception) for _ in batch)
                batch = []
        if batch:
            s.sendall(b"".join(batch))
            errors += sum(isinstance(read_reply(f), Exception) for _ in batch)
    return errors


def server_binary():
    env = os.environ.get("RESPITE_SERVER")
    if env:
        return env
    build = os.environ.get("RESPITE_BUILD_DIR") or os.path.join(SOURCE, "build")
    return os.path.join(build, "respite-server")


def nutcracker_binary():
    return shutil.which("nutcracker") or ("/usr/sbin/nutcracker" if os.path.exists("/usr/sbin/nutcracker") else None)


class Proc:
    def __init__(self, name, argv, logdir):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, name + ".log")
        with open(self.log_path, "ab") as log:
            self.p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True, cwd=logdir)
        self.pid = self.p.pid

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal and wait (SIGKILL after timeout). Returns the exit status."""
        if self.alive():
            try:
                os.kill(self.p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait(timeout=timeout)

    def tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""


class Shards:
    """n cache servers (respite unless server= names another binary) and one nutcracker."""

    def __init__(self, n=3, server=None, proxy_port=None, ports=None, workdir=None, server_args=(), **proxy):
        self.n = n
        self.server = server or server_binary()
        self.proxy_port = proxy_port or free_port()
        self.ports = list(ports) if ports else [free_port() for _ in range(n)]
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="respite-shards-")
        os.makedirs(self.dir, exist_ok=True)
        self.server_args = list(server_args)
        self.proxy_opts = dict(PROXY_DEFAULTS, **proxy)
        self.servers = [None] * n
        self.proxy = None
        self.stats_port = free_port()

    # ---- the pieces
    def nutcracker_yml(self):
        lines = ["respite:", "  listen: 127.0.0.1:%d" % self.proxy_port]
        lines += ["  %s: %s" % (k, v) for k, v in self.proxy_opts.items()]
        lines.append("  servers:")
        # Named servers: a server's place on the ring follows its name, not its address.
        lines += ["   - 127.0.0.1:%d:1 shard%d" % (p, i) for i, p in enumerate(self.ports)]
        return "\n".join(lines) + "\n"

    def start_server(self, i):
        argv = [self.server, "--port", str(self.ports[i]), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no"] + self.server_args
        p = Proc("shard%d" % i, argv, self.dir)
        self.servers[i] = p
        wait_until(lambda: p.alive() and command(self.ports[i], "PING") == b"PONG", 30,
                   "shard %d on port %d (%s)\n%s" % (i, self.ports[i], self.server, p.tail()))
        return p

    def start_proxy(self):
        nut = nutcracker_binary()
        if not nut:
            raise RuntimeError("nutcracker is not installed (Debian package: nutcracker)")
        conf = os.path.join(self.dir, "nutcracker.yml")
        with open(conf, "w") as f:
            f.write(self.nutcracker_yml())
        check = subprocess.run([nut, "-t", "-c", conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if check.returncode != 0:
            raise RuntimeError("nutcracker rejects %s: %s" % (conf, check.stdout.decode(errors="replace")))
        self.proxy = Proc("nutcracker", [nut, "-c", conf, "-s", str(self.stats_port), "-a", "127.0.0.1",
                                         "-v", "5"], self.dir)
        wait_until(lambda: self.proxy.alive() and command(self.proxy_port, "SET", "shards:probe", "1") == b"OK",
                   30, "nutcracker on port %d\n%s" % (self.proxy_port, self.proxy.tail()))
        command(self.proxy_port, "DEL", "shards:probe")
        return self.proxy

    def start(self):
        try:
            for i in range(self.n):
                self.start_server(i)
            self.start_proxy()
        except BaseException:
            self.close()
            raise
        return self

    # ---- failure and recovery
    def kill_shard(self, i, sig=signal.SIGKILL):
        return self.servers[i].stop(sig)

    def restart_shard(self, i):
        return self.start_server(i)

    def shard_of(self, key):
        """Index of the one shard that holds key (by asking each), or None."""
        found = [i for i, port in enumerate(self.ports)
                 if self.servers[i] and self.servers[i].alive() and command(port, "EXISTS", key) == 1]
        if len(found) > 1:
            raise AssertionError("key %r is on shards %s" % (key, found))
        return found[0] if found else None

    def cpu_ns(self):
        """CPU time on the clock (ns, /proc/PID/schedstat: no tick rounding) of each shard
        and of the proxy."""
        def ns(pid):
            with open("/proc/%d/schedstat" % pid) as f:
                return int(f.read().split()[0])
        return [ns(s.pid) for s in self.servers], ns(self.proxy.pid)

    def rss_bytes(self):
        """Resident bytes of each shard."""
        def rss(pid):
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
            return 0
        return [rss(s.pid) for s in self.servers]

    def close(self):
        problems = []
        if self.proxy:
            self.proxy.stop()
            self.proxy = None
        for i, s in enumerate(self.servers):
            if s and s.alive():
                rc = s.stop()
                if rc != 0:
                    problems.append("shard %d exited with status %s:\n%s" % (i, rc, s.tail()))
        self.servers = [None] * self.n
        if self.own_dir and not problems and os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# ---- the command-line recipe

def default_dir():
    return os.path.join(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir(), "respite-shards")


def cli_start(a):
    state_path = os.path.join(a.dir, "state.json")
    if os.path.exists(state_path):
        print("already started (%s); run stop first" % state_path, file=sys.stderr)
        return 1
    ports = [a.base_port + i for i in range(a.shards)] if a.base_port else None
    s = Shards(a.shards, server=a.server, proxy_port=a.port, ports=ports, workdir=a.dir)
    s.start()
    state = {"proxy": {"port": s.proxy_port, "pid": s.proxy.pid, "stats_port": s.stats_port},
             "shards": [{"port": p, "pid": x.pid} for p, x in zip(s.ports, s.servers)],
             "server": s.server}
    with open(state_path, "w") as f:
        json.dump(state, f, indent=1)
    print("nutcracker on 127.0.0.1:%d (stats on %d) in front of %d shards (%s) on ports %s"
          % (s.proxy_port, s.stats_port, a.shards, s.server, ", ".join(map(str, s.ports))))
    print("config and logs in %s; try: redis-cli -p %d SET hello world" % (a.dir, s.proxy_port))
    return 0


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def cli_status(a):
    try:
        with open(os.path.join(a.dir, "state.json")) as f:
            st = json.load(f)
    except OSError:
        print("not started (no %s)" % os.path.join(a.dir, "state.json"))
        return 1
    rc = 0
    for name, port, pid in [("nutcracker", st["proxy"]["port"], st["proxy"]["pid"])] + \
            [("shard%d" % i, x["port"], x["pid"]) for i, x in enumerate(st["shards"])]:
        alive = _pid_alive(pid)
        rc |= 0 if alive else 1
        print("%-10s port %-5d pid %-7d %s" % (name, port, pid, "running" if alive else "not running"))
    return rc


def cli_stop(a):
    path = os.path.join(a.dir, "state.json")
    try:
        with open(path) as f:
            st = json.load(f)
    except OSError:
        print("not started (no %s)" % path)
        return 0
    pids = [st["proxy"]["pid"]] + [x["pid"] for x in st["shards"]]
    for pid in pids:
        if _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
    try:
        wait_until(lambda: not any(_pid_alive(p) for p in pids), 15, "every process to exit")
    except AssertionError:
        for pid in pids:
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
    os.unlink(path)
    print("stopped nutcracker and %d shards" % len(st["shards"]))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description="respite shards behind twemproxy (nutcracker)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("start", "status", "stop"):
        p = sub.add_parser(name)
        p.add_argument("--dir", default=default_dir(), help="config, logs and state (default %(default)s)")
        if name == "start":
            p.add_argument("--shards", type=int, default=3)
            p.add_argument("--port", type=int, default=22121, help="the proxy's port")
            p.add_argument("--base-port", type=int, default=0, help="first shard's port (default: free ports)")
            p.add_argument("--server", default=None, help="server binary (default: build/respite-server)")
    a = ap.parse_args(argv)
    if a.cmd == "start":
        os.makedirs(a.dir, exist_ok=True)
        return cli_start(a)
    return cli_status(a) if a.cmd == "status" else cli_stop(a)


if __name__ == "__main__":
    sys.exit(main())
