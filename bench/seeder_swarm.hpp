// Downloaders for the seeder's BitTorrent upload: libtorrent sessions in this process, each on
// its own loopback address, each given only the seeder as a peer. They accept no incoming
// connections and carry no PEX, so none of them can find another: every byte they get comes
// from the seeder, and the time until the last one is done measures the seeder's upload.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nearcast::bench {

struct swarm_plan {
    std::vector<char> torrent;  // the bencoded .torrent
    std::string seeder_address;
    std::uint16_t seeder_port = 0;
    unsigned downloaders = 8;   // on 127.40.0.1, 127.40.0.2, ...
    std::filesystem::path work_directory;  // each downloads into download-N/ here
    std::chrono::seconds limit{120};
};

struct swarm_result {
    unsigned finished = 0;           // downloaders that ended seeding: every piece passed its hash
    std::uint64_t bytes_each = 0;    // the torrent's size
    double seconds = std::nan("");   // from the first connect until the last finished
    std::vector<double> finished_after;  // seconds, one per downloader that finished
    std::string failure;             // set when not all finished, or a session failed

    double megabytes_per_second() const {
        return finished && !std::isnan(seconds) && seconds > 0 ? static_cast<double>(finished * bytes_each) / seconds / 1e6
                                                                 : std::nan("");
    }
};

swarm_result download_from_seeder(const swarm_plan& plan);

}  // namespace nearcast::bench
