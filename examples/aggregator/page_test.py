"""page_test.py: drives the aggregator's page in headless Chromium and returns what it saw.

Debian's own packages only: python3-selenium with chromium-driver (/usr/bin/chromedriver)
and chromium (/usr/bin/chromium). run(url, destination, slow_supplier) fills the search
form, submits it and records: how long the first table rows took and the page's state
then, every rendering of the table (a MutationObserver) with the wall-clock time it
happened (performance.timeOrigin + performance.now(), in ms, comparable with the mock
suppliers' answered_at) and the suppliers' statuses shown then, the final rows, the
progress bar, the rows after a reload, the /api/hotels polls the page made (fetch wrapped
in the page), the event streams it opened and their events (EventSource wrapped), and
every request the browser made (Chromium's performance log), of which the ones not to
127.0.0.1/localhost are listed as foreign (a resolver rule makes them fail anyway);
requests of the browser's own new-tab page (chrome://, chrome-untrusted://) are not the
page's and are left out.
run_scenario() drives one search through a test's actions (stop the cache, restart the
aggregator, ...) between waits for the page's state, for the fallback and reconnect
tests.
Usable alone: python3 page_test.py --url http://127.0.0.1:PORT --destination D
--slow-supplier slow [--screenshot FILE] prints the result as JSON.
"""
import json
import os
import shutil
import tempfile
import time
import urllib.parse

BROWSER_OWN = ("chrome://", "chrome-untrusted://", "chrome-search://")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def missing():
    """What this needs and is not installed, as apt package names ([] when ready)."""
    out = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        out.append("python3-selenium")
    if not os.access(CHROMIUM, os.X_OK):
        out.append("chromium")
    if not os.access(CHROMEDRIVER, os.X_OK):
        out.append("chromium-driver")
    return out


def _driver(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
              "--user-data-dir=" + profile, "--window-size=1000,900",
              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def _wait(driver, timeout_s, what, cond):
    """Poll cond(driver) every 20 ms until it is true (returned) or the deadline passes."""
    end = time.monotonic() + timeout_s
    while True:
        v = cond(driver)
        if v:
            return v
        if time.monotonic() >= end:
            raise TimeoutError("timed out after %.0fs waiting for %s" % (timeout_s, what))
        time.sleep(0.02)


def _css(sel):
    from selenium.webdriver.common.by import By
    return lambda d: d.find_elements(By.CSS_SELECTOR, sel)


# Record each /api/hotels poll: [ms since submit, suppliers answered, rows].
WRAP_FETCH = """
window.__polls = []; window.__t0 = 0;
const realFetch = window.fetch;
window.fetch = async (...a) => {
  const r = await realFetch(...a);
  if (String(a[0]).includes("/api/hotels") && window.__t0) {
    const at = Math.round(performance.now() - window.__t0);
    try { const j = await r.clone().json(); window.__polls.push([at, j.answered, j.hotels.length]); }
    catch (e) { window.__polls.push([at, -1, 0]); }
  }
  return r;
};
"""

FILL = """
for (const [name, value] of Object.entries(arguments[0])) {
  const el = document.querySelector("input[name=" + name + "]");
  el.value = value;
  el.dispatchEvent(new Event("input", {bubbles: true}));
  el.dispatchEvent(new Event("change", {bubbles: true}));
}
"""

# Snapshot the table whenever it changes: [[id, price_cents, class], ...] per render, and
# beside it {t: wall-clock ms, statuses: {supplier: status}, mode: "live"|"polling"|...}.
OBSERVE = """
window.__snaps = []; window.__meta = [];
const tbody = document.querySelector("#results tbody");
const observer = new MutationObserver(() => {
  const t = performance.timeOrigin + performance.now();
  window.__snaps.push([...tbody.children].map(tr =>
    [tr.dataset.id, Number(tr.dataset.priceCents), tr.className]));
  const statuses = {};
  for (const li of document.querySelectorAll("#suppliers li"))
    statuses[li.textContent.split(":")[0]] = li.dataset.status;
  window.__meta.push({t: t, statuses: statuses, rows: tbody.children.length,
                      mode: document.getElementById("mode").dataset.mode});
});
observer.observe(tbody, {childList: true});
observer.observe(document.getElementById("suppliers"), {childList: true});
"""

# Record the event streams the page opens: [[ms since submit, kind, answered or
# readyState, wall-clock ms], ...] (kind: open, message, degraded, error) in window.__es,
# the URLs in window.__streams.
WRAP_EVENTSOURCE = """
window.__es = []; window.__streams = [];
const RealES = window.EventSource;
window.EventSource = function (url, opts) {
  const es = new RealES(url, opts);
  window.__streams.push(String(url));
  const rec = (kind, v) => window.__es.push([Math.round(performance.now() - (window.__t0 || 0)),
                                             kind, v, performance.timeOrigin + performance.now()]);
  es.addEventListener("open", () => rec("open", null));
  es.addEventListener("message", ev => {
    let n = -1;
    try { n = JSON.parse(ev.data).answered; } catch (e) {}
    rec("message", n);
  });
  es.addEventListener("degraded", () => rec("degraded", null));
  es.addEventListener("error", () => rec("error", es.readyState));
  return es;
};
window.EventSource.CONNECTING = 0; window.EventSource.OPEN = 1; window.EventSource.CLOSED = 2;
"""

AT_FIRST_ROW = """
const slow = arguments[0];
const li = [...document.querySelectorAll("#suppliers li")]
  .find(li => li.textContent.startsWith(slow + ":"));
return {rows: document.querySelectorAll("#results tbody tr").length,
        percent: Number(document.getElementById("progress").dataset.percent),
        slow_status: li ? li.dataset.status : null};
"""

READ_ROWS = """
return [...document.querySelectorAll("#results tbody tr")].map(tr => ({
  id: tr.dataset.id, price_cents: Number(tr.dataset.priceCents),
  supplier: tr.dataset.supplier, name: tr.children[1].textContent}));
"""


def run(url, destination, slow_supplier, screenshot=None, timeout_s=20.0):
    """Drive the page; returns a dict (ok, error, first_row_ms, at_first_row, complete_ms,
    final_rows, snapshots, progress_percent, status_text, reload_rows, polls, requests,
    foreign_requests)."""
    profile = tempfile.mkdtemp(prefix="aggregator-chromium-")
    out = {"foreign_requests": [], "requests": 0}
    driver = None
    seen = []

    def drain_requests():
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") != "Network.requestWillBeSent":
                continue
            # the browser's own new-tab page loads before ours (chrome://, and on Debian's
            # Chromium 13x also chrome-untrusted://new-tab-page/...): not the page's
            url = msg["params"]["request"]["url"]
            if msg["params"].get("documentURL", "").startswith(BROWSER_OWN) or url.startswith(BROWSER_OWN):
                continue
            seen.append(url)

    try:
        driver = _driver(profile)
        driver.get(url + "/")
        _wait(driver, timeout_s, "the search form", _css("button[type=submit]"))
        driver.execute_script(WRAP_FETCH)
        driver.execute_script(WRAP_EVENTSOURCE)
        driver.execute_script(FILL, {"destination": destination, "checkin": "2027-05-04",
                                     "checkout": "2027-05-06", "guests": "2"})
        driver.execute_script(OBSERVE)
        driver.execute_script("window.__t0 = performance.now();")
        t0 = time.monotonic()
        _css("button[type=submit]")(driver)[0].click()
        _wait(driver, timeout_s, "the first table row", _css("#results tbody tr"))
        out["first_row_ms"] = int((time.monotonic() - t0) * 1000)
        out["at_first_row"] = driver.execute_script(AT_FIRST_ROW, slow_supplier)
        _wait(driver, timeout_s, "the progress bar at 100%",
              _css('#progress[data-percent="100"]'))
        _wait(driver, timeout_s, "the status done", _css('#status[data-state="done"]'))
        out["complete_ms"] = int((time.monotonic() - t0) * 1000)
        out["final_rows"] = driver.execute_script(READ_ROWS)
        out["snapshots"] = driver.execute_script(
            "return window.__snaps.filter(s => s.length);")
        out["polls"] = driver.execute_script("return window.__polls;")
        out["meta"] = driver.execute_script("return window.__meta;")
        out["streams"] = driver.execute_script("return window.__streams;")
        out["stream_events"] = driver.execute_script("return window.__es;")
        out["progress_percent"] = int(float(driver.execute_script(
            'return document.getElementById("progress").dataset.percent;')))
        out["status_text"] = driver.execute_script(
            'return document.getElementById("status").textContent;')
        out["url"] = driver.current_url
        if screenshot:
            driver.save_screenshot(screenshot)
        # A reload within the TTL shows the same prices, complete at once.
        driver.refresh()
        _wait(driver, timeout_s, "the status done after a reload",
              _css('#status[data-state="done"]'))
        out["reload_rows"] = driver.execute_script(READ_ROWS)
        drain_requests()
        out["ok"] = True
    except Exception as e:  # reported in the result, as the test prints it
        out["ok"] = False
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if driver is not None:
            try:
                drain_requests()
            except Exception:
                pass
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    out["requests"] = len(seen)
    out["request_urls"] = list(seen)
    for u in seen:
        p = urllib.parse.urlsplit(u)
        if not (p.scheme == "data" or p.hostname in ("127.0.0.1", "localhost")):
            out["foreign_requests"].append(u)
    return out


def run_scenario(url, destination, steps, timeout_s=20.0, dates=("2027-05-04", "2027-05-06"),
                 before_submit=None):
    """Load the page, call before_submit() if given, submit a search, then take steps in
    order: ("wait", css, what) waits for an element,
    ("js", expr, what) waits for a JS expression to be truthy, ("call", fn, what) calls
    fn() (fn's return value is kept). Returns a dict (ok, error, steps: [[what, ms since
    submit, value]], final_rows, status_text, mode, snapshots, meta, polls, streams,
    stream_events, request_urls); the page's state is read even when a step failed."""
    from selenium.webdriver.common.by import By
    profile = tempfile.mkdtemp(prefix="aggregator-chromium-")
    out = {"steps": []}
    driver = None
    seen = []
    try:
        driver = _driver(profile)
        driver.get(url + "/")
        _wait(driver, timeout_s, "the search form", _css("button[type=submit]"))
        driver.execute_script(WRAP_FETCH)
        driver.execute_script(WRAP_EVENTSOURCE)
        driver.execute_script(FILL, {"destination": destination, "checkin": dates[0],
                                     "checkout": dates[1], "guests": "2"})
        driver.execute_script(OBSERVE)
        if before_submit:
            before_submit()
        driver.execute_script("window.__t0 = performance.now();")
        t0 = time.monotonic()
        driver.find_elements(By.CSS_SELECTOR, "button[type=submit]")[0].click()
        for kind, arg, what in steps:
            if kind == "wait":
                v = bool(_wait(driver, timeout_s, what, _css(arg)))
            elif kind == "js":
                v = _wait(driver, timeout_s, what, lambda d: d.execute_script("return " + arg))
            else:
                v = arg()
            out["steps"].append([what, int((time.monotonic() - t0) * 1000), v])
        out["ok"] = True
    except Exception as e:  # reported in the result, as the test prints it
        out["ok"] = False
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if driver is not None:
            try:
                out["final_rows"] = driver.execute_script(READ_ROWS)
                out["status_text"] = driver.execute_script(
                    'return document.getElementById("status").textContent;')
                out["mode"] = driver.execute_script(
                    'return document.getElementById("mode").dataset.mode;')
                out["snapshots"] = driver.execute_script("return window.__snaps;")
                out["meta"] = driver.execute_script("return window.__meta;")
                out["polls"] = driver.execute_script("return window.__polls;")
                out["streams"] = driver.execute_script("return window.__streams;")
                out["stream_events"] = driver.execute_script("return window.__es;")
                for entry in driver.get_log("performance"):
                    msg = json.loads(entry["message"])["message"]
                    if msg.get("method") != "Network.requestWillBeSent":
                        continue
                    url = msg["params"]["request"]["url"]
                    if not (msg["params"].get("documentURL", "").startswith(BROWSER_OWN)
                            or url.startswith(BROWSER_OWN)):
                        seen.append(url)
            except Exception as e:
                out.setdefault("error", "reading the page: %r" % e)
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    out["request_urls"] = seen
    return out


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--destination", default="Amsterdam")
    ap.add_argument("--slow-supplier", default="slow")
    ap.add_argument("--screenshot")
    ap.add_argument("--timeout-ms", type=int, default=20000)
    a = ap.parse_args()
    if missing():
        raise SystemExit("page_test.py needs: apt-get install %s" % " ".join(missing()))
    res = run(a.url, a.destination, a.slow_supplier, a.screenshot, a.timeout_ms / 1000.0)
    print(json.dumps(res))
    raise SystemExit(0 if res["ok"] else 1)
