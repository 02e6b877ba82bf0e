// The daemon's cache and upload rules: what to evict when the disk quota is reached (least
// recently used first, never an item in use), and how much upload a monthly cap still allows.
// Pure: times are passed in, as seconds of any epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nearcast::peer {

struct cached_item {
    std::string id;               // the v1 (or v2) info hash in hex
    std::uint64_t bytes = 0;      // on disk
    std::int64_t last_used_s = 0; // last fetched, streamed or asked for
    bool in_use = false;          // downloading or being streamed: never evicted
};

// The items to delete, oldest use first, so that the cache plus `incoming` bytes fits
// `quota`. Items in use stay even when the quota cannot then be met (the caller says so).
std::vector<std::string> evict_for(const std::vector<cached_item>& items, std::uint64_t quota, std::uint64_t incoming);

struct upload_cap {
    std::uint64_t monthly_bytes = 0;  // 0: no cap
    std::int64_t rate_limit = 0;      // bytes/s, 0: none
    bool uploading = true;            // the user's switch
};

// The upload rate to apply now: 0 means "no upload at all" here (the shell maps it to
// libtorrent's no-unchoke setting), -1 "unlimited". Within the cap, the rate limit; past it,
// nothing until the month ends.
std::int64_t upload_rate_now(const upload_cap& cap, std::uint64_t uploaded_this_month);

// How many peers to unchoke at once for that rate: none when it is 0, else the usual 8 plus
// one for each child a supernode admits (admission_limit, 0 when it is no supernode). With
// fewer, a child that connects while every slot is taken waits for libtorrent's next unchoke
// round (15 s) and fetches from the origin meanwhile.
int unchoke_slots(std::int64_t rate, std::uint32_t admission_limit);

// A change to the limits a user may make while the daemon runs (the control API's /limits),
// and what the daemon keeps of them between runs. An unset field keeps the current value.
struct limit_change {
    std::optional<std::int64_t> upload_rate;     // bytes/s, 0: none
    std::optional<std::int64_t> download_rate;   // bytes/s, 0: none
    std::optional<std::uint64_t> monthly_bytes;  // 0: no cap
    std::optional<bool> uploading;
    // Back to the configured limits first (reset=1), then any values given with it.
    bool reset = false;
    bool empty() const { return !upload_rate && !download_rate && !monthly_bytes && !uploading && !reset; }
};

// Reads /limits's parameters: upload_kb and download_kb (kB/s, 0 = none), monthly_cap_mb (MB,
// 0 = no cap), uploading (on or off), reset (1). Everything is checked before anything is returned, so a
// request with one bad value changes nothing; std::invalid_argument names the parameter and
// what is wrong with it (not a number, negative, too large, an unknown name).
limit_change parse_limit_change(const std::vector<std::pair<std::string, std::string>>& parameters);

// Later changes override earlier ones, field by field; a later reset drops the earlier ones.
limit_change merge(limit_change base, const limit_change& later);

// "2026-12": the month a time falls in (UTC), the key the monthly counter resets on.
std::string month_of(std::int64_t unix_seconds);

}  // namespace nearcast::peer
