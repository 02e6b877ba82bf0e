#!/bin/bash
# Desktop integration as `cmake --install` lays it out: into a fresh prefix go the five tools,
# a manual page for each (rendered here without a warning), the .desktop file that makes
# `nearcast-peer open` the handler of magnet: links and .torrent files (desktop-file-validate,
# and xdg-mime names it as the default once the desktop database is updated), and the systemd
# user unit, which names the installed binary and verifies. Then the desktop's launch: the
# .desktop file's Exec line with a magnet link starts a daemon for a user who has none running,
# with that user's ~/.config/nearcast/peer.conf, and the daemon holds the item.
#
# Usage: desktop_check.sh BUILD_DIR
set -euo pipefail

build="$(realpath "$1")"
scenario=desktop
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"

[ -f "$build/CMakeCache.txt" ] || fail "$build is not a configured build folder"
require_tools cmake desktop-file-validate update-desktop-database xdg-mime man groff systemd-analyze jq unshare ip
enter_loopback_namespace "$0" "$@"

prefix="$work/usr"
cmake --install "$build" --prefix "$prefix" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "cmake --install failed"; }
for tool in tracker seeder peer sim prox; do
  [ -x "$prefix/bin/nearcast-$tool" ] || fail "bin/nearcast-$tool was not installed"
  page="$prefix/share/man/man1/nearcast-$tool.1"
  [ -s "$page" ] || fail "share/man/man1/nearcast-$tool.1 was not installed"
  # (Less "cannot adjust line": the pages name installed paths, and this test's prefix is a
  # long temporary folder that fits no line.)
  warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1 | grep -v "cannot adjust line" || true)
  [ -z "$warnings" ] || fail "nearcast-$tool.1 renders with warnings: $warnings"
  MANPATH="$prefix/share/man" MANWIDTH=100 man "nearcast-$tool" 2> /dev/null > "$work/$tool.man" || fail "man nearcast-$tool does not find the page"
  grep -q "^NAME" "$work/$tool.man" && grep -Eq "nearcast-$tool +- " "$work/$tool.man" || fail "man nearcast-$tool has no NAME line"
  grep -q "^SYNOPSIS" "$work/$tool.man" && grep -q "^OPTIONS\|^ *Common options:" "$work/$tool.man" ||
    fail "man nearcast-$tool lacks its synopsis or options"
  grep -q "^SEE ALSO" "$work/$tool.man" || fail "man nearcast-$tool has no SEE ALSO"
done
grep -q "nearcast-peer list|status|pause|resume|remove|limits|open" "$work/peer.man" || fail "man nearcast-peer does not show the remote's synopsis"
grep -q "peer.conf" "$work/peer.man" || fail "man nearcast-peer does not name ~/.config/nearcast/peer.conf"
# Installed paths are the prefix's, not /usr/local's.
grep -q "$prefix/share/applications/nearcast-peer.desktop" "$work/peer.man" && ! grep -q "/usr/local" "$work/peer.man" ||
  fail "man nearcast-peer does not name the installed paths: $(grep -n '/usr/local\|share/applications' "$work/peer.man")"
echo "manual pages: five, each with NAME, SYNOPSIS, options and SEE ALSO, no groff warning"

# The installed tools read the snapshot installed beside them, whatever the prefix (not the
# build tree's): with the installed one emptied, they say so, naming it.
snapshot="$prefix/share/nearcast/default.ncprox"
[ -s "$snapshot" ] || fail "share/nearcast/default.ncprox was not installed"
mv "$snapshot" "$snapshot.kept" && : > "$snapshot"
status=0
"$prefix/bin/nearcast-prox" lookup 127.10.0.1 > "$work/prox.out" 2> "$work/prox.err" || status=$?
[ "$status" != 0 ] && grep -q "$snapshot" "$work/prox.err" ||
  fail "the installed nearcast-prox did not read $snapshot (status $status): $(cat "$work/prox.out" "$work/prox.err")"
mv "$snapshot.kept" "$snapshot"
[ "$("$prefix/bin/nearcast-prox" lookup 127.10.0.1 | cut -f3)" = AS64512 ] || fail "the installed nearcast-prox cannot look up 127.10.0.1"
echo "default snapshot: the installed tools read $prefix/share/nearcast/default.ncprox"

desktop="$prefix/share/applications/nearcast-peer.desktop"
[ -f "$desktop" ] || fail "share/applications/nearcast-peer.desktop was not installed"
desktop-file-validate "$desktop" || fail "desktop-file-validate refuses nearcast-peer.desktop"
update-desktop-database "$prefix/share/applications"
export HOME="$work/home"
mkdir -p "$HOME"
unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME
for type in x-scheme-handler/magnet application/x-bittorrent; do
  handler=$(XDG_DATA_DIRS="$prefix/share" xdg-mime query default "$type")
  [ "$handler" = nearcast-peer.desktop ] || fail "xdg-mime names '$handler' as the handler of $type, not nearcast-peer.desktop"
done
echo "desktop file: valid; xdg-mime makes it the handler of magnet: links and .torrent files"

unit="$prefix/lib/systemd/user/nearcast-peer.service"
[ -f "$unit" ] || fail "lib/systemd/user/nearcast-peer.service was not installed"
grep -q "^ExecStart=$prefix/bin/nearcast-peer daemon$" "$unit" || fail "the unit does not start the installed binary: $(grep ExecStart "$unit")"
systemd-analyze verify "$unit" > "$work/verify.out" 2>&1 || fail "the user unit does not verify: $(cat "$work/verify.out")"
echo "systemd user unit: installed, names $prefix/bin/nearcast-peer, verifies"

# The desktop opens a magnet link: the Exec line, %u replaced as the desktop does.
mkdir -p "$HOME/.config/nearcast"
printf 'quota-mb = 123\nlisten-bittorrent = 127.0.0.1:6881\n' > "$HOME/.config/nearcast/peer.conf"
magnet='magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=film.mkv'
exec_line=$(sed -n 's/^Exec=//p' "$desktop")
# (Not ${exec_line//%u/...}: bash 5.2 reads the & of the link there as the matched text.)
command_line="${exec_line%%\%u*}'$magnet'${exec_line#*%u}"
# It names the installed binary by its whole path: the prefix's bin/ need not be on PATH.
[ "${exec_line%% *}" = "$prefix/bin/nearcast-peer" ] || fail "the Exec line does not name the installed binary: $exec_line"
[ "$(sed -n 's/^TryExec=//p' "$desktop")" = "$prefix/bin/nearcast-peer" ] || fail "TryExec does not name the installed binary"
bash -c "$command_line" > "$work/open.out" 2> "$work/open.log" || { cat "$work/open.log"; fail "the Exec line failed: $command_line"; }
cache="$HOME/.cache/nearcast"
daemon_pid=$(pgrep -f "nearcast-peer daemon --cache $cache" | head -n 1 || true)
[ -n "$daemon_pid" ] || fail "opening a magnet link started no daemon"
pids+=("$daemon_pid")
grep -q "^added 01234567" "$work/open.out" || fail "open did not add the item: $(cat "$work/open.out")"
items=$(PATH="$prefix/bin:$PATH" nearcast-peer list --json)
[ "$(echo "$items" | jq -r '.[0].id')" = 0123456789abcdef0123456789abcdef01234567 ] || fail "the daemon does not hold the magnet's item: $items"
[ "$(PATH="$prefix/bin:$PATH" nearcast-peer status 01234567 --json | jq -r .state)" = metadata ] || fail "the item is not waiting for its metadata"
quota=$(curl -sf -H "Authorization: Bearer $(jq -r .token "$cache/control.json")" "$(jq -r .url "$cache/control.json")/status" | jq .quota)
[ "$quota" = 123000000 ] || fail "the daemon started by the desktop did not read ~/.config/nearcast/peer.conf (quota $quota)"
# A second link goes to the same daemon.
PATH="$prefix/bin:$PATH" nearcast-peer open 'magnet:?xt=urn:btih:89abcdef0123456789abcdef0123456789abcdef' > /dev/null || fail "a second open failed"
[ "$(pgrep -fc "nearcast-peer daemon --cache $cache")" = 1 ] || fail "a second open started a second daemon"
[ "$(PATH="$prefix/bin:$PATH" nearcast-peer list --json | jq length)" = 2 ] || fail "the second link did not reach the running daemon"
# A .torrent from the file manager comes as a file:// URL (%u), spaces percent-encoded.
mkdir -p "$work/my files"
head -c 100000 /dev/urandom > "$work/my files/clip.bin"
python3 - "$work/my files/clip.bin" "$work/my files/a clip.torrent" <<'PY'
import hashlib, sys
data = open(sys.argv[1], 'rb').read()
piece = 16384
pieces = b''.join(hashlib.sha1(data[i:i + piece]).digest() for i in range(0, len(data), piece))
def bencode(value):
    if isinstance(value, int): return b'i%de' % value
    if isinstance(value, bytes): return b'%d:%s' % (len(value), value)
    if isinstance(value, dict): return b'd' + b''.join(bencode(k) + bencode(value[k]) for k in sorted(value)) + b'e'
open(sys.argv[2], 'wb').write(bencode({b'announce': b'http://127.0.0.1:6969/announce',
                                      b'info': {b'length': len(data), b'name': b'clip.bin', b'piece length': piece, b'pieces': pieces}}))
PY
file_url="file://${work// /%20}/my%20files/a%20clip.torrent"
PATH="$prefix/bin:$PATH" nearcast-peer open "$file_url" > "$work/open-file.out" 2> "$work/open-file.log" ||
  { cat "$work/open-file.log"; fail "open of a file:// URL failed: $file_url"; }
PATH="$prefix/bin:$PATH" nearcast-peer status clip.bin --json > /dev/null || fail "the .torrent opened by its file:// URL is not in the daemon"
echo "desktop launch: a .torrent handed over as a file:// URL reached the daemon"
# The menu's entry (no link, no file): the web interface's login link.
PATH="$prefix/bin:$PATH" nearcast-peer open --no-open > "$work/open-ui.out" 2> "$work/open-ui.log" || fail "open with no ITEM failed: $(cat "$work/open-ui.log")"
grep -q "^http://127.0.0.1:[0-9]*/login?code=" "$work/open-ui.out" || fail "open with no ITEM did not give the web interface's login link: $(cat "$work/open-ui.out")"
echo "desktop menu entry: open with no ITEM gives the web interface's one-time login link"
kill -TERM "$daemon_pid"
for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2> /dev/null || break; sleep 0.1; done
echo "desktop launch: a magnet link started the daemon with the user's peer.conf; a second link went to it"
echo "PASS ($scenario)"
