// Whom a peer talks to, and how freely: the client's locality policy. Pure: no sockets, no
// clocks; the libtorrent shell and the simulator both call it.
//
// Every address the client learns of is placed by the one proximity distance from the
// client's own address. Near peers (the same AS by default) are ranked first, never limited
// and never dropped; far peers are ranked after them, rate-limited through a peer class and
// held to a few connections while enough near peers are connected; origin seeders are the
// backstop, neither near nor far, never rate-limited.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "nearcast/proximity/distance.hpp"
#include "nearcast/proximity/model.hpp"

namespace nearcast::peer {

enum class peer_kind : std::uint8_t { near, far, origin };
std::string_view to_string(peer_kind kind);

struct locality_options {
    // This distance class or nearer is "near": traffic that stays inside the user's network.
    proximity::nearness near_up_to = proximity::nearness::same_as;
    // Far connections kept while at least `min_near_connections` near peers are connected.
    std::uint32_t max_far_connections = 2;
    std::uint32_t min_near_connections = 2;
    // Far connections allowed while fewer near peers are connected: an ordinary swarm, where
    // every peer is far, still downloads at full speed.
    std::uint32_t max_far_when_isolated = 50;
    // Origin seeders kept connected at once (the rest of the origin is a web seed away).
    std::uint32_t max_origin_connections = 2;
    proximity::distance_options distance;
};

// Places addresses relative to the client's own. Without a known own address (bound to the
// wildcard, before the tracker says what it sees) everything is `unknown`, hence far.
class locator {
public:
    locator(const proximity::model& routing, std::optional<proximity::ip_address> self,
            const proximity::distance_options& options = {})
        : routing_(&routing), self_(self), options_(options) {}

    proximity::network_distance distance_to(proximity::ip_address other) const;
    std::optional<proximity::ip_address> self() const { return self_; }

private:
    const proximity::model* routing_;
    std::optional<proximity::ip_address> self_;
    proximity::distance_options options_;
};

peer_kind classify(const proximity::network_distance& distance, bool origin, const locality_options& options);

struct candidate {
    proximity::network_distance distance;
    bool origin = false;
};

// Indices of `candidates`, the order to connect in: near before far by distance, origins last
// (the backstop). Stable: equal candidates keep the order they came in (the tracker's).
std::vector<std::size_t> connect_order(std::span<const candidate> candidates);

struct connection {
    std::uint64_t id = 0;  // the shell's handle for the connection
    proximity::network_distance distance;
    bool origin = false;
};

// The connections to close so that the far and origin limits hold: the farthest far peers
// go first, near peers never. Ids in the order to close them.
std::vector<std::uint64_t> connections_to_close(std::span<const connection> connections,
                                                const locality_options& options);

// The prefixes whose addresses are near the client's own address: its subnet, its announced
// prefix, and every prefix of its origin AS(es) (and of adjacent ASes when `near_up_to` is
// adjacent_as). The shell turns these into libtorrent's peer-class filter, so near traffic is
// never rate-limited. Empty when the own address is unknown or has no route.
std::vector<proximity::ip_prefix> near_prefixes(const proximity::model& routing, proximity::ip_address self,
                                                const locality_options& options);

// The origin's HTTP web seeds are the floor, not the first source: they are called in only
// when BitTorrent (near peers, far peers and the origin's own BitTorrent port) has delivered
// less than `min_rate` for `grace_s` seconds, counting from the start.
struct backstop_options {
    enum class mode { backstop, always, never } web_seeds = mode::backstop;
    // A swarm that is merely busy (a flash crowd sharing a rate-limited origin) still delivers
    // tens of kB/s to each peer; one with no source at all delivers nothing.
    double grace_s = 5.0;
    std::int64_t min_rate = 32 * 1024;  // payload bytes/s from BitTorrent peers
};

// When a downloading peer leaves the origin alone for a while, so that the origin sends each
// piece into a network about once:
// * A near peer with a lower address is still downloading: that peer is the network's
//   gateway to the origin, and the others take the pieces from it and from each other. (Each
//   peer decides from the peers it is connected to; two that do not see each other yet may
//   both fetch for a moment.) The gateway itself keeps the origin while others follow it.
// * Near peers hold every piece it lacks (the end of a download, where every peer of a network
//   would otherwise ask the origin for the same last pieces).
// * With no near peer downloading (near seeds, or peers that want other parts of the item):
//   near peers hold enough of what it lacks to keep it busy, from `hold_at` such pieces, with
//   hysteresis, until they hold `release_at` or fewer.
// (The shell quiets its origin connections while it holds off: NOT_INTERESTED, so the origin
// chokes us and drops what we asked of it and no request waits in its queue; one INTERESTED
// lets it in again after.)
// Deference must not make a download slower than without it. For near seeds (near peers that
// are not downloading themselves: no gateway to follow) the origin stays in until they have
// proved themselves beside it over `prove_ms` or more (rates averaged over that time, since
// rate limiters send in bursts): at least `min_near_rate` and at least what the origin delivers
// (near_proven). Then the origin is left alone while near peers alone keep `keep_pace` of the
// pace that they and the origin made together (pace_to_keep), which they can only do when the
// user's own link, not the origin, was the limit. What they fall short of that pace adds up
// (their surplus pays it back, never below zero); at `patience_ms` of the pace behind, the
// origin is let in again and kept for `cooldown_ms`: a failed hold costs at most about
// patience_ms of the download. A hold that needs no proof (a follower's, whose gateway fetches
// from the origin, or one because near peers hold all a peer lacks) keeps at least the floor,
// averaged over each `unproven_judge_ms` from the end of a grace: a gateway passes on no more than its upload
// gives (a user's upload limit held eleven followers to 150 kB/s), and a near seed that holds
// every piece may be as slow. A follower that falls behind passes its gateway over (the next
// near downloader, or itself, fetches for the network); the others let the origin in.
struct origin_deference {
    std::uint32_t hold_at = 8;
    std::uint32_t release_at = 2;
    std::int64_t min_near_rate = 500'000;  // bytes/s
    std::uint32_t prove_ms = 500;
    double keep_pace = 0.95;
    std::uint32_t patience_ms = 500;
    std::uint32_t cooldown_ms = 20000;
    // A hold that began unproven (a follower's, or a gateway's whose near peers hold all it
    // lacks) keeps the floor too: from this long after near peers first held something we lack
    // (a gateway that has just started has a piece or two to pass on, and a slow start), near
    // peers must average it over each `unproven_judge_ms` (libtorrent's byte counts advance in
    // steps).
    std::uint32_t unproven_grace_ms = 2000;
    // The grace instead when near peers hold `hold_at` or more pieces we lack as the hold begins,
    // or as a follower takes the next gateway after a pass-over (a gateway that has been fetching
    // for a while): only the requests' first round trips are to wait for. A gateway whose link
    // sent 300 kB/s kept a follower that came 2 s after it from the origin for 4 s under the full
    // grace, and the origin's share went unused meanwhile.
    std::uint32_t supplied_grace_ms = 500;
    // 0: unproven holds are not judged (the peer's --defer-floor-s).
    std::uint32_t unproven_judge_ms = 2000;
    // A follower whose gateway falls behind the floor passes it over for this long: it follows
    // the next near downloader, or is the gateway itself.
    std::uint32_t pass_over_ms = 120000;
};
// The pace near peers must keep while they hold the origin off: `keep_pace` of what near
// peers and the origin delivered together before (bytes/s), and at least the floor.
std::int64_t pace_to_keep(double near_rate, double origin_rate, const origin_deference& rule);
// Where a peer stands among the near peers still downloading the item, by address.
enum class gateway_position : std::uint8_t { alone, gateway, follower };
// A peer that may not be a gateway (may_be_gateway below) follows whoever downloads near it.
gateway_position place_among(proximity::ip_address self, std::span<const proximity::ip_address> near_downloaders,
                             bool self_may_be_gateway = true);
// Whether a peer may be its network's gateway, by the upload its user allows (bytes/s; 0:
// uploading off, negative: no limit) and its download limit (bytes/s; 0: none): only with no
// limit in either. A gateway passes on no more than its upload gives, nor more than it
// receives, so its followers would get its user's limit where the origin may give them far
// more (a gateway held to 1 MB/s down made a follower take 10.7 s for 12 MB that the origin
// alone sent in 0.56 s; the floor, 500 kB/s, did not catch it). One with a limit says so in
// its extension handshake, and its near peers follow the next downloader instead.
bool may_be_gateway(std::int64_t upload_rate, std::int64_t download_limit);
// Whether a hold may begin as far as the pace goes: a follower's always may (its gateway sets
// the pace); for a peer alone, near seeds must deliver (`near_rate`, bytes/s, averaged while
// the origin is in) at least the floor and at least what the origin delivers (`origin_rate`),
// and the origin must have delivered something: there is no comparing with an origin unseen.
bool near_proven(gateway_position position, double near_rate, double origin_rate, const origin_deference& rule);
struct origin_outlook {
    std::uint32_t near_supply = 0;  // pieces it lacks that near peers hold (near_supply below)
    std::uint32_t missing = 0;      // pieces it wants and lacks
    gateway_position position = gateway_position::alone;
};
bool hold_off_origin(bool holding_now, const origin_outlook& outlook, const origin_deference& rule);

// What origin deference remembers of an item between two samples, and one sample's step: the
// whole decision, timers included, that the libtorrent shell (about four times a second) and
// the simulator (once a second) both take. Times in milliseconds on any steady clock.
// What near peers and the origin delivered while near seeds prove themselves beside the origin.
// Past `fade_s` of samples, bytes and time are halved together so that old samples fade.
struct delivery_window {
    std::uint64_t since_ms = 0;
    double near_bytes = 0;
    double origin_bytes = 0;
    double seconds = 0;
    void restart(std::uint64_t now_ms);
    void add(std::int64_t near_rate, std::int64_t origin_rate, double elapsed_s, double fade_s);
    double near_rate() const { return seconds > 0 ? near_bytes / seconds : 0; }
    double origin_rate() const { return seconds > 0 ? origin_bytes / seconds : 0; }
};
struct deference_state {
    bool origin_held = false;
    bool proving = false;            // `window` is near seeds proving themselves beside the origin
    delivery_window window;
    std::int64_t pace = 0;           // bytes/s to keep while the origin is held off (set at the hold's start)
    double near_shortfall = 0;       // bytes near peers fell behind that pace
    bool unproven = false;           // the hold began without proof: `window` judges it from judged_from_ms
    std::uint64_t judged_from_ms = 0;
    bool supply_seen = false;        // near peers have held something we lack since the hold (or pass-over) began
    bool following = false;          // the hold is a follower's: its gateway fetches from the origin for it
    std::optional<std::uint64_t> last_sample_ms;
    std::uint64_t origin_kept_until_ms = 0;  // the origin is let in until then (near too slow)
};
struct deference_step {
    bool hold = false;              // leave the origin alone now
    bool cooldown_started = false;  // near peers fell patience_ms behind the pace: origin in for cooldown_ms
    std::int64_t pace = 0;          // with cooldown_started: the pace they did not keep (bytes/s)
    // Near seeds have proved for prove_ms and deliver less than min_near_rate: too slow to rely
    // on whether or not an origin is there to compare with. With no origin seeder in the swarm
    // (a tracker leaves it out of an answer that names near seeds) the origin is its web seed.
    bool near_below_floor = false;
    // A follower's near peers averaged less than the floor over a judging span: its gateway
    // passes on too little. The hold goes on, with a new grace, while the caller passes that
    // gateway over (pass_over_ms) and places the peer again without it.
    bool gateway_too_slow = false;
    // With gateway_too_slow or cooldown_started: what near peers delivered (bytes/s), averaged
    // over the judging span for an unproven hold, this sample's for one that kept a pace; with
    // near_below_floor, their average beside the origin.
    double near_rate = 0;
};
// `may_defer`: the item can defer at all (locality on, metadata known, not complete, deference
// not switched off for it); when false, the origin is let in. `outlook`, `near_rate` and
// `origin_rate` (bytes/s) are this sample's.
deference_step step_deference(deference_state& state, bool may_defer, std::uint64_t now_ms, const origin_outlook& outlook,
                              std::int64_t near_rate, std::int64_t origin_rate, const origin_deference& rule);

// One connected peer as origin deference sees it.
struct piece_supplier {
    peer_kind kind = peer_kind::far;
    bool unchokes_us = false;
    std::vector<bool> pieces;  // what it holds, by piece index
};
// The pieces we still want and lack (`missing`) that at least one near peer holds and lets us
// download now: a peer that chokes us supplies nothing, whatever it holds; far peers and
// origins do not count. Each piece counts once.
std::uint32_t near_supply(std::span<const piece_supplier> suppliers, const std::vector<bool>& missing);

class backstop {
public:
    explicit backstop(backstop_options options) : options_(options) {}
    // One sample: the time (seconds, any origin) and BitTorrent's payload rate then.
    void observe(double now_s, std::int64_t bittorrent_rate);
    // True from the first sample the rule is met on; it stays true (a web seed, once added, stays).
    bool web_seeds_needed() const { return needed_; }
    // Whether a sample of at least `rate` would change nothing: the rule is not counting a spell
    // below its floor, and `rate` is not below it (or web seeds are never called).
    bool steady_at(double rate) const {
        return !needed_ && (options_.web_seeds == backstop_options::mode::never ||
                            (options_.web_seeds == backstop_options::mode::backstop && !below_since_ &&
                             rate >= static_cast<double>(options_.min_rate)));
    }

private:
    backstop_options options_;
    std::optional<double> below_since_;
    bool needed_ = false;
};

}  // namespace nearcast::peer
