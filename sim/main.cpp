// nearcast-sim: runs a scenario under each strategy and writes the results and a report.
#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

#include "nearcast/core/common_options.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/options.hpp"
#include "nearcast/core/stop_signals.hpp"
#include "nearcast/sim/economics.hpp"
#include "nearcast/sim/report.hpp"
#include "nearcast/sim/scenario.hpp"
#include "nearcast/sim/simulation.hpp"
#include "nearcast/sim/topology.hpp"

namespace po = boost::program_options;
using namespace nearcast::sim;

namespace {

// A stop leaves at once: taking apart ten million simulated peers, or waiting for the other
// strategy's thread, would cost seconds, and nothing of a partial run is worth keeping.
[[noreturn]] void stop_now(bool terminal_progress) {
    if (terminal_progress) std::fprintf(stderr, "\n");
    spdlog::warn("stopped by signal {}: no results written (a partial run would mislead)", nearcast::core::stop_signal());
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(128 + nearcast::core::stop_signal());
}

constexpr const char* usage =
    "Usage: nearcast-sim [SCENARIO] [options]\n\n"
    "Simulates a catalogue served by origin seeders and peers under each strategy (origin only,\n"
    "random peers, prefix-, AS- and AS-plus-adjacency-aware selection, and full nearcast with\n"
    "supernodes), with the production policy code, and writes results.json, results.csv,\n"
    "series.csv, per_as.csv and report.html into the output folder.\n\n"
    "SCENARIO is a JSON (.json) or INI file; without one the built-in default scenario runs\n"
    "(10,000 peers on a synthetic Internet of 40 ASes, 1,000 items, 24 hours). SIGTERM or SIGINT\n"
    "stops it, with no results written.\n";

}  // namespace

int main(int argc, char** argv) {
    nearcast::core::start_logging("nearcast-sim");
    // No --config: the scenario file is the simulator's configuration.
    nearcast::core::common_options common("nearcast-sim", {.config_file = false, .progress = true});
    po::options_description options("Options");
    options.add_options()
        ("data,d", po::value<std::vector<std::string>>()->composing(),
         "proximity routing data for the topology, repeatable (earlier sources win): --set topology.source=A,B in short")
        ("set,s", po::value<std::vector<std::string>>()->composing(), "override one key: KEY=VALUE (repeatable), e.g. --set workload.peers=100000")
        ("out,o", po::value<std::string>()->default_value("nearcast-sim-out"), "folder for the results and the report")
        ("keys", "print every scenario key with its default value (the INI form) and exit")
        ("threads,j", po::value<unsigned>()->default_value(std::max(1u, std::thread::hardware_concurrency())),
         "strategies simulated side by side (each is one thread; the results do not depend on it)");
    po::options_description shown;
    shown.add(common.description()).add(options);
    po::options_description hidden;
    hidden.add_options()("scenario", po::value<std::string>(), "scenario file");
    po::options_description all;
    all.add(shown).add(hidden);
    po::positional_options_description positional;
    positional.add("scenario", 1);

    po::variables_map args;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).style(nearcast::core::command_line_style).run(), args);
        if (common.answered(args, usage, shown)) return 0;
        po::notify(args);
        common.apply_log_level(args);
        if (args["threads"].as<unsigned>() == 0) throw po::error("--threads must be at least 1");
    } catch (const std::exception& error) {
        return common.refuse(error);
    }

    scenario config;
    try {
        if (args.count("scenario")) {
            const std::string path = args["scenario"].as<std::string>();
            nearcast::core::require_readable_file(path, "scenario file");
            config = load_scenario(path);
        }
        if (args.count("data")) {
            std::string sources;
            for (const auto& source : args["data"].as<std::vector<std::string>>()) sources += (sources.empty() ? "" : ",") + source;
            apply_override(config, "topology.source=" + sources);
        }
        if (args.count("set")) {
            for (const auto& assignment : args["set"].as<std::vector<std::string>>()) apply_override(config, assignment);
        }
        validate(config);
    } catch (const scenario_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const nearcast::core::input_file_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    }
    if (args.count("keys")) {
        std::cout << describe(config);
        return 0;
    }

    // The anchor of the savings figures runs too, first, unless the scenario names it already or
    // says run.anchor=false.
    const bool has_anchor = std::find(config.strategies.begin(), config.strategies.end(), strategy::origin_only) != config.strategies.end();
    if (config.anchor && !has_anchor) {
        config.strategies.insert(config.strategies.begin(), strategy::origin_only);
        spdlog::info("origin_only runs beside the strategies as the anchor of the savings figures (run.anchor=false leaves it out)");
    }

    nearcast::core::catch_stop_signals();
    const bool show_progress = common.show_progress();
    const bool terminal = isatty(STDERR_FILENO);
    const std::string folder = args["out"].as<std::string>();

    try {
        const auto started = std::chrono::steady_clock::now();
        // A signal is looked at between the long steps too (building ten million peers takes
        // seconds), so that a run stops within a second whatever it is doing.
        const auto stop_point = [&] {
            if (nearcast::core::stop_requested()) stop_now(terminal && show_progress);
        };
        const topology world = build_topology(config);
        stop_point();
        std::optional<session_trace> trace;
        if (!config.trace.empty()) {
            try {
                trace = load_trace(config.trace, config.duration_s());
            } catch (const scenario_error& error) {
                // Named where the key was set, as every scenario error is.
                const auto set = config.origins.find("workload.trace");
                throw scenario_error(set == config.origins.end() ? error.what() : set->second + ": " + error.what());
            }
            apply_trace(config, *trace);
            spdlog::info("{}: {} items, {} daemons and {} sessions replayed", config.trace, trace->item_bytes.size(),
                         trace->daemons.size(), trace->sessions.size());
        }
        const population people = build_population(config, world, trace ? &*trace : nullptr);
        stop_point();
        spdlog::info("{}: {} peers in {} ASes, {} items, {} origin seeders, {:.0f} simulated hours", world.description,
                     config.peers, world.ases.size(), config.items, config.seeders, config.duration_h);

        run_summary run;
        run.topology = world.description;
        run.peers = config.peers;
        run.ases = static_cast<std::uint32_t>(world.ases.size());
        // Strategies run side by side, each on its own engine over the same const topology and
        // population; results keep the scenario's order, so they do not depend on the threads.
        const std::size_t count = config.strategies.size();
        const auto threads = std::clamp<std::size_t>(args["threads"].as<unsigned>(), 1, std::max<std::size_t>(count, 1));
        std::vector<strategy_result> results(count);
        std::vector<double> reached(count, 0);
        std::vector<std::uint64_t> events_seen(count, 0);
        std::mutex report_lock;
        auto last_print = std::chrono::steady_clock::now();
        int last_decile = -1;
        const auto progress_of = [&](std::size_t slot) {
            return [&, slot](strategy, double simulated_s, std::uint64_t events) {
                if (nearcast::core::stop_requested()) stop_now(terminal && show_progress);
                if (!show_progress) return;
                const auto now = std::chrono::steady_clock::now();
                std::lock_guard lock(report_lock);
                reached[slot] = simulated_s;
                events_seen[slot] = events;
                if (terminal && now - last_print < std::chrono::milliseconds(200)) return;
                double done = 0;
                std::uint64_t all_events = 0;
                for (std::size_t i = 0; i < count; ++i) {
                    done += results[i].events > 0 ? config.duration_s() : reached[i];
                    all_events += results[i].events > 0 ? results[i].events : events_seen[i];
                }
                const double share = done / (config.duration_s() * static_cast<double>(count));
                if (terminal) {
                    last_print = now;
                    std::fprintf(stderr, "\r%zu strategies, %zu at a time  %5.1f%%  %llu events   ", count, threads,
                                 100 * share, static_cast<unsigned long long>(all_events));
                } else if (static_cast<int>(share * 10) > last_decile) {
                    last_decile = static_cast<int>(share * 10);
                    spdlog::info("{:.0f}% of the simulated hours of {} strategies ({} events)", 100 * share, count,
                                 all_events);
                }
            };
        };
        const auto log_result = [&](const strategy_result& r) {
            const double peer_bytes = r.peer_intra_bytes + r.peer_inter_bytes;
            spdlog::info("{}: origin {:.1f} GB, peers {:.1f} GB{}, {} downloads done (p50 {:.1f} s), "
                         "stall ratio {:.2f}%, {} events in {:.1f} s ({:.0f}/s)",
                         to_string(r.which), r.origin_bytes / 1e9, peer_bytes / 1e9,
                         peer_bytes > 0 ? fmt::format(" ({:.1f}% of it inside the AS)", 100 * (1 - r.peer_inter_as_share())) : "",
                         r.downloads_completed, r.download_time_s.p50, 100 * r.stall_ratio,
                         r.events, r.wall_s, r.wall_s > 0 ? static_cast<double>(r.events) / r.wall_s : 0.0);
        };
        std::atomic<std::size_t> next{0};
        std::exception_ptr failure;
        const auto worker = [&] {
            for (std::size_t slot; (slot = next++) < count;) {
                try {
                    auto result = simulate(config, world, people, config.strategies[slot], progress_of(slot));
                    std::lock_guard lock(report_lock);
                    results[slot] = std::move(result);
                    if (terminal && show_progress) std::fprintf(stderr, "\r%80s\r", "");
                    log_result(results[slot]);
                } catch (...) {
                    std::lock_guard lock(report_lock);
                    if (!failure) failure = std::current_exception();
                    next = count;  // the others stop at their next strategy
                }
            }
        };
        std::vector<std::thread> pool;
        for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
        worker();
        for (auto& thread : pool) thread.join();
        if (failure) std::rethrow_exception(failure);
        run.results = std::move(results);
        // Each strategy against the CDN on the same arrivals, once both have run.
        if (const strategy_result* cdn = anchor_of(run)) {
            for (const auto& r : run.results) {
                if (&r == cdn) continue;
                const versus_cdn against = compare_with_cdn(r, *cdn);
                const auto ratio = [](const std::optional<double>& value) { return value ? fmt::format("{:.2f}", *value) : std::string("n/a"); };
                spdlog::info("{} against origin_only: origin savings {:.1f}%, transit into the access ASes x{:.2f} "
                             "(worst AS{} x{:.2f}; floors x{:.2f} and x{:.2f}: every item entering each AS once), "
                             "download p90 x{}, stall ratio x{}",
                             to_string(r.which), 100 * against.origin_savings, against.transit_ratio_total, against.worst_asn,
                             against.transit_ratio_worst_as, against.transit_floor_total, against.transit_floor_worst_as,
                             ratio(against.download_p90_ratio), ratio(against.stall_ratio));
                const auto done = [](const strategy_result& x) { return x.downloads_completed + x.streams_completed; };
                if (static_cast<double>(done(*cdn)) < 0.99 * static_cast<double>(done(r))) {
                    spdlog::warn("origin_only finished {} sessions against {}'s {}: the CDN anchor cannot serve the arrivals "
                                 "(size it with run.anchor_capacity_mbps), so the figures against it compare unequal work",
                                 done(*cdn), to_string(r.which), done(r));
                }
            }
        } else {
            spdlog::info("no origin_only run (run.anchor=false): no savings against a CDN are reported");
        }
        stop_point();  // results are written whole or not at all: a signal before they start wins
        std::vector<std::string> written;
        try {
            written = write_results(folder, config, run);
        } catch (const std::exception& error) {  // a full disk, a folder we may not write: the output is bad
            spdlog::error("{}", error.what());
            return 2;
        }
        spdlog::info("wrote {} files to {}/ (open report.html) in {:.1f} s", written.size(), folder,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    } catch (const scenario_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const std::exception& error) {
        spdlog::error("{}", error.what());
        return 1;
    }
    return 0;
}
