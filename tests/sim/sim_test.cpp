// The simulator: determinism, conservation, the client-server formula, the Qiu-Srikant fluid
// model, and strategies ranking by locality.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "nearcast/sim/report.hpp"
#include "nearcast/sim/simulation.hpp"

using namespace nearcast::sim;

namespace {

// A few thousand peers on the synthetic Internet, a handful of popular items, six hours.
scenario small_scenario() {
    scenario config;
    config.peers = 4000;
    config.items = 20;
    config.duration_h = 6;
    config.sessions_per_peer = 4;
    config.seed_time_s = 1800;
    config.as_count = 10;
    return config;
}

run_summary run_all(const scenario& config) {
    const topology world = build_topology(config);
    const population people = build_population(config, world);
    run_summary run;
    run.topology = world.description;
    run.peers = config.peers;
    run.ases = static_cast<std::uint32_t>(world.ases.size());
    for (const auto which : config.strategies) run.results.push_back(simulate(config, world, people, which));
    return run;
}

const strategy_result& of(const run_summary& run, strategy which) {
    for (const auto& r : run.results) {
        if (r.which == which) return r;
    }
    FAIL("no result for " << to_string(which));
    throw;
}

// One item, everyone downloads (no streams), a single capacity class.
scenario one_item(double size_mb, const std::string& classes) {
    scenario config;
    config.items = 1;
    config.item_size_mb = size_mb;
    config.item_size_spread = 0;
    config.stream_share = 0;
    config.daily_cycle = 0;
    set_value(config, "workload.classes", classes, "test");
    return config;
}

// `peers` peers of one capacity class ask for one 100 MB item at once from one 100 Mbit/s
// origin, and nothing else happens: the client-server setting.
scenario flash_crowd_from_origin(std::uint32_t peers, const std::string& classes) {
    scenario config = one_item(100, classes);
    config.peers = peers;
    config.flash_crowd = peers;
    config.sessions_per_peer = 0;
    config.seeders = 1;
    config.seeder_capacity_mbps = 100;
    config.duration_h = 1;
    config.strategies = {strategy::origin_only};
    return config;
}

// The fluid model's setting: one 100 MB item, one arrival a second from 100,000 peers, seeds
// staying `seed_time_s` on average, one origin, and every peer free to connect to every other.
scenario steady_swarm(const std::string& classes, double hours, double seed_time_s, double origin_mbps) {
    scenario config = one_item(100, classes);
    config.peers = 100'000;
    config.sessions_per_peer = 0.864;  // 100,000 x 0.864 / 86,400 s = one arrival a second
    config.duration_h = hours;
    config.seed_time_s = seed_time_s;
    config.seeders = 1;
    config.seeder_capacity_mbps = origin_mbps;
    config.numwant = 80;
    config.max_connections = 80;
    config.strategies = {strategy::random};
    return config;
}

}  // namespace

TEST_CASE("the same scenario and seed give byte-identical results; another seed does not") {
    scenario config = small_scenario();
    config.faults = {{fault_kind::supernodes, 3, 0.3, 0}};
    const auto first = results_json(config, run_all(config));
    const auto second = results_json(config, run_all(config));
    CHECK(first == second);
    config.seed = 2;
    CHECK(results_json(config, run_all(config)) != first);
}

TEST_CASE("bytes are conserved and every completed download got every byte") {
    const scenario config = small_scenario();
    const auto run = run_all(config);
    for (const auto& r : run.results) {
        INFO(to_string(r.which));
        CHECK(r.completed_short == 0);
        CHECK(r.downloads_completed > 1000);
        CHECK(r.bytes_sent == Approx(r.bytes_received).epsilon(1e-12));
        CHECK(r.total_bytes() == Approx(r.bytes_sent).epsilon(1e-9));
        // Every completed download and stream is a whole item: the bytes delivered are at
        // least the completed items' bytes (the rest went to unfinished sessions and caches).
        CHECK(r.total_bytes() >= static_cast<double>(r.downloads_completed) * config.item_size_mb * 1e6 * 0.5);
    }
}

TEST_CASE("one origin serving a flash crowd matches the client-server formula N*S/C") {
    // 100 peers ask for one 100 MB item at once from one 100 Mbit/s origin; no peer uploads.
    const scenario config = flash_crowd_from_origin(100, "home:1:0:1000");
    const auto run = run_all(config);
    const auto& r = run.results.front();
    const double expected = 100 * 100e6 / (100e6 / 8);  // 800 s
    REQUIRE(r.downloads_completed == 100);
    // Connections start carrying data at the next tick, so the tolerance is one tick.
    CHECK(std::abs(r.download_time_s.p50 - expected) <= config.tick_s + 1e-6);
    CHECK(std::abs(r.download_time_s.max - expected) <= config.tick_s + 1e-6);

    SECTION("and the downloader's own capacity when that is smaller: S/D") {
        const scenario slow = flash_crowd_from_origin(10, "dsl:1:0:2");  // 2 Mbit/s down: 10 x 2 < 100
        const auto slow_run = run_all(slow);
        CHECK(std::abs(slow_run.results.front().download_time_s.p50 - 100e6 / (2e6 / 8)) <= slow.tick_s + 1e-6);
    }
}

TEST_CASE("a BitTorrent swarm in steady state downloads in the time of Qiu and Srikant's fluid model") {
    // Qiu and Srikant, "Modeling and performance analysis of BitTorrent-like peer-to-peer
    // networks", SIGCOMM 2004: with arrivals at rate lambda, upload mu (files/s), seeds leaving
    // at rate gamma, no aborts, download not the bottleneck and gamma > mu, the steady state
    // has y = lambda/gamma seeds and a mean download time T = (1/eta)(1/mu - 1/gamma), with the
    // sharing efficiency eta close to 1 when files have many pieces.
    //
    // Here: 100 MB at 1 MB/s up (1/mu = 100 s), seeds stay 40 s on average (1/gamma = 40 s),
    // one arrival a second: T = 60 s. Every peer may connect to every other (the model has no
    // neighbour limit). The tolerance, 10%, covers what the model leaves out: the warm-up of
    // the first minutes (the origin's one seed serves the first peers alone), a leecher
    // sharing only once it holds a piece the other lacks, and the tick a new
    // connection waits before it carries data.
    const scenario config = steady_swarm("home:1:8:1000", 3, 40, 8);
    const auto run = run_all(config);
    const auto& r = run.results.front();
    const double model = 100.0 - 40.0;
    INFO("mean download time " << r.download_time_s.mean << " s against the model's " << model << " s");
    REQUIRE(r.downloads_completed > 9000);
    CHECK(r.download_time_s.mean == Approx(model).epsilon(0.10));
    // The origin is one seed among about forty: almost everything comes from peers.
    CHECK(r.peer_share_of_received() > 0.95);
}

TEST_CASE("a swarm whose downloaders' capacity is the bottleneck downloads in the fluid model's 1/c") {
    // Qiu and Srikant again, the download-bound case: when a peer's download capacity c (files a
    // second) is below what the swarm can upload to it, the mean download time is T = 1/c.
    // Here: 100 MB at 1 MB/s down (1/c = 100 s) and 1.5 MB/s up, one arrival a second, seeds
    // staying 5 s: the leechers must feed each other. A leecher has pieces that peers ahead of
    // it lack as well as pieces that peers behind it lack; when it only sent to peers behind
    // it, the oldest leechers starved and the mean was 111 s.
    const scenario config = steady_swarm("home:1:12:8", 2, 5, 80);
    const auto run = run_all(config);
    const auto& r = run.results.front();
    const double model = 100.0;
    INFO("mean download time " << r.download_time_s.mean << " s against the model's " << model << " s");
    REQUIRE(r.downloads_completed > 6000);
    CHECK(r.completed_short == 0);
    CHECK(r.download_time_s.mean >= model * 0.99);  // never faster than the link allows
    CHECK(r.download_time_s.mean == Approx(model).epsilon(0.10));
}

TEST_CASE("strategies rank as expected: more locality, less traffic across AS borders") {
    const auto run = run_all(small_scenario());
    const auto& origin_only = of(run, strategy::origin_only);
    const auto& random = of(run, strategy::random);
    const auto& as_aware = of(run, strategy::as);
    const auto& nearcast = of(run, strategy::nearcast);
    for (const auto& r : run.results) {
        INFO(to_string(r.which) << ": offload " << r.peer_share_of_received() << ", inter-AS " << r.inter_as_share());
        CHECK(true);
    }
    CHECK(origin_only.peer_share_of_received() == 0);
    CHECK(origin_only.inter_as_share() == 1);
    CHECK(random.peer_share_of_received() > 0.5);
    CHECK(as_aware.inter_as_share() < random.inter_as_share());
    CHECK(nearcast.inter_as_share() < as_aware.inter_as_share());
    CHECK(nearcast.peer_share_of_received() > random.peer_share_of_received());
    CHECK(nearcast.supernodes_peak > 0);
    CHECK(nearcast.max_children_over_limit <= 1.0);
}

TEST_CASE("killing 30% of the supernodes re-homes their children within one announce interval") {
    scenario config = small_scenario();
    config.peers_per_supernode = 50;
    config.faults = {{fault_kind::supernodes, 3, 0.3, 0}};
    config.strategies = {strategy::nearcast};
    const auto run = run_all(config);
    const auto& r = run.results.front();
    REQUIRE(r.faults.size() == 1);
    const auto& outcome = r.faults.front();
    INFO(outcome.what << ": removed " << outcome.removed << ", orphans " << outcome.orphans);
    CHECK(outcome.removed > 0);
    CHECK(outcome.orphans == outcome.rehomed + outcome.finished_first + outcome.left_to_origin);
    CHECK(outcome.max_rehome_s <= config.announce_interval_s);
    CHECK(r.max_children_over_limit <= 1.0);
    CHECK(r.completed_short == 0);
}
