// Opens the tracker's dashboard in Debian's chromium (headless, driven by playwright-core) and
// checks that it shows live figures: announces made here from addresses of two emulated
// networks appear as swarms, peers and peers per AS, then more announces change them without
// a reload. Saves a screenshot.
//
// Usage: node dashboard_test.mjs TRACKER_HTTP_BASE SCREENSHOT_PATH [CHROMIUM]
import http from "node:http";
import { chromium } from "playwright-core";

const [base, screenshot, browserPath = "/usr/bin/chromium"] = process.argv.slice(2);
if (!base || !screenshot) {
  console.error("usage: node dashboard_test.mjs TRACKER_HTTP_BASE SCREENSHOT_PATH [CHROMIUM]");
  process.exit(2);
}

function fail(message) {
  console.error(`FAIL (dashboard): ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

// One announce from a chosen loopback address (the tracker places it in that address's AS): a
// download that completed with `downloaded` bytes, or (0) one that just started; `cacheFill`:
// a supernode's pre-fetch, as its daemon announces it (not what a CDN would have sent).
function announce(from, swarm, peer, downloaded, cacheFill = false) {
  const [left, event] = downloaded > 0 ? [0, "completed"] : [1000, "started"];
  const hash = "%" + swarm.toString(16).padStart(2, "0") + "%AA".repeat(19);
  const id = `-NC0001-${String(peer).padStart(12, "0")}`;
  const path = `/announce?info_hash=${hash}&peer_id=${id}&port=${7000 + peer}&uploaded=0` +
    `&downloaded=${downloaded}&left=${left}&event=${event}&compact=1${cacheFill ? "&cache_fill=1" : ""}`;
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const request = http.get({ host: url.hostname, port: url.port, path, localAddress: from }, answer => {
      let body = "";
      answer.on("data", chunk => (body += chunk));
      answer.on("end", () => (body.startsWith("d8:complete") ? resolve() : reject(new Error(`announce refused: ${body}`))));
    });
    request.on("error", reject);
  });
}

// Waits until the element's text is what we expect, at most 20 s (the page refreshes every 2 s).
async function expectText(page, id, expected) {
  try {
    await page.waitForFunction(([name, want]) => document.getElementById(name)?.textContent === want, [id, expected],
      { timeout: 20000, polling: 200 });
  } catch {
    const shown = await page.evaluate(name => document.getElementById(name)?.textContent, id);
    fail(`#${id} shows '${shown}', expected '${expected}'`);
  }
}

const browser = await chromium.launch({ executablePath: browserPath, args: ["--no-sandbox", "--disable-gpu"] });
try {
  // Two swarms: three peers in AS 64512 (127.10.x), two in AS 64513 (127.20.x); four of them
  // completed downloads of 8 MB in all, 1 MB of them a supernode's cache fill.
  await announce("127.10.0.11", 1, 1, 4_000_000);
  await announce("127.10.0.12", 1, 2, 2_000_000);
  await announce("127.10.0.13", 2, 3, 0);
  await announce("127.20.0.11", 1, 4, 1_000_000);
  await announce("127.20.0.12", 2, 5, 1_000_000, true);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", error => errors.push(error.message));
  const answer = await page.goto(`${base}/dashboard`);
  if (!answer || answer.status() !== 200) fail(`GET /dashboard answered ${answer && answer.status()}`);
  await expectText(page, "swarms", "2");
  await expectText(page, "peers", "5");
  await expectText(page, "cdn-bytes", "7.0 MB");
  await expectText(page, "cache-fill", "1.0 MB");
  // The origin registered 2 MB served where a CDN would have sent the viewers' 7 MB: it saved
  // 1 - 2/7 (not the 75% of received bytes that came from peers, cache fill included).
  await expectText(page, "savings", "71.4%");
  const labels = await page.$$eval("#as-chart text[data-label]", nodes => nodes.map(n => `${n.dataset.label}=${n.textContent}`));
  if (!labels.includes("AS64512=3") || !labels.includes("AS64513=2")) fail(`peers per AS drawn as ${labels.join(", ")}`);
  const distances = await page.$$eval("#distance-chart text[data-label]", nodes => nodes.map(n => n.dataset.label));
  if (!distances.includes("same-subnet")) fail(`distance classes drawn: ${distances.join(", ")}`);
  const refreshes = Number(await page.getAttribute("#status", "data-refreshes"));

  // More announces: a third swarm and two more peers in AS 64514; the page follows by itself.
  await announce("127.30.0.11", 3, 6, 3_000_000);
  await announce("127.30.0.12", 3, 7, 1_000_000);
  await expectText(page, "swarms", "3");
  await expectText(page, "peers", "7");
  await expectText(page, "cdn-bytes", "11.0 MB");
  const later = Number(await page.getAttribute("#status", "data-refreshes"));
  if (!(later > refreshes)) fail(`the page did not refresh (${refreshes} then ${later})`);
  await page.waitForFunction(() => document.querySelectorAll("#offload-chart polyline").length === 3,
    null, { timeout: 20000, polling: 200 }).catch(() => fail("the savings chart has no lines"));
  if (errors.length) fail(`script errors on the page: ${errors.join("; ")}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`dashboard: swarms 2 -> 3 and peers 5 -> 7 shown live after ${later} refreshes; screenshot ${screenshot}`);
  console.log("PASS");
} finally {
  await browser.close();
}
