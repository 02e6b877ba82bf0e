// CAIDA pfx2as and pyasn IPASN: every syntax the formats allow, every way a line can be bad,
// and the real tables of the shared data.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "test_data.hpp"

using namespace nearcast::proximity;

namespace {

ip_prefix prefix(const char* text) {
    const auto parsed = ip_prefix::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

using origin_list = std::vector<std::uint32_t>;

// The error a parser gives for `text`; fails the test when there is none.
input_error error_of(routing_data (*parse)(std::string_view, const std::string&), const std::string& text) {
    try {
        parse(text, "example.txt");
    } catch (const input_error& error) {
        return error;
    }
    FAIL("no input_error for " << text);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a pfx2as line gives its prefix and origin AS", "[text]") {
    const routing_data data = parse_pfx2as("1.0.0.0\t24\t15169\n1.0.4.0\t22\t56203\n", "example.pfx2as");
    REQUIRE(data.routes.size() == 2);
    CHECK(data.routes[0].prefix == prefix("1.0.0.0/24"));
    CHECK(data.routes[0].origins == origin_list{15169});
    CHECK(data.routes[1].prefix == prefix("1.0.4.0/22"));
    CHECK(data.routes[1].origins == origin_list{56203});
    CHECK(data.report.format == "pfx2as");
    CHECK(data.report.input == "example.pfx2as");
    CHECK(data.report.records == 2);
    CHECK(data.report.skipped == 0);
    CHECK(data.report.skipped_by_kind.empty());
    CHECK(data.links.empty());
    CHECK(data.as_names.empty());
}

TEST_CASE("pfx2as multi-origin and AS set lines keep every origin in order, each once", "[text]") {
    const routing_data data = parse_pfx2as(
        "10.0.0.0\t8\t7018_3356\n"
        "11.0.0.0\t8\t65001,65002,65003\n"
        "12.0.0.0\t8\t1_2,1,3_2\n",
        "example.pfx2as");
    REQUIRE(data.routes.size() == 3);
    CHECK(data.routes[0].origins == origin_list{7018, 3356});
    CHECK(data.routes[1].origins == origin_list{65001, 65002, 65003});
    CHECK(data.routes[2].origins == origin_list{1, 2, 3});
}

TEST_CASE("pfx2as takes IPv6, CRLF line ends, blank lines and a last line without newline", "[text]") {
    const routing_data data = parse_pfx2as(
        "2001:db8::\t32\t64496\r\n"
        "\r\n"
        "\n"
        "  \t\n"
        "0.0.0.0\t0\t4294967295\r\n"
        "2001:db8:1::1\t128\t0",
        "example.pfx2as");
    REQUIRE(data.routes.size() == 3);
    CHECK(data.routes[0].prefix == prefix("2001:db8::/32"));
    CHECK(data.routes[0].origins == origin_list{64496});
    CHECK(data.routes[1].prefix == prefix("0.0.0.0/0"));
    CHECK(data.routes[1].origins == origin_list{4294967295u});
    CHECK(data.routes[2].prefix == prefix("2001:db8:1::1/128"));
}

TEST_CASE("an IPASN table with comments, CRLF and both families", "[text]") {
    const routing_data data = parse_ipasn(
        "; IP-ASN32-DAT file\r\n"
        "; Prefixes-v4   : 2\r\n"
        ";\r\n"
        "1.0.0.0/24\t15169\r\n"
        "\r\n"
        "1.0.4.0/22\t56203\r\n"
        "2001:200::/32\t2500\r\n",
        "example.ipasn");
    REQUIRE(data.routes.size() == 3);
    CHECK(data.routes[0].prefix == prefix("1.0.0.0/24"));
    CHECK(data.routes[0].origins == origin_list{15169});
    CHECK(data.routes[1].prefix == prefix("1.0.4.0/22"));
    CHECK(data.routes[2].prefix == prefix("2001:200::/32"));
    CHECK(data.routes[2].origins == origin_list{2500});
    CHECK(data.report.format == "ipasn");
    CHECK(data.report.input == "example.ipasn");
    CHECK(data.report.records == 3);
    CHECK(data.links.empty());
}

TEST_CASE("an IPv4-mapped IPv6 prefix is read as the IPv4 prefix it maps", "[text]") {
    const routing_data data = parse_ipasn("::ffff:192.0.2.0/120\t64496\n", "example.ipasn");
    REQUIRE(data.routes.size() == 1);
    CHECK(data.routes[0].prefix == prefix("192.0.2.0/24"));
}

TEST_CASE("a repeated prefix keeps its first line and is counted", "[text]") {
    SECTION("in a sorted table") {
        const routing_data data =
            parse_pfx2as("1.0.0.0\t24\t1\n1.0.0.0\t24\t2\n1.0.1.0\t24\t3\n", "example.pfx2as");
        REQUIRE(data.routes.size() == 2);
        CHECK(data.routes[0].origins == origin_list{1});
        CHECK(data.routes[1].prefix == prefix("1.0.1.0/24"));
        CHECK(data.report.records == 2);
        CHECK(data.report.skipped == 1);
        CHECK(data.report.skipped_by_kind.at("duplicate prefix") == 1);
    }
    SECTION("in an unsorted table, where the order of the rest is kept") {
        const routing_data data = parse_ipasn(
            "2001:db8::/32\t10\n9.0.0.0/8\t11\n1.0.0.0/8\t12\n9.0.0.0/8\t13\n2001:db8::/32\t14\n"
            "9.0.0.0/16\t15\n9.0.0.0/8\t16\n",
            "example.ipasn");
        REQUIRE(data.routes.size() == 4);
        CHECK(data.routes[0].prefix == prefix("2001:db8::/32"));
        CHECK(data.routes[0].origins == origin_list{10});
        CHECK(data.routes[1].prefix == prefix("9.0.0.0/8"));
        CHECK(data.routes[1].origins == origin_list{11});
        CHECK(data.routes[2].prefix == prefix("1.0.0.0/8"));
        CHECK(data.routes[3].prefix == prefix("9.0.0.0/16"));
        CHECK(data.report.records == 4);
        CHECK(data.report.skipped == 3);
        CHECK(data.report.skipped_by_kind.at("duplicate prefix") == 3);
    }
}

TEST_CASE("a bad pfx2as line is an input_error naming the input, the line and the bad field", "[text]") {
    struct bad_line {
        const char* line;
        const char* problem;
    };
    const bad_line cases[] = {
        {"1.2.3\t24\t1", "bad IPv4 or IPv6 address \"1.2.3\""},
        {"1.2.3.256\t24\t1", "\"1.2.3.256\""},
        {"2001:db8:::\t48\t1", "\"2001:db8:::\""},
        {"1.0.0.0\t33\t1", "prefix length \"33\" is past 32"},
        {"2001:db8::\t129\t1", "prefix length \"129\" is past 128"},
        {"1.0.0.0\t\t1", "bad prefix length \"\""},
        {"1.0.0.0\t2x\t1", "bad prefix length \"2x\""},
        {"1.0.0.0\t-1\t1", "bad prefix length \"-1\""},
        {"1.0.0.1\t24\t1", "host bits set in \"1.0.0.1/24\""},
        {"2001:db8::1\t32\t1", "host bits set in \"2001:db8::1/32\""},
        {"1.0.0.0\t24\tAS15169", "bad AS number \"AS15169\""},
        {"1.0.0.0\t24\t-1", "bad AS number \"-1\""},
        {"1.0.0.0\t24\t", "bad AS number \"\""},
        {"1.0.0.0\t24\t1.5", "bad AS number \"1.5\""},
        {"1.0.0.0\t24\t4294967296", "AS number \"4294967296\" is out of range"},
        {"1.0.0.0\t24\t1__2", "bad AS number \"\" in \"1__2\""},
        {"1.0.0.0\t24\t1,", "bad AS number \"\" in \"1,\""},
        {"1.0.0.0\t24\t1_x", "bad AS number \"x\" in \"1_x\""},
        {"1.0.0.0\t24", "missing the AS number"},
        {"1.0.0.0", "missing the prefix length"},
        {"1.0.0.0 24 1", "bad IPv4 or IPv6 address \"1.0.0.0 24 1\""},
        {"1.0.0.0\t24\t1\tx", "unexpected extra field \"x\""},
        {"1.0.0.0/24\t15169", "bad IPv4 or IPv6 address \"1.0.0.0/24\""},
    };
    for (const auto& [line, problem] : cases) {
        // Line 4: a good line, a blank line and a CRLF line come first.
        const std::string text = std::string("9.0.0.0\t8\t1\n\n10.0.0.0\t8\t2\r\n") + line + "\n11.0.0.0\t8\t3\n";
        INFO("line: " << line);
        const input_error error = error_of(parse_pfx2as, text);
        CHECK(error.input() == "example.txt");
        CHECK(error.line() == 4u);
        CHECK_FALSE(error.offset());
        CHECK_THAT(error.problem(), Catch::Contains(problem));
        CHECK_THAT(error.what(), Catch::StartsWith("example.txt:4: "));
    }
}

TEST_CASE("a bad IPASN line is an input_error naming the input, the line and the bad field", "[text]") {
    struct bad_line {
        const char* line;
        const char* problem;
    };
    const bad_line cases[] = {
        {"1.0.0.0\t15169", "prefix \"1.0.0.0\" has no /length"},
        {"1.0.0/24\t1", "bad IPv4 or IPv6 address \"1.0.0\""},
        {"1.0.0.0/33\t1", "prefix length \"33\" is past 32"},
        {"::/129\t1", "prefix length \"129\" is past 128"},
        {"1.0.0.0/\t1", "bad prefix length \"\""},
        {"1.0.0.0/8/8\t1", "bad prefix length \"8/8\""},
        {"10.0.0.1/8\t1", "host bits set in \"10.0.0.1/8\" (the network is 10.0.0.0/8)"},
        {"::ffff:10.0.0.0/64\t1", "does not fit the IPv4-mapped address"},
        {"1.0.0.0/24\tx", "bad AS number \"x\""},
        {"1.0.0.0/24\t99999999999", "AS number \"99999999999\" is out of range"},
        {"1.0.0.0/24", "missing the AS number"},
        {"1.0.0.0/24\t1\t2", "unexpected extra field \"2\""},
        {"1.0.0.0\t24\t1", "has no /length"},
        {"\x01\xff/24\t1", "bad IPv4 or IPv6 address \"\\x01\\xff\""},
    };
    for (const auto& [line, problem] : cases) {
        // Line 5: two comments and a good line come first.
        const std::string text = std::string("; comment\n;\n\r\n1.0.0.0/8\t1\r\n") + line + "\n";
        INFO("line: " << line);
        const input_error error = error_of(parse_ipasn, text);
        CHECK(error.input() == "example.txt");
        CHECK(error.line() == 5u);
        CHECK_THAT(error.problem(), Catch::Contains(problem));
        CHECK_THAT(error.what(), Catch::StartsWith("example.txt:5: "));
    }
}

TEST_CASE("a long bad field is quoted cut short", "[text]") {
    const std::string address(5000, '1');
    const input_error error = error_of(parse_ipasn, address + "/8\t1\n");
    CHECK(error.line() == 1u);
    CHECK(error.problem().size() < 200);
    CHECK_THAT(error.problem(), Catch::Contains("...\""));
}

TEST_CASE("the real RouteViews pfx2as table of 2014-05-13 gives every prefix and origin", "[text]") {
    const std::string path = nearcast::testing::shared_data("bgp/routeviews2-20140513.pfx2as.gz");
    const routing_data data = parse_pfx2as(read_input(path), path);
    CHECK(data.routes.size() == 512'621);
    CHECK(data.report.records == 512'621);
    CHECK(data.report.skipped == 0);
    std::set<std::uint32_t> origins;
    for (const route& each : data.routes) {
        REQUIRE(each.prefix.network.is_v4());
        REQUIRE_FALSE(each.origins.empty());
        origins.insert(each.origins.begin(), each.origins.end());
    }
    CHECK(origins.size() == 46'823);
    CHECK(data.routes.front().prefix == prefix("1.0.0.0/24"));
    CHECK(data.routes.front().origins == origin_list{15169});
}

TEST_CASE("the real pyasn IPASN table of 2015-11-01 gives every IPv4 and IPv6 prefix", "[text]") {
    const std::string path = nearcast::testing::shared_data("bgp/routeviews-20151101-v4v6.ipasn.gz");
    const routing_data data = parse_ipasn(read_input(path), path);
    std::size_t ipv4 = 0;
    std::size_t ipv6 = 0;
    for (const route& each : data.routes) {
        (each.prefix.network.is_v4() ? ipv4 : ipv6) += 1;
        REQUIRE(each.origins.size() == 1);
    }
    CHECK(ipv4 == 606'138);
    CHECK(ipv6 == 27'693);
    CHECK(data.report.records == 606'138 + 27'693);
    CHECK(data.report.skipped == 0);
}
