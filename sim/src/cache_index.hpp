// What one simulated supernode holds, kept up to date as sessions open, are used and leave, so
// that a lookup or an eviction costs what the cache holds at most, never what the world holds.
// Internal to the simulator.
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

namespace nearcast::sim::detail {

// The daemon's eviction order (peer::evict_for): oldest use first (whole seconds), then the
// item's name. The simulator names a cached item by its session number in decimal, so two
// names compare as decimal strings do ("10" before "9"); this compares them without making them.
struct lru_key {
    std::int64_t used_s = 0;
    std::uint32_t session = 0;
    // The name padded with zeros on the right to ten digits, then its length: ordered as the
    // decimal strings are (a prefix first).
    std::uint64_t padded = 0;
    std::uint8_t digits = 0;

    lru_key(std::int64_t used, std::uint32_t id) : used_s(used), session(id) {
        digits = 1;
        for (std::uint32_t rest = id; rest >= 10; rest /= 10) ++digits;
        padded = id;
        for (auto d = digits; d < 10; ++d) padded *= 10;
    }
    bool operator<(const lru_key& other) const {
        if (used_s != other.used_s) return used_s < other.used_s;
        return padded != other.padded ? padded < other.padded : digits < other.digits;
    }
};

struct supernode_cache {
    std::vector<std::uint32_t> sessions;                          // in the order they opened
    std::vector<std::pair<std::uint32_t, std::uint32_t>> by_item;  // (item, session), by item
    std::set<lru_key> by_use;                                     // the eviction order
    double bytes = 0;                                             // summed as sessions open and leave
    std::uint64_t whole_bytes = 0;                                // the same, each item in whole bytes

    std::uint32_t find(std::uint32_t item, std::uint32_t none) const {
        const auto at = std::lower_bound(by_item.begin(), by_item.end(), std::pair{item, std::uint32_t{0}});
        return at != by_item.end() && at->first == item ? at->second : none;
    }
    void add(std::uint32_t session, std::uint32_t item, double size, std::int64_t used_s) {
        sessions.push_back(session);
        by_item.insert(std::lower_bound(by_item.begin(), by_item.end(), std::pair{item, std::uint32_t{0}}),
                       {item, session});
        by_use.insert({used_s, session});
        bytes += size;
        whole_bytes += static_cast<std::uint64_t>(size);
    }
    void remove(std::uint32_t session, std::uint32_t item, double size, std::int64_t used_s) {
        sessions.erase(std::remove(sessions.begin(), sessions.end(), session), sessions.end());
        const auto at = std::lower_bound(by_item.begin(), by_item.end(), std::pair{item, std::uint32_t{0}});
        if (at != by_item.end() && at->first == item) by_item.erase(at);
        by_use.erase({used_s, session});
        bytes -= size;
        whole_bytes -= static_cast<std::uint64_t>(size);
    }
    void touch(std::uint32_t session, std::int64_t was_s, std::int64_t now_s) {
        if (was_s == now_s) return;
        by_use.erase({was_s, session});
        by_use.insert({now_s, session});
    }
};

}  // namespace nearcast::sim::detail
