"""benchlib.py: what the bench/ scripts share.

Starting a server (respite or redis-server) on a free loopback port with no persistence and
pinned to one CPU; a tiny RESP client and a pipelined bulk loader; running redis-benchmark and
reading its latency distribution; /proc readings (CPU time to the nanosecond from schedstat,
resident memory); medians, ratios and markdown tables. Standard library only (the charts, in
chart.py, use python3-matplotlib when it is installed): the scripts run under Debian's
/usr/bin/python3.

Conventions: latencies are in milliseconds, CPU time in seconds, memory in bytes. A server
that does not answer, or a command it does not know, is reported, never raised past the
script: the harness exits 0 whenever it could measure, and non-zero only when it broke.
"""
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# SIGTERM unwinds like an exception so the scripts' finally blocks stop their servers.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(BENCH_DIR)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    """Progress goes to stderr so that stdout holds only the figures."""
    print(msg, file=sys.stderr, flush=True)


# ---- CPUs ----

def cpu_plan():
    """(server_cpu, load_cpu): different CPUs when two or more are usable, else (None, None)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2 and shutil.which("taskset"):
        return cpus[-1], cpus[0]
    return None, None


def pin_self(cpu):
    if cpu is not None:
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass


def taskset_prefix(cpu):
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


def machine_description():
    """One line: nproc, CPU model, memory, kernel."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return "%d CPUs (%s), %.1f GiB RAM, Linux %s" % (
        os.cpu_count() or 0, model, mem / 2**30, os.uname().release)


# ---- building respite ----

def build_respite(source_dir, build_dir):
    """Configure and build respite-server in Release. Returns the binary path or None."""
    log("building respite (Release) in %s" % build_dir)
    cmds = [["cmake", "-S", source_dir, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"],
            ["cmake", "--build", build_dir, "--target", "respite-server",
             "-j", str(os.cpu_count() or 1)]]
    for cmd in cmds:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            log(r.stdout[-3000:])
            log("respite build failed: %s" % " ".join(cmd))
            return None
    path = os.path.join(build_dir, "respite-server")
    return path if os.access(path, os.X_OK) else None


def resolve_servers(args):
    """Paths of the server under test and the baseline from the common options, or exit 2."""
    redis = args.redis or shutil.which("redis-server")
    if not redis:
        log("redis-server not found (apt-get install redis-server, or pass --redis PATH)")
        sys.exit(2)
    respite = args.respite
    if not respite:
        build_dir = args.build_dir or os.path.join(args.source, "build-release")
        respite = build_respite(args.source, build_dir)
        if not respite:
            log("cannot benchmark: respite did not build (pass --respite PATH for a prebuilt one)")
            sys.exit(2)
    if args.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # inherited by every child
        except OSError as e:
            log("--nice %d ignored: %s" % (args.nice, e))
    respite, redis = os.path.abspath(respite), os.path.abspath(redis)
    for p in (respite, redis):
        if not os.access(p, os.X_OK):
            log("not an executable: %s" % p)
            sys.exit(2)
    return respite, redis


def source_revision(source_dir):
    """The respite source's commit (with -dirty when the tree has changes), or 'unknown'."""
    try:
        r = subprocess.run(["git", "-C", source_dir, "describe", "--always", "--dirty"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           timeout=10)
        return r.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def add_common_options(ap):
    ap.add_argument("--respite", metavar="PATH",
                    help="prebuilt server under test (default: build it in Release)")
    ap.add_argument("--redis", metavar="PATH", help="baseline server (default: redis-server)")
    ap.add_argument("--source", default=SOURCE_DIR, help="respite source dir")
    ap.add_argument("--build-dir", help="build dir for the Release build "
                    "(default SOURCE/build-release)")
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness for the servers and load generators (e.g. -15 as root on "
                    "a shared machine, so other jobs disturb the figures less)")
    ap.add_argument("--out", help="directory for result files (default BUILD_DIR/bench-results "
                    "or a temporary directory)")


def out_dir(args):
    d = args.out
    if not d:
        base = args.build_dir or os.path.join(args.source, "build-release")
        d = os.path.join(base, "bench-results")
    try:
        os.makedirs(d, exist_ok=True)
    except OSError:
        d = tempfile.mkdtemp(prefix="respite-bench-")
    return d


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for st in self.streams:
            st.write(text)
        return len(text)

    def flush(self):
        for st in self.streams:
            st.flush()


def tee_markdown(args, name):
    """From now on, what the script prints (its markdown) also goes to OUT/<name>.md, beside
    the chart it draws (OUT/<name>.png). Returns the file's path."""
    path = os.path.join(out_dir(args), name + ".md")
    f = open(path, "w")
    sys.stdout = _Tee(sys.__stdout__, f)
    return path


# ---- servers and RESP: the plumbing shared with the integration tests ----
# tests/integration/harness.py starts and stops servers (free port, PING with a deadline,
# SIGTERM with a SIGKILL fallback) and speaks RESP; the bench adds CPU pinning, /proc
# readings and a reply decoder that reports instead of raising.

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
import harness  # noqa: E402

free_port = harness.free_port
encode = harness.encode


class Server(harness.Server):
    """One server process started with redis-server-style flags, no persistence, pinned
    to `cpu` when given. start() returns False (and logs why) instead of raising; it may
    be started again after stop()."""

    def __init__(self, name, binary, cpu=None, extra=()):
        super().__init__(binary=binary, args=extra, name=name)
        self.cpu = cpu

    def start_argv(self, attempt):
        return taskset_prefix(self.cpu) + super().start_argv(attempt)

    def start(self, timeout=None):
        self.stopped = False
        try:
            super().start()
            return True
        except harness.TestFailure as e:
            log("%s (%s) did not start: %s" % (self.name, self.binary, e))
            return False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def cpu_seconds(self):
        """CPU time of the whole process in seconds, to the nanosecond: the sum over its
        threads of /proc/PID/task/TID/schedstat's time on CPU (utime+stime from
        /proc/PID/stat counts in clock ticks, 10 ms, which a short run cannot resolve).
        Falls back to /proc/PID/stat where schedstat is missing."""
        return cpu_seconds_of(self.pid)

    def rss_bytes(self):
        """VmRSS from /proc/PID/status, in bytes."""
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except (OSError, TypeError):
            pass
        return float("nan")

    def client(self, timeout=30):
        return Client(self.port, timeout=timeout)

    def stop(self):
        """Stop it (a bench reports figures, so an unclean exit is logged, not raised)."""
        if self.proc is None:
            return
        problems = super().stop()
        if problems:
            log("\n".join(problems))
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class RespError(Exception):
    """An error reply (-ERR ...) or a protocol failure."""


def _bench_value(v):
    if isinstance(v, harness.RespError):
        return RespError(v.args[0])
    if isinstance(v, list):
        return [_bench_value(x) for x in v]
    return v


class Client(harness.Conn):
    """A blocking RESP2 client: call() sends one command and returns the decoded reply
    (a simple string as str, bulk strings as bytes); an error reply is returned as a
    RespError instance, not raised."""

    def __init__(self, port, timeout=30):
        super().__init__(port, timeout=timeout)

    def read_reply(self):
        try:
            raw = self.reply()
        except harness.ConnectionClosed:
            raise RespError("connection closed")
        except harness.TestFailure as e:
            raise RespError(str(e))
        if raw[:1] == b"+":
            return raw[1:-2].decode(errors="replace")
        return _bench_value(harness.decode(raw))

    def call(self, *args):
        self.send(encode(*args))
        return self.read_reply()


def supports(server, *cmd):
    """True when the server answers cmd with something other than an error."""
    try:
        c = server.client(timeout=10)
        r = c.call(*cmd)
        c.close()
        return not isinstance(r, RespError)
    except (OSError, RespError):
        return False


def info_field(client, section, field):
    """One field of INFO section as a string, or None."""
    info = client.call("INFO", section)
    if isinstance(info, bytes):
        m = re.search(rb"^" + field.encode() + rb":([^\r\n]*)", info, re.M)
        if m:
            return m.group(1).decode()
    return None


def wait_for(cond, timeout, step=0.05):
    """Poll cond() until it is true or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = cond()
        except (TypeError, ValueError):
            v = False
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def dbsize(client):
    """Number of keys: DBSIZE, or the sum of INFO keyspace's keys= fields."""
    r = client.call("DBSIZE")
    if isinstance(r, int):
        return r
    info = client.call("INFO", "keyspace")
    if isinstance(info, bytes):
        return sum(int(m) for m in re.findall(rb"keys=(\d+)", info))
    return -1


def bulk_load(port, chunks, timeout=600):
    """Send pre-encoded commands, each element of chunks being (bytes, command_count), on one
    connection while a thread reads the replies. Returns (replies, errors, first_error)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    state = {"replies": 0, "errors": 0, "first_error": None, "expected": None, "fail": None}
    done = threading.Event()

    def reader():
        buf = b""
        pos = 0
        pending_bulk = None
        try:
            while state["expected"] is None or state["replies"] < state["expected"]:
                data = sock.recv(1 << 20)
                if not data:
                    state["fail"] = "connection closed"
                    break
                buf = buf[pos:] + data
                pos = 0
                if (pending_bulk is None and b"$" not in buf and b"-" not in buf
                        and b"*" not in buf):
                    # Fast path: only one-line replies (+OK, :N): count lines.
                    end = buf.rfind(b"\r\n")
                    if end >= 0:
                        state["replies"] += buf.count(b"\r\n", 0, end + 2)
                        pos = end + 2
                    continue
                while True:
                    if pending_bulk is not None:
                        if len(buf) - pos < pending_bulk + 2:
                            break
                        pos += pending_bulk + 2
                        pending_bulk = None
                        state["replies"] += 1
                        continue
                    i = buf.find(b"\r\n", pos)
                    if i < 0:
                        break
                    t = buf[pos:pos + 1]
                    if t == b"$" and buf[pos + 1:pos + 2] != b"-":
                        pending_bulk = int(buf[pos + 1:i])
                        pos = i + 2
                        continue
                    if t == b"-":
                        state["errors"] += 1
                        if state["first_error"] is None:
                            state["first_error"] = buf[pos + 1:i].decode(errors="replace")
                    elif t == b"*":
                        state["fail"] = "unexpected array reply"
                        return
                    pos = i + 2
                    state["replies"] += 1
        except OSError as e:
            state["fail"] = str(e)
        finally:
            done.set()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    total = 0
    try:
        for data, count in chunks:
            sock.sendall(data)
            total += count
    except OSError as e:
        state["fail"] = str(e)
    state["expected"] = total
    if state["replies"] >= total:
        done.set()
    done.wait(timeout)
    sock.close()
    if state["fail"]:
        log("bulk load: %s" % state["fail"])
    return state["replies"], state["errors"], state["first_error"]


def template_chunks(template, start, count, per_chunk=10000):
    """Chunks for bulk_load from a bytes template with one %0Nd for the index (or none: the
    same command repeated)."""
    i = start
    end = start + count
    fixed = None if re.search(rb"%0\d+d", template) else template.replace(b"%%", b"%")
    while i < end:
        j = min(end, i + per_chunk)
        if fixed is not None:
            yield fixed * (j - i), j - i
        else:
            yield b"".join([template % k for k in range(i, j)]), j - i
        i = j


def cmd_template(*args):
    """encode() for a command one of whose arguments holds a %0Nd index placeholder: the
    length prefix is computed from the formatted width."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        m = re.search(rb"%0(\d+)d", a)
        n = len(a) - len(m.group(0)) + int(m.group(1)) if m else len(a)
        if not m:
            a = a.replace(b"%", b"%%")
        out.append(b"$%d\r\n%s\r\n" % (n, a))
    return b"".join(out)


# ---- redis-benchmark ----

_PCT = re.compile(r"([\d.]+)% <= ([\d.]+) milliseconds \(cumulative count (\d+)\)")


def parse_benchmark(text):
    """Figures from redis-benchmark 7's human output (run without -q/--csv: its CSV has p50,
    p95, p99 and max but no p99.9). Returns a dict or None."""
    text = text.replace("\r", "\n")
    res = {}
    m = re.search(r"(\d+) requests completed in ([\d.]+) seconds", text)
    if m:
        res["requests"] = int(m.group(1))
        res["seconds"] = float(m.group(2))
    m = re.search(r"throughput summary: ([\d.]+) requests per second", text)
    if not m:
        return None
    res["rps"] = float(m.group(1))
    m = re.search(r"avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)"
                  r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", text)
    if m:
        (res["avg"], res["min"], res["p50"], res["p95"], res["p99"],
         res["max"]) = (float(x) for x in m.groups())
    points = sorted({(float(lat), int(cnt)) for _pct, lat, cnt in _PCT.findall(text)})
    total = res.get("requests") or (points[-1][1] if points else 0)
    if points and total:
        need = math.ceil(total * 0.999)
        res["p999"] = next((lat for lat, cnt in points if cnt >= need), points[-1][0])
    return res


def run_benchmark(port, command, requests, clients=50, pipeline=1, keyspace=None,
                  cpu=None, timeout=900, extra=()):
    """Run one redis-benchmark workload. command: a list (a custom command line) or
    ("-t", name). Returns the parse_benchmark dict (or None on failure)."""
    cmd = taskset_prefix(cpu) + [
        "redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients),
        "-n", str(requests), "-P", str(pipeline), "--precision", "3"]
    if keyspace:
        cmd += ["-r", str(keyspace)]
    cmd += list(extra) + list(command)
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        log("redis-benchmark timed out after %ds" % timeout)
        return None
    text = r.stdout.decode(errors="replace")
    res = parse_benchmark(text)
    if res is None:
        log("redis-benchmark gave no figures (exit %d): %s" % (r.returncode, text[-500:]))
    return res


def measured_run(server, command, requests, **kw):
    """run_benchmark plus the server's CPU time for it: adds cpu_us (per request)."""
    c0 = server.cpu_seconds()
    res = run_benchmark(server.port, command, requests, **kw)
    c1 = server.cpu_seconds()
    if res:
        n = res.get("requests") or requests
        res["cpu_s"] = c1 - c0
        res["cpu_us"] = (c1 - c0) / n * 1e6
    return res


def cpu_seconds_of(pid):
    """A process's CPU seconds: schedstat (ns) summed over its threads, else /proc/PID/stat."""
    try:
        total = 0
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError, TypeError):
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, TypeError):
        return float("nan")


# ---- statistics and tables ----

def median(xs):
    xs = sorted(x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x)))
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def ratio(a, b):
    if a is None or b is None or b == 0 or (isinstance(a, float) and math.isnan(a)):
        return None
    return a / b


def fmt(x, digits=2):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and abs(x) >= 1000:
        return "{:,.0f}".format(x)
    return "%.*f" % (digits, x)


def mark(value, limit, higher_is_better=False):
    """'met' or 'NOT met' for a ratio against a target, '?' when unmeasured."""
    if value is None:
        return "?"
    ok = value >= limit if higher_is_better else value <= limit
    return "met" if ok else "NOT met"


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines)


def value_bytes(size, seed=1):
    """A printable value of exactly size bytes (no % so it can go into templates)."""
    rnd = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rnd.choice(alphabet) for _ in range(size))
