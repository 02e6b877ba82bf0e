// What one simulated supernode holds, kept up to date as sessions open, are used and leave, so
// that a lookup or an eviction costs what the cache holds at most, never what the world holds.
// Internal to the simulator.
#pragma once

#include <algorithm>
#include <cstdint>
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

// Sessions in order of last use, a list threaded through `links` (indexed by session). Time
// only moves forward, so a touched session goes to the back and the list stays ordered by
// whole seconds; within one second the eviction order is by name, sorted when evicting.
struct use_links {
    std::uint32_t previous = 0xffff'ffffu, next = 0xffff'ffffu;
};

struct supernode_cache {
    static constexpr std::uint32_t end = 0xffff'ffffu;
    std::vector<std::uint32_t> sessions;                          // in the order they opened
    std::uint32_t oldest = end, newest = end;                     // the use list
    double bytes = 0;                                             // summed as sessions open and leave
    std::uint64_t whole_bytes = 0;                                // the same, each item in whole bytes

    void add(std::uint32_t session, double size, std::vector<use_links>& links) {
        sessions.push_back(session);
        append(session, links);
        bytes += size;
        whole_bytes += static_cast<std::uint64_t>(size);
    }
    void remove(std::uint32_t session, double size, std::vector<use_links>& links) {
        sessions.erase(std::remove(sessions.begin(), sessions.end(), session), sessions.end());
        unlink(session, links);
        bytes -= size;
        whole_bytes -= static_cast<std::uint64_t>(size);
    }
    // A use in a later whole second than the last one moves the session to the back.
    void touch(std::uint32_t session, std::int64_t was_s, std::int64_t now_s, std::vector<use_links>& links) {
        if (was_s == now_s) return;
        unlink(session, links);
        append(session, links);
    }
    // Calls `visit(key)` in eviction order (oldest second first, then by name) until it returns false.
    template <typename UsedSeconds, typename Visit>
    void in_eviction_order(const std::vector<use_links>& links, UsedSeconds&& used_s, Visit&& visit) const {
        std::vector<lru_key> second;
        for (std::uint32_t at = oldest; at != end;) {
            second.clear();
            const std::int64_t used = used_s(at);
            for (; at != end && used_s(at) == used; at = links[at].next) second.emplace_back(used, at);
            std::sort(second.begin(), second.end());
            for (const auto& key : second) {
                if (!visit(key)) return;
            }
        }
    }

private:
    void append(std::uint32_t session, std::vector<use_links>& links) {
        links[session] = {newest, end};
        if (newest != end) links[newest].next = session;
        else oldest = session;
        newest = session;
    }
    void unlink(std::uint32_t session, std::vector<use_links>& links) {
        const auto [previous, next] = links[session];
        if (previous != end) links[previous].next = next;
        else oldest = next;
        if (next != end) links[next].previous = previous;
        else newest = previous;
        links[session] = {};
    }
};

}  // namespace nearcast::sim::detail
