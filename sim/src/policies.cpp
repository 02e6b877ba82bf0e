// The client's shipped policies in the simulator: a supernode pre-fetches what the tracker says
// is popular in its AS (peer::prefetch_plan, on each report), holds the origin to a trickle
// while its fellows relay what it fetches (peer::hold_origin_back), and every nearcast peer
// leaves the origin alone while near peers can supply it (peer::step_deference). The same
// functions the daemon and the peer call, on the inputs the simulation has: its fluid flows
// stand for connections, a session's verified bytes for its pieces.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "engine.hpp"
#include "nearcast/peer/ranking.hpp"
#include "nearcast/peer/supernode_role.hpp"
#include "nearcast/tracker/supernodes.hpp"

namespace nearcast::sim::detail {

namespace {

constexpr std::size_t fellows_kept = 16;    // the fellows the tracker lists for a supernode

}  // namespace

void engine::count_request(std::uint16_t as_index, std::uint32_t item) { popularity_.count(as_index, item); }

void engine::find_fellows() {
    fellows_stale_ = false;
    std::vector<std::uint32_t> all;
    for (const auto& list : supernodes_by_as_) {
        for (const auto p : list) {
            if (!dead_[p]) all.push_back(p);
        }
    }
    for (auto& list : fellows_) list.clear();
    std::vector<tracker::supernode_load> others;
    for (const auto p : all) {
        const auto home = people_.peers[p].origin_as;
        others.clear();
        for (const auto q : all) {
            const auto there = people_.peers[q].origin_as;
            // As the tracker counts them: 0 in the same AS, up to 6 hops, 7 for further.
            others.push_back({q, 0, there == home ? 0u : hops_.hops(*graph_, home, there, 6), 0, 0});
        }
        for (const auto id : tracker::fellows_of(p, others, fellows_kept)) fellows_[p].push_back(static_cast<std::uint32_t>(id));
    }
}

void engine::report_supernodes(double now) {
    // Each supernode reports and is answered with what is popular in its AS (/popular); it
    // pre-fetches by the daemon's plan. A report that finds no room (every cached item in use)
    // leaves the item to the origin, as the daemon's refused pre-fetch does.
    for (std::uint16_t a = 0; a < supernodes_by_as_.size(); ++a) {
        std::vector<peer::popular_item> popular;
        for (const auto& [item, requests] : popularity_.top(a, config_.popular_listed)) popular.push_back({std::to_string(item), requests});
        if (popular.empty()) continue;
        const auto reporting = supernodes_by_as_[a];  // pre-fetching may evict, never elect: a copy to be safe
        for (const auto p : reporting) {
            if (dead_[p] || !supernode_[p]) continue;
            std::set<std::string> held;
            if (cache_slot_[p] != none) {
                for (const auto id : caches_[cache_slot_[p]].sessions) held.insert(std::to_string(sessions_[id].item));
            }
            for (const auto& hash : peer::prefetch_plan(popular, held, config_.prefetch_items, config_.prefetch_min_requests)) {
                cache_item(p, static_cast<std::uint32_t>(std::stoul(hash)), now);
            }
        }
    }
}

void engine::apply_policies(double now) {
    // Supernodes: the origin waits while every item still coming is held whole by a fellow, or
    // fetched by one that leads (a lower address).
    if (uses_supernodes()) {
        if (fellows_stale_) find_fellows();
        // Only supernodes fetching something have a decision to take: the others let the
        // origin in (they ask it for nothing). Their fills are among the active sessions.
        for (const auto p : trickled_) origin_trickled_[p] = 0;
        trickled_.clear();
        std::vector<std::pair<std::uint32_t, std::uint32_t>> coming_all;  // (supernode, item)
        for (const auto id : active_sessions_) {
            const session& fill = sessions_[id];
            if (fill.kind == session_kind::cache && transfers_[id].state == phase::downloading) coming_all.emplace_back(fill.peer, fill.item);
        }
        std::sort(coming_all.begin(), coming_all.end());
        for (std::size_t from = 0; from < coming_all.size();) {
            const auto p = coming_all[from].first;
            std::size_t to = from;
            std::vector<std::uint32_t> coming;
            std::vector<std::string> downloading;
            for (; to < coming_all.size() && coming_all[to].first == p; ++to) {
                coming.push_back(coming_all[to].second);
                downloading.push_back(std::to_string(coming_all[to].second));
            }
            from = to;
            if (dead_[p] || !supernode_[p]) continue;
            std::vector<peer::fellow_view> views;
            for (const auto q : fellows_[p]) {
                if (dead_[q]) continue;
                peer::fellow_view view;
                view.leads = people_.peers[q].address < people_.peers[p].address;
                for (std::size_t i = 0; i < coming.size(); ++i) {
                    const auto id = cached_.find(cache_key(q, coming[i]));
                    if (id == flat_index::missing) continue;
                    (transfers_[id].state == phase::downloading ? view.fetching : view.holds).insert(downloading[i]);
                }
                views.push_back(std::move(view));
            }
            if (peer::hold_origin_back(downloading, views)) {
                origin_trickled_[p] = 1;
                trickled_.push_back(p);
            }
        }
    }

    // Every nearcast peer downloading (a supernode's cache fills too; streams never defer, as
    // the peer's stream command keeps the origin): origin deference. Its
    // connections are its flows, both ways; a near peer is one in its AS, and to a supernode
    // its fellows are near as well (the daemon puts them in its near class).
    static const peer::origin_deference rule;  // the peer's defaults
    const auto now_ms = static_cast<std::uint64_t>(std::llround(now * 1000));
    for (const auto id : active_sessions_) {
        session& s = sessions_[id];
        const auto& t = transfers_[id];
        if (t.state != phase::downloading) continue;
        // The origin's web seeds are the floor: called in when BitTorrent has delivered too
        // little for a while (a peer whose answer lists only supernodes of other networks,
        // which refuse it, and no origin), and kept.
        if (s.kind != session_kind::cache && !s.web_seeded) {
            double bittorrent = 0;
            for (const auto f : s.in_flows) bittorrent += flows_[f].rate;
            s.backstop.observe(now, static_cast<std::int64_t>(bittorrent));
            if (s.backstop.web_seeds_needed()) {
                s.web_seeded = true;
                ++result_.sessions_web_seeded;
                for (const auto origin : live_origins()) {
                    flow& seed = flows_[add_flow(origin, none, id, now)];
                    seed.web_seed = true;
                    seed.held_off = false;
                }
            }
        }
        if (s.kind == session_kind::stream) continue;
        const auto& self = people_.peers[s.peer];
        const bool supernode = s.kind == session_kind::cache;
        const auto near = [&](const flow& f) { return f.where == flow_class::intra || (supernode && f.from_supernode); };
        peer::origin_outlook outlook;
        const double missing_bytes = std::max(t.size - t.bytes, 0.0);
        outlook.missing = static_cast<std::uint32_t>(std::ceil(missing_bytes / piece_bytes));
        // Pieces are picked at random: a near peer holding a share of the item holds that share
        // of what we lack; near seeds hold all of it. Each piece counts once.
        double lacking_everywhere = 1;
        std::int64_t near_rate = 0, origin_rate = 0;
        std::vector<proximity::ip_address> near_downloaders;
        for (const auto f : s.in_flows) {
            const flow& in = flows_[f];
            if (in.source_session == none) {
                origin_rate += static_cast<std::int64_t>(in.rate);
                continue;
            }
            if (!near(in)) continue;
            near_rate += static_cast<std::int64_t>(in.rate);
            const auto& source = transfers_[in.source_session];
            lacking_everywhere *= 1 - std::clamp(source.bytes / std::max(source.size, 1.0), 0.0, 1.0);
            if (source.state == phase::downloading) near_downloaders.push_back(proximity::ip_address::v4(people_.peers[in.source_peer].address));
        }
        for (const auto f : s.out_flows) {
            const flow& out = flows_[f];
            if (near(out) && transfers_[out.target_session].state == phase::downloading) {
                near_downloaders.push_back(proximity::ip_address::v4(people_.peers[out.target_peer].address));
            }
        }
        outlook.near_supply = static_cast<std::uint32_t>(std::floor(outlook.missing * (1 - lacking_everywhere) + 1e-9));
        outlook.position = peer::place_among(proximity::ip_address::v4(self.address), near_downloaders);
        const bool was_held = s.deference.origin_held;
        peer::step_deference(s.deference, true, now_ms, outlook, near_rate, origin_rate, rule);
        if (s.deference.origin_held != was_held) {
            for (const auto f : s.in_flows) {
                if (flows_[f].source_session == none) flows_[f].held_off = s.deference.origin_held && !flows_[f].web_seed;
            }
        }
    }
}

}  // namespace nearcast::sim::detail
