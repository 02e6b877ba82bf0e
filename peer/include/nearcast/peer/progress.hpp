// What a download reports as it goes: the progress bar on a terminal, the log line elsewhere.
// Pure formatting; the shell samples libtorrent once a second and passes the numbers in.
#pragma once

#include <cstdint>
#include <string>

namespace nearcast::peer {

struct bytes_by_source {
    std::uint64_t near = 0;
    std::uint64_t far = 0;
    std::uint64_t origin = 0;  // origin seeders over BitTorrent and their web seeds
    std::uint64_t total() const { return near + far + origin; }
};

struct progress_sample {
    std::string name;
    std::int64_t done = 0;       // verified bytes
    std::int64_t wanted = 0;     // bytes in all
    std::int64_t rate = 0;       // payload bytes/s, recent
    int peers = 0;
    bytes_by_source sources;
    bool checking = false;       // hashing what is already on disk
    bool fetching_metadata = false;
};

// "1.5 MB", "312 kB", "17 B": decimal units, three significant digits.
std::string human_bytes(double bytes);
// "1:02:03", "4:05", "--:--" when unknown.
std::string human_duration(double seconds);

// A byte counter's rate, averaged: an exponential moving average with a time constant of a
// few seconds, so a rate shown once a second neither jumps with every block nor lags far
// behind (in its first seconds, the plain average since the start). Time is passed in (seconds on a steady clock). A counter that goes back (libtorrent
// restarts its session counters when an item is resumed) starts the average again from there.
class moving_rate {
public:
    explicit moving_rate(double time_constant_s = 5) : time_constant_s_(time_constant_s) {}
    void sample(std::int64_t total_bytes, double now_s);
    // Bytes/s; 0 before two samples.
    double rate() const { return rate_; }

private:
    double time_constant_s_;
    std::int64_t last_bytes_ = 0;
    double last_s_ = 0;
    double first_s_ = 0;
    bool started_ = false;
    double rate_ = 0;
};

// Seconds until `remaining` bytes arrive at `rate` bytes/s, rounded up; -1 when unknown (no
// rate), 0 when nothing remains.
std::int64_t eta_seconds(std::int64_t remaining, double rate);

// One line that fits `width` columns: a bar, percent, rate, ETA and where the bytes came from.
std::string progress_bar(const progress_sample& sample, unsigned width);
// The same facts as a plain log line, for when stderr is not a terminal.
std::string progress_line(const progress_sample& sample);

}  // namespace nearcast::peer
