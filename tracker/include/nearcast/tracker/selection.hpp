// Whom a peer meets: the tracker's peer selection policy. Pure: no sockets, no clocks, and the
// random generator is passed in, so the simulator runs exactly this code.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "nearcast/proximity/as_graph.hpp"
#include "nearcast/proximity/distance.hpp"
#include "nearcast/tracker/swarm.hpp"

namespace nearcast::tracker {

struct selection_options {
    // Share of an answer given to random peers beyond the nearest, so that a swarm never
    // splits into islands of neighbourhoods that do not know each other.
    double far_share = 0.2;
    // A swarm larger than this is ranked on a random window of this many peers: the answer
    // stays cheap however large the swarm, and the window moves with every announce.
    std::uint32_t scan_limit = 4096;
    proximity::distance_options distance;
};

// The origin backstop: when a peer's neighbourhood cannot serve it, origin seeders join the
// answer; when the swarm serves itself, they stay out.
struct origin_options {
    // Fewer seeds than this within `near_enough` of the requester calls in the origin.
    std::uint32_t min_near_seeds = 2;
    proximity::nearness near_enough = proximity::nearness::adjacent_as;
    // Origins in one answer (at least two lets the client balance between them).
    std::uint32_t max_origins = 2;
};

// AS-hop distances already computed, shared across announces (BFS on the AS graph is the one
// costly step). Bounded: cleared when it grows past `capacity`.
class hop_cache {
public:
    explicit hop_cache(std::size_t capacity = 1 << 16) : capacity_(capacity) {}
    // Hops from a to b, or max_hops + 1 when farther or unconnected.
    unsigned hops(const proximity::as_graph& graph, std::uint32_t a, std::uint32_t b, unsigned max_hops);

private:
    std::size_t capacity_;
    std::unordered_map<std::uint64_t, std::uint8_t> known_;
};

// Counts of returned peers per distance class, for /stats.
using nearness_histogram = std::array<std::uint64_t, 6>;

struct requester {
    peer_record record;  // address, port, location and seed flag of the announcing peer
};

struct selection {
    std::vector<endpoint> peers;     // at most numwant, origins included
    std::uint32_t origins_added = 0;
    std::uint32_t near_seeds = 0;    // seeds within origin_options::near_enough
};

// Picks at most `numwant` peers of `peers` for `who`: nearest first by the proximity distance,
// ties at random, a `far_share` of random farther peers; a seed gets leechers only; the
// requester never appears. Origin seeders (flagged records in `peers` or given in `origins`)
// are only added by the backstop rule.
selection select_peers(const std::vector<peer_record>& peers, const std::vector<peer_record>& origins,
                       const requester& who, std::uint32_t numwant, const proximity::as_graph& graph,
                       const selection_options& options, const origin_options& origin_rule, hop_cache& hops,
                       std::mt19937_64& random, nearness_histogram* histogram = nullptr);

// The distance between two located records, as proximity::distance defines it, from the
// fields the tracker keeps (no table lookups).
proximity::network_distance record_distance(const peer_record& a, const peer_record& b,
                                            const proximity::as_graph& graph,
                                            const proximity::distance_options& options, hop_cache& hops);

}  // namespace nearcast::tracker
