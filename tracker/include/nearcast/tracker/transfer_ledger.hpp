// What the tracker can know about where bytes came from, without seeing a single one: the
// cumulative `uploaded` and `downloaded` counters peers put in their announces, and the bytes
// origin seeders say they served when they register. Pure: no sockets, time passed in.
//
// Announce counters are per client session and per swarm, so the ledger keeps each session's
// last report and adds only what grew; a counter that went down is a new session (a restart)
// and counts whole. Origin offload is 1 - origin bytes / bytes downloaded by peers.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>

#include "nearcast/tracker/messages.hpp"

namespace nearcast::tracker {

struct transfer_totals {
    std::uint64_t peers_downloaded = 0;     // reported by peers that are not origins
    std::uint64_t peers_uploaded = 0;
    std::uint64_t origin_announced = 0;     // `uploaded` announced by origin endpoints (BitTorrent only)
    std::uint64_t origin_registered = 0;    // served bytes origins reported when registering (HTTP + BitTorrent)
    // The origin's bytes: what the registrations say, or the announces when they say more.
    std::uint64_t origin_bytes() const { return origin_registered > origin_announced ? origin_registered : origin_announced; }
    // 1 - origin bytes / peers' downloads, clamped to 0..1; 0 before anything was downloaded.
    double origin_offload() const;
};

struct transfer_sample {
    std::uint32_t at_s = 0;
    std::uint64_t peers_downloaded = 0;
    std::uint64_t origin_bytes = 0;
};

class transfer_ledger {
public:
    // At most `max_sessions` (peer, swarm) sessions are followed; beyond that new sessions are
    // not counted until old ones expire, so memory stays bounded under a flood of announces.
    explicit transfer_ledger(std::size_t max_sessions = 1'000'000, std::size_t max_samples = 360,
                             std::uint32_t sample_every_s = 5);

    void peer_report(const endpoint& peer, const info_hash& hash, std::uint64_t uploaded, std::uint64_t downloaded,
                     bool origin, bool stopped, std::uint32_t now_s);
    void origin_report(const std::string& name, std::uint64_t served_bytes);
    // Forgets sessions not heard from for `idle_s` (their bytes stay counted).
    void expire(std::uint32_t now_s, std::uint32_t idle_s);
    // Records a point of the series when `sample_every_s` has passed since the last one.
    void sample(std::uint32_t now_s);

    const transfer_totals& totals() const { return totals_; }
    const std::deque<transfer_sample>& series() const { return series_; }
    std::size_t sessions() const { return sessions_.size(); }
    std::uint64_t uncounted_sessions() const { return uncounted_; }

private:
    struct session {
        std::uint64_t uploaded = 0;
        std::uint64_t downloaded = 0;
        std::uint32_t seen_s = 0;
    };
    struct origin_counter {
        std::uint64_t last = 0;   // the last figure reported
        std::uint64_t total = 0;  // summed over the origin's restarts
    };

    std::size_t max_sessions_;
    std::size_t max_samples_;
    std::uint32_t sample_every_s_;
    std::map<std::pair<endpoint, info_hash>, session> sessions_;
    std::map<std::string, origin_counter> origins_;
    transfer_totals totals_;
    std::deque<transfer_sample> series_;
    std::uint64_t uncounted_ = 0;
};

}  // namespace nearcast::tracker
