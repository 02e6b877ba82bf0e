// Long tail first: where an origin seeder spends its upload.
//
// Popular swarms serve themselves from their peers; the origin's bandwidth matters most to
// items with few or no other sources (the long tail, as Joost's origins carried it). The
// seeder's upload capacity is a budget: swarms with enough seeds of their own share a small
// slice of it, the rest is left to everything else. Pure code: the seeder applies the plan to
// libtorrent (a per-torrent upload limit is a libtorrent peer class of that torrent) and the
// simulator calls the same function.
#pragma once

#include <cstdint>
#include <vector>

namespace nearcast::seeder {

// What the tracker reports of one item's swarm.
struct swarm_sources {
    std::int64_t item_id = 0;
    std::uint32_t seeds = 0;         // as the tracker's scrape counts them
    std::uint32_t leechers = 0;
    bool known = true;               // false when no tracker answered: then it counts as long tail
    std::uint32_t origin_seeds = 0;  // how many of `seeds` are origin seeders holding the item
    std::uint32_t own_seeds() const { return seeds > origin_seeds ? seeds - origin_seeds : 0; }
};

struct upload_budget_config {
    std::int64_t upload_limit = 0;            // bytes/s for the whole seeder; 0 = no limit
    double self_serving_share = 0.1;          // of upload_limit, for all self-serving swarms together
    std::uint32_t self_serving_seeds = 4;     // a swarm with this many seeds of its own serves itself
    std::int64_t self_serving_floor = 16 * 1024;       // bytes/s each self-serving swarm keeps at least
    std::int64_t self_serving_cap_unlimited = 256 * 1024;  // bytes/s each when upload_limit is 0
};

struct swarm_limit {
    std::int64_t item_id = 0;
    bool self_serving = false;
    std::int64_t upload_limit = 0;  // bytes/s for this swarm; 0 = none of its own
};

struct upload_plan {
    std::vector<swarm_limit> swarms;   // in the order given
    std::int64_t session_limit = 0;    // bytes/s for the whole session; 0 = none
    std::size_t self_serving = 0;
    std::size_t long_tail = 0;
};

// True when a swarm has enough seeds besides the origins to serve itself.
bool serves_itself(const upload_budget_config& config, const swarm_sources& swarm);

upload_plan plan_upload(const upload_budget_config& config, const std::vector<swarm_sources>& swarms);

}  // namespace nearcast::seeder
