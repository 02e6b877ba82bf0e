// Re-sharing bandwidth at the end of a tick, only where something changed. Max-min fairness is
// decided per connected component of the flow-resource graph (flows joined by the uploaders,
// downloaders, far limits, transit links and origin budgets they share): progressive filling
// on a component takes the same steps, in the same order, whether it runs alone or among the
// others. So a component whose flows, caps and resources did not change since the last sharing
// keeps its rates, and only the components an arrival, a completion, a departure or a cap
// touched are shared again (the lazy idea of SimGrid's LMM solver).
//
// A leecher's cap (what it holds that its peer lacks) moves every tick, but a cap above the
// highest share the filling reached before the flow froze changes no step of it: only a cap
// at or below that bound makes its component dirty. An origin seeder whose capacity exceeds
// the download capacity of every peer it serves can never be a bottleneck: it joins nothing,
// or every origin flow would tie the world into one component.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine.hpp"

namespace nearcast::sim::detail {

namespace {

// An origin's capacity must exceed what its peers can take by this margin before it is
// called slack, so that rounding in the filling never lets it be the bottleneck.
constexpr double slack_margin = 0.999;

}  // namespace

std::size_t engine::resource_space() const {
    return 3 * people_.peers.size() + world_.ases.size() + 1 + people_.item_bytes.size();
}

std::uint32_t engine::flow_resources(const flow& f, std::uint32_t* global, double* capacity, bool with_origin,
                                     double budget) const {
    const std::size_t peer_count = people_.peers.size();
    const std::size_t as_count = world_.ases.size() + 1;
    const double transit = config_.transit_capacity_mbps * 1e6 / 8;
    std::uint32_t count = 0;
    const auto use = [&](std::size_t id, double bytes_per_s) {
        global[count] = static_cast<std::uint32_t>(id);
        capacity[count] = bytes_per_s;
        ++count;
    };
    if (f.where != flow_class::origin || with_origin) use(f.source_peer, people_.upload_bps[f.source_class]);
    use(peer_count + f.target_peer, people_.download_bps[f.target_class]);
    if (f.far) use(2 * peer_count + f.source_peer, config_.far_rate_limit_kbps * 1000 / 8);
    if (transit > 0 && f.where != flow_class::intra) {
        use(3 * peer_count + f.target_as, transit);
        if (f.where == flow_class::inter) use(3 * peer_count + f.source_as, transit);
    }
    if (f.where == flow_class::origin && budget > 0) use(3 * peer_count + as_count + f.item, budget);
    return count;
}

void engine::count_origin_flow(const flow& f, int change) {
    if (f.where != flow_class::origin) return;
    const std::size_t classes = people_.download_bps.size();
    auto& count = origin_flows_by_class_[(f.source_peer - people_.origin_begin) * classes + f.target_class];
    count = static_cast<std::uint32_t>(static_cast<std::int64_t>(count) + change);
}

void engine::mark_dirty(const flow& f) {
    std::uint32_t global[flow_demand::max_resources];
    double capacity[flow_demand::max_resources];
    const auto count = flow_resources(f, global, capacity, true, f.budget);
    dirty_resources_.insert(dirty_resources_.end(), global, global + count);
}

std::uint32_t engine::resource_root(std::uint32_t r) {
    while (resource_parent_[r] != r) {
        resource_parent_[r] = resource_parent_[resource_parent_[r]];
        r = resource_parent_[r];
    }
    return r;
}

void engine::share_rates() {
    const std::size_t space = resource_space();
    if (resource_stamp_.size() != space) {
        resource_stamp_.assign(space, 0);
        resource_index_.assign(space, 0);
    }
    ++stamp_;

    // Which origins can be a bottleneck now: those whose peers could take more than they give.
    const std::size_t classes = people_.download_bps.size();
    const std::size_t origins = people_.peers.size() - people_.origin_begin;
    origin_slack_.resize(origins, 2);  // 2: not yet known, so that the first sharing counts as a change
    origin_flipped_.assign(origins, 0);
    for (std::size_t o = 0; o < origins; ++o) {
        double demand = 0;
        for (std::size_t c = 0; c < classes; ++c) {
            demand += static_cast<double>(origin_flows_by_class_[o * classes + c]) * people_.download_bps[c];
        }
        const auto capacity = people_.upload_bps[people_.peers[people_.origin_begin + o].capacity_class];
        const std::uint8_t slack = demand <= slack_margin * capacity ? 1 : 0;
        origin_flipped_[o] = slack != origin_slack_[o];
        origin_slack_[o] = slack;
    }

    // Every flow that can carry data now, its resources, and whether it changed since the last
    // sharing; resources joined by a flow are joined in the union-find.
    demands_.clear();
    demand_flow_.clear();
    demand_changed_.clear();
    capacities_.clear();
    resource_parent_.clear();
    const auto resource = [&](std::uint32_t global, double capacity) {
        if (resource_stamp_[global] != stamp_) {
            resource_stamp_[global] = stamp_;
            resource_index_[global] = static_cast<std::uint32_t>(capacities_.size());
            resource_parent_.push_back(static_cast<std::uint32_t>(capacities_.size()));
            capacities_.push_back(capacity);
        }
        return resource_index_[global];
    };
    for (std::uint32_t id = 0; id < flows_.size(); ++id) {
        flow& f = flows_[id];
        if (!f.alive) continue;
        double cap = std::numeric_limits<double>::infinity();
        bool carries = true;
        if (f.source_downloading) {
            const auto& source = transfers_[f.source_session];
            const auto& target = transfers_[f.target_session];
            // A leecher passes on the pieces it holds that the target lacks, no faster than it
            // has them. Pieces are picked at random (rarest first looks random from here), so
            // of the source's pieces the target did not get over this connection it lacks the
            // same share as of everything it did not get over it: a peer ahead of the source
            // still lacks some of them, as in BitTorrent, where both sides of a connection trade.
            const double elsewhere = std::max(target.bytes - f.bytes, 0.0);
            const double not_from_here = std::max(target.size - f.bytes, 1.0);
            const double lacking = (source.bytes - f.bytes) * std::max(1 - elsewhere / not_from_here, 0.0);
            if (lacking < piece_bytes) {
                carries = false;
            } else {
                cap = lacking / config_.tick_s + source.in_rate;
            }
        }
        if (!carries) {
            if (f.included) mark_dirty(f);  // the component it was in lost it
            f.included = false;
            f.rate = 0;
            continue;
        }
        const double budget = f.where == flow_class::origin ? origin_budget_[f.item] : 0;
        const std::size_t origin = f.where == flow_class::origin ? f.source_peer - people_.origin_begin : 0;
        const bool origin_joins = f.where == flow_class::origin && !origin_slack_[origin];
        bool changed = f.fresh || !f.included || budget != f.budget || (cap != f.cap && cap <= f.cap_bound);
        if (f.where == flow_class::origin && origin_flipped_[origin]) changed = true;
        if (changed && f.included) mark_dirty(f);  // what it joined before may have come apart
        f.cap = cap;
        f.budget = budget;
        f.included = true;
        f.fresh = false;

        std::uint32_t global[flow_demand::max_resources];
        double capacity[flow_demand::max_resources];
        const auto count = flow_resources(f, global, capacity, origin_joins, budget);
        flow_demand demand;
        demand.cap = cap;
        for (std::uint32_t i = 0; i < count; ++i) {
            demand.use(resource(global[i], capacity[i]));
            if (i > 0) {
                const auto a = resource_root(demand.resources[0]), b = resource_root(demand.resources[i]);
                if (a != b) resource_parent_[std::max(a, b)] = std::min(a, b);
            }
        }
        demands_.push_back(demand);
        demand_flow_.push_back(id);
        demand_changed_.push_back(changed);
    }
    result_.flow_ticks += demands_.size();

    // The components to share again: those of a changed flow, and those that lost one.
    component_dirty_.assign(capacities_.size(), 0);
    for (std::size_t d = 0; d < demands_.size(); ++d) {
        if (demand_changed_[d]) component_dirty_[resource_root(demands_[d].resources[0])] = 1;
    }
    for (const auto global : dirty_resources_) {
        if (resource_stamp_[global] == stamp_) component_dirty_[resource_root(resource_index_[global])] = 1;
    }
    dirty_resources_.clear();

    // Their flows in the order of the flows, their resources numbered as they first appear: the
    // order ties are broken in, the same as when every flow is shared at once.
    solve_demands_.clear();
    solve_flows_.clear();
    solve_capacities_.clear();
    solve_index_.assign(capacities_.size(), none);
    for (std::size_t d = 0; d < demands_.size(); ++d) {
        const auto& demand = demands_[d];
        if (!component_dirty_[resource_root(demand.resources[0])]) continue;
        flow_demand local;
        local.cap = demand.cap;
        for (std::uint8_t i = 0; i < demand.resource_count; ++i) {
            auto& index = solve_index_[demand.resources[i]];
            if (index == none) {
                index = static_cast<std::uint32_t>(solve_capacities_.size());
                solve_capacities_.push_back(capacities_[demand.resources[i]]);
            }
            local.use(index);
        }
        solve_demands_.push_back(local);
        solve_flows_.push_back(demand_flow_[d]);
    }
    result_.flow_solves += solve_demands_.size();
    rates_.resize(solve_demands_.size());
    cap_bounds_.resize(solve_demands_.size());
    max_min_rates(solve_capacities_, solve_demands_, rates_, work_, cap_bounds_);
    for (std::size_t d = 0; d < solve_flows_.size(); ++d) {
        flow& f = flows_[solve_flows_[d]];
        f.rate = rates_[d];
        f.cap_bound = cap_bounds_[d];
    }

    for (const auto id : active_sessions_) transfers_[id].in_rate = 0;
    for (const auto id : demand_flow_) {
        const flow& f = flows_[id];
        transfers_[f.target_session].in_rate += f.rate;
    }
}

}  // namespace nearcast::sim::detail
