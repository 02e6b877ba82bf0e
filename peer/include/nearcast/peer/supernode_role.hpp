// What a peer daemon does as a supernode, as pure policy the daemon and the tests call:
// measuring its upload capacity (eligibility is measured, not claimed), choosing what to
// pre-fetch from its AS's popularity list, admitting children up to its limit, and holding the
// origin back while a fellow supernode can relay an item.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace nearcast::peer {

// The upload rate the daemon can sustain, from its own byte counter: the best rate over any
// window of `window_s` seconds seen so far. Nothing measured yet is 0, so a fresh daemon is
// not elected on a claim.
class capacity_meter {
public:
    explicit capacity_meter(double window_s = 5.0) : window_s_(window_s) {}
    // `total_uploaded` is the daemon's running byte count at `now_s`.
    void observe(double now_s, std::uint64_t total_uploaded);
    double capacity() const { return best_; }

private:
    double window_s_;
    std::deque<std::pair<double, std::uint64_t>> samples_;
    double best_ = 0;
};

struct popular_item {
    std::string info_hash;  // 40 hex digits, lower case
    std::uint64_t requests = 0;
};

// Seconds between a supernode's reports to the tracker (and so its pre-fetch decisions): half
// the tracker's announce interval, so that a supernode that vanishes is missed within one, and
// between 1 s and 15 min.
std::uint32_t report_interval_s(std::uint32_t tracker_interval_s);

// The items to pre-fetch: the most requested first, those held already skipped, at most
// `most` new ones, and only items requested at least `min_requests` times in the AS.
std::vector<std::string> prefetch_plan(std::span<const popular_item> popular, const std::set<std::string>& held,
                                       std::size_t most, std::uint64_t min_requests = 1);

// A supernode's children: the distinct addresses of the downloaders it serves, never more
// than its admission limit.
class child_admission {
public:
    void set_limit(std::uint32_t limit) { limit_ = limit; }
    std::uint32_t limit() const { return limit_; }
    // A connection from `address` (a downloader, not a fellow supernode or an origin): true
    // when it is admitted. Every admitted connection is released once.
    bool admit(const std::string& address);
    void release(const std::string& address);
    std::uint32_t children() const { return static_cast<std::uint32_t>(connections_.size()); }
    // The children's addresses, in the order they came.
    std::vector<std::string> child_addresses() const {
        std::vector<std::string> out;
        for (const auto& [address, connections] : connections_) out.push_back(address);
        return out;
    }
    std::uint32_t max_children_seen() const { return max_seen_; }
    std::uint64_t refused() const { return refused_; }

private:
    std::uint32_t limit_ = 0;
    std::vector<std::pair<std::string, std::uint32_t>> connections_;  // address, connections open
    std::uint32_t max_seen_ = 0;
    std::uint64_t refused_ = 0;
};

// What a fellow supernode says it has, among the items this one is still downloading.
struct fellow_view {
    std::set<std::string> holds;     // whole
    std::set<std::string> fetching;  // coming in now
    bool leads = false;              // its address sorts before ours: it fetches first
};

// Whether a supernode holds the origin back to a trickle: when every item it is still
// downloading is held whole by a fellow supernode it hears from, or being fetched by a fellow
// that leads. Of supernodes that want the same item at once, one (the lowest address) takes it
// from the origin at full speed and the others relay it from that one: the origin sends about
// one copy, not one per supernode.
bool hold_origin_back(std::span<const std::string> downloading, std::span<const fellow_view> fellows);

}  // namespace nearcast::peer
