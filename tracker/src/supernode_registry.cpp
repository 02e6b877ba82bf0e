#include "nearcast/tracker/supernode_registry.hpp"

#include <algorithm>

namespace nearcast::tracker {

bool supernode_registry::report(const candidate_report& report, std::uint32_t now) {
    if (!candidates_.count(report.where)) {
        if (candidates_.size() >= options_.max_candidates) return false;
        // The map is ordered by address, then port: the same address's candidates are adjacent.
        std::uint32_t same_address = 0;
        for (auto it = candidates_.lower_bound({report.where.address, 0});
             it != candidates_.end() && it->first.address == report.where.address; ++it) {
            if (++same_address >= options_.max_candidates_per_address) return false;
        }
    }
    auto [at, inserted] = candidates_.try_emplace(report.where);
    candidate& known = at->second;
    // A gap longer than an interval starts the uptime again.
    if (inserted || now - known.last_heard > options_.interval_s) known.first_heard = now;
    if (inserted) known.id = next_id_++;
    known.report = report;
    known.last_heard = now;
    return true;
}

void supernode_registry::reachability(const endpoint& where, bool reachable, std::uint32_t now) {
    const auto found = candidates_.find(where);
    if (found == candidates_.end()) return;
    found->second.reachable = reachable;
    found->second.checked_at = now;
}

std::vector<endpoint> supernode_registry::due_for_check(std::uint32_t now) const {
    std::vector<endpoint> due;
    // A supernode is checked at every round: one that vanished without a word is dropped at
    // the next election instead of after an interval of silence.
    for (const auto& [where, known] : candidates_) {
        if (!known.reachable || known.supernode || now - known.checked_at >= options_.recheck_s) due.push_back(where);
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
    const auto found = candidates_.find(where);
    if (found == candidates_.end()) return;
    if (found->second.supernode) drop(found->second, now, random);
    candidates_.erase(found);
    refresh_elected();
}

supernode_registry::change supernode_registry::elect(std::span<const group_population> groups, std::uint32_t now,
                                                     std::mt19937_64& random) {
    change result;
    for (auto at = candidates_.begin(); at != candidates_.end();) {
        if (now - at->second.last_heard > options_.interval_s) {
            if (at->second.supernode) {
                result.dropped.push_back(at->first);
                drop(at->second, now, random);
            }
            at = candidates_.erase(at);
        } else {
            ++at;
        }
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

    std::vector<supernode_candidate> pool;
    std::map<std::uint64_t, candidate*> by_id;
    for (auto& [where, known] : candidates_) {
        pool.push_back({known.id, known.report.group, known.report.upload_capacity,
                        static_cast<double>(now - known.first_heard), known.reachable.value_or(false), known.supernode,
                        known.report.operated});
        by_id[known.id] = &known;
    }
    const auto elected = elect_supernodes(pool, groups, options_.election);
    std::map<std::uint64_t, const elected_supernode*> chosen;
    for (const auto& e : elected) chosen[e.id] = &e;
    for (auto& [id, known] : by_id) {
        const auto pick = chosen.find(id);
        if (pick != chosen.end()) {
            if (!known->supernode) result.elected.push_back(known->report.where);
            known->supernode = true;
            known->admission_limit = pick->second->admission_limit;
            // A lower limit than before (an operator's server now reporting as a desktop):
            // the children beyond it re-home like orphans, so the limit holds at once.
            if (known->children > known->admission_limit) shed(*known, now, random);
        } else if (known->supernode) {
            result.dropped.push_back(known->report.where);
            drop(*known, now, random);
        }
    }
    refresh_elected();
    return result;
}

void supernode_registry::refresh_elected() {
    elected_.clear();
    for (auto& [where, known] : candidates_) {
        if (known.supernode) elected_.push_back(&known);
    }
}

bool supernode_registry::is_supernode(const endpoint& where) const {
    const auto found = candidates_.find(where);
    return found != candidates_.end() && found->second.supernode;
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
    std::map<std::uint64_t, candidate*> by_id;
    for (candidate* elected : elected_) {
        const candidate& known = *elected;
        const endpoint& where = known.report.where;
        if (where == peer) continue;
        if (std::find(record.supernodes.begin(), record.supernodes.end(), where) != record.supernodes.end()) continue;
        loads.push_back({known.id, known.report.group, known.report.group == group ? 0 : hops(known.report.group),
                         known.children, known.admission_limit});
        by_id[known.id] = elected;
    }
    const auto wanted = static_cast<std::uint32_t>(options_.children_per_peer - record.supernodes.size());
    const auto picked = assign_supernodes(loads, wanted);
    for (const auto id : picked) {
        candidate& chosen = *by_id[id];
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
        const auto known = candidates_.find(where);
        if (known != candidates_.end() && known->second.children > 0) --known->second.children;
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
    std::vector<std::pair<std::uint32_t, const candidate*>> ranked;
    for (const candidate* elected : elected_) {
        if (elected->report.where == self) continue;
        ranked.emplace_back(elected->report.group == group ? 0 : hops(elected->report.group), elected);
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second->id < b.second->id;
    });
    std::vector<endpoint> out;
    for (std::size_t i = 0; i < ranked.size() && i < most; ++i) out.push_back(ranked[i].second->report.where);
    return out;
}

std::map<std::uint32_t, std::uint32_t> supernode_registry::candidates_per_group() const {
    std::map<std::uint32_t, std::uint32_t> out;
    for (const auto& [where, known] : candidates_) ++out[known.report.group];
    return out;
}

supernode_registry::rehome_record supernode_registry::rehoming() const {
    rehome_record out = rehome_;
    for (const auto& [peer, record] : children_) out.waiting += record.orphaned_at ? 1 : 0;
    return out;
}

std::vector<supernode_view> supernode_registry::supernodes() const {
    std::vector<supernode_view> out;
    for (const auto& [where, known] : candidates_) {
        if (known.supernode) out.push_back({where, known.report.group, known.children, known.admission_limit, known.report.operated});
    }
    return out;
}

}  // namespace nearcast::tracker
