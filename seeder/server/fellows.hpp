// What seeders tell each other over HTTP: GET /catalogue (who I am, my BitTorrent endpoint,
// what I hold) and GET /torrents/<v1 hash> (an item's .torrent), so that a seeder can fetch
// a replica from a fellow instead of from the publisher.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nearcast/seeder/catalogue.hpp"

namespace nearcast::seeder::server {

struct fellow_view {
    std::string name;
    std::string base;                // http://host:port
    bool reachable = false;
    std::string problem;             // why not, when not
    std::string bittorrent;          // "ADDRESS:PORT", empty when it has none
    std::set<std::string> complete;  // v1 hashes it holds whole
};

// The JSON of GET /catalogue.
std::string catalogue_json(const std::string& name, const std::string& bittorrent_endpoint,
                           const std::vector<catalogue_item>& items);

// Asks every fellow for its catalogue; an unreachable fellow comes back with reachable=false.
std::vector<fellow_view> look_at_fellows(const std::vector<std::pair<std::string, std::string>>& fellows,
                                         std::chrono::milliseconds deadline);

// The catalogue item of a replica to fetch: the torrent from the first fellow that has it,
// content to land in `content_dir`, not yet complete. Throws std::runtime_error when no fellow
// gives a torrent with that hash.
catalogue_item replica_item(const std::string& v1_hex, const std::vector<fellow_view>& sources,
                            const std::filesystem::path& content_dir, const std::string& self);

}  // namespace nearcast::seeder::server
