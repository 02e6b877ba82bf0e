#include <catch2/catch.hpp>

#include "nearcast/proximity/address.hpp"

using namespace nearcast::proximity;

TEST_CASE("IPv4 and IPv6 addresses parse and print in their usual forms", "[address]") {
    const auto v4 = ip_address::parse("192.0.2.33");
    REQUIRE(v4);
    CHECK(v4->is_v4());
    CHECK(v4->v4_bits() == 0xc0000221u);
    CHECK(v4->to_string() == "192.0.2.33");

    const auto v6 = ip_address::parse("2001:db8::1");
    REQUIRE(v6);
    CHECK(v6->is_v6());
    CHECK(v6->v6_bits() == ((uint128{0x20010db8} << 96) | 1));
    CHECK(v6->to_string() == "2001:db8::1");
}

TEST_CASE("an IPv4-mapped IPv6 address is the IPv4 address it maps", "[address]") {
    CHECK(ip_address::parse("::ffff:10.1.2.3") == ip_address::parse("10.1.2.3"));
    CHECK(ip_prefix::parse("::ffff:10.0.0.0/104") == ip_prefix::parse("10.0.0.0/8"));
}

TEST_CASE("malformed addresses are refused", "[address]") {
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01234.1.1.1", "1..2.3", "1.2.3.4 ",
                            "gggg::1", "1:2:3:4:5:6:7:8:9", "::1::2", "1.2.3.4/24"}) {
        INFO(bad);
        CHECK_FALSE(ip_address::parse(bad));
    }
}

TEST_CASE("an IPv6 address with a NUL in it is refused, whatever comes before the NUL", "[address]") {
    // fuzz_text checks that a table with a NUL in a data line is refused: "2001:200::\0/32"
    // in an IPASN table read as 2001:200::/32.
    using namespace std::string_view_literals;
    CHECK_FALSE(ip_address::parse("2001:200::\0"sv));
    CHECK_FALSE(ip_address::parse("::1\0.evil"sv));
    CHECK_FALSE(ip_prefix::parse("2001:200::\0/32"sv));
}

TEST_CASE("prefixes mask, contain and refuse host bits unless asked", "[address]") {
    const auto prefix = ip_prefix::parse("10.0.0.0/8");
    REQUIRE(prefix);
    CHECK(prefix->contains(*ip_address::parse("10.255.0.1")));
    CHECK_FALSE(prefix->contains(*ip_address::parse("11.0.0.0")));
    CHECK_FALSE(prefix->contains(*ip_address::parse("::a00:1")));
    CHECK(prefix->contains(*ip_prefix::parse("10.1.0.0/16")));
    CHECK_FALSE(ip_prefix::parse("10.1.0.0/16")->contains(*prefix));

    CHECK_FALSE(ip_prefix::parse("10.0.0.1/8"));
    CHECK(ip_prefix::parse("10.0.0.1/8", true) == prefix);
    CHECK_FALSE(ip_prefix::parse("10.0.0.0/33"));
    CHECK_FALSE(ip_prefix::parse("10.0.0.0/"));
    CHECK_FALSE(ip_prefix::parse("10.0.0.0/8x"));
    CHECK(ip_prefix::parse("0.0.0.0/0")->contains(*ip_address::parse("255.255.255.255")));
    CHECK(ip_prefix::parse("2001:db8::/32")->to_string() == "2001:db8::/32");
    CHECK(ip_prefix::parse("::/0")->contains(*ip_address::parse("ffff::1")));
    CHECK(ip_prefix::parse("2001:db8::1/128"));
    CHECK_FALSE(ip_prefix::parse("2001:db8::/129"));
}
