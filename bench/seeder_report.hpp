// What the seeder benchmark measured, and the table and figure lines it prints from that.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "seeder_http_load.hpp"
#include "seeder_swarm.hpp"
#include "tracker_load.hpp"

namespace nearcast::bench {

struct seeder_bench_settings {
    std::string seeder;
    std::string nginx = "/usr/sbin/nginx";
    std::uint64_t http_file_size = 256ull * 1024 * 1024;
    std::uint64_t range_size = 4 * 1024 * 1024;
    unsigned http_connections = 8;
    load_window window{std::chrono::milliseconds(500), std::chrono::milliseconds(3000)};
    unsigned rounds = 3;  // per server, alternating; the best counts
    std::uint64_t bittorrent_file_size = 64ull * 1024 * 1024;
    unsigned downloaders = 8;
    std::chrono::seconds bittorrent_limit{120};
    unsigned items = 10000;
    std::uint64_t item_size = 16 * 1024;
    unsigned items_per_folder = 1000;
    std::chrono::seconds startup_limit{120};
    std::filesystem::path work_directory;
    std::optional<int> generator_cpu;
    std::optional<int> server_cpu;
};

// Something that was measured, or why not; what went wrong makes its figure nan.
struct part_outcome {
    std::vector<std::string> failures;
    std::vector<std::string> warnings;
    std::string log_tail;  // of the server's log, when something failed
    bool usable() const { return failures.empty(); }
};

struct http_measurements : part_outcome {
    std::string name;
    bool measured = false;
    unsigned rounds_run = 0;
    double most_other_work = 0;  // the most CPU other processes used in one of its rounds
    range_load_result best;
};

struct bittorrent_measurements : part_outcome {
    swarm_result swarm;
    std::optional<double> stats_growth_bytes;  // of /stats served_bittorrent_bytes
};

struct one_start {
    double seconds = std::nan("");  // from spawn until /stats said every item added
    double listening_seconds = std::nan("");  // from spawn until the port file: the catalogue read
    std::optional<double> resident_bytes;
    std::optional<double> started_from_resume;
    std::optional<double> started_in_seed_mode;
    double stop_seconds = std::nan("");  // SIGTERM until exit: resume data of every item saved
};

struct startup_measurements : part_outcome {
    double files_seconds = std::nan("");      // writing the item files
    double catalogue_seconds = std::nan("");  // make_torrent + catalogue::add of every item
    one_start first;                          // every item new: seed mode
    one_start restart;                        // from the resume data the first start saved
};

void print_plan(const seeder_bench_settings& settings);
// The table, the verdicts against the bars and the four `figure` lines. Returns the exit
// status: non-zero when any part failed.
int print_report(const seeder_bench_settings& settings, const http_measurements& seeder_http,
                 const http_measurements& nginx_http, const bittorrent_measurements& bittorrent,
                 const startup_measurements& startup);

}  // namespace nearcast::bench
