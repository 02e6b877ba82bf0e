// What is popular where: downloads started, counted per AS and item. The tracker answers
// `/popular` and each supernode's report with an AS's most counted items, and a supernode
// pre-fetches from that list (peer::prefetch_plan); the simulator keeps the same counts. Pure:
// no sockets, no clocks.
//
// Bounded per AS: when an AS counts more than `per_as_limit` items, its counts are halved and
// those at 0 go, so what is popular now rises above what was. (One bound for all ASes, as the
// tracker had, halved every AS's counts whenever any was busy: at a national scale the lists
// held little but what had started in the last minutes.) And bounded in all, against many
// ASes at once: past `total_limit` entries every AS is halved (about 80 bytes an entry).
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
        const auto found = counts.slot.find(item);
        if (found != counts.slot.end()) {
            ++counts.entries[found->second].second;
            return;
        }
        if (total_ >= total_limit_) {
            for (auto& [other, its] : by_as_) halve(its);
        } else if (counts.entries.size() >= per_as_limit_) {
            halve(counts);
        }
        ++total_;
        counts.slot.emplace(item, static_cast<std::uint32_t>(counts.entries.size()));
        counts.entries.emplace_back(item, 1);
    }

    // The `most` items most counted in `asn`, most first; equal counts in item order.
    std::vector<std::pair<Item, std::uint32_t>> top(std::uint32_t asn, std::size_t most) const {
        std::vector<std::pair<Item, std::uint32_t>> ranked;
        const auto found = by_as_.find(asn);
        if (found == by_as_.end()) return ranked;
        ranked = found->second.entries;
        const auto kept = std::min(ranked.size(), most);
        std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(kept), ranked.end(),
                          [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
        ranked.resize(kept);
        return ranked;
    }

    std::uint32_t count_of(std::uint32_t asn, const Item& item) const {
        const auto found = by_as_.find(asn);
        if (found == by_as_.end()) return 0;
        const auto counted = found->second.slot.find(item);
        return counted == found->second.slot.end() ? 0 : found->second.entries[counted->second].second;
    }

private:
    // An AS's counts side by side, in no order (top() ranks them, ties by item: the order in
    // which they sit changes nothing), with an index by item. top() copies the array, where
    // walking a tree to copy it was most of the cost of a report.
    struct as_counts {
        std::vector<std::pair<Item, std::uint32_t>> entries;
        std::map<Item, std::uint32_t> slot;  // item -> its index in entries
    };

    void halve(as_counts& counts) {
        auto& entries = counts.entries;
        for (std::size_t at = 0; at < entries.size();) {
            entries[at].second /= 2;
            if (entries[at].second != 0) {
                ++at;
                continue;
            }
            // The last entry (not halved yet) takes its place and is looked at next.
            counts.slot.erase(entries[at].first);
            if (at + 1 != entries.size()) {
                entries[at] = std::move(entries.back());
                counts.slot[entries[at].first] = static_cast<std::uint32_t>(at);
            }
            entries.pop_back();
            --total_;
        }
    }

    std::size_t per_as_limit_;
    std::size_t total_limit_;
    std::size_t total_ = 0;  // entries over every AS
    std::unordered_map<std::uint32_t, as_counts> by_as_;
};

}  // namespace nearcast::tracker
