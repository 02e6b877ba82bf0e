// What one simulated supernode holds, kept up to date as sessions open, are used and leave, so
// that a lookup or an eviction costs what the cache holds at most, never what the world holds.
// Internal to the simulator.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
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

    static bool name_before(std::uint32_t a, std::uint32_t b) {
        char left[12], right[12];
        const auto left_end = std::to_chars(left, left + sizeof left, a).ptr;
        const auto right_end = std::to_chars(right, right + sizeof right, b).ptr;
        return std::lexicographical_compare(left, left_end, right, right_end);
    }
    bool operator<(const lru_key& other) const {
        return used_s != other.used_s ? used_s < other.used_s : name_before(session, other.session);
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
