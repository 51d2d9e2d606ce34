"""test_aggregator_browser.py: the aggregator's web page in headless Chromium.

Starts a cache server ($RESPITE_SERVER, else redis-server), three mock suppliers (0.1 s,
1 s, 3 s) and aggregators, then drives the page with examples/aggregator/page_test.py
(Debian's python3-selenium, chromium-driver and chromium) and checks: the first rows
appear before the slowest supplier answers, the table is sorted at every update and a
cheaper offer moves up as it arrives, the final table equals the API's answer, the
progress bar reaches 100%, a reload shows the same prices, and the page made only
localhost requests. The live page: rows arrive through the event stream (one request per
page view, no /api/hotels poll, counted in the page and by the aggregator); the time from
a supplier's answer (its wall-clock answered_at) to the page showing it, through this
process's own fan-out and through pub/sub from another aggregator; a page whose
aggregator restarts mid-search reconnects by itself and is sent the current entry
(including an answer that came while it was away); with the cache killed mid-search the
page polls the degraded answer, and once the cache is back it is live again and
completes. Skipped, naming the packages, when any of those three is missing.
AGG_SCREENSHOT=FILE keeps a screenshot of the finished page.
"""
import os
import signal
import statistics
import sys
import time
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

_agg = harness.aggregator_harness()
sys.path.insert(0, os.path.dirname(_agg.__file__))
import page_test  # noqa: E402

SLOW_MS = 3000
DATES = ("2027-05-04", "2027-05-06")
# The latency bound (a supplier's answer -> the page showing it). The target is 50 ms;
# measured 2-10 ms here, single samples up to ~180 ms while a compiler ran on both cores
# (the test prints the figures). So the median must meet the target, and no sample may
# have waited for a re-read (live_recheck_ms, 1 s): each came by a push.
LATENCY_MEDIAN_MS = 50
LATENCY_MAX_MS = 1000


def api_query(dest):
    return "/api/hotels?" + urllib.parse.urlencode(
        {"destination": dest, "checkin": DATES[0], "checkout": DATES[1], "guests": 2})


def status(agg):
    return _agg.http_json(agg.url + "/api/status")[1]


def latencies(sups, dest, meta, stream_events):
    """{supplier: ms from its answer (answered_at) to the page showing it} for the
    suppliers that answered after the page's stream had sent its first event."""
    key = "%s|%s|%s|2" % (dest, DATES[0], DATES[1])
    first = next((e[3] for e in stream_events if e[1] == "message"), None)
    out = {}
    for s in sups:
        at = _agg.http_json(s.url + "/stats")[1]["answered_at"].get(key)
        shown = next((m["t"] for m in meta if m["statuses"].get(s.sname, "pending") != "pending"), None)
        if at and shown and first and first < at:
            out[s.sname] = round(shown - at, 2)
    return out


@pytest.fixture(scope="module")
def agg():
    """The running aggregator (and its cluster), stopped at the end."""
    need = page_test.missing()
    if need:
        pytest.skip("the page test needs: apt-get install %s" % " ".join(need))
    c = _agg.Cluster()
    try:
        cache = c.start_cache()
        sups = [c.start_supplier("fast", 100), c.start_supplier("medium", 1000),
                c.start_supplier("slow", SLOW_MS)]
        conf = c.write_config("page", cache.port, [(s.sname, s.url) for s in sups])
        a = c.start_aggregator("page", conf)
        owner = c.start_aggregator("owner", conf)
        for x in (a, owner):
            _agg.wait_until(lambda: status(x)["cache"] == "connected" and status(x)["subscriber"]
                            in ("connected", "refused"), 10, "aggregator connected to the cache")
        a.cluster, a.cache, a.sups, a.conf, a.owner = c, cache, sups, conf, owner
        yield a
        for p in c.procs:       # shown only when a case failed
            print("--- %s log tail:\n%s" % (p.name, p.tail(15)))
    finally:
        c.close()


@pytest.fixture(scope="module")
def res(agg):
    """What the browser saw (page_test.run's result); a failed run fails every case."""
    shot = os.environ.get("AGG_SCREENSHOT", os.path.join(agg.cluster.dir, "page.png"))
    before = status(agg)
    r = page_test.run(agg.url, "Amsterdam", "slow", screenshot=shot)
    after = status(agg)
    r["server_api_requests"] = after["api_requests"] - before["api_requests"]
    r["server_streams"] = after["live_streams"] - before["live_streams"]
    print("first rows after %s ms, complete after %s ms; polls seen by the page "
          "[ms, suppliers answered, rows]: %s; stream events [ms, kind, answered]: %s"
          % (r.get("first_row_ms"), r.get("complete_ms"), r.get("polls"),
             [e[:3] for e in r.get("stream_events", [])]))
    assert r["ok"], r.get("error")
    return r


def test_first_rows_before_the_slowest_supplier(res):
    assert res["first_row_ms"] < SLOW_MS and res["at_first_row"]["slow_status"] == "pending" \
        and res["at_first_row"]["percent"] < 100, (res["first_row_ms"], res["at_first_row"])


def test_final_table_sorted_by_price(res):
    prices = [row["price_cents"] for row in res["final_rows"]]
    assert prices and prices == sorted(prices), prices


def test_table_sorted_at_every_update(res):
    snaps = res["snapshots"]
    assert snaps and all([r[1] for r in snap] == sorted(r[1] for r in snap)
                         for snap in snaps), snaps


def test_a_cheaper_offer_arrived_and_moved_up(res):
    snaps = res["snapshots"]
    moved = [(prev_i, i, row[0]) for before, snap in zip(snaps, snaps[1:])
             for i, row in enumerate(snap) if "cheaper" in row[2]
             for prev_i in [next((j for j, r in enumerate(before) if r[0] == row[0]), None)]
             if prev_i is not None and i < prev_i]
    assert moved, snaps
    print("cheaper offers moved up (from, to, hotel): %s" % moved)


def test_progress_bar_at_100(res):
    assert res["progress_percent"] == 100, res["progress_percent"]


def test_table_equals_the_api_answer(agg, res):
    q = urllib.parse.urlencode({"destination": "Amsterdam", "checkin": "2027-05-04",
                                "checkout": "2027-05-06", "guests": 2})
    api = _agg.http_json(agg.url + "/api/hotels?" + q)[1]
    assert api["is_completed"] and [
        {"id": h["id"], "price_cents": h["price_cents"], "supplier": h["supplier"],
         "name": h["name"]} for h in api["hotels"]] == res["final_rows"], (api, res["final_rows"])


def test_a_reload_shows_the_same_prices(res):
    assert res["reload_rows"] == res["final_rows"], res["reload_rows"]


def test_only_localhost_traffic(res):
    assert res["foreign_requests"] == [] and res["requests"] > 0, \
        (res["foreign_requests"], res["requests"])


def test_rows_arrive_through_the_stream_without_polling(res):
    """Two page views (the search, then the reload): each is the page and one event
    stream; no /api/hotels request, seen by the page (fetch), by Chromium and by the
    aggregator."""
    urls = [u for u in res["request_urls"] if u.startswith("http")]  # not data: images
    polls = [u for u in urls if "/api/hotels?" in u]
    streams = [u for u in urls if "/api/hotels/live?" in u]
    assert res["polls"] == [] and polls == [] and res["server_api_requests"] == 0, (res["polls"], urls)
    assert len(streams) == 2 and res["server_streams"] == 2 and len(urls) == 4, urls
    messages = [e for e in res["stream_events"] if e[1] == "message"]
    assert [e[2] for e in messages] == [0, 1, 2, 3], res["stream_events"]
    print("requests per page view: %d (the page and one event stream); %d events in the first"
          % (len(urls) // 2, len(messages)))


def test_supplier_to_browser_latency(agg, res):
    """A supplier's answer reaches the page within the bound: through the aggregator's own
    fan-out (res: the page's aggregator took the lease) and through pub/sub (another
    aggregator owns the search; the page's aggregator only subscribes)."""
    own = latencies(agg.sups, "amsterdam", res["meta"], res["stream_events"])
    dest = "Oslo"
    r = page_test.run_scenario(
        agg.url, dest, [("wait", '#status[data-state="done"]', "the search done")],
        before_submit=lambda: _agg.http_json(agg.owner.url + api_query(dest)), dates=DATES)
    assert r["ok"], r.get("error")
    via_pubsub = latencies(agg.sups, "oslo", r["meta"], r["stream_events"])
    samples = list(own.values()) + list(via_pubsub.values())
    print("supplier answer -> row in the browser, ms: own fan-out %s, via pub/sub from another "
          "aggregator %s; median %.1f, max %.1f" % (own, via_pubsub, statistics.median(samples),
                                                   max(samples)))
    assert len(own) >= 2 and len(via_pubsub) >= 2, (own, via_pubsub, r["stream_events"])
    if status(agg)["subscriber"] == "connected":
        assert status(agg)["messages"] > 0
    assert statistics.median(samples) < LATENCY_MEDIAN_MS and max(samples) < LATENCY_MAX_MS, samples


def test_reconnect_gets_the_current_entry(agg):
    """The page's aggregator is killed mid-search and started again on its port: the
    browser's EventSource reconnects by itself, and its first event is the current entry,
    with the answer that came while it was away; the page completes."""
    c = agg.cluster
    watch = c.start_aggregator("watch", agg.conf)
    _agg.wait_until(lambda: status(watch)["cache"] == "connected", 10, "cache")
    dest = "Reykjavik"
    port = watch.port
    box = {}

    def kill():
        watch.kill(signal.SIGKILL)
        return True

    def medium_answered():
        return _agg.wait_until(lambda: _agg.http_json(agg.owner.url + api_query(dest))[1]
                               ["suppliers"]["medium"] == "ok", 5, "the medium supplier's answer")

    def restart():
        box["watch"] = c.start_aggregator("watch2", agg.conf, port)
        return True

    steps = [
        ("js", "window.__es.some(e => e[1] === 'message' && e[2] >= 1)", "the fast answer streamed"),
        ("call", kill, "the page's aggregator killed"),
        ("call", medium_answered, "the medium supplier answered meanwhile"),
        ("call", restart, "the page's aggregator back"),
        ("js", "(() => { const i = window.__es.findIndex(e => e[1] === 'error'); "
               "return i >= 0 && window.__es.slice(i).some(e => e[1] === 'message'); })()",
         "an event after the reconnect"),
        ("wait", '#status[data-state="done"]', "the search done"),
    ]
    r = page_test.run_scenario(watch.url, dest, steps, dates=DATES,
                               before_submit=lambda: _agg.http_json(agg.owner.url + api_query(dest)))
    print("steps [what, ms, value]: %s; stream events: %s" % (r["steps"], [e[:3] for e in r["stream_events"]]))
    assert r["ok"], r.get("error")
    ev = r["stream_events"]
    i = next(k for k, e in enumerate(ev) if e[1] == "error")
    after = [e for e in ev[i:] if e[1] == "message"]
    assert after[0][2] >= 2, ("the first event after the reconnect is not current", ev)
    assert len(r["streams"]) == 1, r["streams"]  # the browser reconnected, not the page's code
    assert status(box["watch"])["live_streams"] >= 1
    api = _agg.http_json(agg.owner.url + api_query(dest))[1]
    assert api["is_completed"] and [{"id": h["id"], "price_cents": h["price_cents"], "supplier": h["supplier"],
                                     "name": h["name"]} for h in api["hotels"]] == r["final_rows"]
    assert not any("/api/hotels?" in u for u in r["request_urls"]), r["request_urls"]


def test_degraded_fallback_then_live_again(agg):
    """Runs last: kills the cache. Mid-search the cache dies: the stream says so and the
    page polls the degraded answer; once the cache is back, a poll answer is not degraded
    and the page listens again, and completes through the stream."""
    c = agg.cluster
    slow6 = c.start_supplier("slow6", 6000)
    conf = c.write_config("fallback", agg.cache.port, [(s.sname, s.url) for s in agg.sups[:2]]
                          + [(slow6.sname, slow6.url)], timeout_ms=8000)
    fb = c.start_aggregator("fallback", conf)
    _agg.wait_until(lambda: status(fb)["cache"] == "connected", 10, "cache")
    port = agg.cache.port
    box = {}

    def kill_cache():
        agg.cache.kill(signal.SIGKILL)
        return True

    def restart_cache():
        agg.cache = c.start_cache(port)
        box["back"] = time.monotonic()
        return True

    steps = [
        ("wait", "#mode[data-mode=live]", "live"),
        ("js", "document.querySelectorAll('#results tbody tr').length > 0", "the first rows"),
        ("call", kill_cache, "the cache killed"),
        ("wait", "#mode[data-mode=polling]", "polling"),
        ("js", "document.getElementById('status').className === 'degraded' && window.__polls.length >= 2",
         "degraded answers polled"),
        ("call", restart_cache, "the cache back"),
        ("wait", "#mode[data-mode=live]", "live again"),
        ("wait", '#status[data-state="done"]', "the search done"),
    ]
    dest = "Tromso"
    r = page_test.run_scenario(fb.url, dest, steps, dates=DATES)
    print("steps [what, ms, value]: %s; polls [ms, answered, rows]: %s; stream events: %s"
          % (r["steps"], r["polls"], [e[:3] for e in r["stream_events"]]))
    assert r["ok"], r.get("error")
    t = {what: ms for what, ms, _ in r["steps"]}
    polls = r["polls"]
    assert len(polls) >= 2 and all(t["the cache killed"] <= p[0] <= t["live again"] for p in polls), (t, polls)
    assert [e[1] for e in r["stream_events"]].count("degraded") == 1, r["stream_events"]
    assert len(r["streams"]) == 2, r["streams"]  # live, then live again
    last = [e for e in r["stream_events"] if e[1] == "message"][-1]
    assert last[2] == 3 and last[0] > t["live again"] - 50, r["stream_events"]
    api = _agg.http_json(fb.url + api_query(dest))[1]
    assert api["is_completed"] and not api["degraded"] and api["suppliers"]["slow6"] == "ok", api
    assert [{"id": h["id"], "price_cents": h["price_cents"], "supplier": h["supplier"],
             "name": h["name"]} for h in api["hotels"]] == r["final_rows"]
    assert "cache unavailable" not in r["status_text"] and r["mode"] == "idle", (r["status_text"], r["mode"])
