#include "nearcast/proximity/distance.hpp"

#include <algorithm>

namespace nearcast::proximity {

std::string_view to_string(nearness value) {
    switch (value) {
        case nearness::same_subnet: return "same-subnet";
        case nearness::same_prefix: return "same-prefix";
        case nearness::same_as: return "same-as";
        case nearness::adjacent_as: return "adjacent-as";
        case nearness::as_hops: return "as-hops";
        case nearness::unknown: return "unknown";
    }
    return "unknown";
}

std::string network_distance::to_string() const {
    if (kind == nearness::as_hops) return std::to_string(hops) + " AS hops";
    return std::string(proximity::to_string(kind));
}

network_distance distance(const model& routing, ip_address a, ip_address b, const distance_options& options) {
    if (a.family() == b.family()) {
        const unsigned subnet = a.is_v4() ? options.subnet_v4 : options.subnet_v6;
        if (a.masked(subnet) == b.masked(subnet)) return {nearness::same_subnet, 0};
    }
    const auto route_a = routing.prefixes().lookup(a);
    const auto route_b = routing.prefixes().lookup(b);
    if (!route_a || !route_b) return {nearness::unknown, 0};
    if (route_a->prefix == route_b->prefix) return {nearness::same_prefix, 0};

    const auto& origins_a = route_a->origins;
    const auto& origins_b = route_b->origins;
    for (std::uint32_t origin : origins_a) {
        if (std::find(origins_b.begin(), origins_b.end(), origin) != origins_b.end()) return {nearness::same_as, 0};
    }
    const as_graph& graph = routing.graph();
    for (std::uint32_t from : origins_a) {
        for (std::uint32_t to : origins_b) {
            if (graph.adjacent(from, to)) return {nearness::adjacent_as, 1};
        }
    }
    // Farther apart, the primary origins stand for their prefixes.
    const auto hops = graph.hops(route_a->primary_origin(), route_b->primary_origin(), options.max_as_hops);
    if (hops) return {nearness::as_hops, *hops};
    return {nearness::unknown, 0};
}

}  // namespace nearcast::proximity
