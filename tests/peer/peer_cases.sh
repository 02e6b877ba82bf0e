#!/bin/bash
# nearcast-peer against a real tracker and origin seeder, one scenario a run:
#   stream: a reader plays the file at a fixed bit rate from `stream`'s local URL while it
#           downloads, byte for byte against the original, then seeks twice; it reports time
#           to first byte and stalls.
#   resume: a fetch is killed with SIGKILL part-way; the next run completes and downloads
#           less than what the first had verified (nothing verified is fetched again).
#   errors: a corrupt .torrent, a bad magnet link, an unreachable tracker and a full disk
#           each end with a clear message and a non-zero status, never a complete report.
#   daemon: a daemon holds a cache under a quota; fetch and stream go through it; the control
#           API refuses requests without the token; the least recently used item is evicted
#           for a new one; uploading is switched off and on; the cache survives a restart.
#   cache:  the daemon's cache never lies: NAME.part until verified, a file cut short or deleted
#           while it was stopped is checked again and fetched again, the quota counts what is on
#           the disk, `fetch -o DIR` through the daemon delivers a checked copy into DIR.
#   remote: list, status, pause, resume, remove (with and without the files), limits, each with
#           --json; unknown and ambiguous ids; `open` starts a daemon when none runs; the
#           user's ~/.config/nearcast/peer.conf is read by every command.
#
# Usage: peer_cases.sh PEER SEEDER TRACKER STREAM_READER stream|resume|errors|daemon|cache|remote
set -euo pipefail

peer_binary="$1"
seeder_binary="$2"
tracker_binary="$3"
reader_binary="$4"
scenario="$5"

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"

case "$scenario" in stream | resume | errors | daemon | cache | remote) ;; *) fail "the scenario must be stream, resume, errors, daemon, cache or remote, not '$scenario'" ;; esac
for binary in "$peer_binary" "$seeder_binary" "$tracker_binary" "$reader_binary"; do
  [ -x "$binary" ] || fail "$binary is not an executable"
done
require_tools curl sha256sum unshare ip mount jq
enter_loopback_namespace "$0" "$@"

echo "an-admin-secret-for-this-test-only" > "$work/admin.secret"
start_nearcast_tracker "$tracker_binary" --admin-secret-file "$work/admin.secret" --interval 5 --min-interval 1

seeder_flags=(--name origin-a --data-dir "$work/a" --listen-bittorrent 127.30.0.1:6881 --listen-http 127.30.0.1:8080
  --tracker http://127.0.0.1:6969/announce --admin-secret-file "$work/admin.secret" --register-every 2)

publish() {  # FILE [FLAGS...]: prints the .torrent path
  local file="$1"
  shift
  "$seeder_binary" publish "${seeder_flags[@]}" "$@" "$file" > "$work/publish.out" 2>> "$work/publish.log" ||
    { show_logs; fail "publish $file failed"; }
  cut -f4 "$work/publish.out"
}

start_seeder() {  # UPLOAD_LIMIT_MB
  "$seeder_binary" serve "${seeder_flags[@]}" --upload-limit-mb "$1" --port-file "$work/seeder.ports" > "$work/seeder.log" 2>&1 &
  seeder_pid=$!
  pids+=($!)
  wait_for_port_file "$work/seeder.ports" nearcast-seeder
}

# A JSON number field of a peer's --report file.
report_field() {  # FILE FIELD
  tr -d ' \n' < "$1" | grep -Eo "\"$2\":[^,}]*" | cut -d: -f2
}

mkdir -p "$work/content"
case "$scenario" in
stream)
  size=24000000
  random_file "$work/content/film.mkv" "$size"
  torrent=$(publish "$work/content/film.mkv")
  # 4 MB/s from the origin against a player at 2 MB/s: playback must not wait for the whole file.
  start_seeder 4
  "$peer_binary" stream "$torrent" -o "$work/stream" --listen-bittorrent 127.10.0.5:7000 --no-progress --report "$work/stream.json" \
    > "$work/stream.url" 2> "$work/stream.log" &
  stream_pid=$!
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$work/stream.url" ] && break; sleep 0.1; done
  url=$(head -n 1 "$work/stream.url")
  case "$url" in http://127.0.0.1:*/film.mkv) ;; *) show_logs; fail "stream printed '$url', not a local URL of film.mkv" ;; esac
  echo "stream URL: $url"
  # HEAD says what a player needs to know before it plays.
  head=$(curl -sfI "$url") || { show_logs; fail "HEAD $url failed"; }
  echo "$head" | grep -qi '^accept-ranges: bytes' || fail "no Accept-Ranges: bytes in $head"
  echo "$head" | grep -qi "^content-length: $size" || fail "HEAD does not give the size $size"
  echo "$head" | grep -qi '^content-type: video/x-matroska' || fail "HEAD does not give video/x-matroska"
  "$reader_binary" "$url" "$work/content/film.mkv" 2000000 0.8 0.4 > "$work/reader.out" 2> "$work/reader.log" ||
    { cat "$work/reader.out" "$work/reader.log" >&2; show_logs; fail "the reader did not get the right bytes"; }
  cat "$work/reader.out"
  # A page under a rebound DNS name reads nothing of the stream.
  port=${url#http://127.0.0.1:}
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: rebound.example:${port%%/*}" "$url")
  case "$code" in 403) ;; *) fail "a stream request with Host rebound.example got $code, not 403" ;; esac
  # The stream serves its one file at its one path; the same name percent-encoded is the same file.
  code=$(curl -s -o /dev/null -w '%{http_code}' "${url%/*}/other.mkv")
  [ "$code" = 404 ] || fail "a stream request for another path got $code, not 404"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${url%/*}/other.mkv")
  [ "$code" = 404 ] || fail "a POST to another path of the stream got $code, not 404"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")
  [ "$code" = 405 ] || fail "a POST to the stream's file got $code, not 405"
  code=$(curl -s -o /dev/null -w '%{http_code}' -r 0-9 "${url%/*}/%66ilm.mkv")
  [ "$code" = 206 ] || fail "the stream's file under a percent-encoded name got $code, not 206"
  # A range past the end is refused as HTTP says.
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=$((size + 10))-" "$url")
  [ "$code" = 416 ] || fail "a range past the end got $code, not 416"
  kill -TERM "$stream_pid"
  wait "$stream_pid" || true
  grep -q '"name": "film.mkv"' "$work/stream.json" || { show_logs; fail "stream wrote no report on SIGTERM"; }
  ;;
resume)
  size=30000000
  random_file "$work/content/film.bin" "$size"
  torrent=$(publish "$work/content/film.bin")
  start_seeder 3  # about 10 s for the whole file
  "$peer_binary" fetch "$torrent" -o "$work/get" --listen-bittorrent 127.10.0.5:7000 --no-progress > "$work/first.log" 2>&1 &
  first_pid=$!
  pids+=($!)
  # Kill it once the origin has sent about a third.
  wait_for_http http://127.30.0.1:8080/stats '"served_bittorrent_bytes":([1-9][0-9]{7}|[0-9]{9,})' 60 ||
    { show_logs; fail "the first fetch did not get going"; }
  kill -KILL "$first_pid"
  wait "$first_pid" 2> /dev/null || true
  had=$(curl -sf http://127.30.0.1:8080/stats | tr -d ' \n' | grep -Eo '"served_bittorrent_bytes":[0-9]+' | cut -d: -f2)
  echo "first fetch killed with SIGKILL after the origin had sent $had bytes"
  # What was stopped part-way is not under the final name: only film.bin.part is there.
  [ ! -e "$work/get/film.bin" ] || fail "a killed fetch left film.bin under its final name"
  [ -f "$work/get/film.bin.part" ] || fail "a killed fetch left no film.bin.part"
  "$peer_binary" fetch "$torrent" -o "$work/get" --listen-bittorrent 127.10.0.5:7000 --no-progress --report "$work/second.json" \
    > "$work/second.log" 2>&1 || { show_logs; fail "the second fetch did not complete"; }
  [ "$(sha256_of "$work/get/film.bin")" = "$(sha256_of "$work/content/film.bin")" ] || fail "the resumed file has the wrong SHA-256"
  [ ! -e "$work/get/film.bin.part" ] || fail "film.bin.part is still there after the fetch completed"
  [ "$(grep -c 'complete' "$work/second.log")" = 1 ] || { cat "$work/second.log"; fail "the fetch did not say complete exactly once"; }
  again=$(report_field "$work/second.json" payload_downloaded_this_run)
  echo "second fetch complete, SHA-256 right, downloaded $again of $size bytes"
  # What the first run verified is kept: the second needs at most what was missing, give or
  # take the pieces in flight when it was killed (8 MB is more than libtorrent has in flight).
  [ "$again" -le $((size - had + 8000000)) ] || fail "the second fetch downloaded $again bytes: verified pieces were fetched again"
  [ "$again" -lt "$size" ] || fail "the second fetch downloaded the whole file again"
  ;;
errors)
  expect_failure() {  # NAME STATUS MESSAGE_REGEX ARGS...
    local name="$1" want_status="$2" message="$3" status=0
    shift 3
    "$peer_binary" "$@" > "$work/$name.out" 2> "$work/$name.log" || status=$?
    [ "$status" = "$want_status" ] || { cat "$work/$name.log" >&2; fail "$name: exit status $status, not $want_status"; }
    grep -Eq "$message" "$work/$name.log" || { cat "$work/$name.log" >&2; fail "$name: no message matching '$message'"; }
    echo "$name: status $status, $(grep -E "$message" "$work/$name.log" | head -n 1 | cut -d' ' -f4-)"
  }
  { printf 'garbage:'; head -c 3000 /dev/urandom; } > "$work/corrupt.torrent"  # never a bencoded dictionary
  expect_failure corrupt-torrent 2 "corrupt.torrent: not a .torrent file" \
    fetch "$work/corrupt.torrent" -o "$work/x" --listen-bittorrent 127.10.0.5:7000
  expect_failure bad-magnet 2 "bad magnet link 'magnet:\?dn=film'" fetch "magnet:?dn=film" -o "$work/x" --listen-bittorrent 127.10.0.5:7000
  expect_failure missing-url 2 "answered 404" fetch "http://127.0.0.1:6969/no-such.torrent" -o "$work/x" --listen-bittorrent 127.10.0.5:7000
  expect_failure fetch-stream-option 2 "fetch does not take --file \\(see nearcast-peer fetch --help\\)" \
    fetch "$work/corrupt.torrent" -o "$work/x" --file 1
  expect_failure daemon-output 2 "daemon does not take --output" daemon --cache "$work/never" -o "$work/x"
  [ ! -e "$work/never" ] || fail "a refused daemon made its cache folder"
  expect_failure report-folder-missing 2 "report: '$work/no-such-folder/r.json': its folder $work/no-such-folder does not exist" \
    fetch "$work/corrupt.torrent" -o "$work/x" --report "$work/no-such-folder/r.json"

  # A tracker nobody listens on, and no web seed that answers.
  random_file "$work/content/lonely.bin" 1000000
  "$seeder_binary" publish --data-dir "$work/nowhere" --tracker http://127.0.0.1:9/announce --web-seed http://127.0.0.9:9 \
    "$work/content/lonely.bin" > "$work/lonely.out" 2> "$work/lonely-publish.log" || { show_logs; fail "publish lonely.bin failed"; }
  lonely=$(cut -f4 "$work/lonely.out")
  expect_failure unreachable-tracker 1 "no tracker answered \(http://127.0.0.1:9/announce" \
    fetch "$lonely" -o "$work/lonely" --listen-bittorrent 127.10.0.5:7000 --stall-timeout 8 --report "$work/lonely.json"
  grep -q '"complete": false' "$work/lonely.json" || fail "unreachable-tracker: the report does not say incomplete"

  # A full disk: a 4 MB tmpfs for a 20 MB file, in a mount namespace of its own.
  random_file "$work/content/big.bin" 20000000
  big=$(publish "$work/content/big.bin")
  start_seeder 0
  mkdir -p "$work/small-disk"
  status=0
  unshare --mount -- sh -c 'mount -t tmpfs -o size=4m tmpfs "$1" && shift && exec "$@"' sh "$work/small-disk" \
    "$peer_binary" fetch "$big" -o "$work/small-disk" --listen-bittorrent 127.10.0.5:7000 --no-progress --report "$work/full.json" \
    > "$work/full.out" 2> "$work/full.log" || status=$?
  [ "$status" = 1 ] || { cat "$work/full.log" >&2; fail "full disk: exit status $status, not 1"; }
  grep -q "No space left on device" "$work/full.log" || { cat "$work/full.log" >&2; fail "full disk: the message does not say so"; }
  grep -q '"complete": false' "$work/full.json" || fail "full disk: the report does not say incomplete"
  echo "full disk: status 1, $(grep "No space" "$work/full.log" | head -n 1 | cut -d' ' -f4-)"

  # The usual port (6881) taken by another program: a fetch that names no port listens on a
  # free one and completes; one that names the taken port is refused, naming what it asked.
  "$tracker_binary" --listen-http 127.0.0.1:6881 --listen-udp 127.0.0.1:0 > "$work/holder.log" 2>&1 &
  holder_pid=$!
  pids+=($!)
  for _ in $(seq 1 50); do grep -q "127.0.0.1:6881" "$work/holder.log" 2> /dev/null && break; sleep 0.1; done
  "$peer_binary" fetch "$big" -o "$work/free-port" --no-daemon --no-progress > "$work/free-port.out" 2> "$work/free-port.log" ||
    { cat "$work/free-port.log" >&2; fail "a fetch with 6881 taken and no port named failed"; }
  grep -q "cannot listen for BitTorrent on 127.0.0.1:6881 (--listen-bittorrent 0.0.0.0:6881, TCP): .*in use; listening on a free port instead" \
    "$work/free-port.log" || { cat "$work/free-port.log" >&2; fail "the fetch did not say it took a free port"; }
  [ "$(sha256_of "$work/free-port/big.bin")" = "$(sha256_of "$work/content/big.bin")" ] || fail "the fetch on a free port has the wrong SHA-256"
  expect_failure port-named-taken 2 "cannot listen for BitTorrent on 127.0.0.1:6881 \\(TCP\\): Address already in use" \
    fetch "$big" -o "$work/x" --no-daemon --listen-bittorrent 127.0.0.1:6881
  # A daemon (as `open` and the desktop entry start it) does the same; one named to the taken
  # port stops, and `open` says why rather than only where the log is.
  "$peer_binary" daemon --cache "$work/port-cache" --no-progress > "$work/port-daemon.log" 2>&1 &
  port_daemon_pid=$!
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$work/port-cache/control.json" ] && break; sleep 0.1; done
  [ -s "$work/port-cache/control.json" ] || { cat "$work/port-daemon.log" >&2; fail "a daemon with 6881 taken and no port named did not start"; }
  grep -q "in use; listening on a free port instead" "$work/port-daemon.log" ||
    { cat "$work/port-daemon.log" >&2; fail "the daemon did not say it took a free port"; }
  kill "$port_daemon_pid"
  wait "$port_daemon_pid" 2> /dev/null || true
  echo "listen-bittorrent = 127.0.0.1:6881" > "$work/port.conf"
  expect_failure open-daemon-port 2 "stopped at once: cannot listen for BitTorrent on 127.0.0.1:6881 \\(TCP\\): Address already in use; its log is" \
    open "$big" --cache "$work/port-cache-2" --config "$work/port.conf"
  kill "$holder_pid"
  echo "port 6881 taken: a fetch or a daemon naming no port took a free one; naming it was refused, and open says why"

  # An output folder that takes no files (immutable here; read-only for a user): refused
  # before anything downloads, with or without a daemon, and nothing is left in it.
  if mkdir -p "$work/frozen" && chattr +i "$work/frozen" 2> /dev/null; then
    expect_failure frozen-output 2 "frozen: cannot write in the output folder: Operation not permitted" \
      fetch "$big" -o "$work/frozen" --no-daemon
    chattr -i "$work/frozen"
    [ -z "$(ls -A "$work/frozen")" ] || fail "the refused fetch left files in the output folder"
    echo "an output folder that takes no files: refused at once, exit 2"
  else
    echo "an output folder that takes no files: not tested (chattr +i is not possible here)"
  fi
  ;;
daemon)
  random_file "$work/content/first.bin" 6000000
  random_file "$work/content/second.bin" 6000000
  first=$(publish "$work/content/first.bin")
  second=$(publish "$work/content/second.bin")
  start_seeder 0
  cache="$work/cache"
  # A 10 MB quota: two 6 MB items do not fit together.
  "$peer_binary" daemon --cache "$cache" --quota-mb 10 --listen-bittorrent 127.10.0.6:7000 --log-level debug > "$work/daemon.log" 2>&1 &
  daemon_pid=$!
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$cache/control.json" ] && break; sleep 0.1; done
  [ -s "$cache/control.json" ] || { show_logs; fail "the daemon wrote no control.json"; }
  [ "$(stat -c %a "$cache/control.json")" = 600 ] || fail "control.json is readable by others"
  url=$(grep -Eo '"url":"[^"]*"' "$cache/control.json" | cut -d'"' -f4)
  token=$(grep -Eo '"token":"[^"]*"' "$cache/control.json" | cut -d'"' -f4)
  control() {  # METHOD PATH
    curl -sf -X "$1" -H "Authorization: Bearer $token" "$url$2"
  }
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url/status")
  [ "$code" = 401 ] || fail "a control request without the token got $code, not 401"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "$url/status")
  [ "$code" = 401 ] || fail "a control request with a wrong token got $code, not 401"
  # DNS rebinding: the right token under a name that is not the daemon's address gets nothing.
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: rebound.example:${url##*:}" -H "Authorization: Bearer $token" "$url/status")
  [ "$code" = 403 ] || fail "a control request with Host rebound.example got $code, not 403"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Origin: http://rebound.example" -H "Authorization: Bearer $token" "$url/status")
  [ "$code" = 403 ] || fail "a control request from Origin rebound.example got $code, not 403"
  # No token: refused from the head alone, before 32 MB of body would be read; ten of them at
  # once leave the daemon's memory where it was.
  rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
  before=$(rss)
  head -c 32000000 /dev/zero > "$work/zeros"
  for i in $(seq 1 10); do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 -X POST --data-binary @"$work/zeros" "$url/add" > "$work/refused-$i" &
  done
  answered=0
  for i in $(seq 1 10); do
    for _ in $(seq 1 150); do [ -s "$work/refused-$i" ] && break; sleep 0.1; done
    [ "$(cat "$work/refused-$i")" = 401 ] && answered=$((answered + 1))
  done
  rm -f "$work/zeros"
  grown=$(( $(rss) - before ))
  echo "ten 32 MB POSTs without the token: $answered answered 401; the daemon's resident memory grew $grown kB"
  [ "$answered" = 10 ] || fail "only $answered of ten 32 MB POSTs without the token got 401"
  [ "$grown" -lt 16384 ] || fail "ten refused 32 MB POSTs grew the daemon by $grown kB"

  # fetch goes through the daemon: the file lands in its cache.
  "$peer_binary" fetch "$first" --cache "$cache" --no-progress > "$work/fetch-first.log" 2>&1 || { cat "$work/fetch-first.log"; show_logs; fail "fetch through the daemon failed"; }
  grep -q "a daemon runs" "$work/fetch-first.log" || fail "fetch did not use the running daemon"
  first_id=$(control GET /status | grep -Eo '"id":"[0-9a-f]{40}"' | head -n 1 | cut -d'"' -f4)
  [ "$(sha256_of "$cache/content/$first_id/first.bin")" = "$(sha256_of "$work/content/first.bin")" ] || fail "first.bin in the cache is wrong"
  echo "fetch through the daemon: first.bin in the cache, SHA-256 right"

  # The second item needs room: first.bin, complete and unused, is evicted.
  sleep 1
  "$peer_binary" fetch "$second" --cache "$cache" --no-progress --report "$work/unused.json" > "$work/fetch-second.log" 2>&1 || { show_logs; fail "the second fetch failed"; }
  grep -q -- "with its own settings: --report (give -o DIR to have one) not used here" "$work/fetch-second.log" ||
    fail "a fetch through the daemon did not say it does not use --report"
  second_in_cache=$(ls "$cache"/content/*/second.bin)
  [ "$(sha256_of "$second_in_cache")" = "$(sha256_of "$work/content/second.bin")" ] || fail "second.bin in the cache is wrong"
  status=$(control GET /status)
  echo "$status" | grep -q '"name":"first.bin"' && fail "first.bin was not evicted under the quota: $status"
  [ ! -e "$cache/content/$first_id/first.bin" ] || fail "first.bin's file is still in the cache"
  echo "quota: first.bin evicted for second.bin"

  # The upload switch and limits.
  control POST "/limits?uploading=off" | grep -q '"upload_now":0' || fail "uploading=off did not stop uploads"
  control GET /status | grep -q '"uploading":false' || fail "the status does not say uploading is off"
  control POST "/limits?uploading=on&upload_kb=500" | grep -q '"upload_now":500000' || fail "the upload limit was not applied"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" "$url/limits?uploading=maybe")
  [ "$code" = 400 ] || fail "a bad limit got $code, not 400"
  # One bad value among good ones: a 400 that names it, and nothing of the request applied.
  answer=$(curl -s -X POST -H "Authorization: Bearer $token" "$url/limits?upload_kb=100&monthly_cap_mb=-5")
  echo "$answer" | grep -q 'monthly_cap_mb=-5: must not be negative' || fail "a negative cap was not refused by name: $answer"
  control GET /status | grep -q '"upload_limit":500000' || fail "a refused request changed the upload limit"
  answer=$(curl -s -X POST -H "Authorization: Bearer $token" "$url/limits?upload_kb=fast")
  echo "$answer" | grep -q 'upload_kb=fast: not a number' || fail "a word for a rate was not refused by name: $answer"
  control POST "/limits?monthly_cap_mb=2048&download_kb=4000" | grep -q '"monthly_cap":2048000000' ||
    fail "the monthly cap was not applied"
  echo "limits: switch, rate, cap applied; bad values refused by name, nothing half-applied"
  second_id=$(echo "$status" | grep -Eo '"id":"[0-9a-f]{40}"' | head -n 1 | cut -d'"' -f4)
  control POST "/pause?id=$second_id" | grep -q '"state":"paused"' || fail "pause did not pause"
  resumed=$(control POST "/resume?id=$second_id"); echo "$resumed" | grep -q '"state":"seeding"' || fail "resume did not resume: $resumed"
  answer=$(curl -s -X POST -H "Authorization: Bearer $token" "$url/stream?id=$second_id&file=first")
  echo "$answer" | grep -q "file=first: give a file's number" || fail "a word for a file number was not refused by name: $answer"
  answer=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $token" "$url/pause?id=0000000000000000000000000000000000000000")
  echo "$answer" | grep -q 'no item 0000000000000000000000000000000000000000 in the cache.* 404$' || fail "an unknown item did not get a 404: $answer"
  answer=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $token" "$url/bogus")
  echo "$answer" | grep -q 'no /bogus here.* 404$' || fail "an unknown path did not get a 404 naming it: $answer"
  answer=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $token" "$url/status")
  echo "$answer" | grep -q 'use GET /status.* 405$' || fail "POST /status did not get a 405 saying GET: $answer"
  curl -s -o /dev/null -D - -X POST -H "Authorization: Bearer $token" "$url/status" | grep -qi '^Allow: GET' ||
    fail "the 405 of POST /status has no Allow: GET header"
  code=$(curl -s -o /dev/null -w '%{http_code}' -I -H "Authorization: Bearer $token" "$url/status")
  [ "$code" = 200 ] || fail "HEAD /status got $code, not 200"
  # Host and Origin: 0.0.0.0 is no host of ours, and a second header is not read past the first.
  control_port=${url##*:}
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: 0.0.0.0:$control_port" -H "Authorization: Bearer $token" "$url/status")
  [ "$code" = 403 ] || fail "Host 0.0.0.0 got $code from the control API, not 403"
  exec 3<> "/dev/tcp/127.0.0.1/$control_port"
  printf 'GET /status HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nHost: evil.example:%s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' \
    "$control_port" "$control_port" "$token" >&3
  answer=$(head -n 1 <&3)
  exec 3<&-
  case "$answer" in *" 400 "*) ;; *) fail "two Host headers got '$answer', not 400" ;; esac

  # stream goes through the daemon too.
  "$peer_binary" stream "$second" --cache "$cache" --no-progress > "$work/stream.url" 2> "$work/stream-client.log" &
  stream_pid=$!
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$work/stream.url" ] && break; sleep 0.1; done
  stream_url=$(head -n 1 "$work/stream.url")
  curl -sf -r 1000000-1999999 "$stream_url" -o "$work/part.bin" || { show_logs; fail "GET $stream_url failed"; }
  cmp -s "$work/part.bin" <(tail -c +1000001 "$work/content/second.bin" | head -c 1000000) || fail "the daemon streamed wrong bytes"
  kill -TERM "$stream_pid"
  wait "$stream_pid" || true
  echo "stream through the daemon: $stream_url serves the right bytes"
  # The daemon streams the item already: a file it does not have is still refused.
  answer=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $token" "$url/stream?id=$second_id&file=5")
  echo "$answer" | grep -q "file=5: second.bin has 1 file (numbers from 0).* 400$" || fail "a file number past the item's files was not refused: $answer"

  # A clean stop keeps the cache; the next start holds the item again.
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || fail "the daemon did not stop cleanly on SIGTERM"
  [ ! -e "$cache/control.json" ] || fail "control.json outlived the daemon"
  "$peer_binary" daemon --cache "$cache" --quota-mb 10 --listen-bittorrent 127.10.0.6:7000 >> "$work/daemon.log" 2>&1 &
  pids+=($!)
  echo $! > "$work/daemon2.pid"
  for _ in $(seq 1 100); do [ -s "$cache/control.json" ] && break; sleep 0.1; done
  token=$(grep -Eo '"token":"[^"]*"' "$cache/control.json" | cut -d'"' -f4)
  url=$(grep -Eo '"url":"[^"]*"' "$cache/control.json" | cut -d'"' -f4)
  for _ in $(seq 1 50); do control GET /status | grep -q '"complete":true' && break; sleep 0.2; done
  control GET /status | grep -q '"name":"second.bin"' || fail "the restarted daemon lost second.bin"
  control GET /status | grep -q '"complete":true' || fail "the restarted daemon does not hold second.bin whole"
  from_origin=$(control GET /status | jq '.items[] | select(.name == "second.bin") | .sources.origin')
  [ "$from_origin" -gt 0 ] || fail "the restarted daemon forgot where second.bin came from (origin $from_origin bytes)"
  limits=$(control GET /status)
  for kept in '"upload_limit":500000' '"monthly_cap":2048000000' '"download_limit":4000000' '"uploading":true'; do
    echo "$limits" | grep -q "$kept" || fail "the restarted daemon lost a limit set through the API ($kept): $limits"
  done
  grep -q "limits set through the control API in an earlier run" "$work/daemon.log" || fail "the restart does not say it kept the limits"
  # Two items of the same name: each in a folder of its own, neither overwrites the other.
  mkdir -p "$work/other"
  random_file "$work/other/second.bin" 2000000
  same_name=$(publish "$work/other/second.bin")
  "$peer_binary" fetch "$same_name" --cache "$cache" --no-progress > "$work/fetch-same.log" 2>&1 ||
    { cat "$work/fetch-same.log"; show_logs; fail "fetching another item named second.bin failed"; }
  copies=$(ls "$cache"/content/*/second.bin | wc -l)
  [ "$copies" = 2 ] || fail "two items named second.bin left $copies files in the cache"
  want_both="$(sha256_of "$work/content/second.bin") $(sha256_of "$work/other/second.bin")"
  have_both=""
  for copy in "$cache"/content/*/second.bin; do have_both="$have_both $(sha256_of "$copy")"; done
  for want in $want_both; do echo "$have_both" | grep -q "$want" || fail "an item named second.bin was overwritten: $have_both"; done
  echo "two items named second.bin: each whole in its own folder"
  # A stream asks for the file it plays alone: the item is "partial", never complete, until a
  # fetch asks for it whole, and then every file is there and right.
  mkdir -p "$work/pack/sub"
  random_file "$work/pack/a.bin" 500000
  random_file "$work/pack/sub/b.bin" 1000000
  pack=$(publish "$work/pack")
  "$peer_binary" stream "$pack" --cache "$cache" --no-progress > "$work/pack-stream.url" 2> "$work/pack-stream.log" &
  pack_stream_pid=$!
  pids+=($!)
  pack_state() { control GET /status | jq -r '.items[] | select(.name == "pack") | "\(.state) \(.complete)"'; }
  for _ in $(seq 1 150); do [ "$(pack_state)" = "partial false" ] && break; sleep 0.2; done
  [ "$(pack_state)" = "partial false" ] || { show_logs; fail "a stream of one file of a two-file item left it '$(pack_state)', not 'partial false'"; }
  # Its progress is over the whole item, and it has no ETA.
  pack_progress=$(control GET /status | jq -r '.items[] | select(.name == "pack") | "\(.bytes_done) \(.bytes_wanted) \(.eta)"')
  read -r pack_done pack_wanted pack_eta <<< "$pack_progress"
  [ "$pack_wanted" = 1500000 ] && [ "$pack_done" -lt 1500000 ] && [ "$pack_eta" = -1 ] ||
    fail "a partial item shows '$pack_progress' (done, wanted, ETA), not its progress over the whole 1.5 MB and no ETA"
  kill -TERM "$pack_stream_pid"
  wait "$pack_stream_pid" || true
  "$peer_binary" fetch "$pack" --cache "$cache" --no-progress > "$work/fetch-pack.log" 2>&1 ||
    { cat "$work/fetch-pack.log"; show_logs; fail "fetching the whole of a streamed item failed"; }
  pack_dir=$(dirname "$(ls "$cache"/content/*/pack/sub/b.bin)")/..
  for file in a.bin sub/b.bin; do
    [ "$(sha256_of "$pack_dir/$file")" = "$(sha256_of "$work/pack/$file")" ] || fail "pack/$file is missing or wrong after a fetch that said complete"
  done
  [ "$(pack_state)" = "seeding true" ] || fail "the whole pack is '$(pack_state)', not 'seeding true'"
  echo "a stream's item is partial, not complete; a fetch then asks for every file and gets them right"
  # Streaming an item held whole leaves it whole (the files it leaves out are whole already).
  stream_once() {  # TORRENT NAME: a stream through the daemon, until it serves its URL
    : > "$work/$2-stream.url"
    "$peer_binary" stream "$1" --cache "$cache" --no-progress > "$work/$2-stream.url" 2> "$work/$2-stream.log" &
    local pid=$!
    pids+=($!)
    for _ in $(seq 1 100); do [ -s "$work/$2-stream.url" ] && break; sleep 0.1; done
    curl -sf -o /dev/null "$(head -n 1 "$work/$2-stream.url")" || fail "the stream of $2 did not serve its URL"
    sleep 1
    kill -TERM "$pid"
    wait "$pid" || true
  }
  stream_once "$pack" pack
  [ "$(pack_state)" = "seeding true" ] || fail "streaming the whole pack left it '$(pack_state)', not 'seeding true'"
  # A second stream of a partial item asks for its one file again, not for every file.
  mkdir -p "$work/pack2"
  random_file "$work/pack2/small.bin" 600000
  random_file "$work/pack2/large.bin" 1200000
  pack2=$(publish "$work/pack2")
  pack2_state() { control GET /status | jq -r '.items[] | select(.name == "pack2") | "\(.state) \(.complete)"'; }
  stream_once "$pack2" pack2
  for _ in $(seq 1 150); do [ "$(pack2_state)" = "partial false" ] && break; sleep 0.2; done
  [ "$(pack2_state)" = "partial false" ] || fail "a stream of pack2 left it '$(pack2_state)', not 'partial false'"
  stream_once "$pack2" pack2
  sleep 2
  [ "$(pack2_state)" = "partial false" ] || fail "a second stream of pack2 left it '$(pack2_state)': it asked for every file"
  echo "a stream of an item held whole leaves it whole; a second stream of a partial item asks for its one file only"
  pack2_id=$(control GET /status | jq -r '.items[] | select(.name == "pack2") | .id')
  control POST "/remove?id=$pack2_id" > /dev/null || fail "removing pack2 failed"
  # The switch turned off through the API stays off across a restart.
  control POST "/limits?uploading=off" | grep -q '"upload_now":0' || fail "uploading=off did not stop uploads"
  # Off means nothing at all goes up: a peer next door fetching the item the daemon holds gets
  # no byte from it, not even the pieces libtorrent lets a choked peer ask for (allowed fast).
  up_before=$(control GET /status | jq '[.items[] | select(.name == "second.bin") | .uploaded] | add')
  # Nor does a peer wait on it: its whole items leave their swarms until uploading is back.
  for _ in $(seq 1 25); do [ "$(control GET /status | jq -r '[.items[].state] | unique | join(",")')" = complete ] && break; sleep 0.2; done
  [ "$(control GET /status | jq -r '[.items[].state] | unique | join(",")')" = complete ] ||
    fail "with uploading off the whole items are not 'complete' (out of their swarms): $(control GET /status | jq -c '[.items[].state]')"
  sleep 1  # the trackers hear "stopped"
  "$peer_binary" fetch "$second" --no-daemon -o "$work/next-door" --listen-bittorrent 127.10.0.9:7002 --no-progress -v \
    --report "$work/next-door.json" > "$work/next-door.log" 2>&1 || { cat "$work/next-door.log"; show_logs; fail "the fetch next door failed"; }
  grep -q "leaving the origin alone" "$work/next-door.log" && fail "a fetch next door left the origin to a daemon whose uploading is off"
  up_after=$(control GET /status | jq '[.items[] | select(.name == "second.bin") | .uploaded] | add')
  near=$(jq .downloaded.near "$work/next-door.json")
  echo "uploading off: the whole items left their swarms; a fetch next door took $near bytes from near peers in $(jq .seconds_to_complete "$work/next-door.json") s; the daemon uploaded $((up_after - up_before)) bytes"
  [ "$up_after" = "$up_before" ] && [ "$near" = 0 ] || fail "with uploading off the daemon still uploaded $((up_after - up_before)) bytes (near $near)"
  kill -TERM "$(cat "$work/daemon2.pid")"
  wait "$(cat "$work/daemon2.pid")" || fail "the restarted daemon did not stop cleanly on SIGTERM"
  echo "a file someone left here" > "$cache/content/stray.txt"
  "$peer_binary" daemon --cache "$cache" --quota-mb 10 --listen-bittorrent 127.10.0.6:7000 >> "$work/daemon.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$cache/control.json" ] && break; sleep 0.1; done
  grep -q "content/stray.txt is no item's" "$work/daemon.log" || fail "the start-up check did not name a stray file in content/"
  rm -f "$cache/content/stray.txt"
  token=$(grep -Eo '"token":"[^"]*"' "$cache/control.json" | cut -d'"' -f4)
  url=$(grep -Eo '"url":"[^"]*"' "$cache/control.json" | cut -d'"' -f4)
  control GET /status | grep -q '"uploading":false' || fail "uploading switched off through the API came back on after a restart"
  # The index is the user's own (a daemon run by a user who is not root must read it back).
  [ "$(stat -c %a "$cache/index.json")" = 600 ] || fail "index.json has mode $(stat -c %a "$cache/index.json"), not 600"
  # reset=1: back to the command line's limits (none here), and that is what the index keeps.
  limits=$(control POST "/limits?reset=1")
  for configured in '"uploading":true' '"upload_limit":0' '"monthly_cap":0' '"download_limit":0'; do
    echo "$limits" | grep -q "$configured" || fail "reset=1 did not restore the configured limits ($configured): $limits"
  done
  jq -e '.limits == {}' "$cache/index.json" > /dev/null || fail "the index still keeps limits after a reset: $(jq -c .limits "$cache/index.json")"
  echo "restart: the cache and its item are back; the limits set through the API are kept, the switch stays off; reset=1 restores the configured ones"
  ;;
cache)
  random_file "$work/content/film.bin" 12000000
  random_file "$work/content/clip.bin" 3000000
  random_file "$work/content/fresh.bin" 2000000
  film=$(publish "$work/content/film.bin")
  clip=$(publish "$work/content/clip.bin")
  fresh=$(publish "$work/content/fresh.bin")
  tiny_magnets=()
  for tiny in tiny1 tiny2 tiny3; do
    random_file "$work/content/$tiny.bin" 100000
    publish "$work/content/$tiny.bin" > /dev/null
    tiny_magnets+=("$(cut -f5 "$work/publish.out")")
  done
  start_seeder 2  # about 6 s for film.bin: time to look at the cache while it downloads
  cache="$work/cache"
  start_daemon() {
    "$peer_binary" daemon --cache "$cache" --quota-mb "${1:-40}" --listen-bittorrent 127.10.0.6:7000 --log-level debug >> "$work/daemon.log" 2>&1 &
    daemon_pid=$!
    pids+=($!)
    for _ in $(seq 1 100); do [ -s "$cache/control.json" ] && break; sleep 0.1; done
    [ -s "$cache/control.json" ] || { show_logs; fail "the daemon wrote no control.json"; }
  }
  stop_daemon() {
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" || fail "the daemon did not stop cleanly on SIGTERM"
  }
  item_json() {  # NAME: the daemon's description of the item
    "$peer_binary" status "$1" --cache "$cache" --json
  }
  start_daemon
  "$peer_binary" fetch "$film" --cache "$cache" --no-progress > "$work/fetch-film.log" 2>&1 &
  fetch_pid=$!
  pids+=($!)
  # While it downloads: film.bin.part only, and the daemon does not call it complete.
  for _ in $(seq 1 100); do
    [ -n "$(ls "$cache"/content/*/film.bin.part 2> /dev/null)" ] && break
    sleep 0.1
  done
  part=$(ls "$cache"/content/*/film.bin.part 2> /dev/null) || { show_logs; fail "no film.bin.part in the cache while it downloads"; }
  folder=$(dirname "$part")
  [ ! -e "$folder/film.bin" ] || fail "film.bin is under its final name before it is verified"
  [ "$(item_json film.bin | jq .complete)" = false ] || fail "the daemon calls film.bin complete while it downloads"
  [ "$(item_json film.bin | jq -r .path)" = "$part" ] || fail "status gives $(item_json film.bin | jq -r .path) as film.bin's path while it is $part"
  echo "while downloading: $(basename "$folder")/film.bin.part, not complete, and status gives that path"
  wait "$fetch_pid" || { cat "$work/fetch-film.log"; show_logs; fail "the fetch through the daemon failed"; }
  [ -f "$folder/film.bin" ] && [ ! -e "$part" ] || fail "film.bin did not get its final name once complete"
  [ "$(item_json film.bin | jq -r .path)" = "$folder/film.bin" ] || fail "status gives $(item_json film.bin | jq -r .path) as the finished film.bin's path"
  [ "$(sha256_of "$folder/film.bin")" = "$(sha256_of "$work/content/film.bin")" ] || fail "film.bin in the cache is wrong"
  echo "complete: film.bin under its final name, SHA-256 right"

  # -o DIR through the daemon: a checked copy lands in DIR, with the cache's copy kept.
  "$peer_binary" fetch "$film" --cache "$cache" -o "$work/videos" --no-progress --report "$work/copy.json" > "$work/fetch-copy.log" 2>&1 ||
    { cat "$work/fetch-copy.log"; show_logs; fail "fetch -o through the daemon failed"; }
  grep -q "copied film.bin from the daemon's cache into $work/videos" "$work/fetch-copy.log" || fail "fetch -o did not say it copied from the cache"
  grep -q "not used here" "$work/fetch-copy.log" && fail "fetch -o through the daemon still says -o or --report is not used"
  [ "$(sha256_of "$work/videos/film.bin")" = "$(sha256_of "$work/content/film.bin")" ] || fail "the copy in -o DIR is wrong"
  [ ! -e "$work/videos/film.bin.part" ] || fail "film.bin.part was left in -o DIR"
  [ "$(jq .complete "$work/copy.json")" = true ] || fail "the --report of fetch -o does not say complete"
  echo "fetch -o through the daemon: a checked copy in $work/videos, the cache keeps its own"
  # A copy that went wrong is found by the check and mended from the swarm.
  rm -f "$work/videos/film.bin"
  "$peer_binary" fetch "$clip" --cache "$cache" -o "$work/videos" --no-progress > /dev/null 2>&1 || fail "fetch -o of clip.bin failed"
  printf 'garbage' | dd of="$work/videos/clip.bin" bs=1 seek=100000 conv=notrunc 2> /dev/null
  mv "$work/videos/clip.bin" "$work/videos/clip.bin.part"
  "$peer_binary" fetch "$clip" --cache "$cache" -o "$work/videos" --no-progress > "$work/fetch-mend.log" 2>&1 ||
    { cat "$work/fetch-mend.log"; fail "fetch -o did not mend a damaged copy"; }
  [ "$(sha256_of "$work/videos/clip.bin")" = "$(sha256_of "$work/content/clip.bin")" ] || fail "a damaged copy in -o DIR was not mended"
  echo "fetch -o: a damaged .part in DIR is checked, its bad piece fetched again"

  # Another file of the same name in DIR does not win over the daemon's verified copy, and is
  # not lost either: it is moved aside as clip.bin.1.
  head -c 3000000 /dev/urandom > "$work/videos/clip.bin"
  other_sum=$(sha256_of "$work/videos/clip.bin")
  "$peer_binary" fetch "$clip" --cache "$cache" -o "$work/videos" --no-progress --report "$work/stale.json" > "$work/fetch-stale.log" 2>&1 ||
    { cat "$work/fetch-stale.log"; fail "fetch -o over a stale clip.bin failed"; }
  [ "$(sha256_of "$work/videos/clip.bin")" = "$(sha256_of "$work/content/clip.bin")" ] || fail "a stale clip.bin in -o DIR was kept"
  [ "$(jq '.downloaded.origin + .downloaded.near + .downloaded.far' "$work/stale.json")" = 0 ] ||
    fail "fetch -o over a stale file downloaded again what the daemon's copy held: $(jq -c .downloaded "$work/stale.json")"
  [ "$(sha256_of "$work/videos/clip.bin.1")" = "$other_sum" ] || fail "the other clip.bin in -o DIR was not kept as clip.bin.1"
  grep -q "clip.bin was another file of that name .*: kept as .*clip.bin.1" "$work/fetch-stale.log" ||
    fail "fetch -o did not say it moved the other clip.bin aside: $(cat "$work/fetch-stale.log")"
  # Without a daemon too: a different item with a file of the same name leaves this one whole.
  "$peer_binary" fetch "$film" --no-daemon -o "$work/videos" --listen-bittorrent 127.10.0.8:7001 --no-progress \
    > "$work/fetch-other-name.log" 2>&1 || { cat "$work/fetch-other-name.log"; fail "fetch --no-daemon of film.bin failed"; }
  mv "$work/videos/film.bin" "$work/videos/keep.bin"
  cp "$work/videos/clip.bin" "$work/videos/film.bin"
  "$peer_binary" fetch "$film" --no-daemon -o "$work/videos" --listen-bittorrent 127.10.0.8:7001 --no-progress \
    > "$work/fetch-other-name.log" 2>&1 || { cat "$work/fetch-other-name.log"; fail "fetch --no-daemon over another film.bin failed"; }
  [ "$(sha256_of "$work/videos/film.bin.1")" = "$(sha256_of "$work/content/clip.bin")" ] || fail "fetch --no-daemon overwrote another film.bin"
  [ "$(sha256_of "$work/videos/film.bin")" = "$(sha256_of "$work/content/film.bin")" ] || fail "film.bin fetched over another file is wrong"
  echo "fetch -o: another file of the same name is kept as NAME.1 (through the daemon and without), the item's copy checked in its place"
  # The summary and --report of fetch -o through a daemon tell the whole fetch: what the daemon
  # downloaded for it, not only what the check of the copy took.
  "$peer_binary" fetch "$fresh" --cache "$cache" -o "$work/videos" --no-progress --report "$work/fresh.json" > "$work/fetch-fresh.log" 2>&1 ||
    { cat "$work/fetch-fresh.log"; fail "fetch -o of fresh.bin through the daemon failed"; }
  fresh_total=$(jq '.downloaded.origin + .downloaded.near + .downloaded.far' "$work/fresh.json")
  [ "$fresh_total" -ge 2000000 ] || fail "fetch -o through the daemon reports $fresh_total bytes downloaded for a 2 MB item: $(cat "$work/fresh.json")"
  [ "$(jq -r .item "$work/fresh.json")" = "$fresh" ] || fail "the --report names $(jq -r .item "$work/fresh.json"), not the item given"
  grep -q "fresh.bin: complete, every piece verified, in .* origin [1-9]" "$work/fetch-fresh.log" ||
    fail "the summary of fetch -o through the daemon does not count what the daemon downloaded: $(cat "$work/fetch-fresh.log")"
  echo "fetch -o through the daemon: the report counts the daemon's $fresh_total bytes for fresh.bin"
  # A magnet link with -o through the daemon: done within a tick of its metadata, the item's
  # .torrent must still be there for the copy into DIR.
  for index in 0 1 2; do
    "$peer_binary" fetch "${tiny_magnets[$index]}" --cache "$cache" -o "$work/tiny" --no-progress > "$work/fetch-tiny.log" 2>&1 ||
      { cat "$work/fetch-tiny.log"; fail "fetch -o of a magnet link through the daemon failed"; }
    [ "$(sha256_of "$work/tiny/tiny$((index + 1)).bin")" = "$(sha256_of "$work/content/tiny$((index + 1)).bin")" ] ||
      fail "tiny$((index + 1)).bin fetched by magnet with -o through the daemon is wrong"
  done
  echo "fetch -o through the daemon: three fresh magnet links, each copied into DIR and checked"
  # A magnet item removed with its files leaves no folder behind (its .nearcast/ metadata copy
  # goes too); removed with --keep-data, only its files stay.
  tiny1_id=$("$peer_binary" status tiny1.bin --cache "$cache" --json | jq -r .id)
  tiny2_id=$("$peer_binary" status tiny2.bin --cache "$cache" --json | jq -r .id)
  "$peer_binary" remove tiny1.bin --cache "$cache" > /dev/null || fail "remove of tiny1.bin failed"
  "$peer_binary" remove tiny2.bin --cache "$cache" --keep-data > /dev/null || fail "remove --keep-data of tiny2.bin failed"
  for _ in $(seq 1 50); do [ ! -e "$cache/content/$tiny1_id" ] && break; sleep 0.1; done
  [ ! -e "$cache/content/$tiny1_id" ] || fail "a removed magnet item left $(find "$cache/content/$tiny1_id" | tr '\n' ' ')"
  [ "$(cd "$cache/content/$tiny2_id" && find . -mindepth 1 | sort | tr '\n' ' ')" = "./tiny2.bin " ] ||
    fail "remove --keep-data of a magnet item left more than its file: $(find "$cache/content/$tiny2_id" | tr '\n' ' ')"
  rm -rf "${cache:?}/content/$tiny2_id"
  echo "remove: a magnet item's folder goes with its files; --keep-data keeps the file alone"

  # The quota is counted from the disk: 5 MB dropped into the cache show in cache_bytes.
  cache_bytes() {
    curl -sf -H "Authorization: Bearer $(jq -r .token "$cache/control.json")" "$(jq -r .url "$cache/control.json")/status" | jq .cache_bytes
  }
  before=$(cache_bytes)
  head -c 5000000 /dev/urandom > "$folder/stray.bin"
  after=$(cache_bytes)
  grown=$((after - before))
  [ "$grown" -ge 4900000 ] && [ "$grown" -le 5200000 ] || fail "5 MB written into the cache changed cache_bytes by $grown"
  rm -f "$folder/stray.bin"
  echo "quota from the disk: 5 MB written into the cache show as $grown bytes more"

  # Damaged while the daemon runs (behind libtorrent's back): a fetch of the item checks every
  # piece on disk again before it says complete, and the damaged piece is fetched again.
  printf 'QQQQ' | dd of="$folder/film.bin" bs=1 seek=1000 conv=notrunc status=none
  [ "$(sha256_of "$folder/film.bin")" != "$(sha256_of "$work/content/film.bin")" ] || fail "the damage did not change film.bin"
  "$peer_binary" fetch "$film" --cache "$cache" --no-progress > "$work/fetch-damaged.log" 2>&1 ||
    { cat "$work/fetch-damaged.log"; fail "fetch of film.bin, damaged in the running daemon's cache, failed"; }
  [ "$(sha256_of "$folder/film.bin")" = "$(sha256_of "$work/content/film.bin")" ] ||
    fail "fetch said film.bin complete while its cached copy is still damaged: $(cat "$work/fetch-damaged.log")"
  echo "damaged in a running daemon's cache: a fetch checked every piece again and the damaged one was fetched again"

  # Cut short and deleted while the daemon is stopped: checked again, never trusted.
  clip_folder=$(dirname "$(ls "$cache"/content/*/clip.bin)")
  stop_daemon
  truncate -s 6000000 "$folder/film.bin"
  rm -f "$clip_folder/clip.bin"
  start_daemon
  seen_incomplete=""
  for _ in $(seq 1 30); do
    state=$(item_json film.bin | jq -c '[.complete, .bytes_done]')
    case "$state" in "[false,"*) seen_incomplete=yes; break ;; esac
    sleep 0.1
  done
  [ -n "$seen_incomplete" ] || fail "film.bin, cut short while the daemon was stopped, was reported complete: $state"
  for _ in $(seq 1 30); do [ -e "$folder/film.bin.part" ] && break; sleep 0.1; done
  [ -e "$folder/film.bin.part" ] && [ ! -e "$folder/film.bin" ] ||
    fail "film.bin, found cut short at the start, kept its final name while unverified: $(ls "$folder")"
  [ "$(item_json clip.bin | jq .complete)" = false ] || fail "clip.bin, deleted while the daemon was stopped, was reported complete"
  grep -q "cache: $clip_folder/clip.bin is not on disk: .* of clip.bin is fetched again" "$work/daemon.log" ||
    fail "the start-up check did not say that clip.bin was gone"
  for _ in $(seq 1 300); do
    [ "$(item_json film.bin | jq .complete)" = true ] && [ "$(item_json clip.bin | jq .complete)" = true ] && break
    sleep 0.1
  done
  [ "$(sha256_of "$folder/film.bin")" = "$(sha256_of "$work/content/film.bin")" ] || fail "film.bin was not fetched again whole after it was cut"
  [ "$(sha256_of "$clip_folder/clip.bin")" = "$(sha256_of "$work/content/clip.bin")" ] || fail "clip.bin was not fetched again after it was deleted"
  echo "restart: a file cut short and a file deleted were checked, reported incomplete, and fetched again"

  # Origin deference never makes a download slower: the daemon holds film.bin but uploads at
  # 100 kB/s; a fetch alone on the same network keeps the origin while the near seed proves
  # itself beside it, which one that slow never does: the origin is never left alone. The same
  # fetch with deference off runs beside it for comparison (the times are printed, not judged:
  # shared machines are noisy).
  "$peer_binary" limits --cache "$cache" --upload-limit-kb 100 > /dev/null || fail "limits --upload-limit-kb failed"
  for mode in on off; do
    extra=()
    [ "$mode" = off ] && extra=(--defer-origin-at 0)
    rm -rf "$work/alone"
    "$peer_binary" fetch "$film" --no-daemon -o "$work/alone" --listen-bittorrent 127.10.0.8:7001 --no-progress -v "${extra[@]}" \
      --report "$work/alone-$mode.json" > "$work/alone-$mode.log" 2>&1 || { show_logs; fail "the fetch beside a slow near seed (deference $mode) failed"; }
    [ "$(sha256_of "$work/alone/film.bin")" = "$(sha256_of "$work/content/film.bin")" ] || fail "film.bin fetched alone (deference $mode) is wrong"
    echo "beside a near seed capped at 100 kB/s, deference $mode: origin $(jq .downloaded.origin "$work/alone-$mode.json") bytes," \
      "near $(jq .downloaded.near "$work/alone-$mode.json") bytes, in $(jq .seconds_to_complete "$work/alone-$mode.json") s"
  done
  grep -q "film.bin: complete" "$work/alone-on.log" || fail "the fetch beside a slow near seed logged no completion"
  ! grep -q "leaving the origin alone" "$work/alone-on.log" ||
    fail "a near seed sending 100 kB/s held the origin off: $(grep -E 'origin' "$work/alone-on.log" | head -5)"
  origin=$(jq .downloaded.origin "$work/alone-on.json")
  [ "$origin" -gt 6000000 ] || fail "the origin sent only $origin of 12 MB beside a near seed capped at 100 kB/s"
  # Uncapped, the near seed next door carries the item: at least two thirds of it. (The origin
  # is let in until the near seed has proved itself beside it, half a second; on a loaded
  # machine the near seed's first blocks come late and the origin sent up to 30%.)
  "$peer_binary" limits --cache "$cache" --upload-limit-kb 0 > /dev/null || fail "limits --upload-limit-kb 0 failed"
  rm -rf "$work/alone"
  "$peer_binary" fetch "$film" --no-daemon -o "$work/alone" --listen-bittorrent 127.10.0.8:7001 --no-progress -v \
    --report "$work/alone-fast.json" > "$work/alone-fast.log" 2>&1 || { show_logs; fail "the fetch beside a fast near seed failed"; }
  near=$(jq .downloaded.near "$work/alone-fast.json")
  echo "beside an uncapped near seed: origin $(jq .downloaded.origin "$work/alone-fast.json") bytes, near $near bytes, in $(jq .seconds_to_complete "$work/alone-fast.json") s"
  [ "$near" -ge "$((2 * $(jq .downloaded.origin "$work/alone-fast.json")))" ] ||
    fail "an uncapped near seed next door sent only $near of 12 MB, less than twice the origin's"
  "$peer_binary" limits --cache "$cache" --upload-limit-kb 100 > /dev/null || fail "limits --upload-limit-kb failed"
  # The same with no origin seeder in the swarm (a tracker may leave it out of an answer that
  # names a near seed; here the origin serves over HTTP only): the origin is its web seed,
  # called in once the near seed has had half a second to prove itself, not a minute at 100 kB/s.
  kill -TERM "$seeder_pid"; wait "$seeder_pid" 2> /dev/null || true
  rm -f "$work/seeder.ports"
  "$seeder_binary" serve "${seeder_flags[@]}" --no-bittorrent --port-file "$work/seeder.ports" > "$work/seeder-http.log" 2>&1 &
  seeder_pid=$!
  pids+=($!)
  wait_for_port_file "$work/seeder.ports" nearcast-seeder
  "$peer_binary" fetch "$film" --no-daemon -o "$work/alone-http" --listen-bittorrent 127.10.0.8:7001 --no-progress -v \
    --report "$work/alone-http.json" > "$work/alone-http.log" 2>&1 || { show_logs; fail "the fetch beside a slow near seed, origin over HTTP only, failed"; }
  [ "$(sha256_of "$work/alone-http/film.bin")" = "$(sha256_of "$work/content/film.bin")" ] || fail "film.bin fetched beside a slow near seed over HTTP is wrong"
  grep -q "no origin seeder in the swarm: calling in the origin's web seed" "$work/alone-http.log" ||
    { grep -v "peer classes" "$work/alone-http.log" | head -40 >&2
      fail "with no origin seeder in the swarm the web seed was not called in: $(grep -E 'origin|web seed' "$work/alone-http.log" | head -5)"; }
  origin=$(jq .downloaded.origin "$work/alone-http.json")
  echo "beside a near seed capped at 100 kB/s, the origin over HTTP only: origin $origin bytes, near $(jq .downloaded.near "$work/alone-http.json") bytes, in $(jq .seconds_to_complete "$work/alone-http.json") s"
  [ "$origin" -gt 6000000 ] || fail "the web seed sent only $origin of 12 MB beside a near seed capped at 100 kB/s"
  stop_daemon
  # Restarted with a quota smaller than an item it holds: asked for it, the daemon refuses it as
  # it would a new one (it once said "complete" and evicted it seconds later).
  start_daemon 10
  rc=0; "$peer_binary" fetch "$film" --cache "$cache" --no-progress > "$work/shrunk.log" 2>&1 || rc=$?
  [ "$rc" = 2 ] && grep -q "film.bin (12.0 MB) is larger than the cache's quota of 10.0 MB" "$work/shrunk.log" ||
    fail "a held item larger than a new, smaller quota was not refused (status $rc): $(cat "$work/shrunk.log")"
  grep -q "complete" "$work/shrunk.log" && fail "a held item larger than the quota was reported complete: $(cat "$work/shrunk.log")"
  echo "quota made smaller than a held item: the item is refused when asked for, not reported complete"
  stop_daemon
  ;;
remote)
  random_file "$work/content/alpha.bin" 2000000
  random_file "$work/content/beta.bin" 2000000
  alpha=$(publish "$work/content/alpha.bin")
  beta=$(publish "$work/content/beta.bin")
  mkdir -p "$work/content/one" "$work/content/two"
  random_file "$work/content/one/twin.bin" 1000000
  random_file "$work/content/two/twin.bin" 1000000
  twin_one=$(publish "$work/content/one/twin.bin")
  twin_two=$(publish "$work/content/two/twin.bin")
  start_seeder 0
  cache="$work/cache"
  # The user's own config file names the cache and the daemon's address: no command below
  # gives --cache.
  export XDG_CONFIG_HOME="$work/config"
  mkdir -p "$XDG_CONFIG_HOME/nearcast"
  printf 'cache = %s\nlisten-bittorrent = 127.10.0.7:7000\nquota-mb = 50\n' "$cache" > "$XDG_CONFIG_HOME/nearcast/peer.conf"
  remote() { "$peer_binary" "$@"; }
  remote list > "$work/nodaemon.out" 2> "$work/nodaemon.err" && fail "list with no daemon running exited 0"
  grep -q "no daemon runs for the cache $cache" "$work/nodaemon.err" || fail "list with no daemon did not say so: $(cat "$work/nodaemon.err")"
  # open: no daemon runs, so one is started (with the user's config), and it takes the item.
  remote open "$alpha" > "$work/open.out" 2> "$work/open.err" || { cat "$work/open.err"; fail "open did not start a daemon"; }
  [ -s "$cache/control.json" ] || fail "open started no daemon for $cache"
  daemon_pid=$(pgrep -f "nearcast-peer daemon --cache $cache" | head -n 1)
  [ -n "$daemon_pid" ] && pids+=("$daemon_pid")
  grep -q "^added " "$work/open.out" || fail "open did not say it added the item: $(cat "$work/open.out")"
  [ "$(curl -sf -H "Authorization: Bearer $(jq -r .token "$cache/control.json")" "$(jq -r .url "$cache/control.json")/status" | jq .quota)" = 50000000 ] ||
    fail "the daemon open started did not take quota-mb from peer.conf"
  remote open "$beta" > /dev/null || fail "open of a second item failed"
  for _ in $(seq 1 100); do
    [ "$(remote list --json | jq '[.[] | select(.complete)] | length')" = 2 ] && break
    sleep 0.1
  done
  remote list > "$work/list.out" || fail "list failed"
  cat "$work/list.out"
  head -n 1 "$work/list.out" | grep -q "^ID .*DONE.*SIZE.*RATE.*ETA.*STATE.*NAME" || fail "list has no header"
  grep -q "100.0%.*done.*seeding.*alpha.bin" "$work/list.out" || fail "list does not show alpha.bin done"
  grep -q "^2 items" "$work/list.out" || fail "list does not sum up two items"
  alpha_id=$(remote list --json | jq -r '.[] | select(.name == "alpha.bin") | .id')
  remote status "${alpha_id:0:8}" > "$work/status.out" || fail "status by the id's start failed"
  grep -q "^Name: *alpha.bin" "$work/status.out" && grep -q "^Progress: *100.0%" "$work/status.out" || fail "status: $(cat "$work/status.out")"
  [ "$(remote status alpha.bin --json | jq -r .id)" = "$alpha_id" ] || fail "status by name gave another item"
  remote status "${alpha_id:0:8}" --json | jq -e '.complete == true' > /dev/null || fail "status --json is not the item's JSON"
  rc=0; remote status nosuchitem 2> "$work/unknown.err" || rc=$?; [ "$rc" = 2 ] || fail "status of an unknown item did not exit 2"
  grep -q "no item 'nosuchitem' in the daemon" "$work/unknown.err" || fail "an unknown item was not named: $(cat "$work/unknown.err")"
  # The shortest start of alpha's id that beta's does not share, in capitals, names alpha.
  beta_id=$(remote list --json | jq -r '.[] | select(.name == "beta.bin") | .id')
  n=1; while [ "${alpha_id:0:$n}" = "${beta_id:0:$n}" ]; do n=$((n + 1)); done
  [ "$(remote status "$(printf %s "${alpha_id:0:$n}" | tr a-f A-F)" --json | jq -r .id)" = "$alpha_id" ] ||
    fail "status by the first $n characters of the id, in capitals, did not find alpha.bin"
  # A start both share is refused, naming both.
  if [ "$n" -gt 1 ]; then
    rc=0; remote status "${alpha_id:0:$((n - 1))}" 2> "$work/both.err" || rc=$?
    [ "$rc" = 2 ] && grep -q "names 2 items" "$work/both.err" || fail "an id start both items share was taken: $(cat "$work/both.err")"
  fi
  # A typo among good ids changes nothing.
  remote pause alpha.bin nosuchitem > /dev/null 2>&1 && fail "pause with an unknown id exited 0"
  [ "$(remote status alpha.bin --json | jq -r .state)" = seeding ] || fail "a pause with an unknown id among the ids paused the good one"
  remote pause alpha.bin beta.bin | grep -c "^paused" | grep -q 2 || fail "pause of two items did not say so twice"
  [ "$(remote list --json | jq -r '[.[].state] | unique | join(",")')" = paused ] || fail "pause did not pause both"
  remote resume alpha.bin beta.bin --json | jq -e 'length == 2' > /dev/null || fail "resume --json did not answer for two items"
  [ "$(remote status beta.bin --json | jq -r .state)" != paused ] || fail "resume did not resume"
  # limits: shown, changed, kept; a config file's limits are not changes.
  remote limits | grep -q "^Uploading: *on" || fail "limits does not show uploading on"
  remote limits --upload-limit-kb 250 --uploading off > "$work/limits.out" || fail "limits with changes failed"
  grep -q "^Uploading: *off" "$work/limits.out" && grep -q "^Upload limit: *250 kB/s" "$work/limits.out" || fail "limits: $(cat "$work/limits.out")"
  [ "$(remote limits --json | jq .upload_limit)" = 250000 ] || fail "limits --json does not show the new limit"
  rc=0; remote limits --uploading maybe 2> /dev/null || rc=$?; [ "$rc" = 2 ] || fail "--uploading maybe was not refused with exit 2"
  rc=0; remote list --quota-mb 5 2> "$work/flag.err" || rc=$?; [ "$rc" = 2 ] || fail "list --quota-mb was not refused"
  grep -q "list does not take --quota-mb (see nearcast-peer list --help)" "$work/flag.err" || fail "list --quota-mb: $(cat "$work/flag.err")"
  remote limits --reset | grep -q "^Uploading: *on" || fail "limits --reset did not restore uploading"
  grep -q "keep-data" <<< "$(remote remove --help)" || fail "remove --help does not show --keep-data"
  rc=0; remote fetch "$alpha" --json 2> "$work/flag2.err" || rc=$?; [ "$rc" = 2 ] || fail "fetch --json was not refused"
  grep -q "fetch does not take --json" "$work/flag2.err" || fail "fetch --json: $(cat "$work/flag2.err")"
  # remove --keep-data keeps the files; remove deletes them.
  alpha_file="$cache/content/$alpha_id/alpha.bin"
  beta_id=$(remote status beta.bin --json | jq -r .id)
  beta_file="$cache/content/$beta_id/beta.bin"
  remote remove alpha.bin --keep-data | grep -q "removed (its files are kept)" || fail "remove --keep-data did not say so"
  [ -f "$alpha_file" ] || fail "remove --keep-data deleted $alpha_file"
  remote remove beta.bin | grep -q "removed with its files" || fail "remove did not say so"
  for _ in $(seq 1 50); do [ ! -e "$beta_file" ] && break; sleep 0.1; done
  [ ! -e "$beta_file" ] || fail "remove kept $beta_file"
  for _ in $(seq 1 80); do [ ! -e "$cache/content/$beta_id" ] && break; sleep 0.1; done
  [ ! -e "$cache/content/$beta_id" ] || fail "remove left the empty folder $cache/content/$beta_id"
  [ "$(remote list --json | jq length)" = 0 ] || fail "the removed items are still listed"
  # The files remove --keep-data kept still take room in the cache: list says how much.
  for _ in $(seq 1 80); do remote list | grep -q "in files of no item: kept by remove --keep-data" && break; sleep 0.1; done
  remote list | grep -q "cache .* ([0-9.]* [kM]B in files of no item: kept by remove --keep-data, or put there by hand)" ||
    fail "list does not say what the kept files of a removed item take: $(remote list)"
  echo "remote: list, status, pause, resume, limits, remove with and without the files all work; bad ids exit 2"
  # Two items of one name: the name alone is ambiguous, refused naming both, nothing changed.
  remote open "$twin_one" > /dev/null && remote open "$twin_two" > /dev/null || fail "open of the twins failed"
  for _ in $(seq 1 100); do [ "$(remote list --json | jq '[.[] | select(.complete)] | length')" = 2 ] && break; sleep 0.1; done
  rc=0; remote pause twin.bin 2> "$work/twin.err" || rc=$?
  [ "$rc" = 2 ] && grep -q "'twin.bin' names 2 items" "$work/twin.err" || fail "pause of a name two items share was not refused (status $rc): $(cat "$work/twin.err")"
  [ "$(remote list --json | jq -r '[.[].state] | unique | join(",")')" = seeding ] || fail "a refused pause of twin.bin paused one of them"
  rc=0; remote remove twin.bin > /dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] && [ "$(remote list --json | jq length)" = 2 ] || fail "remove of a name two items share removed one (status $rc)"
  remote remove "$(remote list --json | jq -r '.[0].id')" "$(remote list --json | jq -r '.[1].id')" > /dev/null || fail "remove of the twins by id failed"
  echo "remote: a name two items share is refused, naming both; nothing paused or removed"
  # Paused and resumed part-way: the rate goes on from before the pause. (libtorrent's payload
  # counter starts again at a resume; the rate once read 0 B/s there beside a finite ETA.)
  random_file "$work/content/gamma.bin" 4000000
  gamma=$(publish "$work/content/gamma.bin")
  remote limits --download-limit-kb 400 > /dev/null || fail "limits --download-limit-kb 400 failed"
  remote open "$gamma" > /dev/null || fail "open of gamma.bin failed"
  for _ in $(seq 1 100); do [ "$(remote status gamma.bin --json 2> /dev/null | jq '.bytes_done // 0')" -gt 1000000 ] && break; sleep 0.1; done
  remote pause gamma.bin > /dev/null || fail "pause of gamma.bin failed"
  sleep 1
  remote resume gamma.bin > /dev/null || fail "resume of gamma.bin failed"
  samples=0
  for _ in $(seq 1 8); do
    remote status gamma.bin --json > "$work/gamma.json"
    if jq -e '.state == "downloading" and .eta > 0' "$work/gamma.json" > /dev/null; then
      samples=$((samples + 1))
      jq -e '.rate > 0' "$work/gamma.json" > /dev/null || fail "after a resume the rate reads 0 beside an ETA: $(cat "$work/gamma.json")"
    fi
    sleep 0.2
  done
  [ "$samples" -gt 0 ] || fail "gamma.bin was never seen downloading after its resume (held to 400 kB/s)"
  remote limits --reset > /dev/null || fail "limits --reset failed"
  for _ in $(seq 1 100); do [ "$(remote status gamma.bin --json | jq .complete)" = true ] && break; sleep 0.1; done
  remote remove gamma.bin > /dev/null || fail "remove of gamma.bin failed"
  echo "remote: paused and resumed part-way, the rate goes on ($samples samples downloading, none at 0 B/s with an ETA)"
  # An item larger than the whole quota (50 MB from peer.conf) is refused, not half-fetched.
  random_file "$work/content/huge.bin" 60000000
  huge=$(publish "$work/content/huge.bin")
  huge_magnet=$(cut -f5 "$work/publish.out")
  rc=0; remote open "$huge" 2> "$work/huge.err" || rc=$?
  [ "$rc" = 2 ] || fail "an item larger than the quota was not refused with exit 2 (status $rc)"
  grep -q "the daemon refused: huge.bin (60.0 MB) is larger than the cache's quota of 50.0 MB" "$work/huge.err" ||
    fail "the quota refusal does not say why: $(cat "$work/huge.err")"
  [ "$(remote list --json | jq length)" = 0 ] || fail "a refused item is listed"
  rc=0; "$peer_binary" fetch "$huge" -o "$work/huge" --no-progress 2> "$work/huge-fetch.err" || rc=$?
  [ "$rc" = 2 ] && grep -q "larger than the cache's quota.*--no-daemon -o DIR fetches it without the daemon's cache" "$work/huge-fetch.err" ||
    fail "fetch of an item over the daemon's quota did not point to --no-daemon (status $rc): $(cat "$work/huge-fetch.err")"
  [ ! -e "$work/huge" ] || fail "a fetch the daemon refused left its -o folder behind"
  # -o naming a file, not a folder: refused before the daemon is asked for anything (it once
  # came after the whole download; here the quota refusal would come first).
  touch "$work/not-a-folder"
  rc=0; "$peer_binary" fetch "$huge" -o "$work/not-a-folder" --no-progress 2> "$work/not-a-folder.err" || rc=$?
  [ "$rc" = 2 ] && grep -q "not-a-folder: cannot create the output folder" "$work/not-a-folder.err" ||
    fail "fetch -o FILE through the daemon was not refused first (status $rc): $(cat "$work/not-a-folder.err")"
  echo "fetch -o FILE through the daemon: refused before the daemon is asked"
  echo "quota: an item larger than the quota is refused, saying so (fetch points to --no-daemon)"
  # As a magnet link its size is known only with its metadata: then it stops there, says why,
  # and evicts nothing it could never make room for.
  remote open "$beta" > /dev/null || fail "open of beta.bin again failed"
  for _ in $(seq 1 100); do [ "$(remote status beta.bin --json | jq .complete)" = true ] && break; sleep 0.1; done
  remote open "$huge_magnet" > /dev/null || fail "open of the huge item's magnet link failed"
  for _ in $(seq 1 100); do remote status huge.bin --json 2> /dev/null | jq -e '.state == "error"' > /dev/null && break; sleep 0.1; done
  remote status huge.bin --json | jq -r .error | grep -q "huge.bin (60.0 MB) is larger than the cache's quota of 50.0 MB" ||
    fail "a magnet item larger than the quota is not refused: $(remote status huge.bin --json 2>&1 | head -c 400)"
  [ "$(remote status beta.bin --json | jq .complete)" = true ] || fail "a magnet item larger than the quota evicted beta.bin"
  [ "$(remote status huge.bin --json | jq .bytes_done)" -lt 10000000 ] || fail "a refused magnet item went on downloading"
  rc=0; remote resume huge.bin > /dev/null 2>&1 || rc=$?; [ "$rc" != 0 ] || fail "a refused magnet item was resumed"
  echo "quota: a magnet item found larger than the quota stops at its metadata, says why, and evicts nothing"
  kill -TERM "$daemon_pid"
  for _ in $(seq 1 50); do kill -0 "$daemon_pid" 2> /dev/null || break; sleep 0.1; done
  ;;
esac
echo "PASS ($scenario)"
