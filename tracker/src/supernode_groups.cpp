#include "nearcast/tracker/supernode_groups.hpp"

#include <algorithm>

namespace nearcast::tracker {

void supernode_groups::update(const std::map<std::uint32_t, std::uint64_t>& peers_per_as) {
    split_.clear();
    if (split_at_ == 0) return;
    for (const auto& [asn, peers] : peers_per_as) {
        if (asn != 0 && peers >= split_at_) split_.push_back(asn);
    }
}

bool supernode_groups::split(std::uint32_t asn) const { return std::binary_search(split_.begin(), split_.end(), asn); }

std::uint32_t supernode_groups::group_of(std::uint32_t asn, const proximity::ip_prefix& prefix) {
    if (!split(asn)) return asn;
    const auto [at, added] = ids_.try_emplace({asn, prefix}, next_id_);
    if (added) {
        as_of_id_[next_id_] = asn;
        --next_id_;
    }
    return at->second;
}

std::uint32_t supernode_groups::as_of(std::uint32_t group) const {
    const auto found = as_of_id_.find(group);
    return found == as_of_id_.end() ? group : found->second;
}

std::vector<group_population> supernode_groups::populations(
    const std::map<std::uint32_t, std::uint64_t>& peers_per_as,
    const std::map<std::pair<std::uint32_t, proximity::ip_prefix>, std::uint64_t>& peers_per_prefix) {
    const auto capped = [](std::uint64_t count) { return static_cast<std::uint32_t>(std::min<std::uint64_t>(count, 0xffff'ffffu)); };
    std::vector<group_population> out;
    for (const auto& [asn, peers] : peers_per_as) {
        if (asn != 0 && !split(asn)) out.push_back({asn, capped(peers)});
    }
    for (const auto& [where, peers] : peers_per_prefix) {
        if (split(where.first)) out.push_back({group_of(where.first, where.second), capped(peers)});
    }
    return out;
}

std::vector<std::uint32_t> supernode_groups::split_ases() const { return split_; }

}  // namespace nearcast::tracker
