// Supernodes, faults and the origin's upload plan in the simulator: the tracker's election and
// assignment policy, the daemon's cache policy and the seeder's budget, run as they ship.
#include <algorithm>
#include <cmath>
#include <string>

#include "engine.hpp"
#include "nearcast/peer/cache_policy.hpp"
#include "nearcast/seeder/upload_budget.hpp"
#include "nearcast/tracker/supernodes.hpp"

namespace nearcast::sim::detail {

namespace {

tracker::election_options election_options_of(const scenario& config) {
    tracker::election_options options;
    options.peers_per_supernode = config.peers_per_supernode;
    options.admission_limit = config.admission_limit;
    options.min_group_peers = config.supernode_min_group_peers;
    options.min_uptime_s = config.supernode_min_uptime_s;
    options.min_upload_capacity = config.supernode_min_capacity_bytes_per_s;
    return options;
}

}  // namespace

void engine::elect(double now) {
    std::vector<tracker::supernode_candidate> candidates;
    for (std::uint32_t p = 0; p < people_.origin_begin; ++p) {
        const auto& placed = people_.peers[p];
        if (!placed.daemon || dead_[p]) continue;
        // The candidate claims its capacity; the tracker believes as much of it as its uploads
        // so far prove (the `uploaded` counters of its announces).
        const double claimed = people_.upload_bps[placed.capacity_class];
        const double credited = tracker::credited_capacity(
            claimed, static_cast<std::uint64_t>(uploaded_by_peer_[p]), false,
            tracker::credit_options_for(config_.admission_limit, config_.supernode_min_capacity_bytes_per_s));
        candidates.push_back({p, placed.as_index, credited, placed.uptime_at_start_s + now, placed.reachable, supernode_[p] != 0, false});
    }
    std::vector<tracker::group_population> groups;
    for (std::uint32_t a = 0; a < world_.ases.size(); ++a) groups.push_back({a, people_.peers_per_as[a]});
    const auto options = election_options_of(config_);
    const auto elected = tracker::elect_supernodes(candidates, groups, options);

    std::vector<std::uint8_t> keep(people_.peers.size(), 0);
    for (const auto& chosen : elected) keep[chosen.id] = 1;
    for (std::uint32_t a = 0; a < supernodes_by_as_.size(); ++a) {
        const auto old = supernodes_by_as_[a];
        for (const auto p : old) {
            if (!keep[p]) drop_supernode(p, now);
        }
    }
    for (auto& list : supernodes_by_as_) list.clear();
    for (auto& index : supernodes_by_load_) index.clear();
    for (const auto& chosen : elected) {
        const auto p = static_cast<std::uint32_t>(chosen.id);
        supernode_[p] = 1;
        ever_supernode_[p] = 1;
        admission_[p] = chosen.admission_limit;
        supernodes_by_as_[chosen.group].push_back(p);
        supernodes_by_load_[chosen.group].insert({static_cast<double>(children_[p]) / admission_[p], p});
    }
    fellows_stale_ = true;
    result_.supernodes_elected = static_cast<std::uint32_t>(elected.size());
    result_.supernodes_peak = std::max(result_.supernodes_peak, result_.supernodes_elected);
}

void engine::assign_supernodes(std::uint32_t id, double now) {
    session& s = sessions_[id];
    if (s.kind == session_kind::cache || transfer(s).state != phase::downloading) return;
    const std::size_t want = 2;
    if (s.supernodes.size() >= want) return;
    const auto home = people_.peers[s.peer].as_index;
    if (home >= supernodes_by_as_.size()) return;
    const auto count = static_cast<std::uint32_t>(want - s.supernodes.size());
    const auto excluded = [&](std::uint32_t p) {
        return p == s.peer || dead_[p] || std::find(s.supernodes.begin(), s.supernodes.end(), p) != s.supernodes.end();
    };

    // tracker::assign_supernodes takes the nearest, then the least loaded with room: the first
    // `count` with room in each AS's load order are all it can choose, so it is given those.
    std::vector<tracker::supernode_load> loads;
    const auto offer = [&](std::uint16_t as_index, std::uint32_t hops) {
        std::uint32_t offered = 0;
        for (const auto& [load, p] : supernodes_by_load_[as_index]) {
            if (offered == count || load >= 1) break;  // from here on every one is full
            if (excluded(p) || children_[p] >= admission_[p]) continue;
            loads.push_back({p, as_index, hops, children_[p], admission_[p]});
            ++offered;
        }
    };
    offer(home, 0);
    // Neighbouring ASes are asked when the home AS has fewer than two supernodes for this peer,
    // full ones included (as the tracker's registry counts them).
    std::size_t home_supernodes = supernodes_by_as_[home].size();
    if (supernode_[s.peer]) --home_supernodes;  // a supernode's own session (it is in its AS's list)
    for (const auto p : s.supernodes) {
        if (supernode_[p] && people_.peers[p].as_index == home && p != s.peer && !dead_[p]) --home_supernodes;
    }
    if (home_supernodes < want) {
        for (const auto neighbour : adjacent_ases_[home]) offer(neighbour, 1);
    }
    const auto chosen = tracker::assign_supernodes(loads, count);
    for (const auto picked : chosen) {
        const auto p = static_cast<std::uint32_t>(picked);
        set_children(p, children_[p] + 1);
        result_.max_children_over_limit =
            std::max(result_.max_children_over_limit, static_cast<double>(children_[p]) / admission_[p]);
        s.supernodes.push_back(p);
        // A supernode serves what it pre-fetched (report_supernodes): it caches nothing on demand.
        if (const auto cache = cached_.find(cache_key(p, s.item)); cache != flat_index::missing) {
            touch(cache, now);
            if (!connected(sessions_[id], p)) add_flow(p, cache, id, now);
        }
    }
}

void engine::release_supernodes(session& s) {
    for (const auto p : s.supernodes) {
        if (children_[p] > 0) set_children(p, children_[p] - 1);
    }
    s.supernodes.clear();
}

void engine::set_children(std::uint32_t supernode, std::uint32_t children) {
    if (supernode_[supernode]) {
        auto& index = supernodes_by_load_[people_.peers[supernode].as_index];
        index.erase({static_cast<double>(children_[supernode]) / admission_[supernode], supernode});
        index.insert({static_cast<double>(children) / admission_[supernode], supernode});
    }
    children_[supernode] = children;
}

supernode_cache& engine::cache_of(std::uint32_t supernode) {
    if (cache_slot_[supernode] == none) {
        cache_slot_[supernode] = static_cast<std::uint32_t>(caches_.size());
        caches_.emplace_back();
    }
    return caches_[cache_slot_[supernode]];
}

void engine::touch(std::uint32_t id, double now) {
    session& s = sessions_[id];
    if (s.kind == session_kind::cache && transfer(s).state != phase::ended) {
        cache_of(s.peer).touch(id, static_cast<std::int64_t>(s.last_used), static_cast<std::int64_t>(now), use_links_);
    }
    s.last_used = now;
}

std::uint32_t engine::cache_item(std::uint32_t supernode, std::uint32_t item, double now) {
    auto& cache = cache_of(supernode);
    if (const auto found = cached_.find(cache_key(supernode, item)); found != flat_index::missing) {
        touch(found, now);
        return found;
    }
    // Make room the way the daemon does (peer::evict_for): least recently used first, never an
    // item in use. The daemon's function is given the oldest items not in use that could
    // possibly go, in its own order, and what the rest hold as one item in use.
    const auto quota = static_cast<std::uint64_t>(config_.supernode_cache_gb * 1e9);
    const auto incoming = static_cast<std::uint64_t>(people_.item_bytes[item]);
    if (static_cast<std::uint64_t>(cache.bytes) + incoming <= quota) {
        return open_session(supernode, item, session_kind::cache, now);
    }
    std::uint64_t total = cache.whole_bytes;
    const std::uint64_t excess = total + incoming > quota ? total + incoming - quota : 0;
    std::vector<peer::cached_item> held;
    std::uint64_t offered = 0;
    cache.in_eviction_order(
        use_links_, [&](std::uint32_t id) { return static_cast<std::int64_t>(sessions_[id].last_used); },
        [&](const lru_key& key) {
            if (offered >= excess) return false;
            const session& cached = sessions_[key.session];
            if (transfer(cached).state == phase::downloading || !cached.out_flows.empty()) return true;
            const auto bytes = static_cast<std::uint64_t>(transfer(cached).size);
            held.push_back({std::to_string(key.session), bytes, key.used_s, false});
            offered += bytes;
            return true;
        });
    held.push_back({"", total - offered, 0, true});
    for (const auto& evicted : peer::evict_for(held, quota, incoming)) {
        const auto id = static_cast<std::uint32_t>(std::stoul(evicted));
        total -= static_cast<std::uint64_t>(transfers_[id].size);
        leave(id, now, false);
    }
    if (total + incoming > quota) return none;  // everything held is in use: serve without caching
    return open_session(supernode, item, session_kind::cache, now);
}

void engine::drop_supernode(std::uint32_t peer, double now) {
    supernode_[peer] = 0;
    origin_trickled_[peer] = 0;
    fellows_stale_ = true;
    if (cache_slot_[peer] != none) {
        const auto caches = caches_[cache_slot_[peer]].sessions;
        for (const auto id : caches) leave(id, now, false);
        caches_[cache_slot_[peer]] = supernode_cache{};  // what rounding left of the byte count goes too
    }
    supernodes_by_load_[people_.peers[peer].as_index].erase(
        {static_cast<double>(children_[peer]) / admission_[peer], peer});
    auto& list = supernodes_by_as_[people_.peers[peer].as_index];
    list.erase(std::remove(list.begin(), list.end(), peer), list.end());
    // Its children re-home on their next answer, spread over an interval so that they do not
    // all hit the tracker and the next supernodes at once.
    for (const auto id : active_sessions_) {
        session& child = sessions_[id];
        const auto at = std::find(child.supernodes.begin(), child.supernodes.end(), peer);
        if (at == child.supernodes.end()) continue;
        child.supernodes.erase(at);
        if (in_fault_ && child.orphan_fault != current_fault_) {
            ++result_.faults[current_fault_].orphans;  // once per child and fault
            child.orphan_fault = current_fault_;
            child.orphaned_at = now;
        }
        if (child.orphaned_at < 0) child.orphaned_at = now;
        const double jitter = std::uniform_real_distribution<double>(0, config_.announce_interval_s)(random_);
        schedule(now + jitter, event_type::rehome, id, child.version);
    }
    children_[peer] = 0;
}

void engine::kill_peer(std::uint32_t peer, double now, fault_outcome& outcome) {
    if (dead_[peer]) return;
    ++outcome.removed;
    if (supernode_[peer]) drop_supernode(peer, now);
    dead_[peer] = 1;
    if (const auto id = current_session_[peer]; id != none) {
        if (transfers_[id].state == phase::downloading) ++outcome.sessions_interrupted;
        leave(id, now, true);
    }
    if (peer >= people_.origin_begin) {
        for (std::uint32_t f = 0; f < flows_.size(); ++f) {
            if (flows_[f].alive && flows_[f].source_peer == peer) remove_flow(f, now);
        }
        refresh_origin_records();
    }
}

void engine::apply_fault(std::uint32_t index, double now) {
    const fault& what = config_.faults[index];
    fault_outcome outcome;
    outcome.at_h = what.at_h;
    current_fault_ = static_cast<std::uint32_t>(result_.faults.size());
    result_.faults.push_back(outcome);
    const auto share_of = [&](std::vector<std::uint32_t> pool) {
        std::shuffle(pool.begin(), pool.end(), random_);
        pool.resize(static_cast<std::size_t>(std::lround(what.share * static_cast<double>(pool.size()))));
        return pool;
    };
    std::vector<std::uint32_t> victims;
    std::string label;
    const auto percent = std::to_string(static_cast<int>(std::lround(what.share * 100)));
    switch (what.kind) {
    case fault_kind::supernodes: {
        std::vector<std::uint32_t> current;
        for (const auto& list : supernodes_by_as_) current.insert(current.end(), list.begin(), list.end());
        std::sort(current.begin(), current.end());
        victims = share_of(current);
        label = percent + "% of supernodes";
        break;
    }
    case fault_kind::seeders:
        victims = share_of(live_origins());
        label = percent + "% of origin seeders";
        break;
    case fault_kind::as:
        for (std::uint32_t p = 0; p < people_.origin_begin; ++p) {
            if (people_.peers[p].origin_as == what.asn) victims.push_back(p);
        }
        label = "AS" + std::to_string(what.asn);
        break;
    }
    in_fault_ = true;
    for (const auto victim : victims) kill_peer(victim, now, result_.faults[current_fault_]);
    in_fault_ = false;
    char at[32];
    std::snprintf(at, sizeof at, " at %.1f h", what.at_h);
    result_.faults[current_fault_].what = label + at;
}

void engine::plan_origin_budget() {
    // The seeder's policy: swarms that serve themselves share a slice of the origin's upload,
    // the long tail gets the rest. Planned over the swarms the origin is serving now.
    std::vector<std::uint32_t> items;
    for (const auto& f : flows_) {
        if (f.alive && f.source_session == none) items.push_back(sessions_[f.target_session].item);
    }
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    std::vector<seeder::swarm_sources> swarms;
    for (const auto item : items) {
        swarms.push_back({item, swarms_[item].seeders(), swarms_[item].leechers(), true, 0});
    }
    seeder::upload_budget_config budget;
    budget.upload_limit = static_cast<std::int64_t>(static_cast<double>(live_origins().size()) *
                                                    origin_upload_bps_);
    const auto plan = seeder::plan_upload(budget, swarms);
    for (const auto item : budgeted_items_) origin_budget_[item] = 0;
    budgeted_items_.clear();
    for (const auto& limit : plan.swarms) {
        if (limit.upload_limit <= 0) continue;
        const auto item = static_cast<std::uint32_t>(limit.item_id);
        origin_budget_[item] = static_cast<double>(limit.upload_limit);
        budgeted_items_.push_back(item);
    }
}

}  // namespace nearcast::sim::detail
