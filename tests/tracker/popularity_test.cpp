// What is popular where: per-AS counts, the most counted first, and a bound per AS that halves
// only that AS's counts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "nearcast/tracker/popularity.hpp"

using nearcast::tracker::popularity;

TEST_CASE("an AS's most started items come first, equal counts in item order, other ASes apart") {
    popularity<std::string> counts(100);
    for (int i = 0; i < 3; ++i) counts.count(64512, "film");
    counts.count(64512, "song");
    counts.count(64512, "clip");
    counts.count(64513, "song");
    const auto top = counts.top(64512, 2);
    REQUIRE(top.size() == 2);
    CHECK(top[0] == std::pair<std::string, std::uint32_t>{"film", 3});
    CHECK(top[1] == std::pair<std::string, std::uint32_t>{"clip", 1});  // before "song": item order
    CHECK(counts.top(64513, 10).size() == 1);
    CHECK(counts.top(64514, 10).empty());
    CHECK(counts.count_of(64512, "song") == 1);
}

TEST_CASE("a busy AS halves its own counts when full; a quiet AS keeps its own") {
    popularity<int> counts(4);
    for (int i = 0; i < 8; ++i) counts.count(1, 100);  // 8
    counts.count(1, 101);
    counts.count(1, 102);
    counts.count(1, 103);  // four items: full
    for (int i = 0; i < 3; ++i) counts.count(2, 7);
    counts.count(1, 104);  // a fifth: AS 1 halves (100 -> 4, the ones go), then counts it
    CHECK(counts.count_of(1, 100) == 4);
    CHECK(counts.count_of(1, 101) == 0);
    CHECK(counts.count_of(1, 104) == 1);
    CHECK(counts.count_of(2, 7) == 3);  // another AS is untouched
    CHECK(counts.top(1, 10).size() == 2);
}

TEST_CASE("many ASes at once stay bounded in all: past the total every AS halves") {
    popularity<int> counts(100, 6);
    for (std::uint32_t asn = 1; asn <= 3; ++asn) {
        counts.count(asn, 1);
        counts.count(asn, 1);
        counts.count(asn, 2);  // two entries per AS, six in all
    }
    counts.count(4, 9);  // a seventh: every AS halves first (the ones go), then it is counted
    for (std::uint32_t asn = 1; asn <= 3; ++asn) {
        CHECK(counts.count_of(asn, 1) == 1);
        CHECK(counts.count_of(asn, 2) == 0);
    }
    CHECK(counts.count_of(4, 9) == 1);
}

TEST_CASE("counts kept side by side agree with a plain per-AS tally through many halvings") {
    // A reference that keeps each AS's counts in a std::map and halves them in item order:
    // the same counts, and the same top lists, after thousands of starts over a few ASes.
    popularity<int> counts(64, 150);
    std::map<std::uint32_t, std::map<int, std::uint32_t>> tally;
    std::size_t total = 0;
    const auto halve = [&](std::map<int, std::uint32_t>& of) {
        for (auto at = of.begin(); at != of.end();) {
            at->second /= 2;
            if (at->second == 0) {
                at = of.erase(at);
                --total;
            } else {
                ++at;
            }
        }
    };
    std::uint64_t state = 12345;
    for (int start = 0; start < 20000; ++start) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        const auto asn = static_cast<std::uint32_t>((state >> 60) % 4);
        const int item = static_cast<int>((state >> 33) % 97) * static_cast<int>((state >> 50) % 3);  // skewed: 0 often
        counts.count(asn, item);
        auto& of = tally[asn];
        if (of.find(item) == of.end()) {
            if (total >= 150) {
                for (auto& [other, its] : tally) halve(its);
            } else if (of.size() >= 64) {
                halve(of);
            }
            ++total;
        }
        ++of[item];
        if (start % 997 == 0) {
            for (const auto& [as_number, expected] : tally) {
                std::vector<std::pair<int, std::uint32_t>> ranked(expected.begin(), expected.end());
                std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
                ranked.resize(std::min<std::size_t>(ranked.size(), 10));
                CHECK(counts.top(as_number, 10) == ranked);
                for (const auto& [item_number, count] : expected) CHECK(counts.count_of(as_number, item_number) == count);
            }
        }
    }
}
