# Shared by the interop tests: a loopback-only network namespace, cleanup of every process
# started, and Debian's BitTorrent clients started with everything that talks to the outside
# world (DHT, LSD, PEX, UPnP, NAT-PMP) turned off. Source it after setting `scenario`.

fail() {
  echo "FAIL ($scenario): $*" >&2
  exit 1
}

require_tools() {
  for tool in "$@"; do
    command -v "$tool" > /dev/null || fail "$tool is missing (scripts/install-deps installs it)"
  done
}

# Re-runs the calling script inside a namespace with only loopback; --kill-child takes every
# client down with it. Call as: enter_loopback_namespace "$0" "$@"
enter_loopback_namespace() {
  if [ -z "${NEARCAST_IN_NETNS:-}" ]; then
    export NEARCAST_IN_NETNS=1
    # The run inside makes its own work folder; this one would outlive the exec.
    rm -rf "$work"
    exec unshare --net --fork --kill-child -- "$@"
  fi
  ip link set lo up
}

# shellcheck source=waiting.sh
. "$(dirname "${BASH_SOURCE[0]}")/waiting.sh"

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
    [ -f "$log" ] || continue
    echo "---- $(basename "$log") (last lines)" >&2
    tail -n 25 "$log" | tr '\r' '\n' | tail -n 25 >&2
  done
}

random_file() {  # PATH BYTES
  head -c "$2" /dev/urandom > "$1"
}

sha256_of() {
  sha256sum < "$1" | cut -d' ' -f1
}

# Waits until FILE has SHA-256 WANT, at most SECONDS; prints the seconds it took.
wait_for_sha256() {  # FILE WANT SECONDS
  local second
  for second in $(seq 1 "$3"); do
    if [ -f "$1" ] && [ "$(sha256_of "$1")" = "$2" ]; then
      echo "$second"
      return 0
    fi
    sleep 1
  done
  return 1
}

# Waits for a port file of "kind ADDR:PORT" lines, at most 10 s.
wait_for_port_file() {  # FILE WHAT
  local _
  for _ in $(seq 1 100); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  show_logs
  fail "$2 did not start"
}

# transmission-cli: NAME BIND_ADDRESS PEER_PORT TORRENT DOWNLOAD_DIR. Transmission 3.00 seeds
# to loopback peers but will not download from them (it will from a web seed).
start_transmission() {
  mkdir -p "$work/$1"
  cat > "$work/$1/settings.json" << JSON
{
  "bind-address-ipv4": "$2",
  "bind-address-ipv6": "::1",
  "peer-port": $3,
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
  transmission-cli -g "$work/$1" -w "$5" "$4" > "$work/$1.log" 2>&1 &
  pids+=($!)
}

# rtorrent in daemon mode: NAME BIND_ADDRESS PORT_RANGE TORRENT DOWNLOAD_DIR
start_rtorrent() {
  mkdir -p "$work/$1"
  rtorrent -n -b "$2" -p "$3" -d "$5" -s "$work/$1" \
    -o system.daemon.set=true -o dht.mode.set=disable -o protocol.pex.set=no \
    -o trackers.use_udp.set=yes -o load.start_verbose="$4" > "$work/$1.log" 2>&1 &
  pids+=($!)
}

# aria2c: NAME INTERFACE PORT_RANGE TORRENT DOWNLOAD_DIR SECONDS. It leaves once complete.
start_aria2c() {
  aria2c --interface="$2" --listen-port="$3" --dir="$5" \
    --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false \
    --seed-time=0 --bt-stop-timeout="$6" --summary-interval=0 --console-log-level=notice \
    --file-allocation=none "$4" > "$work/$1.log" 2>&1 &
  pids+=($!)
}

# Fails unless the JSON held in $stats (spaces and newlines removed) matches the regex.
expect_in_stats() {
  echo "$stats" | tr -d ' \n' | grep -Eq "$1" || { show_logs; fail "/stats lacks $1"; }
}

# nearcast-tracker on 127.0.0.1:6969 (HTTP and UDP), its log in $work/tracker.log; waits until
# it listens. Extra flags follow the binary.
start_nearcast_tracker() {  # TRACKER_BINARY [FLAGS...]
  local binary="$1"
  shift
  "$binary" --listen-http 127.0.0.1:6969 --listen-udp 127.0.0.1:6969 --port-file "$work/tracker-ports" \
    "$@" > "$work/tracker.log" 2>&1 &
  pids+=($!)
  wait_for_port_file "$work/tracker-ports" nearcast-tracker
}
