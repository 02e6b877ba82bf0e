// The tracker's book of supernodes: election on a real routing table, measured eligibility,
// admission limits, a vanished supernode noticed within one interval, jittered re-homing.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "nearcast/tracker/supernode_groups.hpp"
#include "nearcast/tracker/supernode_registry.hpp"
#include "routing_fixtures.hpp"

using namespace nearcast;
using namespace nearcast::tracker;

namespace {

endpoint at(std::uint32_t address, std::uint16_t port = 6881) { return {proximity::ip_address::v4(address), port}; }

std::uint32_t no_hops(std::uint32_t) { return 1; }

}  // namespace

TEST_CASE("election on a real routing table gives each AS its target ratio of supernodes") {
    const auto& routing = testing::real_internet();
    // Peers in ten ASes of the RouteViews sample, 300 to 3,000 each, placed on real prefixes; the
    // AS of each is what the routing table says. One in ten runs the daemon and reports.
    std::map<std::uint32_t, std::vector<std::uint32_t>> prefixes_by_as;
    for (const auto& route : routing.prefixes().routes()) {
        if (route.prefix.network.is_v4() && route.prefix.length <= 22 && route.prefix.length >= 8) {
            prefixes_by_as[route.origins.front()].push_back(route.prefix.network.v4_bits());
        }
    }
    std::vector<std::uint32_t> ases;
    for (const auto& [asn, list] : prefixes_by_as) {
        if (list.size() >= 3 && ases.size() < 10) ases.push_back(asn);
    }
    REQUIRE(ases.size() == 10);

    supernode_registry_options options;
    options.election.peers_per_supernode = 300;
    supernode_registry registry(options);
    std::mt19937_64 random(11);
    std::map<std::uint32_t, std::uint32_t> population;
    std::set<endpoint> unreachable, slow;
    std::vector<candidate_report> reports;
    for (std::size_t a = 0; a < ases.size(); ++a) {
        const auto peers = static_cast<std::uint32_t>(300 * (a + 1));
        for (std::uint32_t p = 0; p < peers; ++p) {
            const auto& bases = prefixes_by_as[ases[a]];
            const std::uint32_t address = bases[p % bases.size()] + 1 + p / 3;
            const std::uint32_t group = routing.prefixes().origin_of(proximity::ip_address::v4(address));
            ++population[group];
            if (p % 10 != 0) continue;
            // Capacity from 128 kB/s to 2 MB/s; one in four does not accept connections.
            const double capacity = 128e3 * static_cast<double>(1 + p % 16);
            reports.push_back({at(address), group, capacity, false});
            if (p % 4 == 0) unreachable.insert(at(address));
            if (capacity < options.election.min_upload_capacity) slow.insert(at(address));
        }
    }
    std::vector<group_population> groups;
    for (const auto& [group, peers] : population) groups.push_back({group, peers});

    // The daemons report every half hour; the tracker checks each one's port.
    for (const auto& report : reports) {
        registry.report(report, 0);
        registry.reachability(report.where, !unreachable.count(report.where), 0);
    }
    registry.elect(groups, 0, random);
    CHECK(registry.supernodes().empty());  // uptime is measured: nobody has an hour yet
    for (const std::uint32_t t : {1800u, 3600u}) {
        for (const auto& report : reports) registry.report(report, t);
    }
    const auto change = registry.elect(groups, 3600, random);
    CHECK(change.dropped.empty());

    std::map<std::uint32_t, std::uint32_t> elected_by_group;
    for (const auto& view : registry.supernodes()) {
        ++elected_by_group[view.group];
        CHECK(view.admission_limit == options.election.admission_limit);
        CHECK_FALSE(unreachable.count(view.where));
        CHECK_FALSE(slow.count(view.where));
    }
    for (const auto& [group, peers] : population) {
        INFO("AS" << group << ": " << peers << " peers");
        CHECK(elected_by_group[group] == supernode_target(peers, options.election));
    }
    // The same measurements elect the same supernodes again: nothing flaps.
    for (const auto& report : reports) registry.report(report, 5400);
    const auto again = registry.elect(groups, 5400, random);
    CHECK(again.elected.empty());
    CHECK(again.dropped.empty());
}

TEST_CASE("registry: unreachable or unchecked candidates are never elected; the better one is") {
    supernode_registry registry;
    std::mt19937_64 random(1);
    const std::vector<group_population> groups = {{7, 100}};
    registry.report({at(1), 7, 5e6, false}, 0);  // never checked
    registry.report({at(2), 7, 5e6, false}, 0);
    registry.reachability(at(2), false, 0);      // checked: refuses connections
    registry.report({at(3), 7, 1e6, false}, 0);
    registry.reachability(at(3), true, 0);
    for (std::uint32_t t : {1800u, 3600u}) {
        for (std::uint32_t a : {1u, 2u, 3u}) registry.report({at(a), 7, a == 3 ? 1e6 : 5e6, false}, t);
    }
    const auto change = registry.elect(groups, 3600, random);
    REQUIRE(change.elected.size() == 1);
    CHECK(change.elected.front() == at(3));
    // The unchecked one, and the supernode at every round; the refusing one was checked at 0.
    CHECK(registry.due_for_check(100) == std::vector<endpoint>{at(1), at(3)});
    CHECK(registry.due_for_check(1800).size() == 3);                    // and are checked again an interval later
}

TEST_CASE("registry: admission limits hold, peers spread over two supernodes, the rest go to the origin") {
    supernode_registry_options options;
    options.election.peers_per_supernode = 10;
    options.election.admission_limit = 3;
    options.election.min_uptime_s = 0;
    supernode_registry registry(options);
    std::mt19937_64 random(2);
    for (std::uint32_t a = 1; a <= 3; ++a) {
        registry.report({at(a), 1, 1e6, false}, 0);
        registry.reachability(at(a), true, 0);
    }
    registry.elect(std::vector<group_population>{{1, 30}}, 10, random);
    REQUIRE(registry.supernodes().size() == 3);

    std::size_t served = 0;
    for (std::uint32_t peer = 100; peer < 110; ++peer) {
        const auto mine = registry.supernodes_for(at(peer), 1, no_hops, 20);
        if (peer < 104) CHECK(mine.size() == 2);  // 3 supernodes x 3 places = 9 = 4 peers x 2 + 1
        served += mine.size();
    }
    CHECK(served == 9);
    for (const auto& view : registry.supernodes()) CHECK(view.children <= view.admission_limit);
    CHECK(registry.max_load_seen() <= 1.0);
    // A peer that completes frees its places.
    registry.forget_child(at(100));
    CHECK(registry.supernodes_for(at(200), 1, no_hops, 30).size() == 2);
}

TEST_CASE("registry: a vanished supernode is noticed within one interval and its children re-home with jitter") {
    supernode_registry_options options;
    options.election.peers_per_supernode = 10;
    options.election.min_uptime_s = 0;
    options.interval_s = 1800;
    supernode_registry registry(options);
    std::mt19937_64 random(3);
    const std::vector<group_population> groups = {{1, 40}};
    for (std::uint32_t a = 1; a <= 4; ++a) {
        registry.report({at(a), 1, 1e6, false}, 0);
        registry.reachability(at(a), true, 0);
    }
    registry.elect(groups, 0, random);
    REQUIRE(registry.supernodes().size() == 4);
    std::vector<endpoint> orphans;
    for (std::uint32_t peer = 100; peer < 140; ++peer) {
        const auto mine = registry.supernodes_for(at(peer), 1, no_hops, 10);
        if (std::find(mine.begin(), mine.end(), at(1)) != mine.end()) orphans.push_back(at(peer));
    }
    REQUIRE_FALSE(orphans.empty());

    // Supernode 1 stops reporting after time 0; the others report at 1800.
    for (std::uint32_t a = 2; a <= 4; ++a) registry.report({at(a), 1, 1e6, false}, 1800);
    const auto change = registry.elect(groups, 1801, random);  // one interval and a second later
    REQUIRE(change.dropped == std::vector<endpoint>{at(1)});
    CHECK_FALSE(registry.is_supernode(at(1)));

    // The orphans come back spread over the next interval, each within it.
    std::set<std::uint32_t> rehome_times;
    for (const auto& orphan : orphans) {
        std::uint32_t when = 1801;
        while (registry.supernodes_for(orphan, 1, no_hops, when).size() < 2 && when <= 1801 + 1800) when += 30;
        CHECK(when <= 1801 + 1800);
        rehome_times.insert(when);
    }
    CHECK(rehome_times.size() > 1);  // not all at once
    CHECK(registry.max_load_seen() <= 1.0);
    const auto rehoming = registry.rehoming();
    CHECK(rehoming.orphaned == orphans.size());
    CHECK(rehoming.rehomed == orphans.size());
    CHECK(rehoming.waiting == 0);
    CHECK(rehoming.max_delay_s <= 1800);

    SECTION("one that says it leaves is gone at once") {
        registry.leave(at(2), 1900, random);
        CHECK_FALSE(registry.is_supernode(at(2)));
        CHECK(registry.supernodes().size() == 2);
    }
}

TEST_CASE("registry: a supernode whose admission limit falls sheds the children beyond it") {
    supernode_registry_options options;
    options.election.peers_per_supernode = 100;
    options.election.admission_limit = 3;
    options.election.operated_admission_limit = 100;
    options.election.min_uptime_s = 0;
    supernode_registry registry(options);
    std::mt19937_64 random(4);
    const std::vector<group_population> groups = {{1, 50}};
    registry.report({at(1), 1, 1e8, true}, 0);  // an operator's server
    registry.reachability(at(1), true, 0);
    registry.elect(groups, 0, random);
    for (std::uint32_t peer = 100; peer < 110; ++peer) CHECK(registry.supernodes_for(at(peer), 1, no_hops, 10).size() == 1);
    REQUIRE(registry.supernodes().front().children == 10);

    registry.report({at(1), 1, 1e8, false}, 20);  // reports again without the operator's secret
    registry.elect(groups, 20, random);
    REQUIRE(registry.supernodes().size() == 1);
    CHECK(registry.supernodes().front().admission_limit == 3);
    CHECK(registry.supernodes().front().children == 3);
    std::size_t still_served = 0;
    for (std::uint32_t peer = 100; peer < 110; ++peer) still_served += registry.supernodes_for(at(peer), 1, no_hops, 21).size();
    CHECK(still_served == 3);  // the others wait for their re-home time, and find it full then
}

TEST_CASE("registry: an orphan is told when to come back, so it is re-homed within one interval of the loss") {
    supernode_registry_options options;
    options.election.peers_per_supernode = 10;
    options.election.min_uptime_s = 0;
    options.interval_s = 600;
    supernode_registry registry(options);
    std::mt19937_64 random(9);
    const std::vector<group_population> groups = {{1, 30}};
    for (std::uint32_t a = 1; a <= 3; ++a) {
        registry.report({at(a), 1, 1e6, false}, 0);
        registry.reachability(at(a), true, 0);
    }
    registry.elect(groups, 0, random);
    // Thirty children, each announcing every 600 s at its own phase.
    std::map<endpoint, std::uint32_t> next_announce;
    for (std::uint32_t peer = 100; peer < 130; ++peer) {
        registry.supernodes_for(at(peer), 1, no_hops, 0);
        next_announce[at(peer)] = 101 + (peer - 100) * 20;  // each within an interval of the loss at 100
    }
    registry.reachability(at(1), false, 100);  // killed: the connection back fails
    const auto change = registry.elect(groups, 100, random);
    REQUIRE(change.dropped == std::vector<endpoint>{at(1)});
    const auto orphaned = registry.rehoming().orphaned;
    REQUIRE(orphaned > 0);
    // Each child announces on its cycle, or earlier when the tracker said so.
    for (std::uint32_t now = 100; now <= 100 + 600; ++now) {
        for (auto& [peer, when] : next_announce) {
            if (when != now) continue;
            registry.supernodes_for(peer, 1, no_hops, now);
            const auto wait = registry.rehome_wait(peer, now);
            when = now + (wait > 0 ? wait : 600);
        }
    }
    const auto rehoming = registry.rehoming();
    CHECK(rehoming.rehomed == orphaned);
    CHECK(rehoming.waiting == 0);
    CHECK(rehoming.max_delay_s <= 600);
    CHECK(registry.max_load_seen() <= 1.0);
}

TEST_CASE("registry: a supernode's fellows are listed nearest first, never itself") {
    supernode_registry_options options;
    options.election.peers_per_supernode = 10;
    options.election.min_uptime_s = 0;
    supernode_registry registry(options);
    std::mt19937_64 random(5);
    const std::vector<group_population> groups = {{1, 20}, {2, 20}, {3, 20}};
    for (std::uint32_t a = 1; a <= 3; ++a) {
        registry.report({at(a), a, 1e6, false}, 0);
        registry.reachability(at(a), true, 0);
    }
    registry.report({at(11), 1, 1e6, false}, 0);
    registry.reachability(at(11), true, 0);
    registry.elect(groups, 0, random);
    REQUIRE(registry.supernodes().size() == 4);
    const auto hops_from_1 = [](std::uint32_t group) { return group == 3 ? 1u : 2u; };
    const auto fellows = registry.fellow_supernodes(at(1), 1, hops_from_1, 2);
    CHECK(fellows == std::vector<endpoint>{at(11), at(3)});  // its own AS, then the adjacent one
    CHECK(registry.fellow_supernodes(at(1), 1, hops_from_1, 10).size() == 3);
}

TEST_CASE("a large AS on a real routing table gets its supernodes per announced prefix, a small one per AS") {
    const auto& routing = testing::real_internet();
    // The AS with the most IPv4 prefixes in the RouteViews sample, and a small one.
    std::map<std::uint32_t, std::vector<proximity::ip_prefix>> prefixes_by_as;
    for (const auto& route : routing.prefixes().routes()) {
        if (route.prefix.network.is_v4() && route.prefix.length <= 24) prefixes_by_as[route.origins.front()].push_back(route.prefix);
    }
    std::uint32_t large = 0, small = 0;
    for (const auto& [asn, list] : prefixes_by_as) {
        if (large == 0 || list.size() > prefixes_by_as[large].size()) large = asn;
    }
    for (const auto& [asn, list] : prefixes_by_as) {
        if (asn != large && list.size() >= 2) small = asn;
    }
    REQUIRE(prefixes_by_as[large].size() >= 4);
    REQUIRE(small != 0);

    supernode_groups groups(1000);
    groups.update({{large, 4000}, {small, 300}});
    CHECK(groups.split(large));
    CHECK_FALSE(groups.split(small));
    // Peers on four prefixes of the large AS, as the tracker places them (longest match).
    std::map<std::pair<std::uint32_t, proximity::ip_prefix>, std::uint64_t> per_prefix;
    std::set<std::uint32_t> ids;
    for (std::size_t i = 0; i < 4; ++i) {
        const auto address = proximity::ip_address::v4(prefixes_by_as[large][i].network.v4_bits() + 1);
        const auto route = routing.prefixes().lookup(address);
        REQUIRE(route);
        REQUIRE(route->primary_origin() == large);
        const auto group = groups.group_of(large, route->prefix);
        CHECK(groups.as_of(group) == large);
        CHECK(group != large);
        CHECK(groups.group_of(large, route->prefix) == group);  // stable
        ids.insert(group);
        per_prefix[{large, route->prefix}] = 1000;
    }
    CHECK(ids.size() == 4);
    const auto small_address = proximity::ip_address::v4(prefixes_by_as[small][0].network.v4_bits() + 1);
    const auto small_route = routing.prefixes().lookup(small_address);
    REQUIRE(small_route);
    CHECK(groups.group_of(small_route->primary_origin(), small_route->prefix) == small_route->primary_origin());

    const auto populations = groups.populations({{large, 4000}, {small, 300}}, per_prefix);
    REQUIRE(populations.size() == 5);  // four prefixes and the small AS whole
    election_options options;
    options.peers_per_supernode = 300;
    options.min_uptime_s = 0;
    std::vector<supernode_candidate> pool;
    std::uint64_t id = 1;
    for (const auto& population : populations) {
        for (int c = 0; c < 6; ++c) pool.push_back({id++, population.group, 1e6, 10, true, false, false});
    }
    std::map<std::uint32_t, std::size_t> per_group;
    for (const auto& chosen : elect_supernodes(pool, populations, options)) ++per_group[chosen.group];
    for (const auto group : ids) CHECK(per_group[group] == supernode_target(1000, options));  // each prefix its own
    CHECK(per_group[small] == supernode_target(300, options));
}

TEST_CASE("reports alone cannot make the tracker keep more than a few candidates per address, or too many in all",
          "[supernodes]") {
    supernode_registry_options options;
    options.max_candidates_per_address = 4;
    options.max_candidates = 10;
    supernode_registry registry(options);
    // One address claiming 60,000 ports: four are kept, the rest refused.
    std::size_t kept = 0;
    for (std::uint32_t port = 1; port <= 60'000; ++port) {
        kept += registry.report({at(1, static_cast<std::uint16_t>(port)), 1, 1e9, false}, 0);
    }
    CHECK(kept == 4);
    CHECK(registry.candidate_count() == 4);
    // A known candidate is always heard again.
    CHECK(registry.report({at(1, 1), 1, 1e6, false}, 10));
    // Other addresses fill the rest, up to the cap in all.
    for (std::uint32_t address = 2; address <= 20; ++address) registry.report({at(address), 1, 1e6, false}, 0);
    CHECK(registry.candidate_count() == 10);
    CHECK_FALSE(registry.report({at(99), 1, 1e6, false}, 0));
}
