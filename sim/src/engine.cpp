#include "engine.hpp"

#include "nearcast/peer/supernode_role.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>

namespace nearcast::sim::detail {

namespace {

constexpr double budget_interval_s = 60;  // how often the seeder re-plans its upload (its scrape)
constexpr double origin_trickle_bytes_per_s = 64'000;  // the daemon's --origin-trickle-kb default

}  // namespace

engine::engine(const scenario& config, const topology& world, const population& people, strategy which,
               const progress_callback& progress)
    : config_(config), world_(world), people_(people), which_(which), progress_(progress),
      workload_random_(config.seed), random_(config.seed * 0x9E37'79B9'7F4A'7C15ull + static_cast<unsigned>(which)) {
    const std::size_t peer_count = people.peers.size();
    current_session_.assign(peer_count, none);
    dead_.assign(peer_count, 0);
    supernode_.assign(peer_count, 0);
    ever_supernode_.assign(peer_count, 0);
    children_.assign(peer_count, 0);
    admission_.assign(peer_count, 0);
    supernode_upload_.assign(peer_count, 0);
    uploaded_by_peer_.assign(peer_count, 0);
    // The anchor is a CDN sized to the demand when run.anchor_capacity_mbps says so.
    origin_upload_bps_ = which == strategy::origin_only && config.anchor_capacity_mbps > 0 ? config.anchor_capacity_mbps * 1e6 / 8
                                                                                          : people.upload_bps.back();
    swarms_.resize(config.items);
    origin_budget_.assign(config.items, 0);
    supernodes_by_as_.resize(world.ases.size());
    supernodes_by_load_.resize(world.ases.size());
    cache_slot_.assign(peer_count, none);
    holders_.resize(config.items);
    result_.which = which;
    result_.bucket_s = 600;
    result_.series.resize(std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(config.duration_s() / result_.bucket_s))));
    result_.per_as.resize(world.ases.size() + 1);
    for (std::size_t a = 0; a < world.ases.size(); ++a) {
        result_.per_as[a].asn = world.ases[a].asn;
        result_.per_as[a].peers = people.peers_per_as[a];
    }
    result_.per_as.back().asn = world.origin_asn;

    // The strategy is what the tracker and the client know and do; the code is the same.
    graph_ = &world.routing.graph();
    switch (which) {
    case strategy::origin_only: break;
    case strategy::random:
        selection_.far_share = 1.0;  // every peer drawn at random, as a plain tracker does
        origin_rule_.min_near_seeds = none;  // and the origin is always one of the seeds
        origin_rule_.near_enough = proximity::nearness::unknown;
        break;
    case strategy::prefix: origin_rule_.near_enough = proximity::nearness::same_prefix; break;
    case strategy::as:
        graph_ = &empty_graph_;  // AS numbers, no AS graph
        origin_rule_.near_enough = proximity::nearness::same_as;
        break;
    case strategy::as_adjacent: selection_.distance.max_as_hops = 1; break;
    case strategy::nearcast: break;
    }

    if (uses_supernodes()) {
        origin_trickled_.assign(peer_count, 0);
        fellows_.resize(peer_count);
        fellow_of_.resize(peer_count);
        cache_change_noted_.assign(peer_count, 0);
        hold_stale_.assign(peer_count, 0);
        adjacent_ases_.resize(world.ases.size());
        for (std::size_t a = 0; a < world.ases.size(); ++a) {
            for (std::size_t b = 0; b < world.ases.size(); ++b) {
                if (a != b && world.routing.graph().adjacent(world.ases[a].asn, world.ases[b].asn)) {
                    adjacent_ases_[a].push_back(static_cast<std::uint16_t>(b));
                }
            }
        }
    }
    refresh_origin_records();

    const double day = 86400;
    // A replayed trace brings its own arrivals (scheduled in run()).
    arrival_rate_max_ = people.scheduled.empty()
                            ? static_cast<double>(config.peers) * config.sessions_per_peer / day * (1 + config.daily_cycle)
                            : 0;
}

void engine::schedule(double time, event_type type, std::uint32_t subject, std::uint32_t version) {
    queue_.push({time, sequence_++, type, subject, version});
}

void engine::schedule_next_arrival(double after) {
    if (arrival_rate_max_ <= 0) return;
    const double gap = std::exponential_distribution<double>(arrival_rate_max_)(workload_random_);
    schedule(after + gap, event_type::arrival, 0);
}

strategy_result engine::run() {
    const auto wall_start = std::chrono::steady_clock::now();
    const double end = config_.duration_s();
    schedule_next_arrival(0);
    // A trace's sessions: arrival events whose subject is 1 + their index (0 is a drawn one).
    for (std::uint32_t s = 0; s < people_.scheduled.size(); ++s) schedule(people_.scheduled[s].at_s, event_type::arrival, s + 1);
    // A flash crowd: the first peers all ask for the most popular item at once.
    for (std::uint32_t peer = 0; peer < config_.flash_crowd; ++peer) {
        const auto id = open_session(peer, 0, session_kind::download, 0);
        sessions_[id].linger_s = config_.seed_time_s > 0
                                     ? std::exponential_distribution<double>(1 / config_.seed_time_s)(workload_random_)
                                     : 0;
        ++result_.arrivals;
    }
    for (std::uint32_t f = 0; f < config_.faults.size(); ++f) schedule(config_.faults[f].at_h * 3600, event_type::fault, f);
    if (uses_supernodes()) schedule(0, event_type::election, 0);
    if (uses_supernodes()) schedule(0, event_type::report, 0);
    if (which_ == strategy::nearcast) schedule(0, event_type::policy, 0);
    // The seeder's budget leaves popular swarms to their own seeds; a CDN's peers seed nothing,
    // so the anchor's origin serves every swarm in full (it throttled popular items' streams).
    if (which_ != strategy::origin_only) schedule(0, event_type::budget, 0);
    schedule(result_.bucket_s, event_type::sample, 0);

    double now = 0;
    while (now < end) {
        double next = std::min(now + config_.tick_s, end);
        // Nothing moves between events while no session downloads: skip to the next event.
        if (active_sessions_.empty() && !queue_.empty() && queue_.top().time >= next) {
            const double ticks = std::floor(queue_.top().time / config_.tick_s);
            now = std::min(std::max(now, ticks * config_.tick_s), end);
            tick_start_ = now;
            next = std::min(now + config_.tick_s, end);
            if (now >= end) break;
        }
        while (!queue_.empty() && queue_.top().time < next) {
            const event current = queue_.top();
            queue_.pop();
            ++result_.events;
            handle(current);
        }
        tick(now, next);
        now = next;
        // Every simulated second: the caller may stop the run (SIGTERM) or show progress.
        if (progress_) progress_(which_, now, result_.events);
    }
    finish();
    result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return result_;
}

void engine::handle(const event& next) {
    const double now = next.time;
    const auto matches = [&] {
        return next.subject < sessions_.size() && sessions_[next.subject].version == next.version &&
               transfers_[next.subject].state != phase::ended;
    };
    switch (next.type) {
    case event_type::arrival:
        if (next.subject > 0) {
            arrive_scheduled(people_.scheduled[next.subject - 1], now);
            break;
        }
        arrive(now);
        schedule_next_arrival(now);
        break;
    case event_type::completion: {
        if (next.subject >= sessions_.size()) break;
        auto& t = transfers_[next.subject];
        if (t.state != phase::downloading || t.prediction != next.version) break;
        t.settle(now);
        // Within a byte (or a nanosecond at this rate) is done: rounding must not loop forever.
        if (t.size - t.bytes <= std::max(1.0, t.in_rate * 1e-9)) {
            complete(next.subject, now);
        } else {
            predict_completion(next.subject, now);
        }
        break;
    }
    case event_type::leave:
        if (matches()) {
            session& s = sessions_[next.subject];
            if (s.kind == session_kind::stream && s.play != playback::finished) {
                // The viewer is still watching: it stays (and seeds) until the end.
                const double rate = config_.play_rate_kbps * 1000 / 8;
                schedule(now + std::max((transfer(s).size - s.played) / rate, config_.tick_s), event_type::leave, next.subject,
                         s.version);
            } else {
                leave(next.subject, now, false);
            }
        }
        break;
    case event_type::announce:
        if (matches() && transfers_[next.subject].state == phase::downloading) {
            announce(next.subject, now);
            schedule(now + config_.announce_interval_s, event_type::announce, next.subject, next.version);
        }
        break;
    case event_type::rehome:
        if (matches() && transfers_[next.subject].state == phase::downloading) announce(next.subject, now);
        break;
    case event_type::give_up:
        if (matches() && transfers_[next.subject].state == phase::downloading) leave(next.subject, now, true);
        break;
    case event_type::fault: apply_fault(next.subject, now); break;
    case event_type::election:
        elect(now);
        schedule(now + config_.election_interval_s, event_type::election, 0);
        break;
    case event_type::report:
        report_supernodes(now);
        // As often as the daemon reports: half the tracker's interval.
        schedule(now + peer::report_interval_s(static_cast<std::uint32_t>(std::lround(config_.announce_interval_s))), event_type::report, 0);
        break;
    case event_type::policy:
        apply_policies(now);
        schedule(now + std::max(1.0, config_.tick_s), event_type::policy, 0);
        break;
    case event_type::budget:
        plan_origin_budget();
        schedule(now + budget_interval_s, event_type::budget, 0);
        break;
    case event_type::sample: {
        const auto bucket = std::min(static_cast<std::size_t>(now / result_.bucket_s), result_.series.size() - 1);
        std::uint32_t downloading = 0;
        for (const auto id : active_sessions_) downloading += transfers_[id].state == phase::downloading;
        result_.series[bucket ? bucket - 1 : 0].active_sessions = downloading;
        result_.peak_concurrent_sessions = std::max(result_.peak_concurrent_sessions, static_cast<double>(downloading));
        if (uses_supernodes() && std::fmod(now, 3600) < 1) {
            for (std::uint32_t p = 0; p < people_.origin_begin; ++p) {
                if (supernode_[p]) children_samples_.push_back(static_cast<float>(children_[p]));
            }
        }
        if (progress_) progress_(which_, now, result_.events);
        schedule(now + result_.bucket_s, event_type::sample, 0);
        break;
    }
    }
}

void engine::arrive(double now) {
    // Every draw happens whatever the state, so all strategies see the same arrivals.
    const double day_phase = 2 * std::numbers::pi * (now / 86400 - 20.0 / 24);
    const double accept = (1 + config_.daily_cycle * std::cos(day_phase)) / (1 + config_.daily_cycle);
    const bool accepted = std::uniform_real_distribution<double>(0, 1)(workload_random_) < accept;
    const auto peer = static_cast<std::uint32_t>(workload_random_() % people_.origin_begin);
    const double point = std::uniform_real_distribution<double>(0, people_.popularity_cdf.back())(workload_random_);
    const auto item = static_cast<std::uint32_t>(std::min<std::ptrdiff_t>(
        std::upper_bound(people_.popularity_cdf.begin(), people_.popularity_cdf.end(), point) -
            people_.popularity_cdf.begin(),
        static_cast<std::ptrdiff_t>(people_.popularity_cdf.size()) - 1));
    const bool stream = std::uniform_real_distribution<double>(0, 1)(workload_random_) < config_.stream_share;
    const double linger = std::exponential_distribution<double>(1 / std::max(config_.seed_time_s, 1e-3))(workload_random_);
    const double patience =
        config_.patience_s > 0 ? std::exponential_distribution<double>(1 / config_.patience_s)(workload_random_) : 0;
    if (!accepted) return;
    ++result_.arrivals;
    if (dead_[peer] || current_session_[peer] != none || supernode_[peer]) {
        ++result_.arrivals_skipped;
        return;
    }
    const auto id = open_session(peer, item, stream ? session_kind::stream : session_kind::download, now);
    sessions_[id].linger_s = config_.seed_time_s > 0 ? linger : 0;
    if (patience > 0) schedule(now + patience, event_type::give_up, id, sessions_[id].version);
}

void engine::arrive_scheduled(const population::scheduled_session& given, double now) {
    ++result_.arrivals;
    if (dead_[given.peer] || current_session_[given.peer] != none || supernode_[given.peer]) {
        ++result_.arrivals_skipped;
        return;
    }
    const auto id = open_session(given.peer, given.item, given.stream ? session_kind::stream : session_kind::download, now);
    sessions_[id].linger_s = given.linger_s;
}

std::uint32_t engine::open_session(std::uint32_t peer, std::uint32_t item, session_kind kind, double now) {
    std::uint32_t id;
    if (!free_sessions_.empty()) {
        id = free_sessions_.back();
        free_sessions_.pop_back();
    } else {
        id = static_cast<std::uint32_t>(sessions_.size());
        sessions_.emplace_back();
        transfers_.emplace_back();
        active_slot_.push_back(none);
        near_links_.push_back(0);
        use_links_.emplace_back();
    }
    session& s = sessions_[id];
    const std::uint32_t version = s.version + 1;
    const std::uint32_t prediction = transfers_[id].prediction + 1;  // events of the session before never match
    s.in_flows.clear();
    s.out_flows.clear();
    s.known.clear();
    s.supernodes.clear();
    auto in_flows = std::move(s.in_flows);
    auto out_flows = std::move(s.out_flows);
    auto known = std::move(s.known);
    auto supernodes = std::move(s.supernodes);
    s = session{};
    s.in_flows = std::move(in_flows);
    s.out_flows = std::move(out_flows);
    s.known = std::move(known);
    s.supernodes = std::move(supernodes);
    s.version = version;
    s.id = id;
    auto& moving = transfers_[id];
    moving = session_transfer{};
    moving.prediction = prediction;
    moving.kind = kind;
    s.peer = peer;
    s.item = item;
    s.kind = kind;
    moving.size = people_.item_bytes[item];
    s.start = moving.last = s.last_used = now;
    make_busy(id);
    if (kind == session_kind::cache) {
        note_cache_change(peer);
        cache_of(peer).add(id, moving.size, use_links_);
        cached_.insert(cache_key(peer, item), id);
        auto& holders = holders_[item];
        const std::pair holder{people_.peers[peer].as_index, peer};
        holders.insert(std::lower_bound(holders.begin(), holders.end(), holder), holder);
    } else {
        current_session_[peer] = id;
    }
    swarms_[item].upsert(record_of(peer, false));

    if (uses_supernodes() && kind != session_kind::cache) {
        count_request(people_.peers[peer].as_index, item);
    }
    if (kind != session_kind::cache) {
        const auto as_index = people_.peers[peer].as_index;
        const std::uint64_t asked = (static_cast<std::uint64_t>(as_index) << 32) | item;
        if (asked_in_as_.find(asked) == flat_index::missing) {
            asked_in_as_.insert(asked, 1);
            result_.per_as[as_index].first_request_bytes += people_.item_bytes[item];
        }
    }
    announce(id, now);
    schedule(now + config_.announce_interval_s, event_type::announce, id, s.version);
    return id;
}

void engine::complete(std::uint32_t id, double now) {
    session& s = sessions_[id];
    auto& t = transfer(s);
    t.bytes = t.size;
    t.state = phase::seeding;
    if (s.kind == session_kind::cache) note_cache_change(s.peer);
    for (const auto f : s.out_flows) flows_[f].source_downloading = false;
    t.in_rate = 0;
    ++t.prediction;
    if (s.kind != session_kind::stream || s.play == playback::finished) make_idle(id);
    while (!s.in_flows.empty()) remove_flow(s.in_flows.back(), now);
    if (std::abs(t.received - t.size) > 1e-6 * t.size + 1) ++result_.completed_short;
    swarms_[s.item].upsert(record_of(s.peer, true));
    release_supernodes(s);
    if (s.orphan_fault != none) ++result_.faults[s.orphan_fault].finished_first;
    s.orphaned_at = -1;
    s.orphan_fault = none;
    if (s.kind == session_kind::download) {
        ++result_.downloads_completed;
        download_times_.push_back(static_cast<float>(now - s.start));
    }
    if (s.kind != session_kind::cache) schedule(now + s.linger_s, event_type::leave, id, s.version);
}

void engine::leave(std::uint32_t id, double now, bool aborted) {
    session& s = sessions_[id];
    if (transfer(s).state == phase::ended) return;
    settle_session(s, now);
    if (transfer(s).state == phase::downloading) {
        if (aborted) ++result_.sessions_aborted;
    }
    while (!s.in_flows.empty()) remove_flow(s.in_flows.back(), now);
    while (!s.out_flows.empty()) remove_flow(s.out_flows.back(), now);
    release_supernodes(s);
    swarms_[s.item].remove(record_of(s.peer, false));
    if (s.kind == session_kind::cache) {
        note_cache_change(s.peer);
        count_cache_fill(s);
        cache_of(s.peer).remove(id, transfer(s).size, use_links_);
        cached_.erase(cache_key(s.peer, s.item));
        auto& holders = holders_[s.item];
        const std::pair holder{people_.peers[s.peer].as_index, s.peer};
        if (const auto at = std::lower_bound(holders.begin(), holders.end(), holder); at != holders.end() && *at == holder) {
            holders.erase(at);
        }
    } else if (current_session_[s.peer] == id) {
        current_session_[s.peer] = none;
    }
    transfer(s).state = phase::ended;
    ++s.version;
    make_idle(id);
    free_sessions_.push_back(id);
}

void engine::make_busy(std::uint32_t id) {
    if (active_slot_[id] != none) return;
    active_slot_[id] = static_cast<std::uint32_t>(active_sessions_.size());
    active_sessions_.push_back(id);
}

void engine::make_idle(std::uint32_t id) {
    const std::uint32_t slot = active_slot_[id];
    if (slot == none) return;
    active_sessions_[slot] = active_sessions_.back();
    active_slot_[active_sessions_[slot]] = slot;
    active_sessions_.pop_back();
    active_slot_[id] = none;
}

void engine::settle_session(session& s, double now) { transfer(s).settle(now); }

void engine::predict_completion(std::uint32_t id, double now) {
    auto& t = transfers_[id];
    ++t.prediction;
    if (t.state != phase::downloading || t.in_rate <= 0) return;
    const double at = now + (t.size - t.bytes) / t.in_rate;
    if (at < tick_start_ + config_.tick_s) schedule(std::max(at, now), event_type::completion, id, t.prediction);
}

void engine::account(flow& f, double delta, double now) {
    transfers_[f.target_session].received += delta;
    uploaded_by_peer_[f.source_peer] += delta;
    result_.bytes_sent += delta;
    result_.bytes_received += delta;
    auto& bucket = result_.series[std::min(static_cast<std::size_t>(now / result_.bucket_s), result_.series.size() - 1)];
    switch (f.where) {
    case flow_class::origin:
        result_.origin_bytes += delta;
        bucket.origin_bytes += delta;
        result_.per_as[f.target_as].transit_in_bytes += delta;
        break;
    case flow_class::intra:
        result_.peer_intra_bytes += delta;
        bucket.peer_intra_bytes += delta;
        result_.per_as[f.target_as].intra_bytes += delta;
        break;
    case flow_class::inter:
        result_.peer_inter_bytes += delta;
        bucket.peer_inter_bytes += delta;
        result_.per_as[f.target_as].transit_in_bytes += delta;
        result_.per_as[f.source_as].transit_out_bytes += delta;
        break;
    }
    if (f.from_supernode) {
        result_.supernode_bytes += delta;
        supernode_upload_[f.source_peer] += delta;
        if (f.to_child && !f.read_marked) {
            sessions_[f.source_session].read_by_child = true;
            f.read_marked = true;
        }
    }
}

void engine::count_cache_fill(const session& s) {
    if (s.kind != session_kind::cache) return;
    const double fetched = transfers_[s.id].received;
    result_.cache_fill_bytes += fetched;
    if (!s.read_by_child) result_.cache_fill_unread_bytes += fetched;
}

void engine::update_playback(session& s, double from, double to) {
    if (s.kind != session_kind::stream || s.play == playback::finished) return;
    const double rate = config_.play_rate_kbps * 1000 / 8;
    const auto& t = transfer(s);
    const double available = t.state == phase::downloading ? t.bytes : t.size;
    const double buffer = std::min(config_.startup_buffer_s * rate, t.size - s.played);
    const double dt = to - from;
    switch (s.play) {
    case playback::buffering:
    case playback::rebuffering: {
        if (available < s.played + buffer) {
            if (s.play == playback::rebuffering) s.stall_s += dt;
            break;
        }
        // The moment the buffer filled, from the rate over this tick.
        const double surplus = available - (s.played + buffer);
        const double filled_at = std::clamp(to - (t.in_rate > 0 ? surplus / t.in_rate : 0), from, to);
        if (s.play == playback::buffering) {
            s.play_started = filled_at;
            startup_delays_.push_back(static_cast<float>(filled_at - s.start));
        } else {
            s.stall_s += filled_at - from;
        }
        s.play = playback::playing;
        s.played = std::min(available, s.played + rate * (to - filled_at));
        break;
    }
    case playback::playing: {
        const double wanted = s.played + rate * dt;
        if (wanted <= available) {
            s.played = wanted;
        } else if (available >= t.size) {
            s.played = t.size;  // the end of the item: playing past it is no stall
        } else {
            s.stall_s += (wanted - available) / rate;
            s.played = available;
            s.play = playback::rebuffering;
            s.stalled_once = true;
        }
        break;
    }
    case playback::finished: break;
    }
    if (s.played >= t.size * (1 - 1e-9)) {
        s.play = playback::finished;
        ++streams_;
        ++result_.streams_completed;
        played_s_ += t.size / rate;
        stalled_s_ += s.stall_s;
        streams_stalled_ += s.stalled_once;
    }
}

void engine::tick(double from, double to) {
    tick_start_ = from;
    const double dt = to - from;
    // Backwards: a stream that finishes playing leaves the list (the last one takes its place).
    for (std::size_t i = active_sessions_.size(); i-- > 0;) {
        const auto id = active_sessions_[i];
        auto& t = transfers_[id];
        t.settle(to);
        if (t.kind != session_kind::stream) {
            if (t.state != phase::downloading) make_idle(id);
            continue;
        }
        session& s = sessions_[id];
        update_playback(s, from, to);
        if (t.state != phase::downloading && s.play == playback::finished) make_idle(id);
    }
    // Sessions that lost a source connect to more before the rates are shared anew, and may
    // close connections as they do: the bytes of the tick are counted first then. Otherwise
    // (most ticks) the counting and the sharing are one walk over the flows. The settling
    // above neither reads nor writes what the counting does, so it may come first.
    bool connecting = false;
    for (const auto id : active_sessions_) connecting = connecting || transfers_[id].needs_peers;

    // Re-share bandwidth among the flows that can carry data now.
    const std::size_t peer_count = people_.peers.size();
    const std::size_t as_count = world_.ases.size() + 1;
    const std::size_t trickle_base = 3 * peer_count + as_count + people_.item_bytes.size();
    const std::size_t resource_space = trickle_base + (origin_trickled_.empty() ? 0 : peer_count);
    if (resource_slots_.size() != resource_space) resource_slots_.assign(resource_space, {});
    ++stamp_;
    demands_.clear();
    demand_flow_.clear();
    capacities_.clear();
    const auto resource = [&](std::size_t global, double capacity) {
        auto& slot = resource_slots_[global];
        if (slot.stamp != stamp_) {
            slot = {stamp_, static_cast<std::uint32_t>(capacities_.size())};
            capacities_.push_back(capacity);
        }
        return slot.index;
    };
    const double transit = config_.transit_capacity_mbps * 1e6 / 8;
    const double far_limit = config_.far_rate_limit_kbps * 1000 / 8;
    // Bytes moved over the tick at the rates set at its start.
    const auto carry = [&](flow& f) {
        if (f.rate <= 0) return;
        const double delta = f.rate * dt;
        f.bytes += delta;
        account(f, delta, from);
    };
    // What the flow asks of the resources it crosses now, if it can carry data now.
    const auto ask = [&](std::uint32_t id, flow& f) {
        f.rate = 0;
        double cap = std::numeric_limits<double>::infinity();
        if (f.source_downloading) {
            const auto& source = transfers_[f.source_session];
            // A leecher passes on the pieces it holds that the target lacks, no faster than it
            // has them. Pieces are picked at random (rarest first looks random from here), so
            // of the source's pieces the target did not get over this connection it lacks the
            // same share as of everything it did not get over it: a peer ahead of the source
            // still lacks some of them, as in BitTorrent, where both sides of a connection trade.
            const double not_sent = source.bytes - f.bytes;
            // A share of at most 1 of less than a piece is less than a piece, however rounded:
            // the target need not be looked at (most connections between leechers idle so).
            if (not_sent < piece_bytes) return;
            const auto& target = transfers_[f.target_session];
            const double elsewhere = std::max(target.bytes - f.bytes, 0.0);
            const double not_from_here = std::max(target.size - f.bytes, 1.0);
            const double lacking = not_sent * std::max(1 - elsewhere / not_from_here, 0.0);
            if (lacking < piece_bytes) return;
            cap = lacking / config_.tick_s + source.in_rate;
        }
        // Written in place: a demand built aside and copied in read back what had just been
        // stored, a stall each time (about a fifth of the cost of asking).
        flow_demand& demand = demands_.emplace_back();
        demand.cap = cap;
        demand.use(resource(f.source_peer, f.where == flow_class::origin ? origin_upload_bps_ : people_.upload_bps[f.source_class]));
        demand.use(resource(peer_count + f.target_peer, people_.download_bps[f.target_class]));
        if (f.far) demand.use(resource(2 * peer_count + f.source_peer, far_limit));
        if (transit > 0 && f.where != flow_class::intra) {
            demand.use(resource(3 * peer_count + f.target_as, transit));
            if (f.where == flow_class::inter) demand.use(resource(3 * peer_count + f.source_as, transit));
        }
        if (f.where == flow_class::origin) {
            // The peer's origin deference: its origin connections carry nothing while it holds off.
            if (f.held_off) {
                demands_.pop_back();
                return;
            }
            // A supernode whose fellows relay what it fetches takes a trickle from the origin
            // (the daemon's peer class limit, shared by all its origin connections).
            if (!origin_trickled_.empty() && origin_trickled_[f.target_peer]) {
                demand.use(resource(trickle_base + f.target_peer, origin_trickle_bytes_per_s));
            }
            if (const double budget = origin_budget_[f.item]; budget > 0) {
                demand.use(resource(3 * peer_count + as_count + f.item, budget));
            }
        }
        demand_flow_.push_back(id);
    };
    if (connecting) {
        for_each_live_flow([&](std::uint32_t id) { carry(flows_[id]); });
        tick_start_ = to;  // flows are settled to here; a flow removed from now on adds nothing more
        for (std::size_t i = 0; i < active_sessions_.size(); ++i) {
            const auto id = active_sessions_[i];
            if (transfers_[id].needs_peers) connect_more(id, to);
        }
        for_each_live_flow([&](std::uint32_t id) { ask(id, flows_[id]); });
    } else {
        tick_start_ = to;
        for_each_live_flow([&](std::uint32_t id) {
            flow& f = flows_[id];
            carry(f);
            ask(id, f);
        });
    }
    rates_.resize(demands_.size());
    result_.flow_ticks += demands_.size();
    max_min_rates(capacities_, demands_, rates_, work_);

    for (const auto id : active_sessions_) transfers_[id].in_rate = 0;
    for (std::size_t d = 0; d < demands_.size(); ++d) {
        flow& f = flows_[demand_flow_[d]];
        f.rate = rates_[d];
        transfers_[f.target_session].in_rate += f.rate;
    }
    tick_start_ = to;
    for (const auto id : active_sessions_) {
        if (transfers_[id].state == phase::downloading) predict_completion(id, to);
    }
}

void engine::finish() {
    // What the caches still hold at the end counts as fetched too, read or not.
    for (const auto& s : sessions_) {
        if (transfer(s).state != phase::ended) count_cache_fill(s);
    }
    for (const auto id : active_sessions_) {
        if (transfers_[id].state == phase::downloading && sessions_[id].kind != session_kind::cache) {
            ++result_.sessions_unfinished;
        }
    }
    result_.download_time_s = summarize(std::move(download_times_));
    result_.startup_delay_s = summarize(std::move(startup_delays_));
    result_.stall_ratio = played_s_ > 0 ? stalled_s_ / played_s_ : 0;
    result_.streams_with_stall = streams_ ? static_cast<double>(streams_stalled_) / static_cast<double>(streams_) : 0;
    std::vector<float> uploads;
    for (std::size_t p = 0; p < ever_supernode_.size(); ++p) {
        if (ever_supernode_[p]) uploads.push_back(static_cast<float>(supernode_upload_[p] / 1e9));
    }
    result_.supernode_upload_gb = summarize(std::move(uploads));
    result_.supernode_children = summarize(std::move(children_samples_));
    for (auto& outcome : result_.faults) {
        const auto hour_mbps = [&](double from_s) {
            double bytes = 0;
            for (std::size_t b = 0; b < result_.series.size(); ++b) {
                const double start = static_cast<double>(b) * result_.bucket_s;
                if (start >= from_s && start < from_s + 3600) bytes += result_.series[b].origin_bytes;
            }
            return bytes * 8 / 1e6 / 3600;
        };
        outcome.origin_mbps_before = hour_mbps(outcome.at_h * 3600 - 3600);
        outcome.origin_mbps_after = hour_mbps(outcome.at_h * 3600);
    }
}

}  // namespace nearcast::sim::detail

namespace nearcast::sim {

strategy_result simulate(const scenario& config, const topology& world, const population& people, strategy which,
                         const progress_callback& progress) {
    detail::engine run(config, world, people, which, progress);
    return run.run();
}

}  // namespace nearcast::sim
