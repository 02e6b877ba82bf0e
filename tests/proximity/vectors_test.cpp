// Published vectors through the whole path a user takes: file -> model -> fast table lookup.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "nearcast/proximity/model.hpp"
#include "test_data.hpp"

using namespace nearcast::proximity;


TEST_CASE("every network of the MaxMind test database gives its ASN at both ends through the table", "[vectors]") {
    const model routing = model::load({nearcast::testing::shared_data("mmdb/GeoLite2-ASN-Test.mmdb")});
    const auto rows = nearcast::testing::read_tsv(nearcast::testing::shared_data("vectors/maxmind-GeoLite2-ASN-Test-networks.tsv"));
    REQUIRE(rows.size() >= 700);
    // One ASN appears with several spellings of its organisation; the model keeps one per AS.
    std::map<std::uint32_t, std::set<std::string>> names;
    for (const auto& row : rows) {
        if (row.size() > 3 && !row[3].empty()) names[static_cast<std::uint32_t>(std::stoul(row[2]))].insert(row[3]);
    }
    for (const auto& row : rows) {
        const auto network = ip_prefix::parse(row.at(0));
        REQUIRE(network);
        const auto expected = static_cast<std::uint32_t>(std::stoul(row.at(2)));
        // The network's first address is in the vectors; its last address must agree too.
        const uint128 size_less_one =
            network->length == network->network.width() ? 0 : (uint128{1} << (network->network.width() - network->length)) - 1;
        const ip_address last = network->network.is_v4()
                                    ? ip_address::v4(network->network.v4_bits() + static_cast<std::uint32_t>(size_less_one))
                                    : ip_address::v6(network->network.v6_bits() + size_less_one);
        for (const ip_address& address : {*ip_address::parse(row.at(1)), last}) {
            INFO(row.at(0) << " at " << address.to_string());
            const auto found = routing.prefixes().lookup(address);
            REQUIRE(found);
            // The database's tree merges neighbouring networks with equal data, so the match
            // may be wider than the network listed, never narrower.
            CHECK(found->prefix.contains(*network));
            CHECK(found->primary_origin() == expected);
        }
        if (names.count(expected)) CHECK(names[expected].count(std::string(routing.as_name(expected))) == 1);
    }
}

TEST_CASE("every well-known address gives its ASN from the full MaxMind DB through the table", "[vectors]") {
    const model routing = model::load({nearcast::testing::shared_data("mmdb/ip-location-db/ip-location-db-asn-full.mmdb")});
    const auto rows = nearcast::testing::read_tsv(nearcast::testing::shared_data("vectors/wellknown-ip2asn-ip-location-db.tsv"));
    REQUIRE(rows.size() == 27);
    for (const auto& row : rows) {
        INFO(row.at(0));
        const auto address = ip_address::parse(row.at(0));
        REQUIRE(address);
        if (row.at(1) == "NA") {
            CHECK(routing.prefixes().origin_of(*address) == 0);
        } else {
            CHECK(routing.prefixes().origin_of(*address) == std::stoul(row.at(1)));
            CHECK(routing.as_name(static_cast<std::uint32_t>(std::stoul(row.at(1)))) == row.at(2));
        }
    }
}

TEST_CASE("BGP data given first wins, and the MaxMind DB answers where BGP is silent", "[vectors]") {
    const model routing = model::load({nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz"),
                                       nearcast::testing::shared_data("mmdb/ip-location-db/ip-location-db-asn-full.mmdb")});
    // 1.1.1.0/24 was AS15169 in the 2014 RIB; the 2026 MaxMind DB says 13335. BGP wins.
    CHECK(routing.prefixes().origin_of(*ip_address::parse("1.1.1.1")) == 15169);
    // 193.0.6.139 lies past the sample's last prefix (12.167.x): only the MaxMind DB knows it.
    CHECK(routing.prefixes().origin_of(*ip_address::parse("193.0.6.139")) == 3333);
    CHECK(routing.prefixes().origin_of(*ip_address::parse("2001:4860:4860::8888")) == 15169);
    CHECK(routing.as_name(13335) == "Cloudflare, Inc.");
    CHECK(routing.graph().as_count() > 2000);
}
