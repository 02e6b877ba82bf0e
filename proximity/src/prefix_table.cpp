// Building the poptrie and the route records behind prefix_table.
#include "nearcast/proximity/prefix_table.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace nearcast::proximity {

namespace detail {

namespace {

template <class Key>
struct by_network_then_length {
    template <class Entry>
    bool operator()(const Entry& a, const Entry& b) const {
        return a.network != b.network ? a.network < b.network : a.length < b.length;
    }
};

}  // namespace

// Builds the trie. The entries are sorted by (network, length): then a prefix always comes
// before the prefixes nested in it, so filling slots in that order lets the more specific
// prefix overwrite the less specific, and the entries that fall into one slot are contiguous.
template <class Key, unsigned Width, unsigned DirectBits>
class poptrie_builder {
public:
    using trie = poptrie<Key, Width, DirectBits>;
    using entry = typename trie::entry;
    using iterator = typename std::vector<entry>::const_iterator;
    static constexpr unsigned stride = trie::stride;

    explicit poptrie_builder(trie& out) : out_(out) {}

    void build(const std::vector<entry>& entries) {
        out_.direct_.assign(std::size_t{1} << DirectBits, 0);
        auto at = entries.begin();
        // Prefixes no longer than the direct table's bits fill ranges of it.
        for (const entry& item : entries) {
            if (item.length > DirectBits) continue;
            const std::size_t first = direct_slot(item.network);
            const std::size_t count = std::size_t{1} << (DirectBits - item.length);
            std::fill_n(out_.direct_.begin() + static_cast<std::ptrdiff_t>(first), count, item.id);
        }
        // Longer prefixes hang below their direct slot in a node.
        while (at != entries.end()) {
            if (at->length <= DirectBits) {
                ++at;
                continue;
            }
            const std::size_t slot = direct_slot(at->network);
            auto end = at;
            while (end != entries.end() && direct_slot(end->network) == slot) ++end;
            const std::uint32_t node = allocate_nodes(1);
            fill_node(node, DirectBits, out_.direct_[slot], at, end);
            out_.direct_[slot] = trie::node_flag | node;
            at = end;
        }
    }

private:
    static std::size_t direct_slot(Key key) { return static_cast<std::size_t>(key >> (Width - DirectBits)); }

    static unsigned chunk_at(Key key, unsigned position) {
        if (position + stride <= Width) return static_cast<unsigned>(key >> (Width - position - stride)) & 63u;
        return static_cast<unsigned>(key << (position + stride - Width)) & 63u;
    }

    std::uint32_t allocate_nodes(std::size_t count) {
        const std::size_t first = out_.nodes_.size();
        if (first + count >= trie::node_flag) throw std::length_error("prefix table: too many trie nodes");
        out_.nodes_.resize(first + count);
        return static_cast<std::uint32_t>(first);
    }

    // Fills node `index` at bit `position`. [first, last) are the prefixes longer than
    // `position` inside the node's range; `inherited` is the route of the whole range.
    void fill_node(std::uint32_t index, unsigned position, std::uint32_t inherited, iterator first, iterator last) {
        std::uint32_t slots[64];
        std::fill(std::begin(slots), std::end(slots), inherited);
        std::uint64_t child_bits = 0;
        for (auto at = first; at != last; ++at) {
            const unsigned slot = chunk_at(at->network, position);
            if (at->length > position + stride) {
                child_bits |= std::uint64_t{1} << slot;
            } else {
                const unsigned count = 1u << (position + stride - at->length);
                std::fill_n(slots + slot, count, at->id);
            }
        }

        trie_node node;
        node.child_bits = child_bits;
        node.leaf_base = static_cast<std::uint32_t>(out_.leaves_.size());
        bool first_leaf = true;
        std::uint32_t previous = 0;
        for (unsigned slot = 0; slot < 64; ++slot) {
            if (child_bits & (std::uint64_t{1} << slot)) continue;
            if (first_leaf || slots[slot] != previous) {
                node.leaf_run_bits |= std::uint64_t{1} << slot;
                out_.leaves_.push_back(slots[slot]);
                previous = slots[slot];
                first_leaf = false;
            }
        }
        const int child_count = __builtin_popcountll(child_bits);
        node.child_base = child_count ? allocate_nodes(static_cast<std::size_t>(child_count)) : 0;
        out_.nodes_[index] = node;

        // Each child gets the prefixes longer than its own start; those are the tail of the
        // run of prefixes whose network falls in the child's slot.
        std::uint32_t child = node.child_base;
        auto at = first;
        while (at != last) {
            const unsigned slot = chunk_at(at->network, position);
            auto end = at;
            while (end != last && chunk_at(end->network, position) == slot) ++end;
            if (child_bits & (std::uint64_t{1} << slot)) {
                auto deeper = at;
                while (deeper != end && deeper->length <= position + stride) ++deeper;
                fill_node(child++, position + stride, slots[slot], deeper, end);
            }
            at = end;
        }
    }

    trie& out_;
};

template <class Key, unsigned Width, unsigned DirectBits>
poptrie<Key, Width, DirectBits> poptrie<Key, Width, DirectBits>::build(std::vector<entry> entries) {
    std::sort(entries.begin(), entries.end(), by_network_then_length<Key>());
    poptrie trie;
    poptrie_builder<Key, Width, DirectBits>(trie).build(entries);
    trie.direct_.shrink_to_fit();
    trie.nodes_.shrink_to_fit();
    trie.leaves_.shrink_to_fit();
    return trie;
}

template <class Key, unsigned Width, unsigned DirectBits>
void poptrie<Key, Width, DirectBits>::validate(std::uint32_t route_count) const {
    if (direct_.size() != (std::size_t{1} << DirectBits)) throw std::invalid_argument("direct table has the wrong size");
    // Every node must hang below exactly one parent, at a depth inside the key: then a lookup
    // always ends, and every index it computes is inside its array.
    std::vector<std::uint8_t> seen(nodes_.size(), 0);
    std::vector<std::pair<std::uint32_t, unsigned>> pending;
    const auto visit = [&](std::uint32_t index, unsigned position) {
        if (index >= nodes_.size()) throw std::invalid_argument("trie node index out of range");
        if (seen[index]) throw std::invalid_argument("trie node reached twice");
        if (position >= Width) throw std::invalid_argument("trie deeper than the address");
        seen[index] = 1;
        pending.emplace_back(index, position);
    };
    for (std::uint32_t slot : direct_) {
        if (slot & node_flag) {
            visit(slot & ~node_flag, DirectBits);
        } else if (slot > route_count) {
            throw std::invalid_argument("direct table points past the routes");
        }
    }
    while (!pending.empty()) {
        const auto [index, position] = pending.back();
        pending.pop_back();
        const trie_node& node = nodes_[index];
        const auto children = static_cast<std::size_t>(__builtin_popcountll(node.child_bits));
        const auto runs = static_cast<std::size_t>(__builtin_popcountll(node.leaf_run_bits));
        if (node.leaf_run_bits & node.child_bits) throw std::invalid_argument("trie slot is both leaf and node");
        const std::uint64_t leaf_slots = ~node.child_bits;
        if (leaf_slots && !(node.leaf_run_bits & (leaf_slots & (~leaf_slots + 1)))) {
            throw std::invalid_argument("trie node's first leaf starts no run");
        }
        if (std::size_t{node.leaf_base} + runs > leaves_.size()) throw std::invalid_argument("trie leaves out of range");
        if (children && std::size_t{node.child_base} + children > nodes_.size()) {
            throw std::invalid_argument("trie children out of range");
        }
        for (std::size_t i = 0; i < runs; ++i) {
            if (leaves_[node.leaf_base + i] > route_count) throw std::invalid_argument("trie leaf points past the routes");
        }
        for (std::size_t i = 0; i < children; ++i) {
            visit(node.child_base + static_cast<std::uint32_t>(i), position + stride);
        }
    }
}

template class poptrie<std::uint32_t, 32, 18>;
template class poptrie<uint128, 128, 16>;

}  // namespace detail

namespace {

template <class Key>
Key key_of(ip_address address) {
    if constexpr (sizeof(Key) == 4) {
        return address.v4_bits();
    } else {
        return address.v6_bits();
    }
}

template <class Trie, class Key>
void build_family(std::span<const route> routes, ip_family family, Trie& trie,
                  std::vector<detail::stored_route<Key>>& stored, std::vector<std::uint32_t>& origins) {
    std::vector<const route*> chosen;
    for (const route& item : routes) {
        if (item.prefix.network.family() == family) chosen.push_back(&item);
    }
    std::sort(chosen.begin(), chosen.end(), [](const route* a, const route* b) { return a->prefix < b->prefix; });
    for (std::size_t i = 1; i < chosen.size(); ++i) {
        if (chosen[i]->prefix == chosen[i - 1]->prefix) {
            throw std::invalid_argument("prefix table: prefix " + chosen[i]->prefix.to_string() + " given twice");
        }
    }

    // Value-initialised, so padding bytes are zero and snapshots are byte-for-byte repeatable.
    stored = std::vector<detail::stored_route<Key>>(chosen.size());
    std::vector<typename Trie::entry> entries;
    entries.reserve(chosen.size());
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        const route& item = *chosen[i];
        auto& record = stored[i];
        record.network = key_of<Key>(item.prefix.network);
        record.length = item.prefix.length;
        record.origins_at = static_cast<std::uint32_t>(origins.size());
        const std::size_t count = std::min<std::size_t>(item.origins.size(), 0xffff);
        record.origin_count = static_cast<std::uint16_t>(count);
        record.primary_origin = count ? item.origins.front() : 0;
        origins.insert(origins.end(), item.origins.begin(), item.origins.begin() + static_cast<std::ptrdiff_t>(count));
        entries.push_back({record.network, record.length, static_cast<std::uint32_t>(i + 1)});
    }
    trie = Trie::build(std::move(entries));
}

}  // namespace

prefix_table::prefix_table() : prefix_table(std::span<const route>{}) {}

prefix_table::prefix_table(std::span<const route> routes) {
    build_family(routes, ip_family::v4, v4_trie_, v4_routes_, origins_);
    build_family(routes, ip_family::v6, v6_trie_, v6_routes_, origins_);
    origins_.shrink_to_fit();
}

route_view prefix_table::view_v4(std::uint32_t id) const {
    const auto& record = v4_routes_[id - 1];
    return {{ip_address::v4(record.network), record.length}, {origins_.data() + record.origins_at, record.origin_count}};
}

route_view prefix_table::view_v6(std::uint32_t id) const {
    const auto& record = v6_routes_[id - 1];
    return {{ip_address::v6(record.network), record.length}, {origins_.data() + record.origins_at, record.origin_count}};
}

std::optional<route_view> prefix_table::lookup(ip_address address) const {
    if (address.is_v4()) {
        const std::uint32_t id = v4_trie_.find(address.v4_bits());
        if (!id) return std::nullopt;
        return view_v4(id);
    }
    const std::uint32_t id = v6_trie_.find(address.v6_bits());
    if (!id) return std::nullopt;
    return view_v6(id);
}

std::size_t prefix_table::memory_bytes() const {
    return v4_trie_.memory_bytes() + v6_trie_.memory_bytes() +
           v4_routes_.size() * sizeof(v4_routes_[0]) + v6_routes_.size() * sizeof(v6_routes_[0]) +
           origins_.size() * sizeof(std::uint32_t);
}

std::vector<route> prefix_table::routes() const {
    std::vector<route> all;
    all.reserve(size());
    const auto add = [&](const route_view& view) {
        all.push_back({view.prefix, {view.origins.begin(), view.origins.end()}});
    };
    for (std::uint32_t id = 1; id <= v4_routes_.size(); ++id) add(view_v4(id));
    for (std::uint32_t id = 1; id <= v6_routes_.size(); ++id) add(view_v6(id));
    return all;
}

}  // namespace nearcast::proximity
