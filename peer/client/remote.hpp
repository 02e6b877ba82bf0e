// The remote: commands that drive the daemon running for a cache (list, status, pause, resume,
// remove, limits, open). Returns the exit status: 0 done, 1 no daemon or the daemon refused,
// 2 bad input (an unknown or ambiguous ID, an unreadable ITEM).
#pragma once

#include "options.hpp"

namespace nearcast::peer::client {

int remote_command(const peer_options& options, const remote_options& remote);

}  // namespace nearcast::peer::client
