#!/bin/bash
# The operator's files in packaging/ work with the binaries they describe: each example config
# is read by its tool and the tool runs with it (the tracker and the peer daemon start and
# stop on SIGTERM; the seeder lists its catalogue), a misspelt key is refused with status 2 and
# its name, and systemd-analyze verifies each unit with the built binaries in ExecStart.
# Runs in a loopback-only network namespace: the configs' 0.0.0.0 listeners and example.net
# trackers reach nothing.
#
# Usage: packaging_check.sh TRACKER_BINARY SEEDER_BINARY PEER_BINARY
set -euo pipefail

tracker_binary="$(realpath "$1")"
seeder_binary="$(realpath "$2")"
peer_binary="$(realpath "$3")"
scenario=packaging
here="$(cd "$(dirname "$0")" && pwd)"
packaging="$here/../../packaging"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"

for binary in "$tracker_binary" "$seeder_binary" "$peer_binary"; do
  [ -x "$binary" ] || fail "$binary is not an executable"
done
require_tools curl unshare ip systemd-analyze jq
enter_loopback_namespace "$0" "$@"
export HOME="$work/home"
mkdir -p "$HOME"

# Stops PID with SIGTERM and fails unless it exits with status 0 within 20 s.
stop_cleanly() {  # PID WHAT
  kill -TERM "$1"
  local _
  for _ in $(seq 1 200); do kill -0 "$1" 2> /dev/null || break; sleep 0.1; done
  local status=0
  wait "$1" || status=$?
  [ "$status" = 0 ] || { show_logs; fail "$2 exited with status $status on SIGTERM"; }
}

# A config with one key misspelt must be refused, naming the key.
expect_refused() {  # CONFIG KEY_LINE COMMAND...
  local config="$1" line="$2"
  shift 2
  { cat "$config"; echo "$line"; } > "$work/misspelt.conf"
  local status=0
  "$@" --config "$work/misspelt.conf" > "$work/misspelt.out" 2>&1 || status=$?
  [ "$status" = 2 ] || fail "a misspelt key in $(basename "$config") gave status $status, not 2: $(cat "$work/misspelt.out")"
  grep -q "${line%% *}" "$work/misspelt.out" || fail "the refusal does not name '${line%% *}': $(cat "$work/misspelt.out")"
}

# The tracker: it listens where the config says (0.0.0.0:6969, HTTP and UDP) and answers.
echo "a-secret-for-the-packaging-test" > "$work/admin.secret"
"$tracker_binary" --config "$packaging/config/tracker.conf" --admin-secret-file "$work/admin.secret" \
  --port-file "$work/tracker.ports" > "$work/tracker.log" 2>&1 &
tracker_pid=$!
pids+=($tracker_pid)
wait_for_port_file "$work/tracker.ports" "nearcast-tracker with tracker.conf"
grep -q "^http 0.0.0.0:6969" "$work/tracker.ports" || fail "tracker.conf: not listening on 0.0.0.0:6969: $(cat "$work/tracker.ports")"
curl -sf http://127.0.0.1:6969/stats | jq -e '.swarms == 0' > /dev/null || fail "the tracker started with tracker.conf does not answer /stats"
kill -HUP "$tracker_pid"  # the reload the unit's ExecReload sends
wait_for_http http://127.0.0.1:6969/stats '"swarms":0' 10 || fail "the tracker did not survive SIGHUP"
stop_cleanly "$tracker_pid" "nearcast-tracker with tracker.conf"
expect_refused "$packaging/config/tracker.conf" "intervall = 60" "$tracker_binary"
echo "tracker.conf: accepted; listens on 0.0.0.0:6969; reloads on SIGHUP; stops cleanly"

# The seeder: every option read and checked (list needs no trackers or listeners).
mkdir -p "$work/seeder"
"$seeder_binary" list --config "$packaging/config/seeder.conf" --data-dir "$work/seeder" > "$work/seeder.log" 2>&1 ||
  { show_logs; fail "nearcast-seeder refused seeder.conf"; }
expect_refused "$packaging/config/seeder.conf" "replica = 2" "$seeder_binary" list --data-dir "$work/seeder"
echo "seeder.conf: accepted"

# The peer daemon: starts with the config, serves
# its control API, stops cleanly.
"$peer_binary" daemon --config "$packaging/config/peer.conf" --cache "$work/cache" --listen-bittorrent 127.0.0.1:6881 \
  > "$work/peer.log" 2>&1 &
peer_pid=$!
pids+=($peer_pid)
for _ in $(seq 1 100); do [ -s "$work/cache/control.json" ] && break; sleep 0.1; done
[ -s "$work/cache/control.json" ] || { show_logs; fail "nearcast-peer daemon with peer.conf wrote no control.json"; }
url=$(jq -r .url "$work/cache/control.json")
token=$(jq -r .token "$work/cache/control.json")
curl -sf -H "Authorization: Bearer $token" "$url/status" | jq -e . > /dev/null || fail "the daemon's control API does not answer"
stop_cleanly "$peer_pid" "nearcast-peer daemon with peer.conf"
expect_refused "$packaging/config/peer.conf" "quota = 5" "$peer_binary" daemon --cache "$work/cache"
echo "peer.conf: accepted; the daemon serves its control API and stops cleanly"

# The units, with ExecStart pointing at the built binaries.
for unit in tracker seeder peer; do
  binary_name="${unit}_binary"
  sed "s|/usr/local/bin/nearcast-$unit|${!binary_name}|" "$packaging/systemd/nearcast-$unit.service" > "$work/nearcast-$unit.service"
  systemd-analyze verify "$work/nearcast-$unit.service" > "$work/verify-$unit.out" 2>&1 ||
    fail "nearcast-$unit.service does not verify: $(cat "$work/verify-$unit.out")"
  if grep -v "^$" "$work/verify-$unit.out" | grep -q .; then
    fail "systemd-analyze warns about nearcast-$unit.service: $(cat "$work/verify-$unit.out")"
  fi
done
echo "systemd units: all three verify"
echo "PASS"
