// The AS adjacency graph seen in BGP AS paths, with AS-hop distance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nearcast/proximity/routing_data.hpp"

namespace nearcast::proximity {

class as_graph {
public:
    as_graph() = default;
    explicit as_graph(std::span<const as_link> links);

    std::size_t as_count() const { return asns_.size(); }
    std::size_t link_count() const { return neighbours_.size() / 2; }
    bool contains(std::uint32_t asn) const;
    bool adjacent(std::uint32_t a, std::uint32_t b) const;
    // AS hops from a to b: 0 when a == b, 1 when adjacent; nullopt when either is unknown,
    // they are not connected, or they are more than `max_hops` apart.
    std::optional<unsigned> hops(std::uint32_t a, std::uint32_t b, unsigned max_hops) const;
    std::vector<as_link> links() const;
    std::size_t memory_bytes() const;

    // Raw compressed-sparse-row form, for the snapshot.
    struct raw_view {
        std::span<const std::uint32_t> asns;        // sorted
        std::span<const std::uint32_t> offsets;     // asns.size() + 1
        std::span<const std::uint32_t> neighbours;  // indices into asns
    };
    raw_view raw() const { return {asns_, offsets_, neighbours_}; }
    // Validates and adopts raw arrays; throws std::invalid_argument if they are inconsistent.
    static as_graph from_raw(std::vector<std::uint32_t> asns, std::vector<std::uint32_t> offsets,
                             std::vector<std::uint32_t> neighbours);

private:
    std::optional<std::uint32_t> index_of(std::uint32_t asn) const;
    std::vector<std::uint32_t> asns_;
    std::vector<std::uint32_t> offsets_;
    std::vector<std::uint32_t> neighbours_;
};

}  // namespace nearcast::proximity
