"""test_aggregator_live.py: the aggregator's live page stream, GET /api/hotels/live
(Server-Sent Events), with a plain HTTP client and real processes: a cache server
($RESPITE_SERVER, else redis-server), mock suppliers (0.1 s, 1 s, 2 s) and aggregators.

Checks: the stream is text/event-stream; its first event is the current entry and each
change follows as the suppliers answer, ending with the complete entry (equal to
/api/hotels' answer); a stream on an aggregator that does not own the search gets the
owner's changes through pub/sub, one subscription per aggregator however many streams;
a stream opened mid-search starts with everything answered so far; an entry written
without its message (a lost message) still reaches the stream within live_recheck_ms;
an owner that dies mid-search does not stall a stream (the re-read takes its lease);
streams that close free their subscription; `pubsub off` still streams (the aggregator
reads the entry itself); a hung cache (SIGSTOP) ends a stream degraded; with the cache
down a stream says `event: degraded` and ends, and streams work again once the cache is
back. The cases share one cluster and run in file
order."""
import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

_agg = harness.aggregator_harness()
Cluster, http_get, http_json = _agg.Cluster, _agg.http_get, _agg.http_json
resp_command, wait_until = _agg.resp_command, _agg.wait_until

FAST, MEDIUM, SLOW = 100, 1000, 2000
RECHECK_MS = 300


def query(dest, path="/api/hotels/live", **extra):
    q = {"destination": dest, "checkin": "2027-04-01", "checkout": "2027-04-03", "guests": 2}
    q.update(extra)
    return path + "?" + urllib.parse.urlencode(q)


def entry_key(supplier_names, dest):
    """The cache key (and channel) of a search's entry, as test_aggregator.py derives it."""
    h = 14695981039346656037
    for chunk in [b"suppliers"] + [n.encode() + b"\0" for n in supplier_names]:
        for byte in chunk:
            h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "agg:%08x:%s|2027-04-01|2027-04-03|2" % ((h ^ (h >> 32)) & 0xFFFFFFFF, dest)


class Stream:
    """One event stream read with http.client (chunked decoding, nothing else)."""

    def __init__(self, base, path, timeout=15):
        host, port = base.replace("http://", "").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream"})
        self.r = self.conn.getresponse()
        self.status = self.r.status
        self.ctype = self.r.getheader("Content-Type")

    def next(self):
        """(event, data, monotonic time) of the next event, or None at the end."""
        name, data = "message", []
        while True:
            line = self.r.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data:
                    return name, "\n".join(data), time.monotonic()
                name = "message"
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "event":
                name = value

    def entries(self):
        """Every entry until the stream ends: [(t, json)]; raises on another event."""
        out = []
        while True:
            ev = self.next()
            if ev is None:
                return out
            assert ev[0] == "message", ev
            out.append((ev[2], json.loads(ev[1])))

    def close(self):
        self.conn.close()


class Env:
    pass


@pytest.fixture(scope="module")
def e():
    env = Env()
    env.c = Cluster()
    try:
        env.cache = env.c.start_cache()
        env.sups = [env.c.start_supplier("fast", FAST), env.c.start_supplier("medium", MEDIUM),
                    env.c.start_supplier("slow", SLOW)]
        env.names = [s.sname for s in env.sups]
        env.conf = env.c.write_config("live", env.cache.port, [(s.sname, s.url) for s in env.sups],
                                      timeout_ms=4000, extra=["live_recheck_ms %d" % RECHECK_MS])
        env.a = env.c.start_aggregator("a", env.conf)
        env.b = env.c.start_aggregator("b", env.conf)
        # a cache server without pub/sub (respite before it had it) is "refused": the
        # streams still work, reading the entry every live_watch_ms
        env.pubsub = not isinstance(resp_command(env.cache.port, "PUBSUB", "NUMSUB", "x"), Exception)
        for agg in (env.a, env.b):
            wait_until(lambda: status(agg)["cache"] == "connected" and status(agg)["subscriber"]
                       == ("connected" if env.pubsub else "refused"), 10,
                       "aggregator connected to the cache and subscribed")
        yield env
        for p in env.c.procs:
            if p.name.startswith("aggregator"):
                print("--- %s log tail:\n%s" % (p.name, p.tail(15)))
    finally:
        env.c.close()


def status(agg):
    return http_json(agg.url + "/api/status")[1]


def counts(e, dest):
    key = "%s|2027-04-01|2027-04-03|2" % dest
    return [http_json(s.url + "/stats")[1]["searches"].get(key, 0) for s in e.sups]


def check_progress(entries):
    """Each event a well-formed answer, progressing, the last one complete."""
    assert entries, "no event"
    answered = [d["answered"] for _, d in entries]
    assert answered == sorted(answered) and len(set(answered)) == len(answered), answered
    for _, d in entries:
        keys = [(h["price_cents"], h["id"]) for h in d["hotels"]]
        assert keys == sorted(keys) and not d["degraded"], d
    assert entries[-1][1]["is_completed"] and not any(d["is_completed"] for _, d in entries[:-1])


def test_bad_parameters_get_400(e):
    status_, body = http_json(e.a.url + "/api/hotels/live?destination=&checkin=x")
    assert status_ == 400 and body["error"], body
    assert all(c == 0 for s in e.sups for c in [http_json(s.url + "/stats")[1]["requests"]])


def test_stream_from_the_owner(e):
    """The first stream of a search starts it: the current (empty) entry, then one event
    per supplier answer, the last one complete; then the stream ends."""
    before = status(e.a)["api_requests"]
    t0 = time.monotonic()
    st = Stream(e.a.url, query("Lisbon"))
    assert st.status == 200 and st.ctype == "text/event-stream", (st.status, st.ctype)
    entries = st.entries()
    st.close()
    check_progress(entries)
    assert entries[0][1]["answered"] == 0 and entries[0][0] - t0 < FAST / 1000.0, entries[0]
    assert len(entries) == 4, [d["suppliers"] for _, d in entries]
    assert entries[-1][0] - t0 >= SLOW / 1000.0
    api = http_json(e.a.url + query("Lisbon", path="/api/hotels"))[1]
    assert api == entries[-1][1], (api, entries[-1][1])
    assert counts(e, "lisbon") == [1, 1, 1]
    assert status(e.a)["api_requests"] == before + 1  # only the check above: no polling


def test_many_streams_on_another_aggregator_share_one_subscription(e):
    """Aggregator a owns the search; 40 streams on b get every change through b's single
    subscriber connection (the channel has one subscriber per aggregator), as it happens."""
    dest = "Porto"
    channel = entry_key(e.names, dest.lower())
    status_, first = http_json(e.a.url + query(dest, path="/api/hotels"))
    assert status_ == 200 and first["answered"] == 0, first
    n = 40
    out = [None] * n

    def reader(i):
        st = Stream(e.b.url, query(dest, limit=5))
        try:
            out[i] = st.entries()
        except Exception as ex:  # recorded
            out[i] = ex
        finally:
            st.close()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    wait_until(lambda: status(e.b)["live_clients"] == n, 5, "all streams open on b")
    st_b = status(e.b)
    assert st_b["live_searches"] == 1, st_b
    if e.pubsub:
        assert st_b["subscriber_connects"] == 1, st_b
        assert resp_command(e.cache.port, "PUBSUB", "NUMSUB", channel) == [channel.encode(), 1]
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads)
    final = http_json(e.a.url + query(dest, path="/api/hotels", limit=5))[1]
    for entries in out:
        assert not isinstance(entries, Exception), entries
        check_progress(entries)
        assert entries[-1][1] == final and len(entries[-1][1]["hotels"]) <= 5
    assert counts(e, dest.lower()) == [1, 1, 1], "b asked a supplier"
    st_b2 = status(e.b)
    assert st_b2["supplier_requests"] == 0, st_b2
    assert st_b2["messages"] > st_b["messages"] or not e.pubsub, st_b2
    wait_until(lambda: status(e.b)["live_searches"] == 0 and status(e.b)["live_clients"] == 0, 5,
               "b to forget the finished search")
    if e.pubsub:
        wait_until(lambda: resp_command(e.cache.port, "PUBSUB", "NUMSUB", channel)[1] == 0, 5,
                   "b to unsubscribe")


def test_a_stream_opened_mid_search_starts_with_the_current_entry(e):
    dest = "Madrid"
    http_json(e.a.url + query(dest, path="/api/hotels"))
    wait_until(lambda: http_json(e.a.url + query(dest, path="/api/hotels"))[1]["suppliers"]["medium"] == "ok",
               5, "the medium supplier's answer")
    current = http_json(e.a.url + query(dest, path="/api/hotels"))[1]
    for agg in (e.b, e.a):
        st = Stream(agg.url, query(dest))
        entries = st.entries()
        st.close()
        check_progress(entries)
        first = entries[0][1]
        assert first["answered"] >= 2 and first["suppliers"]["medium"] == "ok", first
        assert [h["id"] for h in first["hotels"]] and first["hotel_count"] >= current["hotel_count"]
    # and once complete, a stream is the complete entry alone
    st = Stream(e.b.url, query(dest))
    entries = st.entries()
    st.close()
    assert len(entries) == 1 and entries[0][1]["is_completed"], entries


def test_a_lost_message_is_made_up_by_the_recheck(e):
    """The test owns a search itself (it holds the lease and writes the entry): a version
    written without PUBLISH (a message lost) reaches the stream within live_recheck_ms,
    and a published one at once."""
    dest = "ghost town"
    key = entry_key(e.names, dest)
    port = e.cache.port
    assert resp_command(port, "SET", key + ":lease", "test", "NX", "PX", 60000) == b"OK"
    v1 = "v1\ns\tfast\tok\nh\th01\t20000\tfast\tGhost Inn\n"
    assert resp_command(port, "SET", key, v1, "PX", 60000) == b"OK"
    st = Stream(e.b.url, query(dest))
    try:
        ev = st.next()
        first = json.loads(ev[1])
        assert first["suppliers"] == {"fast": "ok", "medium": "pending", "slow": "pending"}, first
        v2 = "v1\ns\tfast\tok\ns\tmedium\tok\nh\th01\t20000\tfast\tGhost Inn\nh\th02\t15000\tmedium\tGhost House\n"
        t = time.monotonic()
        assert resp_command(port, "SET", key, v2, "XX", "KEEPTTL") == b"OK"
        ev = st.next()
        took = ev[2] - t
        second = json.loads(ev[1])
        assert second["answered"] == 2 and [h["id"] for h in second["hotels"]] == ["h02", "h01"], second
        assert took < RECHECK_MS / 1000.0 + 1.0, "the unpublished version took %.2fs" % took
        if not e.pubsub:
            return
        v3 = v2.replace("s\tmedium\tok\n", "s\tmedium\tok\ns\tslow\tfailed\n")
        assert resp_command(port, "SET", key, v3, "XX", "KEEPTTL") == b"OK"
        t = time.monotonic()
        assert resp_command(port, "PUBLISH", key, v3) == 1
        ev = st.next()
        took3 = ev[2] - t
        third = json.loads(ev[1])
        assert third["is_completed"] and third["suppliers"]["slow"] == "failed", third
        assert st.next() is None, "the stream goes on after the search completed"
        print("    unpublished version shown after %.0f ms (recheck %d ms), published one after %.1f ms"
              % (took * 1000, RECHECK_MS, took3 * 1000))
    finally:
        st.close()
    assert counts(e, dest) == [0, 0, 0], "the aggregator asked suppliers for a search it does not own"


def test_closed_streams_free_their_subscription(e):
    dest = "Vienna"
    channel = entry_key(e.names, dest.lower())
    streams = [Stream(e.b.url, query(dest)) for _ in range(10)]
    for st in streams:
        assert st.next()[0] == "message"
    assert status(e.b)["live_clients"] == 10
    if e.pubsub:
        wait_until(lambda: resp_command(e.cache.port, "PUBSUB", "NUMSUB", channel)[1] == 1, 5, "subscribed")
    for st in streams:
        st.close()
    wait_until(lambda: status(e.b)["live_clients"] == 0 and status(e.b)["live_searches"] == 0, 5,
               "b to notice the closed streams")
    if e.pubsub:
        wait_until(lambda: resp_command(e.cache.port, "PUBSUB", "NUMSUB", channel)[1] == 0, 5,
                   "b to unsubscribe")
        # every search so far went over the one subscriber connection b opened at start
        assert status(e.b)["subscriber_connects"] == 1 and status(e.b)["messages"] >= 6, status(e.b)
    # the search went on without pages (b took the lease); a new stream sees it complete
    st = Stream(e.a.url, query(dest))
    entries = st.entries()
    st.close()
    check_progress(entries)
    assert counts(e, dest.lower()) == [1, 1, 1]


def test_a_dead_owner_does_not_stall_a_stream(e):
    """The owner dies mid-search and no page polls: the watching aggregator's re-read
    takes the lease once it expires and asks the suppliers still pending; the stream
    completes."""
    conf = e.c.write_config("shortlease", e.cache.port, [(s.sname, s.url) for s in e.sups],
                            timeout_ms=2500, claim_margin_ms=300, extra=["live_recheck_ms %d" % RECHECK_MS])
    doomed = e.c.start_aggregator("doomed", conf)
    watcher = e.c.start_aggregator("watcher", conf)
    try:
        for agg in (doomed, watcher):
            wait_until(lambda: status(agg)["cache"] == "connected", 10, "cache")
        dest = "Krakow"
        http_json(doomed.url + query(dest, path="/api/hotels"))
        st = Stream(watcher.url, query(dest))
        try:
            ev = st.next()
            while json.loads(ev[1])["suppliers"]["fast"] != "ok":
                ev = st.next()
            assert json.loads(ev[1])["suppliers"]["medium"] == "pending"
            doomed.kill(signal.SIGKILL)
            t = time.monotonic()
            rest = st.entries()
            took = time.monotonic() - t
        finally:
            st.close()
        assert rest and rest[-1][1]["is_completed"], rest
        assert rest[-1][1]["suppliers"] == {"fast": "ok", "medium": "ok", "slow": "ok"}
        assert counts(e, "krakow") == [1, 2, 2], counts(e, "krakow")
        assert took < 2.8 + SLOW / 1000.0 + 2, "completed %.2fs after the owner died" % took
        print("    owner killed: the stream completed %.2fs later (lease 2.8 s, slowest 2 s)" % took)
    finally:
        watcher.kill(signal.SIGTERM)


def test_pubsub_off_still_streams(e):
    conf = e.c.write_config("nopubsub", e.cache.port, [(s.sname, s.url) for s in e.sups],
                            timeout_ms=4000, extra=["pubsub off", "live_watch_ms 50"])
    agg = e.c.start_aggregator("nopubsub", conf)
    try:
        wait_until(lambda: status(agg)["cache"] == "connected", 10, "cache")
        assert status(agg)["subscriber"] == "off"
        dest = "Prague"
        http_json(e.a.url + query(dest, path="/api/hotels"))  # a owns it and publishes
        st = Stream(agg.url, query(dest))
        entries = st.entries()
        st.close()
        check_progress(entries)
        assert entries[-1][1] == http_json(e.a.url + query(dest, path="/api/hotels"))[1]
        assert status(agg)["messages"] == 0 and status(agg)["api_requests"] == 0
        assert counts(e, dest.lower()) == [1, 1, 1]
    finally:
        agg.kill(signal.SIGTERM)


def test_hung_cache_ends_the_stream_degraded(e):
    """A cache that stops answering (SIGSTOP): the stream's next read is unanswered after
    cache_timeout_ms (300 ms here), and the stream says degraded and ends."""
    dest = "Gdansk"
    st = Stream(e.b.url, query(dest))
    try:
        assert json.loads(st.next()[1])["answered"] == 0
        os.kill(e.cache.p.pid, signal.SIGSTOP)
        t = time.monotonic()
        try:
            ev = st.next()
            while ev and ev[0] == "message":  # answers that came before the stop
                ev = st.next()
            took = time.monotonic() - t
            assert ev and ev[0] == "degraded", ev
            assert st.next() is None
        finally:
            os.kill(e.cache.p.pid, signal.SIGCONT)
        assert took < (RECHECK_MS * 2 + 300) / 1000.0 + 1.0, "a hung cache noticed after %.2fs" % took
    finally:
        st.close()
    st = Stream(e.b.url, query(dest))
    entries = st.entries()
    st.close()
    assert entries[-1][1]["is_completed"] and not entries[-1][1]["degraded"]


def test_cache_down_degraded_event_then_live_again(e):
    dest = "Bergen"
    st = Stream(e.b.url, query(dest))
    assert json.loads(st.next()[1])["answered"] == 0
    port = e.cache.port
    e.cache.kill(signal.SIGKILL)
    ev = st.next()
    assert ev[0] == "degraded", ev
    assert st.next() is None, "the stream did not end"
    st.close()
    wait_until(lambda: status(e.b)["cache"] == "disconnected", 5, "b to notice")
    st = Stream(e.b.url, query(dest))
    assert st.status == 200 and st.next()[0] == "degraded" and st.next() is None
    st.close()
    status_, body = http_json(e.b.url + query(dest, path="/api/hotels"))
    assert status_ == 200 and body["degraded"], body
    assert status(e.b)["live_clients"] == 0
    e.cache = e.c.start_cache(port)
    for agg in (e.a, e.b):
        wait_until(lambda: status(agg)["cache"] == "connected" and (
            status(agg)["subscriber"] == "connected" or not e.pubsub), 10, "the aggregator to reconnect")
    st = Stream(e.a.url, query("Seville"))
    entries = st.entries()
    st.close()
    check_progress(entries)
    st = Stream(e.b.url, query(dest))
    entries = st.entries()
    st.close()
    assert entries[-1][1]["is_completed"] and not entries[-1][1]["degraded"], entries[-1]
