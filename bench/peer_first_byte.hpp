// Time to first byte, as a media player sees it: one HTTP/1.1 GET with `Range: bytes=0-` on a
// fresh connection, timed from the moment the request is sent until the answer's head and
// until its first body byte arrive. The first bytes of the body are compared with the file, so
// a server cannot win by answering quickly with the wrong bytes. The same client times the
// peer's local stream URL and the seeder's web seed, so both are timed the same way.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>

namespace nearcast::bench {

struct first_byte_probe {
    int status = 0;                    // 200 or 206 for a usable answer
    double connect_ms = std::nan("");  // before the clock starts; for information
    double head_ms = std::nan("");     // request sent -> the end of the answer's head
    double body_ms = std::nan("");     // request sent -> the first body byte
    std::size_t compared = 0;          // body bytes compared with the file
    std::string error;                 // set when the answer is unusable

    bool usable() const { return error.empty(); }
};

// "http://127.0.0.1:41007/big.bin" -> the endpoint and "/big.bin"; IPv4 loopback only (the
// benchmark sends nothing off the machine), nullopt otherwise.
struct http_url {
    sockaddr_in server{};
    std::string target;
};
std::optional<http_url> parse_loopback_url(const std::string& url);

// `expected_start` holds the file's first bytes; as many of them as arrive within `limit` are
// compared (the probe reads no further than that).
first_byte_probe probe_first_byte(const sockaddr_in& server, const std::string& target, std::string_view expected_start,
                                  std::chrono::milliseconds limit);

}  // namespace nearcast::bench
