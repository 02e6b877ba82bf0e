// Figures against a CDN on the same arrivals: each divides a strategy's bytes or times by the
// origin_only run's for the same thing.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "nearcast/sim/economics.hpp"
#include "nearcast/sim/report.hpp"

using namespace nearcast::sim;

namespace {

strategy_result with_transit(strategy which, double origin, std::vector<std::pair<std::uint32_t, double>> transit_in) {
    strategy_result r;
    r.which = which;
    r.origin_bytes = origin;
    for (const auto& [asn, bytes] : transit_in) r.per_as.push_back({asn, 10, 0, bytes, 0});
    return r;
}

}  // namespace

TEST_CASE("origin savings divide by the CDN's origin bytes, not by everything received") {
    auto cdn = with_transit(strategy::origin_only, 2000, {{1, 1000}, {2, 1000}});
    auto ours = with_transit(strategy::nearcast, 1000, {{1, 700}, {2, 900}});
    // Supernodes' cache fills: received bytes that inflate the old share, not the savings.
    ours.peer_intra_bytes = 3000;
    const auto against = compare_with_cdn(ours, cdn);
    CHECK(against.origin_savings == Approx(0.5));
    CHECK(ours.peer_share_of_received() == Approx(0.75));  // 3000 of 4000: flattering, and named for it
    CHECK(against.transit_ratio_total == Approx(0.8));
    CHECK(against.transit_ratio_worst_as == Approx(0.9));
    CHECK(against.worst_asn == 2);
}

TEST_CASE("an AS that takes more transit than with a CDN is the worst, whatever the total says") {
    const auto cdn = with_transit(strategy::origin_only, 3000, {{1, 1000}, {2, 1000}, {3, 1000}});
    const auto ours = with_transit(strategy::nearcast, 900, {{1, 300}, {2, 300}, {3, 1400}});
    const auto against = compare_with_cdn(ours, cdn);
    CHECK(against.transit_ratio_total == Approx(2000.0 / 3000));
    CHECK(against.transit_ratio_worst_as == Approx(1.4));
    CHECK(against.worst_asn == 3);
    CHECK(against.origin_savings == Approx(0.7));
}

TEST_CASE("the transit floor: each AS's first requests over the CDN's transit into it") {
    const auto cdn = with_transit(strategy::origin_only, 3000, {{1, 2000}, {2, 1000}});
    auto ours = with_transit(strategy::nearcast, 900, {{1, 900}, {2, 800}});
    ours.per_as[0].first_request_bytes = 500;   // four requests of one item: one had to come in
    ours.per_as[1].first_request_bytes = 1000;  // every request a first one: nothing to share
    const auto against = compare_with_cdn(ours, cdn);
    CHECK(against.transit_floor_total == Approx(1500.0 / 3000));
    CHECK(against.transit_floor_worst_as == Approx(1.0));
}

TEST_CASE("quality ratios: 1 when both are 0, none when only the CDN's is 0") {
    auto cdn = with_transit(strategy::origin_only, 10, {{1, 10}});
    auto ours = with_transit(strategy::nearcast, 5, {{1, 5}});
    cdn.download_time_s.p90 = 100;
    ours.download_time_s.p90 = 104;
    CHECK(compare_with_cdn(ours, cdn).download_p90_ratio.value() == Approx(1.04));
    CHECK(compare_with_cdn(ours, cdn).stall_ratio.value() == 1);  // no stalls on either side
    ours.stall_ratio = 0.01;
    CHECK_FALSE(compare_with_cdn(ours, cdn).stall_ratio.has_value());  // worse than none: no ratio says it
    cdn.stall_ratio = 0.02;
    CHECK(compare_with_cdn(ours, cdn).stall_ratio.value() == Approx(0.5));
}

TEST_CASE("a stream that plays to its end without waiting is not counted as stalled") {
    // One origin with room for everyone: nothing ever waits, so no stream stalls (every stream
    // counted one stall, at its last tick, when playing ran past the end of the item).
    scenario config;
    config.peers = 2000;
    config.items = 5;
    config.duration_h = 4;
    config.as_count = 4;
    config.stream_share = 1.0;
    config.seeder_capacity_mbps = 100'000;
    config.strategies = {strategy::origin_only};
    const topology world = build_topology(config);
    const population people = build_population(config, world);
    const auto r = simulate(config, world, people, strategy::origin_only);
    REQUIRE(r.streams_completed > 100);
    CHECK(r.streams_with_stall == 0);
    CHECK(r.stall_ratio == 0);
}

namespace {

nlohmann::json run_tool(const std::string& settings, const std::filesystem::path& out) {
    std::filesystem::remove_all(out);
    const std::string command = std::string(NEARCAST_SIM_TOOL) + " -q --set workload.peers=1500 --set workload.items=30 " +
                                "--set run.duration_h=2 " + settings + " --out " + out.string() + " >/dev/null 2>&1";
    const int status = std::system(command.c_str());
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    std::ifstream in(out / "results.json");
    auto document = nlohmann::json::parse(in);
    std::filesystem::remove_all(out);
    return document;
}

}  // namespace

TEST_CASE("nearcast-sim runs origin_only beside a strategy as the anchor, and reports against it") {
    const auto document = run_tool("--set run.strategies=nearcast", "/tmp/nearcast-sim-economics-1");
    const auto& results = document.at("results");
    REQUIRE(results.size() == 2);
    CHECK(results[0].at("strategy") == "origin_only");
    const auto& nearcast = results[1];
    CHECK(nearcast.at("strategy") == "nearcast");
    const double savings = nearcast.at("versus_origin_only").at("origin_savings");
    const double expected = 1 - nearcast.at("bytes").at("origin").get<double>() / results[0].at("bytes").at("origin").get<double>();
    CHECK(savings == Approx(expected));
    CHECK(savings > 0);
    CHECK(nearcast.at("versus_origin_only").at("transit_ratio_total").get<double>() > 0);
    // No strategy beats the floor (every item entering each AS once), and it is not trivial:
    // some items were asked for more than once in an AS.
    for (const auto& figure : {"total", "worst_as"}) {
        const double floor = nearcast.at("versus_origin_only").at(std::string("transit_floor_") + figure);
        CHECK(floor > 0);
        CHECK(floor <= nearcast.at("versus_origin_only").at(std::string("transit_ratio_") + figure).get<double>() + 1e-9);
    }
    CHECK(nearcast.at("versus_origin_only").at("transit_floor_total").get<double>() < 1);
    CHECK(nearcast.contains("peer_share_of_received"));
    CHECK_FALSE(nearcast.contains("origin_offload"));
    // A timing run leaves the anchor out and says nothing about savings.
    const auto alone = run_tool("--set run.strategies=nearcast --set run.anchor=false", "/tmp/nearcast-sim-economics-2");
    REQUIRE(alone.at("results").size() == 1);
    CHECK(alone.at("results")[0].at("versus_origin_only").is_null());
}

TEST_CASE("what supernodes fetch into their caches is counted, and what no child read of it") {
    // The supernodes pre-fetch what the tracker says is popular in their AS (the daemon's
    // plan): most of it is read by children, some never is, and that is the waste.
    const auto document = run_tool("--set run.strategies=nearcast --set run.anchor=false", "/tmp/nearcast-sim-economics-3");
    const auto& supernodes = document.at("results")[0].at("supernodes");
    const double fill = supernodes.at("cache_fill_bytes");
    const double unread = supernodes.at("cache_fill_unread_bytes");
    const double received = document.at("results")[0].at("bytes").at("received");
    CHECK(fill > 0);
    CHECK(fill < received);
    CHECK(unread >= 0);
    CHECK(unread < fill);
    CHECK(supernodes.at("prefetch_waste_share").get<double>() == Approx(unread / fill));
}
