#include "nearcast/sim/flow_allocation.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nearcast::sim {

namespace {

// The resources by share, smallest on top, ties by index: a total order, so the bottlenecks come
// out in one order whatever the heap's shape. Four children a node: half the depth of a binary
// heap, and the children of a node share a cache line.
struct share_heap {
    std::vector<allocation_workspace::entry>& items;

    static bool before(const allocation_workspace::entry& a, const allocation_workspace::entry& b) {
        return a.share != b.share ? a.share < b.share : a.resource < b.resource;
    }
    // The entry at `at` moves down to its place (its share rose, or it replaced the top).
    void sift_down(std::size_t at) {
        const std::size_t n = items.size();
        const auto moving = items[at];
        for (;;) {
            const std::size_t first = 4 * at + 1;
            if (first >= n) break;
            std::size_t best = first;
            const std::size_t last = std::min(first + 4, n);
            for (std::size_t child = first + 1; child < last; ++child) {
                if (before(items[child], items[best])) best = child;
            }
            if (!before(items[best], moving)) break;
            items[at] = items[best];
            at = best;
        }
        items[at] = moving;
    }
    void build() {
        for (std::size_t at = items.size() / 4 + 1; at-- > 0;) {
            if (at < items.size()) sift_down(at);
        }
    }
    void pop() {
        items.front() = items.back();
        items.pop_back();
        if (!items.empty()) sift_down(0);
    }
};

// A finite double's bits as an unsigned number that orders as the doubles do: negatives
// flipped whole, positives above them. -0 counts as +0, as the comparison of doubles has it.
std::uint64_t order_key(double value) {
    const auto bits = std::bit_cast<std::uint64_t>(value + 0.0);
    return bits >> 63 ? ~bits : bits | (std::uint64_t{1} << 63);
}

// The capped flows by cap, ties by flow index: a sort by key that keeps the order of equal keys
// (the flows come in index order), byte by byte from the lowest (LSD radix). It is the order a
// comparison sort by (cap, index) gives, in a few passes over the flows rather than n log n
// comparisons, which were most of the allocation's time. A byte that all keys share is skipped.
void sort_by_cap(std::span<const flow_demand> flows, allocation_workspace& work) {
    auto& from = work.by_cap;
    auto& to = work.by_cap_next;
    const std::size_t n = work.capped.size();
    from.resize(n);
    to.resize(n);
    for (std::size_t i = 0; i < n; ++i) from[i] = {order_key(flows[work.capped[i]].cap), work.capped[i]};
    constexpr std::size_t small = 64;  // below this, sorting directly is quicker than the passes
    if (n < small) {
        std::sort(from.begin(), from.end(), [](const auto& a, const auto& b) {
            return a.key != b.key ? a.key < b.key : a.flow < b.flow;
        });
    } else {
        std::uint32_t counts[8][256] = {};
        for (const auto& entry : from) {
            for (unsigned byte = 0; byte < 8; ++byte) ++counts[byte][(entry.key >> (8 * byte)) & 0xff];
        }
        for (unsigned byte = 0; byte < 8; ++byte) {
            const auto& count = counts[byte];
            if (count[(from[0].key >> (8 * byte)) & 0xff] == n) continue;
            std::uint32_t start[256];
            std::uint32_t sum = 0;
            for (unsigned digit = 0; digit < 256; ++digit) {
                start[digit] = sum;
                sum += count[digit];
            }
            for (const auto& entry : from) to[start[(entry.key >> (8 * byte)) & 0xff]++] = entry;
            from.swap(to);
        }
    }
    for (std::size_t i = 0; i < n; ++i) work.capped[i] = from[i].flow;
}

}  // namespace

void max_min_rates(std::span<const double> capacities, std::span<const flow_demand> flows, std::span<double> rates,
                   allocation_workspace& work) {
    const std::size_t resource_count = capacities.size();
    work.remaining.assign(capacities.begin(), capacities.end());
    work.users.assign(resource_count, 0);
    work.frozen.assign(flows.size(), 0);
    work.capped.clear();
    work.heap.clear();

    // Flows by resource, compressed rows.
    for (const auto& flow : flows) {
        for (std::uint8_t i = 0; i < flow.resource_count; ++i) ++work.users[flow.resources[i]];
    }
    work.offsets.assign(resource_count + 1, 0);
    for (std::size_t r = 0; r < resource_count; ++r) work.offsets[r + 1] = work.offsets[r] + work.users[r];
    work.members.resize(work.offsets[resource_count]);
    {
        std::vector<std::uint32_t>& fill = work.capped;  // borrowed as a cursor per resource
        fill.assign(work.offsets.begin(), work.offsets.end() - 1);
        for (std::uint32_t f = 0; f < flows.size(); ++f) {
            for (std::uint8_t i = 0; i < flows[f].resource_count; ++i) work.members[fill[flows[f].resources[i]]++] = f;
        }
        work.capped.clear();
    }

    std::size_t unfrozen = flows.size();
    for (std::uint32_t f = 0; f < flows.size(); ++f) {
        rates[f] = 0;
        if (std::isfinite(flows[f].cap)) {
            work.capped.push_back(f);
        } else if (flows[f].resource_count == 0) {
            work.frozen[f] = 1;  // nothing bounds it and nothing carries it: no flow at all
            --unfrozen;
        }
    }
    sort_by_cap(flows, work);
    std::size_t next_capped = 0;

    // Shares only rise as flows freeze (a flow frozen at the lowest share leaves every other
    // resource's share at least where it was), so the heap holds lower bounds: an entry is
    // checked when it reaches the top and pushed back with its current share if it rose.
    const auto share_of = [&](std::uint32_t r) { return std::max(work.remaining[r], 0.0) / work.users[r]; };
    for (std::uint32_t r = 0; r < resource_count; ++r) {
        if (work.users[r] > 0) work.heap.push_back({share_of(r), r});
    }
    share_heap heap{work.heap};
    heap.build();
    const auto pop = [&] { heap.pop(); };
    // Brings a current entry to the top; false when no resource has unfrozen flows.
    const auto settle_top = [&] {
        while (!work.heap.empty()) {
            const auto top = work.heap.front();
            if (work.users[top.resource] == 0) {
                pop();
                continue;
            }
            const double current = share_of(top.resource);
            if (current <= top.share) return true;
            // Its share rose: it moves down to where it now belongs.
            work.heap.front().share = current;
            heap.sift_down(0);
        }
        return false;
    };

    const auto freeze = [&](std::uint32_t f, double rate) {
        work.frozen[f] = 1;
        --unfrozen;
        // Held in a local: read back through `rates`, which might alias the work arrays as far
        // as the compiler knows, it would be loaded again for every resource.
        const double given = std::max(rate, 0.0);
        rates[f] = given;
        const flow_demand& flow = flows[f];
        for (std::uint8_t i = 0; i < flow.resource_count; ++i) {
            const std::uint32_t r = flow.resources[i];
            work.remaining[r] -= given;
            --work.users[r];
        }
    };

    while (unfrozen > 0) {
        const bool have_resource = settle_top();
        while (next_capped < work.capped.size() && work.frozen[work.capped[next_capped]]) ++next_capped;
        const bool have_cap = next_capped < work.capped.size();
        if (!have_resource && !have_cap) break;

        if (have_cap && (!have_resource || flows[work.capped[next_capped]].cap <= work.heap.front().share)) {
            const std::uint32_t f = work.capped[next_capped++];
            freeze(f, flows[f].cap);
            continue;
        }
        const auto bottleneck = work.heap.front().resource;
        const double share = work.heap.front().share;
        pop();
        for (std::uint32_t m = work.offsets[bottleneck]; m < work.offsets[bottleneck + 1]; ++m) {
            const std::uint32_t f = work.members[m];
            if (!work.frozen[f]) freeze(f, share);
        }
    }
}

}  // namespace nearcast::sim
