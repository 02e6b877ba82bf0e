// What a strategy is worth to an operator, against a plain CDN on the same arrivals: the
// `origin_only` run of the same scenario and seed (every peer fetches from the origin), which
// the simulator runs beside the others as the anchor. Each figure divides a strategy's bytes or
// times by the anchor's for the same thing, never by a total that includes the strategy's own
// extra traffic (a supernode's cache fills count as received bytes, so "share of received
// bytes not from the origin" grows with prefetching and is kept only under a name that says so).
#pragma once

#include <cstdint>
#include <optional>

#include "nearcast/sim/simulation.hpp"

namespace nearcast::sim {

struct versus_cdn {
    // 1 - origin bytes / origin bytes under origin_only.
    double origin_savings = 0;
    // Bytes that entered the access ASes from outside them (the origin, other ASes' peers),
    // over the same under origin_only: all ASes together, and the AS whose ratio is highest
    // (among those the anchor sent anything to). Above 1, an ISP carries more than with a CDN.
    double transit_ratio_total = 0;
    double transit_ratio_worst_as = 0;
    std::uint32_t worst_asn = 0;
    // The same ratios had every item entered each AS once, at its first request there, and
    // never again (an oracle's cache in every AS, shared perfectly): no policy does better on
    // these arrivals. Above a target, the target cannot be met by any policy.
    double transit_floor_total = 0;
    double transit_floor_worst_as = 0;
    // Quality against the anchor: download time p90 over the anchor's p90; stalled time per
    // played time over the anchor's. nullopt where the anchor's figure is 0 and ours is not (no
    // ratio says "worse than none"); 1 where both are 0.
    std::optional<double> download_p90_ratio;
    std::optional<double> stall_ratio;
};

// `cdn` must be the origin_only result of the same scenario and seed.
versus_cdn compare_with_cdn(const strategy_result& r, const strategy_result& cdn);

}  // namespace nearcast::sim
