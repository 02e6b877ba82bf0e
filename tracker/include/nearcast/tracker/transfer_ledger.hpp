// What the tracker can know about where bytes came from without seeing a single one: the
// `downloaded` counter peers put in their announces, and the bytes origin seeders say they
// served when they register. Pure: no sockets, time passed in.
//
// It keeps nothing per peer (a tracker holds millions): a session's `downloaded` is counted
// once, when the download completes or when it stops before completing. Counters are per
// session, so a resumed download counts only what its new session fetched. A hybrid torrent's
// clients announce the v1 and the v2 hash alike; the caller counts the v1 announce only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include "nearcast/tracker/messages.hpp"

namespace nearcast::tracker {

struct transfer_totals {
    std::uint64_t peers_downloaded = 0;  // by finished sessions of peers that are not origins
    std::uint64_t cache_fill_bytes = 0;  // of them, by supernodes filling their caches (cache_fill=1)
    std::uint64_t downloads = 0;         // sessions counted: completed, or stopped before that
    std::uint64_t origin_bytes = 0;      // served by origins (HTTP and BitTorrent), from registrations
    // What a CDN serving the same sessions would have sent: the viewers' downloads (every
    // session but the supernodes' cache fills), each whole from the origin.
    std::uint64_t cdn_bytes() const { return peers_downloaded - cache_fill_bytes; }
    // 1 - origin bytes / cdn_bytes(), the simulator's origin savings (sim/economics.hpp):
    // below 0 when the origins sent more than a CDN would have; 0 before anything was counted.
    double origin_savings() const;
    // 1 - origin bytes / everything peers downloaded, cache fills included, clamped to 0..1:
    // the share of received bytes that did not come from an origin. Not what the origin saved.
    double peer_share_of_downloads() const;
};

struct transfer_sample {
    std::uint32_t at_s = 0;
    std::uint64_t peers_downloaded = 0;
    std::uint64_t origin_bytes = 0;
    std::uint64_t cache_fill_bytes = 0;
};

class transfer_ledger {
public:
    explicit transfer_ledger(std::size_t max_samples = 360, std::uint32_t sample_every_s = 5);

    // An announce of a peer that is not an origin.
    void peer_report(announce_event event, std::uint64_t downloaded, std::uint64_t left, bool cache_fill = false);
    // A registration: the origin's cumulative served bytes (a figure that falls is a restart).
    void origin_report(const std::string& name, std::uint64_t served_bytes);
    // Records a point of the series when `sample_every_s` has passed since the last one.
    void sample(std::uint32_t now_s);

    const transfer_totals& totals() const { return totals_; }
    const std::deque<transfer_sample>& series() const { return series_; }

private:
    std::size_t max_samples_;
    std::uint32_t sample_every_s_;
    std::map<std::string, std::uint64_t> last_served_;  // per origin name: registrations are few
    transfer_totals totals_;
    std::deque<transfer_sample> series_;
};

}  // namespace nearcast::tracker
