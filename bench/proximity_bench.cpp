// Benchmark: the proximity engine against libmaxminddb, side by side in one run.
//
// Lookups: the same stream of uniformly random IPv4 addresses through our prefix table (built
// from the full 512,621-prefix RouteViews table) and through libmaxminddb's
// MMDB_lookup_sockaddr plus reading autonomous_system_number (the full ip-location-db MaxMind
// DB). Rounds alternate between the two so both see the same machine; the best round counts.
// Also: build time from text, from MRT, snapshot load time and memory per prefix.
#include <arpa/inet.h>
#include <maxminddb.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "nearcast/proximity/model.hpp"

namespace prox = nearcast::proximity;
using bench_clock = std::chrono::steady_clock;

namespace {

std::string shared(const std::string& relative) {
    const auto path = std::filesystem::path(NEARCAST_SHARED_DATA_DIR) / relative;
    if (!std::filesystem::exists(path)) {
        std::fprintf(stderr, "bench-proximity: required data file is missing: %s\n", path.c_str());
        std::exit(2);
    }
    return path.string();
}

double milliseconds_since(bench_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(bench_clock::now() - start).count();
}

// Runs `work` `rounds` times and returns the fastest time in milliseconds.
template <class Work>
double best_of(int rounds, Work work) {
    double best = 1e300;
    for (int i = 0; i < rounds; ++i) {
        const auto start = bench_clock::now();
        work();
        best = std::min(best, milliseconds_since(start));
    }
    return best;
}

std::uint64_t our_lookups(const prox::prefix_table& table, const std::vector<prox::ip_address>& addresses) {
    std::uint64_t sum = 0;
    for (const auto& address : addresses) sum += table.origin_of(address);
    return sum;
}

std::uint64_t maxmind_lookups(MMDB_s& database, const std::vector<sockaddr_in>& addresses) {
    std::uint64_t sum = 0;
    for (const auto& address : addresses) {
        int error = 0;
        MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&database, reinterpret_cast<const sockaddr*>(&address), &error);
        if (error != MMDB_SUCCESS || !result.found_entry) continue;
        MMDB_entry_data_s data;
        if (MMDB_get_value(&result.entry, &data, "autonomous_system_number", nullptr) == MMDB_SUCCESS &&
            data.has_data && data.type == MMDB_DATA_TYPE_UINT32) {
            sum += data.uint32;
        }
    }
    return sum;
}

}  // namespace

int main() {
    const std::string pfx2as = shared("bgp/routeviews2-20140513.pfx2as.gz");
    const std::string mrt = shared("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz");
    const std::string mmdb_path = shared("mmdb/ip-location-db/ip-location-db-asn-full.mmdb");
    spdlog::set_level(spdlog::level::warn);

    std::printf("proximity benchmark (one core; best of several rounds)\n\n");

    // Build from text: read, gunzip, parse 512,621 lines, build the table.
    prox::model full;
    const double text_build_ms = best_of(3, [&] { full = prox::model::load({pfx2as}); });
    const double mrt_build_ms = best_of(3, [&] { (void)prox::model::load({mrt}); });
    const auto& table = full.prefixes();
    std::printf("%-44s %12.1f ms  (%zu prefixes)\n", "build from pfx2as text (gzip)", text_build_ms, table.size());
    std::printf("%-44s %12.1f ms\n", "build from MRT sample (gzip, 269,914 entries)", mrt_build_ms);

    const std::string snapshot = (std::filesystem::temp_directory_path() /
                                  ("nearcast-bench-" + std::to_string(::getpid()) + ".ncprox")).string();
    full.save_snapshot(snapshot);
    const double snapshot_load_ms = best_of(5, [&] { (void)prox::model::load_snapshot(snapshot); });
    const auto snapshot_bytes = std::filesystem::file_size(snapshot);
    std::filesystem::remove(snapshot);
    std::printf("%-44s %12.1f ms  (%ju bytes)\n", "load snapshot of the full table", snapshot_load_ms,
                static_cast<std::uintmax_t>(snapshot_bytes));

    const double bytes_per_prefix = static_cast<double>(table.memory_bytes()) / static_cast<double>(table.size());
    std::printf("%-44s %12.1f B   (%zu bytes in all)\n", "memory per prefix", bytes_per_prefix, table.memory_bytes());

    // The same random address stream for both.
    constexpr std::size_t count = 4'000'000;
    std::mt19937_64 random(42);
    std::vector<prox::ip_address> addresses;
    std::vector<sockaddr_in> sockaddrs;
    addresses.reserve(count);
    sockaddrs.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto bits = static_cast<std::uint32_t>(random());
        addresses.push_back(prox::ip_address::v4(bits));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(bits);
        sockaddrs.push_back(address);
    }

    MMDB_s database;
    if (const int status = MMDB_open(mmdb_path.c_str(), MMDB_MODE_MMAP, &database); status != MMDB_SUCCESS) {
        std::fprintf(stderr, "bench-proximity: %s: %s\n", mmdb_path.c_str(), MMDB_strerror(status));
        return 2;
    }
    double ours_ms = 1e300, theirs_ms = 1e300;
    std::uint64_t ours_sum = 0, theirs_sum = 0;
    for (int round = 0; round < 5; ++round) {
        ours_ms = std::min(ours_ms, best_of(1, [&] { ours_sum = our_lookups(table, addresses); }));
        theirs_ms = std::min(theirs_ms, best_of(1, [&] { theirs_sum = maxmind_lookups(database, sockaddrs); }));
    }
    MMDB_close(&database);
    const double ours_per_s = static_cast<double>(count) / (ours_ms / 1000.0);
    const double theirs_per_s = static_cast<double>(count) / (theirs_ms / 1000.0);
    std::printf("%-44s %12.0f /s  (%.1f ns each, checksum %ju)\n", "lookups: nearcast prefix table", ours_per_s,
                ours_ms * 1e6 / static_cast<double>(count), static_cast<std::uintmax_t>(ours_sum));
    std::printf("%-44s %12.0f /s  (%.1f ns each, checksum %ju)\n", "lookups: libmaxminddb + ASN", theirs_per_s,
                theirs_ms * 1e6 / static_cast<double>(count), static_cast<std::uintmax_t>(theirs_sum));
    std::printf("%-44s %12.2f x   (bar: 5x)\n\n", "ratio", ours_per_s / theirs_per_s);

    std::printf("figure lookup_ratio_vs_libmaxminddb %.2f\n", ours_per_s / theirs_per_s);
    std::printf("figure lookups_per_s %.0f\n", ours_per_s);
    std::printf("figure snapshot_load_ms %.2f\n", snapshot_load_ms);
    std::printf("figure text_build_ms %.1f\n", text_build_ms);
    std::printf("figure bytes_per_prefix %.1f\n", bytes_per_prefix);
    return 0;
}
