"""test_loading.py: clients connecting while the dataset loads at start-up, as Redis 7.0.

The listeners open before the RDB file loads: commands not flagged `loading` get
-LOADING (byte-identical to redis-server on the same file), INFO persistence shows
loading:1 and the loading_* fields, redis-py raises BusyLoadingError and a retry after
the load succeeds; SHUTDOWN and SIGTERM during the load exit cleanly without saving.

The file is written here (two million string keys, so the load lasts most of a second
or more) and each server starts on its own hard link of it.
"""

import os
import shutil
import signal
import struct
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Conn, eq  # noqa: E402

NKEYS = 2_000_000
USED_MEM = 123456789
LOADING = b"-LOADING Redis is loading the dataset in memory\r\n"


def _len(n):
    return bytes([n]) if n < 64 else struct.pack(">BH", 0x40 | (n >> 8), n & 0xFF)


def _s(b):
    return _len(len(b)) + b


@pytest.fixture(scope="module")
def rdb(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("loading") / "dump.rdb")
    head = b"REDIS0009" + b"\xfa" + _s(b"used-mem") + _s(str(USED_MEM).encode())
    head += b"\xfe\x00"
    body = b"".join(b"\x00" + _s(b"k:%d" % i) + _s(b"v%d" % i) for i in range(NKEYS))
    with open(path, "wb") as f:
        f.write(head + body + b"\xff" + b"\0" * 8)  # a zero checksum is not checked
    return path


class LoadingServer(harness.Server):
    """A server started on a copy of `rdb`, ready as soon as its port accepts."""

    def __init__(self, binary, rdb, extra=(), aof=False):
        extra = list(extra) + (["--appendonly", "yes"] if aof else [])
        super().__init__(binary=binary, args=extra, name=os.path.basename(binary))
        self.rdb = rdb
        self.aof = aof

    def start_argv(self, attempt):
        """dump.rdb, or with aof an AOF whose base is the RDB file and whose incr file
        sets one more key."""
        dst = os.path.join(self.dir, "dump.rdb")
        if self.aof:
            d = os.path.join(self.dir, "appendonlydir")
            os.makedirs(d, exist_ok=True)
            dst = os.path.join(d, "appendonly.aof.1.base.rdb")
            with open(os.path.join(d, "appendonly.aof.1.incr.aof"), "wb") as f:
                f.write(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$4\r\nincr\r\n$1\r\n1\r\n")
            with open(os.path.join(d, "appendonly.aof.manifest"), "wb") as f:
                f.write(b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                        b"file appendonly.aof.1.incr.aof seq 1 type i\n")
        if not os.path.exists(dst):
            try:
                os.link(self.rdb, dst)
            except OSError:
                shutil.copyfile(self.rdb, dst)
        return super().start_argv(attempt)

    def _probe(self):
        Conn(self.port, timeout=2.0).close()
        return True, ""


def persistence(c):
    raw = c.cmd("INFO", "persistence")
    text = raw.split(b"\r\n", 1)[1].decode()
    fields = [ln.split(":", 1) for ln in text.split("\r\n") if ln and not ln.startswith("#")]
    return fields


def wait_loaded(srv, deadline=120.0):
    end = time.monotonic() + deadline
    with srv.conn() as c:
        while time.monotonic() < end:
            if dict(persistence(c)).get("loading") == "0":
                return
            time.sleep(0.02)
    pytest.fail("%s still loading after %.0fs" % (srv.name, deadline))


def observe_loading(srv):
    """What a client sees during the load: GET and PING replies, INFO persistence."""
    with srv.conn() as c:
        get = c.cmd("GET", "k:1")
        ping = c.cmd("PING")
        info = persistence(c)
    assert get == LOADING, "%s: GET during loading replied %r" % (srv.name, get)
    return get, ping, info


def loading_fields(info):
    return [k for k, _ in info if k.startswith("loading_")]


def check_debug_reload(srv):
    """As Redis, DEBUG RELOAD serves the other clients -LOADING during its load."""
    with srv.conn() as a, srv.conn() as b:
        a.send("*3\r\n$5\r\nDEBUG\r\n$6\r\nRELOAD\r\n$6\r\nNOSAVE\r\n")
        end = time.monotonic() + 30
        seen = b""
        while time.monotonic() < end and seen != LOADING:
            seen = b.cmd("GET", "k:1")
        eq(seen, LOADING, "%s: another client during DEBUG RELOAD" % srv.name)
        eq(dict(persistence(b))["loading"], "1", "INFO loading during DEBUG RELOAD")
        eq(a.reply(), b"+OK\r\n", "DEBUG RELOAD")
        eq(b.cmd("GET", "k:1"), b"$2\r\nv1\r\n", "GET after DEBUG RELOAD")


def test_loading_replies_match_redis(rdb, make_server, make_oracle):
    debug = ["--enable-debug-command", "yes"]
    srv = make_server(cls=LoadingServer, rdb=rdb, extra=debug)
    get, ping, info = observe_loading(srv)
    d = dict(info)
    eq(d["loading"], "1", "INFO loading during the load")
    eq(loading_fields(info), ["loading_start_time", "loading_total_bytes", "loading_rdb_used_mem",
                              "loading_loaded_bytes", "loading_loaded_perc", "loading_eta_seconds"],
       "loading_* fields")
    eq(info[-6][0], "loading_start_time", "loading_* fields end the section")
    eq(int(d["loading_total_bytes"]), os.path.getsize(rdb), "loading_total_bytes")
    assert 0 <= int(d["loading_loaded_bytes"]) <= os.path.getsize(rdb)
    assert abs(int(d["loading_start_time"]) - time.time()) < 60

    wait_loaded(srv)
    with srv.conn() as c:
        eq(c.cmd("GET", "k:1"), b"$2\r\nv1\r\n", "GET after the load")
        eq(c.cmd("PING"), b"+PONG\r\n", "PING after the load")
        after = persistence(c)
    eq(loading_fields(after), [], "no loading_* fields after the load")
    eq(dict(after)["rdb_last_load_keys_loaded"], str(NKEYS), "keys loaded")
    check_debug_reload(srv)

    ora = make_oracle(cls=LoadingServer, rdb=rdb, extra=debug)
    oget, oping, oinfo = observe_loading(ora)
    eq(get, oget, "GET during loading (respite vs redis-server)")
    eq(ping, oping, "PING during loading (respite vs redis-server)")
    eq([k for k, _ in info], [k for k, _ in oinfo], "INFO persistence field names during loading")
    od = dict(oinfo)
    for k in ("loading", "loading_total_bytes", "loading_rdb_used_mem"):
        eq(d[k], od[k], "INFO %s during loading" % k)
    wait_loaded(ora)
    check_debug_reload(ora)


def test_redis_py_busy_loading_then_retry(rdb, make_server):
    redis = pytest.importorskip("redis")
    srv = make_server(cls=LoadingServer, rdb=rdb)
    r = redis.Redis(port=srv.port, socket_timeout=20)
    with pytest.raises(redis.exceptions.BusyLoadingError):
        r.get("k:7")
    end = time.monotonic() + 120
    while True:
        try:
            eq(r.get("k:7"), b"v7", "GET after the load")
            break
        except redis.exceptions.BusyLoadingError:
            assert time.monotonic() < end, "still loading after 120s"
            time.sleep(0.02)
    r.close()


def test_aof_loading(rdb, make_server, make_oracle):
    srv = make_server(cls=LoadingServer, rdb=rdb, aof=True)
    get, ping, info = observe_loading(srv)
    d = dict(info)
    eq(d["loading"], "1", "INFO loading during the AOF load")
    wait_loaded(srv)
    with srv.conn() as c:
        eq(c.cmd("GET", "k:1"), b"$2\r\nv1\r\n", "a key of the base")
        eq(c.cmd("GET", "incr"), b"$1\r\n1\r\n", "the key the incr file sets")
    ora = make_oracle(cls=LoadingServer, rdb=rdb, aof=True)
    oget, oping, oinfo = observe_loading(ora)
    eq((get, ping), (oget, oping), "GET and PING during the AOF load (respite vs redis-server)")
    eq([k for k, _ in info], [k for k, _ in oinfo], "INFO persistence field names during the AOF load")
    eq(d["loading_total_bytes"], dict(oinfo)["loading_total_bytes"], "loading_total_bytes")
    wait_loaded(ora)


def exited_cleanly(srv, what):
    """Wait for srv to exit after `what`; check status 0, no sanitizer report. Returns
    its output."""
    try:
        srv.proc.wait(timeout=harness.STOP_DEADLINE * 2)
    except Exception:
        pytest.fail("the server did not exit after %s during loading" % what)
    srv.stopped = True
    out = srv.output()
    eq(srv.proc.returncode, 0, "exit status after %s" % what)
    eq(srv.sanitizer_report(), "", "sanitizer report")
    return out


def test_sigterm_during_loading_exits_cleanly(rdb, make_server):
    srv = make_server(cls=LoadingServer, rdb=rdb, extra=["--save", "900 1"])
    observe_loading(srv)
    before = os.stat(os.path.join(srv.dir, "dump.rdb")).st_mtime_ns
    srv.proc.send_signal(signal.SIGTERM)
    out = exited_cleanly(srv, "SIGTERM")
    assert "Received shutdown signal during loading, scheduling shutdown." in out, out[-2000:]
    eq(os.stat(os.path.join(srv.dir, "dump.rdb")).st_mtime_ns, before, "the file is not saved")
    shutil.rmtree(srv.dir, ignore_errors=True)


def test_shutdown_during_loading_never_saves(rdb, make_server):
    srv = make_server(cls=LoadingServer, rdb=rdb, extra=["--save", "900 1"])
    observe_loading(srv)
    before = os.stat(os.path.join(srv.dir, "dump.rdb")).st_mtime_ns
    with srv.conn() as c:
        c.send(b"SHUTDOWN SAVE\r\n")
        try:
            extra = c.sock.recv(100)
        except OSError:
            extra = b""
        eq(extra, b"", "SHUTDOWN during loading closes the connection without a reply")
    exited_cleanly(srv, "SHUTDOWN SAVE")
    eq(os.stat(os.path.join(srv.dir, "dump.rdb")).st_mtime_ns, before, "the file is not saved")
    shutil.rmtree(srv.dir, ignore_errors=True)


def test_debug_reload_refused_during_loading(rdb, make_server):
    srv = make_server(cls=LoadingServer, rdb=rdb, extra=["--enable-debug-command", "yes"])
    observe_loading(srv)
    if "respite" not in srv.name:
        pytest.skip("redis-server reloads inside its own load")
    with srv.conn() as c:
        r = c.cmd("DEBUG", "RELOAD")
    # the load may have ended meanwhile
    assert r in (LOADING, b"+OK\r\n"), r
    wait_loaded(srv)
