#!/bin/bash
# Bad input anywhere gets a message that names it and exit status 2: never a crash, never a
# silent default (issue 19). One case per kind of input, for each tool that takes it.
#
# Usage: bad_input.sh BUILD_DIR
set -uo pipefail

scenario=edges-input
# shellcheck source=tools.sh
. "$(dirname "$0")/tools.sh" "$@"

failures=0
cases=0
# expect_refusal WHAT PATTERN COMMAND...: the command exits 2 and its stderr matches PATTERN.
expect_refusal() {
  local what="$1" pattern="$2"
  shift 2
  cases=$((cases + 1))
  local status=0
  if declare -F "$1" > /dev/null; then  # a function of this script, which bounds its own time
    "$@" > "$work/out" 2> "$work/err" < /dev/null || status=$?
  else
    timeout 20 "$@" > "$work/out" 2> "$work/err" < /dev/null || status=$?
  fi
  if [ "$status" != 2 ] || ! grep -Eq -- "$pattern" "$work/err"; then
    echo "FAIL: $what: status $status (2 expected), stderr:" >&2
    sed 's/^/    /' "$work/err" | head -5 >&2
    failures=$((failures + 1))
  else
    echo "ok: $what: $(grep -E -m1 -- "$pattern" "$work/err" | cut -c1-160)"
  fi
}

mkdir -p "$work/folder.torrent" "$work/data" "$work/content"
: > "$work/empty"
printf 'a.bin\n' > "$work/content/a.bin"
"$seeder" publish --data-dir "$work/data" "$work/content/a.bin" > "$work/publish.out" 2> "$work/publish.log" ||
  fail "publish failed: $(cat "$work/publish.log")"
torrent=$(cut -f4 "$work/publish.out")

# A directory where a file is expected.
expect_refusal "prox stats DIR" "/tmp.*is a directory" "$prox" stats /tmp
expect_refusal "tracker --data DIR" "/tmp.*is a directory" "$tracker" --data /tmp --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:0
expect_refusal "peer --data DIR" "/tmp.*is a directory" "$peer" fetch "$torrent" --data /tmp --no-daemon -o "$work/get"
expect_refusal "tracker --config DIR" "config file '/tmp': is a directory" "$tracker" --config /tmp
expect_refusal "seeder --config DIR" "config file '/tmp': is a directory" "$seeder" list --config /tmp --data-dir "$work/data"
expect_refusal "peer --config DIR" "config file '/tmp': is a directory" "$peer" daemon --config /tmp
expect_refusal "sim DIR" "scenario file '/tmp': is a directory" "$sim" /tmp -o "$work/sim"
expect_refusal "sim empty scenario" "scenario file '.*empty': is empty" "$sim" "$work/empty" -o "$work/sim"
expect_refusal "peer fetch DIR.torrent" "folder.torrent: is a directory" "$peer" fetch "$work/folder.torrent" --no-daemon -o "$work/get"
expect_refusal "prox stats empty file" "empty.*is empty" "$prox" stats "$work/empty"

# Values out of range.
expect_refusal "tracker --interval -5" "'-5'.*interval.*whole number" "$tracker" --interval -5
expect_refusal "tracker --numwant-max 0" "numwant-max must be at least 1" "$tracker" --numwant-max 0
expect_refusal "tracker --far-share nan" "'nan'.*far-share.*finite" "$tracker" --far-share nan
echo "a-token-secret-of-enough-length" > "$work/token.secret"
expect_refusal "tracker token --ttl -1" "'-1'.*ttl" "$tracker" token --token-secret-file "$work/token.secret" --subject someone --ttl -1
for tool in "$tracker" "$seeder list --data-dir $work/data" "$peer daemon"; do
  # shellcheck disable=SC2086
  expect_refusal "$(basename "${tool%% *}") --log-level loud" "'loud' is not a log level" $tool --log-level loud
done
expect_refusal "seeder --web-seed nope" "--web-seed: 'nope'" "$seeder" publish --data-dir "$work/data" --web-seed nope "$work/content/a.bin"
expect_refusal "seeder --watch missing" "--watch: '/nonexistent' is not a directory" "$seeder" serve --data-dir "$work/data" --watch /nonexistent
expect_refusal "peer --defer-floor-s -1" "defer-floor-s must be between 0 and 600" "$peer" fetch "$torrent" --no-daemon -o "$work/get" --defer-floor-s -1
expect_refusal "sim --threads 0" "threads must be at least 1" "$sim" --threads 0 -o "$work/sim"
expect_refusal "sim --threads -1" "'-1'.*threads" "$sim" --threads -1 -o "$work/sim"

# Stray arguments.
expect_refusal "tracker stray argument" "too many positional|takes no argument" "$tracker" extra
expect_refusal "seeder list stray argument" "list takes no arguments, got 'extra'" "$seeder" list extra --data-dir "$work/data"
expect_refusal "peer daemon stray argument" "daemon takes no ITEM, got 'extra'" "$peer" daemon extra

# The common flags (core/common_options.hpp): two of -v, -q and --log-level at once are refused,
# naming both, in every tool and from a config file too; -d is routing data wherever it exists,
# so the seeder's catalogue folder is --data-dir only; the peer's old --bind is not taken beside
# its new name.
for tool in "$tracker" "$tracker token" "$seeder list --data-dir $work/data" "$seeder publish --data-dir $work/data x" \
            "$peer daemon" "$peer fetch x" "$sim" "$prox lookup 1.1.1.1" "$prox compile x -o y"; do
  name="$(basename "${tool%% *}")${tool#"${tool%% *}"}"
  name="${name%% --*}"
  # shellcheck disable=SC2086
  expect_refusal "$name -v -q" "--verbose and --quiet contradict each other" $tool -v -q
  # shellcheck disable=SC2086
  expect_refusal "$name -q --log-level debug" "--quiet and --log-level contradict each other" $tool -q --log-level debug
done
printf 'verbose = true\nquiet = true\n' > "$work/loud-and-quiet.conf"
expect_refusal "tracker config -v and -q" "--verbose and --quiet contradict each other \\(in .*loud-and-quiet.conf\\)" \
  "$tracker" --config "$work/loud-and-quiet.conf"
expect_refusal "seeder -d" "unrecognised option '-d'" "$seeder" list -d "$work/data"
expect_refusal "tracker -d DIR" "/tmp.*is a directory" "$tracker" -d /tmp --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:0
expect_refusal "peer -d DIR" "/tmp.*is a directory" "$peer" fetch "$torrent" -d /tmp --no-daemon -o "$work/get"
expect_refusal "sim -d DIR" "/tmp.*is a directory" "$sim" -d /tmp -o "$work/sim"
expect_refusal "prox lookup -d DIR" "/tmp.*is a directory" "$prox" lookup -d /tmp 1.1.1.1
expect_refusal "peer --bind beside --listen-bittorrent" "--bind is the old name of --listen-bittorrent" \
  "$peer" daemon --bind 127.0.0.1:0 --listen-bittorrent 127.0.0.1:0

# Config files: errors name the file and line; the command line wins over the file.
printf '# tracker\nlog-level = info\ninterval = soon\n' > "$work/bad.conf"
expect_refusal "tracker config bad value" "bad.conf:3: .*interval" "$tracker" --config "$work/bad.conf"
printf 'log-level = info\nno-such-option = 1\n' > "$work/unknown.conf"
expect_refusal "seeder config unknown option" "unknown.conf:2: unknown option 'no-such-option'" "$seeder" list --config "$work/unknown.conf" --data-dir "$work/data"
printf 'interval = 60\ninterval = 30\n' > "$work/twice.conf"
expect_refusal "tracker config option twice" "twice.conf:2: 'interval' is set again \\(first on line 1\\)" "$tracker" --config "$work/twice.conf"
printf 'listen-http = 127.0.0.1:7001\nlisten-udp = 127.0.0.1:7001\n' > "$work/listen.conf"
cases=$((cases + 1))
"$tracker" --config "$work/listen.conf" --listen-http 127.0.0.1:7002 --port-file "$work/tracker.ports" > "$work/tracker.log" 2>&1 &
tracker_pid=$!
pids+=($tracker_pid)
wait_for_port_file "$work/tracker.ports" nearcast-tracker
if grep -q '7001' <(grep '^http' "$work/tracker.ports") || ! grep -q '^http 127.0.0.1:7002' "$work/tracker.ports" ||
   ! grep -q '^udp 127.0.0.1:7001' "$work/tracker.ports"; then
  echo "FAIL: a repeatable option on the command line should replace the config file's: $(tr '\n' ' ' < "$work/tracker.ports")" >&2
  failures=$((failures + 1))
else
  echo "ok: --listen-http on the command line replaces the config file's; the file's --listen-udp stays"
fi

# A port in use: named with its address and protocol, exit 2 (the tracker above holds 7002/tcp
# and 7001/udp).
expect_refusal "tracker HTTP port in use" "HTTP on 127.0.0.1:7002 \\(TCP\\): Address already in use" "$tracker" --listen-http 127.0.0.1:7002 --listen-udp 127.0.0.1:0
expect_refusal "tracker UDP port in use" "UDP tracker requests on 127.0.0.1:7001 \\(UDP\\): Address already in use" "$tracker" --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:7001
expect_refusal "seeder BitTorrent port in use" "BitTorrent on 127.0.0.1:7002.*in use" "$seeder" serve --data-dir "$work/data" --listen-bittorrent 127.0.0.1:7002 --listen-http 127.0.0.1:0
expect_refusal "seeder HTTP port in use" "HTTP on 127.0.0.1:7002 \\(TCP\\): Address already in use" "$seeder" serve --data-dir "$work/data" --listen-bittorrent 127.0.0.1:0 --listen-http 127.0.0.1:7002
expect_refusal "peer BitTorrent port in use" "127.0.0.1:7002.*in use" "$peer" fetch "$torrent" --no-daemon --listen-bittorrent 127.0.0.1:7002 -o "$work/get"

# A full disk: nothing half-written is left. Each tool writes into a 64 KiB tmpfs of its own
# mount namespace; what the folder holds afterwards is listed from inside it.
on_small_disk() {  # LISTING COMMAND...
  local listing="$1"
  shift
  mkdir -p "$work/small-disk"
  timeout 60 unshare --mount -- sh -c 'mount -t tmpfs -o size=64k tmpfs "$1" && shift && listing="$1" && shift &&
    "$@"; status=$?; find "$0" -mindepth 1 | sort > "$listing"; exit $status' "$work/small-disk" "$work/small-disk" \
    "$listing" "$@"
}
expect_refusal "prox compile to a full disk" "No space left on device" \
  on_small_disk "$work/left-prox" "$prox" compile "$here/../../proximity/data/routeviews2-20140513.sample.pfx2as.gz" \
  -o "$work/small-disk/out.ncprox"
cases=$((cases + 1))
if [ -s "$work/left-prox" ]; then
  echo "FAIL: prox compile left $(tr '\n' ' ' < "$work/left-prox") on the full disk" >&2
  failures=$((failures + 1))
else
  echo "ok: prox compile left nothing on the full disk"
fi
expect_refusal "sim --out to a full disk" "No space left on device.*nothing was written" \
  on_small_disk "$work/left-sim" "$sim" --set workload.peers=3000 --set workload.items=200 --set run.duration_h=2 \
  --set run.strategies=origin_only,nearcast -q -o "$work/small-disk/out"
cases=$((cases + 1))
if grep -v '/out$' "$work/left-sim" | grep -q .; then
  echo "FAIL: sim left $(tr '\n' ' ' < "$work/left-sim") on the full disk" >&2
  failures=$((failures + 1))
else
  echo "ok: sim left nothing on the full disk"
fi

# Secret files and token options (exit 2 naming the option and what is wrong, not 1).
printf 'short\n' > "$work/short.secret"
expect_refusal "tracker --admin-secret-file missing" "admin-secret-file '.*no-such.secret': no such file" \
  "$tracker" --admin-secret-file "$work/no-such.secret" --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:0
expect_refusal "tracker --admin-secret-file DIR" "admin-secret-file '/tmp': is a directory" \
  "$tracker" --admin-secret-file /tmp --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:0
expect_refusal "tracker --token-secret-file empty" "token-secret-file '.*empty': is empty" \
  "$tracker" --closed --token-secret-file "$work/empty" --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:0
expect_refusal "tracker token short secret" "token-secret-file '.*short.secret'.*at least 16 bytes" \
  "$tracker" token --token-secret-file "$work/short.secret" --subject a
expect_refusal "tracker token --subject a.b" "--subject: 'a.b'" \
  "$tracker" token --token-secret-file "$work/token.secret" --subject a.b
expect_refusal "tracker token --ttl 2^64-1" "--ttl must be at most" \
  "$tracker" token --token-secret-file "$work/token.secret" --subject alice --ttl 18446744073709551615

# A value out of range in a config file: the check after parsing names the file and line.
printf '# settings\nfar-share = 1.5\n' > "$work/range.conf"
expect_refusal "tracker far-share = 1.5 in a config file" "range.conf:2: --far-share must be 0 to 1" "$tracker" -c "$work/range.conf"
printf 'stall-timeout = 0\n' > "$work/peer-range.conf"
expect_refusal "peer stall-timeout = 0 in a config file" "peer-range.conf:1: --stall-timeout must be at least" \
  "$peer" fetch "$torrent" -c "$work/peer-range.conf" --no-daemon -o "$work/get"

printf 'config = other.conf\n' > "$work/meta.conf"
expect_refusal "config = FILE inside a config file" "meta.conf:1: 'config' belongs on the command line" "$tracker" -c "$work/meta.conf"
expect_refusal "tracker --numwant-default over --numwant-max" "--numwant-default 500 is more than --numwant-max 200" \
  "$tracker" --numwant-default 500 --numwant-max 200

# A file where a folder should be, and the seeder's secret file.
printf 'not a folder\n' > "$work/plain-file"
expect_refusal "seeder publish --data-dir FILE" "--data-dir '.*plain-file': is a file, not a folder" \
  "$seeder" publish --data-dir "$work/plain-file" "$work/plain-file"
expect_refusal "seeder serve --data-dir under a FILE" "plain-file is a file, not a folder" \
  "$seeder" serve --data-dir "$work/plain-file/data" --listen-http 127.0.0.1:0 --listen-bittorrent 127.0.0.1:0
expect_refusal "peer daemon --cache FILE" "--cache '.*plain-file': is a file, not a folder" \
  "$peer" daemon --cache "$work/plain-file" --listen-control 127.0.0.1:0 --listen-bittorrent 127.0.0.1:0
expect_refusal "seeder serve --admin-secret-file missing" "--admin-secret-file '.*no-such.secret': no such file" \
  "$seeder" serve --data-dir "$work/seeder-secret" --admin-secret-file "$work/no-such.secret" \
  --tracker http://127.0.0.1:9/announce --listen-http 127.0.0.1:0 --listen-bittorrent 127.0.0.1:0

echo "$cases cases, $failures failed"
[ "$failures" = 0 ] || fail "$failures of $cases bad inputs were not refused as they should be"
echo "PASS"
