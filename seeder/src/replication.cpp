#include "nearcast/seeder/replication.hpp"

#include <algorithm>

namespace nearcast::seeder {

std::uint64_t home_score(const std::string& seeder, const std::string& v1_hex) {
    // FNV-1a over "seeder NUL hash", then a 64-bit finalizer so that close names spread apart.
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    const auto mix = [&](unsigned char byte) {
        hash ^= byte;
        hash *= 0x100000001b3ULL;
    };
    for (const char c : seeder) mix(static_cast<unsigned char>(c));
    mix(0);
    for (const char c : v1_hex) mix(static_cast<unsigned char>(c));
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    hash *= 0xc4ceb9fe1a85ec53ULL;
    hash ^= hash >> 33;
    return hash;
}

std::vector<std::string> homes_of(const std::string& v1_hex, const std::vector<std::string>& seeders, std::size_t replicas) {
    std::vector<std::pair<std::uint64_t, std::string>> ranked;
    for (const auto& seeder : seeders) ranked.emplace_back(home_score(seeder, v1_hex), seeder);
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    ranked.erase(std::unique(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second == b.second; }),
                 ranked.end());
    std::vector<std::string> homes;
    for (std::size_t i = 0; i < ranked.size() && i < replicas; ++i) homes.push_back(ranked[i].second);
    return homes;
}

std::vector<replica_fetch> replicas_to_fetch(const std::string& self, const std::set<std::string>& held,
                                             const std::vector<seeder_holdings>& fellows, std::size_t replicas) {
    std::vector<std::string> seeders{self};
    std::map<std::string, std::vector<std::string>> holders;  // item -> fellows holding it whole
    for (const auto& fellow : fellows) {
        if (fellow.name == self) continue;
        seeders.push_back(fellow.name);
        for (const auto& item : fellow.complete) holders[item].push_back(fellow.name);
    }
    std::vector<replica_fetch> fetches;
    for (auto& [item, sources] : holders) {
        if (held.count(item)) continue;
        const auto homes = homes_of(item, seeders, replicas);
        if (std::find(homes.begin(), homes.end(), self) == homes.end()) continue;
        // Homes first among the sources: they are the ones expected to keep it.
        std::stable_sort(sources.begin(), sources.end(), [&](const std::string& a, const std::string& b) {
            const bool a_home = std::find(homes.begin(), homes.end(), a) != homes.end();
            const bool b_home = std::find(homes.begin(), homes.end(), b) != homes.end();
            return a_home && !b_home;
        });
        fetches.push_back({item, sources});
    }
    return fetches;
}

}  // namespace nearcast::seeder
