#!/bin/bash
# make bench-supernodes: the supernode tests run alone, with real processes on loopback. The
# comparison (a supernode per AS against none) and the failure run (30% of the supernodes
# killed mid-run) print their own checks; this collects their figures at the end:
# intra_as_share_with, intra_as_share_without, origin_bytes_with_over_without and
# max_children_over_limit.
# Usage: supernodes_bench.sh PEER SEEDER TRACKER
set -euo pipefail
script="$(cd "$(dirname "$0")/.." && pwd)/tests/peer/supernode_swarm.sh"
figures=()
for mode in compare failure; do
  echo "== supernodes: $mode"
  output=$("$script" "$1" "$2" "$3" "$mode" 2>&1) || { echo "$output"; echo "bench-supernodes: the $mode run failed" >&2; exit 1; }
  echo "$output" | grep -v '^figure '
  while IFS= read -r line; do figures+=("$line"); done < <(echo "$output" | grep '^figure ')
done
printf '%s\n' "${figures[@]}"
