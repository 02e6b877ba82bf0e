#include "nearcast/proximity/as_graph.hpp"

#include <algorithm>
#include <stdexcept>

namespace nearcast::proximity {

as_graph::as_graph(std::span<const as_link> links) {
    for (const as_link& link : links) {
        asns_.push_back(link.low);
        asns_.push_back(link.high);
    }
    std::sort(asns_.begin(), asns_.end());
    asns_.erase(std::unique(asns_.begin(), asns_.end()), asns_.end());

    // Count both directions of every distinct link, then place them (compressed sparse rows).
    std::vector<as_link> unique(links.begin(), links.end());
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    std::erase_if(unique, [](const as_link& link) { return link.low == link.high; });

    offsets_.assign(asns_.size() + 1, 0);
    for (const as_link& link : unique) {
        ++offsets_[*index_of(link.low) + 1];
        ++offsets_[*index_of(link.high) + 1];
    }
    for (std::size_t i = 1; i < offsets_.size(); ++i) offsets_[i] += offsets_[i - 1];
    neighbours_.resize(offsets_.back());
    std::vector<std::uint32_t> fill(offsets_.begin(), offsets_.end() - 1);
    for (const as_link& link : unique) {
        const std::uint32_t low = *index_of(link.low);
        const std::uint32_t high = *index_of(link.high);
        neighbours_[fill[low]++] = high;
        neighbours_[fill[high]++] = low;
    }
    for (std::size_t i = 0; i < asns_.size(); ++i) {
        std::sort(neighbours_.begin() + offsets_[i], neighbours_.begin() + offsets_[i + 1]);
    }
}

as_graph as_graph::from_raw(std::vector<std::uint32_t> asns, std::vector<std::uint32_t> offsets,
                            std::vector<std::uint32_t> neighbours) {
    if (offsets.size() != asns.size() + 1) throw std::invalid_argument("AS graph offsets do not match its ASes");
    if (!std::is_sorted(asns.begin(), asns.end()) || std::adjacent_find(asns.begin(), asns.end()) != asns.end()) {
        throw std::invalid_argument("AS graph ASes are not sorted and unique");
    }
    if (offsets.front() != 0 || offsets.back() != neighbours.size() || !std::is_sorted(offsets.begin(), offsets.end())) {
        throw std::invalid_argument("AS graph offsets are inconsistent");
    }
    for (std::uint32_t neighbour : neighbours) {
        if (neighbour >= asns.size()) throw std::invalid_argument("AS graph neighbour out of range");
    }
    as_graph graph;
    graph.asns_ = std::move(asns);
    graph.offsets_ = std::move(offsets);
    graph.neighbours_ = std::move(neighbours);
    return graph;
}

std::optional<std::uint32_t> as_graph::index_of(std::uint32_t asn) const {
    const auto at = std::lower_bound(asns_.begin(), asns_.end(), asn);
    if (at == asns_.end() || *at != asn) return std::nullopt;
    return static_cast<std::uint32_t>(at - asns_.begin());
}

bool as_graph::contains(std::uint32_t asn) const { return index_of(asn).has_value(); }

bool as_graph::adjacent(std::uint32_t a, std::uint32_t b) const {
    const auto from = index_of(a);
    const auto to = index_of(b);
    if (!from || !to) return false;
    return std::binary_search(neighbours_.begin() + offsets_[*from], neighbours_.begin() + offsets_[*from + 1], *to);
}

// Breadth-first from both ends at once, always growing the smaller frontier: the Internet's
// AS graph has hubs with thousands of neighbours, and meeting in the middle visits far fewer.
std::optional<unsigned> as_graph::hops(std::uint32_t a, std::uint32_t b, unsigned max_hops) const {
    const auto from = index_of(a);
    const auto to = index_of(b);
    if (!from || !to) return a == b ? std::optional<unsigned>(0) : std::nullopt;
    if (*from == *to) return 0u;
    if (max_hops == 0) return std::nullopt;

    // Per-thread scratch marks, reset by bumping a generation instead of clearing.
    thread_local std::vector<std::uint32_t> mark;
    thread_local std::uint32_t generation = 0;
    if (mark.size() < asns_.size()) {
        mark.assign(asns_.size(), 0);
        generation = 0;
    }
    if (generation >= 0xffff'fff0u) {
        std::fill(mark.begin(), mark.end(), 0);
        generation = 0;
    }
    generation += 2;
    const std::uint32_t mark_a = generation;      // reached from a
    const std::uint32_t mark_b = generation + 1;  // reached from b

    std::vector<std::uint32_t> frontier_a{*from}, frontier_b{*to}, next;
    mark[*from] = mark_a;
    mark[*to] = mark_b;
    unsigned depth_a = 0, depth_b = 0;
    while (depth_a + depth_b < max_hops && !frontier_a.empty() && !frontier_b.empty()) {
        const bool grow_a = frontier_a.size() <= frontier_b.size();
        auto& frontier = grow_a ? frontier_a : frontier_b;
        const std::uint32_t own = grow_a ? mark_a : mark_b;
        const std::uint32_t other = grow_a ? mark_b : mark_a;
        next.clear();
        for (std::uint32_t node : frontier) {
            for (std::uint32_t i = offsets_[node]; i < offsets_[node + 1]; ++i) {
                const std::uint32_t neighbour = neighbours_[i];
                if (mark[neighbour] == other) return depth_a + depth_b + 1;
                if (mark[neighbour] != own) {
                    mark[neighbour] = own;
                    next.push_back(neighbour);
                }
            }
        }
        frontier.swap(next);
        ++(grow_a ? depth_a : depth_b);
    }
    return std::nullopt;
}

std::vector<as_link> as_graph::links() const {
    std::vector<as_link> all;
    for (std::uint32_t i = 0; i < asns_.size(); ++i) {
        for (std::uint32_t k = offsets_[i]; k < offsets_[i + 1]; ++k) {
            if (neighbours_[k] > i) all.push_back({asns_[i], asns_[neighbours_[k]]});
        }
    }
    return all;
}

std::size_t as_graph::memory_bytes() const {
    return (asns_.size() + offsets_.size() + neighbours_.size()) * sizeof(std::uint32_t);
}

}  // namespace nearcast::proximity
