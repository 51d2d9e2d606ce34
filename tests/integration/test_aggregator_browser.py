#!/usr/bin/python3
"""test_aggregator_browser.py: the aggregator's web page in headless Chromium.

Starts a cache server ($RESPITE_SERVER, else redis-server), three mock suppliers (0.1 s,
1 s, 3 s) and an aggregator, then runs examples/aggregator/page_test.mjs (playwright-core
driving Debian's /usr/bin/chromium) and checks: the first rows appear before the slowest
supplier answers, the table is sorted at every update and a cheaper offer moves up as it
arrives, the final table equals the API's answer, the progress bar reaches 100%, a reload
shows the same prices, and the page made only localhost requests. Needs apt packages chromium and nodejs/npm; runs `npm ci` in
examples/aggregator when node_modules is missing. Skips (exit 0) only when chromium or
node is not installed. Prints "N passed, M failed" last."""
import json
import os
import shutil
import subprocess
import sys
import traceback
import urllib.parse

SRC = os.environ.get("RESPITE_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
AGG = os.path.join(SRC, "examples", "aggregator")
sys.path.insert(0, AGG)
from harness import Cluster, http_json, wait_until  # noqa: E402

SLOW_MS = 3000


def ensure_node_modules():
    if os.path.isdir(os.path.join(AGG, "node_modules", "playwright-core")):
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=AGG, check=True,
                   stdout=sys.stdout, stderr=sys.stderr, timeout=300)


def main():
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium) or not shutil.which("node") or not shutil.which("npm"):
        print("SKIP: needs Debian's chromium and nodejs/npm (apt-get install chromium nodejs npm)")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    passed = failed = 0
    c = Cluster()
    try:
        ensure_node_modules()
        cache = c.start_cache()
        sups = [c.start_supplier("fast", 100), c.start_supplier("medium", 1000),
                c.start_supplier("slow", SLOW_MS)]
        conf = c.write_config("page", cache.port, [(s.sname, s.url) for s in sups])
        agg = c.start_aggregator("page", conf)
        wait_until(lambda: http_json(agg.url + "/api/status")[1]["cache"] == "connected", 10,
                   "aggregator connected to the cache")
        shot = os.environ.get("AGG_SCREENSHOT", os.path.join(c.dir, "page.png"))
        r = subprocess.run(["node", os.path.join(AGG, "page_test.mjs"), "--url", agg.url,
                            "--destination", "Amsterdam", "--slow-supplier", "slow",
                            "--screenshot", shot],
                           cwd=AGG, capture_output=True, text=True, timeout=120)
        sys.stderr.write(r.stderr)
        res = json.loads(r.stdout.strip().splitlines()[-1])
        assert res["ok"], res.get("error")
        checks = []

        def check(name, cond, detail):
            checks.append((name, cond))
            print("%s %s%s" % ("PASS" if cond else "FAIL", name, "" if cond else ": %s" % detail))

        check("first rows before the slowest supplier answered",
              res["first_row_ms"] < SLOW_MS and res["at_first_row"]["slow_status"] == "pending"
              and res["at_first_row"]["percent"] < 100, res["at_first_row"])
        prices = [row["price_cents"] for row in res["final_rows"]]
        check("final table sorted by price", prices == sorted(prices) and prices, prices)
        snaps = res["snapshots"]
        check("table sorted at every update", snaps and all(
            [r[1] for r in snap] == sorted(r[1] for r in snap) for snap in snaps), snaps)
        moved = [(prev_i, i, row[0]) for before, snap in zip(snaps, snaps[1:])
                 for i, row in enumerate(snap) if "cheaper" in row[2]
                 for prev_i in [next((j for j, r in enumerate(before) if r[0] == row[0]), None)]
                 if prev_i is not None and i < prev_i]
        check("a cheaper offer arrived and moved up", moved, snaps)
        check("progress bar at 100%", res["progress_percent"] == 100, res["progress_percent"])
        q = urllib.parse.urlencode({"destination": "Amsterdam", "checkin": "2027-05-04",
                                    "checkout": "2027-05-06", "guests": 2})
        api = http_json(agg.url + "/api/hotels?" + q)[1]
        check("table equals the API's complete answer", api["is_completed"] and [
            {"id": h["id"], "price_cents": h["price_cents"], "supplier": h["supplier"],
             "name": h["name"]} for h in api["hotels"]] == res["final_rows"],
            (api, res["final_rows"]))
        check("a reload shows the same prices", res["reload_rows"] == res["final_rows"],
              res["reload_rows"])
        check("only localhost traffic", res["foreign_requests"] == [] and res["requests"] > 0,
              res["foreign_requests"])
        print("    first rows after %d ms, complete after %d ms; %d table updates; cheaper "
              "offers moved up (from, to, hotel): %s" % (res["first_row_ms"], res["complete_ms"],
                                                         len(snaps), moved))
        if os.environ.get("AGG_SCREENSHOT"):
            print("    screenshot: %s" % shot)
        print("    polls seen by the page [ms, suppliers answered, rows]: %s" % res["polls"])
        passed = sum(1 for _, ok in checks if ok)
        failed = len(checks) - passed
    except Exception:
        failed += 1
        traceback.print_exc()
        for p in c.procs:
            print("--- %s log tail:\n%s" % (p.name, p.tail(15)))
    finally:
        c.close()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
