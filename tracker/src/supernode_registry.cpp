#include "nearcast/tracker/supernode_registry.hpp"

#include <algorithm>

namespace nearcast::tracker {

supernode_registry::candidate* supernode_registry::find(const endpoint& where) {
    const auto found = slots_.find(where);
    return found == slots_.end() ? nullptr : &candidates_[found->second];
}

const supernode_registry::candidate* supernode_registry::find(const endpoint& where) const {
    const auto found = slots_.find(where);
    return found == slots_.end() ? nullptr : &candidates_[found->second];
}

void supernode_registry::erase(std::uint32_t slot) {
    candidate& gone = candidates_[slot];
    slots_.erase(gone.report.where);
    if (--per_group_[gone.report.group] == 0) per_group_.erase(gone.report.group);
    gone = candidate{};  // frees its counters
    free_slots_.push_back(slot);
}

bool supernode_registry::report(const candidate_report& report, std::uint32_t now) {
    candidate* known = find(report.where);
    if (!known) {
        if (slots_.size() >= options_.max_candidates) return false;
        // Ordered by address, then port: the same address's candidates are adjacent.
        std::uint32_t same_address = 0;
        for (auto it = slots_.lower_bound({report.where.address, 0});
             it != slots_.end() && it->first.address == report.where.address; ++it) {
            if (++same_address >= options_.max_candidates_per_address) return false;
        }
        std::uint32_t slot = static_cast<std::uint32_t>(candidates_.size());
        if (free_slots_.empty()) {
            candidates_.emplace_back();
        } else {
            slot = free_slots_.back();
            free_slots_.pop_back();
        }
        slots_.emplace(report.where, slot);
        known = &candidates_[slot];
        known->live = true;
        known->id = next_id_++;
        known->first_heard = now;
        ++per_group_[report.group];
    } else {
        // A gap longer than an interval starts the uptime again.
        if (now - known->last_heard > options_.interval_s) known->first_heard = now;
        if (known->report.group != report.group) {
            if (--per_group_[known->report.group] == 0) per_group_.erase(known->report.group);
            ++per_group_[report.group];
        }
    }
    known->report = report;
    known->last_heard = now;
    return true;
}

void supernode_registry::observe_upload(const endpoint& where, const info_hash& hash, std::uint64_t uploaded) {
    candidate* known = find(where);
    if (!known) return;
    std::uint64_t key = 0;
    for (std::size_t i = 0; i < sizeof key; ++i) key = key << 8 | hash[i];
    auto at = std::find_if(known->counters.begin(), known->counters.end(), [&](const auto& entry) { return entry.first == key; });
    std::uint64_t grown = uploaded;  // a swarm seen first, or a new session: the whole counter is new
    if (at == known->counters.end()) {
        if (known->counters.size() >= options_.max_swarms_per_candidate) return;
        known->counters.emplace_back(key, uploaded);
    } else {
        if (uploaded >= at->second) grown = uploaded - at->second;
        at->second = uploaded;
    }
    known->uploaded = grown > UINT64_MAX - known->uploaded ? UINT64_MAX : known->uploaded + grown;
}

double supernode_registry::credited_capacity(const endpoint& where) const {
    const candidate* known = find(where);
    if (!known) return 0;
    return tracker::credited_capacity(known->report.upload_capacity, known->uploaded, known->report.operated, options_.capacity);
}

void supernode_registry::reachability(const endpoint& where, bool reachable, std::uint32_t now) {
    candidate* known = find(where);
    if (!known) return;
    known->reachable = reachable;
    known->checked_at = now;
}

std::vector<endpoint> supernode_registry::due_for_check(std::uint32_t now) const {
    std::vector<endpoint> due;
    // A supernode is checked at every round: one that vanished without a word is dropped at
    // the next election instead of after an interval of silence.
    for (const candidate& known : candidates_) {
        if (known.live && (!known.reachable || known.supernode || now - known.checked_at >= options_.recheck_s)) {
            due.push_back(known.report.where);
        }
    }
    return due;
}

// Its children come back over a spread of time, so that they do not all land on the next
// supernodes (and the tracker) at the same moment: the cascade Skype suffered.
void supernode_registry::orphan(child& record, std::uint32_t now, std::mt19937_64& random) {
    const double spread = options_.rehome_spread * options_.interval_s;
    const auto delay = static_cast<std::uint32_t>(std::uniform_real_distribution<double>(0, spread)(random));
    record.rehome_at = std::max(record.rehome_at, now + delay);
    if (!record.orphaned_at) {
        record.orphaned_at = now;
        ++rehome_.orphaned;
    }
}

void supernode_registry::drop(candidate& gone, std::uint32_t now, std::mt19937_64& random) {
    gone.supernode = false;
    gone.children = 0;
    for (auto& [peer, record] : children_) {
        const auto at = std::find(record.supernodes.begin(), record.supernodes.end(), gone.report.where);
        if (at == record.supernodes.end()) continue;
        record.supernodes.erase(at);
        orphan(record, now, random);
    }
}

void supernode_registry::shed(candidate& over, std::uint32_t now, std::mt19937_64& random) {
    for (auto& [peer, record] : children_) {
        if (over.children <= over.admission_limit) break;
        const auto at = std::find(record.supernodes.begin(), record.supernodes.end(), over.report.where);
        if (at == record.supernodes.end()) continue;
        record.supernodes.erase(at);
        --over.children;
        orphan(record, now, random);
    }
}

void supernode_registry::leave(const endpoint& where, std::uint32_t now, std::mt19937_64& random) {
    const auto found = slots_.find(where);
    if (found == slots_.end()) return;
    const std::uint32_t slot = found->second;
    if (candidates_[slot].supernode) {
        drop(candidates_[slot], now, random);
        std::erase(elected_, slot);
    }
    erase(slot);
}

supernode_registry::change supernode_registry::elect(std::span<const group_population> groups, std::uint32_t now,
                                                     std::mt19937_64& random) {
    change result;
    for (std::uint32_t slot = 0; slot < candidates_.size(); ++slot) {
        candidate& known = candidates_[slot];
        if (!known.live || now - known.last_heard <= options_.interval_s) continue;
        if (known.supernode) {
            result.dropped.push_back(known.report.where);
            drop(known, now, random);
        }
        erase(slot);
    }

    for (auto at = children_.begin(); at != children_.end();) {
        if (now - at->second.last_seen > 2 * options_.interval_s) {
            const endpoint gone = at->first;
            ++at;
            forget_child(gone);
        } else {
            ++at;
        }
    }

    // The pool in slot order, with each entry's slot beside it.
    std::vector<supernode_candidate> pool;
    std::vector<std::uint32_t> slot_of;
    pool.reserve(slots_.size());
    slot_of.reserve(slots_.size());
    for (std::uint32_t slot = 0; slot < candidates_.size(); ++slot) {
        const candidate& known = candidates_[slot];
        if (!known.live) continue;
        const double capacity = tracker::credited_capacity(known.report.upload_capacity, known.uploaded,
                                                           known.report.operated, options_.capacity);
        pool.push_back({known.id, known.report.group, capacity, static_cast<double>(now - known.first_heard),
                        known.reachable.value_or(false), known.supernode, known.report.operated});
        slot_of.push_back(slot);
    }
    auto chosen = elect_supernodes(pool, groups, options_.election);
    std::sort(chosen.begin(), chosen.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    elected_.clear();
    for (std::size_t i = 0; i < pool.size(); ++i) {
        candidate& known = candidates_[slot_of[i]];
        const auto pick = std::lower_bound(chosen.begin(), chosen.end(), known.id,
                                           [](const elected_supernode& e, std::uint64_t id) { return e.id < id; });
        if (pick != chosen.end() && pick->id == known.id) {
            if (!known.supernode) result.elected.push_back(known.report.where);
            known.supernode = true;
            known.admission_limit = pick->admission_limit;
            // A lower limit than before (an operator's server now reporting as a desktop):
            // the children beyond it re-home like orphans, so the limit holds at once.
            if (known.children > known.admission_limit) shed(known, now, random);
            elected_.push_back(slot_of[i]);
        } else if (known.supernode) {
            result.dropped.push_back(known.report.where);
            drop(known, now, random);
        }
    }
    return result;
}

bool supernode_registry::is_supernode(const endpoint& where) const {
    const candidate* known = find(where);
    return known && known->supernode;
}

std::uint32_t supernode_registry::admission_limit(const endpoint& where) const {
    const candidate* known = find(where);
    return known && known->supernode ? known->admission_limit : 0;
}

std::vector<endpoint> supernode_registry::supernodes_for(const endpoint& peer, std::uint32_t group,
                                                         const std::function<std::uint32_t(std::uint32_t)>& hops,
                                                         std::uint32_t now) {
    // Every downloader announces through here: while there is no supernode at all, nothing is
    // recorded and nothing is scanned.
    auto found = children_.find(peer);
    if (found == children_.end()) {
        if (elected_.empty()) return {};
        found = children_.emplace(peer, child{}).first;
    }
    child& record = found->second;
    record.last_seen = now;
    // Supernodes that lost their role since are no longer its own.
    std::erase_if(record.supernodes, [&](const endpoint& where) { return !is_supernode(where); });
    if (record.supernodes.size() >= options_.children_per_peer || now < record.rehome_at) return record.supernodes;

    std::vector<supernode_load> loads;
    std::vector<std::uint32_t> slot_of;  // beside loads
    // Supernodes are many per group: the distance to each group is asked once.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> hops_to;
    const auto distance = [&](std::uint32_t other) {
        if (other == group) return 0u;
        for (const auto& [known, counted] : hops_to) {
            if (known == other) return counted;
        }
        return hops_to.emplace_back(other, hops(other)).second;
    };
    for (const std::uint32_t slot : elected_) {
        const candidate& known = candidates_[slot];
        const endpoint& where = known.report.where;
        if (where == peer) continue;
        if (std::find(record.supernodes.begin(), record.supernodes.end(), where) != record.supernodes.end()) continue;
        loads.push_back({known.id, known.report.group, distance(known.report.group), known.children, known.admission_limit});
        slot_of.push_back(slot);
    }
    const auto wanted = static_cast<std::uint32_t>(options_.children_per_peer - record.supernodes.size());
    const auto picked = assign_supernodes(loads, wanted);
    for (const auto id : picked) {
        const auto at = std::find_if(loads.begin(), loads.end(), [&](const supernode_load& load) { return load.id == id; });
        candidate& chosen = candidates_[slot_of[static_cast<std::size_t>(at - loads.begin())]];
        ++chosen.children;
        max_load_seen_ = std::max(max_load_seen_, static_cast<double>(chosen.children) / chosen.admission_limit);
        record.supernodes.push_back(chosen.report.where);
    }
    // Re-homed: a replacement found. With none to be had the origin serves it meanwhile, and
    // it stays an orphan until one has room.
    if (record.orphaned_at && !picked.empty()) {
        rehome_.max_delay_s = std::max(rehome_.max_delay_s, now - *record.orphaned_at);
        ++rehome_.rehomed;
        record.orphaned_at.reset();
    }
    return record.supernodes;
}

void supernode_registry::forget_child(const endpoint& peer) {
    const auto found = children_.find(peer);
    if (found == children_.end()) return;
    for (const auto& where : found->second.supernodes) {
        candidate* known = find(where);
        if (known && known->children > 0) --known->children;
    }
    children_.erase(found);
}

std::uint32_t supernode_registry::rehome_wait(const endpoint& peer, std::uint32_t now) const {
    const auto found = children_.find(peer);
    if (found == children_.end() || !found->second.orphaned_at || now >= found->second.rehome_at) return 0;
    return found->second.rehome_at - now;
}

std::vector<endpoint> supernode_registry::fellow_supernodes(const endpoint& self, std::uint32_t group,
                                                            const std::function<std::uint32_t(std::uint32_t)>& hops,
                                                            std::size_t most) const {
    std::vector<supernode_load> elected;
    std::map<std::uint64_t, endpoint> where_of;
    std::uint64_t self_id = UINT64_MAX;
    for (const std::uint32_t slot : elected_) {
        const candidate& known = candidates_[slot];
        if (known.report.where == self) self_id = known.id;
        elected.push_back({known.id, known.report.group, known.report.group == group ? 0 : hops(known.report.group), 0, 0});
        where_of.emplace(known.id, known.report.where);
    }
    std::vector<endpoint> out;
    for (const auto id : fellows_of(self_id, elected, most)) out.push_back(where_of.at(id));
    return out;
}

supernode_registry::rehome_record supernode_registry::rehoming() const {
    rehome_record out = rehome_;
    for (const auto& [peer, record] : children_) out.waiting += record.orphaned_at ? 1 : 0;
    return out;
}

std::vector<supernode_view> supernode_registry::supernodes() const {
    std::vector<supernode_view> out;
    for (const std::uint32_t slot : elected_) {
        const candidate& known = candidates_[slot];
        out.push_back({known.report.where, known.report.group, known.children, known.admission_limit, known.report.operated});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.where < b.where; });
    return out;
}

}  // namespace nearcast::tracker
