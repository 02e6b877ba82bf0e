#include "peer_report.hpp"

#include <algorithm>
#include <cstdio>

namespace nearcast::bench {

namespace {

constexpr double fetch_ratio_bar = 1.0;   // aria2c's time / ours: at least this
constexpr double stream_ratio_bar = 3.0;  // our first byte / the direct GET's: at most this

const double not_a_number = std::nan("");

// `missing` for what was not measured: "-" in the table, "nan" in a figure line.
std::string formatted(double value, const char* format, const char* missing = "-") {
    if (std::isnan(value)) return missing;
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string megabytes(const std::optional<double>& bytes) { return bytes ? formatted(*bytes / 1e6, "%.0f MB") : "?"; }

void table_row(const std::string& label, const std::string& theirs, const std::string& ours, const std::string& ratio = "") {
    std::printf("  %-52s %16s %16s %8s\n", label.c_str(), theirs.c_str(), ours.c_str(), ratio.c_str());
}

std::string verdict(double value, bool ok) {
    if (std::isnan(value)) return "not measured";
    return ok ? "meets the bar" : "MISSES the bar";
}

template <typename Round, typename Value>
double median_over(const std::vector<Round>& rounds, Value value) {
    std::vector<double> values;
    for (const auto& round : rounds) values.push_back(value(round));
    return median_of(std::move(values));
}

double spread(const std::vector<double>& values) {
    if (values.empty()) return not_a_number;
    const auto [low, high] = std::minmax_element(values.begin(), values.end());
    return *high - *low;
}

std::string range_of(const std::vector<double>& values, const char* format) {
    if (values.empty()) return "-";
    const auto [low, high] = std::minmax_element(values.begin(), values.end());
    return formatted(*low, format) + ".." + formatted(*high, format);
}

std::vector<double> fetch_seconds(const client_fetches& client) {
    std::vector<double> values;
    for (const auto& round : client.rounds) values.push_back(round.seconds);
    return values;
}

std::vector<double> probe_ms(const stream_measurements& stream, first_byte_probe stream_round::*which) {
    std::vector<double> values;
    for (const auto& round : stream.rounds) values.push_back((round.*which).body_ms);
    return values;
}

void print_failures(const client_fetches& client) {
    for (std::size_t i = 0; i < client.rounds.size(); ++i)
        if (!client.rounds[i].failure.empty())
            std::printf("fetch, %s, round %zu: FAILED: %s\n", client.name.c_str(), i + 1, client.rounds[i].failure.c_str());
    if (!client.log_tail.empty()) std::printf("fetch, %s: last lines of its log:\n%s", client.name.c_str(), client.log_tail.c_str());
}

void print_failures(const stream_measurements& stream) {
    for (std::size_t i = 0; i < stream.rounds.size(); ++i) {
        const stream_round& round = stream.rounds[i];
        if (!round.failure.empty()) std::printf("stream, round %zu: FAILED: %s\n", i + 1, round.failure.c_str());
        if (!round.stream.usable()) std::printf("stream, round %zu: GET of the stream URL FAILED: %s\n", i + 1, round.stream.error.c_str());
        if (!round.direct.usable()) std::printf("stream, round %zu: direct GET FAILED: %s\n", i + 1, round.direct.error.c_str());
    }
    if (!stream.log_tail.empty()) std::printf("stream: last lines of nearcast-peer's log:\n%s", stream.log_tail.c_str());
}

bool stayed(const std::optional<double>& peers_left) { return peers_left && *peers_left > 0; }

// A client that exits without a `stopped` announce stays listed as a seed until the tracker
// expires it: near peers are sent to an address nobody answers at, and once two such "near
// seeds" exist the tracker leaves the origin out of a leecher's answer.
template <typename Round>
void note_peers_left(const std::string& who, const std::vector<Round>& rounds) {
    const auto count = std::count_if(rounds.begin(), rounds.end(), [](const Round& r) { return stayed(r.peers_left); });
    if (count == 0) return;
    std::printf("note: %s was still listed by the tracker after it exited (no `stopped` announce) in %ld of %zu rounds;\n"
                "      near peers are then sent to a seed that is gone, and two such near seeds make the tracker leave\n"
                "      the origin out of a leecher's answer (here every client starts with a fresh tracker, so no round\n"
                "      was slowed by the one before)\n",
                who.c_str(), static_cast<long>(count), rounds.size());
}

}  // namespace

double median_of(std::vector<double> values) {
    if (values.empty() || std::any_of(values.begin(), values.end(), [](double v) { return std::isnan(v); })) return not_a_number;
    std::sort(values.begin(), values.end());
    const std::size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

double client_fetches::median_seconds() const { return median_over(rounds, [](const fetch_round& r) { return r.seconds; }); }

bool client_fetches::usable() const {
    return !rounds.empty() && std::all_of(rounds.begin(), rounds.end(), [](const fetch_round& r) { return r.failure.empty(); });
}

double stream_measurements::median_stream_ms() const {
    return median_over(rounds, [](const stream_round& r) { return r.stream.body_ms; });
}

double stream_measurements::median_direct_ms() const {
    return median_over(rounds, [](const stream_round& r) { return r.direct.body_ms; });
}

double stream_measurements::median_direct_busy_ms() const {
    return median_over(rounds, [](const stream_round& r) { return r.direct_busy.body_ms; });
}

double stream_measurements::median_url_seconds() const {
    return median_over(rounds, [](const stream_round& r) { return r.url_seconds; });
}

bool stream_measurements::usable() const {
    return !rounds.empty() && std::all_of(rounds.begin(), rounds.end(), [](const stream_round& r) {
               return r.failure.empty() && r.stream.usable() && r.direct.usable() && r.direct_busy.usable();
           });
}

void print_plan(const peer_bench_settings& settings) {
    std::printf("peer benchmark: nearcast-peer's fetch against aria2c, and its stream's time to first byte against a\n"
                "direct GET from the seeder's web seed\n");
    std::printf("  one %llu MiB file of random bytes, published v1-only (aria2c 1.36 misreads hybrid torrents) by\n"
                "        nearcast-seeder with a tracker (nearcast-tracker, 127.0.0.1) and a BEP 19 web seed; the seeder\n"
                "        serves it over BitTorrent and HTTP on 127.30.0.1\n",
                static_cast<unsigned long long>(settings.file_size >> 20));
    std::printf("  fetch: %u rounds per client, alternating which goes first; nearcast-peer on 127.10.0.5, aria2c on\n"
                "        127.10.0.6 (DHT, LPD, PEX off); from spawn until it exits complete, then the file compared with\n"
                "        the original and deleted; the median counts\n",
                settings.fetch_rounds);
    std::printf("  fairness: both clients read the same torrent, so both know the same two sources: the seeder's\n"
                "        BitTorrent port (from the tracker) and its web seed (BEP 19); aria2c uses web seeds as\n"
                "        nearcast-peer does; the seeder's /stats counters show how each one split its download\n");
    std::printf("  stream: %u rounds; each a fresh `nearcast-peer stream` on 127.10.0.7 with an empty folder, and as soon\n"
                "        as it prints its URL one GET with Range: bytes=0-, timed from sending the request until the\n"
                "        first body byte; the same GET of the same file from the seeder's web seed, on a fresh\n"
                "        connection, by the same client; the first %zu KiB of each body compared with the file\n",
                settings.stream_rounds, settings.compared_start >> 10);
    if (!settings.peer_extra.empty()) {
        std::string extra;
        for (const auto& argument : settings.peer_extra) extra += " " + argument;
        std::printf("  nearcast-peer given, beyond the above:%s\n", extra.c_str());
    }
    std::printf("  network: %s\n", settings.in_namespace ? "a loopback-only network namespace (unshare --net)"
                                                         : "this machine's loopback (127.0.0.0/8) only; no namespace");
    if (settings.client_cpu)
        std::printf("  CPUs: the clients, the probes and this process pinned to CPU %d, the tracker and the seeder to CPU %d\n",
                    *settings.client_cpu, *settings.server_cpu);
    else
        std::printf("  CPUs: not pinned\n");
    std::printf("  MB is 10^6 bytes, MiB 2^20\n\n");
    std::fflush(stdout);
}

void print_fetch_round(unsigned round, const client_fetches& client, const fetch_round& measured) {
    std::string line = "  fetch round " + std::to_string(round + 1) + ", " + client.name + ": ";
    if (!measured.failure.empty()) {
        line += "FAILED: " + measured.failure;
    } else {
        line += formatted(measured.seconds, "%.2f s");
        if (!std::isnan(measured.own_seconds)) line += " (its own report: complete after " + formatted(measured.own_seconds, "%.2f s") + ")";
        line += "; from the seeder: web seed " + megabytes(measured.sources.web_seed_bytes) + ", BitTorrent " +
                megabytes(measured.sources.bittorrent_bytes);
    }
    if (!std::isnan(measured.cpu.client_seconds))
        line += "; CPU: it " + formatted(measured.cpu.client_seconds, "%.2f s") + ", the seeder " +
                formatted(measured.cpu.seeder_seconds, "%.2f s") + ", other processes " +
                formatted(100 * measured.cpu.others_share, "%.0f%%") + " of a CPU";
    if (stayed(measured.peers_left)) line += "; still listed by the tracker after it exited";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

void print_stream_round(unsigned round, const stream_round& measured) {
    const auto probe = [](const first_byte_probe& p) {
        if (!p.usable()) return "FAILED (" + p.error + ")";
        return formatted(p.body_ms, "%.2f ms") + " (head " + formatted(p.head_ms, "%.2f ms") + ", " + std::to_string(p.status) + ")";
    };
    std::string line = "  stream round " + std::to_string(round + 1) + ": ";
    if (!measured.failure.empty()) line += "FAILED: " + measured.failure + "; ";
    line += "URL after " + formatted(measured.url_seconds, "%.2f s") + ", first body byte " + probe(measured.stream) +
            "; direct GET meanwhile " + probe(measured.direct_busy) + ", machine idle " + probe(measured.direct);
    if (stayed(measured.peers_left)) line += "; the stream was still listed by the tracker after it exited";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

int print_report(const peer_bench_settings& settings, const peer_measurements& measured) {
    const double ours_s = measured.ours.usable() ? measured.ours.median_seconds() : not_a_number;
    const double aria2c_s = measured.aria2c.usable() ? measured.aria2c.median_seconds() : not_a_number;
    const double fetch_ratio = ours_s > 0 && aria2c_s > 0 ? aria2c_s / ours_s : not_a_number;
    const bool stream_ok = measured.stream.usable();
    const double stream_ms = stream_ok ? measured.stream.median_stream_ms() : not_a_number;
    const double direct_ms = stream_ok ? measured.stream.median_direct_busy_ms() : not_a_number;
    const double stream_ratio = stream_ms > 0 && direct_ms > 0 ? stream_ms / direct_ms : not_a_number;
    const double idle_ms = stream_ok ? measured.stream.median_direct_ms() : not_a_number;
    const double idle_ratio = stream_ms > 0 && idle_ms > 0 ? stream_ms / idle_ms : not_a_number;
    const double url_s = measured.stream.median_url_seconds();
    const double file_mb = static_cast<double>(settings.file_size) / 1e6;
    const auto rate = [file_mb](double seconds) { return seconds > 0 ? file_mb / seconds : not_a_number; };

    std::printf("\n  %-52s %16s %16s %8s\n", "", "aria2c", "nearcast-peer", "ratio");
    table_row("fetch " + std::to_string(settings.file_size >> 20) + " MiB, median of " + std::to_string(settings.fetch_rounds) + ", s",
              formatted(aria2c_s, "%.2f"), formatted(ours_s, "%.2f"), formatted(fetch_ratio, "%.2fx"));
    table_row("  as a rate, MB/s", formatted(rate(aria2c_s), "%.0f"), formatted(rate(ours_s), "%.0f"));
    table_row("  fastest..slowest round, s", range_of(fetch_seconds(measured.aria2c), "%.2f"),
              range_of(fetch_seconds(measured.ours), "%.2f"));
    table_row("  nearcast-peer's own seconds_to_complete, median", "-",
              formatted(median_over(measured.ours.rounds, [](const fetch_round& r) { return r.own_seconds; }), "%.2f"));
    const auto cpu_median = [](const client_fetches& client, double cpu_use::*field) {
        return median_over(client.rounds, [field](const fetch_round& r) { return r.cpu.*field; });
    };
    table_row("  CPU of the client (user + system), median, s", formatted(cpu_median(measured.aria2c, &cpu_use::client_seconds), "%.2f"),
              formatted(cpu_median(measured.ours, &cpu_use::client_seconds), "%.2f"));
    table_row("  CPU of the seeder meanwhile, median, s", formatted(cpu_median(measured.aria2c, &cpu_use::seeder_seconds), "%.2f"),
              formatted(cpu_median(measured.ours, &cpu_use::seeder_seconds), "%.2f"));
    std::printf("\n  %-52s %16s %16s %8s\n", "", "direct GET", "nearcast-peer", "ratio");
    table_row("stream: first body byte, median of " + std::to_string(settings.stream_rounds) + ", ms", formatted(direct_ms, "%.2f"),
              formatted(stream_ms, "%.2f"), formatted(stream_ratio, "%.2fx"));
    table_row("  fastest..slowest round, ms", range_of(probe_ms(measured.stream, &stream_round::direct_busy), "%.2f"),
              range_of(probe_ms(measured.stream, &stream_round::stream), "%.2f"));
    table_row("  answer head, median, ms",
              formatted(median_over(measured.stream.rounds, [](const stream_round& r) { return r.direct_busy.head_ms; }), "%.2f"),
              formatted(median_over(measured.stream.rounds, [](const stream_round& r) { return r.stream.head_ms; }), "%.2f"));
    table_row("  the direct GET on an idle machine, median, ms", formatted(idle_ms, "%.2f"), formatted(stream_ms, "%.2f"),
              formatted(idle_ratio, "%.2fx"));
    table_row("    fastest..slowest round, ms", range_of(probe_ms(measured.stream, &stream_round::direct), "%.2f"), "");
    table_row("  process start until the URL is printed, median, s", "-", formatted(url_s, "%.2f"));
    std::printf("\n");

    for (const auto& failure : measured.failures) std::printf("set-up: FAILED: %s\n", failure.c_str());
    if (!measured.log_tail.empty()) std::printf("set-up: last lines of the log:\n%s", measured.log_tail.c_str());
    print_failures(measured.aria2c);
    print_failures(measured.ours);
    print_failures(measured.stream);
    for (const auto& note : measured.notes) std::printf("note: %s\n", note.c_str());
    note_peers_left("nearcast-peer fetch", measured.ours.rounds);
    note_peers_left("aria2c", measured.aria2c.rounds);
    note_peers_left("nearcast-peer stream", measured.stream.rounds);
    for (const auto* client : {&measured.aria2c, &measured.ours}) {
        const double median = client->median_seconds();
        if (median > 0 && spread(fetch_seconds(*client)) > 0.5 * median)
            std::printf("note: %s's rounds spread over more than half its median: the figure is rough\n", client->name.c_str());
        double most_others = 0;
        for (const auto& round : client->rounds)
            if (!std::isnan(round.cpu.others_share)) most_others = std::max(most_others, round.cpu.others_share);
        if (most_others > 0.25)
            std::printf("note: other processes used up to %.0f%% of a CPU during %s's rounds; its time may be long\n",
                        100 * most_others, client->name.c_str());
    }
    std::printf("bars: fetch %sx aria2c's speed (bar >= %.1fx): %s; stream first byte %sx the direct GET's under the same load "
                "(bar <= %.0fx): %s (%sx the GET's on an idle machine)\n",
                formatted(fetch_ratio, "%.2f").c_str(), fetch_ratio_bar, verdict(fetch_ratio, fetch_ratio >= fetch_ratio_bar).c_str(),
                formatted(stream_ratio, "%.2f").c_str(), stream_ratio_bar,
                verdict(stream_ratio, stream_ratio <= stream_ratio_bar).c_str(), formatted(idle_ratio, "%.2f").c_str());
    std::printf("\n");
    std::printf("figure fetch_seconds_nearcast %s\n", formatted(ours_s, "%.3f", "nan").c_str());
    std::printf("figure fetch_seconds_aria2c %s\n", formatted(aria2c_s, "%.3f", "nan").c_str());
    std::printf("figure stream_url_seconds %s\n", formatted(url_s, "%.3f", "nan").c_str());
    std::printf("figure stream_ttfb_ms %s\n", formatted(stream_ms, "%.3f", "nan").c_str());
    std::printf("figure http_ttfb_ms %s\n", formatted(direct_ms, "%.3f", "nan").c_str());
    std::printf("figure http_idle_ttfb_ms %s\n", formatted(idle_ms, "%.3f", "nan").c_str());
    std::printf("figure stream_ttfb_ratio_vs_idle_http %s\n", formatted(idle_ratio, "%.2f", "nan").c_str());
    std::printf("figure fetch_speed_ratio_vs_aria2c %s\n", formatted(fetch_ratio, "%.2f", "nan").c_str());
    std::printf("figure stream_ttfb_ratio_vs_http %s\n", formatted(stream_ratio, "%.2f", "nan").c_str());
    std::fflush(stdout);
    return std::isnan(fetch_ratio) || std::isnan(stream_ratio) ? 1 : 0;
}

}  // namespace nearcast::bench
