#include "nearcast/peer/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nearcast::peer {

std::string human_bytes(double bytes) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int unit = 0;
    while (bytes >= 1000 && unit < 4) {
        bytes /= 1000;
        ++unit;
    }
    char text[32];
    if (unit == 0) std::snprintf(text, sizeof text, "%.0f B", bytes);
    else std::snprintf(text, sizeof text, bytes < 10 ? "%.2f %s" : bytes < 100 ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
    return text;
}

std::string human_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 99 * 3600) return "--:--";
    const auto whole = static_cast<long>(std::lround(seconds));
    char text[32];
    if (whole >= 3600) std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", whole / 3600, whole / 60 % 60, whole % 60);
    else std::snprintf(text, sizeof text, "%ld:%02ld", whole / 60, whole % 60);
    return text;
}

void moving_rate::sample(std::int64_t total_bytes, double now_s) {
    if (!started_ || total_bytes < last_bytes_ || now_s < last_s_) {
        if (started_) rate_ = 0;
        started_ = true;
        first_s_ = now_s;
        last_bytes_ = total_bytes;
        last_s_ = now_s;
        return;
    }
    const double elapsed = now_s - last_s_;
    if (elapsed <= 0) return;
    const double instant = static_cast<double>(total_bytes - last_bytes_) / elapsed;
    // The weight of the new sample grows with the time it covers: samples taken at any pace
    // give the same average. In the first seconds it is the plain average since the start, so
    // a new download's rate is right at once rather than rising from 0 for a time constant.
    const double weight = std::max(1 - std::exp(-elapsed / time_constant_s_), elapsed / (now_s - first_s_));
    rate_ += weight * (instant - rate_);
    last_bytes_ = total_bytes;
    last_s_ = now_s;
}

std::int64_t eta_seconds(std::int64_t remaining, double rate) {
    if (remaining <= 0) return 0;
    if (!(rate >= 1)) return -1;  // under a byte a second (or NaN): no honest estimate
    const double seconds = std::ceil(static_cast<double>(remaining) / rate);
    return seconds > 1e9 ? -1 : static_cast<std::int64_t>(seconds);
}

namespace {

double percent_of(const progress_sample& sample) {
    return sample.wanted > 0 ? 100.0 * static_cast<double>(sample.done) / static_cast<double>(sample.wanted) : 0.0;
}

std::string facts(const progress_sample& sample) {
    if (sample.fetching_metadata) return "fetching metadata, " + std::to_string(sample.peers) + " peers";
    const double eta = sample.rate > 0 ? static_cast<double>(sample.wanted - sample.done) / static_cast<double>(sample.rate)
                                       : -1.0;
    char head[64];
    std::snprintf(head, sizeof head, "%5.1f%%", percent_of(sample));
    std::string out = head;
    if (sample.checking) return out + " checking what is on disk";
    out += "  " + human_bytes(static_cast<double>(sample.rate)) + "/s  ETA " + human_duration(eta);
    out += "  near " + human_bytes(static_cast<double>(sample.sources.near)) + "  far " +
           human_bytes(static_cast<double>(sample.sources.far)) + "  origin " +
           human_bytes(static_cast<double>(sample.sources.origin));
    out += "  " + std::to_string(sample.peers) + " peers";
    return out;
}

}  // namespace

std::string progress_bar(const progress_sample& sample, unsigned width) {
    const std::string tail = facts(sample);
    // The bar takes what the facts leave, between 10 and 40 cells.
    const long room = static_cast<long>(width) - static_cast<long>(tail.size()) - 3;
    if (room < 10) return tail.substr(0, std::min<std::size_t>(tail.size(), width));
    const auto cells = static_cast<std::size_t>(std::min(room, 40L));
    const auto filled = static_cast<std::size_t>(std::clamp(percent_of(sample) / 100.0, 0.0, 1.0) * static_cast<double>(cells));
    return "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "] " + tail;
}

std::string progress_line(const progress_sample& sample) {
    return sample.name + ": " + facts(sample) + " (" + human_bytes(static_cast<double>(sample.done)) + " of " +
           human_bytes(static_cast<double>(sample.wanted)) + ")";
}

}  // namespace nearcast::peer
