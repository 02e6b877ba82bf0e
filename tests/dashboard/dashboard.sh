#!/bin/bash
# The tracker's dashboard in a real browser: nearcast-tracker runs in a loopback-only network
# namespace, an origin registers the bytes it served, and dashboard_test.mjs announces from
# addresses of the emulated networks and checks in headless chromium that the page shows the
# live figures and follows them as they change. Saves a screenshot.
#
# Usage: dashboard.sh TRACKER_BINARY SCREENSHOT_PATH
set -euo pipefail

tracker_binary="$1"
screenshot="$2"
scenario=dashboard
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"

[ -x "$tracker_binary" ] || fail "$tracker_binary is not an executable"
require_tools node chromium curl unshare ip
[ -f "$here/node_modules/playwright-core/package.json" ] ||
  fail "playwright-core is missing from $here/node_modules (scripts/install-deps installs it)"
enter_loopback_namespace "$0" "$@"

echo "an-admin-secret-for-the-dashboard-test" > "$work/admin.secret"
start_nearcast_tracker "$tracker_binary" --admin-secret-file "$work/admin.secret" --interval 60 --min-interval 1
# An origin that served 2 MB so far: the page shows the share the peers carried.
body='{"name": "origin-a", "endpoints": ["127.50.0.1:6881"], "items": [], "served_bytes": 2000000}'
curl -sf -H "Authorization: Bearer $(cat "$work/admin.secret")" --data "$body" http://127.0.0.1:6969/origins > /dev/null ||
  { show_logs; fail "the origin registration was refused"; }

mkdir -p "$(dirname "$screenshot")"
# Chromium keeps its profile and crash files under HOME.
HOME="$work" timeout 120 node "$here/dashboard_test.mjs" http://127.0.0.1:6969 "$screenshot" ||
  { show_logs; fail "the dashboard did not show the live figures"; }
