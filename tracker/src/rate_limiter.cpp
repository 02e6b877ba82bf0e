#include "nearcast/tracker/rate_limiter.hpp"

#include <algorithm>

namespace nearcast::tracker {

rate_limiter::rate_limiter(double per_second, double burst, std::size_t max_tracked)
    : per_second_(per_second), burst_(std::max(burst, 1.0)), max_tracked_(max_tracked) {}

std::size_t rate_limiter::address_hash::operator()(const proximity::ip_address& address) const {
    const proximity::uint128 bits = address.v6_bits();
    const auto mixed = static_cast<std::uint64_t>(bits ^ (bits >> 64)) * 0x9E37'79B9'7F4A'7C15ull;
    return static_cast<std::size_t>(mixed ^ (mixed >> 31) ^ static_cast<std::uint64_t>(address.is_v6()));
}

void rate_limiter::forget_idle(std::uint64_t now_ms) {
    // A bucket that has refilled completely carries no information: drop those first.
    const double full_after_ms = burst_ / per_second_ * 1000.0;
    std::erase_if(buckets_, [&](const auto& entry) {
        return static_cast<double>(now_ms - std::min(now_ms, entry.second.updated_ms)) >= full_after_ms;
    });
    if (buckets_.size() >= max_tracked_) buckets_.clear();  // under a flood, start over rather than grow
}

bool rate_limiter::allow(const proximity::ip_address& address, std::uint64_t now_ms) {
    if (per_second_ <= 0) return true;
    auto found = buckets_.find(address);
    if (found == buckets_.end()) {
        if (buckets_.size() >= max_tracked_) forget_idle(now_ms);
        found = buckets_.emplace(address, bucket{burst_, now_ms}).first;
    }
    bucket& state = found->second;
    const double elapsed_s = static_cast<double>(now_ms - std::min(now_ms, state.updated_ms)) / 1000.0;
    state.tokens = std::min(burst_, state.tokens + elapsed_s * per_second_);
    state.updated_ms = std::max(now_ms, state.updated_ms);
    if (state.tokens < 1.0) return false;
    state.tokens -= 1.0;
    return true;
}

}  // namespace nearcast::tracker
