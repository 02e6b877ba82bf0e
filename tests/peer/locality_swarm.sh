#!/bin/bash
# Twelve nearcast-peers in three emulated networks fetch a popular item from two origin
# seeders through nearcast-tracker, once with locality on and once without (the control).
#
# Networks (proximity/data/loopback-internet.ipasn): 127.10.x AS 64512, 127.20.x AS 64513,
# 127.50.x AS 64516; the origins sit in AS 64514 (127.30.0.1) and AS 64515 (127.40.0.1).
# Checks: every peer exits 0 with the right SHA-256; with locality on, at least 80% of the
# peer-to-peer bytes stay inside each peer's AS, more than in the control; the origins upload
# little more than one copy of the item into each network (each network's gateway, its lowest
# address still downloading, fetches from the origin and the others from their neighbours).
# A third run puts all twelve peers in one network (AS 64512, both of its prefixes): there the
# origins upload little more than one copy in all. A fourth puts them there again with the
# lowest address's upload held to 150 kB/s: it says it is no gateway, nobody follows it, every
# peer verifies, and the origins send at most 1.6 copies. Prints the shares and the origins' bytes.
# docs/peer.md says why one copy in all is out of reach together with an 80% share when the
# peers sit in three networks.
#
# Usage: locality_swarm.sh PEER_BINARY SEEDER_BINARY TRACKER_BINARY [SECONDS]
set -euo pipefail

peer_binary="$1"
seeder_binary="$2"
tracker_binary="$3"
deadline_s="${4:-120}"
scenario=locality

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"

for binary in "$peer_binary" "$seeder_binary" "$tracker_binary"; do
  [ -x "$binary" ] || fail "$binary is not an executable"
done
require_tools curl sha256sum unshare ip awk
enter_loopback_namespace "$0" "$@"

size=12000000
mkdir -p "$work/publisher"
random_file "$work/publisher/popular-local.bin" "$size"
random_file "$work/publisher/popular-control.bin" "$size"
random_file "$work/publisher/popular-one.bin" "$size"
random_file "$work/publisher/popular-slow.bin" "$size"
echo "an-admin-secret-for-this-test-only" > "$work/admin.secret"

start_nearcast_tracker "$tracker_binary" --admin-secret-file "$work/admin.secret" --interval 5 --min-interval 1

# Each origin uploads at most 2 MB/s: the swarm, not the origin, must carry a popular item.
common=(--tracker http://127.0.0.1:6969/announce --admin-secret-file "$work/admin.secret" --register-every 2
  --replicas 2 --replicate-every 1 --upload-limit-mb 2)
a_flags=(--name origin-a --data-dir "$work/a" --listen-bittorrent 127.30.0.1:6881 --listen-http 127.30.0.1:8080
  --fellow origin-b=http://127.40.0.1:8080 "${common[@]}")
b_flags=(--name origin-b --data-dir "$work/b" --listen-bittorrent 127.40.0.1:6881 --listen-http 127.40.0.1:8080
  --fellow origin-a=http://127.30.0.1:8080 "${common[@]}")
"$seeder_binary" publish "${a_flags[@]}" --web-seed http://127.30.0.1:8080 --web-seed http://127.40.0.1:8080 \
  "$work/publisher/popular-local.bin" "$work/publisher/popular-control.bin" "$work/publisher/popular-one.bin" "$work/publisher/popular-slow.bin" > "$work/publish.out" 2> "$work/publish.log" ||
  { show_logs; fail "publish failed"; }
for origin in a b; do
  flags_name="${origin}_flags[@]"
  "$seeder_binary" serve "${!flags_name}" --port-file "$work/origin-$origin.ports" > "$work/origin-$origin.log" 2>&1 &
  pids+=($!)
  wait_for_port_file "$work/origin-$origin.ports" "origin-$origin"
done
wait_for_http http://127.40.0.1:8080/catalogue '("complete":true.*){4}' "$deadline_s" ||
  { show_logs; fail "origin-b did not fetch its replicas"; }
wait_for_http http://127.0.0.1:6969/stats '"origins":2' 20 || { show_logs; fail "the tracker does not list both origins"; }

networks=(127.10.0 127.20.0 127.50.0)
# The peers of a run: four in each network, or (the one-network run) twelve in AS 64512, on
# both of its prefixes.
three_networks=()
for network in "${networks[@]}"; do
  for host in 11 12 13 14; do three_networks+=("$network.$host"); done
done
one_network=()
for host in 11 12 13 14 15 16; do one_network+=("127.10.0.$host" "127.11.0.$host"); done

# Sums field FIELD (near, far or origin) of the "downloaded" object over the reports given.
sum_downloaded() {  # FIELD REPORT...
  local field="$1"
  shift
  awk -v field="\"$field\":" '
    /"downloaded"/ { inside = 1 }
    inside && $1 == field { gsub(/,/, "", $2); total += $2 }
    inside && /}/ { inside = 0 }
    END { printf "%.0f\n", total }' "$@"
}

first_flags=()  # the first peer's own flags
run_swarm() {  # NAME FILE NETWORKS FLAGS... (the peers: $swarm, in NETWORKS networks)
  local name="$1" file="$2" network_count="$3"
  shift 3
  local torrent want peer_pids=() reports=() address
  torrent=$(grep -F "$file" "$work/publish.out" | cut -f4)
  want=$(sha256_of "$work/publisher/$file")
  for address in "${swarm[@]}"; do
    local id="$name-$address"
    local own=()
    [ "$address" = "${swarm[0]}" ] && own=("${first_flags[@]}")
    "$peer_binary" fetch "$torrent" -o "$work/$id" --listen-bittorrent "$address:7000" --seed-for 15 --no-progress \
      --stall-timeout 60 --report "$work/$id.json" "$@" "${own[@]}" > "$work/$id.log" 2>&1 &
    peer_pids+=($!)
    pids+=($!)
    reports+=("$work/$id.json")
  done
  local status=0
  for pid in "${peer_pids[@]}"; do wait "$pid" || status=$?; done
  [ "$status" = 0 ] || { show_logs; fail "$name: a peer exited with status $status"; }
  for address in "${swarm[@]}"; do
    [ "$(sha256_of "$work/$name-$address/$file")" = "$want" ] || fail "$name: $address has the wrong SHA-256"
  done
  near=$(sum_downloaded near "${reports[@]}")
  far=$(sum_downloaded far "${reports[@]}")
  origin=$(sum_downloaded origin "${reports[@]}")
  share=$(awk -v near="$near" -v far="$far" 'BEGIN { printf "%.3f", ((near + far) > 0 ? near / (near + far) : 0) }')
  copies=$(awk -v origin="$origin" -v size="$size" 'BEGIN { printf "%.2f", origin / size }')
  per_network=$(awk -v copies="$copies" -v networks="$network_count" 'BEGIN { printf "%.2f", copies / networks }')
  echo "$name: ${#swarm[@]} peers verified; peer-to-peer bytes inside the AS $near, across ASes $far (intra-AS share $share);" \
    "from the origins $origin bytes ($copies copies, $per_network per network)"
}

swarm=("${three_networks[@]}")
run_swarm local popular-local.bin 3
local_share=$share
local_per_network=$per_network
run_swarm control popular-control.bin 3 --no-locality
control_share=$share
swarm=("${one_network[@]}")
run_swarm one-network popular-one.bin 1
one_copies=$copies
# The network's lowest address holds its upload to 150 kB/s, below the followers' floor: its
# extension handshake says it is no gateway, so nobody follows it (the next downloader is the
# gateway, and it follows that one), and the origins still send little more than one copy.
# Every peer must verify the item. Followers that find a gateway too slow anyway pass it over;
# that count is printed (ranking_test checks the rule itself).
first_flags=(--upload-limit-kb 150)
run_swarm slow-gateway popular-slow.bin 1
first_flags=()
slow_copies=$copies
followed_capped=$( (grep -l "while we follow ${swarm[0]} to the origin" "$work"/slow-gateway-*.log || true) | wc -l)
passed_over=$( (grep -l "while we follow 127\.[0-9.]* to the origin, .*passing it over" "$work"/slow-gateway-*.log || true) | wc -l)
echo "slow-gateway: $passed_over of $((${#swarm[@]} - 1)) followers passed a gateway over; $followed_capped passed over the capped peer"
[ "$followed_capped" = 0 ] || fail "$followed_capped peers followed ${swarm[0]}, whose upload is held below the floor, until they passed it over"
# 1.14-1.30 copies in four runs alone, 1.47 once in CI beside other tests (a busy machine
# leaves followers longer without news of their gateway); one network with deference off
# takes 2.4-2.7.
awk -v copies="$slow_copies" 'BEGIN { exit !(copies <= 1.6) }' ||
  fail "the origins uploaded $slow_copies copies with the lowest address's upload capped (at most 1.6 expected: it is no gateway)"

echo "intra-AS share of peer-to-peer bytes: $local_share with locality, $control_share without"
awk -v share="$local_share" 'BEGIN { exit !(share >= 0.80) }' || fail "only $local_share of peer-to-peer bytes stayed inside the AS"
awk -v a="$local_share" -v b="$control_share" 'BEGIN { exit !(a > b) }' ||
  fail "locality did not raise the intra-AS share ($local_share against $control_share)"
# Each AS needs the item to enter it once: from the origin or across an AS border. With the
# border held to a trickle the origin sends each AS its copy, through the AS's gateway. Without
# origin deference the peers of one AS ask the origin for the same pieces at once (1.45-1.55
# copies per AS measured); with it, 0.95-1.05 while news of near peers held the origin's unchoke
# back, and 0.99-1.12 in ten runs since it no longer does (a wait that made every fetch beside
# a near peer slower), with one run at 1.24.
awk -v copies="$local_per_network" 'BEGIN { exit !(copies <= 1.3) }' ||
  fail "the origins uploaded $local_per_network copies of a popular item per network (at most 1.3 expected)"
# Where every peer is near every other, the swarm carries the item and the origin sends little
# more than one copy in all (2.4-2.7 with deference off). The rest goes to followers in the
# moment before they know their gateway: 1.07-1.13 copies while news of near peers held the
# origin back for up to a quarter second; 1.20-1.46 in six runs once it no longer did (a fetch
# beside a slow near seed is no slower than with deference off); 1.19-1.25 in three since a
# near peer's unchoke is news too (the verdict that finds the gateway comes at once).
awk -v copies="$one_copies" 'BEGIN { exit !(copies <= 1.4) }' ||
  fail "the origins uploaded $one_copies copies of a popular item to twelve peers in one network (at most 1.4 expected)"
echo "PASS"
