// The daemon's cache quota and monthly upload cap.
#include <catch2/catch.hpp>

#include "nearcast/peer/cache_policy.hpp"

using namespace nearcast::peer;

TEST_CASE("the least recently used items go first until the new item fits the quota") {
    const std::vector<cached_item> items = {
        {"a", 400, 100, false}, {"b", 300, 50, false}, {"c", 200, 300, false}, {"d", 100, 10, true},
    };
    // 1000 on disk, 300 coming, quota 1000: 300 must go; b (used at 50) is the oldest not in use.
    CHECK(evict_for(items, 1000, 300) == std::vector<std::string>{"b"});
    // 700 must go: b, then a.
    CHECK(evict_for(items, 1000, 700) == std::vector<std::string>{"b", "a"});
    // Fits already: nothing goes.
    CHECK(evict_for(items, 2000, 500).empty());
}

TEST_CASE("an item in use is never evicted, even when the quota cannot be met") {
    const std::vector<cached_item> items = {{"playing", 900, 1, true}, {"old", 100, 2, false}};
    CHECK(evict_for(items, 500, 0) == std::vector<std::string>{"old"});
}

TEST_CASE("the monthly cap stops uploading until the month ends; the switch stops it at once") {
    upload_cap cap;
    CHECK(upload_rate_now(cap, 1'000'000'000) == -1);
    cap.rate_limit = 50'000;
    CHECK(upload_rate_now(cap, 0) == 50'000);
    cap.monthly_bytes = 10'000'000'000;
    CHECK(upload_rate_now(cap, 9'999'999'999) == 50'000);
    CHECK(upload_rate_now(cap, 10'000'000'000) == 0);
    cap.monthly_bytes = 0;
    cap.uploading = false;
    CHECK(upload_rate_now(cap, 0) == 0);
}

TEST_CASE("months are UTC calendar months") {
    CHECK(month_of(0) == "1970-01");
    CHECK(month_of(1'796'083'199) == "2026-11");  // 2026-11-30 23:59:59 UTC
    CHECK(month_of(1'796'083'200) == "2026-12");  // 2026-12-01 00:00:00 UTC
}
