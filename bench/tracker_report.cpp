#include "tracker_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nearcast::bench {

namespace {

constexpr double udp_ratio_bar = 1.0;
constexpr double http_ratio_bar = 2.0;
constexpr double p99_bar_ms = 2.0;
constexpr double bytes_per_peer_bar = 128.0;

const double not_a_number = std::nan("");

std::string number(double value, const char* format = "%.0f") {
    if (std::isnan(value)) return "-";
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string rate(const load_result& result) {
    if (result.announces == 0) return "-";
    return with_commas(static_cast<std::uint64_t>(std::llround(result.announces_per_second()))) + " /s";
}

std::string latencies(const load_result& result) {
    if (result.announces == 0) return "-";
    return number(result.latency.percentile_ms(0.50), "%.3f") + " / " + number(result.latency.percentile_ms(0.99), "%.3f") +
           " / " + number(result.latency.max_ms(), "%.1f");
}

void row(const std::string& label, const std::string& ours, const std::string& theirs, const std::string& ratio = "") {
    std::printf("  %-44s %18s %18s %8s\n", label.c_str(), theirs.c_str(), ours.c_str(), ratio.c_str());
}

double ratio_of(double ours, double theirs) { return theirs > 0 && ours > 0 ? ours / theirs : not_a_number; }

std::string ratio_text(double ratio) { return std::isnan(ratio) ? "" : number(ratio, "%.2fx"); }

double p99(const tracker_measurements& tracker, const load_result& result) {
    return tracker.usable() && result.announces ? result.latency.percentile_ms(0.99) : not_a_number;
}

// Figure lines say "nan" for what was not measured, so a reader of figures sees a hole.
std::string figure_value(double value, const char* format) { return std::isnan(value) ? "nan" : number(value, format); }

std::string verdict(bool ok) { return ok ? "meets the bar" : "MISSES the bar"; }

void print_problems(const tracker_measurements& tracker) {
    for (const auto& failure : tracker.failures) std::printf("%s: FAILED: %s\n", tracker.name.c_str(), failure.c_str());
    for (const auto& warning : tracker.warnings) std::printf("%s: warning: %s\n", tracker.name.c_str(), warning.c_str());
    if (!tracker.log_tail.empty()) std::printf("%s: last lines of its log:\n%s", tracker.name.c_str(), tracker.log_tail.c_str());
}

// Real answers to numwant 50 in swarms of 50 peers carry 49 or 50 of them.
void check_peer_counts(const tracker_measurements& tracker) {
    for (const auto* result : {&tracker.http, &tracker.udp_fresh, &tracker.udp_reused}) {
        if (result->announces && result->mean_peers_returned() < numwant - 1.0)
            std::printf("%s: WARNING: answers carried %.1f peers on average (fewest %u); 49 or 50 expected\n",
                        tracker.name.c_str(), result->mean_peers_returned(), result->fewest_peers_returned);
    }
}

}  // namespace

std::string with_commas(std::uint64_t value) {
    std::string digits = std::to_string(value);
    for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(static_cast<std::size_t>(at), ",");
    return digits;
}

void print_plan(const bench_settings& settings) {
    const auto sources = loopback_source_addresses(settings.source_addresses);
    std::printf("tracker benchmark: nearcast-tracker against opentracker, the same load generators against both\n");
    std::printf("  swarms: %s x %u peers, every peer a leecher; re-announces by a random peer, numwant %u\n",
                with_commas(settings.swarms).c_str(), peers_per_swarm, numwant);
    std::printf("  peers announce from %u loopback addresses (%s .. %s), port %u+ by place in swarm\n",
                settings.source_addresses, text_of(sources.front()).c_str(), text_of(sources.back()).c_str(),
                first_peer_port);
    std::printf("  HTTP: %u connections asking for keep-alive; reconnect when the server closes\n", settings.http_connections);
    std::printf("  UDP: %u announces in flight over %u sockets\n", settings.udp_in_flight, settings.source_addresses);
    std::printf("  each timed row: %u rounds per tracker, alternating; each %.1f s warm-up, then %.1f s measured; "
                "the best round counts\n",
                settings.rounds, std::chrono::duration<double>(settings.window.warmup).count(),
                std::chrono::duration<double>(settings.window.measure).count());
    if (settings.generator_cpu)
        std::printf("  CPUs: load generator pinned to CPU %d, tracker to CPU %d\n", *settings.generator_cpu, *settings.tracker_cpu);
    else
        std::printf("  CPUs: not pinned\n");
    std::printf("\n");
    std::fflush(stdout);
}

int print_report(const bench_settings& settings, const tracker_measurements& opentracker,
                 const tracker_measurements& nearcast) {
    const tracker_measurements& ours = nearcast;
    const tracker_measurements& theirs = opentracker;
    std::printf("\n  %-44s %18s %18s %8s\n", "", "opentracker", "nearcast", "ratio");
    row("populate " + with_commas(settings.swarms * std::uint64_t{peers_per_swarm}) + " peers, UDP", rate(ours.populate),
        rate(theirs.populate));
    const double http_ratio = ratio_of(ours.http.announces_per_second(), theirs.http.announces_per_second());
    const double udp_ratio = ratio_of(ours.udp_reused.announces_per_second(), theirs.udp_reused.announces_per_second());
    const double udp_fresh_ratio = ratio_of(ours.udp_fresh.announces_per_second(), theirs.udp_fresh.announces_per_second());
    row("HTTP announces", rate(ours.http), rate(theirs.http), ratio_text(http_ratio));
    row("  latency p50 / p99 / max, ms", latencies(ours.http), latencies(theirs.http));
    row("  reconnections per announce", number(ours.http.announces ? static_cast<double>(ours.http.reconnects) / static_cast<double>(ours.http.announces) : not_a_number, "%.2f"),
        number(theirs.http.announces ? static_cast<double>(theirs.http.reconnects) / static_cast<double>(theirs.http.announces) : not_a_number, "%.2f"));
    row("UDP announces, connection ID reused", rate(ours.udp_reused), rate(theirs.udp_reused), ratio_text(udp_ratio));
    row("  latency p50 / p99 / max, ms", latencies(ours.udp_reused), latencies(theirs.udp_reused));
    row("UDP announces, connect before each", rate(ours.udp_fresh), rate(theirs.udp_fresh), ratio_text(udp_fresh_ratio));
    row("  latency p50 / p99 / max, ms", latencies(ours.udp_fresh), latencies(theirs.udp_fresh));
    row("UDP timeouts (no answer in 1 s), all runs",
        ours.measured ? with_commas(ours.udp_fresh.timeouts + ours.udp_reused.timeouts + ours.memory_load.timeouts) : "-",
        theirs.measured ? with_commas(theirs.udp_fresh.timeouts + theirs.udp_reused.timeouts + theirs.memory_load.timeouts) : "-");
    const auto peers_text = [](const load_result& result) {
        return result.announces ? number(result.mean_peers_returned(), "%.1f") + " / " + std::to_string(result.fewest_peers_returned) : "-";
    };
    row("peers per answer, mean / fewest: HTTP", peers_text(ours.http), peers_text(theirs.http));
    row("  UDP, ID reused", peers_text(ours.udp_reused), peers_text(theirs.udp_reused));
    const auto cpus = [](const load_result& result) {
        return number(100 * result.tracker_busy, "%.0f%%") + " / " + number(100 * result.generator_busy, "%.0f%%");
    };
    row("CPU busy, tracker / generator: HTTP", cpus(ours.http), cpus(theirs.http));
    row("  UDP, ID reused", cpus(ours.udp_reused), cpus(theirs.udp_reused));
    row("  UDP, connect before each", cpus(ours.udp_fresh), cpus(theirs.udp_fresh));
    row("memory: peers loaded over UDP", ours.memory_load.announces ? with_commas(ours.memory_load.announces) : "-",
        theirs.memory_load.announces ? with_commas(theirs.memory_load.announces) : "-");
    row("  load rate", rate(ours.memory_load), rate(theirs.memory_load));
    row("  resident memory afterwards, MB", number(ours.resident_bytes_after.value_or(not_a_number) / 1e6, "%.1f"),
        number(theirs.resident_bytes_after.value_or(not_a_number) / 1e6, "%.1f"));
    const double bytes_ratio = ratio_of(ours.bytes_per_peer.value_or(not_a_number), theirs.bytes_per_peer.value_or(not_a_number));
    row("  bytes per peer (VmRSS growth / peers)", number(ours.bytes_per_peer.value_or(not_a_number), "%.1f"),
        number(theirs.bytes_per_peer.value_or(not_a_number), "%.1f"), ratio_text(bytes_ratio));
    row("  bytes per peer (/stats memory_bytes / peers)", number(ours.stats_bytes_per_peer.value_or(not_a_number), "%.1f"), "-");
    std::printf("\n");

    for (const auto* tracker : {&opentracker, &nearcast}) {
        if (!tracker->measured)
            std::printf("%s was NOT measured: %s\n", tracker->name.c_str(), tracker->not_measured_because.c_str());
        print_problems(*tracker);
        if (tracker->measured) check_peer_counts(*tracker);
    }
    for (const auto* tracker : {&opentracker, &nearcast}) {
        double generator_peak = 0;
        for (const auto* result : {&tracker->http, &tracker->udp_fresh, &tracker->udp_reused})
            if (!std::isnan(result->generator_busy)) generator_peak = std::max(generator_peak, result->generator_busy);
        if (generator_peak > 0.9)
            std::printf("note: against %s the load generator's CPU was %.0f%% busy in a best round: the generator "
                        "(mostly the kernel's TCP or UDP work on its CPU) may be what was measured\n",
                        tracker->name.c_str(), 100 * generator_peak);
        if (tracker->most_other_work > 0.25)
            std::printf("note: other processes used up to %.0f%% of a CPU during %s's rounds; its figures may be low\n",
                        100 * tracker->most_other_work, tracker->name.c_str());
    }

    const bool both = opentracker.usable() && nearcast.usable();
    const double figure_udp_ratio = both ? udp_ratio : not_a_number;
    const double figure_http_ratio = both ? http_ratio : not_a_number;
    const double figure_udp_p99 = p99(nearcast, nearcast.udp_reused);
    const double figure_http_p99 = p99(nearcast, nearcast.http);
    const double figure_bytes = nearcast.usable() ? nearcast.bytes_per_peer.value_or(not_a_number) : not_a_number;
    if (nearcast.usable()) {
        std::printf("bars: UDP %.2fx opentracker (bar %.1fx): %s; HTTP %.2fx (bar %.0fx): %s\n", figure_udp_ratio,
                    udp_ratio_bar, verdict(figure_udp_ratio >= udp_ratio_bar).c_str(), figure_http_ratio, http_ratio_bar,
                    verdict(figure_http_ratio >= http_ratio_bar).c_str());
        std::printf("      p99 UDP %.3f ms, HTTP %.3f ms (bar %.0f ms): %s; %.1f bytes per peer (bar %.0f): %s\n",
                    figure_udp_p99, figure_http_p99, p99_bar_ms,
                    verdict(figure_udp_p99 < p99_bar_ms && figure_http_p99 < p99_bar_ms).c_str(), figure_bytes,
                    bytes_per_peer_bar, verdict(figure_bytes <= bytes_per_peer_bar).c_str());
    }
    std::printf("\n");
    std::printf("figure udp_ratio_vs_opentracker %s\n", figure_value(figure_udp_ratio, "%.2f").c_str());
    std::printf("figure http_ratio_vs_opentracker %s\n", figure_value(figure_http_ratio, "%.2f").c_str());
    std::printf("figure udp_p99_ms %s\n", figure_value(figure_udp_p99, "%.3f").c_str());
    std::printf("figure http_p99_ms %s\n", figure_value(figure_http_p99, "%.3f").c_str());
    std::printf("figure bytes_per_peer %s\n", figure_value(figure_bytes, "%.1f").c_str());
    std::fflush(stdout);

    const bool opentracker_failed = !opentracker.usable();
    const bool nearcast_failed = nearcast.measured && !nearcast.failures.empty();
    return opentracker_failed || nearcast_failed ? 1 : 0;
}

}  // namespace nearcast::bench
