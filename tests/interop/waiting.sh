# Waiting for a server, shared by the tests and the demo (demo/run.sh). Source it.

# Waits until `curl URL` prints something matching the extended regex, at most SECONDS;
# looks five times a second, so a short-lived state is seen too.
wait_for_http() {  # URL REGEX SECONDS
  local _
  for _ in $(seq 1 $(($3 * 5))); do
    curl -sf "$1" 2> /dev/null | tr -d ' \n' | grep -Eq "$2" && return 0
    sleep 0.2
  done
  return 1
}
