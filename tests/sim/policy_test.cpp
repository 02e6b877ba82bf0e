// The simulator's pure parts: max-min sharing, scenarios, topology; and the tracker's
// supernode election it runs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>

#include "nearcast/peer/ranking.hpp"
#include "nearcast/sim/flow_allocation.hpp"
#include "nearcast/sim/scenario.hpp"
#include "nearcast/sim/topology.hpp"
#include "nearcast/tracker/supernodes.hpp"
#include "routing_fixtures.hpp"

using namespace nearcast;
using namespace nearcast::sim;

namespace {

flow_demand using_resources(std::initializer_list<std::uint32_t> resources,
                            double cap = std::numeric_limits<double>::infinity()) {
    flow_demand demand;
    for (const auto r : resources) demand.use(r);
    demand.cap = cap;
    return demand;
}

std::vector<double> share(const std::vector<double>& capacities, const std::vector<flow_demand>& flows) {
    std::vector<double> rates(flows.size());
    allocation_workspace work;
    max_min_rates(capacities, flows, rates, work);
    return rates;
}

std::string temporary_file(const std::string& name, const std::string& text) {
    const std::string path = "/tmp/nearcast-sim-test-" + name;
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("max-min sharing: the textbook example of two links and three flows") {
    // Link A (10) carries flows 0 and 1, link B (4) carries flows 1 and 2: B is the bottleneck
    // of flows 1 and 2 (2 each), and flow 0 takes what A has left (8).
    const auto rates = share({10, 4}, {using_resources({0}), using_resources({0, 1}), using_resources({1})});
    CHECK(rates[0] == Approx(8));
    CHECK(rates[1] == Approx(2));
    CHECK(rates[2] == Approx(2));
}

TEST_CASE("max-min sharing: a flow's own cap frees capacity for the others") {
    const auto rates = share({12}, {using_resources({0}, 1), using_resources({0}), using_resources({0})});
    CHECK(rates[0] == Approx(1));
    CHECK(rates[1] == Approx(5.5));
    CHECK(rates[2] == Approx(5.5));
}

TEST_CASE("max-min sharing: uploader and downloader capacities both bound a flow") {
    // A 1 MB/s uploader serves two downloaders, one of which can take only 0.2 MB/s.
    const auto rates = share({1.0, 0.2, 10.0}, {using_resources({0, 1}), using_resources({0, 2})});
    CHECK(rates[0] == Approx(0.2));
    CHECK(rates[1] == Approx(0.8));
    double total = rates[0] + rates[1];
    CHECK(total == Approx(1.0));
}

TEST_CASE("max-min sharing: capped flows freeze in the order of their caps, ties by index") {
    // Enough capped flows that they are sorted by passes over their bits, with caps that tie,
    // a negative one and both zeros: the rates must be those of freezing them one by one in
    // (cap, index) order, to the bit.
    const double caps_cycle[] = {3.5, 1.25, -2.0, 0.0, -0.0, 1.25, 1e9, 7.0, 3.5, 0.5, 2.0};
    const double capacity = 120;
    std::vector<flow_demand> flows;
    for (std::size_t f = 0; f < 150; ++f) flows.push_back(using_resources({0}, caps_cycle[(f * 7) % std::size(caps_cycle)]));
    for (std::size_t f = 0; f < 5; ++f) flows.push_back(using_resources({0}));
    const auto rates = share({capacity}, flows);

    std::vector<std::size_t> order;
    for (std::size_t f = 0; f < 150; ++f) order.push_back(f);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return flows[a].cap < flows[b].cap; });
    std::vector<double> expected(flows.size());
    double remaining = capacity;
    std::size_t users = flows.size();
    std::size_t next = 0;
    for (; next < order.size(); ++next) {
        const double fair = std::max(remaining, 0.0) / static_cast<double>(users);
        if (flows[order[next]].cap > fair) break;
        expected[order[next]] = std::max(flows[order[next]].cap, 0.0);
        remaining -= expected[order[next]];
        --users;
    }
    const double fair = std::max(remaining, 0.0) / static_cast<double>(users);
    for (; next < order.size(); ++next) expected[order[next]] = fair;
    for (std::size_t f = 150; f < flows.size(); ++f) expected[f] = fair;
    CHECK(rates == expected);
}

TEST_CASE("max-min sharing: on a large random network every flow is capped or bottlenecked, and no resource is overfull") {
    // The definition of max-min fairness, checked on thousands of flows over hundreds of
    // resources (the heap of resources by share then has many levels and many stale entries): a
    // flow's rate can rise only by lowering a flow's that is no faster, so each flow is at its
    // own cap or crosses a full resource on which no flow is faster than it.
    std::mt19937_64 random(17);
    const std::size_t resource_count = 400;
    std::vector<double> capacities;
    for (std::size_t r = 0; r < resource_count; ++r) capacities.push_back(std::uniform_real_distribution<double>(1, 1000)(random));
    std::vector<flow_demand> flows;
    for (std::size_t f = 0; f < 5000; ++f) {
        flow_demand demand;
        const auto uses = 1 + random() % flow_demand::max_resources;
        for (std::size_t i = 0; i < uses; ++i) {
            const auto r = static_cast<std::uint32_t>(random() % resource_count);
            if (std::find(demand.resources, demand.resources + demand.resource_count, r) == demand.resources + demand.resource_count) demand.use(r);
        }
        if (random() % 3 == 0) demand.cap = std::uniform_real_distribution<double>(0, 2)(random);
        flows.push_back(demand);
    }
    const auto rates = share(capacities, flows);
    std::vector<double> used(resource_count, 0), fastest(resource_count, 0);
    for (std::size_t f = 0; f < flows.size(); ++f) {
        CHECK(rates[f] >= 0);
        CHECK(rates[f] <= flows[f].cap);
        for (std::uint8_t i = 0; i < flows[f].resource_count; ++i) {
            used[flows[f].resources[i]] += rates[f];
            fastest[flows[f].resources[i]] = std::max(fastest[flows[f].resources[i]], rates[f]);
        }
    }
    for (std::size_t r = 0; r < resource_count; ++r) CHECK(used[r] <= capacities[r] * (1 + 1e-9));
    std::size_t at_cap = 0, bottlenecked = 0;
    for (std::size_t f = 0; f < flows.size(); ++f) {
        if (rates[f] == flows[f].cap) {
            ++at_cap;
            continue;
        }
        const bool has_bottleneck = std::any_of(flows[f].resources, flows[f].resources + flows[f].resource_count, [&](std::uint32_t r) {
            return used[r] >= capacities[r] * (1 - 1e-9) && rates[f] >= fastest[r] * (1 - 1e-9);
        });
        INFO("flow " << f << " at " << rates[f]);
        CHECK(has_bottleneck);
        bottlenecked += has_bottleneck;
    }
    // Both kinds occur: the instance exercises caps and shared bottlenecks.
    CHECK(at_cap > 100);
    CHECK(bottlenecked > 100);
}

TEST_CASE("a scenario file sets keys by section, and bad input names the file and the key") {
    const auto ini = temporary_file("good.ini", "[workload]\npeers = 1234\nzipf_exponent = 1.1\n[run]\nstrategies = random,nearcast\n");
    const auto loaded = load_scenario(ini);
    CHECK(loaded.peers == 1234);
    CHECK(loaded.zipf_exponent == Approx(1.1));
    CHECK(loaded.strategies == std::vector<strategy>{strategy::random, strategy::nearcast});

    const auto json = temporary_file("good.json", R"({"workload": {"peers": 99, "classes": "a:1:1:10"}, "faults": {"list": ["supernodes:1:0.3", "as:2:64512"]}})");
    const auto from_json = load_scenario(json);
    CHECK(from_json.peers == 99);
    REQUIRE(from_json.classes.size() == 1);
    REQUIRE(from_json.faults.size() == 2);
    CHECK(from_json.faults[1].kind == fault_kind::as);
    CHECK(from_json.faults[1].asn == 64512);

    const auto unknown = temporary_file("unknown.ini", "[workload]\npeeers = 10\n");
    CHECK_THROWS_WITH(load_scenario(unknown), Catch::Contains(unknown) && Catch::Contains("workload.peeers"));
    const auto bad_value = temporary_file("bad.ini", "[workload]\npeers = many\n");
    CHECK_THROWS_WITH(load_scenario(bad_value), Catch::Contains("workload.peers") && Catch::Contains("many"));
    const auto broken = temporary_file("broken.json", "{\"workload\": {\"peers\": ");
    CHECK_THROWS_WITH(load_scenario(broken), Catch::Contains("not valid JSON"));
    CHECK_THROWS_WITH(load_scenario("/nonexistent/scenario.ini"), Catch::Contains("cannot open"));
    const auto contradiction = temporary_file("share.ini", "[workload]\nstream_share = 1.5\n");
    CHECK_THROWS_AS(load_scenario(contradiction), scenario_error);

    scenario overridden;
    apply_override(overridden, "workload.items=5");
    CHECK(overridden.items == 5);
    CHECK_THROWS_WITH(apply_override(overridden, "items"), Catch::Contains("KEY=VALUE"));
    CHECK_THROWS_WITH(apply_override(overridden, "run.strategies=fastest"), Catch::Contains("fastest"));
    CHECK_THROWS_WITH(apply_override(overridden, "faults.list=meteor:1:1"), Catch::Contains("meteor"));
    // describe() writes what load reads.
    const auto round_trip = temporary_file("round.ini", describe(from_json));
    CHECK(describe(load_scenario(round_trip)) == describe(from_json));
}

TEST_CASE("a scenario refuses numbers that are not finite, too large for their key or for a double") {
    // What fuzz_scenario checks: each of these was accepted, and the JSON number too large for a
    // double (found by the fuzzer) threw past scenario_error, out of nearcast-sim.
    scenario value;
    CHECK_THROWS_WITH(apply_override(value, "run.tick_s=nan"), Catch::Contains("run.tick_s") && Catch::Contains("finite"));
    CHECK_THROWS_WITH(apply_override(value, "run.duration_h=inf"), Catch::Contains("finite"));
    CHECK_THROWS_WITH(apply_override(value, "workload.classes=dsl:nan:1:16"), Catch::Contains("finite"));
    CHECK_THROWS_WITH(apply_override(value, "workload.flash_crowd=4294967296"),
                      Catch::Contains("workload.flash_crowd") && Catch::Contains("too large"));
    CHECK_THROWS_WITH(apply_override(value, "faults.list=as:1:4294967297"), Catch::Contains("32 bits"));
    CHECK(value.flash_crowd == 0);
    CHECK(value.faults.empty());
    apply_override(value, "topology.placement=4200000000:inf,4200000001:1");
    value.as_count = 4;
    CHECK_THROWS_WITH(build_topology(value), Catch::Contains("topology.placement") && Catch::Contains("inf"));
    const auto huge = temporary_file("huge.json", R"({"workload": {"peers": 1e1800}})");
    CHECK_THROWS_WITH(load_scenario(huge), Catch::Contains(huge) && Catch::Contains("not valid JSON"));
}

TEST_CASE("a scenario file refuses a key set twice, naming the file and both lines") {
    const auto ini = temporary_file("twice.ini", "workload.peers = 100\n# a comment\nworkload.peers = 200\n");
    CHECK_THROWS_WITH(load_scenario(ini), Catch::Contains(ini + ":3: 'workload.peers' is set again (first on line 1)"));
    // The same key through a section and through its full name.
    const auto sections = temporary_file("twice-section.ini", "[workload]\npeers = 100\n[run]\nseed = 2\n[]\nworkload.peers = 5\n");
    CHECK_THROWS_WITH(load_scenario(sections), Catch::Contains(sections + ":6: 'workload.peers' is set again (first on line 2)"));
    const auto json = temporary_file("twice.json", "{\"workload\": {\n  \"peers\": 100,\n  \"items\": 5,\n  \"peers\": 200\n}}\n");
    CHECK_THROWS_WITH(load_scenario(json), Catch::Contains(json + ":4: 'workload.peers' is set again (first on line 2)"));
    const auto section_twice = temporary_file("twice-section.json", "{\"run\": {\"seed\": 2},\n \"run\": {\"seed\": 3}}");
    CHECK_THROWS_WITH(load_scenario(section_twice), Catch::Contains(section_twice + ":2: 'run' is set again (first on line 1)"));
    // The same name in two sections is two keys.
    const auto distinct = temporary_file("distinct.json", R"({"workload": {"peers": 7}, "origin": {"seeders": 3}})");
    CHECK(load_scenario(distinct).peers == 7);
}

TEST_CASE("scenario errors name the file and line of the key, or the --set that gave it") {
    const auto unknown = temporary_file("typo.ini", "[workload]\n\npeeers = 10\n");
    CHECK_THROWS_WITH(load_scenario(unknown), Catch::StartsWith(unknown + ":3: unknown key 'workload.peeers'"));
    const auto bad_value = temporary_file("bad-line.ini", "[workload]\npeers = many\n");
    CHECK_THROWS_WITH(load_scenario(bad_value), Catch::StartsWith(bad_value + ":2: workload.peers: ") && Catch::Contains("many"));
    const auto range = temporary_file("range.ini", "[run]\nseed = 3\n[workload]\nzipf_exponent = -1\n");
    CHECK_THROWS_WITH(load_scenario(range), Catch::Equals(range + ":4: workload.zipf_exponent must be 0 or more"));
    const auto json = temporary_file("range.json", "{\"workload\": {\"peers\": 10},\n \"run\": {\"seed\": 1,\n  \"tick_s\": 0}}");
    CHECK_THROWS_WITH(load_scenario(json), Catch::Equals(json + ":3: run.tick_s must be in (0, 60]"));
    const auto json_typo = temporary_file("typo.json", "{\"workload\":\n {\"peeers\": 10}}");
    CHECK_THROWS_WITH(load_scenario(json_typo), Catch::StartsWith(json_typo + ":2: unknown key 'workload.peeers'"));
    const auto share = temporary_file("share-line.ini", "[workload]\nstream_share = 0.5\ndaemon_share = 1.5\n");
    CHECK_THROWS_WITH(load_scenario(share), Catch::Equals(share + ":3: workload.daemon_share must be in [0, 1]"));

    // A key given again with --set is named by the --set.
    scenario value = load_scenario(temporary_file("fine.ini", "[workload]\nzipf_exponent = 1\n"));
    CHECK(value.origins.at("workload.zipf_exponent") == "/tmp/nearcast-sim-test-fine.ini:2");
    apply_override(value, "workload.zipf_exponent=-0.5");
    CHECK_THROWS_WITH(validate(value),
                      Catch::Equals("--set workload.zipf_exponent=-0.5: workload.zipf_exponent must be 0 or more"));
    // Two keys that contradict: the one set is named.
    scenario crowd;
    apply_override(crowd, "workload.flash_crowd=20000");
    CHECK_THROWS_WITH(validate(crowd), Catch::StartsWith("--set workload.flash_crowd=20000: workload.flash_crowd is larger"));
}

TEST_CASE("keys whose memory grows with them have upper bounds, refused with the key and the bound") {
    scenario value;
    apply_override(value, "workload.peers=99999999999");
    CHECK_THROWS_WITH(validate(value), Catch::Contains("workload.peers must be at most 100000000"));
    value = scenario{};
    apply_override(value, "run.duration_h=99999999999");
    CHECK_THROWS_WITH(validate(value), Catch::Contains("run.duration_h must be at most 87600"));
    value = scenario{};
    apply_override(value, "workload.items=4000000000");
    CHECK_THROWS_WITH(validate(value), Catch::Contains("workload.items must be at most 10000000"));
    value = scenario{};
    apply_override(value, "origin.seeders=4000000000");
    CHECK_THROWS_WITH(validate(value), Catch::Contains("origin.seeders must be at most 100000"));
    // The bounds themselves are accepted.
    value = scenario{};
    apply_override(value, "workload.peers=100000000");
    apply_override(value, "run.duration_h=87600");
    apply_override(value, "workload.items=10000000");
    apply_override(value, "origin.seeders=100000");
    CHECK_NOTHROW(validate(value));
}

TEST_CASE("the synthetic Internet: every AS reachable from every other, addresses map back") {
    scenario config;
    config.as_count = 30;
    const auto world = build_topology(config);
    REQUIRE(world.ases.size() == 30);
    const auto& graph = world.routing.graph();
    for (const auto& as : world.ases) {
        CHECK(graph.hops(as.asn, world.ases.front().asn, 6).has_value());
        CHECK(graph.hops(as.asn, world.origin_asn, 6).has_value());
    }
    std::mt19937_64 random(7);
    for (std::size_t a = 0; a < world.ases.size(); ++a) {
        const auto address = address_in(world, a, random);
        CHECK(world.routing.prefixes().origin_of(proximity::ip_address::v4(address)) == world.ases[a].asn);
    }
    // The largest AS gets the most peers.
    CHECK(world.ases.front().weight > world.ases.back().weight);
}

TEST_CASE("a topology from real BGP data places peers in its largest ASes") {
    scenario config;
    config.topology = testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz");
    config.as_count = 25;
    const auto world = build_topology(config);
    REQUIRE(world.ases.size() == 25);
    CHECK(world.origin_asn != 0);
    std::mt19937_64 random(3);
    for (std::size_t a = 0; a < world.ases.size(); ++a) {
        CHECK(world.routing.prefixes().origin_of(proximity::ip_address::v4(address_in(world, a, random))) ==
              world.ases[a].asn);
    }
    config.topology = "/nonexistent/rib.mrt";
    CHECK_THROWS_WITH(build_topology(config), Catch::Contains("/nonexistent/rib.mrt"));
    config.topology = "synthetic";
    config.placement = "4200000003:2,4200000005:1";
    const auto placed = build_topology(config);
    REQUIRE(placed.ases.size() == 2);
    CHECK(placed.ases[0].weight == Approx(2.0 / 3));
    config.placement = "64999:1";
    CHECK_THROWS_WITH(build_topology(config), Catch::Contains("AS64999"));
}

TEST_CASE("supernode election: the target ratio per AS, capacity and uptime preferred, never the unreachable") {
    tracker::election_options options;
    options.peers_per_supernode = 100;
    std::vector<tracker::supernode_candidate> candidates;
    for (std::uint64_t i = 0; i < 40; ++i) {
        // Group 1: 1,000 peers; candidates with rising capacity; every fifth unreachable.
        candidates.push_back({i, 1, static_cast<double>(i + 1) * 512.0 * 1024, 86400, i % 5 != 4, false, false});
    }
    candidates.push_back({100, 2, 10e6, 86400, true, false, false});   // group 2: 30 peers
    candidates.push_back({200, 3, 10e6, 86400, true, false, false});   // group 3: 5 peers, too small
    candidates.push_back({300, 1, 100e6, 86400, false, false, false});  // the best, but unreachable
    const std::vector<tracker::group_population> groups = {{1, 1000}, {2, 30}, {3, 5}};
    const auto elected = tracker::elect_supernodes(candidates, groups, options);

    std::size_t in_group_1 = 0;
    for (const auto& chosen : elected) {
        CHECK(chosen.id != 300);
        CHECK(chosen.id % 5 != 4);  // unreachable ones never
        if (chosen.group == 1) {
            ++in_group_1;
            CHECK(chosen.id >= 25);  // the ten largest capacities among the reachable
        }
        CHECK(chosen.group != 3);
    }
    CHECK(in_group_1 == 10);  // 1,000 peers at 1:100
    CHECK(std::count_if(elected.begin(), elected.end(), [](const auto& e) { return e.group == 2; }) == 1);

    SECTION("hysteresis: an incumbent keeps its role against a slightly better challenger") {
        std::vector<tracker::supernode_candidate> pair = {{1, 1, 1e6, 86400, true, true, false},
                                                          {2, 1, 1.2e6, 86400, true, false, false}};
        const std::vector<tracker::group_population> one = {{1, 100}};
        const auto kept = tracker::elect_supernodes(pair, one, options);
        REQUIRE(kept.size() == 1);
        CHECK(kept[0].id == 1);
        pair[1].upload_capacity = 3e6;  // clearly better: takes over
        const auto taken = tracker::elect_supernodes(pair, one, options);
        REQUIRE(taken.size() == 1);
        CHECK(taken[0].id == 2);
        // An incumbent whose capacity dips a little below the threshold stays eligible.
        pair[0].upload_capacity = options.min_upload_capacity * 0.9;
        pair[1].reachable = false;
        CHECK(tracker::elect_supernodes(pair, one, options).size() == 1);
    }
    SECTION("an operator's server is always a supernode, with the larger admission limit") {
        std::vector<tracker::supernode_candidate> with_server = candidates;
        with_server.push_back({999, 3, 1e9, 10, true, false, true});
        const auto result = tracker::elect_supernodes(with_server, groups, options);
        const auto server = std::find_if(result.begin(), result.end(), [](const auto& e) { return e.id == 999; });
        REQUIRE(server != result.end());
        CHECK(server->admission_limit == options.operated_admission_limit);
    }
}

TEST_CASE("supernode assignment: nearest first, least loaded, never past the admission limit") {
    const std::vector<tracker::supernode_load> loads = {
        {1, 1, 0, 50, 50},   // full
        {2, 1, 0, 10, 50},
        {3, 1, 0, 5, 50},
        {4, 2, 1, 0, 50},    // an adjacent AS, empty
    };
    CHECK(tracker::assign_supernodes(loads, 2) == std::vector<std::uint64_t>{3, 2});
    CHECK(tracker::assign_supernodes(loads, 3) == std::vector<std::uint64_t>{3, 2, 4});
    const std::vector<tracker::supernode_load> all_full = {{1, 1, 0, 50, 50}, {2, 1, 0, 7, 7}};
    CHECK(tracker::assign_supernodes(all_full, 2).empty());  // the origin is the floor
}

TEST_CASE("the simulator's origin deference starts from the peer's own default") {
    CHECK(scenario{}.defer_origin_at == peer::origin_deference{}.hold_at);
    scenario changed;
    apply_override(changed, "peer.defer_origin_at=0");
    CHECK(changed.defer_origin_at == 0);
}
