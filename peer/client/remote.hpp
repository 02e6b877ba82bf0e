// The remote: commands that drive the daemon running for a cache (list, status, pause, resume,
// remove, limits, open). Returns the exit status: 0 done, 1 no daemon or the daemon refused,
// 2 bad input (an unknown or ambiguous ID, an unreadable ITEM).
#pragma once

#include "control_api.hpp"
#include "options.hpp"

namespace nearcast::peer::client {

// The daemon that runs for options.cache; std::runtime_error (exit status 1) saying how to
// start one when none answers.
daemon_address running_daemon(const peer_options& options);

int remote_command(const peer_options& options, const remote_options& remote);

}  // namespace nearcast::peer::client
