// The daemon's supernode role. A thread reports to the tracker every half interval (its port,
// its measured upload capacity) and brings back the role, the admission limit and what is
// popular in its AS; the daemon's own thread applies that: the admission limit in the locality
// plugin, pre-fetches of popular items, the nearcast_sn summary it sends to fellow supernodes,
// and the origin held to a trickle while a fellow can relay the items being fetched.
#pragma once

#include <boost/asio/io_context.hpp>
#include <libtorrent/sha1_hash.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nearcast/peer/supernode_role.hpp"
#include "options.hpp"
#include "peer_session.hpp"

namespace nearcast::peer::client {

struct held_item {
    std::string id;        // item_id: hex of the v1 hash (v2 when there is none)
    lt::sha1_hash hash;    // the 20 bytes the tracker and the cache filter know it by
    lt::sha1_hash other;   // a hybrid item's other hash (the v2 one, truncated), or zeros
    bool complete = false;
};

class supernode_agent {
public:
    struct hooks {
        std::function<std::vector<held_item>()> items;                // what the cache holds
        std::function<void(const std::string& magnet)> prefetch;      // adds an item to the cache
    };
    supernode_agent(boost::asio::io_context& io, const peer_options& options, peer_session& session, hooks calls);
    ~supernode_agent();

    void start();
    // Once a second on the daemon's thread: measures, refreshes the summary, holds the origin.
    void tick(double now_s);
    // Says goodbye to the tracker (leave=1), at most `deadline`.
    void leave(std::chrono::milliseconds deadline);
    nlohmann::json status() const;

private:
    void report_loop();
    void apply(const nlohmann::json& answer);
    std::string report_url(bool leaving) const;

    boost::asio::io_context& io_;
    const peer_options& options_;
    peer_session& session_;
    hooks hooks_;
    std::string admin_secret_;
    std::uint16_t port_ = 0;
    std::string source_;
    capacity_meter meter_;
    std::atomic<double> capacity_{0};
    // Shared with the report thread.
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread reporter_;
    // The daemon's thread only.
    std::string role_ = "unknown";
    std::uint32_t admission_limit_ = 0;
    std::uint32_t interval_s_ = 0;
    std::uint64_t reports_ = 0, failed_reports_ = 0, prefetched_ = 0;
    std::string last_error_;
    bool origin_held_back_ = false;
    std::size_t fellows_ = 0;
};

}  // namespace nearcast::peer::client
