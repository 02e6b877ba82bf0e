// One HTTP(S) GET with a deadline over connect, handshake, write and read: how the peer takes
// a .torrent from a URL and a proximity snapshot from a tracker.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace nearcast::peer::client {

struct fetch_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// RFC 3986 percent-encoding of everything but the unreserved characters (a path segment, a
// query value).
std::string percent_encode(const std::string& text);

// The body of a 200 answer; anything else (a refused connection, a timeout, a 404, a body
// larger than `max_bytes`) throws fetch_error naming the URL and what went wrong.
std::string http_get(const std::string& url, std::chrono::milliseconds deadline, std::uint64_t max_bytes);

// Any method, with extra header fields and a body; the body of a 2xx answer, else fetch_error
// with the status and what the server said. A `source` address (not empty) is the one the
// connection leaves from: a daemon bound to one address reports to the tracker from it.
std::string http_request(const std::string& method, const std::string& url,
                         const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
                         std::chrono::milliseconds deadline, std::uint64_t max_bytes = 64 * 1024 * 1024,
                         const std::string& source = {});

}  // namespace nearcast::peer::client
