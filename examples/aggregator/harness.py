"""harness.py: start and stop the aggregator's processes (a cache server, mock suppliers,
aggregators) on free local ports, for the end-to-end tests, the demo and the benchmark.

Stdlib only. Every process is started in its own session and killed (SIGTERM, then
SIGKILL) by Cluster.close(), which the tests call from `finally` and atexit; waits are
conditions with deadlines (wait_until), never fixed sleeps."""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what, interval=0.02):
    """Poll cond() until it returns a true value (returned) or timeout seconds pass
    (AssertionError naming what was awaited)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the condition may fail until the thing is up
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (
                timeout, what, " (last error: %r)" % last_exc if last_exc else ""))
        time.sleep(interval)


def http_get(url, timeout=5.0):
    """(status, body bytes) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_json(url, timeout=5.0):
    status, body = http_get(url, timeout)
    return status, json.loads(body)


def stream_events(url, timeout=15.0):
    """Read a Server-Sent Events stream (GET url) to its end: [(monotonic time, event,
    data)], event "message" unless the stream named it. Raises if the answer is not 200."""
    import http.client
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", u.path + ("?" + u.query if u.query else ""))
        r = conn.getresponse()
        if r.status != 200:
            raise AssertionError("stream %s: HTTP %d %r" % (url, r.status, r.read()))
        out, name, data = [], "message", []
        while True:
            line = r.readline()
            if not line:
                return out
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data:
                    out.append((time.monotonic(), name, "\n".join(data)))
                name, data = "message", []
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line.startswith("event:"):
                name = line[6:].strip()
    finally:
        conn.close()


def resp_command(port, *args, timeout=2.0):
    """Send one command to a Redis-protocol server; return the decoded reply
    (bytes, int, None, list, or an Exception instance for an error reply)."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(out)
        f = s.makefile("rb")
        return _resp_read(f)


def _resp_read(f):
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
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise ValueError("bad reply %r" % line)


def build_dir():
    if os.environ.get("RESPITE_BUILD_DIR"):
        return os.environ["RESPITE_BUILD_DIR"]
    src = os.environ.get("RESPITE_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
    for cand in ("build", "build-agg"):
        if os.path.exists(os.path.join(src, cand, "examples", "aggregator", "aggregator")):
            return os.path.join(src, cand)
    return os.path.join(src, "build")


def cache_server_binary():
    return os.environ.get("RESPITE_SERVER") or shutil.which("redis-server") or "redis-server"


class Proc:
    def __init__(self, name, argv, logdir):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(logdir, name + ".log")
        self.log = open(self.log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(timeout=5)
        self.log.close()

    def tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""


class Cluster:
    """The processes of one test run. Keep a reference and call close()."""

    def __init__(self, keep_logs=None):
        if keep_logs is None:
            keep_logs = bool(os.environ.get("AGG_KEEP_LOGS"))
        self.dir = tempfile.mkdtemp(prefix="aggregator-test-")
        self.procs = []
        self.keep_logs = keep_logs
        self.bin = os.path.join(build_dir(), "examples", "aggregator")
        atexit.register(self.close)

    def _start(self, name, argv):
        p = Proc(name, argv, self.dir)
        self.procs.append(p)
        return p

    def start_cache(self, port=None):
        port = port or free_port()
        p = self._start("cache-%d" % port, [cache_server_binary(), "--port", str(port),
                                            "--bind", "127.0.0.1", "--save", "",
                                            "--appendonly", "no"])
        p.port = port
        wait_until(lambda: p.alive() and resp_command(port, "PING") == b"PONG", 10,
                   "cache server on port %d (%s)" % (port, cache_server_binary()))
        return p

    def start_supplier(self, name, latency_ms, fail_rate=0.0, port=None):
        port = port or free_port()
        p = self._start("supplier-%s" % name, [
            os.path.join(self.bin, "mock-supplier"), "--port", str(port), "--name", name,
            "--latency-ms", str(latency_ms), "--fail-rate", str(fail_rate)])
        p.port = port
        p.sname = name
        p.url = "http://127.0.0.1:%d" % port
        wait_until(lambda: p.alive() and http_get(p.url + "/health", 1)[0] == 200, 10,
                   "supplier %s" % name)
        return p

    def write_config(self, name, cache_port, suppliers, ttl_ms=300000, timeout_ms=5000,
                     claim_margin_ms=1000, cache_timeout_ms=300, extra=()):
        """suppliers: list of (name, url) or (name, url, timeout_ms); extra: more setting
        lines (e.g. "pubsub off")."""
        path = os.path.join(self.dir, name + ".conf")
        with open(path, "w") as f:
            f.write("cache 127.0.0.1:%d\nttl_ms %d\nsupplier_timeout_ms %d\n"
                    "claim_margin_ms %d\nreconnect_ms 100\ncache_timeout_ms %d\n"
                    % (cache_port, ttl_ms, timeout_ms, claim_margin_ms, cache_timeout_ms))
            for line in extra:
                f.write(line + "\n")
            for s in suppliers:
                f.write("supplier %s\n" % " ".join(str(x) for x in s))
        return path

    def start_aggregator(self, name, config, port=None):
        port = port or free_port()
        p = self._start("aggregator-%s" % name, [
            os.path.join(self.bin, "aggregator"), "--config", config, "--port", str(port)])
        p.port = port
        p.url = "http://127.0.0.1:%d" % port
        wait_until(lambda: p.alive() and http_get(p.url + "/api/status", 1)[0] == 200, 10,
                   "aggregator %s" % name)
        return p

    def close(self):
        for p in reversed(self.procs):
            p.kill(signal.SIGTERM)
        self.procs = []
        if not self.keep_logs and self.dir and os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def demo(port, cache_port, suppliers):
    """Start a cache server, three suppliers and an aggregator; wait for Ctrl-C."""
    c = Cluster(keep_logs=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    try:
        cache = c.start_cache(cache_port)
        sups = [c.start_supplier(n, lat) for n, lat in suppliers]
        conf = c.write_config("demo", cache.port, [(s.sname, s.url) for s in sups])
        agg = c.start_aggregator("demo", conf, port)
        print("cache server: %s on 127.0.0.1:%d" % (cache_server_binary(), cache.port))
        for s in sups:
            print("supplier:     %-8s at %s" % (s.sname, s.url))
        print("logs:         %s" % c.dir)
        print("\nOpen %s/ in a browser (Ctrl-C stops everything)." % agg.url, flush=True)
        while not stop and all(p.alive() for p in c.procs):
            time.sleep(0.5)
        for p in c.procs:
            if not p.alive():
                print("%s exited:\n%s" % (p.name, p.tail()), file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        c.close()


def bench(args):
    """Start a cache server, three suppliers and args.aggregators aggregators; run
    aggregator-bench against each aggregator in turn (a new set of searches each time)."""
    c = Cluster()
    try:
        cache = c.start_cache()
        sups = [c.start_supplier(n, lat) for n, lat in
                (("fast", args.fast_ms), ("medium", args.medium_ms), ("slow", args.slow_ms))]
        conf = c.write_config("bench", cache.port, [(s.sname, s.url) for s in sups])
        aggs = [c.start_aggregator("bench%d" % i, conf) for i in range(args.aggregators)]
        for a in aggs:
            wait_until(lambda: json.loads(http_get(a.url + "/api/status")[1])["cache"]
                       == "connected", 10, "aggregator connected to the cache")
        print("cache server %s; suppliers answer in %d/%d/%d ms; %d aggregator(s)"
              % (cache_server_binary(), args.fast_ms, args.medium_ms, args.slow_ms, len(aggs)),
              flush=True)
        rc = 0
        for i, a in enumerate(aggs):
            print("\n== aggregator %d (%s)" % (i + 1, a.url), flush=True)
            rc |= subprocess.call([os.path.join(c.bin, "aggregator-bench"), "--url", a.url,
                                   "--searches", str(args.searches),
                                   "--connections", str(args.connections),
                                   "--seconds", str(args.seconds),
                                   "--prefix", "bench%d-%d" % (os.getpid(), i)])
        reqs = [json.loads(http_get(s.url + "/stats")[1])["requests"] for s in sups]
        print("\nsupplier requests: %s for %d searches x %d aggregators (1 per search expected)"
              % (reqs, args.searches, len(aggs)))
        return rc
    finally:
        c.close()


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="run the aggregator demo or its benchmark")
    sub = ap.add_subparsers(dest="cmd")
    d = sub.add_parser("demo", help="start everything and wait (the default)")
    d.add_argument("--port", type=int, default=8080)
    d.add_argument("--cache-port", type=int, default=0)
    b = sub.add_parser("bench", help="time searches and cache hits")
    b.add_argument("--searches", type=int, default=50)
    b.add_argument("--connections", type=int, default=32)
    b.add_argument("--seconds", type=float, default=5)
    b.add_argument("--aggregators", type=int, default=1)
    b.add_argument("--fast-ms", type=int, default=100)
    b.add_argument("--medium-ms", type=int, default=1000)
    b.add_argument("--slow-ms", type=int, default=3000)
    a = ap.parse_args()
    if a.cmd == "bench":
        sys.exit(bench(a))
    demo(getattr(a, "port", 8080), getattr(a, "cache_port", 0) or None,
         [("fast", "100-200"), ("medium", "800-1500"), ("slow", "2500-4000")])
