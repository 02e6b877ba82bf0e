#!/bin/bash
# Interop: nearcast-peer in a swarm of ordinary BitTorrent clients from Debian.
#
# Two transmission-cli seeds (127.20.0.2 and 127.20.0.3, AS 64513) serve a torrent made by
# transmission-create, announced to nearcast-tracker over HTTP. nearcast-peer (127.10.0.5,
# AS 64512) fetches it from them and stays to seed; the transmission seeds are then stopped and
# aria2c (127.10.0.4) downloads the file from nearcast-peer alone. Both SHA-256s must match,
# and nearcast-peer's report must show what it received from and sent to the others.
#
# Usage: peer_clients.sh PEER_BINARY TRACKER_BINARY [SECONDS]
set -euo pipefail

peer_binary="$1"
tracker_binary="$2"
deadline_s="${3:-120}"
scenario=peer

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

[ -x "$peer_binary" ] || fail "$peer_binary is not an executable"
[ -x "$tracker_binary" ] || fail "$tracker_binary is not an executable"
require_tools transmission-cli transmission-create aria2c curl sha256sum unshare ip
enter_loopback_namespace "$0" "$@"

size=6000000
mkdir -p "$work/seed" "$work/aria2c"
random_file "$work/seed/payload.bin" "$size"
want_sha=$(sha256_of "$work/seed/payload.bin")

start_nearcast_tracker "$tracker_binary" --interval 10 --min-interval 1
transmission-create -t http://127.0.0.1:6969/announce -s 256 -o "$work/payload.torrent" "$work/seed/payload.bin" > "$work/create.log"

start_transmission transmission-1 127.20.0.2 51413 "$work/payload.torrent" "$work/seed"
transmission_1=$!
start_transmission transmission-2 127.20.0.3 51414 "$work/payload.torrent" "$work/seed"
transmission_2=$!
wait_for_http http://127.0.0.1:6969/stats '"seeders":2' "$deadline_s" ||
  { show_logs; fail "the transmission-cli seeds never announced themselves"; }

"$peer_binary" fetch "$work/payload.torrent" -o "$work/nearcast" --listen-bittorrent 127.10.0.5:7000 --seed-for "$deadline_s" \
  --report "$work/nearcast.json" > "$work/nearcast.log" 2>&1 &
peer_pid=$!
pids+=($!)
seconds=$(wait_for_sha256 "$work/nearcast/payload.bin" "$want_sha" "$deadline_s") ||
  { show_logs; fail "nearcast-peer did not fetch the file from the transmission-cli seeds"; }
grep -q "complete, every piece verified" "$work/nearcast.log" || sleep 1
grep -q "complete, every piece verified" "$work/nearcast.log" || { show_logs; fail "nearcast-peer did not say it is complete"; }
echo "nearcast-peer fetched the file from two transmission-cli seeds in ${seconds}s, SHA-256 right"

# Only nearcast-peer holds the file now.
kill "$transmission_1" "$transmission_2"
wait "$transmission_1" "$transmission_2" 2> /dev/null || true
# (transmission-cli sends no stopped announce when killed: the tracker still names them, and
# aria2c's connections to them are refused.)
start_aria2c aria2c 127.10.0.4 52100-52110 "$work/payload.torrent" "$work/aria2c" "$deadline_s"
seconds=$(wait_for_sha256 "$work/aria2c/payload.bin" "$want_sha" "$deadline_s") ||
  { show_logs; fail "aria2c did not download the file from nearcast-peer"; }
echo "aria2c downloaded the file from nearcast-peer in ${seconds}s, SHA-256 right"

kill -TERM "$peer_pid"
status=0
wait "$peer_pid" || status=$?
[ "$status" = 0 ] || { show_logs; fail "nearcast-peer exited with $status after SIGTERM, complete"; }
report=$(tr -d ' \n' < "$work/nearcast.json")
echo "$report" | grep -q '"complete":true' || fail "the report does not say complete"
# From the transmission seeds (another AS: far), to aria2c (same subnet: near).
echo "$report" | grep -Eq '"downloaded":\{"far":[1-9]' || fail "the report shows no bytes from the far transmission seeds: $report"
echo "$report" | grep -Eq '"uploaded":\{"far":[0-9]+,"near":[1-9]' || fail "the report shows no bytes sent to aria2c: $report"
echo "PASS (peer)"
