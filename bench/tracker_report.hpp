// What the tracker benchmark measured about each tracker, and the table and figure lines it
// prints from that.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tracker_load.hpp"

namespace nearcast::bench {

struct bench_settings {
    std::string opentracker;
    std::optional<std::string> nearcast;
    std::string snapshot;
    unsigned swarms = 1000;
    unsigned memory_swarms = 20000;  // x 50 peers: the 1,000,000 peers of the memory figure
    unsigned source_addresses = 32;
    unsigned http_connections = 32;  // one per source address
    unsigned udp_in_flight = 64;
    load_window window{std::chrono::milliseconds(500), std::chrono::milliseconds(3000)};
    unsigned rounds = 3;  // of each timed row per tracker, alternating; the best counts
    std::chrono::seconds memory_load_limit{90};
    std::filesystem::path work_directory;
    std::optional<int> generator_cpu;
    std::optional<int> tracker_cpu;
};

struct tracker_measurements {
    std::string name;
    pid_t pid = -1;
    bool measured = false;  // it started and accepted an announce
    std::string not_measured_because;
    std::vector<std::string> failures;  // errors that make its figures untrustworthy
    std::vector<std::string> warnings;
    std::string log_tail;
    bool stopped_cleanly = false;
    unsigned rounds_run = 0;
    double most_other_work = 0;  // the most CPU other processes used in one of its rounds

    load_result populate;
    load_result http;        // each of these three: the best round
    load_result udp_fresh;   // a connect before every announce
    load_result udp_reused;  // connection IDs kept for a minute
    load_result memory_load;
    std::optional<double> bytes_per_peer;        // growth of VmRSS / peers loaded
    std::optional<double> resident_bytes_after;  // VmRSS with every peer loaded
    std::optional<double> stats_peers;           // nearcast's own count, from /stats
    std::optional<double> stats_bytes_per_peer;  // nearcast's own estimate, from /stats

    bool usable() const { return measured && failures.empty(); }
};

std::string with_commas(std::uint64_t value);

void print_plan(const bench_settings& settings);
// The table, the verdicts against the bars and the five `figure` lines. Returns the exit
// status: non-zero when opentracker could not be measured or either tracker answered with errors.
int print_report(const bench_settings& settings, const tracker_measurements& opentracker,
                 const tracker_measurements& nearcast);

}  // namespace nearcast::bench
