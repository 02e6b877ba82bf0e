// The client's locality policy on real routing data and on the emulated Internet: who is
// near, the order to connect in, which connections go when the far limit is reached, and the
// prefixes that the near peer class covers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "nearcast/peer/ranking.hpp"
#include "routing_fixtures.hpp"

using namespace nearcast;
using testing::loopback_internet;
using testing::real_internet;
using namespace nearcast::peer;
using proximity::nearness;

namespace {

proximity::ip_address at(const char* text) { return *proximity::ip_address::parse(text); }

connection far_one(std::uint64_t id, unsigned hops) { return {id, {nearness::as_hops, hops}, false}; }
connection near_one(std::uint64_t id) { return {id, {nearness::same_as, 0}, false}; }
connection origin_one(std::uint64_t id) { return {id, {nearness::unknown, 0}, true}; }

}  // namespace

TEST_CASE("the locator places addresses of the emulated Internet by the one proximity distance") {
    const locator from(loopback_internet(), at("127.10.0.5"));
    CHECK(from.distance_to(at("127.10.0.9")).kind == nearness::same_subnet);
    CHECK(from.distance_to(at("127.10.7.9")).kind == nearness::same_prefix);
    CHECK(from.distance_to(at("127.11.0.1")).kind == nearness::same_as);
    CHECK(from.distance_to(at("127.20.0.1")).kind == nearness::adjacent_as);
    CHECK(from.distance_to(at("127.50.0.1")) == proximity::network_distance{nearness::as_hops, 4});
}

TEST_CASE("without a known own address every peer is unknown, hence far") {
    const locator nowhere(loopback_internet(), std::nullopt);
    const auto distance = nowhere.distance_to(at("127.10.0.9"));
    CHECK(distance.kind == nearness::unknown);
    CHECK(classify(distance, false, {}) == peer_kind::far);
}

TEST_CASE("near is the same AS or nearer by default, and configurable") {
    locality_options options;
    CHECK(classify({nearness::same_subnet, 0}, false, options) == peer_kind::near);
    CHECK(classify({nearness::same_as, 0}, false, options) == peer_kind::near);
    CHECK(classify({nearness::adjacent_as, 1}, false, options) == peer_kind::far);
    CHECK(classify({nearness::adjacent_as, 1}, true, options) == peer_kind::origin);
    options.near_up_to = nearness::adjacent_as;
    CHECK(classify({nearness::adjacent_as, 1}, false, options) == peer_kind::near);
    CHECK(classify({nearness::as_hops, 2}, false, options) == peer_kind::far);
    options.near_up_to = nearness::same_subnet;
    CHECK(classify({nearness::same_prefix, 0}, false, options) == peer_kind::far);
}

TEST_CASE("candidates are connected nearest first, origins last, ties in the tracker's order") {
    const std::vector<candidate> candidates = {
        {{nearness::as_hops, 3}, false}, {{nearness::unknown, 0}, true},  {{nearness::same_as, 0}, false},
        {{nearness::same_subnet, 0}, false}, {{nearness::same_as, 0}, false}, {{nearness::unknown, 0}, false},
    };
    CHECK(connect_order(candidates) == std::vector<std::size_t>{3, 2, 4, 0, 5, 1});
}

TEST_CASE("with enough near peers only a few far connections stay, the farthest go first") {
    locality_options options;
    options.max_far_connections = 2;
    options.min_near_connections = 2;
    const std::vector<connection> connections = {near_one(1), near_one(2), far_one(3, 1), far_one(4, 5),
                                                 far_one(5, 2), far_one(6, 3)};
    const auto close = connections_to_close(connections, options);
    CHECK(close == std::vector<std::uint64_t>{4, 6});
}

TEST_CASE("near connections are never closed, however many") {
    locality_options options;
    options.max_far_connections = 0;
    std::vector<connection> connections;
    for (std::uint64_t id = 1; id <= 200; ++id) connections.push_back(near_one(id));
    CHECK(connections_to_close(connections, options).empty());
}

TEST_CASE("a peer with too few near peers keeps many far ones: an ordinary swarm still runs at full speed") {
    locality_options options;
    options.max_far_connections = 2;
    options.min_near_connections = 2;
    options.max_far_when_isolated = 10;
    std::vector<connection> connections = {near_one(1)};
    for (std::uint64_t id = 2; id <= 13; ++id) connections.push_back(far_one(id, 2));
    const auto close = connections_to_close(connections, options);
    REQUIRE(close.size() == 2);
    // Equal distances: the newest connections go, settled ones stay.
    CHECK(close == std::vector<std::uint64_t>{13, 12});
    connections.push_back(near_one(20));
    CHECK(connections_to_close(connections, options).size() == 10);
}

TEST_CASE("origin connections have their own limit and do not count as far") {
    locality_options options;
    options.max_far_connections = 1;
    options.max_origin_connections = 2;
    const std::vector<connection> connections = {near_one(1), near_one(2), origin_one(3), origin_one(4),
                                                 origin_one(5), far_one(6, 1)};
    const auto close = connections_to_close(connections, options);
    CHECK(close == std::vector<std::uint64_t>{5});
}

TEST_CASE("a downloader leaves the origin alone while near peers hold enough of what it lacks, with hysteresis") {
    const origin_deference rule{8, 2};
    const auto hold = [&](bool now, std::uint32_t supply, std::uint32_t missing,
                          gateway_position position = gateway_position::alone) {
        return hold_off_origin(now, origin_outlook{supply, missing, position}, rule);
    };
    CHECK_FALSE(hold(false, 7, 100));
    CHECK(hold(false, 8, 100));
    // Holding: it stays away until near peers hold no more than release_at pieces it lacks.
    CHECK(hold(true, 3, 100));
    CHECK_FALSE(hold(true, 2, 100));
    CHECK_FALSE(hold(true, 0, 100));
    // Near peers hold every piece it lacks: it stays away (or goes away) however few they are.
    CHECK(hold(true, 2, 2));
    CHECK(hold(false, 1, 1));
    CHECK_FALSE(hold(true, 1, 2));
    // A near peer with a lower address fetches from the origin for the network; that peer, the
    // gateway, keeps the origin however much its followers hold, unless they hold all it lacks.
    CHECK(hold(false, 0, 100, gateway_position::follower));
    CHECK(hold(true, 0, 100, gateway_position::follower));
    CHECK_FALSE(hold(false, 50, 100, gateway_position::gateway));
    CHECK_FALSE(hold(true, 50, 100, gateway_position::gateway));
    CHECK(hold(false, 100, 100, gateway_position::gateway));
    // Nothing left to fetch, or hold_at 0 (a stream, or --defer-origin-at 0): never.
    CHECK_FALSE(hold(false, 0, 0, gateway_position::follower));
    CHECK_FALSE(hold_off_origin(false, origin_outlook{1000, 1000, gateway_position::follower}, origin_deference{0, 0}));
    CHECK_FALSE(hold_off_origin(true, origin_outlook{1000, 1000, gateway_position::follower}, origin_deference{0, 0}));
}

TEST_CASE("the near peer with the lowest address among those still downloading is the network's gateway") {
    const std::vector<proximity::ip_address> others = {at("127.10.0.14"), at("127.11.0.2")};
    CHECK(place_among(at("127.10.0.11"), others) == gateway_position::gateway);
    CHECK(place_among(at("127.10.0.20"), others) == gateway_position::follower);
    CHECK(place_among(at("127.10.0.20"), {}) == gateway_position::alone);
    // One that may not be a gateway (its user limits it) follows even from below.
    CHECK(place_among(at("127.10.0.11"), others, false) == gateway_position::follower);
    CHECK(place_among(at("127.10.0.11"), {}, false) == gateway_position::alone);
}

TEST_CASE("a peer whose user limits its upload or its download is no gateway; one with no limit is") {
    CHECK(may_be_gateway(-1, 0));  // no limits
    // Its followers would get its upload at most, however far above the floor.
    CHECK_FALSE(may_be_gateway(150'000, 0));
    CHECK_FALSE(may_be_gateway(500'000, 0));
    CHECK_FALSE(may_be_gateway(4'000'000, 0));
    CHECK_FALSE(may_be_gateway(0, 0));  // uploading off
    // And no more than it receives.
    CHECK_FALSE(may_be_gateway(-1, 300'000));
    CHECK_FALSE(may_be_gateway(-1, 1'000'000));
    CHECK_FALSE(may_be_gateway(-1, 100'000'000));
}

TEST_CASE("near supply counts the missing pieces near peers that unchoke us hold, each once") {
    const std::vector<bool> missing = {true, true, true, false, true};
    const std::vector<piece_supplier> suppliers = {
        {peer_kind::near, true, {true, true, false, true, false}},    // 0, 1 (3 is not missing)
        {peer_kind::near, true, {false, true, true}},                  // 2 (1 counted already); shorter bitfield
        {peer_kind::near, false, {true, true, true, true, true}},      // chokes us: nothing
        {peer_kind::far, true, {true, true, true, true, true}},        // far: nothing
        {peer_kind::origin, true, {true, true, true, true, true}},     // the origin: nothing
    };
    CHECK(near_supply(suppliers, missing) == 3);
    CHECK(near_supply({}, missing) == 0);
}

TEST_CASE("the near prefixes of an emulated network are its subnet, its prefix and its AS's other prefixes") {
    const auto prefixes = near_prefixes(loopback_internet(), at("127.10.0.5"), {});
    const auto has = [&](const char* text) {
        return std::find(prefixes.begin(), prefixes.end(), *proximity::ip_prefix::parse(text)) != prefixes.end();
    };
    CHECK(has("127.10.0.0/24"));
    CHECK(has("127.10.0.0/16"));
    CHECK(has("127.11.0.0/16"));
    CHECK_FALSE(has("127.20.0.0/16"));
    CHECK(prefixes.size() == 3);

    locality_options wider;
    wider.near_up_to = nearness::adjacent_as;
    const auto with_neighbours = near_prefixes(loopback_internet(), at("127.10.0.5"), wider);
    CHECK(std::find(with_neighbours.begin(), with_neighbours.end(), *proximity::ip_prefix::parse("127.20.0.0/16")) !=
          with_neighbours.end());
    CHECK(std::find(with_neighbours.begin(), with_neighbours.end(), *proximity::ip_prefix::parse("127.30.0.0/16")) ==
          with_neighbours.end());
}

TEST_CASE("on a real BGP table every near prefix is announced by the client's own origin AS") {
    const auto& routing = real_internet();
    const auto self = at("4.2.2.2");
    const auto own = routing.prefixes().lookup(self);
    REQUIRE(own);
    const auto prefixes = near_prefixes(routing, self, {});
    REQUIRE(prefixes.size() > 3);
    std::map<proximity::ip_prefix, std::vector<std::uint32_t>> table;
    for (const auto& route : routing.prefixes().routes()) table[route.prefix] = route.origins;
    const auto subnet = proximity::ip_prefix::of(self, 24);
    for (const auto& prefix : prefixes) {
        if (prefix == subnet) continue;
        const auto found = table.find(prefix);
        REQUIRE(found != table.end());
        const bool shares_origin = std::any_of(found->second.begin(), found->second.end(), [&](std::uint32_t origin) {
            return std::find(own->origins.begin(), own->origins.end(), origin) != own->origins.end();
        });
        CHECK(shares_origin);
    }
    // And the distance agrees: the client's own prefix and AS are near, another AS is not.
    CHECK(classify(locator(routing, self).distance_to(own->prefix.network), false, {}) == peer_kind::near);
    CHECK(classify(locator(routing, self).distance_to(at("8.8.8.8")), false, {}) == peer_kind::far);
}

TEST_CASE("an address without a route has only its subnet as near") {
    const auto prefixes = near_prefixes(loopback_internet(), at("10.1.2.3"), {});
    CHECK(prefixes == std::vector<proximity::ip_prefix>{*proximity::ip_prefix::parse("10.1.2.0/24")});
}

TEST_CASE("the origin's web seeds are called in only when BitTorrent delivers too little for long enough") {
    backstop_options options;
    options.grace_s = 3;
    options.min_rate = 100'000;
    backstop rule(options);
    rule.observe(0, 0);
    rule.observe(2.9, 50'000);
    CHECK_FALSE(rule.web_seeds_needed());
    rule.observe(3.1, 2'000'000);  // BitTorrent picked up: the clock starts again
    rule.observe(5.0, 0);
    rule.observe(7.9, 0);
    CHECK_FALSE(rule.web_seeds_needed());
    rule.observe(8.0, 0);
    CHECK(rule.web_seeds_needed());
    rule.observe(9.0, 5'000'000);
    CHECK(rule.web_seeds_needed());  // once called in, they stay

    options.web_seeds = backstop_options::mode::always;
    backstop always(options);
    always.observe(0, 10'000'000);
    CHECK(always.web_seeds_needed());
    options.web_seeds = backstop_options::mode::never;
    backstop never(options);
    never.observe(0, 0);
    never.observe(1000, 0);
    CHECK_FALSE(never.web_seeds_needed());
}

TEST_CASE("near seeds earn a trial by delivering as much as the origin beside it, and must then keep most of the pace both made") {
    origin_deference rule;  // floor 500 kB/s, keep_pace 0.95
    CHECK(pace_to_keep(3'000'000, 1'000'000, rule) == 3'800'000);
    CHECK(pace_to_keep(100'000, 200'000, rule) == 500'000);  // never below the floor
    // Only near seeds (a peer alone) must prove themselves: a follower's pace is its gateway's.
    CHECK_FALSE(near_proven(gateway_position::alone, 100'000, 2'000'000, rule));
    CHECK_FALSE(near_proven(gateway_position::alone, 1'000'000, 2'000'000, rule));  // faster than the floor, slower than the origin
    CHECK(near_proven(gateway_position::alone, 2'000'000, 2'000'000, rule));
    CHECK_FALSE(near_proven(gateway_position::alone, 400'000, 100'000, rule));   // below the floor
    CHECK_FALSE(near_proven(gateway_position::alone, 9'000'000, 0, rule));       // no origin seen: nothing to compare with
    CHECK(near_proven(gateway_position::follower, 0, 2'000'000, rule));
}

TEST_CASE("near seeds must prove themselves beside the origin before it is left alone: no hold on trust") {
    origin_deference rule;  // prove 0.5 s, floor 500 kB/s
    const origin_outlook seeded{.near_supply = 40, .missing = 40, .position = gateway_position::alone};
    // A near seed that sends 100 kB/s, or 1 MB/s, beside an origin that sends 2 MB/s: the origin
    // is never left alone, not even for a moment. The slow one is below the floor once it has
    // had its half second (with no origin seeder in the swarm, the shell calls in the web seed).
    for (const std::int64_t near : {100'000, 1'000'000}) {
        deference_state state;
        for (std::uint64_t at = 0; at <= 30'000; at += 250) {
            const auto step = step_deference(state, true, at, seeded, near, 2'000'000, rule);
            CHECK_FALSE(step.hold);
            CHECK_FALSE(step.cooldown_started);
            if (at >= 500) CHECK(step.near_below_floor == (near < rule.min_near_rate));
        }
        CHECK_FALSE(state.origin_held);
    }
    // Once it delivers more than the origin beside it, on average over the time it has proved
    // itself (the 1 MB/s samples still weigh), the origin is left alone: not at once.
    deference_state middling;
    for (std::uint64_t at = 0; at <= 10'000; at += 250) step_deference(middling, true, at, seeded, 1'000'000, 2'000'000, rule);
    std::uint64_t at = 10'000;
    int samples = 0;
    while (!step_deference(middling, true, at += 250, seeded, 3'000'000, 2'000'000, rule).hold && samples < 40) ++samples;
    CHECK(middling.origin_held);
    CHECK(samples > 0);
    CHECK(middling.pace > pace_to_keep(1'000'000, 2'000'000, rule));
    CHECK(middling.pace <= pace_to_keep(3'000'000, 2'000'000, rule));
    // A fast near seed with no origin delivering at all (none in the swarm, or not yet answering):
    // no hold, since there is nothing to compare with and nothing to hold; not below the floor.
    deference_state unseen;
    for (std::uint64_t later = 0; later <= 10'000; later += 250) {
        const auto step = step_deference(unseen, true, later, seeded, 9'000'000, 0, rule);
        CHECK_FALSE(step.hold);
        CHECK_FALSE(step.near_below_floor);
    }
}

TEST_CASE("a hold keeps the origin off while near seeds keep the pace, lets it in when they fall behind, and never waits for near peers to answer") {
    origin_deference rule;  // hold_at 8, prove 0.5 s, keep_pace 0.95, patience 0.5 s, cooldown 20 s, floor 500 kB/s
    REQUIRE(rule.unproven_judge_ms == 2000);  // the default: unproven holds are judged
    deference_state state;
    origin_outlook lacking{.near_supply = 0, .missing = 40, .position = gateway_position::alone};
    // The origin delivers 1 MB/s while nothing near helps: it is in.
    CHECK_FALSE(step_deference(state, true, 0, lacking, 0, 1'000'000, rule).hold);
    // A near seed appears and holds everything we lack. Beside the origin it sends 3 MB/s to the
    // origin's 1 MB/s (the link carries 4 MB/s): after half a second of that, a trial with the
    // pace to keep known.
    origin_outlook seeded{.near_supply = 40, .missing = 40, .position = gateway_position::alone};
    std::uint64_t at = 0;
    bool held = false;
    for (int sample = 0; sample < 8 && !held; ++sample) held = step_deference(state, true, at += 250, seeded, 3'000'000, 1'000'000, rule).hold;
    REQUIRE(held);
    CHECK(at == 750);
    const std::int64_t pace = state.pace;
    CHECK(pace == 3'800'000);  // 0.95 of the 4 MB/s both made
    // The link was the limit: alone the near seed fills it, unevenly. A dip is paid back by the
    // surplus that follows.
    for (int sample = 0; sample < 8; ++sample) {
        CHECK(step_deference(state, true, at += 250, seeded, 4'400'000, 0, rule).hold);
        CHECK(step_deference(state, true, at += 250, seeded, 3'400'000, 0, rule).hold);
    }
    CHECK(step_deference(state, true, at += 250, seeded, 0, 0, rule).hold);
    CHECK(step_deference(state, true, at += 250, seeded, 8'000'000, 0, rule).hold);
    CHECK(state.near_shortfall == 0);
    // It slows to 100 kB/s: once it is half a second of the pace behind, the origin is in again.
    int samples = 0;
    deference_step step;
    do {
        step = step_deference(state, true, at += 250, seeded, 100'000, 0, rule);
        ++samples;
    } while (step.hold && samples < 20);
    CHECK(step.cooldown_started);
    CHECK(step.pace == pace);
    CHECK(samples == 3);  // 3.7 MB/s short: half a second of the pace (1.9 MB) is behind within the third quarter-second
    CHECK_FALSE(state.origin_held);
    // For the cooldown the origin stays in, whatever near peers hold and send.
    CHECK_FALSE(step_deference(state, true, at + 19'999, seeded, 9'000'000, 1'000'000, rule).hold);
    // Then near seeds must prove themselves again, beside the origin.
    CHECK_FALSE(step_deference(state, true, at + 20'000, seeded, 100'000, 1'000'000, rule).hold);
    CHECK_FALSE(step_deference(state, true, at + 20'250, seeded, 100'000, 1'000'000, rule).hold);
    // A follower holds off at once, with nothing to prove: its gateway fetches from the origin.
    // For the grace that a starting gateway needs, nothing from near peers is held against it.
    // Its gateway has only just started, with one piece we lack: the full grace.
    origin_outlook following{.near_supply = 1, .missing = 40, .position = gateway_position::follower};
    std::uint64_t now = at + 30'000;
    CHECK(step_deference(state, true, now, following, 0, 0, rule).hold);
    for (const auto end = now + rule.unproven_grace_ms; now < end;) {
        step = step_deference(state, true, now += 250, following, 0, 0, rule);
        CHECK((step.hold && !step.gateway_too_slow));
    }
    // Then the floor is its pace, averaged over two seconds: a gateway that passes pieces on at
    // 1 MB/s in half-second bursts keeps it.
    for (int sample = 0; sample < 40; ++sample) {
        step = step_deference(state, true, now += 250, following, sample % 4 < 2 ? 2'000'000 : 0, 0, rule);
        CHECK((step.hold && !step.gateway_too_slow));
    }
    // One that passes on only 150 kB/s (its user's upload limit) does not: its gateway is too
    // slow. The hold goes on while the caller passes that gateway over and places us again,
    // and the next gateway has its grace.
    samples = 0;
    do {
        step = step_deference(state, true, now += 250, following, 150'000, 0, rule);
        ++samples;
    } while (!step.gateway_too_slow && samples < 40);
    // The average of the last seconds (a fading window, which held a burst to the end) falls
    // below 500 kB/s in the fifth quarter-second.
    CHECK(samples == 5);
    CHECK(step.hold);
    CHECK_FALSE(step.cooldown_started);
    for (const auto end = now + rule.unproven_grace_ms; now < end;) {
        step = step_deference(state, true, now += 250, following, 0, 0, rule);
        CHECK((step.hold && !step.gateway_too_slow));
    }
    // Without another downloader below us we are the gateway: the origin is in.
    const origin_outlook leading{.near_supply = 1, .missing = 40, .position = gateway_position::gateway};
    CHECK_FALSE(step_deference(state, true, now += 250, leading, 0, 0, rule).hold);
    // A gateway whose near peers hold all it lacks (a near seed among them) holds off unproven,
    // and keeps the same floor: a near seed whose upload is limited lets the origin in again
    // (a network's gateway waited 15 s on a seed that sent 150 kB/s).
    now += 20'000;
    const origin_outlook covered{.near_supply = 40, .missing = 40, .position = gateway_position::gateway};
    CHECK(step_deference(state, true, now, covered, 0, 0, rule).hold);
    samples = 0;
    do {
        step = step_deference(state, true, now += 250, covered, 150'000, 0, rule);
        ++samples;
    } while (step.hold && samples < 40);
    CHECK(step.cooldown_started);
    // They held what it lacks (40 pieces, hold_at or more) from the start: a short grace (2
    // samples), then two seconds of average (8 more).
    CHECK(samples == 10);
    at = now - 40'000;
    // Near peers that hold nothing we lack (still connecting, or not unchoking us): the origin
    // is in at once, with no waiting for their answer.
    const origin_outlook unanswered{.near_supply = 0, .missing = 40, .position = gateway_position::alone};
    CHECK_FALSE(step_deference(state, true, at + 39'100, unanswered, 0, 0, rule).hold);
    CHECK_FALSE(state.origin_held);
    // An item that may not defer (complete, locality off) lets the origin in at once.
    CHECK_FALSE(step_deference(state, false, at + 39'200, seeded, 0, 0, rule).hold);
    CHECK_FALSE(state.origin_held);
}

TEST_CASE("a follower whose gateway is passed over lets the origin in at once; the gateway must then prove itself beside it") {
    origin_deference rule;  // floor 500 kB/s, grace 2 s (0.5 s with supply), judged over 2 s
    deference_state state;
    const origin_outlook following{.near_supply = 30, .missing = 180, .position = gateway_position::follower};
    std::uint64_t now = 1'000'000;
    CHECK(step_deference(state, true, now, following, 0, 0, rule).hold);
    // Its gateway's link sends 260 kB/s: past the grace and a judging span it is passed over.
    deference_step step;
    int samples = 0;
    do {
        step = step_deference(state, true, now += 250, following, 260'000, 0, rule);
        ++samples;
    } while (!step.gateway_too_slow && samples < 40);
    REQUIRE(step.gateway_too_slow);
    // It held pieces we lack from the hold's start: a short grace (0.5 s, not 2 s), then 2 s
    // judged.
    CHECK(samples == 10);
    CHECK(step.hold);  // until the caller has placed us again
    // Placed again without it we are alone; it still holds pieces we lack (30, above hold_at),
    // yet the origin is in at once: no new grace and judging span on trust.
    const origin_outlook alone{.near_supply = 30, .missing = 150, .position = gateway_position::alone};
    step = step_deference(state, true, now += 250, alone, 260'000, 1'500'000, rule);
    CHECK_FALSE(step.hold);
    CHECK_FALSE(state.origin_held);
    // Beside the origin it proves too slow (below the floor and below the origin): no hold.
    for (int sample = 0; sample < 12; ++sample) {
        step = step_deference(state, true, now += 250, alone, 260'000, 1'500'000, rule);
        CHECK_FALSE(step.hold);
    }
    // Placed again behind the next downloader, which holds pieces we lack too: that gateway is
    // judged after the short grace as well (a network of slow links costs each follower 2.5 s
    // per gateway it passes over, not 4 s).
    deference_state chain;
    now += 10'000;
    CHECK(step_deference(chain, true, now, following, 0, 0, rule).hold);
    for (int gateway = 0; gateway < 2; ++gateway) {
        samples = 0;
        do {
            step = step_deference(chain, true, now += 250, following, samples % 2 ? 460'000 : 60'000, 0, rule);
            ++samples;
        } while (!step.gateway_too_slow && samples < 40);
        CHECK(step.gateway_too_slow);
        CHECK(step.near_rate == Approx(260'000));  // the average judged (not the last sample), as the log line gives it
        CHECK(samples == 10);
    }
    // A follower whose gateway is still there keeps following, as before.
    deference_state other;
    CHECK(step_deference(other, true, now, following, 0, 0, rule).hold);
    CHECK(step_deference(other, true, now + 250, following, 2'000'000, 0, rule).hold);
}
