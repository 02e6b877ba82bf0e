// The peer selection policy on real routing data: nearest first, ties at random, a far share,
// seeds get leechers, nobody meets themselves, origins only where the neighbourhood is thin.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "nearcast/tracker/selection.hpp"
#include "routing_fixtures.hpp"

using namespace nearcast;
using testing::loopback_internet;
using testing::real_internet;
using namespace nearcast::tracker;
using proximity::nearness;

namespace {

peer_record located(const proximity::model& routing, const char* address, std::uint16_t port, bool seed = false) {
    peer_record record = record_for({*proximity::ip_address::parse(address), port});
    if (const auto found = routing.prefixes().lookup(record.address())) {
        record.prefix_length = found->prefix.length;
        record.origin_as = found->primary_origin();
    }
    if (seed) record.flags |= peer_record::flag_seed;
    return record;
}

selection_options nearest_only() {
    selection_options options;
    options.far_share = 0;
    return options;
}

std::set<std::string> addresses_of(const selection& picked) {
    std::set<std::string> out;
    for (const auto& where : picked.peers) out.insert(where.address.to_string());
    return out;
}

}  // namespace

TEST_CASE("record distance matches the proximity library's distance", "[selection]") {
    const auto& routing = real_internet();
    hop_cache hops;
    const char* addresses[] = {"1.0.0.1", "1.0.0.200", "8.8.8.8", "8.8.4.4", "4.2.2.2", "12.0.0.1", "2.16.0.1", "5.10.1.1"};
    for (const char* a : addresses) {
        for (const char* b : addresses) {
            INFO(a << " to " << b);
            const auto expected =
                proximity::distance(routing, *proximity::ip_address::parse(a), *proximity::ip_address::parse(b));
            const auto fast = record_distance(located(routing, a, 1), located(routing, b, 1), routing.graph(), {}, hops);
            CHECK(fast.kind == expected.kind);
            CHECK(fast.cost() == expected.cost());
        }
    }
}

TEST_CASE("the nearest peers come first, class by class, on the emulated Internet", "[selection]") {
    const auto& routing = loopback_internet();
    const std::vector<peer_record> swarm{
        located(routing, "127.50.0.1", 1),  // 4 AS hops
        located(routing, "127.40.0.1", 1),  // 3 hops
        located(routing, "127.30.0.1", 1),  // 2 hops
        located(routing, "127.20.0.1", 1),  // adjacent AS
        located(routing, "127.11.0.1", 1),  // same AS, other prefix
        located(routing, "127.10.9.1", 1),  // same prefix
        located(routing, "127.10.0.9", 1),  // same subnet
    };
    const requester me{located(routing, "127.10.0.5", 7000)};
    hop_cache hops;
    std::mt19937_64 random(1);
    const std::vector<std::pair<std::uint32_t, std::set<std::string>>> expected{
        {1, {"127.10.0.9"}},
        {2, {"127.10.0.9", "127.10.9.1"}},
        {3, {"127.10.0.9", "127.10.9.1", "127.11.0.1"}},
        {4, {"127.10.0.9", "127.10.9.1", "127.11.0.1", "127.20.0.1"}},
        {5, {"127.10.0.9", "127.10.9.1", "127.11.0.1", "127.20.0.1", "127.30.0.1"}},
        {6, {"127.10.0.9", "127.10.9.1", "127.11.0.1", "127.20.0.1", "127.30.0.1", "127.40.0.1"}},
    };
    for (const auto& [numwant, nearest] : expected) {
        nearness_histogram histogram{};
        const auto picked =
            select_peers(swarm, {}, me, numwant, routing.graph(), nearest_only(), {}, hops, random, &histogram);
        INFO("numwant " << numwant);
        CHECK(picked.peers.size() == numwant);
        CHECK(addresses_of(picked) == nearest);
        CHECK(histogram[static_cast<std::size_t>(nearness::same_subnet)] == 1);
    }
}

TEST_CASE("the nearest peers come first on the real RouteViews table", "[selection]") {
    const auto& routing = real_internet();
    std::vector<peer_record> swarm;
    // Ten peers in Google's AS (8.8.8.0/24 and 1.0.0.0/24), ten in Level 3 (4.0.0.0/9), ten in
    // other ASes of the table.
    for (std::uint16_t i = 1; i <= 5; ++i) {
        swarm.push_back(located(routing, ("8.8.8." + std::to_string(i)).c_str(), i));
        swarm.push_back(located(routing, ("1.0.0." + std::to_string(i)).c_str(), i));
        swarm.push_back(located(routing, ("4.2.2." + std::to_string(i)).c_str(), i));
        swarm.push_back(located(routing, ("4.69.1." + std::to_string(i)).c_str(), i));
        swarm.push_back(located(routing, ("2.16.0." + std::to_string(i)).c_str(), i));
        swarm.push_back(located(routing, ("5.10.1." + std::to_string(i)).c_str(), i));
    }
    const requester me{located(routing, "8.8.4.4", 6881)};  // AS15169, another prefix
    hop_cache hops;
    std::mt19937_64 random(2);
    const auto picked = select_peers(swarm, {}, me, 10, routing.graph(), nearest_only(), {}, hops, random);
    REQUIRE(picked.peers.size() == 10);
    for (const auto& where : picked.peers) {
        INFO(where.address.to_string());
        CHECK(routing.prefixes().origin_of(where.address) == 15169);
    }
}

TEST_CASE("ties are broken at random so load spreads over equally near peers", "[selection]") {
    const auto& routing = loopback_internet();
    std::vector<peer_record> swarm;
    for (std::uint16_t i = 1; i <= 40; ++i) swarm.push_back(located(routing, "127.20.0.1", i));  // all adjacent
    const requester me{located(routing, "127.10.0.5", 7000)};
    hop_cache hops;
    std::mt19937_64 random(3);
    std::map<std::uint16_t, int> times_picked;
    for (int round = 0; round < 200; ++round) {
        for (const auto& where : select_peers(swarm, {}, me, 5, routing.graph(), nearest_only(), {}, hops, random).peers) {
            ++times_picked[where.port];
        }
    }
    CHECK(times_picked.size() == 40);  // every peer got its turn
    for (const auto& [port, count] : times_picked) CHECK(count < 80);  // 25 on average
}

TEST_CASE("a share of every answer goes to random far peers", "[selection]") {
    const auto& routing = loopback_internet();
    std::vector<peer_record> swarm;
    for (std::uint16_t i = 1; i <= 30; ++i) swarm.push_back(located(routing, "127.10.0.9", i));  // near
    for (std::uint16_t i = 1; i <= 30; ++i) swarm.push_back(located(routing, "127.50.0.9", i));  // far
    const requester me{located(routing, "127.10.0.5", 7000)};
    hop_cache hops;
    std::mt19937_64 random(4);
    selection_options options;
    options.far_share = 0.2;
    const auto picked = select_peers(swarm, {}, me, 10, routing.graph(), options, {}, hops, random);
    REQUIRE(picked.peers.size() == 10);
    int near = 0;
    for (const auto& where : picked.peers) near += where.address.to_string() == "127.10.0.9";
    // 8 nearest; the 2 random picks come from the other 52, of which 22 are near.
    CHECK(near >= 8);
    int far_seen = 0;
    for (int round = 0; round < 50; ++round) {
        for (const auto& where : select_peers(swarm, {}, me, 10, routing.graph(), options, {}, hops, random).peers) {
            far_seen += where.address.to_string() == "127.50.0.9";
        }
    }
    CHECK(far_seen > 20);  // about 1.15 a round
    options.far_share = 0;
    for (const auto& where : select_peers(swarm, {}, me, 10, routing.graph(), options, {}, hops, random).peers) {
        CHECK(where.address.to_string() == "127.10.0.9");
    }
}

TEST_CASE("a seed is sent leechers only and nobody is sent themselves", "[selection]") {
    const auto& routing = loopback_internet();
    std::vector<peer_record> swarm{located(routing, "127.10.0.5", 7000, true), located(routing, "127.10.0.6", 1, true),
                                   located(routing, "127.10.0.7", 2, false), located(routing, "127.20.0.7", 3, false)};
    hop_cache hops;
    std::mt19937_64 random(5);
    const requester seed{swarm[0]};
    const auto for_seed = select_peers(swarm, {}, seed, 50, routing.graph(), {}, {}, hops, random);
    CHECK(addresses_of(for_seed) == std::set<std::string>{"127.10.0.7", "127.20.0.7"});
    requester leecher{swarm[2]};
    const auto for_leecher = select_peers(swarm, {}, leecher, 50, routing.graph(), {}, {}, hops, random);
    CHECK(for_leecher.peers.size() == 3);
    CHECK(addresses_of(for_leecher).count("127.10.0.7") == 0);
}

TEST_CASE("origins join an answer only when too few seeds are near", "[selection]") {
    const auto& routing = loopback_internet();
    const std::vector<peer_record> origins{located(routing, "127.40.0.1", 6881, true),
                                           located(routing, "127.50.0.1", 6881, true),
                                           located(routing, "127.30.0.1", 6881, true)};
    hop_cache hops;
    std::mt19937_64 random(6);
    const requester me{located(routing, "127.10.0.5", 7000)};
    origin_options rule;  // at least 2 seeds within an adjacent AS, else up to 2 origins

    SECTION("a neighbourhood with no seeds gets the two nearest origins") {
        const std::vector<peer_record> swarm{located(routing, "127.10.0.8", 1), located(routing, "127.50.0.8", 2, true)};
        const auto picked = select_peers(swarm, origins, me, 50, routing.graph(), {}, rule, hops, random);
        CHECK(picked.origins_added == 2);
        CHECK(picked.near_seeds == 0);
        const auto found = addresses_of(picked);
        CHECK(found.count("127.30.0.1") == 1);
        CHECK(found.count("127.40.0.1") == 1);
        CHECK(found.count("127.50.0.1") == 0);
    }
    SECTION("a neighbourhood with two near seeds serves itself") {
        const std::vector<peer_record> swarm{located(routing, "127.10.0.8", 1, true), located(routing, "127.20.0.8", 2, true)};
        const auto picked = select_peers(swarm, origins, me, 50, routing.graph(), {}, rule, hops, random);
        CHECK(picked.origins_added == 0);
        CHECK(picked.near_seeds == 2);
        CHECK(picked.peers.size() == 2);
    }
    SECTION("a seed never gets origins") {
        requester seed = me;
        seed.record.flags |= peer_record::flag_seed;
        const auto picked = select_peers({}, origins, seed, 50, routing.graph(), {}, rule, hops, random);
        CHECK(picked.peers.empty());
    }
    SECTION("an origin's own announce gets no peers") {
        peer_record origin = origins[0];
        origin.flags |= peer_record::flag_origin;  // as the tracker marks a registered origin's announce
        const std::vector<peer_record> swarm{origin, located(routing, "127.10.0.9", 2)};
        CHECK(select_peers(swarm, origins, requester{origin}, 50, routing.graph(), {}, rule, hops, random).peers.empty());
    }
    SECTION("origins fit inside numwant") {
        std::vector<peer_record> swarm;
        for (std::uint16_t i = 1; i <= 20; ++i) swarm.push_back(located(routing, "127.10.0.8", i));
        const auto picked = select_peers(swarm, origins, me, 10, routing.graph(), {}, rule, hops, random);
        CHECK(picked.peers.size() == 10);
        CHECK(picked.origins_added == 2);
    }
}

TEST_CASE("a huge swarm is ranked on a bounded window and still answers numwant", "[selection]") {
    const auto& routing = loopback_internet();
    std::vector<peer_record> swarm;
    for (std::uint32_t i = 0; i < 20'000; ++i) {
        swarm.push_back(located(routing, i % 2 ? "127.10.0.9" : "127.30.0.9", static_cast<std::uint16_t>(1 + i / 2)));
    }
    hop_cache hops;
    std::mt19937_64 random(7);
    selection_options options = nearest_only();
    options.scan_limit = 1000;
    const auto picked =
        select_peers(swarm, {}, {located(routing, "127.10.0.5", 7000)}, 50, routing.graph(), options, {}, hops, random);
    CHECK(picked.peers.size() == 50);
    for (const auto& where : picked.peers) CHECK(where.address.to_string() == "127.10.0.9");
}
