#include "nearcast/tracker/selection.hpp"

#include <algorithm>
#include <array>

namespace nearcast::tracker {

namespace {

using proximity::nearness;
using proximity::network_distance;

bool same_bits(const peer_record& a, const peer_record& b, unsigned length) {
    if (a.v6() != b.v6()) return false;
    if (!a.v6()) {
        if (length == 0) return true;
        const std::uint32_t mask = length >= 32 ? 0xffff'ffffu : ~(0xffff'ffffu >> length);
        return (static_cast<std::uint32_t>(a.address_low ^ b.address_low) & mask) == 0;
    }
    const auto masked_equal = [](std::uint64_t x, std::uint64_t y, unsigned bits) {
        if (bits == 0) return true;
        const std::uint64_t mask = bits >= 64 ? ~std::uint64_t{0} : ~(~std::uint64_t{0} >> bits);
        return ((x ^ y) & mask) == 0;
    };
    return masked_equal(a.address_high, b.address_high, std::min(length, 64u)) &&
           masked_equal(a.address_low, b.address_low, length > 64 ? length - 64 : 0);
}

// A candidate with its sort key: cost in the high half, a random tie-break in the low half.
struct ranked {
    std::uint64_t key;
    std::uint32_t index;
};

}  // namespace

unsigned hop_cache::hops(const proximity::as_graph& graph, std::uint32_t a, std::uint32_t b, unsigned max_hops) {
    const std::uint64_t key = a < b ? (std::uint64_t{a} << 32) | b : (std::uint64_t{b} << 32) | a;
    if (const auto found = known_.find(key); found != known_.end()) return found->second;
    if (known_.size() >= capacity_) known_.clear();
    const auto counted = graph.hops(a, b, max_hops);
    const unsigned value = counted ? *counted : max_hops + 1;
    known_.emplace(key, static_cast<std::uint8_t>(std::min(value, 255u)));
    return value;
}

namespace {

// The part of a distance that depends on the two origin ASes only.
network_distance as_distance(std::uint32_t a, std::uint32_t b, const proximity::as_graph& graph,
                             const proximity::distance_options& options, hop_cache& hops) {
    if (a == 0 || b == 0) return {nearness::unknown, 0};
    if (a == b) return {nearness::same_as, 0};
    if (graph.adjacent(a, b)) return {nearness::adjacent_as, 1};
    const unsigned counted = hops.hops(graph, a, b, options.max_as_hops);
    if (counted <= options.max_as_hops) return {nearness::as_hops, counted};
    return {nearness::unknown, 0};
}

// The distance of two records, the AS part through `as_part(origin AS of b)`.
template <typename AsPart>
network_distance distance_with(const peer_record& a, const peer_record& b, const proximity::distance_options& options,
                               AsPart&& as_part) {
    const unsigned subnet = a.v6() ? options.subnet_v6 : options.subnet_v4;
    if (same_bits(a, b, subnet)) return {nearness::same_subnet, 0};
    if (a.prefix_length == peer_location::no_prefix || b.prefix_length == peer_location::no_prefix) {
        return {nearness::unknown, 0};
    }
    if (a.prefix_length == b.prefix_length && same_bits(a, b, a.prefix_length)) return {nearness::same_prefix, 0};
    return as_part(b.origin_as);
}

// The requester's AS distances to the ASes of one swarm, remembered for one answer: a swarm's
// peers crowd into a few ASes, and each AS costs a graph search the first time only.
class as_distance_memo {
public:
    as_distance_memo(std::uint32_t from, const proximity::as_graph& graph, const proximity::distance_options& options,
                     hop_cache& hops)
        : from_(from), graph_(graph), options_(options), hops_(hops) {}
    network_distance operator()(std::uint32_t to) {
        auto& slot = slots_[(to * 0x9E3779B1u) >> (32 - slot_bits)];
        if (!slot.filled || slot.asn != to) slot = {to, true, as_distance(from_, to, graph_, options_, hops_)};
        return slot.distance;
    }

private:
    static constexpr unsigned slot_bits = 6;
    struct entry {
        std::uint32_t asn = 0;
        bool filled = false;
        network_distance distance{};
    };
    std::uint32_t from_;
    const proximity::as_graph& graph_;
    const proximity::distance_options& options_;
    hop_cache& hops_;
    std::array<entry, 1u << slot_bits> slots_{};
};

// A tie-break that looks random but costs no generator call per candidate (splitmix64).
std::uint32_t tie_break(std::uint64_t salt, std::uint64_t index) {
    std::uint64_t z = salt + index * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return static_cast<std::uint32_t>(z ^ (z >> 31));
}

}  // namespace

network_distance record_distance(const peer_record& a, const peer_record& b, const proximity::as_graph& graph,
                                 const proximity::distance_options& options, hop_cache& hops) {
    return distance_with(a, b, options, [&](std::uint32_t to) { return as_distance(a.origin_as, to, graph, options, hops); });
}

selection select_peers(const std::vector<peer_record>& peers, const std::vector<peer_record>& origins,
                       const requester& who, std::uint32_t numwant, const proximity::as_graph& graph,
                       const selection_options& options, const origin_options& origin_rule, hop_cache& hops,
                       std::mt19937_64& random, nearness_histogram* histogram) {
    selection chosen;
    const peer_record& me = who.record;
    // An origin that announces as a seeder is given no peers: it reaches downloaders only
    // through the answers that name it (the backstop below). Given the swarm's leechers it would
    // connect to each of them itself and serve swarms that serve themselves.
    if (me.origin()) return chosen;

    // The window of candidates: all of a normal swarm, a moving random window of a huge one.
    const std::size_t total = peers.size();
    const std::size_t window = std::min<std::size_t>(total, std::max<std::uint32_t>(options.scan_limit, 1));
    const std::size_t start = total > window ? random() % total : 0;

    std::vector<ranked> candidates;
    candidates.reserve(window);
    chosen.peers.reserve(std::min<std::size_t>(numwant, window + origins.size()));
    as_distance_memo as_part(me.origin_as, graph, options.distance, hops);
    const std::uint64_t salt = random();
    for (std::size_t step = 0; step < window; ++step) {
        const std::size_t i = (start + step) % total;
        const peer_record& peer = peers[i];
        if (peer.same_endpoint(me) || peer.origin()) continue;
        if (me.seed() && peer.seed()) continue;  // a seed needs leechers only
        const network_distance distance = distance_with(me, peer, options.distance, as_part);
        if (peer.seed() && distance.kind <= origin_rule.near_enough) ++chosen.near_seeds;
        candidates.push_back({(std::uint64_t{distance.cost()} << 32) | tie_break(salt, i), static_cast<std::uint32_t>(i)});
    }

    // The origin backstop: only a downloader whose neighbourhood lacks seeds gets origins.
    std::vector<ranked> origin_picks;
    if (!me.seed() && chosen.near_seeds < origin_rule.min_near_seeds) {
        for (std::uint32_t i = 0; i < origins.size(); ++i) {
            const auto distance = record_distance(me, origins[i], graph, options.distance, hops);
            origin_picks.push_back({(std::uint64_t{distance.cost()} << 32) | (random() & 0xffff'ffffu), i});
        }
        const std::size_t keep = std::min<std::size_t>({origin_picks.size(), origin_rule.max_origins, numwant});
        std::partial_sort(origin_picks.begin(), origin_picks.begin() + static_cast<std::ptrdiff_t>(keep),
                          origin_picks.end(), [](const ranked& x, const ranked& y) { return x.key < y.key; });
        origin_picks.resize(keep);
    }
    const std::uint32_t room = numwant - static_cast<std::uint32_t>(origin_picks.size());

    const auto record = [&](std::uint64_t key) {
        if (!histogram) return;
        const std::uint32_t cost = static_cast<std::uint32_t>(key >> 32);
        const nearness kind = cost >= 10'000 ? nearness::unknown
                              : cost >= 40   ? nearness::as_hops
                                             : static_cast<nearness>(cost / 10);
        ++(*histogram)[static_cast<std::size_t>(kind)];
    };

    if (candidates.size() <= room) {
        for (const ranked& pick : candidates) {
            chosen.peers.push_back(peers[pick.index].where());
            record(pick.key);
        }
    } else {
        // The nearest `near_count` by key, then `far_count` drawn at random from the rest.
        const auto far_count = std::min<std::uint32_t>(
            room, static_cast<std::uint32_t>(static_cast<double>(room) * options.far_share + 0.5));
        const std::uint32_t near_count = room - far_count;
        const auto near_end = candidates.begin() + near_count;
        std::nth_element(candidates.begin(), near_end, candidates.end(),
                         [](const ranked& x, const ranked& y) { return x.key < y.key; });
        for (auto at = candidates.begin(); at != near_end; ++at) {
            chosen.peers.push_back(peers[at->index].where());
            record(at->key);
        }
        const std::size_t rest = candidates.size() - near_count;
        for (std::uint32_t drawn = 0; drawn < far_count; ++drawn) {
            const std::size_t pick = near_count + drawn + random() % (rest - drawn);
            std::swap(candidates[near_count + drawn], candidates[pick]);
            chosen.peers.push_back(peers[candidates[near_count + drawn].index].where());
            record(candidates[near_count + drawn].key);
        }
    }
    for (const ranked& pick : origin_picks) {
        chosen.peers.push_back(origins[pick.index].where());
        record(pick.key);
    }
    chosen.origins_added = static_cast<std::uint32_t>(origin_picks.size());
    return chosen;
}

}  // namespace nearcast::tracker
