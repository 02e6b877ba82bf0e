#include "nearcast/sim/topology.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

namespace nearcast::sim {

namespace {

constexpr std::uint32_t synthetic_first_asn = 4'200'000'000u;  // RFC 6996 private 32-bit ASNs
constexpr std::uint32_t synthetic_max_ases = 2000;

double prefix_size(const proximity::ip_prefix& prefix) { return std::ldexp(1.0, 32 - prefix.length); }

void finish_as(placed_as& as) {
    double total = 0;
    as.cumulative.clear();
    for (const auto& prefix : as.prefixes) {
        total += prefix_size(prefix);
        as.cumulative.push_back(total);
    }
}

std::vector<std::pair<std::uint32_t, double>> parse_table(const std::string& text) {
    std::vector<std::pair<std::uint32_t, double>> table;
    std::istringstream in(text);
    std::string entry;
    while (std::getline(in, entry, ',')) {
        const auto colon = entry.find(':');
        std::uint32_t asn = 0;
        double weight = 0;
        const bool ok = colon != std::string::npos &&
                        std::from_chars(entry.data(), entry.data() + colon, asn).ec == std::errc() &&
                        std::from_chars(entry.data() + colon + 1, entry.data() + entry.size(), weight).ec == std::errc();
        if (!ok || !std::isfinite(weight) || weight <= 0) {
            throw scenario_error("topology.placement: expected 'address_space' or ASN:WEIGHT,..., not '" + entry + "'");
        }
        table.emplace_back(asn, weight);
    }
    if (table.empty()) throw scenario_error("topology.placement: the table is empty");
    return table;
}

}  // namespace

proximity::routing_data synthetic_routing(std::uint32_t as_count) {
    proximity::routing_data data;
    // 240.0.0.0/4 is reserved and never routed: simulated addresses cannot be mistaken for real
    // ones. The largest ASes come first and every block is aligned to its size.
    std::uint64_t next = 0xF000'0000u;
    const std::uint32_t core = std::max<std::uint32_t>(3, as_count / 10);
    for (std::uint32_t i = 0; i < as_count; ++i) {
        // Sizes fall from a /12 for the largest to a /20 for the smallest.
        const auto length = static_cast<std::uint8_t>(12 + (8ull * i) / std::max<std::uint32_t>(as_count, 1));
        const std::uint64_t size = 1ull << (32 - length);
        next = (next + size - 1) / size * size;
        const std::uint32_t asn = synthetic_first_asn + i;
        // Two announced halves, so that "same prefix" is nearer than "same AS".
        for (std::uint64_t half = 0; half < 2; ++half) {
            const auto network = static_cast<std::uint32_t>(next + half * (size / 2));
            data.routes.push_back({{proximity::ip_address::v4(network), static_cast<std::uint8_t>(length + 1)}, {asn}});
        }
        next += size;
        data.as_names[asn] = "synthetic AS " + std::to_string(i);
    }
    const std::uint32_t cdn = synthetic_first_asn + as_count;
    next = (next + 0xffff) / 0x10000 * 0x10000;
    data.routes.push_back({{proximity::ip_address::v4(static_cast<std::uint32_t>(next)), 16}, {cdn}});
    data.as_names[cdn] = "synthetic CDN";

    const auto link = [&](std::uint32_t a, std::uint32_t b) {
        if (a != b) data.links.push_back({std::min(a, b), std::max(a, b)});
    };
    const std::uint32_t core_count = std::min(core, as_count);
    for (std::uint32_t a = 0; a < core_count; ++a) {
        for (std::uint32_t b = a + 1; b < core_count; ++b) link(synthetic_first_asn + a, synthetic_first_asn + b);
        link(cdn, synthetic_first_asn + a);
    }
    for (std::uint32_t i = core_count; i < as_count; ++i) {
        link(synthetic_first_asn + i, synthetic_first_asn + (i * 7) % core_count);
        link(synthetic_first_asn + i, synthetic_first_asn + (i * 13 + 1) % core_count);
        if (i % 3 == 0 && i + 1 < as_count) link(synthetic_first_asn + i, synthetic_first_asn + i + 1);  // regional peering
    }
    std::sort(data.links.begin(), data.links.end());
    data.links.erase(std::unique(data.links.begin(), data.links.end()), data.links.end());
    data.report.input = "synthetic";
    data.report.format = "synthetic";
    return data;
}

topology build_topology(const scenario& config) {
    topology world;
    if (config.topology == "synthetic") {
        if (config.as_count > synthetic_max_ases) {
            throw scenario_error("topology.as_count: the synthetic Internet has at most " +
                                 std::to_string(synthetic_max_ases) + " ASes");
        }
        std::vector<proximity::routing_data> sources;
        sources.push_back(synthetic_routing(config.as_count));
        world.routing = proximity::model::combine(std::move(sources));
        world.description = "synthetic Internet, " + std::to_string(config.as_count) + " ASes";
    } else {
        std::vector<std::string> paths;
        std::istringstream in(config.topology);
        std::string path;
        while (std::getline(in, path, ',')) {
            if (!path.empty()) paths.push_back(path);
        }
        try {
            world.routing = proximity::model::load(paths);
        } catch (const std::exception& error) {
            throw scenario_error("topology.source: " + std::string(error.what()));
        }
        world.description = config.topology;
    }

    // Address space per origin AS (IPv4; overlapping more-specifics counted twice, which only
    // nudges the weights), and each AS's prefixes.
    std::map<std::uint32_t, placed_as> by_asn;
    for (const auto& route : world.routing.prefixes().routes()) {
        if (!route.prefix.network.is_v4() || route.origins.empty() || route.prefix.length < 8) continue;
        auto& as = by_asn[route.origins.front()];
        as.asn = route.origins.front();
        as.weight += prefix_size(route.prefix);
        as.prefixes.push_back(route.prefix);
    }
    std::vector<placed_as> ranked;
    for (auto& [asn, as] : by_asn) ranked.push_back(std::move(as));
    std::stable_sort(ranked.begin(), ranked.end(), [](const placed_as& a, const placed_as& b) { return a.weight > b.weight; });

    if (config.topology == "synthetic") {
        // The synthetic CDN hosts the origin, wherever its size ranks it.
        const auto cdn = std::find_if(ranked.begin(), ranked.end(), [&](const placed_as& a) {
            return a.asn == synthetic_first_asn + config.as_count;
        });
        world.origin_asn = cdn->asn;
        world.origin_prefix = cdn->prefixes.front();
        ranked.erase(cdn);
    }
    if (config.placement == "address_space") {
        if (ranked.size() < 2) throw scenario_error(world.description + ": fewer than two ASes with IPv4 prefixes");
        // Without a CDN of its own, the largest AS after the peers' ASes hosts the origin.
        const std::size_t peer_ases = std::min<std::size_t>(config.as_count, ranked.size() - (world.origin_asn ? 0 : 1));
        world.ases.assign(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(peer_ases));
        if (!world.origin_asn) {
            world.origin_asn = ranked[peer_ases].asn;
            world.origin_prefix = ranked[peer_ases].prefixes.front();
        }
    } else {
        for (const auto& [asn, weight] : parse_table(config.placement)) {
            // Captured by copy: clang before 16 cannot capture a structured binding.
            const auto found = std::find_if(ranked.begin(), ranked.end(), [wanted = asn](const placed_as& a) { return a.asn == wanted; });
            if (found == ranked.end()) {
                throw scenario_error("topology.placement: AS" + std::to_string(asn) + " has no IPv4 prefix in " +
                                     world.description);
            }
            world.ases.push_back(*found);
            world.ases.back().weight = weight;
        }
        const auto cdn = world.origin_asn ? ranked.end() : std::find_if(ranked.begin(), ranked.end(), [&](const placed_as& a) {
            return std::none_of(world.ases.begin(), world.ases.end(), [&](const placed_as& p) { return p.asn == a.asn; });
        });
        if (!world.origin_asn) {
            if (cdn == ranked.end()) throw scenario_error("topology.placement: no AS is left to host the origin");
            world.origin_asn = cdn->asn;
            world.origin_prefix = cdn->prefixes.front();
        }
    }
    double total = 0;
    for (const auto& as : world.ases) total += as.weight;
    for (auto& as : world.ases) {
        as.weight /= total;
        finish_as(as);
    }
    return world;
}

std::uint32_t address_in(const topology& world, std::size_t as_index, std::mt19937_64& random) {
    const placed_as& as = world.ases[as_index];
    std::uint32_t candidate = 0;
    for (int attempt = 0; attempt < 32; ++attempt) {
        const double point = std::uniform_real_distribution<double>(0, as.cumulative.back())(random);
        const auto at = std::upper_bound(as.cumulative.begin(), as.cumulative.end(), point) - as.cumulative.begin();
        const auto& prefix = as.prefixes[static_cast<std::size_t>(std::min<std::ptrdiff_t>(at, as.prefixes.size() - 1))];
        const std::uint64_t size = 1ull << (32 - prefix.length);
        candidate = prefix.network.v4_bits() + static_cast<std::uint32_t>(random() % size);
        // A more-specific prefix of another AS may sit inside: such an address is not this AS's.
        if (world.routing.prefixes().origin_of(proximity::ip_address::v4(candidate)) == as.asn) return candidate;
    }
    return candidate;
}

}  // namespace nearcast::sim
