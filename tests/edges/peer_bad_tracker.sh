#!/bin/bash
# A peer daemon offered as a supernode keeps running when its tracker answers the report with
# JSON of the wrong shape ({"role": 5}): it logs the answer once and reports again (issue 19;
# before, the exception left the daemon's event loop and the daemon exited).
#
# Usage: peer_bad_tracker.sh BUILD_DIR
set -uo pipefail

scenario=edges-bad-tracker
# shellcheck source=tools.sh
. "$(dirname "$0")/tools.sh" "$@"

# A "tracker" that answers every request with well-formed JSON of the wrong types.
cat > "$work/tracker.py" <<'PY'
import http.server, sys
class Wrong(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"role": 5, "interval": 2, "admission_limit": "many", "fellows": 7, "popular": [1, "x"]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        print("request", self.path, file=sys.stderr, flush=True)
server = http.server.HTTPServer(("127.0.0.1", 0), Wrong)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
python3 "$work/tracker.py" > "$work/tracker.port" 2> "$work/tracker.log" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$work/tracker.port" ] && break; sleep 0.1; done
port=$(head -n 1 "$work/tracker.port")
[ -n "$port" ] || fail "the wrong-shaped tracker did not start"

"$peer" daemon --cache "$work/cache" --listen-bittorrent 127.0.0.1:0 --listen-control 127.0.0.1:0 \
  --supernode-tracker "http://127.0.0.1:$port" > "$work/daemon.out" 2> "$work/daemon.err" &
daemon=$!
pids+=("$daemon")
# Reports come every second with interval 2: wait for three of them.
for _ in $(seq 1 100); do [ "$(grep -c '^request /supernode' "$work/tracker.log")" -ge 3 ] && break; sleep 0.1; done
reports=$(grep -c '^request /supernode' "$work/tracker.log")
[ "$reports" -ge 3 ] || { cat "$work/daemon.err" >&2; fail "the daemon sent $reports reports, not 3"; }
kill -0 "$daemon" 2> /dev/null || { cat "$work/daemon.err" >&2; fail "the daemon exited on a wrong-shaped tracker answer"; }
grep -q "supernode: the tracker's answer is not as expected" "$work/daemon.err" ||
  { cat "$work/daemon.err" >&2; fail "the wrong-shaped answer was not logged"; }
warnings=$(grep -c "not as expected" "$work/daemon.err")
[ "$warnings" = 1 ] || fail "the same wrong answer was logged $warnings times, not once"
kill -TERM "$daemon"
status=0
wait "$daemon" || status=$?
[ "$status" = 0 ] || fail "the daemon exited with $status on SIGTERM"
echo "$reports wrong-shaped answers: the daemon kept running, logged it once and stopped cleanly"
echo "PASS"
