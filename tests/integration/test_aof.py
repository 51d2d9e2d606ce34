#!/usr/bin/python3
"""test_aof.py: the append-only file (server/aof.c) against Redis 7.0.15's own.

- Round trips: test_propagation.py's every-write-command workload runs on respite with
  appendonly yes (with a BGREWRITEAOF in the middle, so a base file and incr files are
  both involved); redis-server started on respite's appendonly dir, and respite started
  on it again, must hold the same dataset (every key's type, value, PEXPIRETIME, stream
  groups with their pending entries). The other way: redis-server's appendonly dir
  (AOF-format base) loaded by respite. redis-check-aof passes on respite's manifest.
- The layout: the manifest lines exactly as Redis writes them, SELECT and MULTI/EXEC in
  the incr file, history files deleted after a rewrite, INFO persistence's aof_* fields.
- Crash safety: kill -9 under a write load with appendfsync always loses no
  acknowledged write; with everysec only writes acknowledged in the last ~3 s may go;
  a torn last record is cut and logged with aof-load-truncated yes and refused with no;
  a corrupt file or manifest is refused with a message and a non-zero exit; kill -9 of
  the server or of the rewrite child during BGREWRITEAOF leaves loadable files; a full
  disk (a 1 MB tmpfs, when mount is permitted) gives MISCONF errors, recovers when space
  comes back, and never leaves a corrupt file.
- CONFIG SET appendonly yes/no at run time.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, RespError, TestFailure, check, eq, wait_until  # noqa: E402
from test_propagation import Tracking, diff, every_write_command, snapshot, write_commands  # noqa: E402

RESPITE = harness.server_binary()
IS_RESPITE = not harness.is_oracle_under_test()


def need_redis():
    if not os.access(harness.ORACLE_BINARY, os.X_OK):
        pytest.skip("needs Debian's redis-server (apt-get install redis-server)")


class AofServer(harness.Server):
    """A server whose dir is a given directory (so a second server can start on the
    files the first left), with appendonly yes unless told otherwise."""

    def __init__(self, d, args=(), binary=None, name=None):
        super().__init__(binary=binary, args=["--dir", d, "--appendonly", "yes"] + list(args), name=name)
        self.data = d

    def pid(self):
        return self.proc.pid

    def log(self):
        return self.output()


def start(d, args=(), binary=None):
    name = "redis-server" if binary == harness.ORACLE_BINARY else None
    return AofServer(d, args, binary=binary, name=name).start()


def stop_ok(srv):
    problems = srv.stop()
    check(not problems, "shutdown of %s: %s" % (srv.name, "\n".join(problems)))


def info(c, section="persistence"):
    out = {}
    for line in c.call("INFO", section).decode().split("\r\n"):
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def manifest(d):
    with open(os.path.join(d, "appendonlydir", "appendonly.aof.manifest"), "rb") as f:
        return f.read().decode()


def manifest_files(d):
    return re.findall(r"^file (\S+) seq (\d+) type ([bhi])$", manifest(d), re.M)


def last_incr(d):
    incr = [f for f, _, t in manifest_files(d) if t == "i"]
    return os.path.join(d, "appendonlydir", incr[-1])


def rewrite_done(c):
    i = info(c)
    return i["aof_rewrite_in_progress"] == "0" and i["aof_rewrite_scheduled"] == "0"


def bgrewrite(c):
    r = c.call("BGREWRITEAOF")
    check(not isinstance(r, RespError), "BGREWRITEAOF: %s" % r)
    wait_until(lambda: rewrite_done(c), 60, "the rewrite to finish")
    eq(info(c)["aof_last_bgrewrite_status"], "ok", "aof_last_bgrewrite_status")


def tmpdir():
    return tempfile.mkdtemp(prefix="respite-aof-")


def run_to_exit(d, args, deadline=60):
    """Start the server under test expecting it to refuse to start: (status, output)."""
    argv = [RESPITE, "--port", str(harness.free_port()), "--bind", "127.0.0.1", "--save", "", "--dir", d,
            "--appendonly", "yes"] + list(args)
    p = subprocess.run(argv, cwd=d, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=deadline)
    out = p.stdout.decode(errors="replace")
    for m in harness.SANITIZER_MARKERS:
        check(m not in out, "sanitizer report:\n%s" % out[-4000:])
    return p.returncode, out


def check_aof_tool(d):
    harness.need_program("redis-check-aof", "redis-tools")
    p = subprocess.run(["redis-check-aof", os.path.join(d, "appendonlydir", "appendonly.aof.manifest")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    check(p.returncode == 0 and "is valid" in out, "redis-check-aof on respite's files:\n%s" % out)


# ---------------------------------------------------------------- round trips

def test_round_trip_every_write_command():
    """respite's files, loaded by redis-server and by respite, give the same dataset."""
    need_redis()
    d = tmpdir()
    srv = start(d, ["--appendfsync", "always"])
    try:
        used = set()
        t = Tracking(srv.port, used)
        c2 = Conn(srv.port)
        t.ok("SET", "before", "flushall")
        t.ok("FLUSHALL")
        every_write_command(t, c2)
        c2.close()
        bgrewrite(t.c)  # a base with every type in it
        # and more after the rewrite, into the new incr file
        t.ok("SELECT", 2)
        t.ok("SET", "after", "rewrite", "EX", 100000)
        t.ok("XADD", "s2", "1-1", "f", "v")
        t.ok("XGROUP", "CREATE", "s2", "g", "0")
        t.ok("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s2", ">")
        t.ok("SELECT", 0)
        want = snapshot(t.c)
        nstreams = sum(1 for v in want.values() for ty, _, _ in v.values() if ty == b"stream")
        check(nstreams >= 2, "the workload leaves streams")
        t.c.close()
    finally:
        stop_ok(srv)
    check_aof_tool(d)
    files = manifest_files(d)
    check(any(t == "b" for _, _, t in files) and any(t == "i" for _, _, t in files),
          "manifest names a base and an incr file: %r" % files)
    for binary in (harness.ORACLE_BINARY, RESPITE):
        srv = start(d, binary=binary)
        try:
            c = Conn(srv.port)
            got = snapshot(c)
            c.close()
            if got != want:
                raise TestFailure("%s loading respite's AOF differs:\n%s" % (srv.name, diff(want, got, "written",
                                                                                             srv.name)))
        finally:
            stop_ok(srv)
    shutil.rmtree(d, ignore_errors=True)


def populate(c):
    """A small dataset of every type, encodings big and small, TTLs, a stream with
    groups, pending entries, an empty consumer and deleted entries."""
    c.call("SET", "s:int", "12345")
    c.call("SET", "s:raw", "x" * 100)
    c.call("SET", "s:ttl", "v", "PX", 100000000)
    c.call("RPUSH", "l:small", "a", "1", "b")
    c.call("RPUSH", "l:big", *["e%d" % i for i in range(300)])
    c.call("SADD", "set:int", 1, 2, 3)
    c.call("SADD", "set:str", *["m%d" % i for i in range(200)])
    c.call("ZADD", "z:small", 1.5, "a", "-inf", "b", 3, "c")
    c.call("ZADD", "z:big", *[x for i in range(200) for x in (i * 0.25, "m%d" % i)])
    c.call("HSET", "h:small", "f", "v", "n", "1")
    c.call("HSET", "h:big", *[x for i in range(600) for x in ("f%d" % i, "v%d" % i)])
    c.call("EXPIRE", "h:big", 100000)
    for i in range(1, 6):
        c.call("XADD", "x", "%d-1" % i, "f", "v%d" % i, "g", "w")
    c.call("XDEL", "x", "2-1")
    c.call("XGROUP", "CREATE", "x", "g1", "0")
    c.call("XGROUP", "CREATE", "x", "g2", "$", "ENTRIESREAD", "5")
    c.call("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "x", ">")
    c.call("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "1", "STREAMS", "x", ">")
    c.call("XGROUP", "CREATECONSUMER", "x", "g1", "carol")
    c.call("XADD", "xe", "5-5", "f", "v")
    c.call("XDEL", "xe", "5-5")
    c.call("XGROUP", "CREATE", "xe", "g", "$")
    c.call("SELECT", 9)
    c.call("SET", "other", "db")
    c.call("SELECT", 0)


@pytest.mark.parametrize("preamble", ["no", "yes"])
def test_redis_files_load_into_respite(preamble):
    """redis-server's appendonly dir (base + incr) loads into respite."""
    need_redis()
    d = tmpdir()
    ora = start(d, ["--aof-use-rdb-preamble", preamble], binary=harness.ORACLE_BINARY)
    try:
        c = Conn(ora.port)
        populate(c)
        bgrewrite(c)
        c.call("SET", "after", "rewrite")
        c.call("XREADGROUP", "GROUP", "g1", "carol", "STREAMS", "x", ">")
        c.close()
    finally:
        stop_ok(ora)
    # what redis-server itself rebuilds from its files (XREADGROUP's propagation does
    # not carry a group's entries-read, so that is what a reload gives on Redis too)
    ora = start(d, binary=harness.ORACLE_BINARY)
    try:
        c = Conn(ora.port)
        want = snapshot(c)
        c.close()
    finally:
        stop_ok(ora)
    srv = start(d)
    try:
        c = Conn(srv.port)
        got = snapshot(c)
        c.close()
        if got != want:
            raise TestFailure("respite loading redis-server's AOF differs:\n%s" % diff(want, got, "redis", "respite"))
    finally:
        stop_ok(srv)
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("preamble", ["no", "yes"])
def test_rewrite_base_round_trip(preamble):
    """A base written by BGREWRITEAOF (every type's aof_rewrite slot) loads into
    redis-server and respite to the same dataset."""
    need_redis()
    d = tmpdir()
    srv = start(d, ["--aof-use-rdb-preamble", preamble])
    try:
        c = Conn(srv.port)
        populate(c)
        bgrewrite(c)
        want = snapshot(c)
        c.close()
    finally:
        stop_ok(srv)
    check_aof_tool(d)
    for binary in (harness.ORACLE_BINARY, RESPITE):
        s = start(d, binary=binary)
        try:
            c = Conn(s.port)
            got = snapshot(c)
            c.close()
            if got != want:
                raise TestFailure("%s loading the rewritten AOF differs:\n%s" % (s.name, diff(want, got, "written",
                                                                                             s.name)))
        finally:
            stop_ok(s)
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- layout and status

def test_layout_manifest_and_info():
    d = tmpdir()
    srv = start(d, ["--aof-use-rdb-preamble", "no"])
    try:
        c = Conn(srv.port)
        eq(manifest(d), "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
           "the manifest at start-up")
        i = info(c)
        eq((i["aof_enabled"], i["aof_rewrite_in_progress"], i["aof_last_write_status"], i["aof_last_bgrewrite_status"]),
           ("1", "0", "ok", "ok"), "INFO aof_* at start")
        c.call("SET", "a", "1")
        c.call("SELECT", 3)
        c.call("MULTI")
        c.call("SET", "b", "2", "EX", "100")
        c.call("INCR", "n")
        c.call("EXEC")
        with open(last_incr(d), "rb") as f:
            raw = f.read()
        check(raw.startswith(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
                             b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*1\r\n$5\r\nMULTI\r\n"), "incr file: %r" % raw)
        check(re.search(rb"\*5\r\n\$3\r\nSET\r\n\$1\r\nb\r\n\$1\r\n2\r\n\$4\r\nPXAT\r\n\$13\r\n\d{13}\r\n", raw),
              "SET EX is appended as SET PXAT: %r" % raw)
        check(raw.endswith(b"*1\r\n$4\r\nEXEC\r\n"), "the transaction ends with EXEC: %r" % raw)
        eq(int(info(c)["aof_current_size"]), os.path.getsize(last_incr(d)), "aof_current_size (empty base)")
        bgrewrite(c)
        eq(manifest(d), "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
           "the manifest after a rewrite")
        eq(sorted(os.listdir(os.path.join(d, "appendonlydir"))),
           ["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"],
           "history files deleted")
        i = info(c)
        eq(i["aof_rewrites"], "1", "aof_rewrites")
        eq(i["aof_base_size"], str(os.path.getsize(os.path.join(d, "appendonlydir", "appendonly.aof.2.base.aof"))),
           "aof_base_size")
        check(glob.glob(os.path.join(d, "temp-*")) == [], "no temp file left")
        eq(c.call("CONFIG", "GET", "appendfsync"), [b"appendfsync", b"everysec"], "appendfsync default")
        c.close()
    finally:
        stop_ok(srv)
    shutil.rmtree(d, ignore_errors=True)


def test_config_set_appendonly_at_run_time():
    d = tmpdir()
    srv = start(d, ["--appendonly", "no"])
    try:
        c = Conn(srv.port)
        c.call("SET", "k1", "before")
        c.call("HSET", "h", "f", "v")
        check(not os.path.exists(os.path.join(d, "appendonlydir")), "no AOF dir while appendonly is no")
        eq(info(c)["aof_enabled"], "0", "aof_enabled")
        eq(c.call("CONFIG", "SET", "appendonly", "yes"), b"OK", "CONFIG SET appendonly yes")
        wait_until(lambda: rewrite_done(c) and info(c)["aof_enabled"] == "1", 60, "the base to be written")
        c.call("SET", "k2", "during")
        files = manifest_files(d)
        eq([t for _, _, t in files], ["b", "i"], "manifest after turning the AOF on: %r" % files)
        c.call("SET", "k3", "after")
        eq(c.call("CONFIG", "SET", "appendonly", "no"), b"OK", "CONFIG SET appendonly no")
        eq(info(c)["aof_enabled"], "0", "aof_enabled after no")
        c.call("SET", "k4", "not in the file")
        c.close()
    finally:
        srv.proc.kill()
        srv.proc.wait()
        srv.stopped = True
    srv = start(d)
    try:
        c = Conn(srv.port)
        eq([c.call("GET", k) for k in ("k1", "k2", "k3", "k4")], [b"before", b"during", b"after", None],
           "keys after a restart")
        eq(c.call("HGET", "h", "f"), b"v", "the hash from before the AOF was on")
        c.close()
    finally:
        stop_ok(srv)
    shutil.rmtree(d, ignore_errors=True)


def test_bgrewriteaof_replies():
    d = tmpdir()
    srv = start(d, ["--rdb-key-save-delay", "100000", "--aof-use-rdb-preamble", "no"])
    try:
        c = Conn(srv.port)
        for i in range(20):
            c.call("SET", "k%d" % i, i)
        eq(c.call("BGREWRITEAOF"), b"Background append only file rewriting started", "BGREWRITEAOF")
        r = c.call("BGREWRITEAOF")
        check(isinstance(r, RespError) and str(r) == "ERR Background append only file rewriting already in progress",
              "a second BGREWRITEAOF: %r" % r)
        eq(info(c)["aof_rewrite_in_progress"], "1", "aof_rewrite_in_progress")
        c.call("CONFIG", "SET", "rdb-key-save-delay", "0")
        wait_until(lambda: rewrite_done(c), 60, "the rewrite")
        c.close()
    finally:
        stop_ok(srv)
    shutil.rmtree(d, ignore_errors=True)


def test_shutdown_refused_while_first_base_is_written():
    """As Redis 7.0: SHUTDOWN (and SIGTERM) while the first base file after CONFIG SET
    appendonly yes is still being written is refused, the server keeps serving; SHUTDOWN
    FORCE exits anyway. rdb-key-save-delay slows the (command-format) base writer."""
    need_redis()
    replies = {}
    for binary in (RESPITE, harness.ORACLE_BINARY):
        d = tmpdir()
        srv = start(d, ["--appendonly", "no", "--aof-use-rdb-preamble", "no", "--rdb-key-save-delay", "200000"],
                    binary=binary)
        try:
            c = Conn(srv.port)
            for i in range(50):
                c.call("SET", "k%d" % i, i)
            got = [c.cmd("CONFIG", "SET", "appendonly", "yes"), c.cmd("SHUTDOWN"), c.cmd("SHUTDOWN", "NOSAVE")]
            srv.proc.send_signal(signal.SIGTERM)
            wait_until(lambda: srv.log().count("Writing initial AOF, can't exit.") == 3, 20,
                       "%s: the refused SIGTERM logged" % srv.name)
            got.append(c.cmd("PING"))
            got.append(c.cmd("INFO", "persistence").count(b"aof_rewrite_in_progress:1"))
            replies[srv.name] = got
            log = srv.log()
            check("Errors trying to shut down the server. Check the logs for more information." in log,
                  "%s: the summary line in the log" % srv.name)
            try:
                c.cmd("SHUTDOWN", "FORCE")  # no reply: the connection closes
            except harness.ConnectionClosed:
                pass
            srv.proc.wait(20)
            srv.stopped = True
            eq(srv.proc.returncode, 0, "%s: exit status after SHUTDOWN FORCE" % srv.name)
            check("Writing initial AOF. Exit anyway." in srv.log(), "%s: FORCE logged" % srv.name)
            c.close()
        finally:
            if not srv.stopped:
                srv.proc.kill()
                srv.proc.wait()
                srv.stopped = True
            shutil.rmtree(d, ignore_errors=True)
    r, o = replies.values()
    eq(r, o, "replies (respite, redis-server)")
    eq(r[1], b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n", "SHUTDOWN's error")


def ts_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    return data, [int(t) for t in re.findall(rb"^#TS:(\d+)\r\n", data, re.M)]


def test_timestamp_annotations():
    """aof-timestamp-enabled yes, as Redis 7.0: a #TS:<unix time> line before the first
    command of each second in the incr file (MULTI included) and at the top of a command-format base; each
    server loads the other's annotated files to the same dataset; redis-check-aof passes."""
    need_redis()
    for binary, other in ((RESPITE, harness.ORACLE_BINARY), (harness.ORACLE_BINARY, RESPITE)):
        d = tmpdir()
        # appendfsync always: everysec may hold a write back while an fsync runs
        srv = start(d, ["--aof-timestamp-enabled", "yes", "--aof-use-rdb-preamble", "no", "--appendfsync", "always"],
                    binary=binary)
        try:
            c = Conn(srv.port)
            t0 = int(time.time())
            c.call("SET", "a", "1")
            c.call("SELECT", "3")
            c.call("RPUSH", "l", "x", "y")
            wait_until(lambda: int(time.time()) > t0, 5, "the next second")
            c.call("MULTI")
            c.call("INCR", "n")
            c.call("HSET", "h", "f", "v")
            c.call("EXEC")
            data, ts = ts_lines(last_incr(d))
            # (no #TS before SET a when the start-up base was annotated in the same second)
            check(len(ts) >= 1 and data.find(b"#TS:%d\r\n*1\r\n$5\r\nMULTI" % ts[-1]) >= 0 and ts == sorted(set(ts)) and ts[0] >= t0 - 1 and ts[-1] <= time.time() + 1,
                  "%s: #TS lines, one a second, increasing: %r" % (srv.name, ts))
            eq(len(data.split(b"#TS:")), len(ts) + 1, "%s: #TS only at line starts" % srv.name)
            bgrewrite(c)
            base = [f for f, _, t in manifest_files(d) if t == "b"][0]
            data, ts = ts_lines(os.path.join(d, "appendonlydir", base))
            check(data.startswith(b"#TS:") and len(ts) == 1, "%s: the base's annotation: %r" % (srv.name, data[:60]))
            c.call("SET", "after", "rewrite")
            want = snapshot(c)
            c.close()
        finally:
            stop_ok(srv)
        if binary == RESPITE:
            check_aof_tool(d)
        srv = start(d, binary=other)
        try:
            c = Conn(srv.port)
            got = snapshot(c)
            c.close()
            if got != want:
                raise TestFailure("%s loading annotated files differs:\n%s" % (srv.name, diff(want, got, "before", "after")))
        finally:
            stop_ok(srv)
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- crash safety

def write_load(port, stop, acked, nconn=3):
    """nconn writers SET w<conn>:<i> <i> until stop is set or the server dies; acked
    gets (key, ack time) for every +OK received."""
    def writer(n):
        try:
            c = Conn(port, timeout=10)
            i = 0
            while not stop.is_set():
                k = "w%d:%d" % (n, i)
                r = c.cmd("SET", k, i)
                if r != b"+OK\r\n":
                    return
                acked.append((k, time.monotonic()))
                i += 1
        except Exception:
            return
    ts = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(nconn)]
    for t in ts:
        t.start()
    return ts


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_kill9_under_write_load(policy):
    d = tmpdir()
    srv = start(d, ["--appendfsync", policy])
    stop, acked = threading.Event(), []
    ts = write_load(srv.port, stop, acked)
    wait_until(lambda: len(acked) > 300, 60, "writes to be acknowledged")
    killed_at = time.monotonic()
    os.kill(srv.pid(), signal.SIGKILL)
    srv.proc.wait()
    srv.stopped = True
    stop.set()
    for t in ts:
        t.join(10)
    srv = start(d)
    try:
        c = Conn(srv.port)
        got = {}
        keys = [k for k, _ in acked]
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            got.update(zip(chunk, c.call("MGET", *chunk)))
        lost = [(k, t) for k, t in acked if got[k] is None]
        if policy == "always":
            check(not lost, "%d of %d acknowledged writes lost under appendfsync always: %r"
                  % (len(lost), len(acked), lost[:5]))
        else:
            # as Redis, a write waits for a running fsync up to 2 s (counted in whole
            # seconds, so up to 3) before it is made anyway
            old = [(k, t) for k, t in lost if t < killed_at - 3.0]
            check(not old, "writes acknowledged more than 3 s before the kill were lost: %r" % old[:5])
        for k, v in got.items():
            if v is not None:
                eq(v, k.split(":")[1].encode(), "value of %s" % k)
        print("  %s: %d acknowledged writes, %d lost" % (policy, len(acked), len(lost)))
        c.close()
    finally:
        stop_ok(srv)
    shutil.rmtree(d, ignore_errors=True)


def test_torn_tail():
    d = tmpdir()
    srv = start(d)
    c = Conn(srv.port)
    c.call("SET", "a", "1")
    c.call("RPUSH", "l", "x", "y")
    c.close()
    stop_ok(srv)
    path = last_incr(d)
    size = os.path.getsize(path)
    torn = b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$5\r\nhal"
    with open(path, "ab") as f:
        f.write(torn)
    # refused with aof-load-truncated no, the file untouched
    status, out = run_to_exit(d, ["--aof-load-truncated", "no"])
    check(status != 0, "start-up with a torn tail and aof-load-truncated no must fail")
    check("Unexpected end of file reading the append only file" in out, "the refusal is logged:\n%s" % out[-2000:])
    eq(os.path.getsize(path), size + len(torn), "the file is left as it was")
    # cut and reported with yes
    srv = start(d)
    try:
        log = srv.log()
        check("!!! Warning: short read while loading the AOF file" in log and "Truncating the AOF" in log and
              "loaded anyway because aof-load-truncated is enabled" in log, "truncation logged:\n%s" % log[-2000:])
        eq(os.path.getsize(path), size, "the torn record is cut off")
        c = Conn(srv.port)
        eq((c.call("GET", "a"), c.call("LRANGE", "l", 0, -1), c.call("EXISTS", "b")), (b"1", [b"x", b"y"], 0),
           "the data before the torn record")
        c.call("SET", "c", "3")
        c.close()
    finally:
        stop_ok(srv)
    check_aof_tool(d)
    # a transaction cut before its EXEC is left out entirely
    with open(path, "ab") as f:
        f.write(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nd\r\n$1\r\n4\r\n")
    srv = start(d)
    try:
        c = Conn(srv.port)
        eq((c.call("GET", "c"), c.call("EXISTS", "d")), (b"3", 0), "an unfinished transaction is reverted")
        c.close()
    finally:
        stop_ok(srv)
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("damage", ["bad-command", "garbage", "unknown-command", "bad-manifest", "missing-file"])
def test_corrupt_files_refused(damage):
    d = tmpdir()
    srv = start(d)
    c = Conn(srv.port)
    for i in range(20):
        c.call("SET", "k%d" % i, "v%d" % i)
    c.close()
    stop_ok(srv)
    path = last_incr(d)
    with open(path, "rb") as f:
        raw = f.read()
    if damage == "bad-command":
        raw = raw.replace(b"*3\r\n$3\r\nSET\r\n$2\r\nk5", b"*3\r\n$3\r\nSET\r\n$9\r\nk5", 1)
        want = "Bad file format reading the append only file"
    elif damage == "garbage":
        raw = raw[:100] + b"\x00garbage\x01" + raw[100:]
        want = "Bad file format reading the append only file"
    elif damage == "unknown-command":
        raw = raw + b"*1\r\n$7\r\nNOSUCHC\r\n"
        want = "Unknown command 'NOSUCHC' reading the append only file"
    elif damage == "bad-manifest":
        with open(os.path.join(d, "appendonlydir", "appendonly.aof.manifest"), "w") as f:
            f.write("file appendonly.aof.1.base.aof seq 1\n")
        want = "Invalid AOF manifest file format"
    else:
        os.unlink(path)
        want = "can't open the append log file"
    if damage not in ("bad-manifest", "missing-file"):
        with open(path, "wb") as f:
            f.write(raw)
    status, out = run_to_exit(d, [])
    check(status != 0, "start-up on a damaged AOF (%s) must fail, got %d" % (damage, status))
    check(want in out, "the message %r in:\n%s" % (want, out[-3000:]))
    shutil.rmtree(d, ignore_errors=True)


def child_pids(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


@pytest.mark.parametrize("victim", ["child", "server"])
def test_kill9_during_rewrite(victim):
    d = tmpdir()
    # rdb-key-save-delay slows the command-format writer (the RDB writer has no delay)
    srv = start(d, ["--rdb-key-save-delay", "2000", "--aof-use-rdb-preamble", "no"])
    c = Conn(srv.port)
    for i in range(300):
        c.call("SET", "k%d" % i, "v%d" % i)
    before = manifest(d)
    eq(c.call("BGREWRITEAOF"), b"Background append only file rewriting started", "BGREWRITEAOF")
    kids = wait_until(lambda: child_pids(srv.pid()), 10, "the rewrite child")
    c.call("SET", "during", "rewrite")
    if victim == "child":
        os.kill(kids[0], signal.SIGKILL)
        wait_until(lambda: rewrite_done(c), 30, "the parent to reap the child")
        eq(info(c)["aof_last_bgrewrite_status"], "err", "aof_last_bgrewrite_status after a killed child")
        check(glob.glob(os.path.join(d, "temp-rewriteaof-bg-*")) == [], "the child's temp file is removed")
        c.call("SET", "after", "kill")
        c.close()
        stop_ok(srv)
    else:
        os.kill(srv.pid(), signal.SIGKILL)
        srv.proc.wait()
        srv.stopped = True
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        c.close()
    files = manifest_files(d)
    check([f for f, _, t in files if t == "b"] == re.findall(r"file (\S+) seq \d+ type b", before),
          "the base file is still the old one: %r" % files)
    for f, _, _ in files:
        check(os.path.exists(os.path.join(d, "appendonlydir", f)), "%s named by the manifest exists" % f)
    srv = start(d)
    try:
        c = Conn(srv.port)
        eq(c.call("DBSIZE"), 301 + (victim == "child"), "every key after the restart")
        eq(c.call("GET", "during"), b"rewrite", "the write made during the rewrite")
        c.close()
    finally:
        stop_ok(srv)
    check_aof_tool(d)
    shutil.rmtree(d, ignore_errors=True)


def test_full_disk():
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    d = tmpdir()
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % r.stdout.decode(errors="replace").strip())
    try:
        with open(os.path.join(mnt, "filler"), "wb") as f:
            f.write(b"\0" * 300000)
        srv = start(mnt, ["--aof-use-rdb-preamble", "no"])
        try:
            c = Conn(srv.port)
            acked, err = [], None
            for i in range(400):
                r = c.call("SET", "k%d" % i, "x" * 10000)
                if isinstance(r, RespError):
                    err = str(r)
                    break
                acked.append(i)
            check(err is not None, "writes must fail once the disk is full")
            check(err.startswith("MISCONF Errors writing to the AOF file: No space left on device"),
                  "the error text: %r" % err)
            eq(info(c)["aof_last_write_status"], "err", "aof_last_write_status")
            r = c.call("PING")
            check(isinstance(r, RespError) and str(r).startswith("MISCONF"), "PING while writes fail: %r" % r)
            eq(c.call("GET", "k0"), b"x" * 10000, "reads still work")
            r = c.call("BGREWRITEAOF")
            wait_until(lambda: rewrite_done(c), 30, "the failing rewrite")
            eq(info(c)["aof_last_bgrewrite_status"], "err", "a rewrite on a full disk fails")
            check(glob.glob(os.path.join(mnt, "temp-*")) == [], "no temp file left on the full disk")
            os.unlink(os.path.join(mnt, "filler"))
            wait_until(lambda: info(c)["aof_last_write_status"] == "ok", 10, "the AOF to recover")
            eq(c.call("SET", "final", "1"), b"OK", "writes work again")
            c.close()
        finally:
            stop_ok(srv)
        check_aof_tool(mnt)
        copy = os.path.join(d, "copy")
        shutil.copytree(mnt, copy)
        srv = start(copy)
        try:
            c = Conn(srv.port)
            for i in acked:
                eq(c.call("STRLEN", "k%d" % i), 10000, "acknowledged k%d after the restart" % i)
            eq(c.call("GET", "final"), b"1", "the write after recovery")
            c.close()
        finally:
            stop_ok(srv)
    finally:
        subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(d, ignore_errors=True)
