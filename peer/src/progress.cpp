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

void rate_meter::add(double now_s, std::int64_t done) {
    if (!points_.empty() && (done < points_.back().done || now_s < points_.back().at_s)) points_.clear();
    points_.push_back({now_s, done});
    // Keep the newest point that is at least a window old, and everything after it.
    std::size_t first = 0;
    while (first + 1 < points_.size() && now_s - points_[first + 1].at_s >= window_s_) ++first;
    points_.erase(points_.begin(), points_.begin() + static_cast<std::ptrdiff_t>(first));
}

void rate_meter::add_count(double now_s, std::int64_t reading) {
    if (reading < last_reading_) counted_before_ += last_reading_;
    last_reading_ = reading;
    add(now_s, counted_before_ + reading);
}

void rate_meter::skip(double seconds) {
    if (seconds <= 0) return;
    for (auto& at : points_) at.at_s += seconds;
}

double rate_meter::rate() const {
    if (points_.size() < 2) return -1;
    const double span = points_.back().at_s - points_.front().at_s;
    if (span < 1.0) return -1;
    return static_cast<double>(points_.back().done - points_.front().done) / span;
}

double rate_meter::eta(std::int64_t wanted) const {
    const double per_second = rate();
    if (per_second <= 0 || points_.empty()) return -1;
    return static_cast<double>(std::max<std::int64_t>(wanted - points_.back().done, 0)) / per_second;
}

double percent_shown(double done, double wanted) {
    if (wanted <= 0) return 0;
    if (done >= wanted) return 100;
    return std::floor(1000 * done / wanted) / 10;
}

namespace {

double percent_of(const progress_sample& sample) {
    return percent_shown(static_cast<double>(sample.done), static_cast<double>(sample.wanted));
}

std::string facts(const progress_sample& sample) {
    if (sample.fetching_metadata) return "fetching metadata, " + std::to_string(sample.peers) + (sample.peers == 1 ? " peer" : " peers");
    char head[64];
    std::snprintf(head, sizeof head, "%5.1f%%", percent_of(sample));
    std::string out = head;
    if (sample.checking) return out + " checking what is on disk";
    if (sample.paused) return out + "  paused (nearcast-peer resume goes on)";
    out += "  " + (sample.rate < 0 ? std::string("-- B/s") : human_bytes(static_cast<double>(sample.rate)) + "/s") + "  ETA " +
           human_duration(sample.eta_s);
    out += "  near " + human_bytes(static_cast<double>(sample.sources.near)) + "  far " +
           human_bytes(static_cast<double>(sample.sources.far)) + "  origin " +
           human_bytes(static_cast<double>(sample.sources.origin));
    out += "  " + std::to_string(sample.peers) + (sample.peers == 1 ? " peer" : " peers");
    return out;
}

}  // namespace

std::string progress_bar(const progress_sample& sample, unsigned width) {
    const std::string tail = facts(sample);
    // The bar keeps its width whatever the facts after it say, so it does not jump about; the
    // facts are cut to what the terminal leaves.
    constexpr std::size_t cells = 20;
    if (width < cells + 3 + 20) return tail.substr(0, std::min<std::size_t>(tail.size(), width));
    const auto filled = static_cast<std::size_t>(std::clamp(percent_of(sample) / 100.0, 0.0, 1.0) * static_cast<double>(cells));
    const std::string line = "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "] " + tail;
    return line.substr(0, std::min<std::size_t>(line.size(), width));
}

std::string progress_line(const progress_sample& sample) {
    return sample.name + ": " + facts(sample) + " (" + human_bytes(static_cast<double>(sample.done)) + " of " +
           human_bytes(static_cast<double>(sample.wanted)) + ")";
}

}  // namespace nearcast::peer
