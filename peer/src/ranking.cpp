#include "nearcast/peer/ranking.hpp"

#include <algorithm>
#include <numeric>

namespace nearcast::peer {

std::string_view to_string(peer_kind kind) {
    switch (kind) {
        case peer_kind::near: return "near";
        case peer_kind::far: return "far";
        case peer_kind::origin: return "origin";
    }
    return "far";
}

proximity::network_distance locator::distance_to(proximity::ip_address other) const {
    if (!self_) return {proximity::nearness::unknown, 0};
    return proximity::distance(*routing_, *self_, other, options_);
}

peer_kind classify(const proximity::network_distance& distance, bool origin, const locality_options& options) {
    if (origin) return peer_kind::origin;
    return distance.kind <= options.near_up_to && distance.kind != proximity::nearness::unknown ? peer_kind::near
                                                                                                : peer_kind::far;
}

std::vector<std::size_t> connect_order(std::span<const candidate> candidates) {
    std::vector<std::size_t> order(candidates.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (candidates[a].origin != candidates[b].origin) return !candidates[a].origin;
        return candidates[a].distance.cost() < candidates[b].distance.cost();
    });
    return order;
}

std::vector<std::uint64_t> connections_to_close(std::span<const connection> connections,
                                                const locality_options& options) {
    std::vector<const connection*> far, origins;
    std::uint32_t near = 0;
    for (const auto& each : connections) {
        switch (classify(each.distance, each.origin, options)) {
            case peer_kind::near: ++near; break;
            case peer_kind::far: far.push_back(&each); break;
            case peer_kind::origin: origins.push_back(&each); break;
        }
    }
    const std::uint32_t far_limit =
        near >= options.min_near_connections ? options.max_far_connections : options.max_far_when_isolated;
    std::vector<std::uint64_t> close;
    // Farthest first; among equals the newest (highest id) goes, so settled connections stay.
    const auto farthest_first = [](const connection* a, const connection* b) {
        if (a->distance.cost() != b->distance.cost()) return a->distance.cost() > b->distance.cost();
        return a->id > b->id;
    };
    std::sort(far.begin(), far.end(), farthest_first);
    for (std::size_t i = 0; far.size() - i > far_limit; ++i) close.push_back(far[i]->id);
    std::sort(origins.begin(), origins.end(), farthest_first);
    for (std::size_t i = 0; origins.size() - i > options.max_origin_connections; ++i) close.push_back(origins[i]->id);
    return close;
}

bool may_be_gateway(std::int64_t upload_rate, std::int64_t download_limit) { return upload_rate < 0 && download_limit <= 0; }

gateway_position place_among(proximity::ip_address self, std::span<const proximity::ip_address> near_downloaders, bool self_may_be_gateway) {
    if (near_downloaders.empty()) return gateway_position::alone;
    if (!self_may_be_gateway) return gateway_position::follower;
    const bool behind = std::any_of(near_downloaders.begin(), near_downloaders.end(), [&](const auto& other) { return other < self; });
    return behind ? gateway_position::follower : gateway_position::gateway;
}

bool hold_off_origin(bool holding_now, const origin_outlook& outlook, const origin_deference& rule) {
    if (rule.hold_at == 0 || outlook.missing == 0) return false;
    if (outlook.near_supply >= outlook.missing) return true;  // near peers can finish it
    switch (outlook.position) {
        case gateway_position::follower: return true;
        case gateway_position::gateway: return false;  // the network's pieces come through it
        case gateway_position::alone: break;
    }
    return holding_now ? outlook.near_supply > rule.release_at : outlook.near_supply >= rule.hold_at;
}

std::int64_t pace_to_keep(double near_rate, double origin_rate, const origin_deference& rule) {
    return std::max(rule.min_near_rate, static_cast<std::int64_t>(rule.keep_pace * (near_rate + origin_rate)));
}

bool near_proven(gateway_position position, double near_rate, double origin_rate, const origin_deference& rule) {
    if (position != gateway_position::alone) return true;
    return origin_rate > 0 && near_rate >= std::max(static_cast<double>(rule.min_near_rate), origin_rate);
}

void delivery_window::restart(std::uint64_t now_ms) { *this = delivery_window{.since_ms = now_ms}; }

void delivery_window::add(std::int64_t near_rate, std::int64_t origin_rate, double elapsed_s, double fade_s) {
    near_bytes += static_cast<double>(near_rate) * elapsed_s;
    origin_bytes += static_cast<double>(origin_rate) * elapsed_s;
    seconds += elapsed_s;
    if (seconds > fade_s) near_bytes /= 2, origin_bytes /= 2, seconds /= 2;
}

namespace {

// An unproven hold (or the next gateway's, after a pass-over) is judged from the end of its grace:
// a short one when near peers already hold enough that we lack to keep us busy (`hold_at`
// pieces: a gateway that has been fetching for a while), the full one otherwise, from when near
// peers first hold something we lack (a gateway that has just started, with a piece or two).
void begin_grace(deference_state& state, std::uint64_t now_ms, const origin_outlook& outlook, const origin_deference& rule) {
    state.supply_seen = outlook.near_supply > 0;
    const bool supplied = rule.hold_at > 0 && outlook.near_supply >= rule.hold_at;
    state.judged_from_ms = now_ms + (supplied ? rule.supplied_grace_ms : rule.unproven_grace_ms);
}

}  // namespace

deference_step step_deference(deference_state& state, bool may_defer, std::uint64_t now_ms, const origin_outlook& outlook,
                              std::int64_t near_rate, std::int64_t origin_rate, const origin_deference& rule) {
    deference_step step;
    const double elapsed_s =
        state.last_sample_ms && now_ms > *state.last_sample_ms ? static_cast<double>(now_ms - *state.last_sample_ms) / 1000.0 : 0;
    state.last_sample_ms = now_ms;
    const double fade_s = 4 * rule.prove_ms / 1000.0;
    const auto floor = static_cast<double>(rule.min_near_rate);
    if (!may_defer || now_ms < state.origin_kept_until_ms) {
        state.near_shortfall = 0;
        state.proving = false;
        state.origin_held = false;
        state.unproven = false;
        return step;
    }
    // Near peers did not keep their pace: a follower passes its gateway over (the hold goes on,
    // with a new grace, while the caller places it again), anyone else lets the origin in.
    const auto fell_behind = [&](deference_step& out, double delivered) {
        out.near_rate = delivered;
        state.near_shortfall = 0;
        if (outlook.position == gateway_position::follower) {
            out.gateway_too_slow = true;
            out.hold = true;
            state.pace = rule.min_near_rate;
            begin_grace(state, now_ms, outlook, rule);  // the next gateway's
            return out;
        }
        state.origin_kept_until_ms = now_ms + rule.cooldown_ms;
        state.origin_held = false;
        state.unproven = false;
        state.following = false;
        out.cooldown_started = true;
        out.pace = state.pace;
        return out;
    };
    // A follower's hold whose gateway is gone (passed over, finished, left) ends: near peers
    // that hold what we lack must now prove themselves beside the origin, as for anyone alone.
    // Going on unproven, with a new grace and a new judging span, kept the origin away for
    // another 4 s from a follower whose gateway's link sent 260 kB/s.
    if (state.origin_held && state.following && outlook.position != gateway_position::follower) {
        state.origin_held = false;
        state.unproven = false;
        state.following = false;
        state.near_shortfall = 0;
    }
    if (state.origin_held && state.unproven && rule.unproven_judge_ms > 0) {
        // Unproven: past its grace, near peers must average the floor over each judging span.
        // A full grace runs again from the moment near peers first hold something we lack (a
        // gateway's first pieces come after its connection to the origin and a slow start).
        if (!state.supply_seen && outlook.near_supply > 0) {
            state.supply_seen = true;
            state.judged_from_ms = std::max(state.judged_from_ms, now_ms + rule.unproven_grace_ms);
        }
        if (now_ms >= state.judged_from_ms) {
            if (state.window.since_ms < state.judged_from_ms) {
                state.window.restart(now_ms);
            } else {
                state.window.add(near_rate, 0, elapsed_s, fade_s);
            }
            if (now_ms - state.window.since_ms >= rule.unproven_judge_ms && state.window.near_rate() < floor) {
                return fell_behind(step, state.window.near_rate());
            }
        }
    } else if (state.origin_held && outlook.position == gateway_position::alone) {
        // Held for near seeds: what they fall short of the pace adds up, their surplus pays it
        // back. Unjudged (the default), a follower waits for its gateway, as fast or slow as it is.
        state.near_shortfall = std::max(0.0, state.near_shortfall + static_cast<double>(state.pace - near_rate) * elapsed_s);
        if (state.pace > 0 && state.near_shortfall >= static_cast<double>(state.pace) * rule.patience_ms / 1000.0) {
            return fell_behind(step, static_cast<double>(near_rate));
        }
    } else {
        state.near_shortfall = 0;
    }
    step.hold = hold_off_origin(state.origin_held, outlook, rule);
    // A hold for near seeds begins only once they have proved themselves beside the origin, for
    // prove_ms or more.
    const bool proving = step.hold && !state.origin_held && outlook.position == gateway_position::alone;
    if (!proving) {
        state.proving = false;
    } else {
        if (!state.proving) {
            state.proving = true;
            state.window.restart(now_ms);
        } else {
            state.window.add(near_rate, origin_rate, elapsed_s, fade_s);
        }
        const double near_in = state.window.near_rate(), origin_in = state.window.origin_rate();
        const bool proved_long_enough = now_ms - state.window.since_ms >= rule.prove_ms;
        step.near_below_floor = proved_long_enough && near_in < floor;
        if (step.near_below_floor) step.near_rate = near_in;
        if (proved_long_enough && near_proven(outlook.position, near_in, origin_in, rule)) {
            state.pace = pace_to_keep(near_in, origin_in, rule);
        } else {
            step.hold = false;
        }
    }
    if (step.hold && !state.origin_held) {
        // Unproven, the floor is the pace, judged once the hold is past its grace.
        state.unproven = !proving;
        begin_grace(state, now_ms, outlook, rule);
        if (!proving) state.pace = rule.min_near_rate;
        state.proving = false;
    }
    state.origin_held = step.hold;
    state.following = step.hold && outlook.position == gateway_position::follower;
    if (!step.hold) state.unproven = false;
    return step;
}

std::uint32_t near_supply(std::span<const piece_supplier> suppliers, const std::vector<bool>& missing) {
    std::vector<bool> counted(missing.size(), false);
    std::uint32_t supply = 0;
    for (const auto& supplier : suppliers) {
        if (supplier.kind != peer_kind::near || !supplier.unchokes_us) continue;
        const std::size_t pieces = std::min(missing.size(), supplier.pieces.size());
        for (std::size_t piece = 0; piece < pieces; ++piece) {
            if (!missing[piece] || !supplier.pieces[piece] || counted[piece]) continue;
            counted[piece] = true;
            ++supply;
        }
    }
    return supply;
}

std::vector<proximity::ip_prefix> near_prefixes(const proximity::model& routing, proximity::ip_address self,
                                                const locality_options& options) {
    using proximity::nearness;
    std::vector<proximity::ip_prefix> out;
    if (options.near_up_to == nearness::unknown) return out;
    const unsigned subnet = self.is_v4() ? options.distance.subnet_v4 : options.distance.subnet_v6;
    out.push_back(proximity::ip_prefix::of(self, subnet));
    const auto own = routing.prefixes().lookup(self);
    if (!own || options.near_up_to == nearness::same_subnet) return out;
    out.push_back(own->prefix);
    if (options.near_up_to == nearness::same_prefix) return out;

    std::vector<std::uint32_t> near_ases(own->origins.begin(), own->origins.end());
    if (options.near_up_to >= nearness::adjacent_as) {
        const auto& graph = routing.graph();
        // The graph has no neighbour listing by AS number: test each origin AS in the table.
        std::vector<std::uint32_t> adjacent;
        for (const auto& route : routing.prefixes().routes()) {
            for (std::uint32_t origin : route.origins) {
                for (std::uint32_t mine : own->origins) {
                    if (graph.adjacent(mine, origin)) adjacent.push_back(origin);
                }
            }
        }
        near_ases.insert(near_ases.end(), adjacent.begin(), adjacent.end());
    }
    std::sort(near_ases.begin(), near_ases.end());
    near_ases.erase(std::unique(near_ases.begin(), near_ases.end()), near_ases.end());
    for (const auto& route : routing.prefixes().routes()) {
        const bool near = std::any_of(route.origins.begin(), route.origins.end(), [&](std::uint32_t origin) {
            return std::binary_search(near_ases.begin(), near_ases.end(), origin);
        });
        if (near && route.prefix.length > 0) out.push_back(route.prefix);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void backstop::observe(double now_s, std::int64_t bittorrent_rate) {
    if (needed_) return;
    switch (options_.web_seeds) {
        case backstop_options::mode::always: needed_ = true; return;
        case backstop_options::mode::never: return;
        case backstop_options::mode::backstop: break;
    }
    if (bittorrent_rate >= options_.min_rate) {
        below_since_.reset();
        return;
    }
    if (!below_since_) below_since_ = now_s;
    needed_ = now_s - *below_since_ >= options_.grace_s;
}

}  // namespace nearcast::peer
