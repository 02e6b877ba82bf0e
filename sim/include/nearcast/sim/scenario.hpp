// A simulation scenario: every parameter with its default, read from a JSON or INI file and
// overridden one at a time with `key=value`. Keys are "section.name", as in the INI file
// ([workload] peers = 1000 is workload.peers).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace nearcast::sim {

// A bad scenario file, key or value: the message names the input and what is wrong.
struct scenario_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct capacity_class {
    std::string name;
    double share = 0;          // of peers
    double upload_mbps = 0;
    double download_mbps = 0;
};

enum class fault_kind { supernodes, seeders, as };

struct fault {
    fault_kind kind = fault_kind::supernodes;
    double at_h = 0;            // simulated hours from the start
    double share = 0;           // of the supernodes or seeders removed (kind != as)
    std::uint32_t asn = 0;      // the AS removed (kind == as)
};

enum class strategy { origin_only, random, prefix, as, as_adjacent, nearcast };
std::string to_string(strategy value);

struct scenario {
    std::uint64_t seed = 1;
    double duration_h = 24;
    double tick_s = 1;  // how often flow rates are re-shared

    // Topology: "synthetic" or proximity inputs (a snapshot, MRT, pfx2as, ...), comma-separated.
    std::string topology = "synthetic";
    std::uint32_t as_count = 40;  // peers are placed in this many ASes, the largest first
    // "address_space" (peers in proportion to each AS's addresses) or a table "ASN:weight,...".
    std::string placement = "address_space";

    // Workload.
    std::uint64_t peers = 10'000;
    std::uint32_t items = 1'000;
    double zipf_exponent = 0.8;
    double item_size_mb = 200;
    double item_size_spread = 0.5;    // sizes uniform in mean x (1 +- spread)
    double sessions_per_peer = 1;     // per simulated day
    double daily_cycle = 0.5;         // amplitude of the daily arrival cycle, peak at 20:00
    double stream_share = 0.3;        // of sessions that stream instead of download
    double play_rate_kbps = 4000;
    double startup_buffer_s = 4;
    double seed_time_s = 600;         // mean time a peer keeps seeding after it completes
    double patience_s = 0;            // mean time a user waits before giving up; 0 = forever
    std::uint32_t flash_crowd = 0;    // peers that all ask for the most popular item at time 0
    std::vector<capacity_class> classes = {
        {"dsl", 0.4, 1, 16}, {"cable", 0.4, 10, 100}, {"fibre", 0.2, 50, 500}};
    double daemon_share = 0.05;       // peers running the always-on daemon (supernode candidates)
    double reachable_share = 0.6;     // of daemons, those that accept incoming connections
    // A file of items, daemons and sessions replayed instead of drawn (trace.hpp); empty: drawn.
    // With a trace, peers and items are the trace's; the Zipf, size, arrival and daemon keys
    // are not used.
    std::string trace;

    // The peer client.
    std::uint32_t max_connections = 8;
    std::uint32_t numwant = 50;
    double announce_interval_s = 300;
    // Origin deference (the peer's --defer-origin-at): near peers must hold this many pieces a
    // download lacks for the origin to be left alone; 0 = never defer. The peer's default.
    std::uint32_t defer_origin_at = 8;
    double far_rate_limit_kbps = 800;  // nearcast's far peer class (100 kB/s)

    // Origin seeders.
    std::uint32_t seeders = 2;
    double seeder_capacity_mbps = 10'000;
    double transit_capacity_mbps = 0;  // per AS, for traffic crossing its border; 0 = unlimited

    // Supernodes (nearcast strategy).
    double peers_per_supernode = 300;
    std::uint32_t admission_limit = 50;
    double supernode_cache_gb = 50;
    double election_interval_s = 3600;
    // The daemon's pre-fetch plan (--prefetch-items, --prefetch-min-requests).
    std::uint32_t prefetch_items = 10;
    std::uint32_t prefetch_min_requests = 1;
    std::uint32_t popular_listed = 20;  // the items the tracker lists in a supernode's answer (--popular-listed)
    // The tracker's election thresholds (--supernode-min-peers, --supernode-min-uptime,
    // --supernode-min-capacity), at its defaults.
    std::uint32_t supernode_min_group_peers = 20;
    double supernode_min_uptime_s = 3600;
    double supernode_min_capacity_bytes_per_s = 256 * 1024;

    std::vector<strategy> strategies = {strategy::origin_only, strategy::random,      strategy::prefix,
                                        strategy::as,          strategy::as_adjacent, strategy::nearcast};
    std::vector<fault> faults;
    // origin_only runs beside the strategies when they leave it out: the anchor that origin
    // savings, transit and quality are measured against (economics.hpp). false: only the
    // strategies named (a timing run).
    bool anchor = true;
    // The anchor's origin capacity per seeder, Mbit/s: a CDN sized to the demand, so that the
    // quality figures compare with a CDN that is not saturated; 0 = origin.capacity_mbps.
    double anchor_capacity_mbps = 0;

    // Where each key was last set, for messages: "FILE:LINE" or "--set KEY=VALUE". Keys left
    // at their defaults are not in it.
    std::map<std::string, std::string> origins;

    // Derived.
    double duration_s() const { return duration_h * 3600; }
};

// The largest values of the keys whose memory grows with them: beyond these a scenario is
// refused (a capacity plan, not an out-of-memory crash).
inline constexpr std::uint64_t max_peers = 100'000'000;
inline constexpr std::uint32_t max_items = 10'000'000;
inline constexpr double max_duration_h = 87'600;  // ten years
inline constexpr std::uint32_t max_seeders = 100'000;

// Sets one key from its text value and records `origin` (FILE:LINE or the flag) as where it was
// set; throws scenario_error naming `origin`.
void set_value(scenario& target, const std::string& key, const std::string& value, const std::string& origin);

// Reads a JSON (.json) or INI file over the defaults. A key set twice is refused, naming the
// file and both lines.
scenario load_scenario(const std::string& path);

// Applies "key=value".
void apply_override(scenario& target, const std::string& assignment);

// Every key with its current value, sorted, as "key = value" lines (the INI form).
std::string describe(const scenario& value);

// Throws scenario_error when values are out of range or contradict each other (shares above 1,
// zero peers, more peers than max_peers, ...), naming where the key was set (`origins`).
void validate(const scenario& value);

}  // namespace nearcast::sim
