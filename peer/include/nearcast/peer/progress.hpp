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

// One line that fits `width` columns: a bar, percent, rate, ETA and where the bytes came from.
std::string progress_bar(const progress_sample& sample, unsigned width);
// The same facts as a plain log line, for when stderr is not a terminal.
std::string progress_line(const progress_sample& sample);

}  // namespace nearcast::peer
