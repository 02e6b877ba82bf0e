#include "nearcast/tracker/transfer_ledger.hpp"

#include <algorithm>

namespace nearcast::tracker {

namespace {

// What a cumulative counter adds since its last report: the growth, or all of it when it fell
// (the client restarted and counts from zero again).
std::uint64_t growth(std::uint64_t before, std::uint64_t now) { return now >= before ? now - before : now; }

}  // namespace

double transfer_totals::origin_offload() const {
    if (peers_downloaded == 0) return 0;
    const double share = static_cast<double>(origin_bytes()) / static_cast<double>(peers_downloaded);
    return std::clamp(1.0 - share, 0.0, 1.0);
}

transfer_ledger::transfer_ledger(std::size_t max_sessions, std::size_t max_samples, std::uint32_t sample_every_s)
    : max_sessions_(max_sessions), max_samples_(std::max<std::size_t>(max_samples, 1)), sample_every_s_(sample_every_s) {}

void transfer_ledger::peer_report(const endpoint& peer, const info_hash& hash, std::uint64_t uploaded,
                                  std::uint64_t downloaded, bool origin, bool stopped, std::uint32_t now_s) {
    const auto key = std::make_pair(peer, hash);
    auto at = sessions_.find(key);
    if (at == sessions_.end()) {
        if (sessions_.size() >= max_sessions_) {
            ++uncounted_;
            return;
        }
        at = sessions_.emplace(key, session{}).first;
    }
    session& known = at->second;
    const std::uint64_t up = growth(known.uploaded, uploaded);
    const std::uint64_t down = growth(known.downloaded, downloaded);
    if (origin) {
        // An origin's downloads are replicas from its fellows, not deliveries to users.
        totals_.origin_announced += up;
    } else {
        totals_.peers_uploaded += up;
        totals_.peers_downloaded += down;
    }
    known = {uploaded, downloaded, now_s};
    if (stopped) sessions_.erase(at);
}

void transfer_ledger::origin_report(const std::string& name, std::uint64_t served_bytes) {
    origin_counter& counter = origins_[name];
    const std::uint64_t added = growth(counter.last, served_bytes);
    counter.last = served_bytes;
    counter.total += added;
    totals_.origin_registered += added;
}

void transfer_ledger::expire(std::uint32_t now_s, std::uint32_t idle_s) {
    std::erase_if(sessions_, [&](const auto& entry) { return entry.second.seen_s + std::uint64_t{idle_s} < now_s; });
}

void transfer_ledger::sample(std::uint32_t now_s) {
    if (!series_.empty() && now_s - series_.back().at_s < sample_every_s_) return;
    series_.push_back({now_s, totals_.peers_downloaded, totals_.origin_bytes()});
    while (series_.size() > max_samples_) series_.pop_front();
}

}  // namespace nearcast::tracker
