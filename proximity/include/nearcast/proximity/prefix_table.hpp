// Longest-prefix match from an address to its most specific announced prefix and origin ASes.
//
// Immutable once built. Each family is a poptrie (Asai and Ohara, SIGCOMM 2015): a direct
// table on the top bits, then 64-way nodes whose children and leaves are found by popcount
// over two bitmaps, so a lookup touches a few small, mostly cached arrays. An IPv4 /24 or
// shorter is found with the direct table and at most one node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nearcast/proximity/address.hpp"
#include "nearcast/proximity/routing_data.hpp"

namespace nearcast::proximity {

// A lookup result: the matched prefix and its origins (best-supported first).
struct route_view {
    ip_prefix prefix;
    std::span<const std::uint32_t> origins;
    std::uint32_t primary_origin() const { return origins.empty() ? 0 : origins.front(); }
};

namespace detail {

struct trie_node {
    std::uint64_t child_bits = 0;     // slot i is an inner node
    std::uint64_t leaf_run_bits = 0;  // slot i starts a new run of equal leaves
    std::uint32_t leaf_base = 0;      // index of this node's first leaf
    std::uint32_t child_base = 0;     // index of this node's first child
};

// One family's trie over route ids. Key is uint32_t (IPv4) or uint128 (IPv6).
template <class Key, unsigned Width, unsigned DirectBits>
class poptrie {
public:
    static constexpr std::uint32_t node_flag = 0x8000'0000u;
    static constexpr unsigned stride = 6;

    // `prefixes[i]` is route id i + 1; id 0 means "no route". Prefixes must be unique.
    struct entry {
        Key network;
        std::uint8_t length;
        std::uint32_t id;
    };
    static poptrie build(std::vector<entry> entries);

    // The id of the longest prefix containing `key`, or 0.
    std::uint32_t find(Key key) const {
        std::uint32_t slot = direct_[static_cast<std::size_t>(key >> (Width - DirectBits))];
        unsigned position = DirectBits;
        while (slot & node_flag) {
            const trie_node& node = nodes_[slot & ~node_flag];
            const unsigned chunk = chunk_at(key, position);
            const std::uint64_t up_to_chunk = ~std::uint64_t{0} >> (63 - chunk);
            if (node.child_bits & (std::uint64_t{1} << chunk)) {
                slot = node_flag | (node.child_base - 1 +
                                    static_cast<std::uint32_t>(__builtin_popcountll(node.child_bits & up_to_chunk)));
                position += stride;
            } else {
                return leaves_[node.leaf_base - 1 +
                               static_cast<std::uint32_t>(__builtin_popcountll(node.leaf_run_bits & up_to_chunk))];
            }
        }
        return slot;
    }

    std::size_t memory_bytes() const {
        return direct_.size() * sizeof(std::uint32_t) + nodes_.size() * sizeof(trie_node) +
               leaves_.size() * sizeof(std::uint32_t);
    }

    // Raw arrays, for the snapshot.
    std::vector<std::uint32_t> direct_;
    std::vector<trie_node> nodes_;
    std::vector<std::uint32_t> leaves_;
    // Throws std::invalid_argument when an index points outside its array or past `route_count`.
    void validate(std::uint32_t route_count) const;

private:
    static unsigned chunk_at(Key key, unsigned position) {
        if (position + stride <= Width) return static_cast<unsigned>(key >> (Width - position - stride)) & 63u;
        return static_cast<unsigned>(key << (position + stride - Width)) & 63u;
    }
};

// A stored route: the network, the primary origin inline (the fast path reads one record),
// and the place of all origins in the shared pool.
template <class Key>
struct stored_route {
    Key network;
    std::uint32_t primary_origin;
    std::uint32_t origins_at;
    std::uint16_t origin_count;
    std::uint8_t length;
    std::uint8_t reserved;
};

}  // namespace detail

class prefix_table {
public:
    prefix_table();
    // Routes must have unique prefixes; a route without origins is stored with none.
    explicit prefix_table(std::span<const route> routes);

    std::optional<route_view> lookup(ip_address address) const;
    // The primary origin AS of the longest match, 0 when there is none: the hot path.
    std::uint32_t origin_of(ip_address address) const {
        if (address.is_v4()) {
            const std::uint32_t id = v4_trie_.find(address.v4_bits());
            return id ? v4_routes_[id - 1].primary_origin : 0;
        }
        const std::uint32_t id = v6_trie_.find(address.v6_bits());
        return id ? v6_routes_[id - 1].primary_origin : 0;
    }

    std::size_t size() const { return v4_routes_.size() + v6_routes_.size(); }
    std::size_t v4_size() const { return v4_routes_.size(); }
    std::size_t v6_size() const { return v6_routes_.size(); }
    std::size_t memory_bytes() const;
    // Every route, IPv4 first, each family in (network, length) order.
    std::vector<route> routes() const;

    using v4_trie = detail::poptrie<std::uint32_t, 32, 18>;
    using v6_trie = detail::poptrie<uint128, 128, 16>;

private:
    friend struct snapshot_access;
    route_view view_v4(std::uint32_t id) const;
    route_view view_v6(std::uint32_t id) const;
    v4_trie v4_trie_;
    v6_trie v6_trie_;
    std::vector<detail::stored_route<std::uint32_t>> v4_routes_;
    std::vector<detail::stored_route<uint128>> v6_routes_;
    std::vector<std::uint32_t> origins_;
};

}  // namespace nearcast::proximity
