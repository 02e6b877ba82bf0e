// Range headers read as RFC 9110 section 14 has them, validators compared as section 13
// says, and URL paths that could leave an item's folder refused.
#include <catch2/catch.hpp>

#include <string>

#include "nearcast/core/byte_ranges.hpp"

using namespace nearcast::core;

namespace {

std::vector<byte_range> partial_ranges(std::string_view header, std::uint64_t size) {
    const range_request parsed = parse_range_header(header, size);
    REQUIRE(parsed.verdict == range_verdict::partial);
    return parsed.ranges;
}

range_verdict verdict_of(std::string_view header, std::uint64_t size) { return parse_range_header(header, size).verdict; }

}  // namespace

TEST_CASE("no Range header, or one of another unit, serves the whole file", "[byte_ranges]") {
    CHECK(verdict_of("", 100) == range_verdict::whole);
    CHECK(verdict_of("   ", 100) == range_verdict::whole);
    CHECK(verdict_of("items=0-5", 100) == range_verdict::whole);
}

TEST_CASE("a closed range, an open range and a suffix range are read and clamped to the size", "[byte_ranges]") {
    CHECK(partial_ranges("bytes=0-99", 1000) == std::vector<byte_range>{{0, 99}});
    CHECK(partial_ranges("bytes=100-", 1000) == std::vector<byte_range>{{100, 999}});
    CHECK(partial_ranges("bytes=-500", 1000) == std::vector<byte_range>{{500, 999}});
    CHECK(partial_ranges("bytes=990-2000", 1000) == std::vector<byte_range>{{990, 999}});
    CHECK(partial_ranges("BYTES=5-5", 1000) == std::vector<byte_range>{{5, 5}});
    CHECK(partial_ranges("bytes=0-99999999999999999999999", 10) == std::vector<byte_range>{{0, 9}});
}

TEST_CASE("a suffix range longer than the file selects the whole file", "[byte_ranges]") {
    CHECK(partial_ranges("bytes=-5000", 1000) == std::vector<byte_range>{{0, 999}});
}

TEST_CASE("several ranges keep the order they were asked in", "[byte_ranges]") {
    CHECK(partial_ranges("bytes=0-0,10-20", 100) == std::vector<byte_range>{{0, 0}, {10, 20}});
    CHECK(partial_ranges("bytes=50-59, 0-9 ,-5", 100) == std::vector<byte_range>{{50, 59}, {0, 9}, {95, 99}});
}

TEST_CASE("overlapping and adjacent ranges are coalesced into the place of the first asked", "[byte_ranges]") {
    CHECK(partial_ranges("bytes=80-89,10-20,15-30,31-40", 100) == std::vector<byte_range>{{80, 89}, {10, 40}});
    CHECK(partial_ranges("bytes=0-10,0-10,0-10", 100) == std::vector<byte_range>{{0, 10}});
    CHECK(partial_ranges("bytes=90-,-20", 100) == std::vector<byte_range>{{80, 99}});
}

TEST_CASE("ranges that start past the end are dropped, and a set of only those is unsatisfiable", "[byte_ranges]") {
    CHECK(partial_ranges("bytes=2000-3000,0-1", 1000) == std::vector<byte_range>{{0, 1}});
    CHECK(verdict_of("bytes=1000-", 1000) == range_verdict::unsatisfiable);
    CHECK(verdict_of("bytes=1000-1000,5000-", 1000) == range_verdict::unsatisfiable);
    CHECK(verdict_of("bytes=-0", 1000) == range_verdict::unsatisfiable);
    CHECK(verdict_of("bytes=99999999999999999999999-", 1000) == range_verdict::unsatisfiable);
}

TEST_CASE("every range of an empty file is unsatisfiable", "[byte_ranges]") {
    CHECK(verdict_of("bytes=0-0", 0) == range_verdict::unsatisfiable);
    CHECK(verdict_of("bytes=-1", 0) == range_verdict::unsatisfiable);
    CHECK(verdict_of("bytes=0-", 0) == range_verdict::unsatisfiable);
}

TEST_CASE("a malformed Range header is reported as malformed so that it can be ignored", "[byte_ranges]") {
    for (const char* header : {"bytes", "=0-1", "bytes=", "bytes=,", "bytes=5-2", "bytes=x-", "bytes=1-x", "bytes=--5",
                               "bytes=5", "bytes=0-1,junk", "bytes=+1-2", "bytes=-", "bytes=1 -2"}) {
        INFO(header);
        CHECK(verdict_of(header, 1000) == range_verdict::malformed);
    }
}

TEST_CASE("empty elements of the range list are skipped", "[byte_ranges]") {
    CHECK(partial_ranges("bytes=,0-1,,5-6,", 100) == std::vector<byte_range>{{0, 1}, {5, 6}});
}

TEST_CASE("more than max_ranges ranges are refused as malformed, max_ranges are served", "[byte_ranges]") {
    std::string header = "bytes=";
    for (std::size_t i = 0; i < max_ranges; ++i) header += (i ? "," : "") + std::to_string(i * 10) + "-" + std::to_string(i * 10);
    CHECK(partial_ranges(header, 1000).size() == max_ranges);
    header += ",900-901";
    CHECK(verdict_of(header, 1000) == range_verdict::malformed);
}

TEST_CASE("If-None-Match matches by weak comparison, a star, or a list", "[byte_ranges]") {
    const std::string etag = "\"3e8-17\"";
    CHECK(none_match_hits("\"3e8-17\"", etag));
    CHECK(none_match_hits("W/\"3e8-17\"", etag));
    CHECK(none_match_hits("*", etag));
    CHECK(none_match_hits("\"other\", \"3e8-17\"", etag));
    CHECK(none_match_hits("\"a,b\",\"3e8-17\"", etag));
    CHECK_FALSE(none_match_hits("", etag));
    CHECK_FALSE(none_match_hits("\"3e8-18\"", etag));
    CHECK_FALSE(none_match_hits("3e8-17", etag));
}

TEST_CASE("If-Range holds for the strong tag or the exact date, never for a weak tag", "[byte_ranges]") {
    const std::string etag = "\"3e8-17\"", date = "Sun, 06 Nov 1994 08:49:37 GMT";
    CHECK(if_range_holds("", etag, date));
    CHECK(if_range_holds("\"3e8-17\"", etag, date));
    CHECK(if_range_holds(date, etag, date));
    CHECK_FALSE(if_range_holds("W/\"3e8-17\"", etag, date));
    CHECK_FALSE(if_range_holds("\"3e8-18\"", etag, date));
    CHECK_FALSE(if_range_holds("Mon, 07 Nov 1994 08:49:37 GMT", etag, date));
}

TEST_CASE("a path segment is percent-decoded, and bad escapes, '/' and NUL are refused", "[byte_ranges]") {
    CHECK(percent_decode_segment("a%20b+c") == std::optional<std::string>("a b+c"));
    CHECK(percent_decode_segment("%C3%A9t%c3%a9") == std::optional<std::string>("\xC3\xA9t\xC3\xA9"));
    CHECK(percent_decode_segment("") == std::optional<std::string>(""));
    CHECK_FALSE(percent_decode_segment("%"));
    CHECK_FALSE(percent_decode_segment("%4"));
    CHECK_FALSE(percent_decode_segment("%zz"));
    CHECK_FALSE(percent_decode_segment("a%2Fb"));
    CHECK_FALSE(percent_decode_segment("a%2fb"));
    CHECK_FALSE(percent_decode_segment("a%00b"));
    CHECK_FALSE(percent_decode_segment(std::string_view("a\0b", 3)));
}

TEST_CASE("a URL path becomes a relative path of decoded segments", "[byte_ranges]") {
    CHECK(safe_relative_path("movie.mkv") == std::optional<std::filesystem::path>("movie.mkv"));
    CHECK(safe_relative_path("album/disc%201/track%2301.flac") ==
          std::optional<std::filesystem::path>("album/disc 1/track#01.flac"));
    CHECK(safe_relative_path("...") == std::optional<std::filesystem::path>("..."));
}

TEST_CASE("a URL path that could leave the item's folder is refused", "[byte_ranges]") {
    for (const char* path : {"", "/", "/etc/passwd", "a//b", "a/", "..", "../x", "a/../../x", "a/./b", ".", "%2e%2e/x",
                             "a/%2E%2E", "%2e", "a%2f..%2fb", "..%5cx", "a\\..\\b", "a%00", "a/%zz"}) {
        INFO(path);
        CHECK_FALSE(safe_relative_path(path));
    }
}
