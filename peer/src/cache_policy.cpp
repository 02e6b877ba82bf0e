#include "nearcast/peer/cache_policy.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace nearcast::peer {

std::vector<std::string> evict_for(const std::vector<cached_item>& items, std::uint64_t quota, std::uint64_t incoming) {
    std::uint64_t total = incoming;
    for (const auto& item : items) total += item.bytes;
    std::vector<const cached_item*> candidates;
    for (const auto& item : items) {
        if (!item.in_use) candidates.push_back(&item);
    }
    std::sort(candidates.begin(), candidates.end(), [](const cached_item* a, const cached_item* b) {
        if (a->last_used_s != b->last_used_s) return a->last_used_s < b->last_used_s;
        return a->id < b->id;  // a stable order for equal times
    });
    std::vector<std::string> evicted;
    for (const auto* item : candidates) {
        if (total <= quota) break;
        evicted.push_back(item->id);
        total -= item->bytes;
    }
    return evicted;
}

std::int64_t upload_rate_now(const upload_cap& cap, std::uint64_t uploaded_this_month) {
    if (!cap.uploading) return 0;
    if (cap.monthly_bytes > 0 && uploaded_this_month >= cap.monthly_bytes) return 0;
    return cap.rate_limit > 0 ? cap.rate_limit : -1;
}

std::string month_of(std::int64_t unix_seconds) {
    const std::time_t when = static_cast<std::time_t>(unix_seconds);
    std::tm parts{};
    gmtime_r(&when, &parts);
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02d", parts.tm_year + 1900, parts.tm_mon + 1);
    return text;
}

}  // namespace nearcast::peer
