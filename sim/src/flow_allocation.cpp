#include "nearcast/sim/flow_allocation.hpp"

#include <algorithm>
#include <cmath>

namespace nearcast::sim {

namespace {

// std::push_heap keeps the largest on top: invert for the smallest share, ties by index. A type
// of its own (not a function pointer) so that the heap's comparisons are inlined.
struct heap_order {
    bool operator()(const allocation_workspace::entry& a, const allocation_workspace::entry& b) const {
        return a.share != b.share ? a.share > b.share : a.resource > b.resource;
    }
};

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
    std::sort(work.capped.begin(), work.capped.end(), [&](std::uint32_t a, std::uint32_t b) {
        return flows[a].cap != flows[b].cap ? flows[a].cap < flows[b].cap : a < b;
    });
    std::size_t next_capped = 0;

    // Shares only rise as flows freeze (a flow frozen at the lowest share leaves every other
    // resource's share at least where it was), so the heap holds lower bounds: an entry is
    // checked when it reaches the top and pushed back with its current share if it rose.
    const auto share_of = [&](std::uint32_t r) { return std::max(work.remaining[r], 0.0) / work.users[r]; };
    for (std::uint32_t r = 0; r < resource_count; ++r) {
        if (work.users[r] > 0) work.heap.push_back({share_of(r), r});
    }
    std::make_heap(work.heap.begin(), work.heap.end(), heap_order{});
    const auto pop = [&] {
        std::pop_heap(work.heap.begin(), work.heap.end(), heap_order{});
        work.heap.pop_back();
    };
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
            pop();
            work.heap.push_back({current, top.resource});
            std::push_heap(work.heap.begin(), work.heap.end(), heap_order{});
        }
        return false;
    };

    const auto freeze = [&](std::uint32_t f, double rate) {
        work.frozen[f] = 1;
        --unfrozen;
        rates[f] = std::max(rate, 0.0);
        for (std::uint8_t i = 0; i < flows[f].resource_count; ++i) {
            const std::uint32_t r = flows[f].resources[i];
            work.remaining[r] -= rates[f];
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
