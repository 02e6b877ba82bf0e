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

}  // namespace nearcast::peer
