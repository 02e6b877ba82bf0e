#include "nearcast/sim/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace nearcast::sim {

population build_population(const scenario& config, const topology& world, const session_trace* trace) {
    population people;
    std::mt19937_64 random(config.seed ^ 0x70b7'1a7e'5eedull);

    for (const auto& c : config.classes) {
        people.upload_bps.push_back(c.upload_mbps * 1e6 / 8);
        people.download_bps.push_back(c.download_mbps * 1e6 / 8);
    }
    people.upload_bps.push_back(config.seeder_capacity_mbps * 1e6 / 8);
    people.download_bps.push_back(config.seeder_capacity_mbps * 1e6 / 8);
    const auto origin_class = static_cast<std::uint8_t>(config.classes.size());

    std::vector<double> as_cdf, class_cdf;
    double running = 0;
    for (const auto& as : world.ases) as_cdf.push_back(running += as.weight);
    running = 0;
    for (const auto& c : config.classes) class_cdf.push_back(running += c.share);
    const auto draw = [&](const std::vector<double>& cdf) {
        const double point = std::uniform_real_distribution<double>(0, cdf.back())(random);
        const auto at = std::upper_bound(cdf.begin(), cdf.end(), point) - cdf.begin();
        return static_cast<std::size_t>(std::min<std::ptrdiff_t>(at, static_cast<std::ptrdiff_t>(cdf.size()) - 1));
    };

    people.peers.resize(config.peers + config.seeders);
    people.peers_per_as.assign(world.ases.size(), 0);
    people.by_endpoint.reserve(people.peers.size());
    const auto locate = [&](population::peer& peer) {
        const auto route = world.routing.prefixes().lookup(proximity::ip_address::v4(peer.address));
        peer.prefix_length = route ? route->prefix.length : 0xff;
        peer.origin_as = route ? route->primary_origin() : 0;
    };
    // A trace's peers: its daemons, then one per session, each where its address is.
    const auto traced = [&](std::uint32_t i) -> const session_trace::endpoint* {
        if (!trace) return nullptr;
        return i < trace->daemons.size() ? &trace->daemons[i] : &trace->sessions[i - trace->daemons.size()].peer;
    };
    for (std::uint32_t i = 0; i < config.peers; ++i) {
        auto& peer = people.peers[i];
        if (const auto* given = traced(i)) {
            peer.address = given->address;
            peer.port = given->port;
            locate(peer);
            const auto placed = std::find_if(world.ases.begin(), world.ases.end(), [&](const placed_as& as) { return as.asn == peer.origin_as; });
            if (placed == world.ases.end()) {
                throw scenario_error(given->where + ": " + proximity::ip_address::v4(peer.address).to_string() +
                                     " lies in no AS peers are placed in (topology.placement)");
            }
            peer.as_index = static_cast<std::uint16_t>(placed - world.ases.begin());
            peer.capacity_class = static_cast<std::uint8_t>(draw(class_cdf));
            people.by_endpoint.emplace(population::endpoint_key(peer.address, peer.port), i);
        } else {
            peer.as_index = static_cast<std::uint16_t>(draw(as_cdf));
            peer.capacity_class = static_cast<std::uint8_t>(draw(class_cdf));
            // An address and port no other peer has (small ASes hold many peers behind NATs).
            do {
                peer.address = address_in(world, peer.as_index, random);
                peer.port = static_cast<std::uint16_t>(1024 + random() % 64000);
            } while (!people.by_endpoint.emplace(population::endpoint_key(peer.address, peer.port), i).second);
            locate(peer);
        }
        ++people.peers_per_as[peer.as_index];
        peer.daemon = trace ? i < trace->daemons.size() : std::bernoulli_distribution(config.daemon_share)(random);
        peer.reachable = peer.daemon && std::bernoulli_distribution(config.reachable_share)(random);
        peer.uptime_at_start_s =
            peer.daemon ? static_cast<float>(std::exponential_distribution<double>(1.0 / (2 * 86400.0))(random)) : 0.0f;
        if (trace) peer.uptime_at_start_s = 0;  // the trace's daemons start with the run
    }
    people.origin_begin = static_cast<std::uint32_t>(config.peers);
    for (std::uint32_t s = 0; s < config.seeders; ++s) {
        auto& origin = people.peers[config.peers + s];
        origin.as_index = static_cast<std::uint16_t>(world.ases.size());
        origin.capacity_class = origin_class;
        origin.address = world.origin_prefix.network.v4_bits() + 10 + s;
        origin.port = 6881;
        locate(origin);
        origin.reachable = true;
        people.by_endpoint.emplace(population::endpoint_key(origin.address, origin.port), config.peers + s);
    }

    people.item_bytes.resize(config.items);
    for (auto& bytes : people.item_bytes) {
        const double factor = 1 + std::uniform_real_distribution<double>(-config.item_size_spread, config.item_size_spread)(random);
        bytes = std::round(config.item_size_mb * 1e6 * factor);
    }
    if (trace) {
        people.item_bytes = trace->item_bytes;
        const auto first_session = static_cast<std::uint32_t>(trace->daemons.size());
        for (std::uint32_t s = 0; s < trace->sessions.size(); ++s) {
            const auto& given = trace->sessions[s];
            people.scheduled.push_back({given.at_s, first_session + s, given.item, given.stream, given.linger_s});
        }
        std::stable_sort(people.scheduled.begin(), people.scheduled.end(),
                         [](const auto& a, const auto& b) { return a.at_s < b.at_s; });
    }
    people.popularity_cdf.resize(config.items);
    running = 0;
    for (std::uint32_t rank = 0; rank < config.items; ++rank) {
        running += 1.0 / std::pow(rank + 1.0, config.zipf_exponent);
        people.popularity_cdf[rank] = running;
    }
    return people;
}

percentiles summarize(std::vector<float> samples) {
    percentiles out;
    out.count = samples.size();
    if (samples.empty()) return out;
    std::sort(samples.begin(), samples.end());
    double sum = 0;
    for (const float value : samples) sum += value;
    out.mean = sum / static_cast<double>(samples.size());
    const auto at = [&](double q) {
        const auto index = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples.size()))) - 1;
        return static_cast<double>(samples[std::min(index, samples.size() - 1)]);
    };
    out.p50 = at(0.50);
    out.p90 = at(0.90);
    out.p99 = at(0.99);
    out.max = samples.back();
    return out;
}

double strategy_result::peer_share_of_received() const {
    const double total = total_bytes();
    return total > 0 ? 1 - origin_bytes / total : 0;
}

double strategy_result::inter_as_share() const {
    const double total = total_bytes();
    return total > 0 ? (origin_bytes + peer_inter_bytes) / total : 0;
}

double strategy_result::peer_inter_as_share() const {
    const double peer = peer_intra_bytes + peer_inter_bytes;
    return peer > 0 ? peer_inter_bytes / peer : 0;
}

}  // namespace nearcast::sim
