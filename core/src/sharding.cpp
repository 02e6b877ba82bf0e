#include "nearcast/core/sharding.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace nearcast::core {

namespace {

// SHA-256 of (tracker URL, NUL, info hash), first 8 bytes: every implementation that wants to
// agree with us (a seeder in another language, say) can compute it.
std::uint64_t score(const std::string& tracker, const info_hash& hash) {
    std::string message = tracker;
    message.push_back('\0');
    message.append(reinterpret_cast<const char*>(hash.data()), hash.size());
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest);
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | digest[i];
    return value;
}

}  // namespace

tracker_ring::tracker_ring(std::vector<std::string> trackers) : trackers_(std::move(trackers)) {
    std::sort(trackers_.begin(), trackers_.end());
    trackers_.erase(std::unique(trackers_.begin(), trackers_.end()), trackers_.end());
    if (trackers_.empty()) throw std::invalid_argument("a tracker ring needs at least one tracker");
}

std::vector<std::string> tracker_ring::owners(const info_hash& hash, std::size_t count) const {
    std::vector<std::pair<std::uint64_t, const std::string*>> scored;
    for (const std::string& tracker : trackers_) scored.emplace_back(score(tracker, hash), &tracker);
    const std::size_t keep = std::min(count, scored.size());
    std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(keep), scored.end(),
                      [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : *a.second < *b.second; });
    std::vector<std::string> best;
    for (std::size_t i = 0; i < keep; ++i) best.push_back(*scored[i].second);
    return best;
}

std::vector<std::vector<std::string>> tracker_ring::announce_tiers(const info_hash& hash, std::size_t count) const {
    std::vector<std::vector<std::string>> tiers;
    for (auto& tracker : owners(hash, count)) tiers.push_back({std::move(tracker)});
    return tiers;
}

}  // namespace nearcast::core
