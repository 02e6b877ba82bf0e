// The tracker's state and rules: swarms, origin registrations, limits, protection and
// statistics. No sockets and no clocks: the server passes the source address and the time in,
// so tests and the simulator drive exactly this code.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "nearcast/proximity/model.hpp"
#include "nearcast/tracker/access_tokens.hpp"
#include "nearcast/tracker/messages.hpp"
#include "nearcast/tracker/rate_limiter.hpp"
#include "nearcast/tracker/selection.hpp"
#include "nearcast/tracker/swarm.hpp"

namespace nearcast::tracker {

struct tracker_config {
    std::uint32_t interval = 1800;      // seconds between announces we ask for
    std::uint32_t min_interval = 900;
    std::uint32_t default_numwant = 50;
    std::uint32_t max_numwant = 200;
    std::size_t max_swarms = 1'000'000;
    std::uint32_t max_peers_per_swarm = 100'000;
    bool proximity = true;              // false: plain random selection, as other trackers do
    selection_options selection;
    origin_options origins;
    double announce_rate = 20;          // per address per second, 0 = off
    double announce_burst = 100;
    std::vector<proximity::ip_prefix> trusted_proxies;  // only these may set the `ip` parameter
    bool closed = false;                // only registered content, and an access token is needed
    bool full_scrape = false;           // a scrape without info_hash lists every swarm
    std::uint32_t origin_ttl = 3600;    // a registration lapses unless renewed within this
};

// One item of an origin's catalogue: its v1 info hash, and for a hybrid torrent the v2 info
// hash truncated to 20 bytes, which clients announce separately.
struct catalogue_item {
    info_hash v1{};
    std::optional<info_hash> v2_truncated;
};

struct origin_registration {
    std::string name;                   // the seeder's name; a new registration replaces the old
    std::vector<endpoint> endpoints;    // where it seeds (BitTorrent ports)
    std::vector<catalogue_item> items;
};

struct tracker_stats {
    std::uint64_t swarms = 0;
    std::uint64_t peers = 0;
    std::uint64_t seeders = 0;
    std::uint64_t leechers = 0;
    std::uint64_t announces = 0;
    std::uint64_t scrapes = 0;
    std::uint64_t refused = 0;
    double announces_per_second = 0;    // over the last ten seconds
    std::uint64_t origins = 0;
    std::uint64_t registered_items = 0;
    std::uint64_t memory_bytes = 0;
    nearness_histogram returned{};      // peers returned, by distance class
    std::map<std::uint32_t, std::uint64_t> peers_per_as;  // origin AS 0 = unknown
};

class tracker_state {
public:
    // Why `token` does not open this tracker (closed mode); nullopt when it does, or when the
    // tracker is open.
    std::optional<std::string> access_refusal(std::string_view token, std::uint64_t now_s) const;
    tracker_state(tracker_config config, std::shared_ptr<const proximity::model> routing, std::uint64_t seed,
                  std::optional<access_tokens> tokens = {});

    // `source` is where the request came from; `now_ms` milliseconds since the epoch.
    std::variant<announce_response, tracker_failure> announce(const announce_request& request, const endpoint& source,
                                                              std::uint64_t now_ms);
    std::variant<scrape_response, tracker_failure> scrape(const scrape_request& request, const endpoint& source,
                                                          std::uint64_t now_ms);

    void register_origin(const origin_registration& registration, std::uint64_t now_ms);
    // Drops peers that missed two intervals, empty swarms and lapsed registrations.
    void expire(std::uint64_t now_ms);
    // New routing data, e.g. a refreshed snapshot; peers are located again as they re-announce.
    void set_routing(std::shared_ptr<const proximity::model> routing);
    const proximity::model& routing() const { return *routing_; }

    tracker_stats stats(std::uint64_t now_ms, bool with_peers_per_as = false) const;
    // Peers of the ASes given (sorted), by AS and announced prefix: a large AS's supernodes
    // are elected per prefix.
    std::map<std::pair<std::uint32_t, proximity::ip_prefix>, std::uint64_t> peers_per_prefix(
        const std::vector<std::uint32_t>& ases) const;
    const tracker_config& config() const { return config_; }
    // Where the proximity model places an address.
    peer_location locate(const proximity::ip_address& address) const;
    // Whether a registered origin seeds at this address and port.
    bool is_origin_endpoint(const endpoint& where) const;
    // The swarm a hash announces into: a registered item's truncated v2 hash is its v1 swarm.
    info_hash canonical(const info_hash& hash) const;

private:
    struct hash_of_info {
        std::size_t operator()(const info_hash& hash) const;
    };
    struct registered_origin {
        origin_registration registration;
        std::uint64_t expires_ms = 0;
    };

    void rebuild_origin_index();
    void count_announce(std::uint64_t now_ms);

    tracker_config config_;
    std::shared_ptr<const proximity::model> routing_;
    std::optional<access_tokens> tokens_;
    std::mt19937_64 random_;
    rate_limiter limiter_;
    hop_cache hops_;

    std::unordered_map<info_hash, swarm, hash_of_info> swarms_;
    std::map<std::string, registered_origin> origins_;
    // Derived from origins_: v2 -> v1 aliases, origin records per item, origin endpoints.
    std::unordered_map<info_hash, info_hash, hash_of_info> aliases_;
    std::unordered_map<info_hash, std::vector<peer_record>, hash_of_info> origin_records_;
    std::unordered_set<std::uint64_t> origin_endpoints_;

    std::uint64_t announces_ = 0, scrapes_ = 0, refused_ = 0;
    nearness_histogram returned_{};
    std::uint64_t second_counts_[10] = {};
    std::uint64_t second_stamps_[10] = {};
};

}  // namespace nearcast::tracker
