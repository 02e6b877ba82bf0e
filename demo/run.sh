#!/bin/bash
# `make demo`: a whole CDN on one machine. One tracker, two origin seeders and about thirty
# peers in four emulated networks (127.10/20/30/40.x, AS 64512-64515 of the embedded
# snapshot; the origins sit in AS 64516 at 127.50.x), a catalogue with Zipf popularity, a few
# viewers streaming at a fixed bit rate, one seeder and one supernode killed half way, and a
# report (text, HTML with plots) that ends with `figure NAME VALUE` lines.
#
# Everything runs in a network namespace that holds only loopback; every process is started
# here, tracked by its PID and stopped before the end.
#
# Usage: demo/run.sh BUILD_DIR [--short] [--check] [--out DIR] [--keep]
#   --short  the CI size (fewer peers, smaller items)
#   --check  exit 1 unless every download verified, origin savings against a CDN serving the
#            same sessions > 50% and the intra-AS share of viewers' peer bytes > 70%
#   --out    where the report goes (default BUILD_DIR/demo)
#   --keep   keep the work folder (content, logs) instead of removing it
set -euo pipefail

fail() {
  echo "demo: $*" >&2
  exit 2
}

[ $# -ge 1 ] || fail "usage: demo/run.sh BUILD_DIR [--short] [--check] [--out DIR] [--keep]"
build="$(cd "$1" 2> /dev/null && pwd)" || fail "$1: no such build folder (run make build first)"
shift
mode=full check="" out="$build/demo" keep=0
arguments=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --short) mode=short ;;
    --check) check=--check ;;
    --out) out="${2:?--out needs a folder}"; shift ;;
    --keep) keep=1 ;;
    *) fail "unknown option '$1' (--short, --check, --out DIR, --keep)" ;;
  esac
  shift
done
here="$(cd "$(dirname "$0")" && pwd)"
tracker_binary="$build/tracker/nearcast-tracker"
seeder_binary="$build/seeder/nearcast-seeder"
peer_binary="$build/peer/nearcast-peer"
reader_binary="$build/tests/stream-reader"
for binary in "$tracker_binary" "$seeder_binary" "$peer_binary" "$reader_binary"; do
  [ -x "$binary" ] || fail "$binary is missing: build first (make build)"
done
for tool in unshare ip curl jq sha256sum python3 gnuplot; do
  command -v "$tool" > /dev/null || fail "$tool is missing (scripts/install-deps installs it)"
done

# A network namespace with loopback only: nothing leaves the machine, and the addresses and
# ports below cannot collide with anything else running. --kill-child takes us down with it.
if [ -z "${NEARCAST_DEMO_NETNS:-}" ]; then
  [ "$(id -u)" = 0 ] || fail "the demo needs root for its network namespace (sudo make demo)"
  export NEARCAST_DEMO_NETNS=1
  exec unshare --net --fork --kill-child -- "$0" "$build" "${arguments[@]}"
fi
ip link set lo up

started_ns=$(date +%s%N)
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/nearcast-demo.XXXXXX")"
export HOME="$work/home" XDG_CACHE_HOME="$work/home/.cache"  # no daemon of the user's is found
mkdir -p "$HOME" "$work/catalogue" "$work/reports" "$work/logs" "$work/streams" "$work/daemons" "$work/peers"

pids=()
cleanup() {
  local pid file
  for file in "$work"/streams/*.reader.pid; do
    [ -s "$file" ] && pids+=("$(cat "$file")")
  done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2> /dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  if [ "$keep" = 1 ]; then echo "demo: work folder kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

say() { printf '[%5.1fs] %s\n' "$(elapsed)" "$*"; }
elapsed() { awk -v now="$(date +%s%N)" -v start="$started_ns" 'BEGIN { printf "%.1f", (now - start) / 1e9 }'; }
show_log_tail() {
  echo "---- $1" >&2
  tail -n 20 "$1" >&2 || true
}

# shellcheck source=../tests/interop/waiting.sh
. "$here/../tests/interop/waiting.sh"
wait_for_file() {  # FILE SECONDS
  local _
  for _ in $(seq 1 $(($2 * 10))); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

python3 "$here/demo.py" plan --mode "$mode" > "$work/plan.tsv"
kill_s=$(awk -F'\t' '$1 == "setting" && $2 == "kill_s" { print $3 }' "$work/plan.tsv")
item_count=$(grep -c '^item' "$work/plan.tsv")
say "plan ($mode): $item_count items, $(grep -c '^fetch' "$work/plan.tsv") downloads, $(grep -c '^stream' "$work/plan.tsv") streams, $(grep -c '^daemon' "$work/plan.tsv") daemons"

# The catalogue: random files, so that every byte a peer gets can be checked.
while IFS=$'\t' read -r kind _ name size _ _; do
  [ "$kind" = item ] || continue
  head -c "$size" /dev/urandom > "$work/catalogue/$name"
done < "$work/plan.tsv"

secret="$work/admin.secret"
echo "demo-admin-secret-$RANDOM$RANDOM" > "$secret"
"$tracker_binary" --listen-http 127.0.0.1:6969 --listen-udp 127.0.0.1:6969 --port-file "$work/tracker.ports" \
  --admin-secret-file "$secret" --interval 5 --min-interval 1 \
  --supernode-election-every 2 --supernode-min-uptime 2 --supernode-min-capacity 0 --supernode-min-peers 2 \
  --supernode-ratio 3 --supernode-admission 12 > "$work/logs/tracker.log" 2>&1 &
pids+=($!)
wait_for_file "$work/tracker.ports" 10 || { show_log_tail "$work/logs/tracker.log"; fail "the tracker did not start"; }
say "tracker: http://127.0.0.1:6969/dashboard (inside the demo's namespace)"

# Two origins in AS 64516, each holding every item (replicas 2), each listing both web seeds.
announce=http://127.0.0.1:6969/announce
common=(--tracker "$announce" --admin-secret-file "$secret" --register-every 2 --replicas 2 --replicate-every 1
  --upload-limit-mb 3 --web-seed http://127.50.0.1:8080 --web-seed http://127.50.1.1:8080)
origin_a=(--name origin-a --data-dir "$work/origin-a" --listen-bittorrent 127.50.0.1:6881 --listen-http 127.50.0.1:8080
  --fellow origin-b=http://127.50.1.1:8080 "${common[@]}")
origin_b=(--name origin-b --data-dir "$work/origin-b" --listen-bittorrent 127.50.1.1:6881 --listen-http 127.50.1.1:8080
  --fellow origin-a=http://127.50.0.1:8080 "${common[@]}")
# Each origin hashes the catalogue itself (the same files give the same torrents): both hold
# every item from the start, as a replicated deployment does, without waiting for a copy.
for origin in a b; do
  flags="origin_${origin}[@]"
  "$seeder_binary" publish "${!flags}" "$work"/catalogue/*.bin > "$work/publish-$origin.out" 2> "$work/logs/publish-$origin.log" ||
    { show_log_tail "$work/logs/publish-$origin.log"; fail "publishing the catalogue on origin-$origin failed"; }
done
cmp -s <(cut -f2 "$work/publish-a.out" | sort) <(cut -f2 "$work/publish-b.out" | sort) ||
  say "note: the two origins made different torrents of the same files"
cp "$work/publish-a.out" "$work/publish.out"
"$seeder_binary" serve "${origin_a[@]}" --port-file "$work/origin-a.ports" > "$work/logs/origin-a.log" 2>&1 &
origin_a_pid=$!
pids+=($!)
"$seeder_binary" serve "${origin_b[@]}" --port-file "$work/origin-b.ports" > "$work/logs/origin-b.log" 2>&1 &
pids+=($!)
for origin in 127.50.0.1 127.50.1.1; do
  wait_for_http "http://$origin:8080/catalogue" "(\"complete\":true.*){$item_count}" 30 ||
    { show_log_tail "$work/logs/origin-a.log"; show_log_tail "$work/logs/origin-b.log"; fail "the origin at $origin does not serve the catalogue"; }
done
wait_for_http http://127.0.0.1:6969/stats '"origins":2' 20 || fail "the tracker does not list both origins"
say "origins: $item_count items published on origin-a and origin-b, both registered with the tracker"

# The tracker's /stats every two seconds, for the plots. Its sleep goes down with it.
(
  nap=""
  trap 'kill "$nap" 2> /dev/null; exit 0' TERM
  while :; do
    stats=$(curl -sf --max-time 2 http://127.0.0.1:6969/stats | tr -d '\n') && echo "$(date +%s.%N) $stats" >> "$work/stats.jsonl"
    sleep 2 &
    nap=$!
    wait "$nap"
  done
) &
pids+=($!)

torrent_of() {  # ITEM_INDEX
  local name
  name=$(awk -F'\t' -v index_="$1" '$1 == "item" && $2 == index_ { print $3 }' "$work/plan.tsv")
  grep -F "$name" "$work/publish.out" | cut -f4
}

# Supernodes: one daemon per network offers itself, when this nearcast-peer can.
daemon_pids=()
daemon_names=()
# (The help is read whole first: `--help | grep -q` under pipefail fails whenever grep stops
# reading before the help is written out, and the demo then ran without supernodes.)
peer_help=$("$peer_binary" --help 2>&1 || true)
if grep -q -- --supernode-tracker <<< "$peer_help"; then
  while IFS=$'\t' read -r kind host; do
    [ "$kind" = daemon ] || continue
    "$peer_binary" daemon --cache "$work/daemons/$host" --listen-bittorrent "$host:6881" --listen-control 127.0.0.1:0 --quota-mb 500 \
      --supernode-tracker http://127.0.0.1:6969 --log-level info > "$work/logs/daemon-$host.log" 2>&1 &
    pids+=($!)
    daemon_pids+=($!)
    daemon_names+=("$host")
  done < "$work/plan.tsv"
  say "daemons: ${#daemon_pids[@]} offer themselves as supernodes"
else
  say "daemons: this nearcast-peer has no --supernode-tracker; running without supernodes"
fi

# The viewers and downloaders, in the order of their arrival.
fetch_pids=()
fetch_logs=()
stream_pids=()
reader_pids=()
killed=0
arrivals_started_ns=$(date +%s%N)
since_arrivals() { awk -v now="$(date +%s%N)" -v start="$arrivals_started_ns" 'BEGIN { printf "%.1f", (now - start) / 1e9 }'; }

# What a daemon says about itself (/status), for the report: the supernode killed half way is
# asked just before, so that what it fetched until then is counted too.
save_daemon_status() {  # INDEX
  local control="$work/daemons/${daemon_names[$1]}/control.json" url token
  kill -0 "${daemon_pids[$1]}" 2> /dev/null && [ -s "$control" ] || return 0
  url=$(jq -r .url "$control" 2> /dev/null || true)
  token=$(jq -r .token "$control" 2> /dev/null || true)
  [ -n "$url" ] && curl -sf -H "Authorization: Bearer $token" "${url%/}/status" \
    > "$work/daemons/${daemon_names[$1]}.status.json" 2> /dev/null || true
}

kill_half_way() {
  { kill -KILL "$origin_a_pid" && wait "$origin_a_pid"; } 2> /dev/null || true
  say "half way: origin-a killed (SIGKILL)"
  echo "origin-a (127.50.0.1)" >> "$work/killed.txt"
  if [ "${#daemon_pids[@]}" -gt 0 ]; then
    save_daemon_status 0
    { kill -KILL "${daemon_pids[0]}" && wait "${daemon_pids[0]}"; } 2> /dev/null || true
    say "half way: the daemon at ${daemon_names[0]} killed (SIGKILL)"
    echo "the supernode daemon at ${daemon_names[0]}" >> "$work/killed.txt"
  fi
  killed=1
}

while IFS=$'\t' read -r kind host item at; do
  case "$kind" in fetch | stream) ;; *) continue ;; esac
  while awk -v now="$(since_arrivals)" -v at="$at" 'BEGIN { exit !(now < at) }'; do
    if [ "$killed" = 0 ] && awk -v now="$(since_arrivals)" -v at="$kill_s" 'BEGIN { exit !(now >= at) }'; then kill_half_way; fi
    sleep 0.2
  done
  if [ "$killed" = 0 ] && awk -v now="$at" -v at="$kill_s" 'BEGIN { exit !(now >= at) }'; then kill_half_way; fi
  torrent=$(torrent_of "$item")
  if [ "$kind" = fetch ]; then
    "$peer_binary" fetch "$torrent" -o "$work/peers/$host-$item" --listen-bittorrent "$host:$((7000 + item))" --no-daemon --no-progress \
      --seed-for 600 --stall-timeout 60 --report "$work/reports/$host-$item.json" > "$work/logs/fetch-$host-$item.log" 2>&1 &
    pids+=($!)
    fetch_pids+=($!)
    fetch_logs+=("$work/logs/fetch-$host-$item.log")
    echo "$host $item" >> "$work/fetches.txt"
  else
    "$peer_binary" stream "$torrent" -o "$work/peers/$host-stream" --listen-bittorrent "$host:7100" --no-daemon --no-progress \
      --report "$work/reports/$host-stream.json" > "$work/streams/$host.url" 2> "$work/logs/stream-$host.log" &
    pids+=($!)
    stream_pids+=($!)
    name=$(awk -F'\t' -v index_="$item" '$1 == "item" && $2 == index_ { print $3 }' "$work/plan.tsv")
    # A player at 2 MB/s (16 Mbit/s) plays the first third, then seeks to 60%.
    launched_ns=$(date +%s%N)
    (
      wait_for_file "$work/streams/$host.url" 20 || exit 1
      # Start-up as a viewer sees it: until the player has its URL, then to its first byte.
      echo "url_ms $((($(date +%s%N) - launched_ns) / 1000000))" > "$work/streams/$host.url_ms"
      "$reader_binary" "$(head -n 1 "$work/streams/$host.url")" "$work/catalogue/$name" 2000000 0.6 \
        > "$work/streams/$host.reader" 2>&1 &
      echo $! > "$work/streams/$host.reader.pid"  # for the cleanup, should the demo stop early
      status=0
      wait $! || status=$?
      echo "$status" > "$work/streams/$host.reader.status"
    ) &
    pids+=($!)
    reader_pids+=($!)
  fi
done < <(awk -F'\t' '$1 == "fetch" || $1 == "stream"' "$work/plan.tsv" | sort -t$'\t' -k4,4g)
while [ "$killed" = 0 ]; do
  awk -v now="$(since_arrivals)" -v at="$kill_s" 'BEGIN { exit !(now >= at) }' && kill_half_way && break
  sleep 0.2
done
say "all ${#fetch_pids[@]} downloads and ${#stream_pids[@]} streams started"

# Until every download has verified every piece (or failed), at most 120 s more.
deadline=$(($(date +%s) + 120))
while :; do
  done_count=0
  for index in "${!fetch_pids[@]}"; do
    if grep -q "every piece verified" "${fetch_logs[$index]}" 2> /dev/null || ! kill -0 "${fetch_pids[$index]}" 2> /dev/null; then
      done_count=$((done_count + 1))
    fi
  done
  [ "$done_count" = "${#fetch_pids[@]}" ] && break
  [ "$(date +%s)" -ge "$deadline" ] && { say "deadline: $done_count of ${#fetch_pids[@]} downloads finished"; break; }
  sleep 1
done
for pid in "${reader_pids[@]}"; do wait "$pid" 2> /dev/null || true; done
say "downloads finished: $done_count of ${#fetch_pids[@]}; stream readers done"

# What the daemons say, then everything stops; fetches write their reports on SIGTERM.
for index in "${!daemon_pids[@]}"; do save_daemon_status "$index"; done
curl -sf http://127.0.0.1:6969/stats > "$work/stats-final.json" || true
for pid in "${fetch_pids[@]}" "${stream_pids[@]}" "${daemon_pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
for pid in "${fetch_pids[@]}" "${stream_pids[@]}" "${daemon_pids[@]}"; do wait "$pid" 2> /dev/null || true; done

# Every download checked against the original, byte for byte (SHA-256).
: > "$work/verified.tsv"
while read -r host item; do
  name=$(awk -F'\t' -v index_="$item" '$1 == "item" && $2 == index_ { print $3 }' "$work/plan.tsv")
  got="$work/peers/$host-$item/$name"
  status=bad
  if [ -f "$got" ] && [ "$(sha256sum < "$got")" = "$(sha256sum < "$work/catalogue/$name")" ]; then status=ok; fi
  printf '%s\t%s\t%s\n' "$host" "$item" "$status" >> "$work/verified.tsv"
done < "$work/fetches.txt"
grep -q "bad$" "$work/verified.tsv" && for log in "$work"/logs/fetch-*.log; do
  grep -q "every piece verified" "$log" || show_log_tail "$log"
done

cp "$work/plan.tsv" "$out/plan.tsv"
[ "$keep" = 1 ] && cp -r "$work/logs" "$work/reports" "$out/"
status=0
python3 "$here/demo.py" report --work "$work" --out "$out" $check || status=$?
echo "figure demo_wall_s $(elapsed)"
exit "$status"
