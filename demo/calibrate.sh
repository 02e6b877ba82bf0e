#!/bin/bash
# The simulator against the real system on the same work: runs the demo (demo/run.sh), writes
# its plan as a simulator scenario (demo/demo.py sim-scenario: the same networks, items,
# arrivals, rates and the two faults), runs nearcast-sim on it, and compares the figures both
# report in the same definitions. Ends with `figure sim_vs_demo_savings_gap_pts X` and
# `figure sim_vs_demo_intra_gap_pts X` (percentage points apart).
#
# Usage: demo/calibrate.sh BUILD_DIR [--short] [--check] [--out DIR]
#   --short  the demo's CI size
#   --check  exit 1 unless the demo's own check passes and origin savings and the intra-AS
#            share are each within 10 points of the simulator's
#   --out    where the demo's report, the scenario and the simulator's results go
#            (default BUILD_DIR/calibration)
set -euo pipefail

fail() {
  echo "calibrate: $*" >&2
  exit 2
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] || fail "usage: demo/calibrate.sh BUILD_DIR [--short] [--check] [--out DIR]"
case "$1" in -h | --help) usage; exit 0 ;; esac
build="$(cd "$1" 2> /dev/null && pwd)" || fail "$1: no such build folder (run make build first)"
shift
mode=full short="" check="" out="$build/calibration"
while [ $# -gt 0 ]; do
  case "$1" in
    --short) mode=short short=--short ;;
    --check) check=--check ;;
    --out) [ $# -ge 2 ] || fail "--out needs a folder"; out="$2"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown option '$1' (--short, --check, --out DIR)" ;;
  esac
  shift
done
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
sim="$build/sim/nearcast-sim"
[ -x "$sim" ] || fail "$sim is missing: build first (make build)"
mkdir -p "$out" || fail "cannot make $out"
out="$(cd "$out" && pwd)"

demo_status=0
"$here/run.sh" "$build" $short $check --out "$out/demo" | tee "$out/demo.txt" || demo_status=$?
[ -s "$out/demo/plan.tsv" ] || fail "the demo wrote no plan ($out/demo/plan.tsv): see its output above"

mkdir -p "$out/sim"
python3 "$here/demo.py" sim-scenario --mode "$mode" --plan "$out/demo/plan.tsv" --trace "$out/sim/demo.trace" --ini "$out/sim/demo.ini"
# The scenario names the routing data relative to the project root.
(cd "$root" && "$sim" -q "$out/sim/demo.ini" --out "$out/sim") || fail "nearcast-sim failed on $out/sim/demo.ini"
compare_status=0
python3 "$here/demo.py" compare --demo-figures "$out/demo.txt" --sim-results "$out/sim/results.json" $check || compare_status=$?
[ "$demo_status" = 0 ] || { echo "calibrate: the demo itself failed (status $demo_status)" >&2; exit "$demo_status"; }
exit "$compare_status"
