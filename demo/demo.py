#!/usr/bin/env python3
"""The demo's plan and its report (demo/run.sh runs both).

plan:   who fetches what and when - a catalogue with Zipf popularity, arrivals spread over a
        window, a few streams - printed as tab-separated lines the shell reads.
report: reads what the processes wrote (fetch reports, stream reader lines, sha256 checks,
        tracker /stats samples, daemon /status answers) and prints the report, writes
        report.html with gnuplot SVG plots, and ends with the `figure NAME VALUE` lines.
sim-scenario: writes a plan as a nearcast-sim scenario and trace (the same networks, items,
        arrivals, rates and faults), for demo/calibrate.sh.
compare: the demo's figures beside the simulator's on the same workload, and the gaps.
"""
import argparse
import glob
import html
import json
import os
import random
import subprocess
import sys

# The emulated Internet of the embedded snapshot (proximity/data/loopback-internet.ipasn):
# four networks of peers and the origins' own network at the end of the AS chain.
NETWORKS = [("127.10", 64512), ("127.20", 64513), ("127.30", 64514), ("127.40", 64515)]
ORIGIN_AS = 64516
MODES = {
    # hosts per network, items, sizes (popular, other), items per host, arrival window and
    # the moment one seeder and one supernode are killed (seconds after the first arrival)
    "full": dict(hosts=6, items=12, popular=3, popular_mb=8, other_mb=3, per_host=3, window_s=50, kill_s=30, streams=3),
    "short": dict(hosts=5, items=6, popular=2, popular_mb=4, other_mb=2, per_host=2, window_s=30, kill_s=16, streams=2),
}


def asn_of(address):
    for prefix, asn in NETWORKS:
        if address.startswith(prefix + "."):
            return asn
    return ORIGIN_AS if address.startswith("127.50.") else 0


def plan(mode, seed):
    settings = MODES[mode]
    rng = random.Random(seed)
    items = settings["items"]
    weights = [1.0 / rank for rank in range(1, items + 1)]  # Zipf, exponent 1
    print(f"setting\tkill_s\t{settings['kill_s']}")
    print(f"setting\twindow_s\t{settings['window_s']}")
    for index in range(items):
        popular = index < settings["popular"]
        megabytes = settings["popular_mb"] if popular else settings["other_mb"]
        print(f"item\t{index}\titem{index:02d}.bin\t{megabytes * 1_000_000}\t{int(popular)}\t{weights[index] / sum(weights):.4f}")
    # Two daemons per network offer themselves as supernodes, so that a viewer's two
    # supernodes are both in its own network; the rest fetch or stream.
    for prefix, _ in NETWORKS:
        print(f"daemon\t{prefix}.0.2")
        print(f"daemon\t{prefix}.0.3")
    hosts = [f"{prefix}.0.{10 + i}" for i in range(settings["hosts"]) for prefix, _ in NETWORKS]
    streamers = hosts[:settings["streams"]]
    fetchers = hosts[settings["streams"]:]
    arrival = {host: round(rng.uniform(0, settings["window_s"]), 1) for host in hosts}
    for order, host in enumerate(streamers):
        # A viewer in each of the first networks streams one of the popular items.
        print(f"stream\t{host}\t{order % settings['popular']}\t{arrival[host]}")
    # Downloads per item in proportion to popularity (largest remainders), each item at least
    # once and at most once per host; then each item goes to the hosts holding fewest so far.
    slots = len(fetchers) * settings["per_host"]
    shares = [slots * weight / sum(weights) for weight in weights]
    counts = [max(1, min(len(fetchers), int(share))) for share in shares]
    for index in sorted(range(items), key=lambda i: int(shares[i]) - shares[i]):
        if sum(counts) >= slots:
            break
        counts[index] = min(len(fetchers), counts[index] + 1)
    held = {host: [] for host in fetchers}
    for index in range(items):
        order = sorted(fetchers, key=lambda host: (len(held[host]), rng.random()))
        for host in order[:counts[index]]:
            held[host].append(index)
    for host in fetchers:
        for order, item in enumerate(sorted(held[host])):
            print(f"fetch\t{host}\t{item}\t{round(arrival[host] + 2 * order, 1)}")


# The demo as a simulator scenario (demo/calibrate.sh runs both and compares): the same
# networks (the embedded loopback snapshot), items, arrivals, rates and the two faults, with
# the settings demo/run.sh gives the processes.
SIM_SETTINGS = {
    "topology.source": "proximity/data/loopback-internet.ipasn,proximity/data/loopback-internet.as-rel",
    "topology.placement": ",".join(f"{asn}:1" for _, asn in NETWORKS),  # AS64516, left over, holds the origins
    # Peers on loopback: about 40 MB/s at most in the demo's fetch reports (320 Mbit/s).
    "workload.classes": "loopback:1:320:320",
    "workload.reachable_share": 1,
    "workload.play_rate_kbps": 16000,       # the stream reader: 2 MB/s
    "workload.startup_buffer_s": 1,
    "origin.seeders": 2,
    "origin.capacity_mbps": 24,             # --upload-limit-mb 3 each
    "peer.announce_interval_s": 5,          # the tracker's --interval 5
    "peer.far_rate_limit_kbps": 800,        # the peer's --far-upload-limit-kb 100
    "supernodes.peers_per_supernode": 3,    # --supernode-ratio 3
    "supernodes.admission_limit": 12,       # --supernode-admission 12
    "supernodes.election_interval_s": 2,    # --supernode-election-every 2
    "supernodes.cache_gb": 0.5,             # the daemons' --quota-mb 500
    "supernodes.min_group_peers": 2,        # --supernode-min-peers 2
    "supernodes.min_uptime_s": 2,           # --supernode-min-uptime 2
    "supernodes.min_capacity_bytes_per_s": 0,  # --supernode-min-capacity 0
    "run.tick_s": 0.05,
    "run.strategies": "nearcast",
}
LINGER_S = 600  # fetches seed for 600 s (--seed-for), longer than the demo lasts; streams until the end


def sim_scenario(mode, plan_path, trace_path, ini_path):
    items, settings, _ = read_plan(plan_path)
    if "kill_s" not in settings or not items:
        raise ValueError(f"{plan_path}: not a demo plan (no items, or no kill_s setting)")
    kill_h = settings["kill_s"] / 3600
    daemons = []
    lines = ["# The demo's workload (demo/demo.py sim-scenario from its plan): items, daemons, sessions.",
             "# session AT_S ADDRESS:PORT ITEM KIND LINGER_S (docs/simulator.md, workload.trace)"]
    for index, info in sorted(items.items()):
        lines.append(f"item\t{index}\t{info['size']}")
    last = 0.0
    with open(plan_path) as file:
        for line in file:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "daemon":
                daemons.append(fields[1])
                lines.append(f"daemon\t{fields[1]}:6881")
            elif fields[0] in ("fetch", "stream"):
                host, item, at = fields[1], int(fields[2]), float(fields[3])
                port = 7000 + item if fields[0] == "fetch" else 7100
                kind = "download" if fields[0] == "fetch" else "stream"
                lines.append(f"session\t{at}\t{host}:{port}\t{item}\t{kind}\t{LINGER_S}")
                last = max(last, at)
    with open(trace_path, "w") as file:
        file.write("\n".join(lines) + "\n")
    values = dict(SIM_SETTINGS)
    # Paths in a scenario are taken from where nearcast-sim runs, the project root for the
    # routing data: the trace is named relative to it when it lies inside, absolute otherwise.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trace_abs = os.path.abspath(trace_path)
    inside = os.path.commonpath([root, trace_abs]) == root
    values["workload.trace"] = os.path.relpath(trace_abs, root) if inside else trace_abs
    # As long as the demo lets its downloads run after the last arrival (120 s at most).
    values["run.duration_h"] = round((last + 120) / 3600, 6)
    # Half way, origin-a (one of two origins) and the first daemon (a supernode, one of eight).
    values["faults.list"] = f"seeders:{kill_h:.6f}:0.5,supernodes:{kill_h:.6f}:{1 / max(1, len(daemons)):.4f}"
    header = [f"# The demo ({mode}) as a simulator scenario: written by demo/demo.py sim-scenario --mode {mode};",
              "# demo/calibrate.sh runs it beside the demo and compares. Paths are relative to the project root."]
    with open(ini_path, "w") as file:
        file.write("\n".join(header + [f"{key} = {value}" for key, value in sorted(values.items())]) + "\n")


# What the calibration compares, in the definitions both sides share, and how far apart the two
# may be (percentage points) for the simulator to count as reproducing the demo.
CALIBRATED = [("origin_savings_vs_cdn", "origin savings against a CDN on the same sessions"),
              ("intra_as_peer_share", "peer-to-peer bytes inside the AS, cache fills included")]
INFORMATIVE = [("transit_ratio_total", "bytes into the access ASes from outside / under the CDN"),
               ("transit_ratio_worst_as", "the same for the worst access AS"),
               ("prefetch_waste_share", "supernodes' pre-fetched bytes no one read / all they pre-fetched")]
MAX_GAP_PTS = 10


def sim_figures(results):
    """The demo's figures as nearcast-sim's results.json gives them (the nearcast strategy)."""
    nearcast = next(entry for entry in results["results"] if entry["strategy"] == "nearcast")
    against = nearcast["versus_origin_only"]
    peer_bytes = nearcast["bytes"]["peer_intra"] + nearcast["bytes"]["peer_inter"]
    return {"origin_savings_vs_cdn": against["origin_savings"],
            "intra_as_peer_share": nearcast["bytes"]["peer_intra"] / peer_bytes if peer_bytes else 0.0,
            "transit_ratio_total": against["transit_ratio_total"],
            "transit_ratio_worst_as": against["transit_ratio_worst_as"],
            "prefetch_waste_share": nearcast["supernodes"]["prefetch_waste_share"]}


def compare(args):
    demo = {}
    try:
        with open(args.demo_figures) as file:
            for line in file:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "figure":
                    demo[parts[1]] = float(parts[2])
    except (OSError, ValueError) as problem:
        print(f"compare: --demo-figures {args.demo_figures}: {getattr(problem, 'strerror', None) or problem}", file=sys.stderr)
        return 2
    if not os.path.isfile(args.sim_results):
        print(f"compare: --sim-results {args.sim_results}: no such file", file=sys.stderr)
        return 2
    results = load_json(args.sim_results)
    try:
        if results is None:
            raise ValueError("not JSON")
        if not any(entry.get("strategy") == "nearcast" for entry in results.get("results", [])):
            raise ValueError("no results of the nearcast strategy in it")
        sim = sim_figures(results)
    except (ValueError, KeyError, TypeError, AttributeError) as problem:
        print(f"compare: --sim-results {args.sim_results}: not a nearcast-sim results.json with nearcast and origin_only "
              f"({problem})", file=sys.stderr)
        return 2
    missing = [name for name, _ in CALIBRATED + INFORMATIVE if name not in demo]
    if missing:
        print(f"compare: {args.demo_figures} has no figure {', '.join(missing)} (a demo report of this version?)", file=sys.stderr)
        return 2
    print("the demo and the simulator on the same workload (demo/calibrate.sh):")
    print(f"  {'figure':24} {'demo':>7} {'sim':>7} {'gap x100':>9}")
    gaps = {}
    for name, meaning in CALIBRATED + INFORMATIVE:
        gap = abs(demo[name] - sim[name]) * 100
        gaps[name] = gap
        print(f"  {name:24} {demo[name]:7.3f} {sim[name]:7.3f} {gap:9.1f}  {meaning}")
    failures = [f"{name}: the simulator says {sim[name]:.3f}, the demo {demo[name]:.3f} ({gaps[name]:.1f} points apart, "
                f"at most {MAX_GAP_PTS})" for name, _ in CALIBRATED if gaps[name] > MAX_GAP_PTS]
    print(f"figure sim_vs_demo_savings_gap_pts {gaps['origin_savings_vs_cdn']:.1f}")
    print(f"figure sim_vs_demo_intra_gap_pts {gaps['intra_as_peer_share']:.1f}")
    for failure in failures if args.check else []:
        print(f"CHECK FAILED: {failure}", file=sys.stderr)
    return 1 if failures and args.check else 0


def load_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def read_plan(path):
    items, settings, streamed = {}, {}, {}
    with open(path) as file:
        for line in file:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "item":
                items[int(fields[1])] = dict(name=fields[2], size=int(fields[3]), popular=fields[4] == "1")
            elif fields[0] == "setting":
                settings[fields[1]] = float(fields[2])
            elif fields[0] == "stream":
                streamed[fields[1]] = int(fields[2])
    return items, settings, streamed


def bytes_by_source(report, host):
    """{AS number: bytes} this download received, and (near, far, origin) as the peer classed them."""
    down = report.get("downloaded", {})
    near, far, origin = down.get("near", 0), down.get("far", 0), down.get("origin", 0)
    by_as = report.get("downloaded_by_as")
    if isinstance(by_as, dict) and by_as:
        return {int(asn): int(count) for asn, count in by_as.items()}, (near, far, origin), True
    # Without per-AS figures: near bytes come from the own AS, origin bytes from the origins'
    # AS, and far bytes from another AS that the report does not name (0).
    mine = asn_of(host)
    return {mine: near, 0: far, ORIGIN_AS: origin}, (near, far, origin), False


def intra_as_shares(matrix, peer_ases):
    """Per AS and overall: bytes from peers of the own AS / bytes from peers of any AS."""
    shares, inside_all, between_all = {}, 0, 0
    for asn in peer_ases:
        inside = matrix.get((asn, asn), 0)
        between = sum(count for (to_as, from_as), count in matrix.items() if to_as == asn and from_as not in (asn, ORIGIN_AS))
        shares[asn] = inside / (inside + between) if inside + between else 0.0
        inside_all += inside
        between_all += between
    return shares, (inside_all / (inside_all + between_all) if inside_all + between_all else 0.0)


def economics_against_cdn(matrix, sessions, items, daemons, peer_ases):
    """The simulator's definitions (sim/include/nearcast/sim/economics.hpp) on the demo's bytes.

    The anchor is a CDN serving the same sessions: every viewer's item comes whole from the
    origins, so the CDN's origin bytes, and the bytes entering each access AS, are the sizes of
    the items its viewers asked for. Ours count everything peers received, the supernodes'
    cache fills included (they are origin or inter-AS bytes like any other)."""
    cdn_in = {asn: 0 for asn in peer_ases}
    for host, item in sessions:
        cdn_in[asn_of(host)] = cdn_in.get(asn_of(host), 0) + items[item]["size"]
    cdn_origin = sum(cdn_in.values())
    origin = sum(count for (to_as, from_as), count in matrix.items() if from_as == ORIGIN_AS)
    transit_in = {asn: sum(count for (to_as, from_as), count in matrix.items() if to_as == asn and from_as != asn)
                  for asn in peer_ases}
    ratios = {asn: transit_in[asn] / cdn_in[asn] for asn in peer_ases if cdn_in.get(asn)}
    worst = max(sorted(ratios), key=lambda asn: ratios[asn]) if ratios else None
    _, intra = intra_as_shares(matrix, peer_ases)
    fetched = unread = 0
    for status in daemons.values():
        for entry in status.get("items", []):
            if entry.get("prefetched"):
                fetched += entry.get("bytes_done", 0)
                if entry.get("uploaded", 0) == 0:
                    unread += entry.get("bytes_done", 0)
    return dict(cdn_origin=cdn_origin, origin=origin, cdn_in=cdn_in, transit_in=transit_in, ratios=ratios, worst=worst,
                origin_savings=1 - origin / cdn_origin if cdn_origin else 0.0,
                transit_ratio_total=sum(transit_in.values()) / cdn_origin if cdn_origin else 0.0,
                transit_ratio_worst_as=ratios[worst] if worst is not None else 0.0,
                intra_as_peer_share=intra, cache_fill=fetched, cache_fill_unread=unread,
                prefetch_waste_share=unread / fetched if fetched else 0.0)


def fmt_bytes(count):
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{count:.0f} B"
        count /= 1000
    return str(count)


def gnuplot(script, out_dir):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, cwd=out_dir, check=True, capture_output=True, timeout=30)
        return True
    except (OSError, subprocess.SubprocessError) as failure:
        print(f"report: gnuplot failed ({failure}); the HTML page has tables only", file=sys.stderr)
        return False


def report(args):
    work, out = args.work, args.out
    for needed in ("plan.tsv", "verified.tsv"):
        if not os.path.isfile(os.path.join(work, needed)):
            print(f"report: {os.path.join(work, needed)} is missing: --work must be a demo's work folder", file=sys.stderr)
            return 2
    items, _, streamed = read_plan(os.path.join(work, "plan.tsv"))
    downloads = []  # one per fetch: host, item, report, verified
    verified = {}
    with open(os.path.join(work, "verified.tsv")) as file:
        for line in file:
            host, item, status = line.split()
            verified[(host, int(item))] = status == "ok"
    for (host, item), ok in sorted(verified.items()):
        data = load_json(os.path.join(work, "reports", f"{host}-{item}.json")) or {}
        downloads.append(dict(host=host, item=item, report=data, verified=ok))
    streams = []
    for path in sorted(glob.glob(os.path.join(work, "streams", "*.reader"))):
        host = os.path.basename(path)[: -len(".reader")]
        lines = open(path).read().split("\n")
        status = open(path + ".status").read().strip() if os.path.exists(path + ".status") else "?"
        final = [line for line in lines if line.startswith("ttfb_ms ")]
        ttfb, stalls = (float(final[-1].split()[1]), int(final[-1].split()[3])) if final else (None, None)
        url_path = os.path.join(work, "streams", f"{host}.url_ms")
        url_ms = float(open(url_path).read().split()[1]) if os.path.exists(url_path) else None
        if ttfb is not None and url_ms is not None:
            ttfb += url_ms
        data = load_json(os.path.join(work, "reports", f"{host}-stream.json")) or {}
        streams.append(dict(host=host, item=streamed.get(host, 0), ttfb_ms=ttfb, stalls=stalls, ok=status == "0", report=data))
    daemons = {}
    for path in sorted(glob.glob(os.path.join(work, "daemons", "*.status.json"))):
        daemons[os.path.basename(path)[: -len(".status.json")]] = load_json(path) or {}
    samples = []
    if os.path.exists(os.path.join(work, "stats.jsonl")):
        for line in open(os.path.join(work, "stats.jsonl")):
            at, _, body = line.partition(" ")
            try:
                samples.append((float(at), json.loads(body)))
            except ValueError:
                pass

    # Traffic: every byte a peer received, by sending AS; what came from the origins.
    matrix = {}  # (to AS, from AS) -> bytes: everything peers received
    viewers = {}  # the same for viewers only (fetch and stream), without the supernodes' cache fills
    popular_origin = popular_total = 0
    all_origin = all_total = 0
    per_item = {index: [0, 0] for index in items}  # origin, peers
    exact = True
    flows = [(d["host"], d["item"], d["report"]) for d in downloads]
    flows += [(s["host"], s["item"], s["report"]) for s in streams]
    for name, status in daemons.items():
        if isinstance(status.get("downloaded_by_as"), dict):
            flows.append((name, None, {"downloaded_by_as": status["downloaded_by_as"]}))
    for host, item, data in flows:
        if not data:
            continue
        by_as, _, known = bytes_by_source(data, host)
        exact = exact and known
        to_as = asn_of(host)
        for from_as, count in by_as.items():
            matrix[(to_as, from_as)] = matrix.get((to_as, from_as), 0) + count
            if item is not None:
                viewers[(to_as, from_as)] = viewers.get((to_as, from_as), 0) + count
        origin = by_as.get(ORIGIN_AS, 0)
        total = sum(by_as.values())
        all_origin += origin
        all_total += total
        if item is not None:
            per_item[item][0] += origin
            per_item[item][1] += total - origin
            if items[item]["popular"]:
                popular_origin += origin
                popular_total += total
        elif data.get("downloaded_by_as"):
            # A supernode's pre-fetches are popular items: they count in the popular items' share too.
            popular_origin += origin
            popular_total += total
    peer_share_popular = 1 - popular_origin / popular_total if popular_total else 0.0
    peer_ases = [asn for _, asn in NETWORKS]
    shares, intra_share = intra_as_shares(viewers, peer_ases)
    _, intra_share_all = intra_as_shares(matrix, peer_ases)
    sessions = [(d["host"], d["item"]) for d in downloads] + [(s["host"], s["item"]) for s in streams]
    economics = economics_against_cdn(matrix, sessions, items, daemons, peer_ases)
    completed = sum(1 for d in downloads if d["report"].get("complete"))
    good = sum(1 for d in downloads if d["verified"])
    fraction_verified = good / len(downloads) if downloads else 0.0

    elected, most_children = {}, 0
    for _, stats in samples:
        for node in stats.get("supernodes", {}).get("elected", []):
            elected[node["endpoint"]] = node["as"]
            most_children = max(most_children, node.get("children", 0))
    lines = []
    say = lines.append
    say("== nearcast demo report")
    say(f"downloads: {len(downloads)} started, {completed} complete, {good} verified by SHA-256")
    say(f"against a CDN serving the same {len(sessions)} sessions (it would send {fmt_bytes(economics['cdn_origin'])} from the origins):")
    say(f"  origin savings {economics['origin_savings']:.1%}: the origins sent {fmt_bytes(economics['origin'])}, supernodes' cache fills included")
    say(f"  transit into the access ASes {economics['transit_ratio_total']:.2f} times the CDN's "
        f"(worst AS{economics['worst']}: {economics['transit_ratio_worst_as']:.2f})")
    for asn in peer_ases:
        say(f"    AS{asn}\tfrom outside {fmt_bytes(economics['transit_in'][asn])}\tunder the CDN {fmt_bytes(economics['cdn_in'].get(asn, 0))}")
    say(f"  peer-to-peer bytes inside the AS {economics['intra_as_peer_share']:.1%} (everything peers received, cache fills included)")
    say(f"  supernodes pre-fetched {fmt_bytes(economics['cache_fill'])}, of which no one read {fmt_bytes(economics['cache_fill_unread'])} "
        f"(prefetch waste {economics['prefetch_waste_share']:.1%})")
    say(f"bytes received by peers: {fmt_bytes(all_total)}; from the origins {fmt_bytes(all_origin)}, "
        f"from other peers {fmt_bytes(all_total - all_origin)} (peer share of received bytes {1 - all_origin / all_total if all_total else 0:.1%})")
    final = load_json(os.path.join(work, "stats-final.json")) or {}
    if "transfer" in final:
        transfer = final["transfer"]
        say(f"the tracker's own estimate from announces and registrations: origin savings {transfer['origin_savings']:.1%} "
            f"({fmt_bytes(transfer['origin_bytes'])} served by origins where a CDN would have sent {fmt_bytes(transfer['cdn_bytes'])}, "
            f"the viewers' finished downloads; the supernodes' cache fills, {fmt_bytes(transfer['cache_fill_bytes'])}, not counted)")
    say(f"popular items ({', '.join(items[i]['name'] for i in items if items[i]['popular'])}): "
        f"peer share of received bytes {peer_share_popular:.1%} ({fmt_bytes(popular_origin)} of {fmt_bytes(popular_total)} from the origins)")
    say("per item: name, downloads, bytes from origins, bytes from peers")
    for index, info in items.items():
        count = sum(1 for d in downloads if d["item"] == index)
        say(f"  {info['name']}\t{count}\t{fmt_bytes(per_item[index][0])}\t{fmt_bytes(per_item[index][1])}")
    say("share of the peer-to-peer bytes viewers received that came from their own AS" +
        ("" if exact else " (near/far as the peers classed them)"))
    for asn in peer_ases:
        say(f"  AS{asn}\t{shares[asn]:.1%}")
    say(f"  all\t{intra_share:.1%}")
    say(f"  with the supernodes' cache fills (they relay among themselves across ASes before asking the origin): {intra_share_all:.1%}")
    columns = peer_ases + [ORIGIN_AS] + ([0] if any(k[1] == 0 and v for k, v in matrix.items()) else [])
    say("traffic matrix, MB, everything peers received, supernodes too (row: receiving AS, column: sending AS; AS%d holds the origins%s)" %
        (ORIGIN_AS, "" if exact else "; AS0: another AS, unnamed"))
    say("  to\\from\t" + "\t".join(f"AS{c}" for c in columns))
    for asn in peer_ases:
        say(f"  AS{asn}\t" + "\t".join(f"{matrix.get((asn, c), 0) / 1e6:.1f}" for c in columns))
    if elected:
        say(f"supernodes elected: {len(elected)} ({', '.join(f'{e} AS{a}' for e, a in sorted(elected.items()))}); most children at once {most_children}")
    elif daemons:
        say("supernodes elected: none (the daemons ran, the tracker elected none)")
    else:
        say("supernodes elected: none (this build's nearcast-peer daemon does not offer itself as supernode)")
    for name, status in sorted(daemons.items()):
        role = status.get("supernode", {})
        say(f"  daemon {name}: role {role.get('role', '-')}, children {role.get('children', '-')}, most {role.get('max_children_seen', '-')}")
    killed_path = os.path.join(work, "killed.txt")
    if os.path.exists(killed_path):
        say("killed half way (SIGKILL): " + ", ".join(open(killed_path).read().split("\n")[:-1]))
    for stream in streams:
        startup = "-" if stream["ttfb_ms"] is None else f"{stream['ttfb_ms']:.0f} ms"
        stalls = "-" if stream["stalls"] is None else str(stream["stalls"])
        say(f"stream of {items[stream['item']]['name']} at {stream['host']}: "
            f"{'every byte right' if stream['ok'] else 'FAILED'}, start-up {startup} (launch to the player's first byte), {stalls} stalls")
    text = "\n".join(lines)

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "report.txt"), "w") as file:
        file.write(text + "\n")
    write_html(out, text, samples, items, per_item, shares, matrix, columns, peer_ases)
    print(text)
    print(f"report: {os.path.join(out, 'report.html')}")
    figures = [("origin_savings_vs_cdn", economics["origin_savings"]),
               ("transit_ratio_total", economics["transit_ratio_total"]),
               ("transit_ratio_worst_as", economics["transit_ratio_worst_as"]),
               ("intra_as_peer_share", economics["intra_as_peer_share"]),
               ("prefetch_waste_share", economics["prefetch_waste_share"]),
               ("peer_share_of_received_popular", peer_share_popular), ("intra_as_share_viewers", intra_share),
               ("downloads_verified", fraction_verified)]
    for name, value in figures:
        print(f"figure {name} {value:.3f}")
    failures = []
    if args.check:
        if fraction_verified < 1 or not downloads:
            failures.append(f"only {good} of {len(downloads)} downloads verified")
        if economics["origin_savings"] <= 0.5:
            failures.append(f"origin savings against a CDN are {economics['origin_savings']:.3f}, not above 0.5")
        if intra_share <= 0.7:
            failures.append(f"intra-AS share is {intra_share:.3f}, not above 0.7")
        if any(not s["ok"] for s in streams):
            failures.append("a stream reader saw wrong bytes or failed")
        if not elected:
            failures.append("no supernode was elected: the demo ran without the supernodes it shows (see 'supernodes elected')")
    for failure in failures:
        print(f"CHECK FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def write_html(out, text, samples, items, per_item, shares, matrix, columns, peer_ases):
    plots = []
    if len(samples) >= 2:
        start = samples[0][0]
        with open(os.path.join(out, "offload.dat"), "w") as file:
            for at, stats in samples:
                transfer = stats.get("transfer", {})
                file.write(f"{at - start:.1f} {transfer.get('cdn_bytes', 0) / 1e6:.3f} "
                           f"{transfer.get('origin_bytes', 0) / 1e6:.3f} {stats.get('peers', 0)}\n")
        if gnuplot("set terminal svg size 640,320 dynamic\nset output 'offload.svg'\nset key top left\n"
                   "set xlabel 'seconds'\nset ylabel 'MB'\nset y2label 'peers'\nset y2tics\nset grid\n"
                   "plot 'offload.dat' using 1:2 with lines lw 2 title 'a CDN would have sent (viewers, tracker)', "
                   "'' using 1:3 with lines lw 2 title 'sent by origins (tracker)', "
                   "'' using 1:4 axes x1y2 with steps title 'peers in swarms'\n", out):
            plots.append(("Bytes over time, as the tracker saw them", "offload.svg"))
    with open(os.path.join(out, "items.dat"), "w") as file:
        for index, info in items.items():
            file.write(f"{info['name']} {per_item[index][0] / 1e6:.3f} {per_item[index][1] / 1e6:.3f}\n")
    if gnuplot("set terminal svg size 640,320 dynamic\nset output 'items.svg'\nset style data histograms\n"
               "set style histogram rowstacked\nset style fill solid 0.8\nset boxwidth 0.7\nset ylabel 'MB received'\n"
               "set xtics rotate by -45\nset key top right\n"
               "plot 'items.dat' using 2:xtic(1) title 'from origins', '' using 3 title 'from peers'\n", out):
        plots.append(("Bytes per item (Zipf popularity, most popular first)", "items.svg"))
    with open(os.path.join(out, "shares.dat"), "w") as file:
        for asn in peer_ases:
            file.write(f"AS{asn} {100 * shares[asn]:.1f}\n")
    if gnuplot("set terminal svg size 480,300 dynamic\nset output 'shares.svg'\nset style data histograms\n"
               "set style fill solid 0.8\nset boxwidth 0.6\nset yrange [0:100]\nset ylabel '% of peer bytes inside the AS'\n"
               "unset key\nplot 'shares.dat' using 2:xtic(1)\n", out):
        plots.append(("Share of the bytes viewers received from peers that came from their own AS", "shares.svg"))
    most = max([count for count in matrix.values()] + [1])
    cells = []
    for asn in peer_ases:
        row = []
        for column in columns:
            count = matrix.get((asn, column), 0)
            shade = int(255 - 180 * count / most)
            row.append(f'<td style="background: rgb({shade},{shade},255)">{count / 1e6:.1f}</td>')
        cells.append(f"<tr><th>AS{asn}</th>{''.join(row)}</tr>")
    header = "".join(f"<th>AS{c}{' (origins)' if c == ORIGIN_AS else ''}</th>" for c in columns)
    figures = "".join(f'<h2>{html.escape(title)}</h2><img src="{name}" alt="{html.escape(title)}">' for title, name in plots)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>nearcast demo report</title>
<style>body{{font:14px system-ui,sans-serif;margin:20px;max-width:960px}}pre{{background:#f4f5f7;padding:10px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccd;padding:4px 8px;text-align:right}}</style></head><body>
<h1>nearcast demo report</h1>{figures}
<h2>Traffic matrix, MB (row: receiving AS, column: sending AS)</h2>
<table><tr><th>to \\ from</th>{header}</tr>{''.join(cells)}</table>
<h2>The report</h2><pre>{html.escape(text)}</pre></body></html>
"""
    with open(os.path.join(out, "report.html"), "w") as file:
        file.write(page)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    planning = commands.add_parser("plan", help="print the plan")
    planning.add_argument("--mode", choices=sorted(MODES), default="full")
    planning.add_argument("--seed", type=int, default=8)
    simulated = commands.add_parser("sim-scenario", help="write the plan as a nearcast-sim scenario and trace")
    simulated.add_argument("--mode", choices=sorted(MODES), default="full", help="the demo's size (default full)")
    simulated.add_argument("--plan", help="a plan.tsv (default: the plan of --mode and --seed)")
    simulated.add_argument("--seed", type=int, default=8, help="the plan's seed (default 8, as demo/run.sh)")
    simulated.add_argument("--trace", required=True, help="the trace file to write (workload.trace)")
    simulated.add_argument("--ini", required=True, help="the scenario file to write")
    comparing = commands.add_parser("compare", help="compare the demo's figures with the simulator's on its workload")
    comparing.add_argument("--demo-figures", required=True, help="what demo/run.sh printed (its figure lines)")
    comparing.add_argument("--sim-results", required=True, help="nearcast-sim's results.json for the demo's scenario")
    comparing.add_argument("--check", action="store_true", help=f"exit 1 when a calibrated figure is more than {MAX_GAP_PTS} points apart")
    reporting = commands.add_parser("report", help="print and write the report")
    reporting.add_argument("--work", required=True, help="the demo's work folder")
    reporting.add_argument("--out", required=True, help="where report.txt, report.html and the plots go")
    reporting.add_argument("--check", action="store_true", help="exit 1 unless the CI thresholds hold")
    args = parser.parse_args()
    if args.command == "plan":
        plan(args.mode, args.seed)
        return 0
    if args.command == "compare":
        return compare(args)
    if args.command == "sim-scenario":
        plan_path = args.plan
        if not plan_path:
            import contextlib
            import io
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                plan(args.mode, args.seed)
            plan_path = args.trace + ".plan.tsv"
            try:
                with open(plan_path, "w") as file:
                    file.write(buffer.getvalue())
            except OSError as problem:
                print(f"sim-scenario: --trace {args.trace}: cannot write next to it ({problem.strerror})", file=sys.stderr)
                return 2
        try:
            sim_scenario(args.mode, plan_path, args.trace, args.ini)
        except (OSError, ValueError) as problem:
            print(f"sim-scenario: {problem}", file=sys.stderr)
            return 2
        finally:
            if not args.plan and os.path.exists(plan_path):
                os.remove(plan_path)
        return 0
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
