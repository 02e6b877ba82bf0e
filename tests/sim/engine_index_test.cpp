// The simulator's incremental indexes against the plain structures they replace: the flat
// supernode/item index against std::unordered_map, and the cache's use order against sorting
// (whole seconds, then the decimal name) as the daemon's evict_for does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <unordered_map>

#include "cache_index.hpp"
#include "flat_index.hpp"

using namespace nearcast::sim::detail;

TEST_CASE("the flat index answers as std::unordered_map does through inserts and erases") {
    flat_index index;
    std::unordered_map<std::uint64_t, std::uint32_t> plain;
    std::mt19937_64 random(7);
    for (int step = 0; step < 200'000; ++step) {
        // Few distinct keys, so that erases and probe chains are common.
        const std::uint64_t key = (random() % 64) << 32 | (random() % 512);
        switch (random() % 3) {
        case 0:
        case 1: {
            const auto value = static_cast<std::uint32_t>(random() % 1000);
            index.insert(key, value);
            plain[key] = value;
            break;
        }
        case 2:
            index.erase(key);
            plain.erase(key);
            break;
        }
        if (step % 997 == 0) {
            REQUIRE(index.size() == plain.size());
            for (std::uint64_t probe = 0; probe < 64; ++probe) {
                const std::uint64_t k = probe << 32 | (random() % 512);
                const auto found = plain.find(k);
                REQUIRE(index.find(k) == (found == plain.end() ? flat_index::missing : found->second));
            }
        }
    }
    for (const auto& [key, value] : plain) REQUIRE(index.find(key) == value);
}

TEST_CASE("cache names compare as their decimal strings do") {
    std::mt19937 random(3);
    const std::uint32_t samples[] = {0, 1, 9, 10, 11, 99, 100, 101, 4294967295u, 429496729u, 1000000000u};
    for (const auto a : samples) {
        for (const auto b : samples) CHECK((lru_key(0, a) < lru_key(0, b)) == (std::to_string(a) < std::to_string(b)));
    }
    for (int i = 0; i < 10'000; ++i) {
        const auto a = static_cast<std::uint32_t>(random() % 100000), b = static_cast<std::uint32_t>(random() % 100000);
        REQUIRE((lru_key(5, a) < lru_key(5, b)) == (std::to_string(a) < std::to_string(b)));
    }
    CHECK(lru_key(4, 99) < lru_key(5, 1));  // the older second first, whatever the names
}

TEST_CASE("a cache's use list visits sessions in the daemon's eviction order") {
    std::mt19937 random(11);
    std::vector<use_links> links(400);
    std::vector<std::int64_t> used(400, -1);
    supernode_cache cache;
    std::int64_t now = 0;
    for (int step = 0; step < 5'000; ++step) {
        now += random() % 3;  // time moves on, often not past the second
        const auto session = static_cast<std::uint32_t>(random() % 400);
        if (used[session] < 0) {
            cache.add(session, 1e6, links);
            used[session] = now;
        } else if (random() % 4 == 0) {
            cache.remove(session, 1e6, links);
            used[session] = -1;
        } else {
            cache.touch(session, used[session], now, links);
            used[session] = now;
        }
    }
    std::vector<std::pair<std::int64_t, std::string>> expected;
    for (std::uint32_t s = 0; s < used.size(); ++s) {
        if (used[s] >= 0) expected.emplace_back(used[s], std::to_string(s));
    }
    std::sort(expected.begin(), expected.end());
    std::vector<std::pair<std::int64_t, std::string>> visited;
    cache.in_eviction_order(links, [&](std::uint32_t s) { return used[s]; }, [&](const lru_key& key) {
        visited.emplace_back(key.used_s, std::to_string(key.session));
        return true;
    });
    CHECK(visited == expected);
    CHECK(cache.sessions.size() == expected.size());
}
