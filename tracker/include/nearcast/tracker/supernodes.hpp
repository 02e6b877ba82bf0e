// Who becomes a supernode, and which supernodes a peer is handed to: the tracker's election
// and assignment policy. Pure: no sockets, no clocks (uptime is measured by the caller), so the
// simulator runs exactly this code.
//
// Eligibility is measured, never claimed: a candidate needs an upload capacity the tracker saw,
// an uptime, and a connection back to its announced port that succeeded. Skype's outages of
// 2007 and 2010 were supernode cascades, so the policy bounds what each supernode takes on
// (an admission limit), spreads each peer over several supernodes, and keeps roles stable
// (hysteresis) so that a noisy measurement does not make the network re-home.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nearcast::tracker {

struct supernode_candidate {
    std::uint64_t id = 0;            // the caller's handle for the peer
    std::uint32_t group = 0;         // what it would serve: its AS, or its prefix in a large AS
    double upload_capacity = 0;      // bytes/s, as measured
    double uptime_s = 0;             // continuous, as measured by the tracker
    bool reachable = false;          // the tracker's connection back to its port succeeded
    bool incumbent = false;          // a supernode now
    bool operated = false;           // an operator's own server ("mega-supernode")
};

struct election_options {
    double peers_per_supernode = 300;      // target ratio in each group (Skype ran about 1:300)
    std::uint32_t min_group_peers = 20;    // a group this large gets at least one supernode
    double min_upload_capacity = 256 * 1024;  // bytes/s
    double min_uptime_s = 3600;
    // An incumbent keeps its role while it meets the thresholds scaled down by this share, and
    // loses it to a challenger only when the challenger scores this share higher.
    double hysteresis = 0.25;
    std::uint32_t admission_limit = 50;    // children a supernode takes on
    std::uint32_t operated_admission_limit = 1000;
};

// How much of a candidate's claimed capacity the election believes. The daemon measures its own
// upload and says so, which a liar can make up; the tracker cannot measure bandwidth itself, so
// it bounds the claim by what it can check. An operator's server (registered with the admin
// secret) is believed as it is.
struct capacity_credit_options {
    // No candidate is credited with more: a desktop supernode takes a bounded number of
    // children, and capacity beyond what they can draw buys the neighbourhood nothing
    // (50 children x 250 kB/s, a 2 Mbit/s stream each).
    double ceiling = 12.5e6;  // bytes/s
    // What a claim is credited with before the candidate's announces show any upload: enough to
    // qualify (four times the default minimum), not to outrank a candidate that proved more.
    double allowance = 4 * 256 * 1024;  // bytes/s
    // A claimed rate is proven by this many seconds' worth of it uploaded, as the candidate's
    // own announces report (`uploaded`, summed over its swarms).
    double proof_s = 60;
};

// The credit a tracker gives, from its admission limit and its minimum capacity (bytes/s): a
// desktop's claimed capacity counts up to what its children can draw (250 kB/s, a 2 Mbit/s
// stream, each); unproven by its announces, up to four times the minimum.
capacity_credit_options credit_options_for(std::uint32_t admission_limit, double min_upload_capacity);

// The capacity the election counts: the claim, but no more than the ceiling, nor than the
// allowance plus the rate the bytes uploaded so far prove (`uploaded_bytes` / proof_s).
double credited_capacity(double claimed, std::uint64_t uploaded_bytes, bool operated, const capacity_credit_options& options);

struct elected_supernode {
    std::uint64_t id = 0;
    std::uint32_t group = 0;
    std::uint32_t admission_limit = 0;
    bool operated = false;
};

struct group_population {
    std::uint32_t group = 0;
    std::uint32_t peers = 0;  // peers the tracker knows in the group
};

// Capacity and uptime both count: the geometric mean of the two, each capped so that one
// huge figure cannot make up for a poor other one.
double supernode_score(const supernode_candidate& candidate);

// How many supernodes a group of `peers` should have.
std::uint32_t supernode_target(std::uint32_t peers, const election_options& options);

// The supernodes of every group, in the order of `groups`: operated supernodes always (when
// reachable), then incumbents and challengers by score up to the target. Unreachable
// candidates are never elected.
std::vector<elected_supernode> elect_supernodes(std::span<const supernode_candidate> candidates,
                                                std::span<const group_population> groups,
                                                const election_options& options);

// A supernode as the assignment sees it now.
struct supernode_load {
    std::uint64_t id = 0;
    std::uint32_t group = 0;
    std::uint32_t hops = 0;       // AS hops from the requesting peer's group (0: its own)
    std::uint32_t children = 0;
    std::uint32_t admission_limit = 0;
    bool has_room() const { return children < admission_limit; }
};

// The supernodes to hand a peer: up to `count` (at least two spread the risk), nearest first,
// the least loaded among equally near ones; a supernode at its admission limit is never
// chosen. Fewer than `count`, or none, when no supernode has room: the origin is the floor.
std::vector<std::uint64_t> assign_supernodes(std::span<const supernode_load> supernodes, std::uint32_t count);

// A supernode's fellows, the other supernodes it asks for a piece before the origin: up to
// `most` of `supernodes` (each with `hops` from the asking supernode's group, 0 for its own),
// nearest first, then by id; `self` is left out.
std::vector<std::uint64_t> fellows_of(std::uint64_t self, std::span<const supernode_load> supernodes, std::size_t most);

}  // namespace nearcast::tracker
