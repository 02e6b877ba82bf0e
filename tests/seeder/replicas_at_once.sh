#!/bin/bash
# Two origin seeders, three items published on A: B fetches its three replicas from A at once,
# under a 2 MB/s upload budget each, as tests/peer/locality_swarm.sh starts. Done ROUNDS times
# from scratch. Each round must end with every replica whole on B (SHA-256 checked) within
# SECONDS, and with no UDP datagram sent in the namespace: the seeders fetch over TCP.
#
# Why: over uTP a busy seeder's UDP socket dropped datagrams when its receive buffer filled
# (500-780 per round, RcvbufErrors), libtorrent 2.0.8's uTP timed the connection out on the
# sending side only, and B waited on its requests for the rest of the run (3 rounds in 4).
#
# Usage: replicas_at_once.sh SEEDER_BINARY TRACKER_BINARY [ROUNDS] [SECONDS]
set -euo pipefail

seeder_binary="$1"
tracker_binary="$2"
rounds="${3:-2}"
deadline_s="${4:-60}"
scenario=replicas

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"

for binary in "$seeder_binary" "$tracker_binary"; do
  [ -x "$binary" ] || fail "$binary is not an executable"
done
require_tools curl sha256sum unshare ip awk
enter_loopback_namespace "$0" "$@"

udp_sent() { awk '/^Udp: [0-9]/ { print $5 }' /proc/net/snmp; }

size=12000000
files=(one.bin two.bin three.bin)
mkdir -p "$work/publisher"
for file in "${files[@]}"; do random_file "$work/publisher/$file" "$size"; done
echo "an-admin-secret-for-this-test-only" > "$work/admin.secret"
start_nearcast_tracker "$tracker_binary" --admin-secret-file "$work/admin.secret" --interval 5 --min-interval 1

for round in $(seq 1 "$rounds"); do
  here_now="$work/round-$round"
  common=(--tracker http://127.0.0.1:6969/announce --admin-secret-file "$work/admin.secret" --register-every 2
    --replicas 2 --replicate-every 1 --upload-limit-mb 2)
  a_flags=(--name origin-a --data-dir "$here_now/a" --listen-bittorrent 127.30.0.1:6881 --listen-http 127.30.0.1:8080
    --fellow origin-b=http://127.40.0.1:8080 "${common[@]}")
  b_flags=(--name origin-b --data-dir "$here_now/b" --listen-bittorrent 127.40.0.1:6881 --listen-http 127.40.0.1:8080
    --fellow origin-a=http://127.30.0.1:8080 "${common[@]}")
  publish=()
  for file in "${files[@]}"; do publish+=("$work/publisher/$file"); done
  "$seeder_binary" publish "${a_flags[@]}" "${publish[@]}" > "$work/publish-$round.out" 2> "$work/publish-$round.log" ||
    { show_logs; fail "round $round: publish failed"; }
  udp_before=$(udp_sent)
  started=$(date +%s.%N)
  round_pids=()
  for origin in a b; do
    flags_name="${origin}_flags[@]"
    "$seeder_binary" serve "${!flags_name}" --port-file "$here_now/origin-$origin.ports" > "$work/origin-$origin-$round.log" 2>&1 &
    round_pids+=($!)
    pids+=($!)
    wait_for_port_file "$here_now/origin-$origin.ports" "origin-$origin"
  done
  wait_for_http http://127.40.0.1:8080/catalogue '("complete":true.*){3}' "$deadline_s" ||
    { show_logs; fail "round $round: origin-b did not fetch its three replicas within ${deadline_s}s"; }
  seconds=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  for file in "${files[@]}"; do
    [ "$(sha256_of "$here_now/b/content/$file")" = "$(sha256_of "$work/publisher/$file")" ] ||
      fail "round $round: origin-b's replica of $file has the wrong SHA-256"
  done
  udp=$(($(udp_sent) - udp_before))
  echo "round $round: three replicas whole on origin-b after ${seconds}s; $udp UDP datagrams sent"
  [ "$udp" = 0 ] || { show_logs; fail "round $round: $udp UDP datagrams were sent: the seeders fetched over uTP"; }
  for pid in "${round_pids[@]}"; do kill "$pid"; wait "$pid" || true; done
done
echo "PASS"
