// Which tracker owns a swarm when there are several: rendezvous hashing over the tracker list.
//
// Each tracker scores every info hash with a keyed hash of (tracker, info hash); the highest
// score owns the swarm and the next is its backup. Adding or removing a tracker moves only the
// swarms it wins or held (about 1/N of them), every party computes the same answer from the
// list alone, and no coordination is needed. Seeders write owner and backup as BEP 12 tiers
// into each torrent; clients fall back to the Mainline DHT when both are down.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nearcast::core {

// A v1 info hash (SHA-1 of the info dictionary), as the tracker keys swarms by it.
using info_hash = std::array<std::uint8_t, 20>;

class tracker_ring {
public:
    // Tracker announce URLs, e.g. "udp://tracker-1.example:6969/announce". Duplicates are ignored.
    explicit tracker_ring(std::vector<std::string> trackers);

    // The trackers for this swarm, best first: [owner, backup, ...], at most `count`.
    std::vector<std::string> owners(const info_hash& hash, std::size_t count = 2) const;
    // BEP 12 announce-list tiers: one tracker per tier, owner first.
    std::vector<std::vector<std::string>> announce_tiers(const info_hash& hash, std::size_t count = 2) const;
    const std::vector<std::string>& trackers() const { return trackers_; }

private:
    std::vector<std::string> trackers_;
};

}  // namespace nearcast::core
