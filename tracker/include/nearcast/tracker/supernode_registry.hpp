// The tracker's book of supernodes: what each candidate daemon reported and what the tracker
// measured itself (its connection back to the announced port, how long it has been heard from
// without a gap), the roles the election gave, each supernode's children, and when the children
// of a lost supernode may be handed a new one. Pure: times are seconds passed in, randomness a
// generator passed in; the server and the simulator drive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "nearcast/tracker/messages.hpp"
#include "nearcast/tracker/supernodes.hpp"

namespace nearcast::tracker {

struct supernode_registry_options {
    election_options election;
    std::uint32_t interval_s = 1800;        // the announce interval: a silent candidate is gone after one
    std::uint32_t recheck_s = 1800;         // how often reachability is checked again
    std::uint32_t children_per_peer = 2;    // supernodes handed to each peer
    double rehome_spread = 1.0;             // orphans come back over this share of an interval
    // Bounds on what reports alone can make the tracker keep (and check and elect among):
    // candidates behind one address (its ports), and candidates in all.
    std::uint32_t max_candidates_per_address = 4;
    std::size_t max_candidates = 100'000;
    // How much of a claimed capacity counts (supernodes.hpp): the ceiling, the allowance before
    // anything is proven, and the upload a claim is proven by.
    capacity_credit_options capacity;
    std::uint32_t max_swarms_per_candidate = 32;  // swarms whose `uploaded` counters are followed (16 bytes each)
};

struct candidate_report {
    endpoint where;                  // address as the tracker sees it, the announced port
    std::uint32_t group = 0;         // its AS, from the proximity model
    double upload_capacity = 0;      // bytes/s, as the daemon says it measured its upload
    bool operated = false;           // an operator's server, registered with the admin secret
};

struct supernode_view {
    endpoint where;
    std::uint32_t group = 0;
    std::uint32_t children = 0;
    std::uint32_t admission_limit = 0;
    bool operated = false;
};

class supernode_registry {
public:
    explicit supernode_registry(supernode_registry_options options = {}) : options_(options) {}

    // A daemon's periodic report. Its uptime is the tracker's own count since it was first
    // heard from without a gap longer than one interval; what the daemon claims is not used.
    // False, and nothing kept, for a new candidate past max_candidates_per_address or
    // max_candidates; a known one is always heard.
    bool report(const candidate_report& report, std::uint32_t now);
    // An announce from a candidate's endpoint: its `uploaded` counter in one swarm (the session's
    // bytes so far; a counter that falls is a new session). What the counters grow by proves the
    // claimed capacity (capacity_credit_options). Announces of others are ignored.
    void observe_upload(const endpoint& where, const info_hash& hash, std::uint64_t uploaded);
    // The capacity the election counts for a candidate (0 for an unknown one).
    double credited_capacity(const endpoint& where) const;
    // The result of the tracker's connection back to the candidate's port.
    void reachability(const endpoint& where, bool reachable, std::uint32_t now);
    // Candidates whose reachability is unknown or due for a new check.
    std::vector<endpoint> due_for_check(std::uint32_t now) const;
    // A supernode (or candidate) that says it leaves: gone at once, its children re-home.
    void leave(const endpoint& where, std::uint32_t now, std::mt19937_64& random);

    struct change {
        std::vector<endpoint> elected;  // new supernodes
        std::vector<endpoint> dropped;  // supernodes no more (not re-elected, silent, left)
    };
    // Forgets candidates silent for more than one interval (a supernode that vanished is
    // noticed here) and children not seen for two, then runs the election over the groups'
    // peer counts.
    change elect(std::span<const group_population> groups, std::uint32_t now, std::mt19937_64& random);

    bool is_supernode(const endpoint& where) const;
    // A supernode's admission limit; 0 for anyone else.
    std::uint32_t admission_limit(const endpoint& where) const;
    // The supernodes of a peer in `group`: its current ones while they are supernodes, topped
    // up by assign_supernodes (nearest by `hops`, least loaded, never past the admission limit).
    // An orphan waits for its jittered re-home time and gets none before it.
    std::vector<endpoint> supernodes_for(const endpoint& peer, std::uint32_t group,
                                         const std::function<std::uint32_t(std::uint32_t)>& hops, std::uint32_t now);
    // A peer that stopped or completed no longer counts as a child.
    void forget_child(const endpoint& peer);
    // Seconds until an orphan may be re-homed (0 when it is no orphan or may be now): the
    // tracker tells it to announce again then, so that the jitter never costs more than one
    // interval on top of the orphan's own announce cycle.
    std::uint32_t rehome_wait(const endpoint& peer, std::uint32_t now) const;
    // For a supernode: up to `most` other supernodes, nearest by `hops` first, that it asks
    // for a piece before the origin.
    std::vector<endpoint> fellow_supernodes(const endpoint& self, std::uint32_t group,
                                            const std::function<std::uint32_t(std::uint32_t)>& hops, std::size_t most) const;

    struct rehome_record {
        std::uint64_t orphaned = 0;       // children that lost a supernode
        std::uint64_t rehomed = 0;        // of them, given a new one
        std::uint32_t max_delay_s = 0;    // the longest wait from the loss to the new supernode
        std::size_t waiting = 0;          // orphans now without a replacement (filled by rehoming())
    };
    rehome_record rehoming() const;

    std::vector<supernode_view> supernodes() const;  // by endpoint
    std::size_t candidate_count() const { return slots_.size(); }
    // Candidates per group: a daemon that reports is a peer of its AS even before it holds anything.
    const std::map<std::uint32_t, std::uint32_t>& candidates_per_group() const { return per_group_; }
    // Children over the admission limit, the highest ever seen (at most 1 by construction).
    double max_load_seen() const { return max_load_seen_; }

private:
    struct candidate {
        candidate_report report;
        std::uint32_t first_heard = 0;
        std::uint32_t last_heard = 0;
        std::optional<bool> reachable;
        std::uint32_t checked_at = 0;
        bool live = false;  // false: a free slot
        bool supernode = false;
        std::uint32_t admission_limit = 0;
        std::uint32_t children = 0;
        std::uint64_t id = 0;
        std::uint64_t uploaded = 0;  // bytes its announces' counters grew by
        std::vector<std::pair<std::uint64_t, std::uint64_t>> counters;  // per swarm (a hash's first 8 bytes): the last
    };
    struct child {
        std::vector<endpoint> supernodes;
        std::uint32_t rehome_at = 0;  // an orphan gets new supernodes from this time
        std::uint32_t last_seen = 0;
        std::optional<std::uint32_t> orphaned_at;  // when it lost a supernode, until it gets another
    };
    candidate* find(const endpoint& where);
    const candidate* find(const endpoint& where) const;
    void erase(std::uint32_t slot);
    void drop(candidate& gone, std::uint32_t now, std::mt19937_64& random);
    void shed(candidate& over, std::uint32_t now, std::mt19937_64& random);  // children beyond its limit re-home
    void orphan(child& record, std::uint32_t now, std::mt19937_64& random);

    supernode_registry_options options_;
    // Candidates in slots, so that a round walks them in one sweep of memory (a tree of 60,000
    // nodes cost 10 ms a walk); a free slot is reused. Looked up by endpoint through slots_,
    // ordered so that one address's ports are adjacent.
    std::vector<candidate> candidates_;
    std::vector<std::uint32_t> free_slots_;
    std::map<endpoint, std::uint32_t> slots_;
    std::map<std::uint32_t, std::uint32_t> per_group_;  // candidates per group, kept as they come and go
    std::map<endpoint, child> children_;
    std::vector<std::uint32_t> elected_;  // the supernodes' slots
    std::uint64_t next_id_ = 1;
    double max_load_seen_ = 0;
    rehome_record rehome_;
};

}  // namespace nearcast::tracker
