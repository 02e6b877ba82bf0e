#include "nearcast/sim/economics.hpp"

#include <algorithm>
#include <unordered_map>

namespace nearcast::sim {

namespace {

// a / b where b is the anchor's figure: 1 when both are 0, nothing when only the anchor's is.
std::optional<double> ratio_to_anchor(double ours, double anchor) {
    if (anchor > 0) return ours / anchor;
    if (ours <= 0) return 1.0;
    return std::nullopt;
}

}  // namespace

versus_cdn compare_with_cdn(const strategy_result& r, const strategy_result& cdn) {
    versus_cdn out;
    out.origin_savings = cdn.origin_bytes > 0 ? 1 - r.origin_bytes / cdn.origin_bytes : 0;
    std::unordered_map<std::uint32_t, double> anchor_in;
    double anchor_total = 0;
    for (const auto& as : cdn.per_as) {
        anchor_in[as.asn] += as.transit_in_bytes;
        anchor_total += as.transit_in_bytes;
    }
    std::unordered_map<std::uint32_t, double> ours_in;
    double ours_total = 0;
    for (const auto& as : r.per_as) {
        ours_in[as.asn] += as.transit_in_bytes;
        ours_total += as.transit_in_bytes;
    }
    out.transit_ratio_total = anchor_total > 0 ? ours_total / anchor_total : 0;
    for (const auto& [asn, anchor] : anchor_in) {
        if (anchor <= 0) continue;
        const auto found = ours_in.find(asn);
        const double ratio = (found == ours_in.end() ? 0.0 : found->second) / anchor;
        if (ratio > out.transit_ratio_worst_as || (ratio == out.transit_ratio_worst_as && asn < out.worst_asn)) {
            out.transit_ratio_worst_as = ratio;
            out.worst_asn = asn;
        }
    }
    // The floors: each AS's first requests over the anchor's transit into it.
    double first_total = 0;
    for (const auto& as : r.per_as) {
        first_total += as.first_request_bytes;
        const auto anchor = anchor_in.find(as.asn);
        if (anchor == anchor_in.end() || anchor->second <= 0) continue;
        out.transit_floor_worst_as = std::max(out.transit_floor_worst_as, as.first_request_bytes / anchor->second);
    }
    out.transit_floor_total = anchor_total > 0 ? first_total / anchor_total : 0;
    out.download_p90_ratio = ratio_to_anchor(r.download_time_s.p90, cdn.download_time_s.p90);
    out.stall_ratio = ratio_to_anchor(r.stall_ratio, cdn.stall_ratio);
    return out;
}

}  // namespace nearcast::sim
