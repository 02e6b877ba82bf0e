#include "nearcast/tracker/supernodes.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace nearcast::tracker {

namespace {

constexpr double capacity_cap = 100.0 * 1024 * 1024;  // beyond 100 MB/s, capacity adds nothing
constexpr double uptime_cap = 7 * 24 * 3600.0;        // beyond a week, uptime adds nothing

bool eligible(const supernode_candidate& candidate, const election_options& options) {
    if (!candidate.reachable) return false;
    if (candidate.operated) return true;
    const double slack = candidate.incumbent ? 1.0 - options.hysteresis : 1.0;
    return candidate.upload_capacity >= options.min_upload_capacity * slack &&
           candidate.uptime_s >= options.min_uptime_s * slack;
}

}  // namespace

capacity_credit_options credit_options_for(std::uint32_t admission_limit, double min_upload_capacity) {
    capacity_credit_options options;
    options.ceiling = admission_limit * 250e3;
    options.allowance = 4 * min_upload_capacity;
    return options;
}

double credited_capacity(double claimed, std::uint64_t uploaded_bytes, bool operated, const capacity_credit_options& options) {
    if (operated) return claimed;
    const double proven = options.allowance + static_cast<double>(uploaded_bytes) / std::max(options.proof_s, 1.0);
    return std::min({claimed, options.ceiling, proven});
}

double supernode_score(const supernode_candidate& candidate) {
    const double capacity = std::clamp(candidate.upload_capacity, 1.0, capacity_cap);
    const double uptime = std::clamp(candidate.uptime_s, 1.0, uptime_cap);
    return std::sqrt(capacity * uptime);
}

std::uint32_t supernode_target(std::uint32_t peers, const election_options& options) {
    if (peers < options.min_group_peers) return 0;
    const double ratio = std::max(options.peers_per_supernode, 1.0);
    const auto target = static_cast<std::uint32_t>(std::lround(static_cast<double>(peers) / ratio));
    return std::max<std::uint32_t>(target, 1);
}

std::vector<elected_supernode> elect_supernodes(std::span<const supernode_candidate> candidates,
                                                std::span<const group_population> groups,
                                                const election_options& options) {
    std::map<std::uint32_t, std::vector<const supernode_candidate*>> by_group;
    for (const auto& candidate : candidates) {
        if (eligible(candidate, options)) by_group[candidate.group].push_back(&candidate);
    }

    std::vector<elected_supernode> elected;
    for (const auto& population : groups) {
        const auto found = by_group.find(population.group);
        if (found == by_group.end()) continue;
        auto& pool = found->second;
        const auto elect = [&](const supernode_candidate& candidate) {
            elected.push_back({candidate.id, candidate.group,
                               candidate.operated ? options.operated_admission_limit : options.admission_limit,
                               candidate.operated});
        };

        // Operators' own servers serve whatever the target says.
        std::uint32_t chosen = 0;
        for (const auto* candidate : pool) {
            if (candidate->operated) {
                elect(*candidate);
                ++chosen;
            }
        }
        const std::uint32_t target = supernode_target(population.peers, options);
        if (chosen >= target) continue;

        // Incumbents compete with their score raised by the hysteresis share: a challenger must
        // be clearly better to take a role, so roles do not flap on noisy measurements. Ties go
        // to the lower id, so the result does not depend on the order of `candidates`.
        const auto standing = [&](const supernode_candidate* candidate) {
            return supernode_score(*candidate) * (candidate->incumbent ? 1.0 + options.hysteresis : 1.0);
        };
        std::vector<const supernode_candidate*> ranked;
        for (const auto* candidate : pool) {
            if (!candidate->operated) ranked.push_back(candidate);
        }
        std::sort(ranked.begin(), ranked.end(), [&](const auto* a, const auto* b) {
            const double sa = standing(a), sb = standing(b);
            return sa != sb ? sa > sb : a->id < b->id;
        });
        for (const auto* candidate : ranked) {
            if (chosen >= target) break;
            elect(*candidate);
            ++chosen;
        }
    }
    return elected;
}

std::vector<std::uint64_t> fellows_of(std::uint64_t self, std::span<const supernode_load> supernodes, std::size_t most) {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> ranked;
    for (const auto& other : supernodes) {
        if (other.id != self) ranked.emplace_back(other.hops, other.id);
    }
    const auto kept = std::min(ranked.size(), most);
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(kept), ranked.end());
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < kept; ++i) out.push_back(ranked[i].second);
    return out;
}

std::vector<std::uint64_t> assign_supernodes(std::span<const supernode_load> supernodes, std::uint32_t count) {
    std::vector<const supernode_load*> open;
    for (const auto& supernode : supernodes) {
        if (supernode.has_room()) open.push_back(&supernode);
    }
    // Nearest first; among equals the one with the most room left in proportion to its limit.
    std::sort(open.begin(), open.end(), [](const supernode_load* a, const supernode_load* b) {
        if (a->hops != b->hops) return a->hops < b->hops;
        const double load_a = static_cast<double>(a->children) / a->admission_limit;
        const double load_b = static_cast<double>(b->children) / b->admission_limit;
        if (load_a != load_b) return load_a < load_b;
        return a->id < b->id;
    });
    std::vector<std::uint64_t> chosen;
    for (const auto* supernode : open) {
        if (chosen.size() >= count) break;
        chosen.push_back(supernode->id);
    }
    return chosen;
}

}  // namespace nearcast::tracker
