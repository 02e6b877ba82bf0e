#!/bin/bash
# Interop: Debian's BitTorrent clients download items that nearcast-seeder published, and the
# downloaded files' SHA-256 must match.
#
#   bittorrent: the seeder (127.30.0.1, AS 64514) serves over BitTorrent only (its web seed
#               URL points at a closed port): rtorrent fetches an item published --hybrid
#               (v1+v2), aria2c one published as the default torrent (v1: aria2c 1.36
#               re-encodes the info dictionary of a hybrid torrent and so gets its info hash wrong).
#   webseed:    the seeder runs with --no-bittorrent, so its BitTorrent port is closed: aria2c
#               and transmission-cli fetch an item, published as the default torrent, from its BEP 19 web seed alone.
#   budget:     three transmission-cli seeds join one item's swarm; the seeder learns it from
#               the tracker's scrape and puts that swarm in the small self-serving share of its
#               upload budget, while the item nobody else seeds stays long tail.
#
# A nearcast-tracker introduces them; the seeder's /stats must show the bytes went over the
# protocol under test and none over the other. Runs in a loopback-only network namespace.
#
# Usage: seeder_clients.sh SEEDER_BINARY TRACKER_BINARY bittorrent|webseed|budget [SECONDS]
set -euo pipefail

seeder_binary="$1"
tracker_binary="$2"
scenario="$3"
deadline_s="${4:-120}"

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

case "$scenario" in bittorrent | webseed | budget) ;; *) fail "the scenario must be bittorrent, webseed or budget, not '$scenario'" ;; esac
[ -x "$seeder_binary" ] || fail "$seeder_binary is not an executable"
[ -x "$tracker_binary" ] || fail "$tracker_binary is not an executable"
require_tools transmission-cli rtorrent aria2c curl sha256sum unshare ip
enter_loopback_namespace "$0" "$@"

mkdir -p "$work/content" "$work/get-1" "$work/get-2"
random_file "$work/content/hybrid.bin" 4000000
random_file "$work/content/classic.bin" 3000000
hybrid_sha=$(sha256_of "$work/content/hybrid.bin")
classic_sha=$(sha256_of "$work/content/classic.bin")

"$tracker_binary" --listen-http 127.0.0.1:6969 --listen-udp 127.0.0.1:6969 --port-file "$work/tracker-ports" \
  --interval 10 --min-interval 1 --log-level debug > "$work/tracker.log" 2>&1 &
pids+=($!)
wait_for_port_file "$work/tracker-ports" nearcast-tracker

seeder=(--data-dir "$work/data" --tracker http://127.0.0.1:6969/announce
  --listen-bittorrent 127.30.0.1:6881 --listen-http 127.30.0.1:8080)
if [ "$scenario" = bittorrent ]; then
  # Web seeds at a port nobody listens on: every byte has to come over BitTorrent.
  seeder+=(--web-seed http://127.30.0.1:9)
  "$seeder_binary" publish "${seeder[@]}" --hybrid "$work/content/hybrid.bin" > "$work/publish.out" 2> "$work/publish.log"
fi
"$seeder_binary" publish "${seeder[@]}" "$work/content/classic.bin" >> "$work/publish.out" 2>> "$work/publish.log" ||
  { show_logs; fail "publish failed"; }
torrent_of() { grep -P "\t$1\t" "$work/publish.out" | cut -f4; }

serve_flags=()
[ "$scenario" = webseed ] && serve_flags+=(--no-bittorrent)
if [ "$scenario" = budget ]; then
  "$seeder_binary" publish "${seeder[@]}" "$work/content/hybrid.bin" >> "$work/publish.out" 2>> "$work/publish.log"
  serve_flags+=(--upload-limit-mb 10 --self-serving-seeds 3 --register-every 1)
fi
"$seeder_binary" serve "${seeder[@]}" "${serve_flags[@]}" --port-file "$work/seeder-ports" --log-level debug \
  > "$work/seeder.log" 2>&1 &
pids+=($!)
wait_for_port_file "$work/seeder-ports" nearcast-seeder
stats_url=http://127.30.0.1:8080/stats

if [ "$scenario" = bittorrent ]; then
  # The clients start once the seeder is in both swarms, so their first announce finds it.
  wait_for_http http://127.0.0.1:6969/stats '"seeders":[2-9]' "$deadline_s" ||
    { show_logs; fail "the seeder never announced itself"; }
  start_rtorrent rtorrent 127.10.0.3 52000-52010 "$(torrent_of hybrid.bin)" "$work/get-1"
  start_aria2c aria2c 127.20.0.4 52100-52110 "$(torrent_of classic.bin)" "$work/get-2" "$deadline_s"
  wait_for_sha256 "$work/get-1/hybrid.bin" "$hybrid_sha" "$deadline_s" > /dev/null ||
    { show_logs; fail "rtorrent did not complete hybrid.bin with the right SHA-256"; }
  wait_for_sha256 "$work/get-2/classic.bin" "$classic_sha" "$deadline_s" > /dev/null ||
    { show_logs; fail "aria2c did not complete classic.bin with the right SHA-256"; }
  wait_for_http "$stats_url" '"served_bittorrent_bytes":([7-9][0-9]{6}|[0-9]{8,})' 10 ||
    { show_logs; fail "the seeder did not count 7,000,000 bytes uploaded over BitTorrent"; }
  stats=$(curl -sf "$stats_url")
  expect_in_stats '"served_http_bytes":0[,}]'
elif [ "$scenario" = budget ]; then
  for n in 2 3 4; do
    mkdir -p "$work/seed-$n"
    cp "$work/content/hybrid.bin" "$work/seed-$n/"
    start_transmission "transmission-$n" "127.20.0.$n" "5141$n" "$(torrent_of hybrid.bin)" "$work/seed-$n"
  done
  wait_for_http "$stats_url" '"self_serving_swarms":1,' "$deadline_s" ||
    { show_logs; fail "the seeder never saw the swarm with three other seeds serve itself"; }
  stats=$(curl -sf "$stats_url")
  expect_in_stats '"long_tail_swarms":1[,}]'
else
  start_aria2c aria2c 127.10.0.4 52100-52110 "$(torrent_of classic.bin)" "$work/get-1" "$deadline_s"
  start_transmission transmission 127.20.0.2 51413 "$(torrent_of classic.bin)" "$work/get-2"
  wait_for_sha256 "$work/get-1/classic.bin" "$classic_sha" "$deadline_s" > /dev/null ||
    { show_logs; fail "aria2c did not complete classic.bin from the web seed with the right SHA-256"; }
  wait_for_sha256 "$work/get-2/classic.bin" "$classic_sha" "$deadline_s" > /dev/null ||
    { show_logs; fail "transmission-cli did not complete classic.bin from the web seed with the right SHA-256"; }
  stats=$(curl -sf "$stats_url")
  expect_in_stats '"served_http_bytes":([6-9][0-9]{6}|[0-9]{8,})'
  expect_in_stats '"served_bittorrent_bytes":0[,}]'
  expect_in_stats '"seeding":0[,}]'
fi
echo "$stats"
echo "PASS ($scenario)"
