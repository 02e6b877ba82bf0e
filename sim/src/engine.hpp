// The discrete-event engine behind simulate(): sessions, flows, the event queue and the tick
// on which flow rates are re-shared. Internal to the simulator.
#pragma once

#include <cstdint>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache_index.hpp"
#include "flat_index.hpp"

#include "nearcast/peer/ranking.hpp"
#include "nearcast/peer/supernode_role.hpp"
#include "nearcast/sim/flow_allocation.hpp"
#include "nearcast/sim/simulation.hpp"
#include "nearcast/tracker/popularity.hpp"
#include "nearcast/tracker/selection.hpp"
#include "nearcast/tracker/swarm.hpp"

namespace nearcast::sim::detail {

constexpr std::uint32_t none = 0xffff'ffffu;
constexpr double piece_bytes = 1 << 20;  // a leecher shares once it holds a piece

enum class session_kind : std::uint8_t { download, stream, cache };
enum class phase : std::uint8_t { downloading, seeding, ended };
enum class playback : std::uint8_t { buffering, playing, rebuffering, finished };

// What the tick reads and writes of a session every simulated second, apart from the rest (in
// `session`) so that the tick walks a small array rather than the sessions themselves.
struct session_transfer {
    double size = 0;
    double bytes = 0;                // verified bytes, as of `last`
    double received = 0;             // bytes the flows delivered (a cross-check of `bytes`)
    double in_rate = 0;
    double last = 0;
    std::uint32_t prediction = 0;    // the completion prediction now standing
    phase state = phase::downloading;
    session_kind kind = session_kind::download;  // as the session's own, which never changes
    bool needs_peers = false;

    // Verified bytes up to `now` at the rate in force since `last`.
    void settle(double now) {
        if (state == phase::downloading && now > last) bytes = std::min(size, bytes + in_rate * (now - last));
        last = now;
    }
};

// What origin deference reads of each downloading session every second comes first, within
// three cache lines: the sessions it visits lie anywhere in the array.
struct alignas(64) session {
    std::vector<std::uint32_t> in_flows, out_flows;
    std::uint32_t peer = 0;
    session_kind kind = session_kind::download;
    bool web_seeded = false;
    peer::deference_state deference;        // origin deference (nearcast's client), as the peer keeps it
    // The gateway it passes over (it passed on too little) and until when, as the peer keeps them
    // (the peer keeps any number; one at a time here, the last).
    std::uint32_t passed_over = 0;
    std::uint64_t passed_over_until_ms = 0;
    peer::backstop backstop{peer::backstop_options{}};  // when the origin's web seeds are called in
    std::uint32_t item = 0;
    std::uint32_t id = 0;            // its index, also into engine::transfers_
    playback play = playback::buffering;
    bool stalled_once = false;
    std::uint32_t version = 0;       // bumped to cancel the session's queued events
    double start = 0;
    double linger_s = 0;             // seeding time after completion
    double played = 0;               // stream: bytes played
    double play_started = -1;
    double stall_s = 0;
    double orphaned_at = -1;         // lost a supernode then
    std::uint32_t orphan_fault = 0xffff'ffffu;  // the fault that orphaned it, if one did
    double last_used = 0;            // a supernode's cache: last asked for
    bool read_by_child = false;      // a supernode's cache: a child got bytes of it
    std::vector<std::uint32_t> known;       // peers of the last tracker answer
    std::vector<std::uint32_t> supernodes;  // assigned (peer ids)
};

enum class flow_class : std::uint8_t { origin, intra, inter };

// One cache line: the tick and origin deference read flows by id, in no order the cache foresees.
struct alignas(64) flow {
    std::uint32_t source_peer = 0;
    std::uint32_t source_session = none;  // none: an origin seeder
    std::uint32_t target_session = 0;
    // Of the two peers and the item, what the tick reads, copied here when the flow is made so
    // that sharing the bandwidth reads one array.
    std::uint32_t target_peer = 0;
    std::uint32_t item = 0;
    std::uint32_t source_address = 0, target_address = 0;  // the peers' IPv4 addresses (origin deference's gateway)
    std::uint16_t source_as = 0, target_as = 0;
    std::uint8_t source_class = 0, target_class = 0;
    flow_class where = flow_class::intra;
    bool far : 1 = false;                 // nearcast's far peer class applies
    bool from_supernode : 1 = false;
    bool web_seed : 1 = false;            // the origin's HTTP web seed: the backstop, never held off
    bool held_off : 1 = false;            // an origin connection its peer's deference holds off now
    bool to_child : 1 = false;            // from a supernode's cache to a session of its own (not a cache fill)
    bool read_marked : 1 = false;         // the cache it reads from knows a child read it
    bool source_downloading : 1 = false;  // the source is a session still downloading (kept by complete())
    bool alive : 1 = false;
    proximity::network_distance distance;
    double rate = 0;
    double bytes = 0;
};
static_assert(sizeof(flow) == 64);

enum class event_type : std::uint8_t { arrival, completion, leave, announce, rehome, give_up, fault, election, budget, sample,
                                       policy, report };

struct event {
    double time;
    std::uint64_t sequence;
    event_type type;
    std::uint32_t subject;
    std::uint32_t version;
    bool operator>(const event& other) const {
        return time != other.time ? time > other.time : sequence > other.sequence;
    }
};

class engine {
public:
    engine(const scenario& config, const topology& world, const population& people, strategy which,
           const progress_callback& progress);
    strategy_result run();

private:
    // Events and time.
    void schedule(double time, event_type type, std::uint32_t subject, std::uint32_t version = 0);
    void handle(const event& next);
    void schedule_next_arrival(double after);
    void tick(double from, double to);
    void settle_session(session& s, double now);
    void account(flow& f, double delta_bytes, double now);
    // A supernode's cache session ends (or the run does): what it fetched, and whether a child read it.
    void count_cache_fill(const session& s);

    // Sessions.
    void arrive(double now);
    void arrive_scheduled(const population::scheduled_session& given, double now);
    std::uint32_t open_session(std::uint32_t peer, std::uint32_t item, session_kind kind, double now);
    void complete(std::uint32_t id, double now);
    void leave(std::uint32_t id, double now, bool aborted);
    void update_playback(session& s, double from, double to);
    void predict_completion(std::uint32_t id, double now);
    void make_busy(std::uint32_t id);
    void make_idle(std::uint32_t id);
    void finish();
    bool uses_supernodes() const { return which_ == strategy::nearcast; }

    // Sources (swarming.cpp).
    void announce(std::uint32_t id, double now);
    void connect_more(std::uint32_t id, double now);
    std::uint32_t session_of(std::uint32_t peer, std::uint32_t item) const;
    std::uint32_t add_flow(std::uint32_t source_peer, std::uint32_t source_session, std::uint32_t target, double now);
    void remove_flow(std::uint32_t id, double now);
    bool connected(const session& s, std::uint32_t peer) const;
    tracker::peer_record record_of(std::uint32_t peer, bool seed) const;
    tracker::peer_record full_record(std::uint32_t peer) const;
    void refresh_origin_records();
    proximity::network_distance distance(std::uint32_t a, std::uint32_t b);
    bool alive_origin(std::uint32_t peer) const;
    std::vector<std::uint32_t> live_origins() const;

    // Supernodes (supernodes.cpp).
    void elect(double now);
    void assign_supernodes(std::uint32_t id, double now);
    void release_supernodes(session& s);
    void set_children(std::uint32_t supernode, std::uint32_t children);
    supernode_cache& cache_of(std::uint32_t supernode);
    static std::uint64_t cache_key(std::uint32_t supernode, std::uint32_t item) {
        return (std::uint64_t{supernode} << 32) | item;
    }
    void touch(std::uint32_t session, double now);
    void drop_supernode(std::uint32_t peer, double now);
    void kill_peer(std::uint32_t peer, double now, fault_outcome& outcome);
    void apply_fault(std::uint32_t index, double now);
    void plan_origin_budget();

    // The shipped client policies (policies.cpp): what the daemon and the peer decide, by the
    // functions they call, on the inputs the simulation has.
    void report_supernodes(double now);  // each supernode's report: peer::prefetch_plan on /popular
    void apply_policies(double now);
    void note_cache_change(std::uint32_t peer);  // a cache session of this supernode opened, finished or ended
    void decide_origin_holds();     // each second: peer::hold_origin_back, peer::step_deference
    void count_request(std::uint16_t as_index, std::uint32_t item);  // the tracker's per-AS popularity
    void find_fellows();                 // tracker::fellows_of for every supernode, after a change
    std::uint32_t cache_item(std::uint32_t supernode, std::uint32_t item, double now);

    const scenario& config_;
    const topology& world_;
    const population& people_;
    strategy which_;
    progress_callback progress_;
    strategy_result result_;

    std::mt19937_64 workload_random_;   // arrivals: the same for every strategy
    std::mt19937_64 random_;            // everything else
    std::priority_queue<event, std::vector<event>, std::greater<>> queue_;
    std::uint64_t sequence_ = 0;
    double tick_start_ = 0;
    double arrival_rate_max_ = 0;

    // Vectors, read by index every tick: opening a session may move the others, so no reference
    // to one is held across open_session (which only the arrivals and the supernodes' reports
    // call, from the top of an event).
    std::vector<session> sessions_;
    std::vector<session_transfer> transfers_;  // by session id
    session_transfer& transfer(const session& s) { return transfers_[s.id]; }
    std::vector<std::uint32_t> free_sessions_;
    // Sessions the tick has work for: downloading, or a stream still playing (unordered).
    std::vector<std::uint32_t> active_sessions_;
    std::vector<std::uint32_t> active_slot_;          // session -> position in active_sessions_, or none
    // Session -> its flows that origin deference counts as near: incoming from a peer of its AS
    // (or, to a supernode, from a fellow) and outgoing to one. A session with none, not holding
    // the origin off nor weighing near seeds, has nothing for deference to decide.
    std::vector<std::uint32_t> near_links_;
    void count_near_links(const flow& f, int change);
    std::vector<flow> flows_;
    std::vector<std::uint32_t> free_flows_;
    // A bit per flow, set while it is alive: the tick visits the live flows in the order of
    // their ids (the order of its sums) without walking the dead ones, which outnumber them
    // many times once a flash crowd's connections have closed.
    std::vector<std::uint64_t> live_flow_bits_;
    template <typename Visit> void for_each_live_flow(Visit&& visit) {
        for (std::size_t word = 0; word < live_flow_bits_.size(); ++word) {
            for (std::uint64_t bits = live_flow_bits_[word]; bits != 0; bits &= bits - 1) {
                visit(static_cast<std::uint32_t>(word * 64 + static_cast<unsigned>(__builtin_ctzll(bits))));
            }
        }
    }
    std::vector<std::uint32_t> current_session_;      // peer -> its ordinary session, or none
    std::vector<std::uint8_t> dead_;                  // peer -> taken out by a fault
    std::vector<tracker::swarm> swarms_;
    std::vector<tracker::peer_record> origin_records_;
    // What supernodes hold: a dense slot per peer that ever cached, and per item its holders.
    std::vector<std::uint32_t> cache_slot_;            // peer -> into caches_, or none
    std::vector<supernode_cache> caches_;
    flat_index cached_;                                // supernode << 32 | item -> its cache session
    flat_index asked_in_as_;                           // AS index << 32 | item: asked for in that AS already
    std::vector<use_links> use_links_;                 // session -> its neighbours in its supernode's use list
    // item -> the supernodes caching it, as (AS index, peer) in order: a supernode filling its
    // cache looks in its own AS and the adjacent ones before it looks at everyone.
    std::vector<std::vector<std::pair<std::uint16_t, std::uint32_t>>> holders_;
    tracker::popularity<std::uint32_t> popularity_;   // the tracker's per-AS counts, by AS index and item
    std::vector<std::uint8_t> origin_trickled_;       // peer -> a supernode whose origin is held to a trickle
    std::vector<std::vector<std::uint32_t>> fellows_;  // peer -> its fellow supernodes, nearest first
    std::vector<std::vector<std::uint32_t>> fellow_of_;  // peer -> the supernodes that list it as a fellow
    bool fellows_stale_ = true;
    // The origin hold is decided again only for a supernode whose inputs changed: its own fills
    // or a fellow's cache (an item opened, finished or dropped), or its fellows.
    std::vector<std::uint32_t> caches_changed_;       // supernodes whose cache changed since the last decision
    std::vector<std::uint8_t> cache_change_noted_;    // peer -> in caches_changed_
    std::vector<std::uint8_t> hold_stale_;            // peer -> its origin hold to decide again
    // Scratch of apply_policies, kept between calls so a second allocates nothing.
    std::vector<std::uint32_t> hold_due_;
    std::vector<std::uint32_t> hold_coming_;
    std::vector<peer::basic_fellow_view<std::uint32_t>> hold_views_;
    std::vector<std::uint8_t> ever_supernode_;
    std::uint32_t current_fault_ = none;
    bool in_fault_ = false;

    // Tracker policy, as the strategy configures it.
    tracker::selection_options selection_;
    tracker::origin_options origin_rule_;
    proximity::as_graph empty_graph_;
    const proximity::as_graph* graph_ = nullptr;
    tracker::hop_cache hops_;
    peer::locality_options locality_;

    // Supernodes.
    std::vector<std::uint8_t> supernode_;             // peer -> 1 when elected
    std::vector<std::uint32_t> children_;             // peer -> children now
    std::vector<std::uint32_t> admission_;            // peer -> its admission limit
    std::vector<std::vector<std::uint32_t>> supernodes_by_as_;
    // Per AS, the supernodes by load (children over admission limit), then id: the order in
    // which tracker::assign_supernodes takes them, so that a few candidates suffice.
    std::vector<std::set<std::pair<double, std::uint32_t>>> supernodes_by_load_;
    std::vector<std::vector<std::uint16_t>> adjacent_ases_;
    std::vector<double> supernode_upload_;            // peer -> bytes uploaded as a supernode
    double origin_upload_bps_ = 0;                    // each origin seeder's upload (the anchor's may differ)
    std::vector<double> uploaded_by_peer_;            // peer -> bytes uploaded in all (its announces' `uploaded`)
    std::vector<float> children_samples_;

    // The origin's upload plan (the seeder's policy): per item, bytes/s; absent means none.
    std::vector<double> origin_budget_;               // item -> bytes/s, 0 for none
    std::vector<std::uint32_t> budgeted_items_;

    // Rate sharing.
    allocation_workspace work_;
    std::vector<flow_demand> demands_;
    std::vector<std::uint32_t> demand_flow_;
    std::vector<double> capacities_;
    std::vector<double> rates_;
    // Resource id -> its index among this tick's resources, valid when stamped with this tick's
    // stamp (side by side: one cache line read per resource a flow uses).
    struct resource_slot {
        std::uint32_t stamp = 0;
        std::uint32_t index = 0;
    };
    std::vector<resource_slot> resource_slots_;
    std::uint32_t stamp_ = 0;

    std::vector<float> download_times_;
    std::vector<float> startup_delays_;
    double played_s_ = 0;
    double stalled_s_ = 0;
    std::uint64_t streams_ = 0;
    std::uint64_t streams_stalled_ = 0;
};

}  // namespace nearcast::sim::detail
