#include "nearcast/tracker/transfer_ledger.hpp"

#include <algorithm>

namespace nearcast::tracker {

double transfer_totals::origin_savings() const {
    if (cdn_bytes() == 0) return 0;
    return 1.0 - static_cast<double>(origin_bytes) / static_cast<double>(cdn_bytes());
}

double transfer_totals::peer_share_of_downloads() const {
    if (peers_downloaded == 0) return 0;
    const double share = static_cast<double>(origin_bytes) / static_cast<double>(peers_downloaded);
    return std::clamp(1.0 - share, 0.0, 1.0);
}

transfer_ledger::transfer_ledger(std::size_t max_samples, std::uint32_t sample_every_s)
    : max_samples_(std::max<std::size_t>(max_samples, 1)), sample_every_s_(sample_every_s) {}

void transfer_ledger::peer_report(announce_event event, std::uint64_t downloaded, std::uint64_t left, bool cache_fill) {
    // A seed that stops was counted when it completed (or never downloaded in this session).
    const bool finished = event == announce_event::completed || (event == announce_event::stopped && left > 0);
    if (!finished) return;
    totals_.peers_downloaded += downloaded;
    if (cache_fill) totals_.cache_fill_bytes += downloaded;
    ++totals_.downloads;
}

void transfer_ledger::origin_report(const std::string& name, std::uint64_t served_bytes) {
    std::uint64_t& last = last_served_[name];
    totals_.origin_bytes += served_bytes >= last ? served_bytes - last : served_bytes;
    last = served_bytes;
}

void transfer_ledger::sample(std::uint32_t now_s) {
    if (!series_.empty() && now_s - series_.back().at_s < sample_every_s_) return;
    series_.push_back({now_s, totals_.peers_downloaded, totals_.origin_bytes, totals_.cache_fill_bytes});
    while (series_.size() > max_samples_) series_.pop_front();
}

}  // namespace nearcast::tracker
