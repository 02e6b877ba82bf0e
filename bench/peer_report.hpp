// What the peer benchmark measured, round by round, and the table and figure lines it prints
// from that.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "peer_first_byte.hpp"

namespace nearcast::bench {

struct peer_bench_settings {
    std::string peer;     // nearcast-peer
    std::string seeder;   // nearcast-seeder
    std::string tracker;  // nearcast-tracker
    std::string aria2c = "/usr/bin/aria2c";
    std::string snapshot;  // proximity data for the tracker and the peer (empty: their default)
    std::uint64_t file_size = 256ull * 1024 * 1024;
    unsigned fetch_rounds = 3;   // per client, alternating; the median counts
    unsigned stream_rounds = 5;  // each: a fresh stream process and a direct GET; the medians count
    std::size_t compared_start = 64 * 1024;  // first body bytes of a probe compared with the file
    std::chrono::seconds step_limit{60};      // a start-up, a publish, a stream's URL
    std::chrono::seconds fetch_limit{300};    // one download
    std::chrono::seconds first_byte_limit{30};
    bool keep_work_directory = false;
    std::vector<std::string> peer_extra;  // more nearcast-peer options, to try a setting: --peer-arg --web-seeds=always
    std::string log_level;  // given to every nearcast program (empty: their default), for a look at --keep's logs
    bool in_namespace = false;  // running in a loopback-only network namespace
    std::filesystem::path work_directory;
    std::optional<int> client_cpu;  // nearcast-peer, aria2c and this process
    std::optional<int> server_cpu;  // the tracker and the seeder
};

// The seeder's /stats counters grown during one download: which source the bytes came from.
struct source_split {
    std::optional<double> web_seed_bytes;    // served_http_bytes
    std::optional<double> bittorrent_bytes;  // served_bittorrent_bytes
};

// CPU time spent during one download, from /proc and getrusage.
struct cpu_use {
    double client_seconds = std::nan("");  // the client process, user + system
    double seeder_seconds = std::nan("");  // nearcast-seeder, user + system
    double others_share = std::nan("");    // other processes' user time / the round's length
};

struct fetch_round {
    double seconds = std::nan("");      // spawn until exit with status 0 and the file verified
    double own_seconds = std::nan("");  // nearcast-peer's report: seconds_to_complete
    source_split sources;
    cpu_use cpu;
    std::optional<double> peers_left;  // in the tracker after it exited: it sent no `stopped` announce
    std::string failure;
};

struct client_fetches {
    std::string name;
    std::vector<fetch_round> rounds;
    std::string log_tail;  // of the first failed round
    double median_seconds() const;
    bool usable() const;  // every round completed
};

struct stream_round {
    double url_seconds = std::nan("");  // spawn until the URL is on its stdout
    first_byte_probe stream;            // GET of the URL
    first_byte_probe direct;            // GET of the same file from the seeder's web seed, machine idle
    // The same GET next to the stream's, while the stream process downloads: both servers
    // answer under the same load (the machine busy with the download).
    first_byte_probe direct_busy;
    std::optional<double> peers_left;   // in the tracker after it exited on SIGTERM
    std::string failure;                // of the stream process (not of a probe)
};

struct stream_measurements {
    std::vector<stream_round> rounds;
    std::string log_tail;  // of the first failed round
    double median_stream_ms() const;
    double median_direct_ms() const;
    double median_direct_busy_ms() const;
    double median_url_seconds() const;
    bool usable() const;
};

struct peer_measurements {
    std::vector<std::string> failures;  // of the set-up: nothing measured
    std::vector<std::string> notes;
    std::string log_tail;
    client_fetches ours{"nearcast-peer", {}, {}};
    client_fetches aria2c{"aria2c", {}, {}};
    stream_measurements stream;
};

double median_of(std::vector<double> values);  // nan when empty or any is nan

void print_plan(const peer_bench_settings& settings);
void print_fetch_round(unsigned round, const client_fetches& client, const fetch_round& measured);
void print_stream_round(unsigned round, const stream_round& measured);
// The table, the verdicts against the bars and the figure lines (the two ratios last).
// Returns the exit status: non-zero when a figure could not be measured.
int print_report(const peer_bench_settings& settings, const peer_measurements& measured);

}  // namespace nearcast::bench
