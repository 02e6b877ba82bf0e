#!/bin/bash
# The peer daemon's web interface in a real browser: a tracker, an origin seeder and a daemon
# run in a loopback-only network namespace; webui_test.mjs drives Debian's chromium (headless,
# playwright-core from tests/dashboard/node_modules) through the one-time login link of
# `nearcast-peer ui --no-open`, adds items (a .torrent file, a URL, a magnet link), watches one
# download and finish, plays a WebM that chromium recorded itself in the page's <video>,
# pauses, resumes, removes with and without the files, changes a limit and the upload switch,
# and checks the browser security: login redirect, single-use codes, CSRF, Host, cookie flags.
# Screenshots land in SHOT_DIR; the figures (time to finish, seconds played) are printed.
#
# Usage: webui.sh PEER SEEDER TRACKER SHOT_DIR
set -euo pipefail

peer_binary="$1"
seeder_binary="$2"
tracker_binary="$3"
shots="$4"
scenario=webui
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"

for binary in "$peer_binary" "$seeder_binary" "$tracker_binary"; do
  [ -x "$binary" ] || fail "$binary is not an executable"
done
require_tools node chromium curl unshare ip
[ -f "$here/../dashboard/node_modules/playwright-core/package.json" ] ||
  fail "playwright-core is missing from tests/dashboard/node_modules (scripts/install-deps installs it)"
enter_loopback_namespace "$0" "$@"
mkdir -p "$shots"
# Chromium keeps its profile and crash files under HOME.
export HOME="$work"

# A real playable file: chromium records a canvas animation to WebM (no ffmpeg needed).
mkdir -p "$work/content"
timeout 60 node "$here/webui_test.mjs" media "$work/content/clip.webm" || fail "chromium could not record the clip"
random_file "$work/content/bulk.bin" 12000000

echo "an-admin-secret-for-this-test-only" > "$work/admin.secret"
start_nearcast_tracker "$tracker_binary" --admin-secret-file "$work/admin.secret" --interval 5 --min-interval 1
seeder_flags=(--name origin-a --data-dir "$work/a" --listen-bittorrent 127.30.0.1:6881 --listen-http 127.30.0.1:8080
  --tracker http://127.0.0.1:6969/announce --admin-secret-file "$work/admin.secret" --register-every 2)
for name in bulk clip; do
  file="$work/content/$name.bin"
  [ "$name" = clip ] && file="$work/content/clip.webm"
  "$seeder_binary" publish "${seeder_flags[@]}" "$file" > "$work/$name.publish" 2>> "$work/publish.log" ||
    { show_logs; fail "publish $file failed"; }
done
"$seeder_binary" serve "${seeder_flags[@]}" --port-file "$work/seeder.ports" > "$work/seeder.log" 2>&1 &
pids+=($!)
wait_for_port_file "$work/seeder.ports" nearcast-seeder

cache="$work/cache"
"$peer_binary" daemon --cache "$cache" --quota-mb 200 --listen-bittorrent 127.10.0.6:7000 --log-level debug > "$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$cache/control.json" ] && break; sleep 0.1; done
[ -s "$cache/control.json" ] || { show_logs; fail "the daemon wrote no control.json"; }

timeout 240 node "$here/webui_test.mjs" run "$peer_binary" "$cache" "$(cut -f4 "$work/bulk.publish")" \
  "$(cut -f5 "$work/bulk.publish")" "$(cut -f4 "$work/clip.publish")" "$shots" ||
  { show_logs; fail "the web interface did not do what it should"; }
grep -q "web interface: a login link that is used or expired was refused" "$work/daemon.log" ||
  fail "the daemon did not log the refused second use of a login link"
