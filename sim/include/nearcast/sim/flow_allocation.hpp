// Max-min fair sharing of bandwidth among flows (progressive filling): every flow's rate rises
// together until a resource it uses is full (an uploader's capacity, a downloader's, an AS's
// transit, an origin's budget for a swarm) or it reaches its own cap; those flows freeze and
// the rest keep rising. Pure and deterministic.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace nearcast::sim {

struct flow_demand {
    static constexpr std::size_t max_resources = 5;
    std::uint32_t resources[max_resources] = {};
    std::uint8_t resource_count = 0;
    double cap = std::numeric_limits<double>::infinity();  // the flow's own limit, bytes/s

    void use(std::uint32_t resource) { resources[resource_count++] = resource; }
};

// Reused buffers, so that allocating every tick does not allocate memory.
struct allocation_workspace {
    std::vector<double> remaining;
    std::vector<std::uint32_t> users;
    std::vector<std::uint32_t> offsets;
    std::vector<std::uint32_t> members;
    std::vector<std::uint32_t> capped;
    struct keyed {
        std::uint64_t key;  // the cap's bits, ordered as the caps are
        std::uint32_t flow;
    };
    std::vector<keyed> by_cap, by_cap_next;  // the capped flows being sorted
    std::vector<std::uint8_t> frozen;
    struct entry {
        double share;
        std::uint32_t resource;
    };
    std::vector<entry> heap;
};

// Fills `rates` (one per flow). A flow that uses no resource and has no finite cap gets 0.
void max_min_rates(std::span<const double> capacities, std::span<const flow_demand> flows, std::span<double> rates,
                   allocation_workspace& work);

}  // namespace nearcast::sim
