# What the edges scripts share: the five tools of the build folder given as the first argument,
# `here` (this folder), and interop/common.sh's work folder, cleanup and loopback-only network
# namespace. Set `scenario`, then source it with the script's arguments:
#   . "$(dirname "$0")/tools.sh" "$@"
# shellcheck shell=bash disable=SC2034
build="$1"
prox="$build/proximity/nearcast-prox"
tracker="$build/tracker/nearcast-tracker"
seeder="$build/seeder/nearcast-seeder"
peer="$build/peer/nearcast-peer"
sim="$build/sim/nearcast-sim"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../interop/common.sh
. "$here/../interop/common.sh"
enter_loopback_namespace "$0" "$@"
