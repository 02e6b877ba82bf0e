#include "nearcast/peer/cache_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>
#include <stdexcept>

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

int unchoke_slots(std::int64_t rate, std::uint32_t admission_limit) {
    constexpr std::uint32_t usual = 8, most = 10'000;
    return rate == 0 ? 0 : static_cast<int>(usual + std::min(admission_limit, most));
}

namespace {

// A non-negative decimal number (a fraction allowed), scaled to a whole count of units.
std::uint64_t scaled_amount(const std::string& name, const std::string& text, double scale, double largest) {
    const auto wrong = [&](const std::string& what) {
        return std::invalid_argument(name + "=" + (text.empty() ? "(nothing)" : text) + ": " + what);
    };
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc{} || stop != end || !std::isfinite(value)) throw wrong("not a number");
    if (value < 0) throw wrong("must not be negative (0 means none)");
    if (value > largest) throw wrong("too large (at most " + std::to_string(static_cast<std::uint64_t>(largest)) + ")");
    const auto scaled = static_cast<std::uint64_t>(std::llround(value * scale));
    // Not silently "none": 0 is how one says that.
    if (value > 0 && scaled == 0) {
        char least[32];
        std::snprintf(least, sizeof least, "%g", 1 / scale);
        throw wrong(std::string("too small (0 means none; the least limit is ") + least + ")");
    }
    return scaled;
}

}  // namespace

limit_change parse_limit_change(const std::vector<std::pair<std::string, std::string>>& parameters) {
    // 10 GB/s and 1 PB a month: beyond any link a desktop has, and inside every integer used.
    constexpr double max_kb_per_s = 1e7;
    constexpr double max_monthly_mb = 1e9;
    limit_change change;
    std::set<std::string> seen;
    for (const auto& [name, value] : parameters) {
        // Two values for one limit: which was meant is not ours to guess.
        if (!seen.insert(name).second) throw std::invalid_argument(name + " is given twice");
        if (name == "upload_kb") {
            change.upload_rate = static_cast<std::int64_t>(scaled_amount(name, value, 1000, max_kb_per_s));
        } else if (name == "download_kb") {
            change.download_rate = static_cast<std::int64_t>(scaled_amount(name, value, 1000, max_kb_per_s));
        } else if (name == "monthly_cap_mb") {
            change.monthly_bytes = scaled_amount(name, value, 1e6, max_monthly_mb);
        } else if (name == "uploading") {
            if (value != "on" && value != "off") throw std::invalid_argument("uploading must be on or off, not '" + value + "'");
            change.uploading = value == "on";
        } else if (name == "reset") {
            if (value != "1") throw std::invalid_argument("reset=1 goes back to the configured limits; '" + value + "' is not 1");
            change.reset = true;
        } else {
            throw std::invalid_argument("unknown limit '" + name + "': upload_kb, download_kb, monthly_cap_mb, uploading or reset");
        }
    }
    return change;
}

limit_change merge(limit_change base, const limit_change& later) {
    if (later.reset) base = {};
    if (later.upload_rate) base.upload_rate = later.upload_rate;
    if (later.download_rate) base.download_rate = later.download_rate;
    if (later.monthly_bytes) base.monthly_bytes = later.monthly_bytes;
    if (later.uploading) base.uploading = later.uploading;
    return base;
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
