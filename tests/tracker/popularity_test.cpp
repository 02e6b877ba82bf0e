// What is popular where: per-AS counts, the most counted first, and a bound per AS that halves
// only that AS's counts.
#include <catch2/catch.hpp>

#include <string>

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
