#include "tracker_load.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nearcast::bench {

namespace {

// splitmix64: a fixed, well-mixed function of its input, so hashes are reproducible.
std::uint64_t mixed(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

constexpr std::size_t histogram_buckets = 100'000;  // 1 us each: 0 .. 100 ms

}  // namespace

info_hash swarm_hash(std::uint64_t swarm) {
    info_hash hash{};
    for (std::size_t i = 0; i < hash.size(); ++i) {
        const std::uint64_t word = mixed(swarm * 3 + i / 8 + 0x6e6561726361ULL);
        hash[i] = static_cast<std::uint8_t>(word >> (8 * (i % 8)));
    }
    return hash;
}

std::string hex_of(const info_hash& hash) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (const auto byte : hash) {
        text += digits[byte >> 4];
        text += digits[byte & 15];
    }
    return text;
}

peer_id peer_id_of(std::uint64_t peer) {
    // Azureus style, then the peer number in decimal: printable, so HTTP needs no escaping.
    peer_id id{};
    const char prefix[] = "-NC0001-";
    std::copy(prefix, prefix + 8, id.begin());
    std::uint64_t rest = peer;
    for (std::size_t i = id.size(); i-- > 8;) {
        id[i] = static_cast<std::uint8_t>('0' + rest % 10);
        rest /= 10;
    }
    return id;
}

std::uint32_t announce_key_of(std::uint64_t peer) { return static_cast<std::uint32_t>(mixed(peer ^ 0x6b6579ULL)); }

std::vector<in_addr> loopback_source_addresses(unsigned count) {
    std::vector<in_addr> addresses;
    for (unsigned i = 0; i < count; ++i) {
        const unsigned network = 10 * (1 + (i / 8) % 25);  // 127.10, 127.20, ... 127.250
        const unsigned subnet = i % 8 + 8 * (i / 200);     // more than 200 sources: more subnets
        in_addr address{};
        address.s_addr = htonl((127u << 24) | (network << 16) | ((subnet & 255u) << 8) | 1u);
        addresses.push_back(address);
    }
    return addresses;
}

std::string text_of(const in_addr& address) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &address, text, sizeof text);
    return text;
}

std::string text_of(const sockaddr_in& endpoint) {
    return text_of(endpoint.sin_addr) + ":" + std::to_string(ntohs(endpoint.sin_port));
}

std::uint64_t peer_picker::any(peer_range peers) {
    return peers.first + std::uniform_int_distribution<std::uint64_t>(0, peers.size() - 1)(random_);
}

std::uint64_t peer_picker::from_source(peer_range peers, unsigned source, unsigned source_count) {
    // The first peer of the range that announces from `source`, then every source_count-th.
    const std::uint64_t offset = (source + source_count - peers.first % source_count) % source_count;
    const std::uint64_t first = peers.first + offset;
    if (first >= peers.end) return any(peers);
    const std::uint64_t choices = (peers.end - first + source_count - 1) / source_count;
    return first + source_count * std::uniform_int_distribution<std::uint64_t>(0, choices - 1)(random_);
}

latency_histogram::latency_histogram() : buckets_(histogram_buckets, 0) {}

void latency_histogram::record(bench_clock::duration latency) {
    const auto us = static_cast<std::uint64_t>(
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
    ++buckets_[std::min<std::uint64_t>(us, histogram_buckets - 1)];
    ++count_;
    sum_us_ += us;
    max_us_ = std::max(max_us_, us);
}

double latency_histogram::percentile_ms(double fraction) const {
    if (count_ == 0) return std::nan("");
    const auto wanted = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(count_)));
    std::uint64_t seen = 0;
    for (std::size_t us = 0; us < buckets_.size(); ++us) {
        seen += buckets_[us];
        // The bucket's upper edge: a latency of 730.9 us counts as "under 0.731 ms".
        if (seen >= wanted) return us + 1 == buckets_.size() ? max_ms() : static_cast<double>(us + 1) / 1000.0;
    }
    return max_ms();
}

double latency_histogram::mean_ms() const {
    return count_ ? static_cast<double>(sum_us_) / static_cast<double>(count_) / 1000.0 : std::nan("");
}

void load_result::note_error(const std::string& what) {
    if (errors++ == 0) first_error = what;
}

void load_result::note_answer(bench_clock::duration answer_latency, std::uint32_t peers) {
    ++announces;
    latency.record(answer_latency);
    peers_returned += peers;
    fewest_peers_returned = std::min(fewest_peers_returned, peers);
}

run_schedule run_schedule::starting_now(load_window window) {
    const auto now = bench_clock::now();
    return {now + window.warmup, now + window.warmup + window.measure};
}

}  // namespace nearcast::bench
