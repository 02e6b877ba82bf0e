// What a download reports as it goes: the progress bar on a terminal, the log line elsewhere.
// Pure formatting; the shell samples libtorrent once a second and passes the numbers in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nearcast::peer {

struct bytes_by_source {
    std::uint64_t near = 0;
    std::uint64_t far = 0;
    std::uint64_t origin = 0;  // origin seeders over BitTorrent and their web seeds
    std::uint64_t total() const { return near + far + origin; }
    bytes_by_source& operator+=(const bytes_by_source& more) {
        near += more.near;
        far += more.far;
        origin += more.origin;
        return *this;
    }
    // What was added since `before` (nothing where a count went down, as after a restart).
    bytes_by_source since(const bytes_by_source& before) const {
        const auto gain = [](std::uint64_t now, std::uint64_t then) { return now > then ? now - then : 0; };
        return {gain(near, before.near), gain(far, before.far), gain(origin, before.origin)};
    }
};

struct progress_sample {
    std::string name;
    std::int64_t done = 0;       // verified bytes
    std::int64_t wanted = 0;     // bytes in all
    std::int64_t rate = 0;       // payload bytes/s, recent (a rate_meter's; -1 unknown)
    double eta_s = -1;           // seconds to go, -1 unknown
    int peers = 0;
    bytes_by_source sources;
    bool checking = false;       // hashing what is already on disk
    bool fetching_metadata = false;
    bool paused = false;         // the daemon holds it paused: no rate, no ETA
};

// The rate a progress line shows: bytes done over a sliding window of recent samples (about
// `window_s` seconds), so that a pause between two pieces does not read as 0 B/s and a burst
// does not read as the speed of the whole download. Until it has two samples a second apart,
// it knows no rate (-1).
class rate_meter {
public:
    explicit rate_meter(double window_s = 8.0) : window_s_(window_s) {}
    // `done` bytes at `now_s` seconds (any epoch, not decreasing). A drop in `done` (a piece
    // that failed its check, a recheck) starts the meter over.
    void add(double now_s, std::int64_t done);
    // A counter's reading at `now_s` where the counter may start again from zero (libtorrent's
    // payload counters do at a resume): a drop is a restart, and what it counts after one adds
    // on to what it counted before, so the rate goes on instead of starting over.
    void add_count(double now_s, std::int64_t reading);
    // `seconds` passed in which the meter was not fed and nothing was meant to move (a pause):
    // the points move on by that much, so the window does not average the pause in.
    void skip(double seconds);
    // Bytes per second over the window, -1 when not known yet.
    double rate() const;
    // Seconds until `wanted` bytes are done at that rate; -1 when unknown or no progress.
    double eta(std::int64_t wanted) const;

private:
    double window_s_;
    struct point {
        double at_s;
        std::int64_t done;
    };
    std::vector<point> points_;
    std::int64_t counted_before_ = 0;  // add_count: the total at the counter's last restart
    std::int64_t last_reading_ = 0;
};

// "1.5 MB", "312 kB", "17 B": decimal units, three significant digits.
std::string human_bytes(double bytes);
// "1:02:03", "4:05", "--:--" when unknown.
std::string human_duration(double seconds);
// Percent done as shown, to a tenth: rounded down, so 100.0 means every wanted byte is there
// (99.96% is 99.9, not 100.0); 0 when nothing is wanted yet.
double percent_shown(double done, double wanted);

// One line that fits `width` columns: a bar of fixed width (20 cells, none on a very narrow
// terminal), percent, rate, ETA and where the bytes came from.
std::string progress_bar(const progress_sample& sample, unsigned width);
// The same facts as a plain log line, for when stderr is not a terminal.
std::string progress_line(const progress_sample& sample);

}  // namespace nearcast::peer
