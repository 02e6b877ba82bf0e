#!/bin/bash
# Abuse of nearcast-tracker's HTTP port (see tracker_abuse.py): oversized bodies, a flood of
# idle connections past --max-connections, and running out of file descriptors. Each asserts
# bounded memory, CPU and log volume, and that normal requests are served afterwards.
#
# Usage: tracker_abuse.sh TRACKER_BINARY
set -euo pipefail

tracker_binary="$1"
scenario=tracker-abuse
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"
[ -x "$tracker_binary" ] || fail "$tracker_binary is not an executable"
require_tools python3 unshare ip
enter_loopback_namespace "$0" "$@"

run_phase() {  # PHASE [FLAGS...]
  local phase="$1"
  shift
  rm -f "$work/ports"
  (
    [ "$phase" = descriptors ] && ulimit -n 64
    exec "$tracker_binary" --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:0 --port-file "$work/ports" "$@"
  ) > "$work/tracker-$phase.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  wait_for_port_file "$work/ports" nearcast-tracker
  local port
  port=$(awk '/^http/ { split($2, a, ":"); print a[2] }' "$work/ports")
  python3 "$here/tracker_abuse.py" "$phase" "$pid" 127.0.0.1 "$port" "$work/tracker-$phase.log" ||
    { show_logs; fail "$phase"; }
  kill "$pid"
  wait "$pid" || true
}

run_phase body
run_phase flood --max-connections 100
run_phase descriptors
echo "PASS"
