#!/bin/bash
# Interop: two different BitTorrent clients from Debian find each other through
# nearcast-tracker and complete a transfer; the downloaded file's SHA-256 must match.
#
#   udp:  transmission-cli seeds from 127.20.0.2 (AS 64513), rtorrent downloads from
#         127.10.0.3 (AS 64512); both announce over UDP (BEP 15).
#   http: transmission-cli seeds from 127.20.0.2, aria2c downloads from 127.10.0.4; both
#         announce over HTTP (BEP 3, compact peers).
#
# The addresses sit in the emulated Internet of the embedded default data, so the tracker's
# /stats must also show each client in its AS and the answers as adjacent-AS introductions.
# Everything runs in a fresh network namespace that holds only loopback: DHT, LSD, PEX, UPnP
# and NAT-PMP are off in every client as well, and every process dies with the namespace.
#
# Usage: tracker_clients.sh TRACKER_BINARY udp|http [SECONDS]
set -euo pipefail

tracker_binary="$1"
scenario="$2"
deadline_s="${3:-120}"

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

case "$scenario" in udp | http) ;; *) fail "the scenario must be udp or http, not '$scenario'" ;; esac
[ -x "$tracker_binary" ] || fail "$tracker_binary is not an executable"
require_tools transmission-cli transmission-create rtorrent aria2c curl sha256sum unshare ip
enter_loopback_namespace "$0" "$@"

mkdir -p "$work/seed" "$work/get"
random_file "$work/seed/payload.bin" 5000000
want_sha=$(sha256_of "$work/seed/payload.bin")

tracker_port=6969
"$tracker_binary" --listen-http 127.0.0.1:$tracker_port --listen-udp 127.0.0.1:$tracker_port \
  --port-file "$work/ports" --interval 10 --min-interval 1 --log-level debug > "$work/tracker.log" 2>&1 &
pids+=($!)
wait_for_port_file "$work/ports" nearcast-tracker

if [ "$scenario" = udp ]; then
  announce="udp://127.0.0.1:$tracker_port/announce"
else
  announce="http://127.0.0.1:$tracker_port/announce"
fi
transmission-create -t "$announce" -s 256 -o "$work/payload.torrent" "$work/seed/payload.bin" > "$work/create.log"

# The seeder: Transmission 3.00 seeds to loopback peers (it will not download from them).
start_transmission transmission 127.20.0.2 51413 "$work/payload.torrent" "$work/seed"

# The downloader starts once the seeder is in the swarm, so its first announce finds it (clients
# re-announce at their own pace, often far slower than the tracker's interval).
wait_for_http "http://127.0.0.1:$tracker_port/stats" '"seeders":1' "$deadline_s" ||
  { show_logs; fail "transmission-cli never announced itself as a seeder"; }
if [ "$scenario" = udp ]; then
  start_rtorrent rtorrent 127.10.0.3 52000-52010 "$work/payload.torrent" "$work/get"
else
  start_aria2c aria2c 127.10.0.4 52100-52110 "$work/payload.torrent" "$work/get" "$deadline_s"
fi

# While it downloads, the tracker has placed it in its AS (aria2c leaves the swarm once done).
wait_for_http "http://127.0.0.1:$tracker_port/stats" '"AS64512":1[,}]' "$deadline_s" ||
  { show_logs; fail "the downloader was never listed in AS 64512"; }
seconds=$(wait_for_sha256 "$work/get/payload.bin" "$want_sha" "$deadline_s") ||
  { show_logs; fail "the download did not complete with the right SHA-256 within ${deadline_s}s"; }
echo "transfer complete after ${seconds}s, SHA-256 $want_sha"

stats=$(curl -sf "http://127.0.0.1:$tracker_port/stats") || { show_logs; fail "GET /stats failed"; }
echo "$stats"
expect_in_stats '"swarms":1,'
expect_in_stats '"AS64513":1[,}]'
echo "$stats" | tr -d ' \n' | grep -q '"adjacent-as":0' && { show_logs; fail "no adjacent-AS introduction was counted"; }
# Both clients announced over the protocol under test, and only over it.
other=$([ "$scenario" = udp ] && echo http || echo udp)
expect_in_stats "\"$scenario\":[1-9]"
expect_in_stats "\"$other\":0"
echo "PASS ($scenario)"
