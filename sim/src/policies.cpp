// The client's shipped policies in the simulator: a supernode pre-fetches what the tracker says
// is popular in its AS (peer::prefetch_plan, on each report), holds the origin to a trickle
// while its fellows relay what it fetches (peer::hold_origin_back), and every nearcast peer
// leaves the origin alone while near peers can supply it (peer::step_deference). The same
// functions the daemon and the peer call, on the inputs the simulation has: its fluid flows
// stand for connections, a session's verified bytes for its pieces.
#include <algorithm>
#include <cmath>

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
    for (auto& list : fellow_of_) list.clear();
    std::vector<tracker::supernode_load> others;
    for (const auto p : all) {
        const auto home = people_.peers[p].origin_as;
        others.clear();
        for (const auto q : all) {
            const auto there = people_.peers[q].origin_as;
            // As the tracker counts them: 0 in the same AS, up to 6 hops, 7 for further.
            others.push_back({q, 0, there == home ? 0u : hops_.hops(*graph_, home, there, 6), 0, 0});
        }
        for (const auto id : tracker::fellows_of(p, others, fellows_kept)) {
            fellows_[p].push_back(static_cast<std::uint32_t>(id));
            fellow_of_[id].push_back(p);
        }
    }
}

void engine::report_supernodes(double now) {
    // Each supernode reports and is answered with what is popular in its AS (/popular); it
    // pre-fetches by the daemon's plan. A report that finds no room (every cached item in use)
    // leaves the item to the origin, as the daemon's refused pre-fetch does.
    for (std::uint16_t a = 0; a < supernodes_by_as_.size(); ++a) {
        // An AS without supernodes has no report to answer (ranking its items is most of the cost).
        if (supernodes_by_as_[a].empty()) continue;
        std::vector<peer::basic_popular_item<std::uint32_t>> popular;
        for (const auto& [item, requests] : popularity_.top(a, config_.popular_listed)) popular.push_back({item, requests});
        if (popular.empty()) continue;
        const auto reporting = supernodes_by_as_[a];  // pre-fetching may evict, never elect: a copy to be safe
        std::vector<std::uint32_t> held;
        for (const auto p : reporting) {
            if (dead_[p] || !supernode_[p]) continue;
            held.clear();
            if (cache_slot_[p] != none) {
                for (const auto id : caches_[cache_slot_[p]].sessions) held.push_back(sessions_[id].item);
            }
            std::sort(held.begin(), held.end());
            for (const auto item : peer::prefetch_plan<std::uint32_t>(popular, held, config_.prefetch_items, config_.prefetch_min_requests)) {
                cache_item(p, item, now);
            }
        }
    }
}

void engine::note_cache_change(std::uint32_t peer) {
    if (cache_change_noted_.empty() || cache_change_noted_[peer]) return;
    cache_change_noted_[peer] = 1;
    caches_changed_.push_back(peer);
}

void engine::decide_origin_holds() {
    // Supernodes: the origin waits while every item still coming is held whole by a fellow, or
    // fetched by one that leads (a lower address). Only supernodes fetching something have a
    // decision to take (the others ask the origin for nothing), and it is taken again only when
    // its inputs changed: its own fills, a fellow's cache, or who its fellows are.
    hold_due_.clear();
    const auto due = [&](std::uint32_t p) {
        if (hold_stale_[p]) return;
        hold_stale_[p] = 1;
        hold_due_.push_back(p);
    };
    if (fellows_stale_) {
        find_fellows();
        std::fill(origin_trickled_.begin(), origin_trickled_.end(), 0);
        for (const auto& list : supernodes_by_as_) {
            for (const auto p : list) due(p);
        }
    }
    for (const auto q : caches_changed_) {
        cache_change_noted_[q] = 0;
        due(q);
        for (const auto p : fellow_of_[q]) due(p);
    }
    caches_changed_.clear();
    for (const auto p : hold_due_) {
        hold_stale_[p] = 0;
        origin_trickled_[p] = 0;
        if (dead_[p] || !supernode_[p] || cache_slot_[p] == none) continue;
        hold_coming_.clear();
        for (const auto id : caches_[cache_slot_[p]].sessions) {
            if (transfers_[id].state == phase::downloading) hold_coming_.push_back(sessions_[id].item);
        }
        if (hold_coming_.empty()) continue;
        // Sorted, each item once (a supernode caches an item once): as the views must be.
        std::sort(hold_coming_.begin(), hold_coming_.end());
        hold_views_.resize(fellows_[p].size());
        std::size_t views = 0;
        for (const auto q : fellows_[p]) {
            if (dead_[q]) continue;
            auto& view = hold_views_[views++];
            view.holds.clear();
            view.fetching.clear();
            view.leads = people_.peers[q].address < people_.peers[p].address;
            for (const auto item : hold_coming_) {
                const auto id = cached_.find(cache_key(q, item));
                if (id == flat_index::missing) continue;
                (transfers_[id].state == phase::downloading ? view.fetching : view.holds).push_back(item);
            }
        }
        origin_trickled_[p] = peer::hold_origin_back<std::uint32_t>(hold_coming_, std::span(hold_views_).first(views)) ? 1 : 0;
    }
}

void engine::apply_policies(double now) {
    if (uses_supernodes()) decide_origin_holds();

    // Every nearcast peer downloading (a supernode's cache fills too; streams never defer, as
    // the peer's stream command keeps the origin): origin deference. Its
    // connections are its flows, both ways; a near peer is one in its AS, and to a supernode
    // its fellows are near as well (the daemon puts them in its near class).
    peer::origin_deference rule;  // the peer's defaults, but for peer.defer_origin_at
    rule.hold_at = config_.defer_origin_at;
    const auto now_ms = static_cast<std::uint64_t>(std::llround(now * 1000));
    for (std::size_t at = 0; at < active_sessions_.size(); ++at) {
        const auto id = active_sessions_[at];
        // The next sessions and their flows are fetched from memory while this one is decided:
        // they lie anywhere in their arrays, and waiting for each in turn was most of the time.
        if (at + 2 < active_sessions_.size()) __builtin_prefetch(&sessions_[active_sessions_[at + 2]]);
        if (at + 1 < active_sessions_.size() && near_links_[active_sessions_[at + 1]] > 0) {
            const session& next = sessions_[active_sessions_[at + 1]];
            for (const auto f : next.in_flows) __builtin_prefetch(&flows_[f]);
            for (const auto f : next.out_flows) __builtin_prefetch(&flows_[f]);
        }
        session& s = sessions_[id];
        const auto& t = transfers_[id];
        if (t.state != phase::downloading) continue;
        const bool deferring = s.kind != session_kind::stream;
        const bool backstopped = s.kind != session_kind::cache && !s.web_seeded;
        const bool supernode = s.kind == session_kind::cache;
        // Nothing to decide (the answer is what it was, the state stays as it is): the backstop
        // is not counting a spell below its floor and the session receives more than that floor
        // (its in_rate is the sum of its flows' rates but for rounding, hence the byte of
        // margin), and deference has no near peer to weigh and no hold or proof under way.
        const bool backstop_steady = !backstopped || s.backstop.steady_at(t.in_rate - 1);
        const bool deference_steady = !deferring || (near_links_[id] == 0 && !s.deference.origin_held &&
                                                     !s.deference.proving && s.deference.near_shortfall == 0);
        if (backstop_steady && deference_steady) {
            if (deferring) s.deference.last_sample_ms = now_ms;
            continue;
        }
        const auto near = [&](const flow& f) { return f.where == flow_class::intra || (supernode && f.from_supernode); };
        const auto self_address = people_.peers[s.peer].address;
        // What deference weighs, from one walk over the session's incoming flows (the web seeds
        // the backstop may add below would add nothing to it: they start at rate 0).
        // Pieces are picked at random: a near peer holding a share of the item holds that share
        // of what we lack; near seeds hold all of it. Each piece counts once.
        double bittorrent = 0;
        double lacking_everywhere = 1;
        std::int64_t near_rate = 0, origin_rate = 0;
        // The gateway is the lowest address among the network's downloaders: whether one is
        // below ours is all place_among asks, so the lowest of them stands for them all.
        std::uint32_t lowest_near_downloader = 0;
        bool near_downloading = false;
        const bool passing_over = now_ms < s.passed_over_until_ms;
        const auto downloads_near = [&](std::uint32_t address) {
            if (passing_over && address == s.passed_over) return;
            lowest_near_downloader = near_downloading ? std::min(lowest_near_downloader, address) : address;
            near_downloading = true;
        };
        for (const auto f : s.in_flows) {
            const flow& in = flows_[f];
            if (backstopped) bittorrent += in.rate;
            if (!deferring) continue;
            if (in.source_session == none) {
                origin_rate += static_cast<std::int64_t>(in.rate);
                continue;
            }
            if (!near(in)) continue;
            near_rate += static_cast<std::int64_t>(in.rate);
            // A seed holds all of it (its bytes are its size): nothing is lacking everywhere, and
            // its transfer need not be read.
            if (!in.source_downloading) {
                lacking_everywhere = 0;
                continue;
            }
            const auto& source = transfers_[in.source_session];
            lacking_everywhere *= 1 - std::clamp(source.bytes / std::max(source.size, 1.0), 0.0, 1.0);
            downloads_near(in.source_address);
        }
        // The origin's web seeds are the floor: called in when BitTorrent has delivered too
        // little for a while (a peer whose answer lists only supernodes of other networks,
        // which refuse it, and no origin), and kept.
        const auto call_in_web_seeds = [&] {
            s.web_seeded = true;
            ++result_.sessions_web_seeded;
            for (const auto origin : live_origins()) {
                flow& seed = flows_[add_flow(origin, none, id, now)];
                seed.web_seed = true;
                seed.held_off = false;
            }
        };
        if (backstopped) {
            s.backstop.observe(now, static_cast<std::int64_t>(bittorrent));
            if (s.backstop.web_seeds_needed()) call_in_web_seeds();
        }
        if (!deferring) continue;
        peer::origin_outlook outlook;
        const double missing_bytes = std::max(t.size - t.bytes, 0.0);
        outlook.missing = static_cast<std::uint32_t>(std::ceil(missing_bytes / piece_bytes));
        // Once a near downloader below us is known, no other can change the answer (follower),
        // and one above the lowest known changes nothing either: only the others are looked at.
        for (const auto f : s.out_flows) {
            if (near_downloading && lowest_near_downloader < self_address) break;
            const flow& out = flows_[f];
            if (near_downloading && out.target_address >= lowest_near_downloader) continue;
            // A flow's target is downloading: completing or leaving closes its incoming flows.
            if (near(out)) downloads_near(out.target_address);
        }
        outlook.near_supply = static_cast<std::uint32_t>(std::floor(outlook.missing * (1 - lacking_everywhere) + 1e-9));
        const auto lowest = proximity::ip_address::v4(lowest_near_downloader);
        outlook.position = peer::place_among(proximity::ip_address::v4(self_address),
                                             std::span<const proximity::ip_address>(&lowest, near_downloading ? 1 : 0));
        const bool was_held = s.deference.origin_held;
        const auto step = peer::step_deference(s.deference, true, now_ms, outlook, near_rate, origin_rate, rule);
        if (step.gateway_too_slow && near_downloading) {
            s.passed_over = lowest_near_downloader;
            s.passed_over_until_ms = now_ms + rule.pass_over_ms;
        }
        // Near seeds too slow to rely on and no origin seeder among the sources (the tracker
        // left it out for them): the origin's web seed, as the peer does.
        if (step.near_below_floor && backstopped && !s.web_seeded &&
            std::none_of(s.in_flows.begin(), s.in_flows.end(), [&](auto f) { return flows_[f].source_session == none; })) {
            call_in_web_seeds();
        }
        if (s.deference.origin_held != was_held) {
            for (const auto f : s.in_flows) {
                if (flows_[f].source_session == none) flows_[f].held_off = s.deference.origin_held && !flows_[f].web_seed;
            }
        }
    }
}

}  // namespace nearcast::sim::detail
