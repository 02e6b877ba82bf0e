// What the tracker load generators share: who the simulated peers are, how a run is timed and
// what a run reports.
//
// A peer is a number. Peer `g` is peer `g % peers_per_swarm` of swarm `g / peers_per_swarm`;
// it announces from one of a few loopback source addresses (127.10.0.1, 127.10.1.1, ...,
// 127.40.7.1) and with a port unique inside its swarm. Both trackers key a peer by its source
// address and port (neither trusts the `ip` parameter by default), so a peer that announces
// again is the same peer again, over HTTP or UDP alike, and a proximity-ranking tracker sees
// several networks rather than one address.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <array>
#include <cmath>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace nearcast::bench {

using bench_clock = std::chrono::steady_clock;

constexpr std::uint32_t peers_per_swarm = 50;
constexpr std::uint32_t numwant = 50;
constexpr std::uint16_t first_peer_port = 20000;

using info_hash = std::array<std::uint8_t, 20>;
using peer_id = std::array<std::uint8_t, 20>;

// The same 20 bytes for the same swarm number in every run, so a whitelist can be written first.
info_hash swarm_hash(std::uint64_t swarm);
std::string hex_of(const info_hash& hash);
peer_id peer_id_of(std::uint64_t peer);
std::uint32_t announce_key_of(std::uint64_t peer);

inline std::uint64_t swarm_of(std::uint64_t peer) { return peer / peers_per_swarm; }
inline std::uint16_t port_of(std::uint64_t peer) {
    return static_cast<std::uint16_t>(first_peer_port + peer % peers_per_swarm);
}

// Source addresses spread over four /16s, eight /24s each: the miniature Internet of DESIGN.md.
std::vector<in_addr> loopback_source_addresses(unsigned count);
std::string text_of(const in_addr& address);
std::string text_of(const sockaddr_in& endpoint);

// A half-open range of peer numbers.
struct peer_range {
    std::uint64_t first = 0;
    std::uint64_t end = 0;
    std::uint64_t size() const { return end - first; }
};

// Picks peers uniformly from a range, optionally only those that announce from one source
// address (a keep-alive HTTP connection is bound to its address).
class peer_picker {
public:
    explicit peer_picker(std::uint64_t seed) : random_(seed) {}
    std::uint64_t any(peer_range peers);
    std::uint64_t from_source(peer_range peers, unsigned source, unsigned source_count);

private:
    std::mt19937_64 random_;
};

inline unsigned source_of(std::uint64_t peer, unsigned source_count) {
    return static_cast<unsigned>(peer % source_count);
}

// Latencies at one-microsecond resolution up to 100 ms; slower answers share the last bucket
// (and the maximum is kept exactly), which is plenty for a p99 bar of 2 ms.
class latency_histogram {
public:
    latency_histogram();
    void record(bench_clock::duration latency);
    std::uint64_t count() const { return count_; }
    double percentile_ms(double fraction) const;
    double mean_ms() const;
    double max_ms() const { return static_cast<double>(max_us_) / 1000.0; }

private:
    std::vector<std::uint64_t> buckets_;
    std::uint64_t count_ = 0;
    std::uint64_t sum_us_ = 0;
    std::uint64_t max_us_ = 0;
};

// When a timed run counts: the first `warmup` is not measured (connections, connection IDs and
// caches settle), then `measure` is.
struct load_window {
    std::chrono::milliseconds warmup{1000};
    std::chrono::milliseconds measure{5000};
};

struct load_result {
    std::uint64_t announces = 0;          // answered inside the measured window
    double seconds = 0;                   // length of the measured window
    latency_histogram latency;            // of those announces
    std::uint64_t peers_returned = 0;     // summed over those announces
    std::uint32_t fewest_peers_returned = UINT32_MAX;
    std::uint64_t errors = 0;             // refusals, malformed answers, broken connections
    std::string first_error;
    std::uint64_t timeouts = 0;           // UDP only: re-sent after no answer for a second
    std::uint64_t reconnects = 0;         // HTTP only: connections the server closed
    double generator_busy = std::nan("");  // CPU time of the generator thread / window length
    double tracker_busy = std::nan("");    // CPU time of the tracker process (all threads) / window
    double others_busy = std::nan("");     // user time of every other process on the machine / window

    double announces_per_second() const { return seconds > 0 ? static_cast<double>(announces) / seconds : 0; }
    double mean_peers_returned() const {
        return announces ? static_cast<double>(peers_returned) / static_cast<double>(announces) : 0;
    }
    void note_error(const std::string& what);
    void note_answer(bench_clock::duration latency, std::uint32_t peers);
};

// The moments that a timed run is cut into.
struct run_schedule {
    bench_clock::time_point measure_from;
    bench_clock::time_point measure_until;
    static run_schedule starting_now(load_window window);
    bool in_window(bench_clock::time_point t) const { return t >= measure_from && t < measure_until; }
};

}  // namespace nearcast::bench
