// What is popular where: downloads started, counted per AS and item. The tracker answers
// `/popular` and each supernode's report with an AS's most counted items, and a supernode
// pre-fetches from that list (peer::prefetch_plan); the simulator keeps the same counts. Pure:
// no sockets, no clocks.
//
// Bounded per AS: when an AS counts more than `per_as_limit` items, its counts are halved and
// those at 0 go, so what is popular now rises above what was. (One bound for all ASes, as the
// tracker had, halved every AS's counts whenever any was busy: at a national scale the lists
// held little but what had started in the last minutes.) And bounded in all, against many
// ASes at once: past `total_limit` entries every AS is halved (about 50 bytes an entry).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nearcast::tracker {

template <class Item>
class popularity {
public:
    explicit popularity(std::size_t per_as_limit = 4096, std::size_t total_limit = 1 << 20)
        : per_as_limit_(std::max<std::size_t>(per_as_limit, 1)), total_limit_(std::max<std::size_t>(total_limit, 1)) {}

    // A download of `item` started in `asn`.
    void count(std::uint32_t asn, const Item& item) {
        auto& counts = by_as_[asn];
        if (counts.find(item) == counts.end()) {
            if (total_ >= total_limit_) {
                for (auto& [other, its] : by_as_) halve(its);
            } else if (counts.size() >= per_as_limit_) {
                halve(counts);
            }
            ++total_;
        }
        ++counts[item];
    }

    // The `most` items most counted in `asn`, most first; equal counts in item order.
    std::vector<std::pair<Item, std::uint32_t>> top(std::uint32_t asn, std::size_t most) const {
        std::vector<std::pair<Item, std::uint32_t>> ranked;
        const auto found = by_as_.find(asn);
        if (found == by_as_.end()) return ranked;
        ranked.assign(found->second.begin(), found->second.end());
        const auto kept = std::min(ranked.size(), most);
        std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(kept), ranked.end(),
                          [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
        ranked.resize(kept);
        return ranked;
    }

    std::uint32_t count_of(std::uint32_t asn, const Item& item) const {
        const auto found = by_as_.find(asn);
        if (found == by_as_.end()) return 0;
        const auto counted = found->second.find(item);
        return counted == found->second.end() ? 0 : counted->second;
    }

private:
    void halve(std::map<Item, std::uint32_t>& counts) {
        for (auto at = counts.begin(); at != counts.end();) {
            at->second /= 2;
            if (at->second == 0) {
                at = counts.erase(at);
                --total_;
            } else {
                ++at;
            }
        }
    }

    std::size_t per_as_limit_;
    std::size_t total_limit_;
    std::size_t total_ = 0;  // entries over every AS
    std::unordered_map<std::uint32_t, std::map<Item, std::uint32_t>> by_as_;
};

}  // namespace nearcast::tracker
