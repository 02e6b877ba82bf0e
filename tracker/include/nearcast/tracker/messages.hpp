// What trackers and clients say to each other, independent of HTTP or UDP.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nearcast/proximity/address.hpp"

namespace nearcast::tracker {

using info_hash = std::array<std::uint8_t, 20>;
using peer_id = std::array<std::uint8_t, 20>;

// Numbered as in BEP 15.
enum class announce_event : std::uint8_t { none = 0, completed = 1, started = 2, stopped = 3 };

struct endpoint {
    proximity::ip_address address;
    std::uint16_t port = 0;
    auto operator<=>(const endpoint&) const = default;
};

struct announce_request {
    info_hash hash{};
    peer_id id{};
    std::uint16_t port = 0;
    std::uint64_t uploaded = 0;
    std::uint64_t downloaded = 0;
    std::uint64_t left = 0;
    announce_event event = announce_event::none;
    std::optional<std::uint32_t> numwant;              // absent: the tracker's default
    std::optional<std::uint32_t> key;                  // the `key` parameter, as a number
    std::optional<proximity::ip_address> claimed_ip;   // the `ip` parameter; trusted proxies only
    std::string access_token;                          // closed mode: from the announce path
    // `cache_fill=1` in the announce URL: a supernode filling its cache, not a viewer (ours
    // only; other clients never send it). What a CDN would not have sent.
    bool cache_fill = false;
    bool seed() const { return left == 0; }
};

struct announce_response {
    std::uint32_t interval = 1800;
    std::uint32_t min_interval = 900;
    std::uint32_t complete = 0;    // seeders
    std::uint32_t incomplete = 0;  // leechers
    std::vector<endpoint> peers;   // IPv4 and IPv6 mixed; encoders split them (BEP 23, BEP 7)
    std::string warning;           // "warning message" when not empty
    bool supernode = false;        // "nearcast supernode": the announcing peer is one (others ignore the key)
};

struct scrape_request {
    std::vector<info_hash> hashes;  // empty: all swarms (HTTP only, if allowed)
    std::string access_token;
};

struct scrape_entry {
    info_hash hash{};
    std::uint32_t complete = 0;
    std::uint32_t downloaded = 0;  // completed downloads seen
    std::uint32_t incomplete = 0;
};

struct scrape_response {
    std::vector<scrape_entry> files;
};

// A refusal: becomes "failure reason" (HTTP) or an error packet (UDP).
struct tracker_failure {
    std::string reason;
};

}  // namespace nearcast::tracker
