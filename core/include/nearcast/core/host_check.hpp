// DNS rebinding: a web page can make a browser send requests to a loopback server under a name
// the attacker controls. A local server therefore answers only requests whose Host (and Origin,
// when the browser sends one) is an IP address literal or "localhost": a rebound name is
// neither. The port, when given, must be the server's own.
#pragma once

#include <cstdint>
#include <string_view>

namespace nearcast::core {

// True for "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (and without the port, for the
// default port of http) when `port` matches; false for a DNS name, 0.0.0.0 or [::], an empty
// header or garbage.
bool host_is_local(std::string_view host, std::uint16_t port);

// The same for an Origin header ("http://127.0.0.1:8080"); an absent Origin is fine.
bool origin_is_local(std::string_view origin, std::uint16_t port);

}  // namespace nearcast::core
