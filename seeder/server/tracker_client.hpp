// What the seeder says to trackers: "I am an origin for these items" (POST /origins).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nearcast/seeder/catalogue.hpp"

namespace nearcast::seeder::server {

struct http_reply {
    unsigned status = 0;
    std::string body;
};

// One blocking HTTP/1.1 request to `base` ("http://host:port") with a deadline; throws
// std::runtime_error naming the URL when it cannot connect or the deadline passes.
http_reply http_request(const std::string& method, const std::string& base, const std::string& target,
                        const std::string& body, const std::string& bearer, std::chrono::milliseconds deadline);

// The JSON body of a registration: this seeder, where its BitTorrent port is, its items, and
// the bytes it served so far (HTTP and BitTorrent), from which trackers show the origin offload.
std::string registration_body(const std::string& name, const std::string& bittorrent_endpoint,
                              const std::vector<catalogue_item>& items, std::uint64_t served_bytes);

struct swarm_count {
    std::uint32_t seeds = 0;
    std::uint32_t leechers = 0;
};

// Scrapes (BEP 48) the tracker at `base` for these v1 hashes, 100 a request; hashes the
// tracker does not know are left out. Throws std::runtime_error naming the URL on failure.
std::map<std::string, swarm_count> scrape(const std::string& base, const std::vector<std::string>& v1_hexes,
                                          std::chrono::milliseconds deadline);

}  // namespace nearcast::seeder::server
