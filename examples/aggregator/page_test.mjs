// page_test.mjs: drives the aggregator's page in headless Chromium (Debian's
// /usr/bin/chromium through playwright-core) and prints what it saw as one JSON object.
// Usage: node page_test.mjs --url http://127.0.0.1:PORT --destination D --slow-supplier slow
//        [--screenshot FILE] [--timeout-ms 20000]
// Every request the page makes that is not to 127.0.0.1/localhost is listed (and cannot
// resolve).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const opts = { timeoutMs: 20000 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "").replace(/-(.)/g, (_, c) => c.toUpperCase());
  opts[k] = process.argv[i + 1];
}
opts.timeoutMs = Number(opts.timeoutMs);

const profile = mkdtempSync(join(tmpdir(), "aggregator-chromium-"));
const out = { foreign_requests: [], requests: 0 };
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"],
    viewport: { width: 1000, height: 900 },
  });
  // Watch every request (passively: interception would slow each poll down); the
  // resolver rules make any other host unreachable anyway.
  context.on("request", req => {
    const u = new URL(req.url());
    out.requests++;
    if (!(u.protocol === "data:" || u.hostname === "127.0.0.1" || u.hostname === "localhost"))
      out.foreign_requests.push(u.href);
  });
  const page = context.pages()[0] || await context.newPage();
  out.polls = [];
  let tStart = 0;
  page.on("response", async resp => {
    if (!resp.url().includes("/api/hotels") || !tStart) return;
    const at = Date.now() - tStart;
    try {
      const j = await resp.json();
      out.polls.push([at, j.answered, j.hotels.length]);
    } catch (e) { out.polls.push([at, -1, 0]); }
  });
  await page.goto(opts.url + "/", { waitUntil: "load" });
  await page.fill("input[name=destination]", opts.destination);
  await page.fill("input[name=checkin]", "2027-05-04");
  await page.fill("input[name=checkout]", "2027-05-06");
  await page.fill("input[name=guests]", "2");

  // Snapshot the table whenever it changes: [[id, price_cents, class], ...] per render.
  await page.evaluate(() => {
    window.__snaps = [];
    const tbody = document.querySelector("#results tbody");
    new MutationObserver(() => {
      window.__snaps.push([...tbody.children].map(tr =>
        [tr.dataset.id, Number(tr.dataset.priceCents), tr.className]));
    }).observe(tbody, { childList: true });
  });
  const t0 = Date.now();
  tStart = t0;
  await page.click("button[type=submit]");
  await page.waitForSelector("#results tbody tr", { timeout: opts.timeoutMs });
  out.first_row_ms = Date.now() - t0;
  out.at_first_row = await page.evaluate(slow => ({
    rows: document.querySelectorAll("#results tbody tr").length,
    percent: Number(document.getElementById("progress").dataset.percent),
    slow_status: [...document.querySelectorAll("#suppliers li")]
      .find(li => li.textContent.startsWith(slow + ":"))?.dataset.status,
  }), opts.slowSupplier);

  await page.waitForSelector('#progress[data-percent="100"]', { timeout: opts.timeoutMs });
  await page.waitForSelector('#status[data-state="done"]', { timeout: opts.timeoutMs });
  out.complete_ms = Date.now() - t0;
  const readRows = () => page.$$eval("#results tbody tr", trs => trs.map(tr => ({
    id: tr.dataset.id, price_cents: Number(tr.dataset.priceCents),
    supplier: tr.dataset.supplier, name: tr.children[1].textContent })));
  out.final_rows = await readRows();
  out.snapshots = await page.evaluate(() => window.__snaps.filter(s => s.length));
  out.progress_percent = Number(await page.getAttribute("#progress", "data-percent"));
  out.status_text = await page.textContent("#status");
  out.url = page.url();
  if (opts.screenshot) await page.screenshot({ path: opts.screenshot, fullPage: true });

  // A reload within the TTL shows the same prices, complete at once.
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector('#status[data-state="done"]', { timeout: opts.timeoutMs });
  out.reload_rows = await readRows();
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = String(e && e.stack || e);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
