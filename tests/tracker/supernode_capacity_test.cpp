// What the election believes of a claimed capacity (issue 19): a claim counts up to a ceiling,
// and past a modest allowance only as far as the candidate's announces show it uploaded; honest
// candidates are elected as before; a flood of candidates at the registry's caps is still served.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "nearcast/tracker/supernode_registry.hpp"

using namespace nearcast;
using namespace nearcast::tracker;

namespace {

endpoint at(std::uint32_t address, std::uint16_t port = 6881) { return {proximity::ip_address::v4(address), port}; }

info_hash swarm(std::uint8_t n) {
    info_hash hash{};
    hash[0] = n;
    return hash;
}

// A candidate that reports `claimed` every half hour from 0 to `until`, reachable, and whose
// announces in two swarms say it uploaded `uploaded` bytes in all.
void candidate_for(supernode_registry& registry, std::uint32_t address, double claimed, std::uint64_t uploaded,
                   std::uint32_t until = 3600) {
    for (std::uint32_t t = 0; t <= until; t += 1800) registry.report({at(address), 1, claimed, false}, t);
    registry.reachability(at(address), true, 0);
    registry.observe_upload(at(address), swarm(1), uploaded / 2);
    registry.observe_upload(at(address), swarm(2), uploaded - uploaded / 2);
}

std::set<endpoint> elected(const supernode_registry& registry) {
    std::set<endpoint> out;
    for (const auto& view : registry.supernodes()) out.insert(view.where);
    return out;
}

}  // namespace

TEST_CASE("a claimed capacity counts up to the ceiling, and past the allowance only as far as uploads prove it",
          "[supernodes]") {
    const capacity_credit_options options;  // 12.5 MB/s ceiling, 1 MiB/s allowance, a minute's worth proves a rate
    CHECK(options.allowance >= election_options{}.min_upload_capacity);  // an unproven honest claim still qualifies
    CHECK(credited_capacity(800e3, 0, false, options) == 800e3);             // within the allowance: believed
    CHECK(credited_capacity(1e9, 0, false, options) == options.allowance);  // 1,000 times more, nothing shown
    CHECK(credited_capacity(5e6, 60 * 5'000'000ull, false, options) == 5e6);  // a minute's worth uploaded
    CHECK(credited_capacity(5e6, 60 * 2'000'000ull, false, options) == Approx(options.allowance + 2e6));
    CHECK(credited_capacity(1e12, UINT64_MAX, false, options) == options.ceiling);
    CHECK(credited_capacity(1e8, 0, true, options) == 1e8);  // an operator's server, registered with the secret
}

TEST_CASE("a candidate claiming 1,000 times the capacity does not win over honest ones beyond the bound",
          "[supernodes]") {
    supernode_registry_options options;
    options.election.peers_per_supernode = 100;  // 300 peers: 3 supernodes
    supernode_registry registry(options);
    const double allowance = options.capacity.allowance;
    // Five honest daemons claim 1.5 to 3.5 MB/s, and their announces show a minute's worth or more.
    for (std::uint32_t a = 1; a <= 5; ++a) {
        const double claimed = 1e6 + 5e5 * a;
        candidate_for(registry, a, claimed, static_cast<std::uint64_t>(claimed * 600));
        CHECK(registry.credited_capacity(at(a)) == claimed);
    }
    // The liar claims 1,000 times the best of them and uploads nothing.
    candidate_for(registry, 9, 3.5e9, 0);
    CHECK(registry.credited_capacity(at(9)) == allowance);

    std::mt19937_64 random(7);
    const std::vector<group_population> groups = {{1, 300}};
    registry.elect(groups, 3600, random);
    CHECK(elected(registry) == std::set<endpoint>{at(3), at(4), at(5)});

    SECTION("believed, it would have won") {
        std::vector<supernode_candidate> pool;
        for (std::uint32_t a = 1; a <= 5; ++a) pool.push_back({a, 1, 1e6 + 5e5 * a, 3600, true, false, false});
        pool.push_back({9, 1, 3.5e9, 3600, true, false, false});
        const auto believed = elect_supernodes(pool, groups, options.election);
        CHECK(std::any_of(believed.begin(), believed.end(), [](const auto& e) { return e.id == 9; }));
    }
    SECTION("unproven, it stands where an honest claim of the allowance stands: above smaller ones only") {
        supernode_registry small(options);
        for (std::uint32_t a = 1; a <= 3; ++a) candidate_for(small, a, 400e3, 400'000ull * 600);
        candidate_for(small, 9, 3.5e9, 0);
        small.elect(std::vector<group_population>{{1, 100}}, 3600, random);
        CHECK(elected(small) == std::set<endpoint>{at(9)});
    }
    SECTION("with faked upload counters it is still held to the ceiling, where an honest server of that rate beats it") {
        registry.observe_upload(at(9), swarm(3), 1ull << 50);
        CHECK(registry.credited_capacity(at(9)) == options.capacity.ceiling);
        // An honest daemon at the ceiling, heard from before the liar and as long: the tie goes
        // to the older candidate.
        supernode_registry fair(options);
        candidate_for(fair, 20, options.capacity.ceiling, static_cast<std::uint64_t>(options.capacity.ceiling * 600));
        candidate_for(fair, 9, 3.5e9, 1ull << 50);
        fair.elect(std::vector<group_population>{{1, 100}}, 3600, random);
        CHECK(elected(fair) == std::set<endpoint>{at(20)});
    }
}

TEST_CASE("uploads are counted per swarm from the candidates' counters, a new session included, others ignored",
          "[supernodes]") {
    supernode_registry_options options;
    options.max_swarms_per_candidate = 2;
    supernode_registry registry(options);
    registry.report({at(1), 1, 1e9, false}, 0);
    const double allowance = options.capacity.allowance, proof_s = options.capacity.proof_s;
    const auto proven = [&] { return registry.credited_capacity(at(1)) - allowance; };
    registry.observe_upload(at(1), swarm(1), 6'000'000);
    registry.observe_upload(at(1), swarm(1), 12'000'000);  // the same session: 6 MB more
    CHECK(proven() == Approx(12e6 / proof_s));
    registry.observe_upload(at(1), swarm(1), 3'000'000);   // a new session: its 3 MB are new
    registry.observe_upload(at(1), swarm(2), 3'000'000);
    registry.observe_upload(at(1), swarm(3), 90'000'000);  // a third swarm past the bound of 2: not followed
    CHECK(proven() == Approx(18e6 / proof_s));
    registry.observe_upload(at(2), swarm(1), 1ull << 40);  // no candidate there
    CHECK(registry.credited_capacity(at(2)) == 0);
}

TEST_CASE("honest candidates whose announces show what they claim are elected as if they were believed",
          "[supernodes]") {
    supernode_registry_options options;
    options.election.peers_per_supernode = 50;
    supernode_registry registry(options);
    std::mt19937_64 random(5);
    std::vector<supernode_candidate> believed;
    // 300 daemons in three groups, 300 kB/s to 12 MB/s, up for 1 to 6 hours, one in five unreachable.
    for (std::uint32_t a = 1; a <= 300; ++a) {
        const double claimed = std::uniform_real_distribution<double>(300e3, 12e6)(random);
        const std::uint32_t group = 1 + a % 3, up = 3600 * (1 + a % 6);
        const bool reachable = a % 5 != 0;
        for (std::uint32_t t = 21'600 - up; t <= 21'600; t += 1800) registry.report({at(a), group, claimed, false}, t);
        registry.reachability(at(a), reachable, 21'600);
        registry.observe_upload(at(a), swarm(1), static_cast<std::uint64_t>(claimed * 90));
        believed.push_back({a, group, claimed, static_cast<double>(up), reachable, false, false});
    }
    const std::vector<group_population> groups = {{1, 1000}, {2, 700}, {3, 400}};
    registry.elect(groups, 21'600, random);
    // Ids in the registry follow the order of first reports; rank the believed pool the same way.
    std::set<endpoint> want;
    for (const auto& e : elect_supernodes(believed, groups, options.election)) want.insert(at(static_cast<std::uint32_t>(e.id)));
    REQUIRE(want.size() == 20 + 14 + 8);
    CHECK(elected(registry) == want);
}

TEST_CASE("a flood of candidates at the registry's caps is kept to them and still answered", "[supernodes]") {
    supernode_registry_options options;  // 4 per address, 100,000 in all
    options.election.min_uptime_s = 0;
    supernode_registry registry(options);
    std::size_t kept = 0, refused = 0;
    // 25,000 addresses with 4 ports each fill the registry; a fifth port, or another address, is refused.
    for (std::uint32_t a = 1; a <= 25'000; ++a) {
        for (std::uint16_t port = 1; port <= 5; ++port) (registry.report({at(a, port), 1 + a % 5, 1e6, false}, 0) ? kept : refused)++;
    }
    CHECK(kept == 100'000);
    CHECK(refused == 25'000);
    CHECK_FALSE(registry.report({at(30'000), 1, 1e6, false}, 0));
    CHECK(registry.candidate_count() == 100'000);
    CHECK(registry.report({at(7, 1), 1, 2e6, false}, 10));  // a known one is heard again
    std::uint32_t per_group = 0;
    for (const auto& [group, count] : registry.candidates_per_group()) per_group += count;
    CHECK(per_group == 100'000);

    // The tracker checks some of them; the election runs over all and elects among the reachable.
    for (std::uint32_t a = 1; a <= 500; ++a) registry.reachability(at(a, 1), true, 10);
    CHECK(registry.due_for_check(10).size() == 100'000 - 500);
    std::vector<group_population> groups;
    for (std::uint32_t group = 1; group <= 5; ++group) groups.push_back({group, 20'000});
    std::mt19937_64 random(3);
    const auto change = registry.elect(groups, 20, random);
    CHECK(change.elected.size() == 5 * supernode_target(20'000, options.election));
    // Every peer still gets its two supernodes; a supernode is still found among them all.
    for (std::uint32_t peer = 1; peer <= 1000; ++peer) {
        CHECK(registry.supernodes_for(at(1'000'000 + peer), 1 + peer % 5, [](std::uint32_t) { return 1u; }, 30).size() == 2);
    }
    CHECK(registry.is_supernode(change.elected.front()));
    CHECK(registry.admission_limit(change.elected.front()) == options.election.admission_limit);
    // Silent for an interval, they go; the registry takes new ones again.
    registry.report({at(7, 1), 1, 2e6, false}, 1800);
    registry.elect(groups, 1811, random);
    CHECK(registry.candidate_count() == 1);
    CHECK(registry.report({at(30'000), 1, 1e6, false}, 1811));
    CHECK(registry.candidates_per_group().at(1) == 2);
}
