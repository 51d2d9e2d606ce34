"""test_redis_py.py: redis-py (Debian's python3-redis) as a client.

Strings, counters, expiry, SCAN iteration over 1000 keys, transactional pipelines and
WATCH conflicts, RESP3 when the installed redis-py supports protocol=3, and db=N
selection.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

import pytest  # noqa: E402

redis = pytest.importorskip("redis", reason="needs python3-redis (apt-get install python3-redis)")

@pytest.fixture
def client(server):
    """client(**kw): a redis-py client of the server under test."""
    return lambda **kw: redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=20, **kw)


def redis_py_version():
    return tuple(int(x) for x in redis.__version__.split(".")[:2] if x.isdigit())


def test_get_set(client):
    r = client()
    check(r.ping() is True, "ping")
    check(r.set("py:k", "v1") is True, "set")
    eq(r.get("py:k"), b"v1", "get")
    eq(r.get("py:missing"), None, "get missing")
    check(r.set("py:k", "v2", nx=True) is None, "set nx on existing key returns None")
    eq(r.set("py:k", "v3", xx=True, get=True), b"v1", "set xx get returns old value")
    eq(r.get("py:k"), b"v3", "value after set xx")
    eq(r.getset("py:k", "v4"), b"v3", "getset")
    eq(r.getdel("py:k"), b"v4", "getdel")
    eq(r.exists("py:k"), 0, "exists after getdel")
    raw = bytes(range(256))
    r.set(b"py:\x00bin", raw)
    eq(r.get(b"py:\x00bin"), raw, "binary key and value round-trip")


def test_mget_mset(client):
    r = client()
    check(r.mset({"py:m1": "a", "py:m2": "b", "py:m3": "c"}), "mset")
    eq(r.mget("py:m1", "py:m2", "py:none", "py:m3"), [b"a", b"b", None, b"c"], "mget")
    eq(r.msetnx({"py:m1": "x", "py:m9": "y"}), False, "msetnx with an existing key")
    eq(r.get("py:m9"), None, "msetnx set nothing")


def test_incr(client):
    r = client()
    r.delete("py:c")
    eq(r.incr("py:c"), 1, "incr")
    eq(r.incr("py:c", 10), 11, "incrby")
    eq(r.decr("py:c", 3), 8, "decrby")
    eq(r.incrbyfloat("py:c", 1.5), 9.5, "incrbyfloat")
    try:
        r.incr("py:c")
    except redis.ResponseError as e:
        check("not an integer" in str(e), "incr error text: %s" % e)
    else:
        raise harness.TestFailure("incr on a float value must raise ResponseError")


def test_expire_ttl(client):
    r = client()
    r.set("py:e", "v")
    eq(r.ttl("py:e"), -1, "ttl without expiry")
    check(r.expire("py:e", 100) is True, "expire")
    ttl = r.ttl("py:e")
    check(95 <= ttl <= 100, "ttl %r" % ttl)
    check(r.pexpire("py:e", 50000) is True, "pexpire")
    pttl = r.pttl("py:e")
    check(45000 <= pttl <= 50000, "pttl %r" % pttl)
    check(r.persist("py:e") is True, "persist")
    eq(r.ttl("py:e"), -1, "ttl after persist")
    r.set("py:ex", "v", ex=50)
    check(45 <= r.ttl("py:ex") <= 50, "set ex ttl")
    eq(r.ttl("py:nokey"), -2, "ttl of missing key")
    # an expiry in the past deletes the key
    check(r.pexpireat("py:ex", 1000) is True, "pexpireat in the past")
    eq(r.get("py:ex"), None, "key gone after an expiry in the past")


def test_scan_iter_1000(client):
    r = client()
    r.flushdb()
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set("scan:%d" % i, i)
    p.set("other", 1)
    p.execute()
    seen = list(r.scan_iter(match="scan:*", count=37))
    eq(len(set(seen)), 1000, "distinct keys found by scan_iter")
    eq(set(seen), {b"scan:%d" % i for i in range(1000)}, "keys found by scan_iter")
    all_keys = set(r.scan_iter())
    eq(len(all_keys), 1001, "scan_iter without a pattern")
    eq(r.dbsize(), 1001, "dbsize")


def test_transaction_pipeline(client):
    r = client()
    r.delete("tx:a", "tx:b")
    p = r.pipeline(transaction=True)
    p.set("tx:a", "1").incr("tx:a").incrby("tx:b", 5).get("tx:a")
    eq(p.execute(), [True, 2, 5, b"2"], "MULTI/EXEC results")
    # a runtime error inside EXEC does not abort the others
    p = r.pipeline(transaction=True)
    p.set("tx:s", "str").incr("tx:s").set("tx:after", "ok")
    res = p.execute(raise_on_error=False)
    eq(res[0], True, "first command in EXEC")
    check(isinstance(res[1], redis.ResponseError), "INCR on a string inside EXEC: %r" % res)
    eq(res[2], True, "command after the failing one")
    eq(r.get("tx:after"), b"ok", "effect of the command after the error")


def test_watch_conflict(client):
    r = client()
    other = client()
    r.set("w:k", "0")
    with r.pipeline() as p:
        p.watch("w:k")
        eq(p.get("w:k"), b"0", "read while watching")
        other.set("w:k", "touched")
        p.multi()
        p.set("w:k", "mine")
        try:
            p.execute()
        except redis.WatchError:
            pass
        else:
            raise harness.TestFailure("EXEC after a watched key changed must fail")
    eq(r.get("w:k"), b"touched", "the transaction did not run")
    # untouched watch succeeds
    with r.pipeline() as p:
        p.watch("w:k")
        p.multi()
        p.set("w:k", "mine")
        eq(p.execute(), [True], "EXEC with an untouched watched key")
    eq(r.get("w:k"), b"mine", "value after the successful transaction")


def test_resp3(client):
    if redis_py_version() < (5, 0):
        raise harness.Skip("redis-py %s has no protocol=3 (needs 5.0); RESP3 is "
                           "covered by test_raw.py's HELLO 3 case" % redis.__version__)
    r = client(protocol=3)
    r.set("r3:k", "v")
    eq(r.get("r3:k"), b"v", "get over RESP3")
    eq(r.get("r3:none"), None, "null over RESP3")
    eq(r.incrbyfloat("r3:f", 1.5), 1.5, "incrbyfloat over RESP3")


def test_select_db(client):
    r0 = client()
    r3 = client(db=3)
    r0.delete("dbkey")
    r3.set("dbkey", "in-three")
    eq(r3.get("dbkey"), b"in-three", "get in db 3")
    eq(r0.get("dbkey"), None, "db 0 does not see db 3's key")
    eq(client(db=3).get("dbkey"), b"in-three", "a new db=3 client sees it")
    eq(r3.dbsize(), 1, "dbsize of db 3")


def test_scan_during_rehash(client):
    """Keys present for the whole iteration are all returned even while the table
    grows between SCAN calls (Redis's reverse-binary cursor guarantee)."""
    r = client()
    r.flushdb()
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set("keep:%d" % i, i)
    p.execute()
    seen, cursor, rounds, added = set(), 0, 0, 0
    while True:
        cursor, keys = r.scan(cursor=cursor, count=20)
        seen.update(keys)
        rounds += 1
        if added < 20000:           # grow the table under the iteration
            p = r.pipeline(transaction=False)
            for i in range(added, added + 1000):
                p.set("grow:%d" % i, i)
            p.execute()
            added += 1000
        if cursor == 0 or rounds > 100000:
            break
    eq(cursor, 0, "scan finished")
    missing = {b"keep:%d" % i for i in range(1000)} - seen
    check(not missing, "SCAN missed %d keys present throughout, e.g. %r"
          % (len(missing), sorted(missing)[:5]))


def test_concurrent_incr_clients(client):
    """20 threads with their own connections each INCR one counter 500 times."""
    import threading
    r = client()
    r.delete("conc:ctr")
    errors = []

    def worker(n):
        try:
            c = client()
            for i in range(500):
                c.incr("conc:ctr")
                if i % 50 == 0:
                    c.set("conc:w%d" % n, i)
            c.close()
        except Exception as e:      # reported by the main thread
            errors.append(repr(e))
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not any(t.is_alive() for t in threads), "worker threads still running after 120s")
    check(not errors, "worker errors: %r" % errors[:3])
    eq(r.get("conc:ctr"), b"10000", "counter after 20 x 500 INCRs")
    eq(r.get("conc:w19"), b"450", "last SET of worker 19")


def test_lazy_and_active_expiry(client):
    r = client()
    r.flushdb()
    r.set("lazy", "v", px=100)
    harness.wait_until(lambda: r.get("lazy") is None, 10.0, "a 100 ms key to expire")
    eq(r.exists("lazy"), 0, "expired key does not exist")
    # active expiry: 500 short-lived keys disappear from DBSIZE without being touched
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set("act:%d" % i, i, px=100)
    p.set("stay", "v")
    p.execute()
    harness.wait_until(lambda: r.dbsize() == 1, 15.0,
                       "active expiry to remove 500 untouched keys (DBSIZE 1)")
    eq(r.keys("*"), [b"stay"], "only the persistent key is left")
