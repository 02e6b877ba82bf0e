// The locality policy inside libtorrent: a session plugin that places every connection with
// the proximity distance, closes far connections beyond the policy's limits, and counts the
// payload that came from near peers, far peers and origin seeders.
//
// Its hooks run on libtorrent's network thread; the counters are atomics the client's own
// thread reads, and the own address (learnt late when bound to the wildcard) is behind a mutex.
#pragma once

#include <libtorrent/extensions.hpp>
#include <libtorrent/torrent_handle.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "nearcast/peer/progress.hpp"
#include "nearcast/peer/ranking.hpp"
#include "nearcast/peer/supernode_role.hpp"
#include "nearcast/peer/supernode_summary.hpp"

namespace nearcast::peer::client {

struct locality_counters {
    std::atomic<std::uint64_t> from_near{0}, from_far{0}, from_origin{0};
    std::atomic<std::uint64_t> to_near{0}, to_far{0}, to_origin{0};
    std::atomic<std::uint64_t> far_closed{0};  // far or origin connections closed by the policy
    bytes_by_source downloaded() const { return {from_near.load(), from_far.load(), from_origin.load()}; }
    bytes_by_source uploaded() const { return {to_near.load(), to_far.load(), to_origin.load()}; }
};

// The same for one item: the payload it received from each kind of source.
struct item_source_counters {
    std::atomic<std::uint64_t> from_near{0}, from_far{0}, from_origin{0};
    bytes_by_source downloaded() const { return {from_near.load(), from_far.load(), from_origin.load()}; }
};

// What the plugin shares with the client's thread.
class locality_state {
public:
    locality_state(const proximity::model& routing, locality_options options, bool enforce)
        : routing_(routing), options_(options), enforce_(enforce) {}

    void set_self(std::optional<proximity::ip_address> self);
    std::optional<proximity::ip_address> self() const;
    // Addresses of origin seeders (the hosts of web seeds, --origin): counted as origin.
    void add_origin(proximity::ip_address address);
    bool is_origin(proximity::ip_address address) const;
    std::vector<proximity::ip_address> origins() const;
    proximity::network_distance distance_to(proximity::ip_address address) const;
    // Near peers learnt of on libtorrent's thread, for the client's thread to connect to.
    void queue_connection(const lt::torrent_handle& torrent, const lt::tcp::endpoint& where);
    std::vector<std::pair<lt::torrent_handle, lt::tcp::endpoint>> take_connections();

    // The AS of an address (0: no route), for the traffic matrix.
    std::uint32_t as_of(proximity::ip_address address) const;
    void count_from_as(std::uint32_t asn, std::uint64_t bytes);
    std::map<std::uint32_t, std::uint64_t> downloaded_by_as() const;
    // The same keyed by the AS number as text ("0": no route), as the JSON reports carry it.
    std::map<std::string, std::uint64_t> downloaded_by_as_text() const;

    // Uploading switched off (or the monthly cap reached): no peer may be unchoked, not even
    // by libtorrent's optimistic unchoke, and no request is served.
    void set_uploads_off(bool off) { uploads_off_ = off; }
    bool uploads_off() const { return uploads_off_; }

    // Whether this peer may be its network's gateway (peer::may_be_gateway on the limits its
    // user sets), said in the extension handshake of each new connection; and the near
    // peers whose handshake said they may not (their followers follow the next downloader).
    void set_may_be_gateway(bool may) { may_be_gateway_ = may; }
    bool may_be_gateway() const { return may_be_gateway_; }
    void note_no_gateway(proximity::ip_address address, bool no_gateway);
    bool no_gateway(proximity::ip_address address) const;

    // The supernode role, as the tracker gave it: children admitted up to the limit.
    void set_supernode(bool supernode, std::uint32_t admission_limit);
    bool supernode() const;
    bool admit_child(proximity::ip_address address);
    void release_child(proximity::ip_address address);
    child_admission admission() const;
    // What this daemon says of itself in the nearcast_sn message (encoded), sent while it is a
    // supernode.
    void set_own_summary(std::string encoded);
    std::string own_summary() const;
    // Fellow supernodes, from their nearcast_sn messages: they are no children, no far peers
    // to cut, and a source to prefer over the origin.
    void note_fellow(proximity::ip_address address, supernode_summary summary);
    bool is_fellow(proximity::ip_address address) const;
    // Fellows heard from within `fresh` (they repeat their summary every few seconds).
    std::vector<std::pair<proximity::ip_address, supernode_summary>> fellows(std::chrono::seconds fresh) const;

    // Torrents whose origin is left alone for now (origin_deference). Each call is the client's
    // verdict on a torrent; forget_origin drops it with the torrent. A held origin connection
    // stays open but hears NOT_INTERESTED (a libtorrent seeder then chokes it and rejects what
    // was asked of it, so those blocks go to near peers); letting the origin in again is one
    // INTERESTED, not a new connection. One that goes on sending is closed. A verdict that lets
    // the origin in is heard at the next block from anyone, not at the next one-second tick.
    void set_origin_held(const lt::torrent_handle& torrent, bool held);
    bool origin_held(const lt::torrent_handle& torrent) const;
    // The client lets the origin in again after a hold that near peers did not earn: the
    // origin's waiting unchoke is heard at the next block from anyone, not at the next tick.
    void wake_origin(const lt::torrent_handle& torrent);
    bool take_origin_wake(const lt::torrent_handle& torrent);
    void forget_origin(const lt::torrent_handle& torrent);
    // Whether the client defers to near peers at all (locality on, --defer-origin-at not 0).
    void set_defers(bool defers);
    // News of near peers for this torrent: the tracker named one for the first time, or one
    // unchoked us (it may be the gateway to follow).
    void note_near_news(const lt::torrent_handle& torrent);
    // News of near peers (above) is called out at once, from libtorrent's thread, once until
    // the client's next poll takes it: a client that polls on a timer (the daemon, every
    // 200 ms) polls then, so that the new peer is dialled and a verdict taken at once, not at
    // the timer. Set before use; an empty function stops the calls.
    void on_news(std::function<void()> wake);
    bool news_pending() const { return news_pending_; }
    void take_news() { news_pending_ = false; }
    // A near peer told us of a piece while the origin is held and our connection to the peer
    // is interested, unchoked and has nothing in flight. libtorrent picks blocks for a connection when it becomes
    // interesting, when a block arrives from it and when we finish a piece; a follower that
    // caught up with its gateway and leaves the origin alone has none of these, so it would
    // hear of the gateway's new pieces without asking for them (a 4 s stall was traced to
    // this). The client's next poll has libtorrent weigh its interest in every peer again,
    // which picks blocks. Called from libtorrent's thread; wakes the client as news does.
    void ask_repick(const lt::torrent_handle& torrent);
    std::vector<lt::torrent_handle> take_repicks();
    // News of near peers that no verdict has weighed yet: the client samples at once.
    bool verdict_awaited(const lt::torrent_handle& torrent) const;

    // An item's own counters, made when libtorrent adds it; what it received so far (zero for
    // an item not known); forgotten with the item.
    std::shared_ptr<item_source_counters> item_counters(const lt::torrent_handle& torrent);
    bytes_by_source downloaded_by(const lt::torrent_handle& torrent) const;
    void forget_item(const lt::torrent_handle& torrent);

    const locality_options& options() const { return options_; }
    // false: count bytes by source but never close a connection (the control, --no-locality).
    bool enforce() const { return enforce_; }
    locality_counters counters;

private:
    void wake_client();

    const proximity::model& routing_;
    const locality_options options_;
    const bool enforce_;
    mutable std::mutex mutex_;
    std::optional<proximity::ip_address> self_;
    std::set<proximity::ip_address> origins_;
    std::vector<std::pair<lt::torrent_handle, lt::tcp::endpoint>> to_connect_;
    std::map<std::uint32_t, std::uint64_t> by_as_;
    bool supernode_ = false;
    std::atomic<bool> uploads_off_{false};
    std::atomic<bool> may_be_gateway_{true};
    std::set<proximity::ip_address> no_gateway_;
    child_admission admission_;
    std::string own_summary_;
    struct fellow {
        supernode_summary summary;
        std::chrono::steady_clock::time_point heard;
    };
    std::map<proximity::ip_address, fellow> fellows_;
    std::set<lt::torrent_handle> origin_held_;
    std::set<lt::torrent_handle> origin_wakes_;
    std::set<lt::torrent_handle> origin_verdicts_;
    std::set<lt::torrent_handle> near_news_;
    std::set<lt::torrent_handle> repicks_;
    std::map<lt::torrent_handle, std::shared_ptr<item_source_counters>> items_;
    bool defers_ = false;
    std::atomic<bool> news_pending_{false};
    std::mutex wake_mutex_;
    std::function<void()> wake_;
};

std::shared_ptr<lt::plugin> make_locality_plugin(std::shared_ptr<locality_state> state);

std::optional<proximity::ip_address> to_proximity(const lt::address& address);

}  // namespace nearcast::peer::client
