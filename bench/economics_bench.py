#!/usr/bin/env python3
"""bench-economics: what nearcast is worth to an operator, against a CDN on the same arrivals.

Runs the reference scenarios of sim/scenarios/ (evening, long-tail, flash-crowd) with
nearcast-sim, each with `nearcast` and its `origin_only` anchor on the same population and
arrivals, and prints per scenario the figures of issue 16 with the targets beside them. Ends
with one `figure NAME VALUE` line per figure of the evening scenario, the one the targets are
set on. A figure that is not measured yet says so in words, never with a made-up number.

Then runs the demo and the simulator on the demo's workload (demo/calibrate.sh, the full
size, as root: the demo's network namespace) for the two calibration figures.

Usage: economics_bench.py --sim NEARCAST_SIM --scenarios DIR --out DIR [--only NAME] [--peers N]
                          [--build BUILD_DIR | --no-calibration]
(--peers overrides the scenarios' 1,000,000 for a quick look; the figures printed then are not
the reference ones, and the output says so.)
"""
import argparse
import json
import os
import subprocess
import sys
import time

TARGETS = [
    # name, how to read it, the target, whether lower is better
    ("origin_savings_vs_cdn", "1 - origin bytes / origin bytes under origin_only", 0.75, False),
    ("transit_ratio_total", "bytes into the access ASes from outside / the same under origin_only", 0.6, True),
    ("transit_ratio_worst_as", "the same for the AS with the highest ratio", 1.0, True),
    ("intra_as_peer_share", "peer-to-peer bytes inside the AS / all peer-to-peer bytes", 0.70, False),
    ("download_p90_ratio_vs_cdn", "download time p90 / the same under origin_only", 1.05, True),
    ("stall_ratio_vs_cdn", "stalled per played time / the same under origin_only", 1.05, True),
    ("prefetch_waste_share", "bytes supernodes fetched that no child read / all they fetched", None, True),
]


def run_scenario(sim, scenario_file, out, peers):
    settings = ["--set", "run.strategies=nearcast"]
    if peers:
        settings += ["--set", f"workload.peers={peers}"]
    command = [sim, "-q", scenario_file, "--out", out] + settings
    started = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench-economics: {' '.join(command)} failed (status {done.returncode}): {done.stderr.strip()}")
    with open(os.path.join(out, "results.json")) as results:
        document = json.load(results)
    return document, time.monotonic() - started


def figures_of(document):
    by_strategy = {entry["strategy"]: entry for entry in document["results"]}
    nearcast, cdn = by_strategy["nearcast"], by_strategy["origin_only"]
    against = nearcast["versus_origin_only"]
    peer_bytes = nearcast["bytes"]["peer_intra"] + nearcast["bytes"]["peer_inter"]
    return {
        "origin_savings_vs_cdn": against["origin_savings"],
        "transit_ratio_total": against["transit_ratio_total"],
        "transit_ratio_worst_as": against["transit_ratio_worst_as"],
        "intra_as_peer_share": nearcast["bytes"]["peer_intra"] / peer_bytes if peer_bytes > 0 else None,
        "download_p90_ratio_vs_cdn": against["download_p90_ratio"],
        "stall_ratio_vs_cdn": against["stall_ratio"],
        "prefetch_waste_share": nearcast["supernodes"]["prefetch_waste_share"],
        # the absolute figures behind the ratios
        "_stall_nearcast": nearcast["stall_ratio"],
        "_stall_cdn": cdn["stall_ratio"],
        "_worst_asn": against["worst_asn"],
        "_floor_total": against["transit_floor_total"],
        "_floor_worst": against["transit_floor_worst_as"],
        "_done_nearcast": nearcast["sessions"]["downloads_completed"] + nearcast["sessions"]["streams_completed"],
        "_done_cdn": cdn["sessions"]["downloads_completed"] + cdn["sessions"]["streams_completed"],
    }


def verdict(value, target, lower_is_better):
    if target is None:
        return "(no target)"
    if value is None:
        return "n/a (see the line below)"
    met = value <= target if lower_is_better else value >= target
    return f"{'met' if met else 'NOT met'} (target {'<=' if lower_is_better else '>='} {target})"


def shown(value):
    return "n/a" if value is None else f"{value:.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", required=True)
    parser.add_argument("--scenarios", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", choices=["evening", "long-tail", "flash-crowd"])
    parser.add_argument("--peers", type=int)
    parser.add_argument("--build", help="the build folder, for the demo calibration (demo/calibrate.sh)")
    parser.add_argument("--no-calibration", action="store_true", help="leave the demo calibration out")
    args = parser.parse_args()

    names = [args.only] if args.only else ["evening", "long-tail", "flash-crowd"]
    results = {}
    for name in names:
        scenario_file = os.path.join(args.scenarios, name + ".ini")
        print(f"bench-economics: {name} ({scenario_file}), nearcast and origin_only on the same arrivals ...",
              file=sys.stderr, flush=True)
        document, seconds = run_scenario(args.sim, scenario_file, os.path.join(args.out, name), args.peers)
        results[name] = figures_of(document)
        print(f"bench-economics: {name}: {document['peers']} peers in {document['ases']} ASes, {seconds:.0f} s",
              file=sys.stderr, flush=True)

    if args.peers:
        print(f"\nNOTE: --peers {args.peers}: not the reference size; these are not the reference figures.")
    for name, figures in results.items():
        print(f"\n{name}:")
        # An anchor that finished fewer sessions than nearcast did less work: its origin could
        # not serve the arrivals, and times measured against it are no comparison.
        saturated = figures["_done_cdn"] < 0.99 * figures["_done_nearcast"]
        for figure, meaning, target, lower in TARGETS:
            judged = verdict(figures[figure], target, lower)
            if saturated and figure in ("download_p90_ratio_vs_cdn", "stall_ratio_vs_cdn"):
                judged = "not comparable (see below)"
            print(f"  {figure:27} {shown(figures[figure]):>8}  {judged:28} {meaning}")
        if saturated:
            print(f"  WARNING: origin_only finished {figures['_done_cdn']} sessions against nearcast's "
                  f"{figures['_done_nearcast']}: the CDN anchor is saturated (its origin cannot serve the arrivals), so "
                  f"the quality ratios are no comparison, and origin savings compares unequal work")
        # What no policy can beat on these arrivals: every item entering each AS once, at its
        # first request there. A target below its floor cannot be met on this workload.
        print(f"  transit floors: {figures['_floor_total']:.4f} in all, {figures['_floor_worst']:.4f} in the worst AS "
              f"(every item entering each AS once: no policy does better on these arrivals)")
        print(f"  (worst AS: AS{figures['_worst_asn']}; stall ratio nearcast {figures['_stall_nearcast']:.5f}, "
              f"origin_only {figures['_stall_cdn']:.5f}; a stall ratio against an anchor that never stalls is n/a)")
    gaps = {"sim_vs_demo_savings_gap_pts": None, "sim_vs_demo_intra_gap_pts": None}
    if args.no_calibration or not args.build:
        print("\nThe demo calibration was left out (--no-calibration, or no --build): its gaps are not measured in this run.")
    else:
        print("\nbench-economics: the demo and the simulator on its workload (demo/calibrate.sh) ...", file=sys.stderr, flush=True)
        here = os.path.dirname(os.path.abspath(__file__))
        calibrate = os.path.join(here, "..", "demo", "calibrate.sh")
        done = subprocess.run([calibrate, args.build, "--out", os.path.join(args.out, "calibration")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        shown_lines = [line for line in done.stdout.splitlines()
                       if line.startswith("  ") or line.startswith("the demo and the simulator")]
        print("\n" + "\n".join(shown_lines))
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "figure" and parts[1] in gaps:
                gaps[parts[1]] = float(parts[2])
        if done.returncode != 0 or None in gaps.values():
            print(f"the calibration failed (status {done.returncode}); its last lines:\n" + "\n".join(done.stdout.splitlines()[-15:]))
        for name, gap in gaps.items():
            if gap is not None:
                print(f"  {name}: {gap:.1f} points ({'met' if gap <= 10 else 'NOT met'}, target <= 10)")
    reference = results.get("evening")
    if reference:
        for figure, _, _, _ in TARGETS:
            print(f"figure {figure} {shown(reference[figure])}")
        print(f"figure transit_floor_total {shown(reference['_floor_total'])}")
        print(f"figure transit_floor_worst_as {shown(reference['_floor_worst'])}")
    for name, gap in gaps.items():
        print(f"figure {name} {'n/a' if gap is None else f'{gap:.1f}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
