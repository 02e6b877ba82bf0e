#!/bin/bash
# The same flag means the same thing in every tool (issue 19, core/common_options.hpp): each tool
# and each of its commands answers --version and --help, takes -v (debug messages) and -q
# (warnings and errors only), and -d is proximity routing data wherever a tool takes that. The
# refusals (-v with -q, -q with --log-level, the seeder's old -d) are in bad_input.sh.
#
# Usage: common_flags.sh BUILD_DIR
#
# The checks are conditions given to eval, single-quoted so that they expand when they run; the
# variables they use are out of the linter's sight.
# shellcheck disable=SC2016,SC2034
set -uo pipefail

scenario=common-flags
# shellcheck source=tools.sh
. "$(dirname "$0")/tools.sh" "$@"

version=$(sed -n 's/^project(nearcast VERSION \([0-9.]*\).*/\1/p' "$here/../../CMakeLists.txt")
[ -n "$version" ] || fail "no version in CMakeLists.txt's project()"
routing="$here/../../proximity/data/loopback-internet.ipasn"

failures=0
cases=0
check() {  # WHAT CONDITION...: one case, passed when the condition holds
  local what="$1"
  shift
  cases=$((cases + 1))
  if "$@"; then
    echo "ok: $what"
  else
    echo "FAIL: $what" >&2
    sed 's/^/    /' "$work/err" 2> /dev/null | head -5 >&2
    failures=$((failures + 1))
  fi
}
runs() {  # STATUS COMMAND...: the command exits with STATUS; its output in $work/out and $work/err
  local want="$1" status=0
  shift
  timeout 60 "$@" > "$work/out" 2> "$work/err" < /dev/null || status=$?
  [ "$status" = "$want" ] || { echo "    exit status $status, $want expected" >&2; return 1; }
}
says() { grep -Eq -- "$1" "$work/$2"; }
no_info() { ! grep -q ' info ' "$work/err"; }

# --version: "<tool> <version>" on stdout, status 0, from every tool and every command.
for tool in "$tracker" "$tracker token" "$seeder" "$seeder serve" "$seeder publish" "$seeder list" "$seeder info" \
            "$seeder remove" "$seeder replicate" "$peer" "$peer fetch" "$peer stream" "$peer daemon" "$sim" \
            "$prox" "$prox lookup" "$prox distance" "$prox compile" "$prox stats"; do
  binary="${tool%% *}"
  name="$(basename "$binary")${tool#"$binary"}"
  # shellcheck disable=SC2086
  check "$name --version prints '$(basename "$binary") $version'" \
    eval 'runs 0 $tool --version && [ "$(cat "$work/out")" = "$(basename "$binary") $version" ]'
done

# --help: the common flags under one heading, with the same words, in every tool.
for tool in "$tracker" "$seeder" "$peer" "$sim" "$prox lookup"; do
  # shellcheck disable=SC2086
  check "$(basename "${tool%% *}") --help lists the common flags" eval 'runs 0 $tool --help &&
    says "^Common options:" out && says "^  --version " out && says "^  -v \[ --verbose \]" out &&
    says "^  -q \[ --quiet \]" out && says "^  --log-level " out'
done
for tool in "$tracker" "$peer" "$sim" "$prox lookup"; do
  # shellcheck disable=SC2086
  check "$(basename "${tool%% *}") -d is routing data" eval 'runs 0 $tool --help && says "^  -d \[ --data \]" out'
done
# COMMAND --help: the command's own usage line, not the tool's.
for command in "$peer fetch" "$peer stream" "$peer daemon" "$peer limits" "$seeder serve" "$seeder publish" "$seeder list" \
               "$seeder info" "$seeder remove" "$seeder replicate"; do
  # shellcheck disable=SC2086
  check "$(basename "${command%% *}") ${command##* } --help is the command's own" eval 'runs 0 $command --help &&
    says "^Usage: $(basename "${command%% *}") ${command##* } " out'
done
check "peer limits --help shows no defaults for what it changes" eval 'runs 0 "$peer" limits --help &&
  says "^  --upload-limit-kb arg +upload" out && ! says "limit-kb arg \(=" out'
check "the seeder has --data-dir and no -d" eval 'runs 0 "$seeder" --help && says "^  --data-dir " out && ! says "^  -d " out'
check "the peer's --bind is marked deprecated" eval 'runs 0 "$peer" --help && says "^  --listen-bittorrent " out &&
  says "^  --bind .*deprecated" out'

# The tracker: -d loads the routing data given; -q leaves out info lines, -v adds debug lines
# (an announce answered); SIGTERM stops it with status 0 either way.
tracker_run() {  # PORT_FILE ARGS...: starts the tracker, announces once, stops it with SIGTERM
  local ports="$1" status=0
  shift
  "$tracker" --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:0 --port-file "$ports" "$@" > "$work/out" 2> "$work/err" &
  local pid=$!
  pids+=("$pid")
  wait_for_port_file "$ports" nearcast-tracker
  curl -sf "http://$(sed -n 's/^http //p' "$ports")/announce?info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=-NC0001-bbbbbbbbbbbb&port=6881&left=0" \
    > /dev/null || echo "    the announce failed" >&2
  kill -TERM "$pid"
  wait "$pid" || status=$?
  [ "$status" = 0 ] || { echo "    the tracker exited with $status on SIGTERM" >&2; return 1; }
}
check "tracker -d FILE -v: the file's routing data, debug lines, a clean stop" eval 'tracker_run "$work/t1.ports" -d "$routing" -v &&
  says "proximity data: .* from .*loopback-internet.ipasn" err && says " debug " err && says "signal 15: stopping" err'
check "tracker -q: no info lines, a clean stop" eval 'tracker_run "$work/t2.ports" -q && no_info'

# The seeder: every command with -q and -v.
mkdir -p "$work/content" "$work/data"
printf 'common flags\n' > "$work/content/a.bin"
check "seeder publish -q: the magnet link, no info lines" eval 'runs 0 "$seeder" publish -q --data-dir "$work/data" "$work/content/a.bin" &&
  says "magnet:" out && no_info'
check "seeder list -v" eval 'runs 0 "$seeder" list -v --data-dir "$work/data" && says "a.bin" out'
check "seeder info -q" eval 'runs 0 "$seeder" info -q --data-dir "$work/data" a.bin && says "a.bin" out && no_info'
seeder_run() {  # ARGS...: serve, answer one request (logged at debug), then SIGTERM
  local status=0
  rm -f "$work/seeder.ports"
  "$seeder" serve --data-dir "$work/data" --listen-bittorrent 127.0.0.1:0 --listen-http 127.0.0.1:0 \
    --port-file "$work/seeder.ports" "$@" > "$work/out" 2> "$work/err" &
  local pid=$!
  pids+=("$pid")
  wait_for_port_file "$work/seeder.ports" nearcast-seeder
  curl -sf "http://$(sed -n 's/^http //p' "$work/seeder.ports")/catalogue" > /dev/null || echo "    GET /catalogue failed" >&2
  sleep 0.5
  kill -TERM "$pid"
  wait "$pid" || status=$?
  [ "$status" = 0 ] || { echo "    the seeder exited with $status on SIGTERM" >&2; return 1; }
}
check "seeder serve -v: debug lines, a clean stop" eval 'seeder_run -v && says " debug " err && says "signal 15: stopping" err'
check "seeder serve -q: no info lines, a clean stop" eval 'seeder_run -q && no_info'
check "seeder remove -v" eval 'runs 0 "$seeder" remove -v --data-dir "$work/data" a.bin'

# The peer daemon: -d with a routing file, -v and -q, the old --bind still working with a warning.
daemon_run() {  # CACHE ARGS...: the daemon until its control API is up, then SIGTERM
  local cache="$1" status=0
  shift
  "$peer" daemon --cache "$cache" --listen-control 127.0.0.1:0 "$@" > "$work/out" 2> "$work/err" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 100); do [ -s "$cache/control.json" ] && break; sleep 0.1; done
  [ -s "$cache/control.json" ] || { echo "    the daemon wrote no control.json" >&2; kill -TERM "$pid"; return 1; }
  kill -TERM "$pid"
  wait "$pid" || status=$?
  [ "$status" = 0 ] || { echo "    the daemon exited with $status on SIGTERM" >&2; return 1; }
}
check "peer daemon -d FILE -v: debug lines, a clean stop" eval 'daemon_run "$work/cache1" -d "$routing" -v \
  --listen-bittorrent 127.10.0.5:0 && says " debug " err && says "signal 15: stopping" err'
check "peer daemon -q: no info lines, a clean stop" eval 'daemon_run "$work/cache2" -q --listen-bittorrent 127.0.0.1:0 && no_info'
check "peer daemon --bind: still taken, with a warning naming --listen-bittorrent" eval 'daemon_run "$work/cache3" \
  --bind 127.0.0.1:0 && says "--bind is deprecated: it is --listen-bittorrent now" err'

# The simulator: -d is the topology's routing data; -q and -v.
small=(--set workload.peers=300 --set workload.items=20 --set run.duration_h=1 --set run.strategies=origin_only)
check "sim -d FILE -v: the topology from the file" eval 'runs 0 "$sim" -v -d "$routing" "${small[@]}" -o "$work/sim1" &&
  says "loopback-internet.ipasn: 300 peers in" err && [ -s "$work/sim1/results.json" ]'
check "sim -q: results, no info lines" eval 'runs 0 "$sim" -q "${small[@]}" -o "$work/sim2" && no_info && [ -s "$work/sim2/results.json" ]'

# nearcast-prox: -d, -v and -q on its commands.
check "prox lookup -d FILE -v: the file's AS, a debug line" eval 'runs 0 "$prox" lookup -v -d "$routing" 127.10.0.5 &&
  says "AS64512" out && says " debug " err'
check "prox distance -q" eval 'runs 0 "$prox" distance -q -d "$routing" 127.10.0.5 127.20.0.1 && says "^distance" out'
check "prox compile -q -d FILE: the snapshot of the file" eval 'runs 0 "$prox" compile -q -d "$routing" -o "$work/routing.ncprox" &&
  runs 0 "$prox" lookup -d "$work/routing.ncprox" 127.20.0.1 && says "AS64513" out'
check "prox -v lookup: options before the command, as the other tools take them" eval 'runs 0 "$prox" -v lookup -d "$routing" 127.10.0.5 && says "AS64512" out'
check "prox -v bogus: the unknown command is named" eval 'runs 2 "$prox" -v bogus && says "unknown command .bogus. \\(see nearcast-prox --help\\)" err'
check "prox stats -v" eval 'runs 0 "$prox" stats -v "$routing" && says "^prefixes" out'

# Every listening flag takes localhost:PORT (127.0.0.1, never looked up) as well as an address.
localhost_run() {  # PORT_FILE COMMAND...: starts it, waits for its port file, stops it with SIGTERM
  local ports="$1" status=0
  shift
  rm -f "$ports"
  "$@" > "$work/out" 2> "$work/err" &
  local pid=$!
  pids+=("$pid")
  wait_for_port_file "$ports" "$(basename "$1")"
  kill -TERM "$pid"
  wait "$pid" || status=$?
  [ "$status" = 0 ] || { echo "    $(basename "$1") exited with $status on SIGTERM" >&2; return 1; }
}
check "tracker --listen-http/--listen-udp localhost:0: both on 127.0.0.1" eval 'localhost_run "$work/lt.ports" "$tracker" \
  --listen-http localhost:0 --listen-udp localhost:0 --port-file "$work/lt.ports" &&
  grep -q "^http 127.0.0.1:[0-9]" "$work/lt.ports" && grep -q "^udp 127.0.0.1:[0-9]" "$work/lt.ports"'
check "seeder --listen-bittorrent/--listen-http localhost:0: both on 127.0.0.1" eval 'localhost_run "$work/ls.ports" "$seeder" serve \
  --data-dir "$work/data" --listen-bittorrent localhost:0 --listen-http localhost:0 --port-file "$work/ls.ports" &&
  grep -q "^bittorrent 127.0.0.1:[0-9]" "$work/ls.ports" && grep -q "^http 127.0.0.1:[0-9]" "$work/ls.ports"'
check "peer --listen-bittorrent/--listen-control localhost:0: on 127.0.0.1" eval 'localhost_run "$work/lp.ports" "$peer" daemon \
  --cache "$work/cache4" --listen-bittorrent localhost:0 --listen-control localhost:0 --port-file "$work/lp.ports" &&
  grep -q "^bittorrent 127.0.0.1:[0-9]" "$work/lp.ports" && grep -q "^control 127.0.0.1:[0-9]" "$work/lp.ports"'
check "a name that is not localhost is refused, naming the flag" eval 'runs 2 "$tracker" --listen-http example.com:80 &&
  says "--listen-http: .example.com:80. is not ADDRESS:PORT \(for example 127.0.0.1:PORT" err'

# A long option is spelt whole, as in config files: no guessing at a prefix.
check "tracker --inter is not taken for --interval" eval 'runs 2 "$tracker" --inter 5 && says "unrecognised option .--inter." err'
check "seeder --data is not taken for --data-dir" eval 'runs 2 "$seeder" list --data "$work/data" && says "unrecognised option .--data." err'
check "peer, sim and prox refuse a prefix too" eval 'runs 2 "$peer" fetch x --stall 5 && runs 2 "$sim" --thr 1 &&
  runs 2 "$prox" lookup --dat "$routing" 127.10.0.5'

echo "$cases cases, $failures failed"
[ "$failures" = 0 ] || fail "$failures of $cases checks of the common flags failed"
echo "PASS"
