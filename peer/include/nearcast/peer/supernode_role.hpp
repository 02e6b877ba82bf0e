// What a peer daemon does as a supernode, as pure policy the daemon and the tests call:
// measuring its upload capacity (eligibility is measured, not claimed), choosing what to
// pre-fetch from its AS's popularity list, admitting children up to its limit, and holding the
// origin back while a fellow supernode can relay an item.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
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

// Items are named as the caller names them: the daemon by info hash (40 hex digits, lower
// case), the simulator by item number.
template <typename Item>
struct basic_popular_item {
    Item info_hash;
    std::uint64_t requests = 0;
};
using popular_item = basic_popular_item<std::string>;

// Seconds between a supernode's reports to the tracker (and so its pre-fetch decisions): half
// the tracker's announce interval, so that a supernode that vanishes is missed within one, and
// between 1 s and 15 min.
std::uint32_t report_interval_s(std::uint32_t tracker_interval_s);

// The items to pre-fetch: the most requested first (in list order among equals), those held
// already skipped (`held` is sorted), at most `most` new ones, and only items requested at
// least `min_requests` times in the AS.
template <typename Item>
std::vector<Item> prefetch_plan(std::span<const basic_popular_item<Item>> popular, std::span<const Item> held, std::size_t most,
                                std::uint64_t min_requests = 1) {
    std::vector<const basic_popular_item<Item>*> ranked;
    for (const auto& item : popular) ranked.push_back(&item);
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) { return a->requests > b->requests; });
    std::vector<Item> plan;
    for (const auto* item : ranked) {
        if (plan.size() >= most) break;
        if (item->requests < min_requests || std::binary_search(held.begin(), held.end(), item->info_hash)) continue;
        if (std::find(plan.begin(), plan.end(), item->info_hash) == plan.end()) plan.push_back(item->info_hash);
    }
    return plan;
}

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

// What a fellow supernode says it has, among the items this one is still downloading. Items
// are named as the caller names them (the daemon by info hash, the simulator by item number);
// both lists are sorted and hold each item once.
template <typename Item>
struct basic_fellow_view {
    std::vector<Item> holds;     // whole
    std::vector<Item> fetching;  // coming in now
    bool leads = false;          // its address sorts before ours: it fetches first
};
using fellow_view = basic_fellow_view<std::string>;

// Whether a supernode holds the origin back to a trickle: when every item it is still
// downloading is held whole by a fellow supernode it hears from, or being fetched by a fellow
// that leads. Of supernodes that want the same item at once, one (the lowest address) takes it
// from the origin at full speed and the others relay it from that one: the origin sends about
// one copy, not one per supernode.
template <typename Item>
bool hold_origin_back(std::span<const Item> downloading, std::span<const basic_fellow_view<Item>> fellows) {
    if (downloading.empty()) return false;
    return std::all_of(downloading.begin(), downloading.end(), [&](const Item& item) {
        return std::any_of(fellows.begin(), fellows.end(), [&](const basic_fellow_view<Item>& fellow) {
            return std::binary_search(fellow.holds.begin(), fellow.holds.end(), item) ||
                   (fellow.leads && std::binary_search(fellow.fetching.begin(), fellow.fetching.end(), item));
        });
    });
}

}  // namespace nearcast::peer
