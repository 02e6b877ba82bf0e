// The tracker's status page: one HTML file with its script and styles inline (no outside
// assets, so it works on a machine without Internet access), which reads /stats every two
// seconds and draws with plain SVG.
#include "service.hpp"

namespace nearcast::tracker::server {

namespace {

constexpr const char* page = R"PAGE(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>nearcast tracker</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .status { margin-left: auto; font-size: 12px; opacity: .8; }
  header .status.error { color: #ff8a80; opacity: 1; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; padding: 16px 20px; }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  section h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: #556; }
  .figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
  .figure { text-align: center; }
  .figure b { display: block; font-size: 26px; font-variant-numeric: tabular-nums; }
  .figure span { font-size: 12px; color: #667; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; }
  td.number { text-align: right; }
  .empty { color: #889; font-style: italic; }
  svg text { font: 11px system-ui, sans-serif; fill: #334; }
</style>
</head>
<body>
<header>
  <h1>nearcast tracker</h1>
  <span>up <b id="uptime">-</b></span>
  <span><b id="announce-rate">-</b> announces/s</span>
  <span class="status" id="status">connecting to /stats ...</span>
</header>
<main>
  <section>
    <h2>Swarms</h2>
    <div class="figures">
      <div class="figure"><b id="swarms">-</b><span>swarms</span></div>
      <div class="figure"><b id="peers">-</b><span>peers</span></div>
      <div class="figure"><b id="seeders">-</b><span>seeders</span></div>
      <div class="figure"><b id="leechers">-</b><span>leechers</span></div>
      <div class="figure"><b id="origins">-</b><span>origin seeders</span></div>
      <div class="figure"><b id="items">-</b><span>registered items</span></div>
      <div class="figure"><b id="announces">-</b><span>announces</span></div>
      <div class="figure"><b id="refused">-</b><span>refused</span></div>
    </div>
  </section>
  <section>
    <h2>Origin savings against a CDN</h2>
    <div class="figures">
      <div class="figure"><b id="savings">-</b><span>origin savings: 1 - origins sent / a CDN would send</span></div>
      <div class="figure"><b id="cdn-bytes">-</b><span>a CDN would send (viewers' downloads)</span></div>
      <div class="figure"><b id="origin-bytes">-</b><span>sent by origins</span></div>
      <div class="figure"><b id="cache-fill">-</b><span>supernodes' cache fills</span></div>
      <div class="figure"><b id="downloads">-</b><span>downloads counted</span></div>
    </div>
    <svg id="offload-chart" width="100%" height="190" viewBox="0 0 460 190" role="img"
         aria-label="bytes a CDN would have sent and bytes the origins sent over time"></svg>
  </section>
  <section>
    <h2>Peers per AS</h2>
    <svg id="as-chart" width="100%" height="40" role="img" aria-label="peers per AS"></svg>
  </section>
  <section>
    <h2>Peers handed out, by network distance</h2>
    <svg id="distance-chart" width="100%" height="40" role="img" aria-label="peers returned by distance class"></svg>
  </section>
  <section>
    <h2>Supernodes</h2>
    <p><b id="supernode-count">-</b> elected of <b id="candidates">-</b> candidates; highest load seen
       <b id="max-load">-</b> children</p>
    <table>
      <thead><tr><th>endpoint</th><th>AS</th><th>children / limit</th><th>load</th><th>kind</th></tr></thead>
      <tbody id="supernodes"><tr><td colspan="5" class="empty">none elected</td></tr></tbody>
    </table>
  </section>
</main>
<script>
"use strict";
const palette = ["#3867d6", "#20bf6b", "#f7b731", "#eb3b5a", "#8854d0", "#0fb9b1", "#fa8231", "#4b6584"];
let refreshes = 0;

function text(id, value) { document.getElementById(id).textContent = value; }

function bytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; ++i; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + " " + units[i];
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
}

function svgElement(name, attributes, content) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (content !== undefined) element.textContent = content;
  return element;
}

// Horizontal bars, one a row: [[label, value], ...].
function bars(id, rows) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  const width = svg.clientWidth || 460, row = 22, labelWidth = 110, valueWidth = 60;
  svg.setAttribute("height", Math.max(row, rows.length * row) + 4);
  if (!rows.length) {
    svg.appendChild(svgElement("text", {x: 0, y: 15}, "nothing yet"));
    return;
  }
  const most = Math.max(1, ...rows.map(r => r[1]));
  rows.forEach(([label, value], i) => {
    const y = i * row + 2, span = width - labelWidth - valueWidth;
    svg.appendChild(svgElement("text", {x: 0, y: y + 14}, label));
    svg.appendChild(svgElement("rect", {x: labelWidth, y: y + 3, height: row - 8,
      width: Math.max(1, span * value / most), fill: palette[i % palette.length]}));
    svg.appendChild(svgElement("text", {x: width - valueWidth + 6, y: y + 14, "data-label": label}, String(value)));
  });
}

// Two cumulative lines (what a CDN would have sent, what the origins sent) and the origin
// savings over the tracker's series [at_s, peers_downloaded, origin_bytes, cache_fill_bytes].
function offloadChart(series) {
  const svg = document.getElementById("offload-chart");
  svg.replaceChildren();
  const width = 460, height = 190, left = 58, bottom = 22, top = 8, right = 8;
  if (series.length < 2) {
    svg.appendChild(svgElement("text", {x: left, y: 90}, "waiting for a second sample ..."));
    return;
  }
  const t0 = series[0][0], t1 = Math.max(series[series.length - 1][0], t0 + 1);
  const cdn = p => p[1] - (p[3] || 0);
  const most = Math.max(1, ...series.map(p => Math.max(cdn(p), p[2])));
  const x = t => left + (width - left - right) * (t - t0) / (t1 - t0);
  const y = v => height - bottom - (height - bottom - top) * v / most;
  svg.appendChild(svgElement("line", {x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, stroke: "#99a"}));
  svg.appendChild(svgElement("line", {x1: left, y1: top, x2: left, y2: height - bottom, stroke: "#99a"}));
  svg.appendChild(svgElement("text", {x: 2, y: top + 10}, bytes(most)));
  svg.appendChild(svgElement("text", {x: 2, y: height - bottom}, "0"));
  svg.appendChild(svgElement("text", {x: left, y: height - 6}, "-" + duration(t1 - t0)));
  svg.appendChild(svgElement("text", {x: width - right - 24, y: height - 6}, "now"));
  // The savings so far, on their own scale: 0 (or less) at the bottom, 100% at the top.
  const savings = p => cdn(p) > 0 ? Math.max(0, 1 - p[2] / cdn(p)) * most : 0;
  [[cdn, "#20bf6b", "a CDN would send"], [p => p[2], "#eb3b5a", "origins sent"],
   [savings, "#3867d6", "savings (0-100%)"]].forEach(([value, colour, label], i) => {
    const points = series.map(p => x(p[0]).toFixed(1) + "," + y(value(p)).toFixed(1)).join(" ");
    svg.appendChild(svgElement("polyline", {points, fill: "none", stroke: colour, "stroke-width": 2,
      "stroke-dasharray": i === 2 ? "5 3" : "none"}));
    svg.appendChild(svgElement("rect", {x: left + 10 + i * 125, y: top + 2, width: 10, height: 10, fill: colour}));
    svg.appendChild(svgElement("text", {x: left + 24 + i * 125, y: top + 11}, label));
  });
}

function supernodes(info) {
  text("supernode-count", info.elected.length);
  text("candidates", info.candidates);
  text("max-load", info.max_load_seen);
  const body = document.getElementById("supernodes");
  body.replaceChildren();
  if (!info.elected.length) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 5;
    cell.className = "empty";
    cell.textContent = "none elected";
    return;
  }
  for (const node of info.elected) {
    const row = body.insertRow();
    row.insertCell().textContent = node.endpoint;
    row.insertCell().textContent = "AS" + node.as;
    const load = row.insertCell();
    load.className = "number";
    load.textContent = node.children + " / " + node.admission_limit;
    const meter = document.createElement("meter");
    meter.max = Math.max(1, node.admission_limit);
    meter.value = node.children;
    row.insertCell().appendChild(meter);
    row.insertCell().textContent = node.operated ? "operator's server" : "peer";
  }
}

function show(stats) {
  text("uptime", duration(stats.uptime_s));
  text("announce-rate", stats.announces_per_second.toFixed(1));
  for (const key of ["swarms", "peers", "seeders", "leechers", "origins", "announces", "refused"]) text(key, stats[key]);
  text("items", stats.registered_items);
  const transfer = stats.transfer;
  text("savings", transfer.cdn_bytes ? (100 * transfer.origin_savings).toFixed(1) + "%" : "-");
  text("cdn-bytes", bytes(transfer.cdn_bytes));
  text("cache-fill", bytes(transfer.cache_fill_bytes));
  text("origin-bytes", bytes(transfer.origin_bytes));
  text("downloads", transfer.downloads);
  offloadChart(transfer.series);
  bars("as-chart", Object.entries(stats.peers_per_as).sort((a, b) => b[1] - a[1]));
  const nearestFirst = ["same-subnet", "same-prefix", "same-as", "adjacent-as", "as-hops", "unknown"];
  const rank = name => (nearestFirst.indexOf(name) + nearestFirst.length + 1) % (nearestFirst.length + 1);
  bars("distance-chart", Object.entries(stats.returned_by_distance).sort((a, b) => rank(a[0]) - rank(b[0])));
  supernodes(stats.supernodes);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const answer = await fetch("/stats", {cache: "no-store"});
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    show(await answer.json());
    ++refreshes;
    status.className = "status";
    status.textContent = "updated " + new Date().toLocaleTimeString() + " (refresh " + refreshes + ")";
    status.dataset.refreshes = refreshes;
  } catch (error) {
    status.className = "status error";
    status.textContent = "cannot read /stats: " + error.message + "; trying again";
  }
}

refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)PAGE";

}  // namespace

http_answer tracker_service::dashboard() { return {200, "text/html; charset=utf-8", page}; }

}  // namespace nearcast::tracker::server
