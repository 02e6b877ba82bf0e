#include "nearcast/peer/supernode_role.hpp"

#include <algorithm>

namespace nearcast::peer {

void capacity_meter::observe(double now_s, std::uint64_t total_uploaded) {
    samples_.emplace_back(now_s, total_uploaded);
    // Keep the samples of the last window, plus the one just before it to measure from.
    while (samples_.size() > 2 && samples_[1].first <= now_s - window_s_) samples_.pop_front();
    const auto& [then, bytes_then] = samples_.front();
    const double span = now_s - then;
    if (span >= window_s_ * 0.5 && total_uploaded >= bytes_then) {
        best_ = std::max(best_, static_cast<double>(total_uploaded - bytes_then) / span);
    }
}

std::uint32_t report_interval_s(std::uint32_t tracker_interval_s) { return std::clamp(tracker_interval_s / 2, 1u, 900u); }

std::vector<std::string> prefetch_plan(std::span<const popular_item> popular, const std::set<std::string>& held,
                                       std::size_t most, std::uint64_t min_requests) {
    std::vector<popular_item> ranked(popular.begin(), popular.end());
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.requests > b.requests; });
    std::vector<std::string> plan;
    for (const auto& item : ranked) {
        if (plan.size() >= most) break;
        if (item.requests < min_requests || held.count(item.info_hash) > 0) continue;
        if (std::find(plan.begin(), plan.end(), item.info_hash) == plan.end()) plan.push_back(item.info_hash);
    }
    return plan;
}

bool child_admission::admit(const std::string& address) {
    for (auto& [known, open] : connections_) {
        if (known == address) {
            ++open;
            return true;
        }
    }
    if (connections_.size() >= limit_) {
        ++refused_;
        return false;
    }
    connections_.emplace_back(address, 1);
    max_seen_ = std::max(max_seen_, children());
    return true;
}

void child_admission::release(const std::string& address) {
    for (auto at = connections_.begin(); at != connections_.end(); ++at) {
        if (at->first != address) continue;
        if (--at->second == 0) connections_.erase(at);
        return;
    }
}

bool hold_origin_back(std::span<const std::string> downloading, std::span<const fellow_view> fellows) {
    if (downloading.empty()) return false;
    return std::all_of(downloading.begin(), downloading.end(), [&](const std::string& item) {
        return std::any_of(fellows.begin(), fellows.end(), [&](const fellow_view& fellow) {
            return fellow.holds.count(item) > 0 || (fellow.leads && fellow.fetching.count(item) > 0);
        });
    });
}

}  // namespace nearcast::peer
