// Benchmark: nearcast-tracker against Debian's opentracker, side by side in one run, with the
// same load generators (tracker_load_http, tracker_load_udp) against both.
//
// Both trackers run at once, each pinned to the CPU the generator does not use. Each gets
// 1,000 swarms x 50 peers announced once; then random re-announces (numwant 50) are timed over
// HTTP with keep-alive connections, over UDP with a connect before every announce and over UDP
// with connection IDs reused, in rounds that alternate between the trackers (the best round
// counts: this machine is shared, and a burst of someone's compiler should hit both trackers,
// then be discarded). Last, each is loaded with 1,000,000 more peers and the growth of its
// resident memory is divided by them. opentracker only tracks whitelisted hashes, so it gets a
// whitelist of every hash the run uses. When nearcast-tracker is missing or does not start,
// opentracker is still measured and the nearcast figures are nan.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tracker_load.hpp"
#include "tracker_load_http.hpp"
#include "tracker_load_udp.hpp"
#include "tracker_process.hpp"
#include "tracker_report.hpp"

namespace bench = nearcast::bench;
using namespace std::chrono_literals;

namespace {

bench::peer_range timed_peers(const bench::bench_settings& settings) {
    return {0, std::uint64_t{settings.swarms} * bench::peers_per_swarm};
}

bench::peer_range memory_peers(const bench::bench_settings& settings) {
    const auto first = timed_peers(settings).end;
    return {first, first + std::uint64_t{settings.memory_swarms} * bench::peers_per_swarm};
}

bench::launch_plan plan_for(const bench::bench_settings& settings, const std::string& program,
                            std::vector<std::string> arguments, const std::string& name) {
    return bench::plan_in(settings.work_directory, settings.tracker_cpu, program, std::move(arguments), name);
}

void write_whitelist(const bench::bench_settings& settings, const std::filesystem::path& file) {
    std::ofstream out(file);
    const std::uint64_t swarms = memory_peers(settings).end / bench::peers_per_swarm;
    for (std::uint64_t swarm = 0; swarm < swarms; ++swarm) out << bench::hex_of(bench::swarm_hash(swarm)) << '\n';
    if (!out) throw std::runtime_error("cannot write " + file.string());
    // opentracker drops to user nobody: it must still be able to read the list.
    chmod(file.c_str(), 0644);
}

// A tracker that is up: its process, where it listens, and a UDP generator connected to it.
struct live_tracker {
    bench::tracker_measurements* measurements = nullptr;
    std::unique_ptr<bench::tracker_process> process;
    sockaddr_in http{};
    sockaddr_in udp{};
    bool has_stats = false;  // answers GET /stats
    std::unique_ptr<bench::udp_load_generator> udp_load;
};

// A load run's refusals and broken answers make the tracker's figures worthless: say so.
void check(bench::tracker_measurements& tracker, const std::string& run, const bench::load_result& result) {
    if (result.errors)
        tracker.failures.push_back(run + ": " + std::to_string(result.errors) + " errors, first: " + result.first_error);
}

bool still_running(live_tracker& tracker, const std::string& after) {
    if (tracker.process->running()) return true;
    tracker.measurements->failures.push_back("the tracker died during " + after + " (" +
                                             tracker.process->how_it_ended() + ")");
    return false;
}

void progress(const std::string& what) {
    std::printf("  %s\n", what.c_str());
    std::fflush(stdout);
}

std::optional<double> stats_value(const sockaddr_in& http, const std::string& key) {
    std::string error;
    const auto body = bench::http_get(http, "/stats", 5s, error);
    if (!body) return std::nullopt;
    return bench::json_number(*body, key);
}

std::optional<live_tracker> start_opentracker(const bench::bench_settings& settings, bench::tracker_measurements& tracker) {
    try {
        write_whitelist(settings, settings.work_directory / "whitelist");
        const std::uint16_t port = bench::free_loopback_port();
        live_tracker live;
        live.measurements = &tracker;
        live.http = live.udp = bench::loopback_endpoint(port);
        // -d: opentracker chroots there when run as root, so the whitelist path is relative.
        live.process = std::make_unique<bench::tracker_process>(plan_for(
            settings, settings.opentracker,
            {"-i", "127.0.0.1", "-p", std::to_string(port), "-P", std::to_string(port), "-d",
             settings.work_directory.string(), "-w", "whitelist"},
            "opentracker"));
        return live;
    } catch (const std::exception& error) {
        tracker.not_measured_because = error.what();
        return std::nullopt;
    }
}

std::optional<live_tracker> start_nearcast(const bench::bench_settings& settings, bench::tracker_measurements& tracker) {
    if (!settings.nearcast) {
        tracker.not_measured_because = "this build has no nearcast-tracker target";
        return std::nullopt;
    }
    if (!std::filesystem::exists(*settings.nearcast)) {
        tracker.not_measured_because = *settings.nearcast + " does not exist";
        return std::nullopt;
    }
    const auto port_file = settings.work_directory / "nearcast.ports";
    try {
        live_tracker live;
        live.measurements = &tracker;
        live.has_stats = true;
        live.process = std::make_unique<bench::tracker_process>(plan_for(
            settings, *settings.nearcast,
            {"--listen-http", "127.0.0.1:0", "--listen-udp", "127.0.0.1:0", "--port-file", port_file.string(), "--data",
             settings.snapshot, "--announce-rate-limit", "0"},
            "nearcast"));
        bench::listening_ports ports;
        const auto deadline = bench::bench_clock::now() + 30s;
        while (bench::bench_clock::now() < deadline && live.process->running()) {
            ports = bench::read_port_file(port_file);
            if (ports.http && ports.udp) break;
            std::this_thread::sleep_for(50ms);
        }
        if (!ports.http || !ports.udp) {
            tracker.not_measured_because = live.process->running()
                                               ? "no port file with http and udp lines within 30 s"
                                               : "it did not start (" + live.process->how_it_ended() + ")";
            live.process->stop(5s);
            tracker.log_tail = bench::tail_of(settings.work_directory / "nearcast.log", 10);
            return std::nullopt;
        }
        live.http = *ports.http;
        live.udp = *ports.udp;
        return live;
    } catch (const std::exception& error) {
        tracker.not_measured_because = error.what();
        return std::nullopt;
    }
}

// Waits for the first accepted announce, then announces every peer of the timed swarms once.
bool populate(const bench::bench_settings& settings, live_tracker& tracker) {
    bench::tracker_measurements& measured = *tracker.measurements;
    try {
        tracker.udp_load = std::make_unique<bench::udp_load_generator>(
            tracker.udp, tracker.process->pid(), bench::loopback_source_addresses(settings.source_addresses),
            settings.udp_in_flight);
    } catch (const std::exception& error) {
        measured.not_measured_because = error.what();
        return false;
    }
    std::string answer;
    if (!tracker.udp_load->tracker_accepts_announce(0, 10s, answer)) {
        measured.not_measured_because = "no UDP announce accepted within 10 s (" +
                                        (tracker.process->running() ? answer : tracker.process->how_it_ended()) + ")";
        return false;
    }
    measured.measured = true;
    progress(measured.name + ": populating " + bench::with_commas(timed_peers(settings).size()) + " peers");
    measured.populate = tracker.udp_load->announce_each_once(timed_peers(settings), 60s);
    check(measured, "populating", measured.populate);
    if (measured.populate.announces != timed_peers(settings).size())
        measured.failures.push_back("populating: only " + std::to_string(measured.populate.announces) + " of " +
                                    std::to_string(timed_peers(settings).size()) + " peers announced");
    return still_running(tracker, "populating");
}

enum class timed_row { http, udp_fresh, udp_reused };

const char* name_of(timed_row row) {
    switch (row) {
        case timed_row::http: return "HTTP";
        case timed_row::udp_fresh: return "UDP with a connect before every announce";
        case timed_row::udp_reused: return "UDP with connection IDs reused";
    }
    return "";
}

bench::load_result& best_of(bench::tracker_measurements& tracker, timed_row row) {
    switch (row) {
        case timed_row::http: return tracker.http;
        case timed_row::udp_fresh: return tracker.udp_fresh;
        case timed_row::udp_reused: return tracker.udp_reused;
    }
    return tracker.http;
}

bench::load_result run_once(const bench::bench_settings& settings, live_tracker& tracker, timed_row row) {
    if (row == timed_row::http) {
        bench::http_load_generator http_load(tracker.http, tracker.process->pid(),
                                             bench::loopback_source_addresses(settings.source_addresses),
                                             settings.http_connections);
        return http_load.announce_at_random(timed_peers(settings), settings.window);
    }
    const auto ids = row == timed_row::udp_fresh ? bench::connection_ids::fresh_for_every_announce
                                                 : bench::connection_ids::reused;
    return tracker.udp_load->announce_at_random(timed_peers(settings), ids, settings.window);
}

// Each row is run in rounds that alternate between the trackers, so a burst of someone else's
// work on this shared machine hits both; the best round of each counts.
void run_timed_rows(const bench::bench_settings& settings, std::vector<live_tracker*>& trackers) {
    for (const timed_row row : {timed_row::http, timed_row::udp_fresh, timed_row::udp_reused}) {
        progress(std::string(name_of(row)) + ": " + std::to_string(settings.rounds) + " rounds");
        for (unsigned round = 0; round < settings.rounds; ++round) {
            for (std::size_t turn = 0; turn < trackers.size(); ++turn) {
                live_tracker& tracker = *trackers[(turn + round) % trackers.size()];
                if (!tracker.process->running()) continue;
                bench::load_result result = run_once(settings, tracker, row);
                bench::tracker_measurements& measured = *tracker.measurements;
                check(measured, name_of(row), result);
                ++measured.rounds_run;
                measured.most_other_work = std::max(measured.most_other_work, std::isnan(result.others_busy) ? 0.0 : result.others_busy);
                bench::load_result& best = best_of(measured, row);
                if (result.announces_per_second() > best.announces_per_second()) best = std::move(result);
                still_running(tracker, std::string("the ") + name_of(row) + " run");
            }
        }
    }
}

// Grows the tracker by a million peers and divides the growth of its resident memory by them.
void measure_memory(const bench::bench_settings& settings, live_tracker& tracker) {
    bench::tracker_measurements& measured = *tracker.measurements;
    progress(measured.name + ": loading " + bench::with_commas(memory_peers(settings).size()) + " more peers");
    std::this_thread::sleep_for(200ms);
    const auto resident_before = tracker.process->resident_bytes();
    const double stats_peers_before =
        tracker.has_stats ? stats_value(tracker.http, "peers").value_or(std::nan("")) : std::nan("");
    measured.memory_load = tracker.udp_load->announce_each_once(memory_peers(settings), settings.memory_load_limit);
    check(measured, "loading peers for memory", measured.memory_load);
    if (!still_running(tracker, "the memory load")) return;
    std::this_thread::sleep_for(200ms);
    const auto resident_after = tracker.process->resident_bytes();
    const double loaded = static_cast<double>(measured.memory_load.announces);
    if (resident_before && resident_after && loaded > 0) {
        measured.resident_bytes_after = static_cast<double>(*resident_after);
        measured.bytes_per_peer = (static_cast<double>(*resident_after) - static_cast<double>(*resident_before)) / loaded;
    }
    if (!tracker.has_stats) return;
    const auto peers_after = stats_value(tracker.http, "peers");
    const auto memory_after = stats_value(tracker.http, "memory_bytes");
    if (!peers_after || !memory_after) {
        measured.warnings.push_back("GET /stats gave no \"peers\" and \"memory_bytes\"");
        return;
    }
    measured.stats_peers = *peers_after;
    if (*peers_after > 0) measured.stats_bytes_per_peer = *memory_after / *peers_after;
    // Every announced peer must be tracked, none dropped.
    if (!std::isnan(stats_peers_before) && *peers_after - stats_peers_before < 0.99 * loaded)
        measured.failures.push_back("/stats counts " + std::to_string(*peers_after - stats_peers_before) +
                                    " new peers after " + std::to_string(measured.memory_load.announces) + " announced");
}

void stop(const bench::bench_settings& settings, live_tracker& tracker) {
    bench::tracker_measurements& measured = *tracker.measurements;
    const bool was_running = tracker.process->running();
    measured.stopped_cleanly = tracker.process->stop(5s);
    if (was_running && !measured.stopped_cleanly && tracker.has_stats)
        measured.warnings.push_back("did not exit cleanly on SIGTERM: " + tracker.process->how_it_ended());
    if (!measured.failures.empty() || !measured.measured)
        measured.log_tail = bench::tail_of(settings.work_directory / (measured.name + ".log"), 10);
}

void usage() {
    std::fprintf(stderr,
                 "usage: bench-tracker-program --opentracker PATH [--nearcast PATH] --data PROXIMITY_SNAPSHOT\n"
                 "                             [--measure-seconds N] [--rounds N] [--memory-swarms N] [--no-pinning]\n");
}

}  // namespace

int main(int argc, char** argv) {
    bench::bench_settings settings;
    bool pinning = true;
    bench::option_reader options(argc, argv, usage);
    while (options.next()) {
        if (options.is("--opentracker")) settings.opentracker = options.value();
        else if (options.is("--nearcast")) settings.nearcast = options.value();
        else if (options.is("--data")) settings.snapshot = options.value();
        else if (options.is("--measure-seconds")) settings.window.measure = std::chrono::milliseconds(std::stoul(options.value()) * 1000);
        else if (options.is("--rounds")) settings.rounds = std::max(1u, static_cast<unsigned>(std::stoul(options.value())));
        else if (options.is("--memory-swarms")) settings.memory_swarms = static_cast<unsigned>(std::stoul(options.value()));
        else if (options.is("--no-pinning")) pinning = false;
        else options.reject();
    }
    if (settings.opentracker.empty()) options.reject();

    const auto run = bench::prepare_run("tracker", pinning);
    settings.generator_cpu = run.generator_cpu;
    settings.tracker_cpu = run.server_cpu;
    settings.work_directory = run.work_directory;
    chmod(settings.work_directory.c_str(), 0755);  // opentracker runs as nobody inside it

    bench::print_plan(settings);
    bench::tracker_measurements opentracker;
    opentracker.name = "opentracker";
    bench::tracker_measurements nearcast;
    nearcast.name = "nearcast";
    std::vector<live_tracker> started;
    for (auto* tracker : {&opentracker, &nearcast}) {
        auto live = tracker == &opentracker ? start_opentracker(settings, *tracker) : start_nearcast(settings, *tracker);
        if (live) started.push_back(std::move(*live));
    }
    std::vector<live_tracker*> measuring;
    for (auto& tracker : started)
        if (populate(settings, tracker)) measuring.push_back(&tracker);
    run_timed_rows(settings, measuring);
    for (auto* tracker : measuring)
        if (tracker->process->running()) measure_memory(settings, *tracker);
    for (auto& tracker : started) stop(settings, tracker);

    const int status = bench::print_report(settings, opentracker, nearcast);
    std::error_code ignored;
    std::filesystem::remove_all(settings.work_directory, ignored);
    return status;
}
