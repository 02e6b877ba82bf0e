#include "web_ui.hpp"

namespace nearcast::peer::client {

namespace {

// Shared by both pages: the page's colours and type.
constexpr std::string_view common_style = R"css(
:root { --bg:#f6f7f9; --panel:#fff; --ink:#1d2330; --muted:#667085; --line:#e3e6eb; --accent:#2563eb;
        --near:#16a34a; --far:#f59e0b; --origin:#64748b; --bad:#b42318; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:center; gap:1.5em; padding:.6em 1.2em; background:#1d2330; color:#fff; }
header h1 { font-size:1.15em; margin:0; letter-spacing:.02em; }
main { padding:1em 1.2em; display:grid; gap:1em; }
section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:.8em 1em; }
h2 { font-size:1em; margin:0 0 .6em; }
button, input, select { font:inherit; }
button { border:1px solid var(--line); background:#fff; border-radius:5px; padding:.25em .7em; cursor:pointer; }
button:hover { border-color:var(--accent); }
button.primary { background:var(--accent); color:#fff; border-color:var(--accent); }
input[type=text], input[type=number], input[type=password] { border:1px solid var(--line); border-radius:5px; padding:.3em .5em; }
.error { background:#fef3f2; border:1px solid #fecdca; color:var(--bad); border-radius:6px; padding:.5em .8em; }
)css";

constexpr std::string_view page_head = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>nearcast</title><style>)html";

constexpr std::string_view page_body = R"html(
header .figures { display:flex; gap:1.2em; font-size:.92em; color:#cbd5e1; flex-wrap:wrap; }
header .figures b { color:#fff; font-weight:600; }
header form { margin-left:auto; }
header button { background:transparent; color:#cbd5e1; border-color:#475467; }
#add { display:flex; gap:.5em; flex-wrap:wrap; align-items:center; }
#add input[type=text] { flex:1; min-width:18em; }
#message { display:none; justify-content:space-between; gap:1em; }
#message.shown { display:flex; }
#message.info { background:#eff8ff; border-color:#b2ddff; color:#175cd3; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:.45em .5em; border-bottom:1px solid var(--line); vertical-align:middle; white-space:nowrap; }
th { font-weight:600; color:var(--muted); font-size:.85em; text-transform:uppercase; letter-spacing:.03em; }
td.name { white-space:normal; word-break:break-all; max-width:22em; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.bar { position:relative; width:11em; height:1.15em; background:#eef0f3; border-radius:4px; overflow:hidden; }
.bar .fill { position:absolute; inset:0 auto 0 0; background:var(--accent); }
.bar.done .fill { background:var(--near); }
.bar span { position:absolute; inset:0; text-align:center; font-size:.8em; line-height:1.45em; color:#111; }
.sources { display:flex; height:.5em; width:9em; border-radius:3px; overflow:hidden; background:#eef0f3; margin-bottom:.2em; }
.sources i { display:block; height:100%; }
.sources .near, .key .near { background:var(--near); } .sources .far, .key .far { background:var(--far); }
.sources .origin, .key .origin { background:var(--origin); }
.key i { display:inline-block; width:.7em; height:.7em; border-radius:2px; margin:0 .25em 0 .6em; }
.src-text { font-size:.8em; color:var(--muted); }
.state { font-size:.85em; padding:.1em .5em; border-radius:10px; background:#eef0f3; }
.state.downloading { background:#dbeafe; } .state.seeding { background:#dcfce7; } .state.paused { background:#fef3c7; } .state.partial { background:#ede9fe; }
.state.error { background:#fee4e2; color:var(--bad); }
.actions button { margin-right:.25em; }
#empty { color:var(--muted); padding:.6em 0; }
.row2 { display:grid; grid-template-columns:1fr 1fr; gap:1em; }
@media (max-width: 900px) { .row2 { grid-template-columns:1fr; } }
#limits label { display:inline-flex; flex-direction:column; font-size:.85em; color:var(--muted); margin-right:.8em; }
#limits input[type=number] { width:8em; }
.usage { margin-top:.8em; }
.usage .bar { width:100%; }
.switch { display:flex; align-items:center; gap:.5em; margin-top:.8em; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:.2em 1em; margin:0; }
dt { color:var(--muted); }
dd { margin:0; }
video { width:100%; max-height:60vh; background:#000; border-radius:6px; }
#player { display:none; }
#player.shown { display:block; }
.muted { color:var(--muted); }
</style></head><body>
<header><h1>nearcast</h1>
<div class="figures"><span>down <b id="total-down">0 B/s</b></span><span>up <b id="total-up">0 B/s</b></span>
<span>cache <b id="cache">-</b></span><span>upload <b id="upload-state">-</b></span></div>
<form method="post" action="/logout" id="logout"><button type="submit">Log out</button></form></header>
<main>
<div id="message" class="error" role="alert"><span id="message-text"></span><button id="message-close" title="Dismiss">&times;</button></div>
<section><h2>Add an item</h2>
<form id="add"><input type="text" id="add-link" placeholder="magnet:?xt=urn:btih:... or https://.../item.torrent" autocomplete="off">
<button type="submit" class="primary" id="add-button">Add</button>
<span class="muted">or a .torrent file:</span> <input type="file" id="add-file" accept=".torrent,application/x-bittorrent"></form></section>
<section><h2>Items <span class="key muted" style="font-weight:normal;font-size:.85em">
<i class="near"></i>near peers<i class="far"></i>far peers<i class="origin"></i>origin</span></h2>
<table><thead><tr><th title="the start of the info hash, as nearcast-peer list shows it">ID</th><th>Name</th><th>Size</th><th>Progress</th><th>State</th><th>Down</th><th>Up</th><th>ETA</th><th>Peers</th>
<th title="bytes received for the item from each kind of source, pieces fetched again after a repair included">From</th><th></th></tr></thead><tbody id="items"></tbody></table><div id="empty">No items yet: add a magnet link, a URL or a .torrent above.</div></section>
<section id="player"><h2>Playing <span id="player-name"></span> <button id="player-close">Close</button></h2>
<video id="video" controls preload="auto"></video></section>
<div class="row2">
<section><h2>Limits</h2>
<form id="limits"><label>Upload, kB/s (0: none)<input type="number" id="upload-kb" min="0" step="any"></label>
<label>Download, kB/s (0: none)<input type="number" id="download-kb" min="0" step="any"></label>
<label>Monthly upload cap, MB (0: none)<input type="number" id="cap-mb" min="0" step="any"></label>
<button type="submit" class="primary" id="limits-apply">Apply</button></form>
<div class="usage"><div class="muted">Uploaded this month: <span id="month-used">-</span></div>
<div class="bar" id="month-bar"><div class="fill"></div><span></span></div></div>
<label class="switch"><input type="checkbox" id="uploading"> Upload to other peers (seeding)</label></section>
<section id="supernode"><h2>Supernode</h2><div id="supernode-body" class="muted"></div></section>
</div></main>
<script>
"use strict";
const $ = id => document.getElementById(id);
let csrf = "";
let playing = null;  // the id of the item in the player
let editing = false; // the limits form keeps what the user types until applied

function human(bytes) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let unit = 0;
  bytes = Number(bytes) || 0;
  while (bytes >= 1000 && unit < units.length - 1) { bytes /= 1000; unit++; }
  return (unit === 0 ? Math.round(bytes) : bytes.toPrecision(3)) + " " + units[unit];
}
function rate(bytes) { return human(bytes) + "/s"; }
function duration(seconds) {
  if (seconds < 0 || seconds === undefined) return "\u221e";
  if (seconds === 0) return "-";
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  if (h > 99) return "\u221e";
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m ${String(s).padStart(2, "0")}s` : `${s}s`;
}

function say(text, kind = "error") {
  const box = $("message");
  box.className = "shown " + kind;
  $("message-text").textContent = text;
  clearTimeout(say.timer);
  if (kind !== "error") say.timer = setTimeout(() => (box.className = ""), 4000);
}
$("message-close").onclick = () => ($("message").className = "");

// One request to the daemon: JSON back, or an Error with what the daemon said.
async function call(method, path, body, type = "application/octet-stream") {
  const init = { method, headers: {}, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") init.headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) { init.body = body; init.headers["Content-Type"] = type; }
  let answer;
  try { answer = await fetch(path, init); } catch (e) { throw new Error("the daemon does not answer (stopped?)"); }
  const text = await answer.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  if (answer.status === 401) { location.assign("/login"); throw new Error("the session has ended: log in again"); }
  if (!answer.ok) throw new Error((json && json.error) || `${answer.status} ${answer.statusText}`);
  return json;
}
async function act(what, promise) {
  try { const result = await promise; refresh(); return result; } catch (e) { say(`${what}: ${e.message}`); }
}

function cell(row, name) { return row.querySelector("." + name); }
function makeRow(id) {
  const row = document.createElement("tr");
  row.dataset.id = id;
  row.innerHTML = `<td class="id muted"></td><td class="name"></td><td class="num size"></td>
    <td><div class="bar"><div class="fill"></div><span class="pct"></span></div></td>
    <td><span class="state"></span></td><td class="num down"></td><td class="num up"></td><td class="num eta"></td>
    <td class="num peers"></td><td><div class="sources"><i class="near"></i><i class="far"></i><i class="origin"></i></div>
    <div class="src-text"></div></td>
    <td class="actions"><button class="play" title="Play in the page while it downloads">Play</button><button class="toggle"></button><button class="remove" title="Forget the item, keep its files on disk">Remove</button><button class="delete" title="Forget the item and delete its files">Delete</button></td>`;
  cell(row, "play").onclick = () => play(id);
  cell(row, "toggle").onclick = () => {
    const paused = row.dataset.state === "paused";
    act(paused ? "resume" : "pause", call("POST", `/${paused ? "resume" : "pause"}?id=${id}`));
  };
  cell(row, "remove").onclick = () => {
    if (confirm(`Remove ${row.dataset.name} from the list? Its files stay on disk:\n${row.dataset.path}`)) remove(id, "keep");
  };
  cell(row, "delete").onclick = () => {
    if (confirm(`Remove ${row.dataset.name} and delete its files?`)) remove(id, "delete");
  };
  return row;
}
async function remove(id, data) {
  if (playing === id) closePlayer();
  const done = await act("remove", call("POST", `/remove?id=${id}&data=${data}`));
  if (done) say(data === "keep" ? "Removed; the files are kept on disk." : "Removed, and the files deleted.", "info");
}

function render(status) {
  const body = $("items");
  const seen = new Set();
  let down = 0, up = 0;
  for (const item of status.items) {
    seen.add(item.id);
    let row = body.querySelector(`tr[data-id="${item.id}"]`);
    if (!row) { row = makeRow(item.id); body.appendChild(row); }
    const state = item.error ? "error" : item.state;
    row.dataset.state = state;
    row.dataset.name = item.name || item.id;
    row.dataset.path = item.path;
    down += item.rate; up += item.upload_rate;
    const wanted = item.bytes_wanted, done = item.bytes_done;
    const percent = item.complete ? 100 : wanted > 0 ? Math.min(99.9, Math.floor(1000 * done / wanted) / 10) : 0;
    // Two items of one name told apart as `nearcast-peer list` does.
    cell(row, "id").textContent = item.id.slice(0, 8);
    cell(row, "id").title = item.id;
    cell(row, "name").textContent = item.name || "(metadata coming) " + item.id;
    cell(row, "name").title = item.path;
    cell(row, "size").textContent = wanted > 0 ? human(wanted) : "?";
    cell(row, "bar").classList.toggle("done", item.complete);
    cell(row, "fill").style.width = percent + "%";
    cell(row, "pct").textContent = percent + "%";
    const badge = cell(row, "state");
    badge.textContent = item.error ? "error: " + item.error : item.state;
    badge.className = "state " + state;
    cell(row, "down").textContent = rate(item.rate);
    cell(row, "up").textContent = rate(item.upload_rate);
    cell(row, "eta").textContent = item.complete ? "-" : duration(item.eta);
    cell(row, "peers").textContent = item.peers;
    const { near, far, origin } = item.sources, all = near + far + origin;
    for (const kind of ["near", "far", "origin"]) {
      row.querySelector(".sources ." + kind).style.width = all > 0 ? (100 * item.sources[kind] / all) + "%" : "0";
    }
    cell(row, "src-text").textContent = `near ${human(near)} \u00b7 far ${human(far)} \u00b7 origin ${human(origin)}`;
    cell(row, "toggle").textContent = state === "paused" ? "Resume" : "Pause";
    cell(row, "play").disabled = !item.name;
  }
  for (const row of [...body.children]) if (!seen.has(row.dataset.id)) row.remove();
  $("empty").style.display = status.items.length ? "none" : "block";
  $("total-down").textContent = rate(down);
  $("total-up").textContent = rate(up);
  $("cache").textContent = `${human(status.cache_bytes)} of ${human(status.quota)}`;
  $("upload-state").textContent = !status.uploading ? "off" : status.upload_now === 0 ? "off (monthly cap reached)"
    : status.upload_now < 0 ? "on, unlimited" : "on, " + rate(status.upload_now);
  if (!editing) {
    $("upload-kb").value = status.upload_limit / 1000;
    $("download-kb").value = status.download_limit / 1000;
    $("cap-mb").value = status.monthly_cap / 1e6;
  }
  if (status.switchCurrent !== false) $("uploading").checked = status.uploading;
  const cap = status.monthly_cap, used = status.uploaded_this_month;
  $("month-used").textContent = cap > 0 ? `${human(used)} of ${human(cap)}` : `${human(used)} (no cap)`;
  const share = cap > 0 ? Math.min(100, 100 * used / cap) : 0;
  $("month-bar").querySelector(".fill").style.width = share + "%";
  $("month-bar").querySelector("span").textContent = cap > 0 ? share.toFixed(1) + "%" : "";
  renderSupernode(status.supernode);
}

function renderSupernode(sn) {
  const box = $("supernode-body");
  if (!sn) {
    box.className = "muted";
    box.textContent = "This daemon does not offer itself as a supernode (--supernode-tracker).";
    return;
  }
  box.className = "";
  const children = sn.child_addresses || [];
  const rows = [["Role", sn.role], ["Tracker", sn.tracker], ["Children", `${sn.children} of ${sn.admission_limit} admitted (most seen ${sn.max_children_seen}, refused ${sn.refused})`],
    ["Capacity", rate(sn.capacity)], ["Fellow supernodes", sn.fellows], ["Pre-fetched", sn.prefetched],
    ["Reports", `${sn.reports} (${sn.failed_reports} failed)`]];
  box.innerHTML = "<dl></dl>";
  const list = box.querySelector("dl");
  for (const [name, value] of rows) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = name; dd.textContent = value ?? "-";
    list.append(dt, dd);
  }
  if (children.length) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = "Child addresses"; dd.id = "children"; dd.textContent = children.join(", ");
    list.append(dt, dd);
  }
}

let failures = 0;
// The upload switch as the user last set it wins over a status asked for before: a refresh
// under way while the switch is flipped would flip it back on the screen.
let switchFlips = 0, switchPending = 0;
async function refresh() {
  try {
    const flips = switchFlips;
    const status = await call("GET", "/status");
    status.switchCurrent = flips === switchFlips && switchPending === 0;
    render(status);
    if (failures > 0) $("message").className = "";
    failures = 0;
  } catch (e) {
    if (++failures === 2) say(e.message);
  }
}

// The item plays from its stream server: the daemon serves it on a local port of its own,
// moving the download there as the player reads and seeks, so it plays while it downloads.
async function play(id) {
  const row = document.querySelector(`tr[data-id="${id}"]`);
  const answer = await act("play", call("POST", `/stream?id=${id}`));
  if (!answer) return;
  playing = id;
  $("player").className = "shown";
  $("player-name").textContent = row ? row.dataset.name : id;
  const video = $("video");
  if (video.src !== answer.url) video.src = answer.url;
  try {
    await video.play();
  } catch (e) {
    // Not a format the browser plays (or not media at all): say so, and where a player finds it.
    if (e.name === "NotSupportedError") {
      closePlayer();
      say(`${row ? row.dataset.name : id}: this browser cannot play it; a player such as mpv or VLC can open its stream at ${answer.url}`);
    } else {
      say("the player: " + e.message);
    }
  }
}
function closePlayer() {
  const video = $("video");
  video.pause();
  video.removeAttribute("src");
  video.load();
  playing = null;
  $("player").className = "";
}
$("player-close").onclick = closePlayer;
$("video").onerror = () => {
  const error = $("video").error;
  if (playing && error) say(`the player cannot play this item (${error.message || "code " + error.code}): a format the browser does not know?`);
};

$("add").onsubmit = async event => {
  event.preventDefault();
  const link = $("add-link").value.trim();
  if (!link) return say("give a magnet link or an http(s) URL of a .torrent, or choose a .torrent file");
  if (!/^(magnet:|https?:\/\/)/i.test(link)) return say("that is neither a magnet link nor an http(s) URL");
  $("add-button").disabled = true;
  const added = await act("add", call("POST", "/fetch", link, "text/plain"));
  $("add-button").disabled = false;
  if (added) { $("add-link").value = ""; say(added.added ? "Added." : "Already in the cache: marked used again.", "info"); }
};
$("add-file").onchange = async () => {
  const file = $("add-file").files[0];
  if (!file) return;
  const added = await act("add " + file.name, call("POST", "/fetch", await file.arrayBuffer(), "application/x-bittorrent"));
  $("add-file").value = "";
  if (added) say(added.added ? `Added ${file.name}.` : `${file.name} is already in the cache.`, "info");
};

for (const id of ["upload-kb", "download-kb", "cap-mb"]) {
  $(id).addEventListener("focus", () => (editing = true));
  $(id).addEventListener("input", () => (editing = true));
}
$("limits").onsubmit = async event => {
  event.preventDefault();
  const query = new URLSearchParams({ upload_kb: $("upload-kb").value || "0", download_kb: $("download-kb").value || "0",
                                      monthly_cap_mb: $("cap-mb").value || "0" });
  const done = await act("limits", call("POST", "/limits?" + query));
  if (done) { editing = false; document.activeElement.blur(); say("Limits applied.", "info"); }
};
$("uploading").onchange = async () => {
  ++switchFlips;
  ++switchPending;
  try {
    await act("upload switch", call("POST", `/limits?uploading=${$("uploading").checked ? "on" : "off"}`));
  } finally {
    --switchPending;
  }
};

// The logout form posts with the CSRF token too.
$("logout").onsubmit = async event => {
  event.preventDefault();
  try { await fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": csrf } }); } finally { location.assign("/login"); }
};

(async () => {
  try {
    csrf = (await call("GET", "/session")).csrf;
  } catch (e) { return say(e.message); }
  refresh();
  setInterval(refresh, 1000);
})();
</script></body></html>
)html";

constexpr std::string_view login_body = R"html(
main { max-width:34em; margin:3em auto; }
form { display:flex; gap:.5em; }
form input { flex:1; }
p { color:var(--muted); }
code { background:#eef0f3; padding:.05em .3em; border-radius:3px; }
</style></head><body><header><h1>nearcast</h1></header><main><section><h2>Log in to this daemon</h2>
)html";

constexpr std::string_view login_tail = R"html(
<p>Run <code>nearcast-peer ui</code> on this machine: it opens this page logged in, with a link that works once.</p>
<p>Or paste the daemon's token (the <code>token</code> of <code>control.json</code> in its cache folder):</p>
<form method="post" action="/login"><input type="password" name="token" id="token" placeholder="token" autocomplete="off" autofocus>
<button type="submit" class="primary">Log in</button></form></section></main></body></html>
)html";

}  // namespace

std::string_view web_ui_page() {
    static const std::string page = std::string(page_head) + std::string(common_style) + std::string(page_body);
    return page;
}

std::string web_login_page(std::string_view message) {
    std::string page = std::string(page_head) + std::string(common_style) + std::string(login_body);
    if (!message.empty()) page += "<p class=\"error\" id=\"login-error\">" + std::string(message) + "</p>";
    return page + std::string(login_tail);
}

}  // namespace nearcast::peer::client
