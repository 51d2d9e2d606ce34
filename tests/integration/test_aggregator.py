"""test_aggregator.py: the hotel-price aggregator (examples/aggregator) end to end, with
real processes: a cache server ($RESPITE_SERVER, else redis-server), mock suppliers
(0.1 s, 1 s, 3 s) and several aggregator processes sharing the cache.

Checks: one supplier request per search whatever the number of clients and aggregators;
the first replies come before the slowest supplier answers; every client ends with the
same, sorted, correctly merged result; a repeated search within the TTL asks no
supplier, and the entry's TTL is the configured one, after which the search is asked
again (once); failing and timing-out suppliers end as "failed"/"timeout"; a lease whose owner
died is retaken; the aggregators survive the cache server's death (degraded answers) and
reconnect when it is back; a hung cache server delays a request by at most the cache
timeout. The cases share one cluster (the fixture e) and run in file order."""
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import http.client

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

_agg = harness.aggregator_harness()
Cluster, http_get, http_json = _agg.Cluster, _agg.http_get, _agg.http_json
resp_command, wait_until = _agg.resp_command, _agg.wait_until

FAST, MEDIUM, SLOW = 100, 1000, 3000
CLIENTS = 200


def query(dest, checkin="2027-03-10", checkout="2027-03-13", guests=2, **extra):
    q = {"destination": dest, "checkin": checkin, "checkout": checkout, "guests": guests}
    q.update(extra)
    return "/api/hotels?" + urllib.parse.urlencode(q)


def search_key(dest, checkin="2027-03-10", checkout="2027-03-13", guests=2):
    return "%s|%s|%s|%d" % (dest, checkin, checkout, guests)


def entry_key(supplier_names, key):
    """The cache key of a search's entry, derived as the aggregator does (README, "How a
    search is shared"): agg:F:KEY, F folding a 64-bit FNV-1a of "suppliers" and each
    configured supplier name with its NUL to 32 bits, in hex."""
    h = 14695981039346656037
    for chunk in [b"suppliers"] + [n.encode() + b"\0" for n in supplier_names]:
        for byte in chunk:
            h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "agg:%08x:%s" % ((h ^ (h >> 32)) & 0xFFFFFFFF, key)


def supplier_count(sup, key):
    return http_json(sup.url + "/stats")[1]["searches"].get(key, 0)


def poll_until_complete(base, path, timeout=15.0):
    def done():
        status, body = http_json(base + path)
        assert status == 200, (status, body)
        return body if body["is_completed"] else None
    return wait_until(done, timeout, "search %s at %s to complete" % (path, base), 0.05)


def expected_result(suppliers, dest):
    """The merge computed independently: each supplier asked directly, cheapest offer per
    hotel (ties to the supplier listed first), sorted by price then id."""
    best = {}
    for rank, sup in enumerate(suppliers):
        status, body = http_get(sup.url + "/search?" + urllib.parse.urlencode(
            {"destination": dest, "checkin": "2027-03-10", "checkout": "2027-03-13",
             "guests": 2}), timeout=10)
        assert status == 200
        for line in body.decode().splitlines():
            hid, price, name = line.split("\t")
            cand = (int(price), rank, hid, name, sup.sname)
            if hid not in best or cand[:2] < best[hid][:2]:
                best[hid] = cand
    rows = sorted(best.values(), key=lambda c: (c[0], c[2]))
    return [{"id": c[2], "name": c[3], "price_cents": c[0], "supplier": c[4]} for c in rows]


def strip(hotels):
    return [{k: h[k] for k in ("id", "name", "price_cents", "supplier")} for h in hotels]


def is_sorted(hotels):
    keys = [(h["price_cents"], h["id"]) for h in hotels]
    return keys == sorted(keys)


class Env:
    pass


@pytest.fixture(scope="module")
def e():
    """The cluster every case shares (the cases run in file order and build on each
    other's state); the aggregators' log tails are printed at the end (shown on failure)."""
    env = setup()
    yield env
    for p in env.c.procs:
        if p.name.startswith("aggregator"):
            print("--- %s log tail:\n%s" % (p.name, p.tail(15)))
    env.c.close()


def setup():
    e = Env()
    e.c = Cluster()
    e.cache = e.c.start_cache()
    e.fast = e.c.start_supplier("fast", FAST)
    e.medium = e.c.start_supplier("medium", MEDIUM)
    e.slow = e.c.start_supplier("slow", SLOW)
    e.sups = [e.fast, e.medium, e.slow]
    e.conf = e.c.write_config("main", e.cache.port, [(s.sname, s.url) for s in e.sups],
                              timeout_ms=5000, claim_margin_ms=1000)
    e.a = e.c.start_aggregator("a", e.conf)
    e.b = e.c.start_aggregator("b", e.conf)
    e.lease_ms = 5000 + 1000
    for agg in (e.a, e.b):
        wait_until(lambda: http_json(agg.url + "/api/status")[1]["cache"] == "connected", 10,
                   "aggregator connected to the cache")
    return e


def test_bad_parameters(e):
    bad = [
        {"checkin": "2027-03-10", "checkout": "2027-03-12"},
        {"destination": "  ", "checkin": "2027-03-10", "checkout": "2027-03-12"},
        {"destination": "Oslo", "checkin": "2027-02-30", "checkout": "2027-03-02"},
        {"destination": "Oslo", "checkin": "10/03/2027", "checkout": "2027-03-12"},
        {"destination": "Oslo", "checkin": "2027-03-10", "checkout": "2027-03-10"},
        {"destination": "Oslo", "checkin": "2027-03-10", "checkout": "2027-03-12", "guests": 0},
        {"destination": "Oslo", "checkin": "2027-03-10", "checkout": "2027-03-12", "guests": "x"},
        {"destination": "Oslo", "checkin": "2027-03-10", "checkout": "2027-03-12", "limit": -1},
        {"destination": "Oslo|x", "checkin": "2027-03-10", "checkout": "2027-03-12"},
    ]
    for q in bad:
        status, body = http_json(e.a.url + "/api/hotels?" + urllib.parse.urlencode(q))
        assert status == 400, (q, status, body)
        assert isinstance(body.get("error"), str) and body["error"], body
    assert http_get(e.a.url + "/nope")[0] == 404
    for s in e.sups:
        assert http_json(s.url + "/stats")[1]["requests"] == 0, "a bad request reached a supplier"


def client_poll(base, path, start_evt, t0, out, idx):
    """One polling client: a keep-alive connection, polls every 100 ms until complete."""
    host, port = base.replace("http://", "").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    replies = []
    start_evt.wait()
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            conn.request("GET", path)
            r = conn.getresponse()
            body = json.loads(r.read())
            replies.append((time.monotonic() - t0[0], r.status, body))
            if body.get("is_completed"):
                break
            time.sleep(0.1)
    except Exception as ex:  # recorded, checked by the caller
        replies.append((time.monotonic() - t0[0], 0, {"exception": repr(ex)}))
    finally:
        conn.close()
    out[idx] = replies


def test_concurrent_clients_one_fanout(e):
    dest = "Lisbon"
    path = query(dest)
    out = [None] * CLIENTS
    start = threading.Event()
    t0 = [0.0]
    threads = [threading.Thread(target=client_poll,
                                args=((e.a if i % 2 == 0 else e.b).url, path, start, t0, out, i))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    t0[0] = time.monotonic()
    start.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "clients still running"

    key = search_key("lisbon")
    for s in e.sups:
        assert supplier_count(s, key) == 1, (s.sname, http_json(s.url + "/stats")[1])

    firsts = []
    finals = []
    for i, replies in enumerate(out):
        assert replies, "client %d got no reply" % i
        for t, status, body in replies:
            assert status == 200, (i, status, body)
            assert is_sorted(body["hotels"]), (i, body)
            ok = {n for n, st in body["suppliers"].items() if st == "ok"}
            assert {h["supplier"] for h in body["hotels"]} <= ok, body
        firsts.append(replies[0])
        finals.append(replies[-1][2])
    slowest_answer = SLOW / 1000.0
    for t, status, body in firsts:
        assert t < slowest_answer, "a first reply took %.2fs" % t
        assert body["suppliers"]["slow"] == "pending" and not body["is_completed"], body
    earliest = min(firsts, key=lambda r: r[0])
    assert {h["supplier"] for h in earliest[2]["hotels"]} <= {"fast"}, earliest
    # Each hotel of a reply that only the fast supplier had answered (the earliest reply,
    # and any other) is one of the fast supplier's own offers (same id, name and price),
    # and there are all of them; before any answer there is none.
    fast_only = expected_result([e.fast], "lisbon")
    assert fast_only, "the fast supplier sells nothing in lisbon"
    only_fast = 0
    for t, status, body in [earliest] + [r for replies in out for r in replies]:
        answered = {n for n, st in body["suppliers"].items() if st != "pending"}
        if body is earliest[2]:
            assert answered <= {"fast"}, ("earliest reply after %.2fs" % t, body)
        if not answered:
            assert body["hotels"] == [], body
        elif answered == {"fast"}:
            only_fast += 1
            assert body["suppliers"]["fast"] == "ok", body
            assert all(h["supplier"] == "fast" for h in body["hotels"]), body
            assert strip(body["hotels"]) == fast_only, ("not the fast supplier's offers", body)
    assert all(f["is_completed"] for f in finals), "a client never saw the search complete"
    assert all(f == finals[0] for f in finals), "clients ended with different results"
    final = finals[0]
    assert final["suppliers"] == {"fast": "ok", "medium": "ok", "slow": "ok"}, final
    assert not final["degraded"]
    assert strip(final["hotels"]) == expected_result(e.sups, "lisbon"), "merge is wrong"
    print("    first reply after %.3fs (%d hotels), median first reply %.3fs, %d polls "
          "(%d with only the fast supplier's answer)"
          % (earliest[0], len(earliest[2]["hotels"]), sorted(f[0] for f in firsts)[len(firsts) // 2],
             sum(len(r) for r in out), only_fast))
    e.lisbon_final = final


def test_repeat_within_ttl_is_cached(e):
    key = search_key("lisbon")
    before = [supplier_count(s, key) for s in e.sups]
    for agg in (e.a, e.b):
        for dest in ("Lisbon", "  LISBON ", "lisbon"):
            status, body = http_json(agg.url + query(dest))
            assert status == 200 and body["is_completed"], body
            assert body == e.lisbon_final, "a repeated search shows other prices"
    status, body = http_json(e.a.url + query("Lisbon", limit=3))
    assert status == 200 and body["hotels"] == e.lisbon_final["hotels"][:3], body
    assert body["hotel_count"] == len(e.lisbon_final["hotels"])
    assert [supplier_count(s, key) for s in e.sups] == before, "a cached search reached a supplier"


def test_normalised_destination_is_one_search(e):
    """Spacing and case do not make another search; spaces and UTF-8 survive the trip to
    the suppliers and back."""
    for dest, norm, other in (("  New   YORK ", "new york", "NEW york"),
                              ("Zürich", "zürich", " ZüRICH")):  # ASCII case folding only
        status, body = http_json(e.a.url + query(dest))
        assert status == 200 and body["search"]["destination"] == norm, body
        final = poll_until_complete(e.b.url, query(norm), 10)
        assert final["search"]["destination"] == norm and final["hotels"], final
        assert http_json(e.a.url + query(other))[1] == final
        for s in e.sups:
            assert supplier_count(s, search_key(norm)) == 1, (s.sname, norm)
    assert any("Zürich" in h["name"] or "zürich" in h["name"].lower()
               for h in final["hotels"]), final["hotels"][:2]


TTL_MS = 4500  # > the slowest supplier (3 s), and > the lease below (4000 + 300 ms)


def test_entry_ttl_then_asked_again(e):
    """The entry carries the configured TTL from its creation (rewrites keep it); once it
    has expired, the same search asks every supplier exactly once more."""
    conf = e.c.write_config("shortttl", e.cache.port, [(s.sname, s.url) for s in e.sups],
                            ttl_ms=TTL_MS, timeout_ms=4000, claim_margin_ms=300)
    agg = e.c.start_aggregator("shortttl", conf)
    try:
        wait_until(lambda: http_json(agg.url + "/api/status")[1]["cache"] == "connected",
                   10, "cache")
        key = search_key("tallinn")
        ckey = entry_key([s.sname for s in e.sups], key)
        port = e.cache.port
        assert resp_command(port, "EXISTS", ckey) == 0
        t_req = time.monotonic()
        status, body = http_json(agg.url + query(" Tallinn"))
        t_first = time.monotonic()
        assert status == 200 and not body["is_completed"], body
        final = poll_until_complete(agg.url, query("Tallinn"), 10)
        t_done = time.monotonic()
        pttl = resp_command(port, "PTTL", ckey)
        assert isinstance(pttl, int) and 0 < pttl <= TTL_MS, (ckey, pttl)
        # Created at the first request: the rewrites after each answer kept that TTL.
        assert pttl <= TTL_MS - (t_done - t_first) * 1000 + 250, (
            "TTL reset by a rewrite: PTTL %d ms %.2fs after creation" % (pttl, t_done - t_first))
        assert resp_command(port, "GET", ckey).startswith(b"v1"), "not the entry"
        counts = [supplier_count(s, key) for s in e.sups]
        assert counts == [1, 1, 1], counts
        assert http_json(agg.url + query("tallinn"))[1] == final  # within the TTL: cached
        wait_until(lambda: resp_command(port, "EXISTS", ckey) == 0, pttl / 1000.0 + 2,
                   "the entry to expire", 0.05)
        lived = time.monotonic() - t_req
        assert lived >= TTL_MS / 1000.0 - 0.05, "the entry expired after %.2fs" % lived
        assert [supplier_count(s, key) for s in e.sups] == counts
        again = poll_until_complete(agg.url, query("Tallinn"), 10)
        assert again["suppliers"] == {"fast": "ok", "medium": "ok", "slow": "ok"}, again
        assert strip(again["hotels"]) == strip(final["hotels"]), "other prices after expiry"
        assert [supplier_count(s, key) for s in e.sups] == [c + 1 for c in counts], (
            [http_json(s.url + "/stats")[1] for s in e.sups])
        pttl2 = resp_command(port, "PTTL", ckey)
        assert isinstance(pttl2, int) and 0 < pttl2 <= TTL_MS, pttl2
        print("    entry PTTL %d ms at completion, expired %.2fs after the first request"
              % (pttl, lived))
    finally:
        agg.kill(signal.SIGTERM)


def test_failing_and_timing_out_suppliers(e):
    broken = e.c.start_supplier("broken", 50, fail_rate=1.0)
    hanging = e.c.start_supplier("hanging", 10000)
    down_port = resp_free_port()
    conf = e.c.write_config("faulty", e.cache.port, [
        ("fast", e.fast.url), ("broken", broken.url), ("hanging", hanging.url, 1000),
        ("down", "http://127.0.0.1:%d" % down_port)], timeout_ms=5000)
    agg = e.c.start_aggregator("faulty", conf)
    wait_until(lambda: http_json(agg.url + "/api/status")[1]["cache"] == "connected", 10, "cache")
    t = time.monotonic()
    final = poll_until_complete(agg.url, query("Vienna"), 10)
    took = time.monotonic() - t
    assert final["suppliers"] == {"fast": "ok", "broken": "failed", "hanging": "timeout",
                                  "down": "failed"}, final
    assert final["hotels"] and all(h["supplier"] == "fast" for h in final["hotels"]), final
    assert 0.9 <= took < 4, "the 1 s supplier timeout took %.2fs" % took
    assert supplier_count(broken, search_key("vienna")) == 1
    assert supplier_count(hanging, search_key("vienna")) == 1


def resp_free_port():
    from harness import free_port
    return free_port()


def test_dead_owner_lease_is_retaken(e):
    d = e.c.start_aggregator("doomed", e.conf)
    wait_until(lambda: http_json(d.url + "/api/status")[1]["cache"] == "connected", 10, "cache")
    dest = "Krakow"
    key = search_key("krakow")
    status, body = http_json(d.url + query(dest))
    assert status == 200 and not body["is_completed"], body
    cache_key = next(k for k in resp_command(e.cache.port, "KEYS", "agg:*|2:lease")
                     if b"krakow" in k)
    owner = resp_command(e.cache.port, "GET", cache_key).decode()
    assert owner.endswith(":%d" % d.port), owner
    wait_until(lambda: http_json(d.url + query(dest))[1]["suppliers"]["fast"] == "ok", 5,
               "the fast supplier's answer")
    d.kill(signal.SIGKILL)
    t = time.monotonic()
    # Until the lease expires the other aggregators serve what the dead owner cached.
    status, body = http_json(e.b.url + query(dest))
    assert status == 200 and body["suppliers"]["fast"] == "ok" and not body["is_completed"]
    final = poll_until_complete(e.b.url, query(dest), e.lease_ms / 1000.0 + SLOW / 1000.0 + 5)
    took = time.monotonic() - t
    owner2 = resp_command(e.cache.port, "GET", cache_key).decode()
    assert owner2.endswith(":%d" % e.b.port), owner2
    assert final["suppliers"] == {"fast": "ok", "medium": "ok", "slow": "ok"}, final
    assert supplier_count(e.fast, key) == 1, "the answered supplier was asked again"
    assert supplier_count(e.slow, key) == 2
    assert took >= 2.0, "the lease was retaken before it expired (%.2fs)" % took
    print("    lease retaken and search completed %.2fs after the owner died" % took)


def test_hung_cache_server(e):
    """A cache server that stops answering (SIGSTOP) costs a request cache_timeout_ms
    (300 ms here), after which it is answered degraded; service resumes with the server."""
    os.kill(e.cache.p.pid, signal.SIGSTOP)
    try:
        t = time.monotonic()
        status, body = http_json(e.a.url + query("Bergen"))
        took = time.monotonic() - t
        assert status == 200 and body["degraded"], body
        assert 0.25 <= took < 2, "a hung cache delayed a request by %.2fs" % took
        final = poll_until_complete(e.a.url, query("Bergen"), 10)
        assert final["degraded"] and final["suppliers"] == {
            "fast": "ok", "medium": "ok", "slow": "ok"}, final
        assert http_json(e.a.url + "/api/status")[1]["cache_timeouts"] >= 1
    finally:
        os.kill(e.cache.p.pid, signal.SIGCONT)
    wait_until(lambda: not http_json(e.b.url + query("Bergen"))[1]["degraded"], 5,
               "answers from the cache again")
    final = poll_until_complete(e.b.url, query("Bergen"), 10)
    assert not final["degraded"], final


def test_cache_server_death_and_return(e):
    dest = "Madrid"
    status, body = http_json(e.a.url + query(dest))
    assert status == 200 and not body["degraded"], body
    wait_until(lambda: http_json(e.a.url + query(dest))[1]["suppliers"]["fast"] == "ok", 5,
               "the fast supplier's answer")
    port = e.cache.port
    e.cache.kill(signal.SIGKILL)
    for agg in (e.a, e.b):
        wait_until(lambda: http_json(agg.url + "/api/status")[1]["cache"] == "disconnected",
                   5, "the aggregator to notice the cache is gone")
    # The owner keeps serving its in-memory search; the other process asks the suppliers.
    status, body = http_json(e.a.url + query(dest))
    assert status == 200 and body["degraded"] and body["suppliers"]["fast"] == "ok", body
    for agg in (e.a, e.b):
        final = poll_until_complete(agg.url, query(dest), 10)
        assert final["degraded"] and final["suppliers"] == {
            "fast": "ok", "medium": "ok", "slow": "ok"}, final
        assert is_sorted(final["hotels"]) and final["hotels"]
    status, body = http_json(e.b.url + query("Porto"))
    assert status == 200 and body["degraded"], body
    assert e.a.alive() and e.b.alive(), "an aggregator died with the cache"

    e.cache = e.c.start_cache(port)
    for agg in (e.a, e.b):
        wait_until(lambda: http_json(agg.url + "/api/status")[1]["cache"] == "connected", 10,
                   "the aggregator to reconnect")
    status, body = http_json(e.b.url + query("Seville"))
    assert status == 200 and not body["degraded"], body
    final = poll_until_complete(e.a.url, query("Seville"), 10)
    assert not final["degraded"]
    assert any(b"seville" in k for k in resp_command(port, "KEYS", "agg:*")), "nothing cached"
    st = http_json(e.a.url + "/api/status")[1]
    assert st["cache_disconnects"] >= 1 and st["cache_connects"] >= 2, st
