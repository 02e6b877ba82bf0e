#!/bin/bash
# make bench-deference: does origin deference ever make a download slower? Each case below is
# fetched ROUNDS times with deference on (the default) and ROUNDS times with it off
# (--defer-origin-at 0, the anchor), the two modes interleaved on,off,off,on,... so that a
# machine getting busier or quieter weighs on both alike. Real processes in a loopback-only
# network namespace: nearcast-tracker, two origin seeders (one uncapped, one at 2 MB/s), a
# near nearcast-peer in the fetcher's AS, and the fetcher.
#
# Cases ("near" is 127.10.0.10, the fetcher 127.10.0.50, both in AS 64512). Items are 12 MB
# beside the origin at 2 MB/s and 120 MB beside the uncapped one ("fast"), so that every fetch
# lasts about a second or more: the start of a fetch (tracker, connections) varies by tens of ms
# from run to run, which made a 12 MB fetch of 0.1 s read 1.40 one run and 0.81 the next.
#
#   seed-100k-fast   a near seed whose user caps its upload at 100 kB/s, origin uncapped
#                    (the case issue 18 found: a minute at 100 kB/s against 0.3 s)
#   seed-100k-2mb    the same beside the origin at 2 MB/s
#   seed-open-2mb    a near seed with no cap, origin at 2 MB/s (deference should save origin
#                    bytes here and cost nothing)
#   gw-dl300-fast    a near peer that started 2 s earlier, its download held to 300 kB/s
#   gw-dl300-2mb     the same beside the origin at 2 MB/s
#   gw-dl1000-fast   a near peer that started 2 s earlier, its download held to 1 MB/s (above
#                    the floor, so it may be a gateway), origin uncapped
#   gw-open-2mb      a near peer with no limits that started 2 s earlier, origin at 2 MB/s
#                    (it is the fetcher's gateway)
#   gw-ul150-2mb     a near peer that started 2 s earlier, its upload held to 150 kB/s, its
#                    own deference off: it may not be a gateway, so the fetcher never follows
#                    it, but with deference on it followed the fetcher in some rounds and not in
#                    others (its capped upload delays its own requests), and the fetcher took
#                    7 s or 11 s, in either mode, by that alone
#   gw-slowlink-2mb  a near peer with no limits that started 2 s earlier, whose link (not its
#                    user) sends at 300 kB/s (tc on loopback), origin at 2 MB/s
#
# Per case: the median seconds to complete in each mode, their ratio (on / off), the origin's
# bytes to the fetcher in each mode, and in how many rounds with deference on the fetcher left
# the origin alone at all (none: the two modes did the same, and their difference is noise).
# Ends with
#   figure deference_time_ratio_worst X    the largest per-case ratio of medians, on / off
#   figure deference_time_ratio_geomean X  their geometric mean over the cases
#   figure deference_origin_bytes_ratio X  the origin's bytes to the fetcher, on / off, summed
#                                          over every case and round
# Usage: deference_bench.sh PEER SEEDER TRACKER [ROUNDS] [CASE...]
# (DEFERENCE_BENCH_FETCH_FLAGS adds flags to each measured fetch, e.g. "--defer-floor-s 1",
# DEFERENCE_BENCH_OFF_FIRST=1 starts each case with deference off, and keep_work=1 keeps the logs.)
set -euo pipefail

peer_binary="$1"
seeder_binary="$2"
tracker_binary="$3"
rounds="${4:-5}"
shift $(($# < 4 ? $# : 4))
all_cases=(seed-100k-fast seed-100k-2mb seed-open-2mb gw-dl300-fast gw-dl300-2mb gw-dl1000-fast gw-open-2mb gw-ul150-2mb gw-slowlink-2mb)
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("${all_cases[@]}")
scenario=deference-bench

here="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../tests/interop/common.sh
. "$here/tests/interop/common.sh"
for binary in "$peer_binary" "$seeder_binary" "$tracker_binary"; do
  [ -x "$binary" ] || fail "$binary is not an executable"
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || fail "ROUNDS must be a whole number of at least 1, not '$rounds'"
for c in "${cases[@]}"; do
  [[ " ${all_cases[*]} " == *" $c "* ]] || fail "unknown case '$c' (known: ${all_cases[*]})"
done
require_tools jq awk unshare ip tc
enter_loopback_namespace "$0" "$peer_binary" "$seeder_binary" "$tracker_binary" "$rounds" "${cases[@]}"

echo "an-admin-secret-for-this-test-only" > "$work/admin.secret"
start_nearcast_tracker "$tracker_binary" --admin-secret-file "$work/admin.secret" --interval 5 --min-interval 1

# Two origins, each with its own items: "fast" (uncapped, 127.30.0.1, AS 64514) and "2mb"
# (2 MB/s, 127.40.0.1, AS 64515). Every case gets an item of its own per round, so no round
# finds pieces left over from the one before.
declare -A torrents
for origin in fast 2mb; do
  if [ "$origin" = fast ]; then address=127.30.0.1; limit=0; item_bytes=120000000; else address=127.40.0.1; limit=2; item_bytes=12000000; fi
  flags=(--name "origin-$origin" --data-dir "$work/origin-$origin" --listen-bittorrent "$address:6881"
    --listen-http "$address:8080" --tracker http://127.0.0.1:6969/announce
    --admin-secret-file "$work/admin.secret" --register-every 2)
  mkdir -p "$work/content-$origin"
  for c in "${cases[@]}"; do
    [ "${c##*-}" = "$origin" ] || continue
    for r in $(seq 1 $((2 * rounds))); do random_file "$work/content-$origin/$c-$r.bin" "$item_bytes"; done
  done
  ls "$work/content-$origin"/*.bin > /dev/null 2>&1 || continue
  "$seeder_binary" publish "${flags[@]}" "$work/content-$origin"/*.bin > "$work/publish-$origin.out" 2>> "$work/publish.log" ||
    { show_logs; fail "publish on origin-$origin failed"; }
  while IFS=$'\t' read -r _ _ name torrent _; do torrents[$name]="$torrent"; done < "$work/publish-$origin.out"
  "$seeder_binary" serve "${flags[@]}" --upload-limit-mb "$limit" --port-file "$work/origin-$origin.ports" \
    > "$work/origin-$origin.log" 2>&1 &
  pids+=($!)
  wait_for_port_file "$work/origin-$origin.ports" "origin-$origin"
done

quiet=(--no-daemon --no-progress)
near=127.10.0.10
fetcher=127.10.0.50

# Starts the near peer of case $1 on item $2 and returns once it is where the case wants it.
near_pid=""
start_near() {
  local c="$1" torrent="$2" dir="$work/near-$3"
  case "$c" in
    seed-*)
      local cap=0
      [ "${c#seed-100k}" != "$c" ] && cap=100
      "$peer_binary" fetch "$torrent" "${quiet[@]}" -o "$dir" --listen-bittorrent "$near:7000" --seed-for 600 \
        --report "$dir.json" > "$dir.log" 2>&1 &
      near_pid=$!
      # Seeding once its first download is done; then the user caps it.
      for _ in $(seq 1 600); do grep -q "every piece verified" "$dir.log" 2> /dev/null && break; sleep 0.1; done
      grep -q "every piece verified" "$dir.log" || { cat "$dir.log"; fail "$c: the near peer did not start seeding"; }
      [ "$cap" = 0 ] || restart_capped_seed "$torrent" "$dir" "$cap"
      ;;
    gw-dl*)
      local limit="${c#gw-dl}"
      "$peer_binary" fetch "$torrent" "${quiet[@]}" -o "$dir" --listen-bittorrent "$near:7000" --seed-for 0 \
        --download-limit-kb "${limit%%-*}" > "$dir.log" 2>&1 &
      near_pid=$!
      sleep 2
      ;;
    gw-open-*)
      "$peer_binary" fetch "$torrent" "${quiet[@]}" -o "$dir" --listen-bittorrent "$near:7000" --seed-for 0 > "$dir.log" 2>&1 &
      near_pid=$!
      sleep 2
      ;;
    gw-slowlink-*)
      # No limit its user set (it may be a gateway), but what it sends leaves at 300 kB/s: a
      # traffic shaper on loopback holds every packet from its address to that rate.
      shape_near_uplink 2400kbit
      "$peer_binary" fetch "$torrent" "${quiet[@]}" -o "$dir" --listen-bittorrent "$near:7000" --seed-for 0 > "$dir.log" 2>&1 &
      near_pid=$!
      sleep 2
      ;;
    gw-ul150-*)
      "$peer_binary" fetch "$torrent" "${quiet[@]}" -o "$dir" --listen-bittorrent "$near:7000" --seed-for 0 \
        --upload-limit-kb 150 --defer-origin-at 0 > "$dir.log" 2>&1 &
      near_pid=$!
      sleep 2
      ;;
  esac
}

# A seed capped by its user: the finished copy served again with --upload-limit-kb.
restart_capped_seed() {
  local torrent="$1" dir="$2" cap="$3"
  stop_near
  "$peer_binary" fetch "$torrent" "${quiet[@]}" -o "$dir" --listen-bittorrent "$near:7000" --seed-for 600 \
    --upload-limit-kb "$cap" > "$dir.capped.log" 2>&1 &
  near_pid=$!
  for _ in $(seq 1 100); do grep -q "every piece verified" "$dir.capped.log" 2> /dev/null && break; sleep 0.1; done
  grep -q "every piece verified" "$dir.capped.log" || { cat "$dir.capped.log"; fail "the capped near seed did not start seeding"; }
  # Announced before the fetcher asks, so the tracker names it.
  sleep 1.5
}

stop_near() {
  tc qdisc del dev lo root 2> /dev/null || true
  [ -n "$near_pid" ] || return 0
  kill "$near_pid" 2> /dev/null || true
  wait "$near_pid" 2> /dev/null || true
  near_pid=""
}

# Packets from the near peer's address leave at RATE; all others as before (this namespace's
# loopback only).
shape_near_uplink() {
  tc qdisc add dev lo root handle 1: htb default 10 r2q 100000 &&
    tc class add dev lo parent 1: classid 1:10 htb rate 10gbit &&
    tc class add dev lo parent 1: classid 1:20 htb rate "$1" &&
    tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip src "$near/32" flowid 1:20 ||
    fail "cannot shape the near peer's uplink with tc"
}

# One measured fetch: prints "SECONDS ORIGIN_BYTES HELD", HELD 1 when the fetcher left the
# origin alone at some moment (its debug log says so), else 0.
measure() {
  local torrent="$1" mode="$2" name="$3" extra=()
  # shellcheck disable=SC2206 # words on purpose: extra flags for a look at one fetch's log
  [ -n "${DEFERENCE_BENCH_FETCH_FLAGS:-}" ] && extra=($DEFERENCE_BENCH_FETCH_FLAGS)
  [ "$mode" = off ] && extra+=(--defer-origin-at 0)
  local dir="$work/fetch-$name"
  "$peer_binary" fetch "$torrent" "${quiet[@]}" -o "$dir" --listen-bittorrent "$fetcher:7001" --seed-for 0 \
    --report "$dir.json" --log-level debug "${extra[@]}" > "$dir.log" 2>&1 || { cat "$dir.log"; fail "$name: the fetch failed"; }
  local held=0
  grep -q "leaving the origin alone" "$dir.log" && held=1
  echo "$(jq -r '"\(.seconds_to_complete) \(.downloaded.origin)"' "$dir.json") $held"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { low = $1 } { high = $1 } END { printf "%.3f-%.3f", low, high }'; }

printf '%-16s %5s %10s %10s %7s %17s %17s %12s %12s %7s\n' case runs "on (s)" "off (s)" on/off "on range (s)" "off range (s)" \
  "origin on MB" "origin off MB" "held on"
ratios=()
origin_on_total=0
origin_off_total=0
for c in "${cases[@]}"; do
  on_s=()
  off_s=()
  origin_on=0
  origin_off=0
  held_on=0
  for r in $(seq 1 $((2 * rounds))); do
    # on, off, off, on, on, off, ... (off, on, on, off, ... with DEFERENCE_BENCH_OFF_FIRST=1, to
    # tell an effect of the mode from one of a round's place in the run)
    if [ $((r % 4)) -le 1 ]; then mode=on; else mode=off; fi
    if [ "${DEFERENCE_BENCH_OFF_FIRST:-0}" = 1 ]; then [ "$mode" = on ] && mode=off || mode=on; fi
    torrent="${torrents[$c-$r.bin]:-}"
    [ -n "$torrent" ] || fail "no torrent was published for $c-$r.bin"
    start_near "$c" "$torrent" "$c-$r"
    read -r seconds origin_bytes held < <(measure "$torrent" "$mode" "$c-$r")
    stop_near
    echo "  $c round $r, deference $mode: $seconds s, origin $origin_bytes bytes, origin left alone: $held" >&2
    if [ "$mode" = on ]; then
      on_s+=("$seconds")
      held_on=$((held_on + held))
      origin_on=$((origin_on + origin_bytes))
    else
      off_s+=("$seconds")
      origin_off=$((origin_off + origin_bytes))
    fi
  done
  on_median=$(median "${on_s[@]}")
  off_median=$(median "${off_s[@]}")
  ratio=$(awk -v a="$on_median" -v b="$off_median" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  origin_on_total=$((origin_on_total + origin_on))
  origin_off_total=$((origin_off_total + origin_off))
  printf '%-16s %5s %10.3f %10.3f %7s %17s %17s %12.1f %12.1f %7s\n' "$c" "$rounds" "$on_median" "$off_median" "$ratio" \
    "$(range "${on_s[@]}")" "$(range "${off_s[@]}")" \
    "$(awk -v b="$origin_on" -v n="$rounds" 'BEGIN { print b / n / 1e6 }')" \
    "$(awk -v b="$origin_off" -v n="$rounds" 'BEGIN { print b / n / 1e6 }')" "$held_on/$rounds"
done
echo "(medians and ranges of $rounds rounds per mode; origin MB is the mean per fetch of the origin's bytes to the fetcher;"
echo " held on: the rounds with deference on in which the fetcher left the origin alone at all."
echo " The start of a fetch varies by tens of ms from run to run: a ratio is a difference only outside the ranges.)"
printf '%s\n' "${ratios[@]}" | awk '
  { if (NR == 1 || $1 > worst) worst = $1; log_sum += log($1) }
  END { printf "figure deference_time_ratio_worst %.3f\nfigure deference_time_ratio_geomean %.3f\n", worst, exp(log_sum / NR) }'
awk -v a="$origin_on_total" -v b="$origin_off_total" 'BEGIN { printf "figure deference_origin_bytes_ratio %.3f\n", a / b }'
