// Whom a simulated peer downloads from: the tracker's answer (the production selection policy,
// configured by the strategy), the client's connect order and far limits (the production
// ranking policy), and the flows that carry the bytes.
#include <algorithm>

#include "engine.hpp"

namespace nearcast::sim::detail {

tracker::peer_record engine::full_record(std::uint32_t peer) const {
    const auto& placed = people_.peers[peer];
    auto record = tracker::record_for({proximity::ip_address::v4(placed.address), placed.port});
    record.prefix_length = placed.prefix_length;
    record.origin_as = placed.origin_as;
    if (peer >= people_.origin_begin) record.flags |= tracker::peer_record::flag_origin;
    return record;
}

tracker::peer_record engine::record_of(std::uint32_t peer, bool seed) const {
    auto record = full_record(peer);
    // A prefix-aware tracker knows announced prefixes, not who originates them.
    if (which_ == strategy::prefix) record.origin_as = 0;
    if (seed) record.flags |= tracker::peer_record::flag_seed;
    return record;
}

proximity::network_distance engine::distance(std::uint32_t a, std::uint32_t b) {
    return tracker::record_distance(full_record(a), full_record(b), world_.routing.graph(), locality_.distance, hops_);
}

bool engine::alive_origin(std::uint32_t peer) const { return peer >= people_.origin_begin && !dead_[peer]; }

std::vector<std::uint32_t> engine::live_origins() const {
    std::vector<std::uint32_t> alive;
    for (auto p = people_.origin_begin; p < people_.peers.size(); ++p) {
        if (!dead_[p]) alive.push_back(p);
    }
    return alive;
}

void engine::refresh_origin_records() {
    origin_records_.clear();
    for (const auto p : live_origins()) origin_records_.push_back(record_of(p, true));
}

std::uint32_t engine::session_of(std::uint32_t peer, std::uint32_t item) const {
    if (supernode_[peer]) {
        if (const auto found = cached_.find(cache_key(peer, item)); found != flat_index::missing) return found;
    }
    const std::uint32_t id = current_session_[peer];
    return id != none && sessions_[id].item == item ? id : none;
}

bool engine::connected(const session& s, std::uint32_t peer) const {
    return std::any_of(s.in_flows.begin(), s.in_flows.end(),
                       [&](std::uint32_t f) { return flows_[f].source_peer == peer; });
}

void engine::announce(std::uint32_t id, double now) {
    session& s = sessions_[id];
    if (uses_supernodes() && s.kind != session_kind::cache) {
        // Every answer tops the peer up to two supernodes (as the tracker's registry does); an
        // orphan's next answer is its re-homing.
        assign_supernodes(id, now);
        if (s.orphan_fault != none) {
            auto& outcome = result_.faults[s.orphan_fault];
            ++(s.supernodes.empty() ? outcome.left_to_origin : outcome.rehomed);
            outcome.max_rehome_s = std::max(outcome.max_rehome_s, now - s.orphaned_at);
        }
        s.orphaned_at = -1;
        s.orphan_fault = none;
    }
    s.known.clear();
    if (which_ == strategy::origin_only) {
        s.known = live_origins();
    } else if (s.kind == session_kind::cache) {
        // A supernode asks the other supernodes that hold the item, nearest first, then the
        // tracker's answer.
        // The nearest few are all it ever connects to between two announces. Holders in its own
        // AS (cost 20 at most) are nearer than those of an adjacent one (30), and those nearer
        // than any other (40 or more), so each ring is only looked at when the ones inside it
        // are too few.
        constexpr std::size_t nearest_wanted = 64;
        const auto& held = holders_[s.item];
        std::vector<std::pair<std::uint32_t, std::uint32_t>> holders;
        const auto take = [&](auto from, auto to) {
            for (auto at = from; at != to; ++at) {
                if (at->second != s.peer && !dead_[at->second]) {
                    holders.emplace_back(distance(s.peer, at->second).cost(), at->second);
                }
            }
        };
        const auto take_as = [&](std::uint16_t as_index) {
            const auto from = std::lower_bound(held.begin(), held.end(), std::pair{as_index, std::uint32_t{0}});
            auto to = from;
            while (to != held.end() && to->first == as_index) ++to;
            take(from, to);
        };
        const auto home = people_.peers[s.peer].as_index;
        take_as(home);
        if (holders.size() < nearest_wanted) {
            for (const auto neighbour : adjacent_ases_[home]) take_as(neighbour);
        }
        if (holders.size() < nearest_wanted) {
            holders.clear();
            take(held.begin(), held.end());
        }
        const auto kept = std::min(holders.size(), nearest_wanted);
        std::partial_sort(holders.begin(), holders.begin() + static_cast<std::ptrdiff_t>(kept), holders.end());
        for (std::size_t i = 0; i < kept; ++i) s.known.push_back(holders[i].second);
        // Then the tracker's answer, as any peer gets it: the item's swarm nearest first (the
        // viewers of its AS that fetch it already), and the origins.
        const tracker::requester who{record_of(s.peer, false)};
        const auto answer = tracker::select_peers(swarms_[s.item].peers(), origin_records_, who, config_.numwant, *graph_,
                                                  selection_, origin_rule_, hops_, random_);
        for (const auto& where : answer.peers) {
            const auto found = people_.by_endpoint.find(population::endpoint_key(where.address.v4_bits(), where.port));
            if (found != people_.by_endpoint.end() &&
                std::find(s.known.begin(), s.known.end(), found->second) == s.known.end()) {
                s.known.push_back(found->second);
            }
        }
    } else {
        const tracker::requester who{record_of(s.peer, false)};
        const auto answer = tracker::select_peers(swarms_[s.item].peers(), origin_records_, who, config_.numwant, *graph_,
                                                  selection_, origin_rule_, hops_, random_);
        for (const auto& where : answer.peers) {
            const auto found = people_.by_endpoint.find(population::endpoint_key(where.address.v4_bits(), where.port));
            if (found != people_.by_endpoint.end()) s.known.push_back(found->second);
        }
    }
    connect_more(id, now);
}

void engine::connect_more(std::uint32_t id, double now) {
    session& s = sessions_[id];
    transfer(s).needs_peers = false;
    if (transfer(s).state != phase::downloading || s.in_flows.size() >= config_.max_connections) return;

    // Candidates: known peers not yet connected that hold (part of) the item.
    std::vector<std::uint32_t> candidates;
    for (const auto peer : s.known) {
        if (dead_[peer] || peer == s.peer || connected(s, peer)) continue;
        if (peer >= people_.origin_begin) {
            candidates.push_back(peer);
            continue;
        }
        const auto source = session_of(peer, s.item);
        if (source == none) continue;
        // A supernode's daemon admits its children and its fellows; every other connection to
        // it is refused at the handshake (its admission limit is taken by the children the
        // tracker assigns).
        if (sessions_[source].kind == session_kind::cache && s.kind != session_kind::cache &&
            std::find(s.supernodes.begin(), s.supernodes.end(), peer) == s.supernodes.end()) {
            continue;
        }
        candidates.push_back(peer);
    }
    if (candidates.empty()) return;
    const std::size_t room = config_.max_connections - s.in_flows.size();

    std::vector<std::uint32_t> chosen;
    if (which_ != strategy::nearcast) {
        // An ordinary client connects to the tracker's peers in no particular order.
        std::shuffle(candidates.begin(), candidates.end(), random_);
        candidates.resize(std::min(candidates.size(), room));
        chosen = candidates;
    } else if (s.kind == session_kind::cache) {
        // A supernode's fill: the daemon's connect order, nearest first (the viewers and
        // supernodes of its own AS before fellows further away), origins last; its fellows are
        // in its near class, so no far limit closes them.
        std::vector<peer::candidate> ranked;
        ranked.reserve(candidates.size());
        for (const auto peer : candidates) ranked.push_back({distance(s.peer, peer), peer >= people_.origin_begin});
        const auto order = peer::connect_order(ranked);
        for (std::size_t i = 0; i < order.size() && i < room; ++i) chosen.push_back(candidates[order[i]]);
    } else {
        // nearcast's client: nearest first, origins last, and the far limits of its ranking.
        std::vector<peer::candidate> ranked;
        ranked.reserve(candidates.size());
        for (const auto peer : candidates) ranked.push_back({distance(s.peer, peer), peer >= people_.origin_begin});
        const auto order = peer::connect_order(ranked);
        std::vector<peer::connection> connections;
        for (const auto f : s.in_flows) {
            connections.push_back({f, flows_[f].distance, flows_[f].source_session == none});
        }
        constexpr std::uint64_t proposed = std::uint64_t{1} << 40;
        for (std::size_t i = 0; i < order.size() && i < room; ++i) {
            connections.push_back({proposed + order[i], ranked[order[i]].distance, ranked[order[i]].origin});
        }
        auto closing = peer::connections_to_close(connections, locality_);
        std::sort(closing.begin(), closing.end());
        for (std::size_t i = 0; i < order.size() && i < room; ++i) {
            if (!std::binary_search(closing.begin(), closing.end(), proposed + order[i])) {
                chosen.push_back(candidates[order[i]]);
            }
        }
        for (const auto closed : closing) {
            if (closed < proposed) remove_flow(static_cast<std::uint32_t>(closed), now);
        }
    }

    for (const auto peer : chosen) {
        const std::uint32_t source = peer >= people_.origin_begin ? none : session_of(peer, s.item);
        add_flow(peer, source, id, now);
        // A connection carries data both ways: a fellow downloader gets our pieces too.
        if (source != none) {
            session& other = sessions_[source];
            if (transfer(other).state == phase::downloading && !connected(other, s.peer)) add_flow(s.peer, id, source, now);
        }
    }
}

std::uint32_t engine::add_flow(std::uint32_t source_peer, std::uint32_t source_session, std::uint32_t target,
                               double now) {
    std::uint32_t id;
    if (!free_flows_.empty()) {
        id = free_flows_.back();
        free_flows_.pop_back();
    } else {
        id = static_cast<std::uint32_t>(flows_.size());
        flows_.emplace_back();
        live_flow_bits_.resize(flows_.size() / 64 + 1, 0);
    }
    flow& f = flows_[id];
    f = flow{};
    f.alive = true;
    live_flow_bits_[id / 64] |= std::uint64_t{1} << (id % 64);
    f.source_peer = source_peer;
    f.source_session = source_session;
    f.target_session = target;
    session& t = sessions_[target];
    f.target_peer = t.peer;
    f.item = t.item;
    f.source_address = people_.peers[source_peer].address;
    f.target_address = people_.peers[t.peer].address;
    f.source_as = people_.peers[source_peer].as_index;
    f.target_as = people_.peers[t.peer].as_index;
    f.source_class = people_.peers[source_peer].capacity_class;
    f.target_class = people_.peers[t.peer].capacity_class;
    const bool origin = source_session == none;
    f.distance = distance(source_peer, t.peer);
    if (origin) {
        f.where = flow_class::origin;
        f.held_off = t.deference.origin_held;  // a web seed is marked after, and cleared then
    } else {
        f.where = people_.peers[source_peer].origin_as == people_.peers[t.peer].origin_as ? flow_class::intra
                                                                                          : flow_class::inter;
        f.from_supernode = sessions_[source_session].kind == session_kind::cache;
        f.to_child = f.from_supernode && t.kind != session_kind::cache;
        f.source_downloading = transfers_[source_session].state == phase::downloading;
        sessions_[source_session].out_flows.push_back(id);
        touch(source_session, now);
    }
    // nearcast's far peer class: a peer's upload to far peers shares one small limit. A
    // supernode puts its fellows in its near class (the relay among supernodes), not its
    // children or anyone else in another AS.
    const bool fellow_relay = f.from_supernode && t.kind == session_kind::cache;
    f.far = which_ == strategy::nearcast && !fellow_relay &&
            peer::classify(f.distance, origin, locality_) == peer::peer_kind::far;
    t.in_flows.push_back(id);
    count_near_links(f, 1);
    return id;
}

void engine::count_near_links(const flow& f, int change) {
    if (f.source_session == none) return;
    // As apply_policies weighs them: from the target's side, a peer of its AS or (a supernode's
    // fill) a fellow; from the source's side, a peer of its AS or any flow from its cache.
    const bool target_cache = sessions_[f.target_session].kind == session_kind::cache;
    if (f.where == flow_class::intra || (target_cache && f.from_supernode)) near_links_[f.target_session] += change;
    if (f.where == flow_class::intra || f.from_supernode) near_links_[f.source_session] += change;
}

void engine::remove_flow(std::uint32_t id, double now) {
    flow& f = flows_[id];
    if (!f.alive) return;
    const double delta = f.rate * std::max(now - tick_start_, 0.0);
    if (delta > 0) {
        f.bytes += delta;
        account(f, delta, now);
    }
    session& target = sessions_[f.target_session];
    settle_session(target, now);
    auto& arriving = transfer(target);
    arriving.in_rate = std::max(arriving.in_rate - f.rate, 0.0);
    auto& in = target.in_flows;
    in.erase(std::remove(in.begin(), in.end(), id), in.end());
    if (f.source_session != none) {
        auto& out = sessions_[f.source_session].out_flows;
        out.erase(std::remove(out.begin(), out.end(), id), out.end());
    }
    const bool had_rate = f.rate > 0;
    count_near_links(f, -1);
    f.alive = false;
    live_flow_bits_[id / 64] &= ~(std::uint64_t{1} << (id % 64));
    f.rate = 0;
    free_flows_.push_back(id);
    if (arriving.state == phase::downloading) {
        arriving.needs_peers = true;
        if (had_rate) predict_completion(f.target_session, now);
    }
}

}  // namespace nearcast::sim::detail
