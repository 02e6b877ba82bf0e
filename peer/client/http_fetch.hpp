// One HTTP(S) GET with a deadline over connect, handshake, write and read: how the peer takes
// a .torrent from a URL and a proximity snapshot from a tracker.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace nearcast::peer::client {

struct fetch_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The body of a 200 answer; anything else (a refused connection, a timeout, a 404, a body
// larger than `max_bytes`) throws fetch_error naming the URL and what went wrong.
std::string http_get(const std::string& url, std::chrono::milliseconds deadline, std::uint64_t max_bytes);

}  // namespace nearcast::peer::client
