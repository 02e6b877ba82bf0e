#include "seeder_report.hpp"

#include <algorithm>
#include <cstdio>

#include "tracker_report.hpp"

namespace nearcast::bench {

namespace {

constexpr double http_ratio_bar = 0.8;
constexpr double startup_bar_s = 5.0;
constexpr double resident_bar_mb = 200.0;

const double not_a_number = std::nan("");

std::string shown(double value, const char* format) {
    if (std::isnan(value)) return "-";
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string shown(const std::optional<double>& value, const char* format, double scale = 1) {
    return shown(value ? *value / scale : not_a_number, format);
}

void table_row(const std::string& label, const std::string& nginx, const std::string& seeder, const std::string& ratio = "") {
    std::printf("  %-62s %14s %16s %8s\n", label.c_str(), nginx.c_str(), seeder.c_str(), ratio.c_str());
}

std::string busy(const range_load_result& result) {
    return shown(100 * result.server_busy, "%.0f%%") + " / " + shown(100 * result.generator_busy, "%.0f%%");
}

std::string figure_text(double value, const char* format) { return std::isnan(value) ? "nan" : shown(value, format); }

std::string verdict(double value, bool ok) {
    if (std::isnan(value)) return "not measured";
    return ok ? "meets the bar" : "MISSES the bar";
}

void print_problems(const std::string& part, const part_outcome& outcome) {
    for (const auto& failure : outcome.failures) std::printf("%s: FAILED: %s\n", part.c_str(), failure.c_str());
    for (const auto& warning : outcome.warnings) std::printf("%s: warning: %s\n", part.c_str(), warning.c_str());
    if (!outcome.log_tail.empty()) std::printf("%s: last lines of the server's log:\n%s", part.c_str(), outcome.log_tail.c_str());
}

double http_megabytes(const http_measurements& server) {
    return server.measured && server.usable() ? server.best.megabytes_per_second() : not_a_number;
}

void print_http_rows(const seeder_bench_settings& settings, const http_measurements& seeder, const http_measurements& nginx,
                     double ratio) {
    table_row("HTTP Range GETs of " + std::to_string(settings.range_size >> 20) + " MiB, best round, MB/s",
              shown(http_megabytes(nginx), "%.0f"), shown(http_megabytes(seeder), "%.0f"), shown(ratio, "%.2fx"));
    const auto answers = [](const http_measurements& server) {
        return server.measured ? with_commas(server.best.answers) : std::string("-");
    };
    table_row("  answers in the measured window", answers(nginx), answers(seeder));
    table_row("  CPU busy, server / load generator", nginx.measured ? busy(nginx.best) : "-", seeder.measured ? busy(seeder.best) : "-");
    const auto checked = [](const http_measurements& server) {
        return server.measured ? shown(static_cast<double>(server.best.checked_bytes) / 1e6, "%.1f") : std::string("-");
    };
    table_row("  bytes compared with the file, MB (best round)", checked(nginx), checked(seeder));
    const auto reconnects = [](const http_measurements& server) {
        return server.measured ? with_commas(server.best.reconnects) : std::string("-");
    };
    table_row("  connections closed by the server", reconnects(nginx), reconnects(seeder));
}

void print_bittorrent_rows(const seeder_bench_settings& settings, const bittorrent_measurements& bittorrent) {
    const swarm_result& swarm = bittorrent.swarm;
    table_row("BitTorrent upload to " + std::to_string(settings.downloaders) + " downloaders, MB/s", "-",
              shown(swarm.megabytes_per_second(), "%.1f"));
    table_row("  downloaders finished", "-", std::to_string(swarm.finished) + " of " + std::to_string(settings.downloaders));
    const double first = swarm.finished_after.empty() ? not_a_number : swarm.finished_after.front();
    table_row("  first / last finished after, s", "-", shown(first, "%.2f") + " / " + shown(swarm.seconds, "%.2f"));
    table_row("  /stats served_bittorrent_bytes growth, MB", "-", shown(bittorrent.stats_growth_bytes, "%.1f", 1e6));
}

void print_startup_rows(const seeder_bench_settings& settings, const startup_measurements& startup) {
    const std::string items = with_commas(settings.items);
    table_row("start-up with " + items + " items, first start, s", "-", shown(startup.first.seconds, "%.2f"));
    table_row("  restart from resume data, s", "-", shown(startup.restart.seconds, "%.2f"));
    table_row("  until listening (catalogue read), first / restart, s", "-",
              shown(startup.first.listening_seconds, "%.2f") + " / " + shown(startup.restart.listening_seconds, "%.2f"));
    table_row("  resident memory, first / restart, MB", "-",
              shown(startup.first.resident_bytes, "%.1f", 1e6) + " / " + shown(startup.restart.resident_bytes, "%.1f", 1e6));
    table_row("  items started from resume data, first / restart", "-",
              shown(startup.first.started_from_resume, "%.0f") + " / " + shown(startup.restart.started_from_resume, "%.0f"));
    table_row("  stop on SIGTERM (saving resume data), first / restart, s", "-",
              shown(startup.first.stop_seconds, "%.2f") + " / " + shown(startup.restart.stop_seconds, "%.2f"));
    table_row("  writing the item files (" + std::to_string(settings.item_size >> 10) + " KiB each), s", "-",
              shown(startup.files_seconds, "%.2f"));
    table_row("  building the catalogue (make_torrent + catalogue::add), s", "-", shown(startup.catalogue_seconds, "%.2f"));
}

}  // namespace

void print_plan(const seeder_bench_settings& settings) {
    std::printf("seeder benchmark: nearcast-seeder's HTTP web seed against nginx, its BitTorrent upload, its start-up\n");
    std::printf("  HTTP: one %llu MiB file of random bytes; %u keep-alive connections, each GETting Range pieces of %llu MiB\n"
                "        at random aligned offsets; %u rounds per server, alternating, each %.1f s warm-up then %.1f s measured;\n"
                "        the best round counts; every %uth answer and the first bytes of every read compared with the file\n",
                static_cast<unsigned long long>(settings.http_file_size >> 20), settings.http_connections,
                static_cast<unsigned long long>(settings.range_size >> 20), settings.rounds,
                std::chrono::duration<double>(settings.window.warmup).count(),
                std::chrono::duration<double>(settings.window.measure).count(), 16u);
    std::printf("  BitTorrent: one %llu MiB item; %u libtorrent downloaders in this process on 127.40.0.1..%u, TCP, each\n"
                "        given only the seeder (127.30.0.1) as peer; no PEX, no incoming connections; at most %lld s\n",
                static_cast<unsigned long long>(settings.bittorrent_file_size >> 20), settings.downloaders, settings.downloaders,
                static_cast<long long>(settings.bittorrent_limit.count()));
    std::printf("  start-up: %s items of %llu KiB, added to the catalogue with the library; serve started, stopped with\n"
                "        SIGTERM and started again (from resume data); timed from spawn until /stats says every item added\n",
                with_commas(settings.items).c_str(), static_cast<unsigned long long>(settings.item_size >> 10));
    std::printf("  MB is 10^6 bytes, MiB 2^20\n");
    if (settings.generator_cpu)
        std::printf("  CPUs: load generator and downloaders pinned to CPU %d, servers to CPU %d\n", *settings.generator_cpu,
                    *settings.server_cpu);
    else
        std::printf("  CPUs: not pinned\n");
    std::printf("\n");
    std::fflush(stdout);
}

int print_report(const seeder_bench_settings& settings, const http_measurements& seeder_http,
                 const http_measurements& nginx_http, const bittorrent_measurements& bittorrent,
                 const startup_measurements& startup) {
    const double seeder_mb = http_megabytes(seeder_http);
    const double nginx_mb = http_megabytes(nginx_http);
    const double http_ratio = seeder_mb > 0 && nginx_mb > 0 ? seeder_mb / nginx_mb : not_a_number;
    const double upload = bittorrent.usable() ? bittorrent.swarm.megabytes_per_second() : not_a_number;
    const double slower_start = startup.usable() ? std::max(startup.first.seconds, startup.restart.seconds) : not_a_number;
    const double larger_resident = startup.usable() && startup.first.resident_bytes && startup.restart.resident_bytes
                                       ? std::max(*startup.first.resident_bytes, *startup.restart.resident_bytes) / 1e6
                                       : not_a_number;

    std::printf("\n  %-62s %14s %16s %8s\n", "", "nginx", "nearcast-seeder", "ratio");
    print_http_rows(settings, seeder_http, nginx_http, http_ratio);
    print_bittorrent_rows(settings, bittorrent);
    print_startup_rows(settings, startup);
    std::printf("\n");

    for (const auto* server : {&nginx_http, &seeder_http}) {
        if (!server->measured) std::printf("HTTP, %s was NOT measured\n", server->name.c_str());
        print_problems("HTTP, " + server->name, *server);
        if (server->measured && server->best.generator_busy > 0.9)
            std::printf("note: against %s the load generator's CPU was %.0f%% busy in the best round: the generator "
                        "(mostly the kernel's copying on its CPU) may be what was measured\n",
                        server->name.c_str(), 100 * server->best.generator_busy);
        if (server->most_other_work > 0.25)
            std::printf("note: other processes used up to %.0f%% of a CPU during %s's rounds; its figure may be low\n",
                        100 * server->most_other_work, server->name.c_str());
    }
    print_problems("BitTorrent", bittorrent);
    print_problems("start-up", startup);

    std::printf("bars: HTTP %.2fx nginx (bar %.1fx): %s; start-up %.2f s (bar %.0f s): %s; %.1f MB resident (bar %.0f MB): %s\n",
                http_ratio, http_ratio_bar, verdict(http_ratio, http_ratio >= http_ratio_bar).c_str(), slower_start, startup_bar_s,
                verdict(slower_start, slower_start < startup_bar_s).c_str(), larger_resident, resident_bar_mb,
                verdict(larger_resident, larger_resident < resident_bar_mb).c_str());
    std::printf("      (start-up: the slower of the two starts; resident memory: the larger VmRSS, in MB of 10^6 bytes)\n\n");
    std::printf("figure http_ratio_vs_nginx %s\n", figure_text(http_ratio, "%.2f").c_str());
    std::printf("figure bt_upload_mb_per_s %s\n", figure_text(upload, "%.1f").c_str());
    std::printf("figure startup_10k_items_s %s\n", figure_text(slower_start, "%.2f").c_str());
    std::printf("figure rss_10k_items_mb %s\n", figure_text(larger_resident, "%.1f").c_str());
    std::fflush(stdout);
    const bool any_nan = std::isnan(http_ratio) || std::isnan(upload) || std::isnan(slower_start) || std::isnan(larger_resident);
    return any_nan ? 1 : 0;
}

}  // namespace nearcast::bench
