// One simulated day (or whatever the scenario says) of a catalogue served under one strategy,
// and what it cost: origin bytes, inter-AS bytes, download times, stream start-up and stalls,
// supernode load, and what the faults did.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nearcast/sim/scenario.hpp"
#include "nearcast/sim/topology.hpp"
#include "nearcast/sim/trace.hpp"

namespace nearcast::sim {

// The peers, their places and capacities, and the catalogue: built once per scenario and shared
// by every strategy, so that strategies are compared on the same population.
struct population {
    struct peer {
        std::uint32_t address = 0;       // IPv4
        std::uint32_t origin_as = 0;     // as the routing table maps the address
        std::uint16_t port = 0;
        std::uint16_t as_index = 0;      // into topology::ases; origins: ases.size()
        std::uint8_t capacity_class = 0;
        std::uint8_t prefix_length = 0;
        bool daemon = false;             // runs the always-on daemon: a supernode candidate
        bool reachable = false;          // accepts incoming connections
        float uptime_at_start_s = 0;     // a daemon's uptime when the run begins
    };
    std::vector<peer> peers;             // the peers, then the origin seeders
    std::uint32_t origin_begin = 0;      // index of the first origin seeder
    std::vector<double> upload_bps;      // per capacity class; the last class is the origin's
    std::vector<double> download_bps;
    std::vector<double> item_bytes;
    std::vector<double> popularity_cdf;  // Zipf over items, most popular first
    std::vector<std::uint32_t> peers_per_as;
    std::unordered_map<std::uint64_t, std::uint32_t> by_endpoint;  // address << 16 | port -> peer
    // A replayed workload (workload.trace): its sessions, sorted by time; empty: arrivals drawn.
    struct scheduled_session {
        double at_s = 0;
        std::uint32_t peer = 0;
        std::uint32_t item = 0;
        bool stream = false;
        double linger_s = 0;
    };
    std::vector<scheduled_session> scheduled;

    static std::uint64_t endpoint_key(std::uint32_t address, std::uint16_t port) {
        return (std::uint64_t{address} << 16) | port;
    }
};

// With `trace`, its daemons, sessions and items (config.peers and config.items as apply_trace
// set them); throws scenario_error when a trace address lies in no AS the peers are placed in.
population build_population(const scenario& config, const topology& world, const session_trace* trace = nullptr);

struct percentiles {
    std::uint64_t count = 0;
    double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};
percentiles summarize(std::vector<float> samples);

struct fault_outcome {
    std::string what;                    // e.g. "30% of supernodes at 12 h"
    double at_h = 0;
    std::uint32_t removed = 0;           // supernodes, seeders or peers taken out
    std::uint32_t sessions_interrupted = 0;
    std::uint32_t orphans = 0;           // children of removed supernodes
    std::uint32_t rehomed = 0;           // orphans given a supernode again on their next answer
    std::uint32_t finished_first = 0;    // orphans whose download ended before their next answer
    std::uint32_t left_to_origin = 0;    // orphans no supernode had room for: the origin serves them
    double max_rehome_s = 0;             // longest time an orphan waited for its next answer
    double origin_mbps_before = 0;       // origin upload in the hour before and after
    double origin_mbps_after = 0;
};

struct time_bucket {
    double origin_bytes = 0;
    double peer_intra_bytes = 0;
    double peer_inter_bytes = 0;
    std::uint32_t active_sessions = 0;   // downloading, at the end of the bucket
};

struct as_traffic {
    std::uint32_t asn = 0;
    std::uint32_t peers = 0;
    double intra_bytes = 0;              // peer to peer inside the AS
    double transit_in_bytes = 0;         // from other ASes and the origin
    double transit_out_bytes = 0;        // to other ASes
    // The item bytes of the first session in this AS of each item it asked for: what had to
    // enter it from outside however well it cached and shared (every item once). Over the
    // anchor's transit_in_bytes, the floor of this AS's transit ratio.
    double first_request_bytes = 0;
};

struct strategy_result {
    strategy which = strategy::nearcast;
    double origin_bytes = 0;
    double peer_intra_bytes = 0;
    double peer_inter_bytes = 0;
    double supernode_bytes = 0;          // of the peer bytes, served by supernodes
    double cache_fill_bytes = 0;         // what supernodes fetched into their caches
    double cache_fill_unread_bytes = 0;  // of it, items no child ever read a byte of
    // Prefetch cost: the share of what supernodes fetched into their caches that no child read.
    double prefetch_waste_share() const { return cache_fill_bytes > 0 ? cache_fill_unread_bytes / cache_fill_bytes : 0; }
    double total_bytes() const { return origin_bytes + peer_intra_bytes + peer_inter_bytes; }
    // Share of the bytes peers received (supernodes' cache fills included) that did not come
    // from the origin: once called "origin offload", and it flatters prefetching. What the
    // origin saved is economics.hpp's origin_savings, against origin_only.
    double peer_share_of_received() const;
    double inter_as_share() const;       // share of bytes that crossed an AS border (origin included)
    double peer_inter_as_share() const;  // share of peer-to-peer bytes that crossed one

    std::uint64_t arrivals = 0;
    std::uint64_t arrivals_skipped = 0;  // the chosen peer was busy, dead or a supernode
    std::uint64_t downloads_completed = 0;
    std::uint64_t streams_completed = 0;
    std::uint64_t sessions_aborted = 0;  // gave up, or taken out by a fault
    std::uint64_t sessions_unfinished = 0;  // still downloading when the run ended
    std::uint64_t completed_short = 0;   // completions whose flows did not add up to the item
    std::uint64_t sessions_web_seeded = 0;  // sessions whose web seed backstop called the origin's web seeds in
    double bytes_sent = 0;
    double bytes_received = 0;

    percentiles download_time_s;
    percentiles startup_delay_s;
    double stall_ratio = 0;              // stalled time over played time
    double streams_with_stall = 0;       // share of streams that stalled at least once

    std::uint32_t supernodes_elected = 0;   // at the last election
    std::uint32_t supernodes_peak = 0;
    double max_children_over_limit = 0;     // highest children/admission limit ever seen
    percentiles supernode_upload_gb;
    percentiles supernode_children;         // per supernode, sampled each hour

    std::vector<fault_outcome> faults;
    std::vector<time_bucket> series;
    double bucket_s = 600;
    std::vector<as_traffic> per_as;

    std::uint64_t events = 0;
    // The rate-sharing work: over every tick, the flows whose rates were shared. It grows with
    // the population and with congestion (slower downloads keep more flows open at once).
    std::uint64_t flow_ticks = 0;
    double wall_s = 0;
    double peak_concurrent_sessions = 0;
};

// Called now and then with the simulated time reached.
using progress_callback = std::function<void(strategy, double simulated_s, std::uint64_t events)>;

strategy_result simulate(const scenario& config, const topology& world, const population& people, strategy which,
                         const progress_callback& progress = {});

}  // namespace nearcast::sim
