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

TEST_CASE("a supernode unchokes a slot for each child it admits on top of the usual eight; no upload, no slot") {
    CHECK(unchoke_slots(-1, 0) == 8);
    CHECK(unchoke_slots(50'000, 0) == 8);
    CHECK(unchoke_slots(50'000, 8) == 16);
    CHECK(unchoke_slots(-1, 160) == 168);
    CHECK(unchoke_slots(0, 8) == 0);  // uploading off or the monthly cap reached
    CHECK(unchoke_slots(-1, 4'000'000'000u) == 10'008);
}

TEST_CASE("months are UTC calendar months") {
    CHECK(month_of(0) == "1970-01");
    CHECK(month_of(1'796'083'199) == "2026-11");  // 2026-11-30 23:59:59 UTC
    CHECK(month_of(1'796'083'200) == "2026-12");  // 2026-12-01 00:00:00 UTC
}

TEST_CASE("a limits request is read whole: units scaled, on and off, nothing set is left unset") {
    const auto change = parse_limit_change({{"upload_kb", "500"}, {"monthly_cap_mb", "2.5"}, {"uploading", "off"}});
    CHECK(change.upload_rate == 500'000);
    CHECK(change.monthly_bytes == 2'500'000u);
    CHECK(change.uploading == false);
    CHECK_FALSE(change.download_rate.has_value());
    CHECK(parse_limit_change({{"download_kb", "0"}}).download_rate == 0);
    CHECK(parse_limit_change({}).empty());
}

TEST_CASE("a bad limit is refused with its name and what is wrong, and nothing of the request is taken") {
    const auto refused = [](std::vector<std::pair<std::string, std::string>> parameters) {
        try {
            parse_limit_change(parameters);
        } catch (const std::invalid_argument& error) {
            return std::string(error.what());
        }
        return std::string("accepted");
    };
    CHECK(refused({{"upload_kb", "fast"}}) == "upload_kb=fast: not a number");
    CHECK(refused({{"upload_kb", "10"}, {"upload_kb", "20"}}) == "upload_kb is given twice");
    CHECK(refused({{"upload_kb", ""}}) == "upload_kb=(nothing): not a number");
    CHECK(refused({{"upload_kb", "12abc"}}) == "upload_kb=12abc: not a number");
    CHECK(refused({{"upload_kb", "nan"}}) == "upload_kb=nan: not a number");
    CHECK(refused({{"download_kb", "-1"}}) == "download_kb=-1: must not be negative (0 means none)");
    CHECK(refused({{"monthly_cap_mb", "1e30"}}).find("too large") != std::string::npos);
    CHECK(refused({{"monthly_cap_mb", "1e+30"}}).find("too large") != std::string::npos);
    // A limit above 0 that would round to none is refused, not taken as "no limit".
    CHECK(refused({{"download_kb", "0.0001"}}).find("download_kb=0.0001: too small (0 means none") == 0);
    CHECK(parse_limit_change({{"download_kb", "0.001"}}).download_rate == 1);
    CHECK(refused({{"uploading", "maybe"}}) == "uploading must be on or off, not 'maybe'");
    CHECK(refused({{"reset", "yes"}}).find("reset=1") == 0);
    CHECK(refused({{"upload_limit", "5"}}).find("unknown limit 'upload_limit'") == 0);
    // One bad value among good ones: the whole request is refused.
    CHECK(refused({{"upload_kb", "100"}, {"uploading", "maybe"}}) != "accepted");
}

TEST_CASE("limits changed later override earlier ones field by field") {
    limit_change first = parse_limit_change({{"upload_kb", "100"}, {"uploading", "off"}});
    const limit_change later = parse_limit_change({{"uploading", "on"}, {"download_kb", "50"}});
    const limit_change both = merge(first, later);
    CHECK(both.upload_rate == 100'000);
    CHECK(both.uploading == true);
    CHECK(both.download_rate == 50'000);
    CHECK_FALSE(both.monthly_bytes.has_value());
    // A reset drops what came before it and keeps what came with it.
    const limit_change reset = merge(both, parse_limit_change({{"reset", "1"}, {"monthly_cap_mb", "10"}}));
    CHECK_FALSE(reset.upload_rate.has_value());
    CHECK_FALSE(reset.uploading.has_value());
    CHECK(reset.monthly_bytes == 10'000'000u);
}
