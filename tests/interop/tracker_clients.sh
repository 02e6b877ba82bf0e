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

fail() {
  echo "FAIL ($scenario): $*" >&2
  exit 1
}

case "$scenario" in udp | http) ;; *) fail "the scenario must be udp or http, not '$scenario'" ;; esac
[ -x "$tracker_binary" ] || fail "$tracker_binary is not an executable"
for tool in transmission-cli transmission-create rtorrent aria2c curl sha256sum unshare ip; do
  command -v "$tool" > /dev/null || fail "$tool is missing (scripts/install-deps installs it)"
done

if [ -z "${NEARCAST_IN_NETNS:-}" ]; then
  # Re-run inside a namespace with only loopback; --kill-child takes every client down with it.
  export NEARCAST_IN_NETNS=1
  exec unshare --net --fork --kill-child -- "$0" "$@"
fi
ip link set lo up

work="$(mktemp -d "${TMPDIR:-/tmp}/nearcast-interop-$scenario.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  if [ "${keep_work:-0}" = 1 ]; then echo "logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

show_logs() {
  for log in "$work"/*.log; do
    echo "---- $(basename "$log") (last lines)" >&2
    tail -n 25 "$log" | tr '\r' '\n' | tail -n 25 >&2
  done
}

mkdir -p "$work/seed" "$work/get" "$work/transmission" "$work/rtorrent"
head -c 5000000 /dev/urandom > "$work/seed/payload.bin"
want_sha=$(sha256sum < "$work/seed/payload.bin" | cut -d' ' -f1)

tracker_port=6969
"$tracker_binary" --listen-http 127.0.0.1:$tracker_port --listen-udp 127.0.0.1:$tracker_port \
  --port-file "$work/ports" --interval 10 --min-interval 1 --log-level debug > "$work/tracker.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/ports" ] && break; sleep 0.1; done
[ -s "$work/ports" ] || { show_logs; fail "nearcast-tracker did not start"; }

if [ "$scenario" = udp ]; then
  announce="udp://127.0.0.1:$tracker_port/announce"
else
  announce="http://127.0.0.1:$tracker_port/announce"
fi
transmission-create -t "$announce" -s 256 -o "$work/payload.torrent" "$work/seed/payload.bin" > "$work/create.log"

# The seeder: Transmission 3.00 seeds to loopback peers (it will not download from them).
cat > "$work/transmission/settings.json" << JSON
{
  "bind-address-ipv4": "127.20.0.2",
  "bind-address-ipv6": "::1",
  "peer-port": 51413,
  "dht-enabled": false,
  "lpd-enabled": false,
  "pex-enabled": false,
  "port-forwarding-enabled": false,
  "utp-enabled": false,
  "rpc-enabled": false,
  "blocklist-enabled": false,
  "message-level": 2
}
JSON
transmission-cli -g "$work/transmission" -w "$work/seed" "$work/payload.torrent" > "$work/transmission.log" 2>&1 &
pids+=($!)

# The downloader starts once the seeder is in the swarm, so its first announce finds it (clients
# re-announce at their own pace, often far slower than the tracker's interval).
seeded=0
for _ in $(seq 1 "$deadline_s"); do
  if curl -sf "http://127.0.0.1:$tracker_port/stats" | tr -d ' \n' | grep -q '"seeders":1'; then seeded=1; break; fi
  sleep 1
done
[ "$seeded" = 1 ] || { show_logs; fail "transmission-cli never announced itself as a seeder"; }

if [ "$scenario" = udp ]; then
  rtorrent -n -b 127.10.0.3 -p 52000-52010 -d "$work/get" -s "$work/rtorrent" \
    -o system.daemon.set=true -o dht.mode.set=disable -o protocol.pex.set=no \
    -o trackers.use_udp.set=yes -o load.start_verbose="$work/payload.torrent" > "$work/rtorrent.log" 2>&1 &
  pids+=($!)
else
  aria2c --interface=127.10.0.4 --listen-port=52100-52110 --dir="$work/get" \
    --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false \
    --seed-time=0 --bt-stop-timeout="$deadline_s" --summary-interval=0 --console-log-level=notice \
    --file-allocation=none "$work/payload.torrent" > "$work/aria2c.log" 2>&1 &
  pids+=($!)
fi

got_sha=""
for second in $(seq 1 "$deadline_s"); do
  if [ -f "$work/get/payload.bin" ] && [ "$(stat -c %s "$work/get/payload.bin")" = 5000000 ]; then
    got_sha=$(sha256sum < "$work/get/payload.bin" | cut -d' ' -f1)
    [ "$got_sha" = "$want_sha" ] && break
  fi
  sleep 1
done
if [ "$got_sha" != "$want_sha" ]; then
  show_logs
  fail "the download did not complete with the right SHA-256 within ${deadline_s}s (got '${got_sha:-nothing}')"
fi
echo "transfer complete after ${second}s, SHA-256 $got_sha"

stats=$(curl -sf "http://127.0.0.1:$tracker_port/stats") || { show_logs; fail "GET /stats failed"; }
echo "$stats"
expect_in_stats() {
  echo "$stats" | tr -d ' \n' | grep -Eq "$1" || { show_logs; fail "/stats lacks $1"; }
}
expect_in_stats '"swarms":1,'
expect_in_stats '"AS64512":1[,}]'
expect_in_stats '"AS64513":1[,}]'
echo "$stats" | tr -d ' \n' | grep -q '"adjacent-as":0' && { show_logs; fail "no adjacent-AS introduction was counted"; }
# Both clients announced over the protocol under test, and only over it.
other=$([ "$scenario" = udp ] && echo http || echo udp)
expect_in_stats "\"$scenario\":[1-9]"
expect_in_stats "\"$other\":0"
echo "PASS ($scenario)"
