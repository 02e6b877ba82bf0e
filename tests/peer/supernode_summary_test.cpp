#include <catch2/catch.hpp>

#include <array>
#include <random>

#include "nearcast/peer/supernode_summary.hpp"

using namespace nearcast::peer;

namespace {

std::array<std::uint8_t, 20> random_hash(std::mt19937_64& random) {
    std::array<std::uint8_t, 20> hash{};
    for (auto& byte : hash) byte = static_cast<std::uint8_t>(random());
    return hash;
}

}  // namespace

TEST_CASE("a cache filter holds what was added and rarely claims what was not") {
    std::mt19937_64 random(5);
    cache_filter filter;
    std::vector<std::array<std::uint8_t, 20>> held;
    for (int i = 0; i < 800; ++i) {
        held.push_back(random_hash(random));
        filter.add(held.back());
    }
    for (const auto& hash : held) CHECK(filter.may_hold(hash));  // never a false negative
    int false_positives = 0;
    for (int i = 0; i < 10'000; ++i) false_positives += filter.may_hold(random_hash(random));
    // 8,192 bits, 5 hashes, 800 items: about 1% in theory; well under 3% in any run.
    CHECK(false_positives < 300);
}

TEST_CASE("a supernode summary survives encoding, and broken ones are refused with a reason") {
    std::mt19937_64 random(9);
    supernode_summary summary;
    summary.supernode = true;
    summary.children = 12;
    summary.admission_limit = 50;
    summary.cached_items = 2;
    const auto a = random_hash(random), b = random_hash(random);
    summary.cache.add(a);
    summary.cache.add(b);
    const auto decoded = decode_summary(encode(summary));
    CHECK(decoded.supernode);
    CHECK(decoded.children == 12);
    CHECK(decoded.admission_limit == 50);
    CHECK(decoded.has_room());
    CHECK(decoded.cache.may_hold(a));
    CHECK(decoded.cache.may_hold(b));
    CHECK(decoded.cache.bits() == summary.cache.bits());
    const auto c = random_hash(random);
    summary.fetching.add(c);
    const auto with_fetching = decode_summary(encode(summary));
    CHECK(with_fetching.fetching.may_hold(c));
    CHECK_FALSE(with_fetching.cache.may_hold(c));
    // An older summary without the fetching filter is read as fetching nothing.
    CHECK_FALSE(decode_summary("d5:cache1:x8:childreni1e6:hashesi5e5:itemsi0e5:limiti5e9:supernodei1ee").fetching.may_hold(c));
    CHECK_THROWS_WITH(decode_summary("d5:cache1:x8:childreni1e8:fetching0:15:fetching_hashesi5e6:hashesi5e5:itemsi0e5:limiti5e9:supernodei1ee"),
                      Catch::Contains("fetching filter"));

    CHECK_THROWS_WITH(decode_summary("not bencode"), Catch::Contains("not bencoded"));
    CHECK_THROWS_WITH(decode_summary("li1ee"), Catch::Contains("not a dictionary"));
    CHECK_THROWS_WITH(decode_summary("d8:childreni-1e9:supernodei1ee"), Catch::Contains("'children'"));
    CHECK_THROWS_WITH(decode_summary("d8:childreni1ee"), Catch::Contains("'supernode' is missing"));
    CHECK_THROWS_WITH(decode_summary("d5:cache0:8:childreni1e6:hashesi5e5:itemsi0e5:limiti5e9:supernodei1ee"),
                      Catch::Contains("bad size"));
    CHECK_THROWS_WITH(decode_summary("d5:cache1:x8:childreni1e6:hashesi99e5:itemsi0e5:limiti5e9:supernodei1ee"),
                      Catch::Contains("'hashes'"));
    CHECK_THROWS_AS(decode_summary(std::string(1 << 16, 'd')), summary_error);
    // A key a newer version adds is ignored.
    auto extended = encode(summary);
    extended.insert(1, "1:ai1e");  // keys stay in order
    CHECK_NOTHROW(decode_summary(extended));
}
