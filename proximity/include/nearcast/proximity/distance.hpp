// The one network distance of nearcast: how near two Internet addresses are.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "nearcast/proximity/address.hpp"
#include "nearcast/proximity/model.hpp"

namespace nearcast::proximity {

// Nearest first: the order of the enumerators is the order of nearness.
enum class nearness : std::uint8_t {
    same_subnet,  // same /24 (IPv4) or /48 (IPv6), configurable
    same_prefix,  // the same announced BGP prefix
    same_as,      // prefixes with a common origin AS
    adjacent_as,  // origin ASes next to each other in some AS path
    as_hops,      // origin ASes `hops` apart in the AS graph
    unknown,      // an address without a route, or ASes not connected within the limit
};
std::string_view to_string(nearness value);

struct distance_options {
    unsigned subnet_v4 = 24;
    unsigned subnet_v6 = 48;
    unsigned max_as_hops = 6;  // farther than this is `unknown`
};

struct network_distance {
    nearness kind = nearness::unknown;
    unsigned hops = 0;  // AS hops: 0 within an AS, 1 adjacent, N for as_hops

    // A number for sorting candidates: lower is nearer, consistent with the ordering. Ten
    // apart per class leaves room for finer costs later; AS hops continue the scale upwards,
    // so two hops (40) sorts after adjacent (30) and before three hops (50). Inline: the
    // tracker ranks every candidate of every answer by it.
    std::uint32_t cost() const {
        switch (kind) {
            case nearness::same_subnet: return 0;
            case nearness::same_prefix: return 10;
            case nearness::same_as: return 20;
            case nearness::adjacent_as: return 30;
            case nearness::as_hops: return 20 + 10 * hops;
            case nearness::unknown: break;
        }
        return 10'000;
    }
    std::string to_string() const;
    auto operator<=>(const network_distance& other) const { return cost() <=> other.cost(); }
    bool operator==(const network_distance& other) const { return cost() == other.cost(); }
};

network_distance distance(const model& routing, ip_address a, ip_address b,
                          const distance_options& options = {});

}  // namespace nearcast::proximity
