// bench-sim: the simulator's scaling table. Runs nearcast-sim on 100,000 to 10,000,000 peers
// (100,000 items, 24 simulated hours, the full nearcast strategy with supernodes, the most work
// per event), each size a child process, and reports wall time, events per second, peak memory
// and the growth exponent of wall time fitted from 100,000 peers to the largest size.
// The bar: 10,000,000 peers in under 10 minutes and 12 GB, 1,000,000 in under 60 s, and wall
// time growing at most as peers^1.15. Each size has a budget (--budget-s, 30 minutes): a size
// predicted from the growth so far to take longer is not started, one that runs longer is
// stopped, and either is listed with no figures (nan).
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <spawn.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

struct row {
    std::uint64_t peers = 0;
    double wall_s = 0;
    double peak_gb = 0;
    std::uint64_t events = 0;
    std::uint64_t flow_ticks = 0;
    double stall_ratio = 0;
    double peer_share_of_received = 0;  // cache fills included: not what the origin saved
    double inter_as_share = 0;
    std::uint64_t downloads = 0;
};

// A size that ran past the budget and was stopped (SIGTERM: the simulator writes nothing).
struct over_budget : std::runtime_error {
    using std::runtime_error::runtime_error;
};

row run_one(const std::string& sim, const std::string& out, std::uint64_t peers, const std::string& strategies,
            double budget_s) {
    const std::string folder = out + "/" + std::to_string(peers);
    std::vector<std::string> args = {sim, "-q", "--out", folder,
                                     "--set", "workload.peers=" + std::to_string(peers),
                                     "--set", "workload.items=100000",
                                     "--set", "run.duration_h=24",
                                     "--set", "run.strategies=" + strategies,
                                     // The scaling table times the strategies alone, without the CDN anchor.
                                     "--set", "run.anchor=false"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    const auto started = std::chrono::steady_clock::now();
    pid_t child = 0;
    if (const int error = posix_spawn(&child, sim.c_str(), nullptr, nullptr, argv.data(), environ); error != 0) {
        throw std::runtime_error(sim + ": cannot start: " + std::strerror(error));
    }
    int status = 0;
    rusage usage{};
    bool stopped = false;
    auto finished = started;
    for (;;) {
        const pid_t done = wait4(child, &status, WNOHANG, &usage);
        finished = std::chrono::steady_clock::now();
        if (done == child) break;
        if (done < 0 && errno != EINTR) throw std::runtime_error(std::string("waiting for ") + sim + ": " + std::strerror(errno));
        const double running_s = std::chrono::duration<double>(finished - started).count();
        if (!stopped && running_s > budget_s) {
            kill(child, SIGTERM);  // it stops within a simulated second and writes nothing
            stopped = true;
        } else if (stopped && running_s > budget_s + 30) {
            kill(child, SIGKILL);  // it did not: it must not hold the bench forever
        }
        // Polled often enough that the wall time of a small size is not the polling's.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (stopped && WIFEXITED(status) && WEXITSTATUS(status) == 0) stopped = false;  // it finished first: its figures stand
    if (stopped) {
        throw over_budget(std::to_string(peers) + " peers: stopped after the budget of " + std::to_string(static_cast<long>(budget_s)) +
                          " s (--budget-s)");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error(sim + " failed for " + std::to_string(peers) + " peers (status " + std::to_string(status) + ")");
    }
    row result;
    result.peers = peers;
    result.wall_s = std::chrono::duration<double>(finished - started).count();
    result.peak_gb = static_cast<double>(usage.ru_maxrss) * 1024 / 1e9;  // ru_maxrss is in KiB

    std::ifstream in(folder + "/results.json");
    const auto document = nlohmann::json::parse(in);
    for (const auto& entry : document["results"]) {
        result.events += entry["events"].get<std::uint64_t>();
        result.flow_ticks += entry.value("flow_ticks", std::uint64_t{0});
        result.stall_ratio = entry["stall_ratio"].get<double>();
        result.peer_share_of_received = entry["peer_share_of_received"].get<double>();
        result.inter_as_share = entry["inter_as_share"].get<double>();
        result.downloads = entry["sessions"]["downloads_completed"].get<std::uint64_t>();
    }
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    std::string sim, out = "bench-sim-out", strategies = "nearcast";
    // Each size may take this long; a size predicted (from the growth so far) to take longer is
    // not started, and one that runs longer is stopped. Neither has figures.
    double budget_s = 1800;
    std::vector<std::uint64_t> sizes = {100'000, 300'000, 1'000'000, 3'000'000, 10'000'000};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "bench-sim: " << arg << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--sim") sim = value();
        else if (arg == "--out") out = value();
        else if (arg == "--strategies") strategies = value();
        else if (arg == "--budget-s") {
            const std::string given = value();
            char* end = nullptr;
            budget_s = std::strtod(given.c_str(), &end);
            if (end == given.c_str() || *end != '\0' || !(budget_s > 0)) {
                std::cerr << "bench-sim: --budget-s " << given << ": must be a number of seconds above 0\n";
                return 2;
            }
        }
        else if (arg == "--sizes") {
            sizes.clear();
            std::istringstream list(value());
            std::string size;
            while (std::getline(list, size, ',')) {
                char* end = nullptr;
                const auto peers = std::strtoull(size.c_str(), &end, 10);
                if (size.empty() || *end != '\0' || peers == 0 || (!sizes.empty() && peers <= sizes.back())) {
                    std::cerr << "bench-sim: --sizes: '" << size << "' is not a peer count above the one before it\n";
                    return 2;
                }
                sizes.push_back(peers);
            }
            if (sizes.empty()) {
                std::cerr << "bench-sim: --sizes: no size given\n";
                return 2;
            }
        } else {
            std::cerr << "usage: bench-sim-program --sim PATH [--sizes 100000,300000,1000000,3000000,10000000] [--strategies nearcast] [--budget-s 1800] [--out DIR]\n";
            return arg == "--help" ? 0 : 2;
        }
    }
    if (sim.empty()) {
        std::cerr << "bench-sim: --sim PATH (the nearcast-sim binary) is required\n";
        return 2;
    }

    std::vector<row> rows;
    std::vector<std::string> not_run;  // sizes left out, and why
    try {
        for (const auto peers : sizes) {
            if (!not_run.empty()) {
                not_run.push_back(std::to_string(peers) + " peers: not run (a smaller size was over the budget)");
                continue;
            }
            // Extrapolated from the last two sizes run, at the growth between them.
            if (rows.size() >= 2) {
                const row& a = rows[rows.size() - 2];
                const row& b = rows.back();
                const double growth = std::log(b.wall_s / a.wall_s) / std::log(static_cast<double>(b.peers) / static_cast<double>(a.peers));
                const double predicted = b.wall_s * std::pow(static_cast<double>(peers) / static_cast<double>(b.peers), growth);
                if (predicted > budget_s) {
                    char line[200];
                    std::snprintf(line, sizeof line, "%llu peers: not run, predicted %.3g s (growth %.2f since %llu peers) over the budget of %g s (--budget-s)",
                                  static_cast<unsigned long long>(peers), predicted, growth, static_cast<unsigned long long>(a.peers), budget_s);
                    not_run.emplace_back(line);
                    std::cerr << "bench-sim: " << line << "\n";
                    continue;
                }
            }
            std::cerr << "bench-sim: " << peers << " peers, 100,000 items, 24 simulated hours (" << strategies << ") ...\n";
            try {
                rows.push_back(run_one(sim, out, peers, strategies, budget_s));
            } catch (const over_budget& stopped) {
                not_run.emplace_back(stopped.what());
                std::cerr << "bench-sim: " << stopped.what() << "\n";
                continue;
            }
            std::cerr << "bench-sim:   " << rows.back().wall_s << " s, " << rows.back().peak_gb << " GB peak, "
                      << rows.back().events << " events\n";
        }
    } catch (const std::exception& error) {
        std::cerr << "bench-sim: " << error.what() << "\n";
        return 1;
    }
    if (rows.empty()) {
        std::cerr << "bench-sim: no size ran within the budget\n";
        return 1;
    }

    std::printf("\n%10s %9s %12s %11s %13s %12s %8s %10s %8s %9s %8s\n", "peers", "wall s", "events", "events/s",
                "flow-ticks", "flow-ticks/s", "peak GB", "downloads", "peer shr", "inter-AS", "stalls");
    for (const auto& r : rows) {
        std::printf("%10llu %9.1f %12llu %11.0f %13llu %12.0f %8.3f %10llu %7.1f%% %8.1f%% %7.2f%%\n",
                    static_cast<unsigned long long>(r.peers), r.wall_s, static_cast<unsigned long long>(r.events),
                    static_cast<double>(r.events) / r.wall_s, static_cast<unsigned long long>(r.flow_ticks),
                    static_cast<double>(r.flow_ticks) / r.wall_s, r.peak_gb, static_cast<unsigned long long>(r.downloads),
                    100 * r.peer_share_of_received, 100 * r.inter_as_share, 100 * r.stall_ratio);
    }
    const auto find = [&](std::uint64_t peers) -> const row* {
        for (const auto& r : rows) {
            if (r.peers == peers) return &r;
        }
        return nullptr;
    };
    // Least-squares slope of log(wall) over log(x), from 100,000 peers up.
    const auto slope = [&](auto&& x_of) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
        for (const auto& r : rows) {
            if (r.peers < 100'000 || r.wall_s <= 0 || x_of(r) <= 0) continue;
            const double x = std::log(x_of(r)), y = std::log(r.wall_s);
            sx += x, sy += y, sxx += x * x, sxy += x * y, n += 1;
        }
        return n >= 2 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : std::nan("");
    };
    std::size_t fitted = 0;
    for (const auto& r : rows) fitted += r.peers >= 100'000;
    const double exponent = slope([](const row& r) { return static_cast<double>(r.peers); });
    // The same against the work itself: events plus flow-ticks (a congested network keeps more
    // flows open per peer, so the work can grow faster than the peers do).
    const double work_exponent =
        slope([](const row& r) { return static_cast<double>(r.events) + static_cast<double>(r.flow_ticks); });
    for (const auto& line : not_run) std::printf("%s\n", line.c_str());
    const row* million = find(1'000'000);
    const row* ten_million = find(10'000'000);
    std::printf("\ngrowth exponent of wall time, %zu sizes from 100,000 to %llu peers: %.3f against peers, "
                "%.3f against the work (events + flow-ticks)\n",
                fitted, static_cast<unsigned long long>(rows.back().peers), exponent, work_exponent);
    const auto verdict = [](bool met) { return met ? "met" : "NOT met"; };
    std::printf("bar: 10,000,000 peers in under 600 s and 12 GB: %s\n",
                ten_million ? verdict(ten_million->wall_s < 600 && ten_million->peak_gb < 12) : "NOT met (not run)");
    std::printf("bar: 1,000,000 peers in under 60 s: %s\n", million ? verdict(million->wall_s < 60) : "NOT met (not run)");
    std::printf("bar: growth exponent at most 1.15: %s\n", verdict(fitted >= 2 && exponent <= 1.15));
    // A size not run has no figure to report: nan, not a guess.
    std::printf("figure sim_10m_wall_s %.1f\n", ten_million ? ten_million->wall_s : std::nan(""));
    std::printf("figure sim_10m_peak_gb %.3f\n", ten_million ? ten_million->peak_gb : std::nan(""));
    std::printf("figure sim_growth_exponent %.3f\n", exponent);
    std::printf("figure sim_growth_exponent_vs_work %.3f\n", work_exponent);
    std::printf("figure sim_1m_wall_s %.1f\n", million ? million->wall_s : std::nan(""));
    std::printf("figure sim_1m_peak_gb %.3f\n", million ? million->peak_gb : std::nan(""));
    std::printf("figure sim_1m_events_per_s %.0f\n", million ? static_cast<double>(million->events) / million->wall_s : std::nan(""));
    return 0;
}
