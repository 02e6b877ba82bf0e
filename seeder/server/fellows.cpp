#include "fellows.hpp"

#include <nlohmann/json.hpp>

#include "nearcast/seeder/torrent_maker.hpp"
#include "tracker_client.hpp"

namespace nearcast::seeder::server {

using json = nlohmann::json;

std::string catalogue_json(const std::string& name, const std::string& bittorrent_endpoint,
                           const std::vector<catalogue_item>& items) {
    json list = json::array();
    for (const auto& item : items) {
        list.push_back({{"v1", item.v1_hex}, {"v2", item.v2_hex}, {"name", item.name}, {"size", item.total_size},
                        {"complete", item.complete}});
    }
    return json{{"name", name}, {"bittorrent", bittorrent_endpoint}, {"items", std::move(list)}}.dump() + "\n";
}

std::vector<fellow_view> look_at_fellows(const std::vector<std::pair<std::string, std::string>>& fellows,
                                         std::chrono::milliseconds deadline) {
    std::vector<fellow_view> views;
    for (const auto& [name, base] : fellows) {
        fellow_view view{name, base, false, {}, {}, {}};
        try {
            const auto reply = http_request("GET", base, "/catalogue", "", "", deadline);
            if (reply.status != 200) throw std::runtime_error("GET /catalogue answered " + std::to_string(reply.status));
            const json document = json::parse(reply.body);
            if (document.value("name", "") != name) {
                throw std::runtime_error("it calls itself '" + document.value("name", "") + "', not '" + name + "'");
            }
            view.bittorrent = document.value("bittorrent", "");
            for (const auto& item : document.at("items")) {
                if (item.value("complete", false)) view.complete.insert(item.at("v1").get<std::string>());
            }
            view.reachable = true;
        } catch (const std::exception& error) {
            view.problem = error.what();
        }
        views.push_back(std::move(view));
    }
    return views;
}

catalogue_item replica_item(const std::string& v1_hex, const std::vector<fellow_view>& sources,
                            const std::filesystem::path& content_dir, const std::string& self) {
    std::string problems;
    for (const auto& fellow : sources) {
        if (!fellow.reachable) continue;
        try {
            const auto reply = http_request("GET", fellow.base, "/torrents/" + v1_hex, "", "", std::chrono::seconds(10));
            if (reply.status != 200) throw std::runtime_error("GET /torrents/" + v1_hex + " answered " + std::to_string(reply.status));
            catalogue_item item = item_from_torrent(std::vector<char>(reply.body.begin(), reply.body.end()), content_dir);
            // Never trust a fellow's word for the hash: the torrent must be the one asked for.
            if (item.v1_hex != v1_hex) throw std::runtime_error("its torrent has info hash " + item.v1_hex);
            item.complete = false;
            item.holders = {self};
            return item;
        } catch (const std::exception& error) {
            problems += fellow.name + ": " + error.what() + "; ";
        }
    }
    throw std::runtime_error("no fellow seeder gave the torrent of " + v1_hex + (problems.empty() ? "" : " (" + problems + ")"));
}

}  // namespace nearcast::seeder::server
