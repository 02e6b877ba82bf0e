// Drives the peer daemon's web interface in Debian's chromium (headless, playwright-core from
// tests/dashboard/node_modules). Two modes:
//   node webui_test.mjs media OUT.webm
//       records a canvas animation to WebM in chromium itself (MediaRecorder): a real file the
//       page's <video> can play, with no ffmpeg.
//   node webui_test.mjs run PEER CACHE BULK_TORRENT BULK_MAGNET CLIP_TORRENT SHOT_DIR
//       logs in through `PEER ui --no-open`, works the page as a user would and checks the
//       browser security; prints its figures. webui.sh starts the daemon, tracker and seeder.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(new URL("../dashboard/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const [mode, ...args] = process.argv.slice(2);

function fail(message) {
  console.error(`FAIL (webui): ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}
function check(condition, message) {
  if (!condition) fail(message);
}

const browser = await chromium.launch({
  executablePath: browserPath,
  args: ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
});
try {
  if (mode === "media") await recordClip(args[0]);
  else if (mode === "run") await run(...args);
  else fail(`unknown mode '${mode}': media or run`);
} finally {
  await browser.close();
}

async function recordClip(out) {
  const page = await browser.newPage();
  const base64 = await page.evaluate(async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 640;
    canvas.height = 360;
    document.body.appendChild(canvas);
    const context = canvas.getContext("2d");
    let frame = 0;
    // Noise under the text: the encoder has something to spend its bit rate on, so the clip is
    // large enough to be still downloading while it plays.
    const draw = () => {
      const noise = context.createImageData(640, 360);
      const pixels = new Uint32Array(noise.data.buffer);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.random() * 0xffffff) | 0xff000000;
      context.putImageData(noise, 0, 0);
      context.fillStyle = `hsl(${(frame * 4) % 360} 70% 45%)`;
      context.fillRect(40, 100, 560, 160);
      context.fillStyle = "#fff";
      context.font = "64px sans-serif";
      context.fillText(`nearcast ${(frame / 30).toFixed(1)}`, 80, 205);
      frame++;
    };
    draw();
    const timer = setInterval(draw, 1000 / 30);
    const recorder = new MediaRecorder(canvas.captureStream(30), { mimeType: "video/webm;codecs=vp8", videoBitsPerSecond: 4000000 });
    const chunks = [];
    recorder.ondataavailable = event => chunks.push(event.data);
    const stopped = new Promise(resolve => (recorder.onstop = resolve));
    recorder.start(500);
    await new Promise(resolve => setTimeout(resolve, 10000));
    recorder.stop();
    await stopped;
    clearInterval(timer);
    const bytes = new Uint8Array(await new Blob(chunks, { type: "video/webm" }).arrayBuffer());
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  });
  const bytes = Buffer.from(base64, "base64");
  check(bytes.length > 10000, `the recorded clip has only ${bytes.length} bytes`);
  fs.writeFileSync(out, bytes);
  console.log(`clip: ${bytes.length} bytes of WebM (VP8) recorded by chromium`);
}

// One request straight to the daemon (not through the browser): any Host, any header.
function request(base, { method = "GET", target = "/", headers = {}, body } = {}) {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const sent = http.request({ host: url.hostname, port: url.port, method, path: target, headers }, answer => {
      let text = "";
      answer.on("data", chunk => (text += chunk));
      answer.on("end", () => resolve({ status: answer.statusCode, headers: answer.headers, body: text }));
    });
    sent.on("error", reject);
    if (body !== undefined) sent.write(body);
    sent.end();
  });
}

async function waitFor(what, test, seconds = 60, every = 200) {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const value = await test();
    if (value) return value;
    if (Date.now() > until) fail(`${what}: not within ${seconds} s`);
    await new Promise(resolve => setTimeout(resolve, every));
  }
}

async function run(peer, cache, bulkTorrent, bulkMagnet, clipTorrent, shots) {
  const control = JSON.parse(fs.readFileSync(path.join(cache, "control.json"), "utf8"));
  const base = control.url, token = control.token;
  const api = async target => JSON.parse((await request(base, { target, headers: { Authorization: `Bearer ${token}` } })).body);
  const itemNamed = async name => (await api("/status")).items.find(item => item.name === name);

  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const urls = [];
  page.on("request", r => urls.push(r.url()));
  page.on("dialog", dialog => dialog.accept());
  const row = name => page.locator("#items tr", { has: page.locator("td.name", { hasText: name }) });

  // Security: without a session, the page sends the browser to the login form.
  let answer = await page.goto(base + "/");
  check(page.url() === base + "/login", `/ without a session went to ${page.url()}, not /login`);
  check(answer.status() === 200 && (await page.locator("#token").count()) === 1, "the login form is not shown");
  await page.screenshot({ path: path.join(shots, "login.png") });
  // The page may load media only from the stream servers' host, nothing from elsewhere.
  const policy = answer.headers()["content-security-policy"] || "";
  check(/(^|; )default-src 'none'(;|$)/.test(policy) && /(^|; )media-src http:\/\/127\.0\.0\.1:\*(;|$)/.test(policy),
        `the page's Content-Security-Policy is '${policy}'`);
  for (const target of ["/", "/login", "/session", "/status"]) {
    const refused = await request(base, { target, headers: { Host: `evil.example:${new URL(base).port}` } });
    check(refused.status === 403, `Host evil.example on ${target} got ${refused.status}, not 403`);
  }
  const fromElsewhere = await request(base, { method: "POST", target: "/login", headers: { Origin: "http://evil.example", "Content-Type": "application/x-www-form-urlencoded" }, body: `token=${token}` });
  check(fromElsewhere.status === 403, `a login posted from Origin evil.example got ${fromElsewhere.status}, not 403`);
  const noCredentials = await request(base, { method: "POST", target: "/fetch", body: "magnet:?xt=urn:btih:" + "a".repeat(40) });
  check(noCredentials.status === 401, `POST /fetch without token or session got ${noCredentials.status}, not 401`);
  console.log("security: / without a session goes to /login; Host or Origin evil.example gets 403; no credentials 401; media only from http://127.0.0.1:*");

  // Log in with the one-time link: the token is in no URL.
  const link = execFileSync(peer, ["ui", "--no-open", "--cache", cache], { encoding: "utf8" }).trim();
  check(link.startsWith(base + "/login?code=") && !link.includes(token), `nearcast-peer ui printed '${link}'`);
  await page.goto(link);
  check(page.url() === base + "/", `the login link led to ${page.url()}, not /`);
  await page.locator("#empty").waitFor({ state: "visible" });
  const cookie = (await context.cookies()).find(c => c.name.startsWith("nearcast_session_"));
  check(cookie, "no session cookie was set");
  check(cookie.httpOnly && cookie.sameSite === "Strict" && cookie.path === "/", `the cookie is ${JSON.stringify({ ...cookie, value: "..." })}`);
  check(cookie.value.length === 64, `the session id has ${cookie.value.length} hex digits, not 64 (32 bytes)`);
  check((await page.evaluate(() => document.cookie)) === "", "the page's script can read the session cookie");
  console.log("login: the one-time link set an HttpOnly, SameSite=Strict session cookie and led to the page");

  // The same link again, in another browser profile: refused.
  const other = await browser.newContext();
  const second = await other.newPage();
  answer = await second.goto(link);
  check(answer.status() === 403 && (await second.locator("#login-error").count()) === 1, `a used login link got ${answer.status()}`);
  check((await other.cookies()).length === 0, "a used login link set a cookie");
  // The login form: a wrong token is refused, the right one logs in.
  await second.fill("#token", "not-the-token");
  await second.click("button[type=submit]");
  await second.locator("#login-error", { hasText: "not the token" }).waitFor({ timeout: 10000 });
  check(second.url() === base + "/login", `a wrong token led to ${second.url()}`);
  await second.fill("#token", token);
  await second.click("button[type=submit]");
  await second.waitForURL(base + "/");
  await other.close();
  // The answer to a login link itself: 303 to / with the cookie's flags.
  const another = execFileSync(peer, ["ui", "--no-open", "--cache", cache], { encoding: "utf8" }).trim();
  const raw = await request(base, { target: new URL(another).pathname + new URL(another).search });
  const setCookie = (raw.headers["set-cookie"] || []).join("; ");
  check(raw.status === 303 && raw.headers.location === "/", `a login link got ${raw.status} to ${raw.headers.location}, not 303 to /`);
  check(/HttpOnly/.test(setCookie) && /SameSite=Strict/.test(setCookie) && /Path=\//.test(setCookie), `Set-Cookie: ${setCookie}`);
  console.log("login: a used link gets 403; the form refuses a wrong token and takes the right one; a link answers 303 to / with " +
              setCookie.replace(/=[0-9a-f]{64}/, "=..."));

  // CSRF: the cookie alone does not make a POST; nor a wrong token; the page's does.
  const csrfCheck = await page.evaluate(async () => {
    const post = headers => fetch("/limits?uploading=on", { method: "POST", headers }).then(r => r.status);
    const csrf = (await (await fetch("/session")).json()).csrf;
    return { none: await post({}), wrong: await post({ "X-CSRF-Token": "0".repeat(64) }), right: await post({ "X-CSRF-Token": csrf }) };
  });
  check(csrfCheck.none === 403 && csrfCheck.wrong === 403 && csrfCheck.right === 200, `CSRF: ${JSON.stringify(csrfCheck)}`);
  const wrongMethod = await page.evaluate(async () => (await fetch("/status", { method: "POST", headers: { "X-CSRF-Token": (await (await fetch("/session")).json()).csrf } })).status);
  check(wrongMethod === 405, `POST /status from the page got ${wrongMethod}, not 405`);
  const unknown = await page.evaluate(async () => (await fetch("/nothing-here")).status);
  check(unknown === 404, `GET /nothing-here from the page got ${unknown}, not 404`);
  console.log("csrf: a POST with the cookie and no or a wrong X-CSRF-Token gets 403, with the page's 200; 404 and 405 kept");

  // A limit through the page: downloads at 1000 kB/s, slow enough to watch.
  await page.fill("#download-kb", "1000");
  await page.click("#limits-apply");
  await waitFor("the download limit applied", async () => (await api("/status")).download_limit === 1000000, 10);

  // Add the bulk item by its .torrent file, watch it download.
  const started = Date.now();
  await page.setInputFiles("#add-file", bulkTorrent);
  await row("bulk.bin").waitFor({ timeout: 15000 });
  const during = await waitFor("bulk.bin downloading with a rate and an ETA", async () => {
    const item = await itemNamed("bulk.bin");
    const pct = await row("bulk.bin").locator(".pct").textContent();
    const eta = await row("bulk.bin").locator(".eta").textContent();
    const percent = parseFloat(pct);
    return item && item.rate > 0 && item.eta > 0 && percent >= 15 && percent < 80 && /\d/.test(eta) ? { item, pct, eta } : null;
  }, 60);
  await page.screenshot({ path: path.join(shots, "downloading.png"), fullPage: true });
  check(during.item.sources.origin > 0, `bulk.bin shows no bytes from the origin: ${JSON.stringify(during.item.sources)}`);
  const shownId = await row("bulk.bin").locator("td.id").textContent();
  check(shownId === during.item.id.slice(0, 8), `bulk.bin's ID column shows '${shownId}', not the start of ${during.item.id}`);
  const shownState = await row("bulk.bin").locator(".state").textContent();
  check(shownState === "downloading", `bulk.bin is shown as '${shownState}' while it downloads`);
  console.log(`downloading: ${during.pct} shown, averaged rate ${(during.item.rate / 1000).toFixed(0)} kB/s, ETA ${during.item.eta} s (page: ${during.eta}), ` +
              `from origin ${during.item.sources.origin} B, near ${during.item.sources.near} B, far ${during.item.sources.far} B`);

  // Lift the limit through the page; it finishes.
  await page.fill("#download-kb", "0");
  await page.click("#limits-apply");
  await waitFor("bulk.bin shown at 100%", async () => (await row("bulk.bin").locator(".pct").textContent()) === "100%", 60);
  const finishSeconds = (Date.now() - started) / 1000;
  await waitFor("bulk.bin shown seeding", async () => (await row("bulk.bin").locator(".state").textContent()) === "seeding", 10);
  await page.screenshot({ path: path.join(shots, "finished.png"), fullPage: true });
  const bulk = await itemNamed("bulk.bin");
  check(bulk.complete && bulk.eta === 0, `bulk.bin at 100% but the status says ${JSON.stringify(bulk)}`);
  console.log(`finished: bulk.bin (12 MB) shown at 100% ${finishSeconds.toFixed(1)} s after it was added (1000 kB/s at first)`);

  // The clip by the URL of its .torrent, which the daemon fetches; then it plays in the page.
  const torrentServer = http.createServer((_, reply) => reply.end(fs.readFileSync(clipTorrent)));
  await new Promise(resolve => torrentServer.listen(0, "127.0.0.1", resolve));
  const torrentUrl = `http://127.0.0.1:${torrentServer.address().port}/clip.torrent`;
  await page.fill("#add-link", "https://127.0.0.1:1/no-server-there.torrent");
  await page.click("#add-button");
  await page.locator("#message.shown.error").waitFor({ timeout: 30000 });
  const shownError = await page.locator("#message-text").textContent();
  check(/add:/.test(shownError), `a URL that does not answer showed '${shownError}'`);
  console.log(`error shown in the page: ${shownError}`);
  // At 1500 kB/s, above the clip's bit rate (about 600 kB/s): it plays while it downloads.
  await page.fill("#download-kb", "1500");
  await page.click("#limits-apply");
  await waitFor("the download limit applied", async () => (await api("/status")).download_limit === 1500000, 10);
  await page.fill("#add-link", torrentUrl);
  await page.click("#add-button");
  await row("clip.webm").waitFor({ timeout: 30000 });
  torrentServer.close();
  await waitFor("the clip's metadata", async () => (await itemNamed("clip.webm")) !== undefined, 30);
  await row("clip.webm").locator("button.play").click();
  const atPlay = await itemNamed("clip.webm");
  await page.locator("#player.shown").waitFor();
  const played = await waitFor("the clip playing for 2 s", async () => {
    const state = await page.evaluate(() => ({ time: document.getElementById("video").currentTime, paused: document.getElementById("video").paused,
                                              error: document.getElementById("video").error?.message }));
    if (state.error) fail(`the video element failed: ${state.error}`);
    return state.time >= 2 && !state.paused ? state : null;
  }, 30);
  const atTwo = await itemNamed("clip.webm");
  await page.screenshot({ path: path.join(shots, "playing.png"), fullPage: true });
  const src = await page.evaluate(() => document.getElementById("video").currentSrc);
  const share = item => `${(100 * item.bytes_done / Math.max(item.bytes_wanted, 1)).toFixed(0)}%`;
  console.log(`playing: clip.webm at ${played.time.toFixed(1)} s in the page's <video>, not paused, from ${src}; ` +
              `downloaded ${share(atPlay)} when Play was clicked, ${share(atTwo)} at 2 s played`);
  await waitFor("the clip shown at 100%", async () => (await row("clip.webm").locator(".pct").textContent()) === "100%", 60);
  const playedAll = await page.evaluate(() => document.getElementById("video").currentTime);
  await page.fill("#download-kb", "0");
  await page.click("#limits-apply");

  // Play on an item that is not media (random bytes): the page says the browser cannot play
  // it and where a player finds its stream, and the player closes.
  await row("bulk.bin").locator("button.play").click();
  await page.locator("#message.shown.error").waitFor({ timeout: 15000 });
  const notMedia = await page.locator("#message-text").textContent();
  check(/bulk\.bin: this browser cannot play it; a player such as mpv or VLC can open its stream at http:\/\/127\./.test(notMedia),
        `Play on bulk.bin (not media) said '${notMedia}'`);
  check(!(await page.locator("#player.shown").count()), "the player stayed open on an item the browser cannot play");
  console.log(`not media: ${notMedia}`);

  // The supernode panel, fed what a supernode's /status says (a daemon is elected only by a
  // tracker that measured it: tests/peer/supernode_swarm.sh runs real ones).
  const panel = await page.evaluate(() => {
    renderSupernode({ tracker: "http://127.0.0.1:6969", role: "supernode", admission_limit: 8, children: 2,
                      child_addresses: ["127.10.0.21", "127.10.0.22"], max_children_seen: 3, refused: 1, capacity: 2500000,
                      reports: 12, failed_reports: 0, prefetched: 4, fellows: 2, origin_held_back: 0, interval: 5 });
    return document.getElementById("supernode-body").textContent;
  });
  check(panel.includes("supernode") && panel.includes("2 of 8 admitted") && panel.includes("127.10.0.21, 127.10.0.22"),
        `the supernode panel shows '${panel}'`);
  await page.screenshot({ path: path.join(shots, "supernode.png"), fullPage: true });
  await waitFor("the panel back to this daemon's own role (none)", async () => /does not offer/.test(await page.locator("#supernode-body").textContent()), 5);
  console.log(`supernode panel: ${panel.slice(0, 80)}...`);

  // A removal names what it keeps: data=keep or data=delete, nothing else.
  const badRemove = await request(base, { method: "POST", target: `/remove?id=${bulk.id}&data=maybe`, headers: { Authorization: `Bearer ${token}` } });
  check(badRemove.status === 400 && badRemove.body.includes("data=maybe"), `data=maybe got ${badRemove.status}: ${badRemove.body}`);

  // Pause and resume.
  await row("bulk.bin").locator("button.toggle").click();
  await waitFor("bulk.bin shown paused", async () => (await row("bulk.bin").locator(".state").textContent()) === "paused", 10);
  check((await itemNamed("bulk.bin")).state === "paused", "the daemon does not say bulk.bin is paused");
  await row("bulk.bin").locator("button.toggle").click();
  await waitFor("bulk.bin shown seeding again", async () => (await row("bulk.bin").locator(".state").textContent()) === "seeding", 10);
  console.log("pause and resume: bulk.bin paused, then seeding again");

  // The upload switch.
  await page.uncheck("#uploading");
  await waitFor("uploading off", async () => (await api("/status")).uploading === false, 10);
  await waitFor("the header says upload off", async () => (await page.locator("#upload-state").textContent()) === "off", 10);
  await waitFor("whole items shown complete, not seeding", async () => (await row("bulk.bin").locator(".state").textContent()) === "complete", 10);
  await page.check("#uploading");
  await waitFor("uploading on", async () => (await api("/status")).uploading === true, 10);
  await waitFor("whole items seeding again", async () => (await row("bulk.bin").locator(".state").textContent()) === "seeding", 10);
  console.log("upload switch: off (whole items 'complete', out of their swarms) and on again ('seeding'), as the daemon says");

  // Remove keeping the files; then the magnet link brings it back from them, checked not fetched.
  const bulkFile = path.join(cache, "content", bulk.id, "bulk.bin");
  await row("bulk.bin").locator("button.remove").click();
  await row("bulk.bin").waitFor({ state: "detached", timeout: 10000 });
  check(!(await itemNamed("bulk.bin")), "bulk.bin is still an item after Remove");
  await new Promise(resolve => setTimeout(resolve, 1000));
  check(fs.existsSync(bulkFile) && fs.statSync(bulkFile).size === 12000000, `Remove (keep files) did not keep ${bulkFile}`);
  check(!fs.existsSync(path.join(cache, "torrents", bulk.id + ".torrent")), "Remove kept the item's .torrent");
  console.log(`remove, keeping the files: bulk.bin gone from the list, ${bulkFile} kept whole`);
  await page.fill("#add-link", bulkMagnet);
  await page.click("#add-button");
  await row("bulk.bin").waitFor({ timeout: 30000 });
  await waitFor("bulk.bin from its kept files shown at 100%", async () => (await row("bulk.bin").locator(".pct").textContent()) === "100%", 60);
  console.log("magnet: bulk.bin added back by its magnet link, whole from the kept files");

  // Delete the clip while it plays: the player closes, the files go.
  const clip = await itemNamed("clip.webm");
  const clipFolder = path.join(cache, "content", clip.id);
  check(fs.existsSync(path.join(clipFolder, "clip.webm")), "the clip is not on disk");
  await row("clip.webm").locator("button.delete").click();
  await row("clip.webm").waitFor({ state: "detached", timeout: 10000 });
  check(!(await page.locator("#player.shown").count()), "the player stayed open for a deleted item");
  await waitFor("the clip's files deleted", async () => !fs.existsSync(path.join(clipFolder, "clip.webm")), 15);
  console.log("remove with the files: clip.webm gone from the list and from the disk");

  // Log out: the page wants a login again; the old cookie is dead.
  await page.click("#logout button");
  await page.waitForURL(base + "/login");
  const dead = await request(base, { target: "/status", headers: { Cookie: `${cookie.name}=${cookie.value}` } });
  check(dead.status === 401, `the session cookie still works after logout (${dead.status})`);
  const leaked = urls.filter(u => u.includes(token));
  check(leaked.length === 0, `the token was in URLs the page loaded: ${leaked.join(" ")}`);
  console.log(`logout: the session is closed; the token was in none of the ${urls.length} URLs the browser loaded`);
  console.log(`figures: bulk.bin finished in ${finishSeconds.toFixed(1)} s; the clip played ${played.time.toFixed(1)} s (${playedAll.toFixed(1)} s once whole); ` +
              `screenshots in ${shots}`);
}
