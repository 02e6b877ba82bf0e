#!/bin/bash
# Two origin seeders hold every item: replication, fail-over and repair, with real processes.
#
# Seeder A (127.30.0.1, AS 64514) publishes an item; seeder B (127.40.0.1, AS 64515), told of
# A as a fellow and to keep every item on two seeders, fetches its replica from A over
# BitTorrent by itself. Then:
#   failover: a third seeder C is told by hand to replicate the item and fetches it from B;
#             then aria2c downloads the item, slowly, and A is killed (SIGKILL) part-way; the
#             download completes from the others and its SHA-256 matches.
#   repair:   A is stopped, a byte of its copy is flipped on disk, A starts again; aria2c's
#             download still completes with the right SHA-256, A refuses to serve the bad
#             piece, repairs it from B without a restart, and then serves the whole file right.
#
# Usage: seeder_failover.sh SEEDER_BINARY TRACKER_BINARY failover|repair [SECONDS]
set -euo pipefail

seeder_binary="$1"
tracker_binary="$2"
scenario="$3"
deadline_s="${4:-120}"

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
. "$here/common.sh"

case "$scenario" in failover | repair) ;; *) fail "the scenario must be failover or repair, not '$scenario'" ;; esac
[ -x "$seeder_binary" ] || fail "$seeder_binary is not an executable"
[ -x "$tracker_binary" ] || fail "$tracker_binary is not an executable"
require_tools aria2c curl sha256sum unshare ip
enter_loopback_namespace "$0" "$@"

size=20000000
mkdir -p "$work/publisher" "$work/get"
random_file "$work/publisher/film.bin" "$size"
want_sha=$(sha256_of "$work/publisher/film.bin")
echo "an-admin-secret-for-this-test-only" > "$work/admin.secret"

"$tracker_binary" --listen-http 127.0.0.1:6969 --listen-udp 127.0.0.1:6969 --port-file "$work/tracker-ports" \
  --admin-secret-file "$work/admin.secret" --interval 5 --min-interval 1 > "$work/tracker.log" 2>&1 &
pids+=($!)
wait_for_port_file "$work/tracker-ports" nearcast-tracker

common=(--tracker http://127.0.0.1:6969/announce --admin-secret-file "$work/admin.secret" --register-every 2
  --replicas 2 --replicate-every 1 --log-level debug)
a_flags=(--name origin-a --data-dir "$work/a" --listen-bittorrent 127.30.0.1:6881 --listen-http 127.30.0.1:8080
  --fellow origin-b=http://127.40.0.1:8080 "${common[@]}")
b_flags=(--name origin-b --data-dir "$work/b" --listen-bittorrent 127.40.0.1:6881 --listen-http 127.40.0.1:8080
  --fellow origin-a=http://127.30.0.1:8080 "${common[@]}")

start_seeder() {  # NAME FLAGS...
  local name="$1"
  shift
  rm -f "$work/$name.ports"
  "$seeder_binary" serve "$@" --port-file "$work/$name.ports" >> "$work/$name.log" 2>&1 &
  pids+=($!)
  eval "${name//-/_}_pid=$!"
  wait_for_port_file "$work/$name.ports" "$name"
}

"$seeder_binary" publish "${a_flags[@]}" --web-seed http://127.30.0.1:8080 --web-seed http://127.40.0.1:8080 \
  "$work/publisher/film.bin" > "$work/publish.out" 2> "$work/publish.log" || { show_logs; fail "publish failed"; }
hash=$(cut -f2 "$work/publish.out")
torrent=$(cut -f4 "$work/publish.out")
start_seeder origin-a "${a_flags[@]}"
start_seeder origin-b "${b_flags[@]}"

# B fetches its replica from A over BitTorrent, by itself.
wait_for_http http://127.40.0.1:8080/catalogue "\"complete\":true,\"name\":\"film.bin\"" "$deadline_s" ||
  { show_logs; fail "origin-b did not fetch its replica of film.bin"; }
[ "$(sha256_of "$work/b/content/film.bin")" = "$want_sha" ] || { show_logs; fail "origin-b's replica has the wrong SHA-256"; }
# The whole replica came over BitTorrent: origin-b counted every byte it read (libtorrent counts
# received payload as it is read), and origin-a, its only source, served nothing over HTTP.
# origin-a's own count is checked for the bulk only: libtorrent counts a sent byte when its
# socket write completes, and the last writes to a peer that hangs up the moment it has
# everything (seed to seed) can go uncounted - up to the 4 MiB send buffer.
wait_for_http http://127.40.0.1:8080/stats '"fetched_bittorrent_bytes":(2[0-9]{7}|[3-9][0-9]{7}|[0-9]{9,})' 10 ||
  { show_logs; fail "origin-b did not fetch the whole replica over BitTorrent"; }
wait_for_http http://127.30.0.1:8080/stats '"served_bittorrent_bytes":(1[6-9][0-9]{6}|[2-9][0-9]{7}|[0-9]{9,})' 10 ||
  { show_logs; fail "origin-a did not upload the replica over BitTorrent"; }
stats=$(curl -sf http://127.30.0.1:8080/stats)
expect_in_stats '"served_http_bytes":0[,}]'
stats=$(curl -sf http://127.40.0.1:8080/stats)
expect_in_stats '"served_bittorrent_bytes":0,"served_http_bytes":0[,}]'  # origin-b, a leecher of a seed, served nothing
echo "origin-b holds a whole replica, fetched from origin-a over BitTorrent"
# Both are origins at the tracker before any client comes.
wait_for_http http://127.0.0.1:6969/stats '"origins":2' 20 || { show_logs; fail "the tracker does not list both origins"; }

aria2c_slow() {  # DIR: a download slow enough to outlast a seeder
  aria2c --interface=127.10.0.4 --listen-port=52100-52110 --dir="$1" --max-download-limit=2M \
    --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false \
    --seed-time=0 --bt-stop-timeout="$deadline_s" --retry-wait=1 --max-tries=0 --summary-interval=0 \
    --console-log-level=notice --file-allocation=none "$torrent" >> "$work/aria2c.log" 2>&1 &
  pids+=($!)
}

if [ "$scenario" = failover ]; then
  # A third seeder, told by hand to replicate the item (with --replicas 1 it is no home of it).
  c_flags=(--name origin-c --data-dir "$work/c" --listen-bittorrent 127.50.0.1:6881 --listen-http 127.50.0.1:8080
    --fellow origin-b=http://127.40.0.1:8080 --tracker http://127.0.0.1:6969/announce --replicas 1 --log-level debug)
  "$seeder_binary" replicate "${c_flags[@]}" "$hash" > "$work/replicate.out" 2> "$work/replicate.log" ||
    { show_logs; fail "replicate failed"; }
  grep -q "to fetch" "$work/replicate.out" || { show_logs; fail "replicate did not add the item"; }
  start_seeder origin-c "${c_flags[@]}"
  wait_for_http http://127.50.0.1:8080/catalogue "\"complete\":true,\"name\":\"film.bin\"" "$deadline_s" ||
    { show_logs; fail "origin-c did not fetch the item it was told to replicate"; }
  [ "$(sha256_of "$work/c/content/film.bin")" = "$want_sha" ] || { show_logs; fail "origin-c's replica has the wrong SHA-256"; }
  echo "origin-c, told to replicate by hand, fetched a whole replica from its fellow"

  aria2c_slow "$work/get"
  sleep 3
  kill -KILL "$origin_a_pid"
  echo "origin-a killed 3 s into a download that takes about 10 s"
  seconds=$(wait_for_sha256 "$work/get/film.bin" "$want_sha" "$deadline_s") ||
    { show_logs; fail "the download did not complete from origin-b after origin-a died"; }
  echo "download complete ${seconds}s after origin-a died, SHA-256 $want_sha"
  stats="$(curl -sf http://127.40.0.1:8080/stats)$(curl -sf http://127.50.0.1:8080/stats)"
  expect_in_stats '"served_(http|bittorrent)_bytes":[1-9]'  # the survivors served the client
else
  kill -TERM "$origin_a_pid"
  wait "$origin_a_pid" || true
  # One byte in the middle of A's copy, while A is down.
  printf '\x00' | dd of="$work/publisher/film.bin" bs=1 seek=10000000 count=1 conv=notrunc status=none
  [ "$(sha256_of "$work/publisher/film.bin")" != "$want_sha" ] || printf '\x01' |
    dd of="$work/publisher/film.bin" bs=1 seek=10000000 count=1 conv=notrunc status=none
  start_seeder origin-a "${a_flags[@]}"
  aria2c_slow "$work/get"
  wait_for_sha256 "$work/get/film.bin" "$want_sha" "$deadline_s" > /dev/null ||
    { show_logs; fail "the download did not complete with the right SHA-256"; }
  echo "download complete with the right SHA-256 despite the damaged copy on origin-a"
  # Whoever served the client, origin-a must notice when it is asked for the damaged piece.
  code=$(curl -s -o "$work/whole.bin" -w '%{http_code}' "http://127.30.0.1:8080/items/$hash/film.bin")
  echo "origin-a answered a whole-file GET with $code"
  wait_for_http http://127.30.0.1:8080/stats '"repairs":[1-9]' "$deadline_s" ||
    { show_logs; fail "origin-a did not repair its copy"; }
  [ "$(sha256_of "$work/publisher/film.bin")" = "$want_sha" ] || { show_logs; fail "origin-a's copy is still wrong"; }
  curl -sf -o "$work/whole.bin" "http://127.30.0.1:8080/items/$hash/film.bin" || { show_logs; fail "origin-a does not serve the repaired file"; }
  [ "$(sha256_of "$work/whole.bin")" = "$want_sha" ] || { show_logs; fail "origin-a serves wrong bytes after the repair"; }
  stats=$(curl -sf http://127.30.0.1:8080/stats)
  expect_in_stats '"hash_failures":[1-9]'
  echo "origin-a found the damaged piece, repaired it from origin-b and serves the whole file right"
fi
echo "PASS ($scenario)"
