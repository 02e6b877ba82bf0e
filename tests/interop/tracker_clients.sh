#!/bin/bash
# Interop: two different BitTorrent clients from Debian find each other through
# nearcast-tracker and complete a transfer; the downloaded file's SHA-256 must match.
#
#   udp:  transmission-cli seeds from 127.20.0.2 (AS 64513), rtorrent downloads from
#         127.10.0.3 (AS 64512); both announce over UDP (BEP 15).
#   http: transmission-cli seeds from 127.20.0.2, aria2c downloads from 127.10.0.4; both
#         announce over HTTP (BEP 3, compact peers).
#   aria2c-udp: as udp, with aria2c 1.36 downloading. It sends a fresh random `key` in every
#         UDP announce and re-announces every 2 s here (--bt-tracker-interval); its re-announces
#         and its `stopped` must all be accepted, and it must leave the swarm. aria2c speaks
#         UDP to trackers only through its DHT socket, so its DHT is on: in this namespace it
#         has no node to reach but loopback, and none is given.
#
# The addresses sit in the emulated Internet of the embedded default data, so the tracker's
# /stats must also show each client in its AS and the answers as adjacent-AS introductions.
# Everything runs in a fresh network namespace that holds only loopback: DHT, LSD, PEX, UPnP
# and NAT-PMP are off in every client as well, and every process dies with the namespace.
#
# Usage: tracker_clients.sh TRACKER_BINARY udp|http|aria2c-udp [SECONDS]
set -euo pipefail

tracker_binary="$1"
scenario="$2"
deadline_s="${3:-120}"

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

case "$scenario" in udp | http | aria2c-udp) ;; *) fail "the scenario must be udp, http or aria2c-udp, not '$scenario'" ;; esac
protocol=${scenario#aria2c-}
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

if [ "$protocol" = udp ]; then
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
elif [ "$scenario" = aria2c-udp ]; then
  # Slowed to 1 MB/s so that it re-announces several times before it finishes and stops.
  aria2c --interface=127.10.0.4 --listen-port=52100-52110 --dir="$work/get" \
    --enable-dht=true --dht-listen-port=52200 --dht-file-path="$work/dht.dat" --enable-dht6=false \
    --bt-enable-lpd=false --enable-peer-exchange=false --bt-tracker-interval=2 --max-download-limit=1M \
    --seed-time=0 --bt-stop-timeout="$deadline_s" --summary-interval=0 --console-log-level=notice \
    --file-allocation=none "$work/payload.torrent" > "$work/aria2c.log" 2>&1 &
  aria2c_pid=$!
  pids+=($aria2c_pid)
else
  start_aria2c aria2c 127.10.0.4 52100-52110 "$work/payload.torrent" "$work/get" "$deadline_s"
fi

# While it downloads, the tracker has placed it in its AS (aria2c leaves the swarm once done).
wait_for_http "http://127.0.0.1:$tracker_port/stats" '"AS64512":1[,}]' "$deadline_s" ||
  { show_logs; fail "the downloader was never listed in AS 64512"; }
seconds=$(wait_for_sha256 "$work/get/payload.bin" "$want_sha" "$deadline_s") ||
  { show_logs; fail "the download did not complete with the right SHA-256 within ${deadline_s}s"; }
echo "transfer complete after ${seconds}s, SHA-256 $want_sha"

if [ "$scenario" = aria2c-udp ]; then
  # aria2c exits once done (--seed-time=0), after its `stopped` announce.
  for _ in $(seq 1 100); do kill -0 "$aria2c_pid" 2> /dev/null || break; sleep 0.1; done
  kill -0 "$aria2c_pid" 2> /dev/null && { show_logs; fail "aria2c did not exit after its download"; }
  announces=$(grep -c 'udp announce.* from 127\.10\.0\.4 ' "$work/tracker.log" || true)
  stopped=$(grep -c 'udp announce stopped from 127\.10\.0\.4 ' "$work/tracker.log" || true)
  refused=$(grep -c 'announce from 127\.10\.0\.4 refused' "$work/tracker.log" || true)
  echo "aria2c: $announces UDP announces accepted ($stopped stopped), $refused refused"
  [ "$refused" = 0 ] || { show_logs; fail "the tracker refused $refused of aria2c's announces"; }
  [ "$announces" -ge 3 ] || { show_logs; fail "aria2c re-announced $announces times; at least 3 expected"; }
  [ "$stopped" -ge 1 ] || { show_logs; fail "aria2c's stopped announce was never accepted"; }
  wait_for_http "http://127.0.0.1:$tracker_port/stats" '"peers":1[,}]' 10 ||
    { show_logs; fail "aria2c is still listed in the swarm after its stopped announce"; }
fi

stats=$(curl -sf "http://127.0.0.1:$tracker_port/stats") || { show_logs; fail "GET /stats failed"; }
echo "$stats"
expect_in_stats '"swarms":1,'
expect_in_stats '"AS64513":1[,}]'
echo "$stats" | tr -d ' \n' | grep -q '"adjacent-as":0' && { show_logs; fail "no adjacent-AS introduction was counted"; }
# Both clients announced over the protocol under test, and only over it.
other=$([ "$protocol" = udp ] && echo http || echo udp)
expect_in_stats "\"$protocol\":[1-9]"
expect_in_stats "\"$other\":0"
echo "PASS ($scenario)"
