"""test_aggregator_browser.py: the aggregator's web page in headless Chromium.

Starts a cache server ($RESPITE_SERVER, else redis-server), three mock suppliers (0.1 s,
1 s, 3 s) and an aggregator, then drives the page with examples/aggregator/page_test.py
(Debian's python3-selenium, chromium-driver and chromium) and checks: the first rows
appear before the slowest supplier answers, the table is sorted at every update and a
cheaper offer moves up as it arrives, the final table equals the API's answer, the
progress bar reaches 100%, a reload shows the same prices, and the page made only
localhost requests. Skipped, naming the packages, when any of those three is missing.
AGG_SCREENSHOT=FILE keeps a screenshot of the finished page.
"""
import os
import sys
import urllib.parse

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

_agg = harness.aggregator_harness()
sys.path.insert(0, os.path.dirname(_agg.__file__))
import page_test  # noqa: E402

SLOW_MS = 3000


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
        _agg.wait_until(lambda: _agg.http_json(a.url + "/api/status")[1]["cache"] == "connected",
                        10, "aggregator connected to the cache")
        a.cluster = c
        yield a
        for p in c.procs:       # shown only when a case failed
            print("--- %s log tail:\n%s" % (p.name, p.tail(15)))
    finally:
        c.close()


@pytest.fixture(scope="module")
def res(agg):
    """What the browser saw (page_test.run's result); a failed run fails every case."""
    shot = os.environ.get("AGG_SCREENSHOT", os.path.join(agg.cluster.dir, "page.png"))
    r = page_test.run(agg.url, "Amsterdam", "slow", screenshot=shot)
    print("first rows after %s ms, complete after %s ms; polls seen by the page "
          "[ms, suppliers answered, rows]: %s" % (r.get("first_row_ms"), r.get("complete_ms"),
                                                  r.get("polls")))
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
