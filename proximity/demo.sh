#!/bin/sh
# `make demo` until the end-to-end demo lands: the proximity engine on the data we carry.
# Usage: proximity/demo.sh BUILD_DIR
set -eu
build="${1:-build}"
prox="$build/proximity/nearcast-prox"
snapshot="$build/data/default.ncprox"

section() { printf '\n== %s\n' "$1"; }

section "The embedded default routing data (proximity/data/SOURCES.md), compiled to $snapshot"
"$prox" stats --data "$snapshot"

section "Where are these addresses? (address, BGP prefix, origin AS)"
"$prox" lookup --data "$snapshot" 8.8.8.8 1.0.0.1 4.2.2.2 13.107.42.14 193.0.6.139 208.67.222.222 \
  127.10.0.5 127.30.0.9 2001:4860:4860::8888 2606:4700:4700::1111 2001:db8::1

section "How near are they? (nearest first: same-subnet, same-prefix, same-as, adjacent-as, N AS hops, unknown)"
for pair in "127.10.0.5 127.10.0.77" "127.10.0.5 127.10.9.1" "127.10.0.5 127.11.0.1" \
            "127.10.0.5 127.20.0.1" "127.10.0.5 127.40.0.1" "8.8.8.8 1.0.0.1" "1.0.0.1 4.2.2.2" "2001:4860:4860::8888 8.8.8.8"; do
  # shellcheck disable=SC2086
  "$prox" distance --data "$snapshot" $pair | sed -n '3s/^distance\t/  '"$(echo $pair | sed 's/ / -> /')"': /p'
done

section "Next: nearcast-prox --help; make test; make bench"
