// What the seeder says to trackers: "I am an origin for these items" (POST /origins).
#pragma once

#include <chrono>
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

// The JSON body of a registration: this seeder, where its BitTorrent port is, and its items.
std::string registration_body(const std::string& name, const std::string& bittorrent_endpoint,
                              const std::vector<catalogue_item>& items);

}  // namespace nearcast::seeder::server
