// MaxMind DB in the GeoLite2-ASN layout: MaxMind's own test database, the full ip-location-db
// database against well-known addresses, small databases built here, and files that are not
// databases at all.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "test_data.hpp"

using namespace nearcast::proximity;

namespace {

// The route with the longest prefix containing `address`, or null. A plain scan: the fast
// table is tested on its own.
const route* covering_route(const std::vector<route>& routes, ip_address address) {
    const route* best = nullptr;
    for (const route& each : routes) {
        if (each.prefix.contains(address) && (!best || each.prefix.length > best->prefix.length)) best = &each;
    }
    return best;
}

// A file that removes itself, for databases built by the tests.
struct temporary_file {
    explicit temporary_file(const std::string& name, const std::string& bytes)
        : path((std::filesystem::temp_directory_path() /
                ("nearcast-" + std::to_string(::getpid()) + "-" + name))
                   .string()) {
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~temporary_file() { std::filesystem::remove(path); }
    std::string path;
};

// Writes MaxMind DB data fields (the spec's section "Output Data Section").
class mmdb_data {
public:
    std::string bytes;

    mmdb_data& map(unsigned entries) { return control(7, entries); }
    mmdb_data& array(unsigned entries) { return extended(11, entries); }
    mmdb_data& text(const std::string& value) {
        control(2, static_cast<unsigned>(value.size()));
        bytes += value;
        return *this;
    }
    mmdb_data& uint16(std::uint16_t value) { return control(5, 2).big_endian(value, 2); }
    mmdb_data& uint32(std::uint32_t value) { return control(6, 4).big_endian(value, 4); }
    mmdb_data& uint64(std::uint64_t value) { return extended(9, 8).big_endian(value, 8); }

private:
    // Sizes past 28 take one more byte (enough for the strings here).
    mmdb_data& control(unsigned type, unsigned size) {
        bytes += static_cast<char>((type << 5) | std::min(size, 29u));
        if (size >= 29) bytes += static_cast<char>(size - 29);
        return *this;
    }
    mmdb_data& extended(unsigned type, unsigned size) {
        control(0, size);
        bytes += static_cast<char>(type - 7);
        return *this;
    }
    mmdb_data& big_endian(std::uint64_t value, int count) {
        for (int shift = (count - 1) * 8; shift >= 0; shift -= 8) bytes += static_cast<char>((value >> shift) & 0xff);
        return *this;
    }
};

// An IPv4 database (24-bit records) of three networks: 10.0.0.1/32 (a path 32 nodes deep, the
// deepest an IPv4 tree goes) with a uint32 ASN and a name, 64.0.0.0/2 with a uint64 ASN and no
// name, and 128.0.0.0/1 whose record has no ASN. `loop_back` makes 64.0.0.0/2 point back to the
// root instead, as a corrupt file might.
std::string small_ipv4_database(bool loop_back = false) {
    constexpr std::uint32_t node_count = 32;
    mmdb_data data;
    const std::uint32_t named_offset = 0;
    data.map(2).text("autonomous_system_number").uint32(64496);
    data.text("autonomous_system_organization").text("Documentation AS");
    const auto wide_offset = static_cast<std::uint32_t>(data.bytes.size());
    data.map(1).text("autonomous_system_number").uint64(4'200'000'000);
    const auto nameless_offset = static_cast<std::uint32_t>(data.bytes.size());
    data.map(1).text("isp").text("none");

    const auto data_record = [&](std::uint32_t offset) { return node_count + 16 + offset; };
    constexpr std::uint32_t empty = node_count;
    constexpr std::uint32_t address = 0x0a00'0001;  // 10.0.0.1
    std::string tree;
    for (std::uint32_t depth = 0; depth < 32; ++depth) {
        const bool goes_right = (address >> (31 - depth)) & 1;
        const std::uint32_t onward = depth == 31 ? data_record(named_offset) : depth + 1;
        std::uint32_t left = goes_right ? empty : onward;
        std::uint32_t right = goes_right ? onward : empty;
        if (depth == 0) right = data_record(nameless_offset);
        if (depth == 1) right = loop_back ? 0 : data_record(wide_offset);
        for (const std::uint32_t record : {left, right}) {
            tree += static_cast<char>(record >> 16);
            tree += static_cast<char>(record >> 8);
            tree += static_cast<char>(record);
        }
    }

    mmdb_data metadata;
    metadata.map(9);
    metadata.text("binary_format_major_version").uint16(2);
    metadata.text("binary_format_minor_version").uint16(0);
    metadata.text("build_epoch").uint64(1'700'000'000);
    metadata.text("database_type").text("nearcast-test");
    metadata.text("description").map(0);
    metadata.text("ip_version").uint16(4);
    metadata.text("languages").array(0);
    metadata.text("node_count").uint32(node_count);
    metadata.text("record_size").uint16(24);
    return tree + std::string(16, '\0') + data.bytes + std::string("\xab\xcd\xefMaxMind.com", 14) + metadata.bytes;
}

input_error error_of(const std::string& path) {
    try {
        load_mmdb(path);
    } catch (const input_error& error) {
        return error;
    }
    FAIL("no input_error for " << path);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("every network of MaxMind's GeoLite2-ASN test database is covered with its AS", "[mmdb]") {
    const std::string path = nearcast::testing::shared_data("mmdb/GeoLite2-ASN-Test.mmdb");
    const auto expected = nearcast::testing::read_tsv(nearcast::testing::shared_data("vectors/maxmind-GeoLite2-ASN-Test-networks.tsv"));
    const routing_data data = load_mmdb(path);
    CHECK(data.report.format == "mmdb");
    CHECK(data.report.input == path);
    CHECK(data.report.skipped == 0);
    CHECK(data.links.empty());
    // 720 networks in the source JSON; the writer merged neighbours with equal data into 412
    // (counted again with an independent walk of the file).
    CHECK(data.routes.size() == 412);
    CHECK(data.report.records == 412);

    std::map<std::uint32_t, std::set<std::string>> names_given;
    for (const auto& row : expected) {
        if (row.size() > 3 && !row[3].empty()) names_given[static_cast<std::uint32_t>(std::stoul(row[2]))].insert(row[3]);
    }
    REQUIRE(expected.size() == 720);
    for (const auto& row : expected) {
        INFO("network " << row[0]);
        const auto network = ip_prefix::parse(row[0]);
        REQUIRE(network);
        const route* found = covering_route(data.routes, network->network);
        REQUIRE(found);
        CHECK(found->prefix.contains(*network));
        CHECK(found->origins == std::vector<std::uint32_t>{static_cast<std::uint32_t>(std::stoul(row[2]))});
    }
    // One name per AS: where the database names an AS differently on different networks, the
    // name on most of them.
    for (const auto& [asn, names] : names_given) {
        INFO("AS " << asn);
        REQUIRE(data.as_names.count(asn) == 1);
        CHECK(names.count(data.as_names.at(asn)) == 1);
    }
    CHECK(data.as_names.at(15169) == "Google Inc.");
    CHECK(data.as_names.at(6167) == "Cellco Partnership DBA Verizon Wireless");
}

TEST_CASE("the IPv4 space of an IPv6 database is listed once, as IPv4, without its aliases", "[mmdb]") {
    const routing_data data = load_mmdb(nearcast::testing::shared_data("mmdb/GeoLite2-ASN-Test.mmdb"));
    std::size_t ipv4 = 0;
    std::set<ip_prefix> seen;
    const ip_prefix mapped = *ip_prefix::parse("::/96", true);
    const ip_prefix six_to_four = *ip_prefix::parse("2002::/16");
    for (const route& each : data.routes) {
        INFO(each.prefix.to_string());
        CHECK(seen.insert(each.prefix).second);
        if (each.prefix.network.is_v4()) {
            ++ipv4;
            continue;
        }
        CHECK_FALSE(mapped.contains(each.prefix));
        CHECK_FALSE(six_to_four.contains(each.prefix));
        CHECK((each.prefix.network.v6_bits() >> 32) != 0xffff);
    }
    CHECK(ipv4 == 182);
    const route* google = covering_route(data.routes, *ip_address::parse("1.0.0.1"));
    REQUIRE(google);
    CHECK(google->prefix == *ip_prefix::parse("1.0.0.0/24"));
    CHECK(covering_route(data.routes, *ip_address::parse("1.1.1.1")) == nullptr);
}

TEST_CASE("well-known addresses get their AS from the full ip-location-db database", "[mmdb]") {
    const std::string path = nearcast::testing::shared_data("mmdb/ip-location-db/ip-location-db-asn-full.mmdb");
    const auto vectors = nearcast::testing::read_tsv(nearcast::testing::shared_data("vectors/wellknown-ip2asn-ip-location-db.tsv"));
    const routing_data data = load_mmdb(path);
    // 515,158 ranges in the source data, 732,482 CIDR networks in the tree (counted again with an
    // independent walk of the file), 564,579 of them IPv4.
    CHECK(data.routes.size() == 732'482);
    CHECK(data.report.skipped == 0);
    std::size_t ipv4 = 0;
    for (const route& each : data.routes) ipv4 += each.prefix.network.is_v4() ? 1 : 0;
    CHECK(ipv4 == 564'579);

    REQUIRE(vectors.size() == 27);
    for (const auto& row : vectors) {
        INFO("address " << row[0]);
        const auto address = ip_address::parse(row[0]);
        REQUIRE(address);
        const route* found = covering_route(data.routes, *address);
        if (row[1] == "NA") {
            CHECK(found == nullptr);
            continue;
        }
        REQUIRE(found);
        const auto asn = static_cast<std::uint32_t>(std::stoul(row[1]));
        CHECK(found->origins == std::vector<std::uint32_t>{asn});
        REQUIRE(data.as_names.count(asn) == 1);
        CHECK(data.as_names.at(asn) == row[2]);
    }
}

TEST_CASE("an IPv4 database is walked 32 bits deep and a record without an ASN is skipped", "[mmdb]") {
    const temporary_file file("small-ipv4.mmdb", small_ipv4_database());
    const routing_data data = load_mmdb(file.path);
    REQUIRE(data.routes.size() == 2);
    CHECK(data.routes[0].prefix == *ip_prefix::parse("10.0.0.1/32"));
    CHECK(data.routes[0].origins == std::vector<std::uint32_t>{64496});
    CHECK(data.routes[1].prefix == *ip_prefix::parse("64.0.0.0/2"));
    CHECK(data.routes[1].origins == std::vector<std::uint32_t>{4'200'000'000u});
    CHECK(data.as_names == std::map<std::uint32_t, std::string>{{64496, "Documentation AS"}});
    CHECK(data.report.records == 2);
    CHECK(data.report.skipped == 1);
    CHECK(data.report.skipped_by_kind.size() == 1);
    CHECK(data.report.skipped_by_kind.begin()->second == 1);
}

TEST_CASE("a search tree that loops back is an input_error, not a hang", "[mmdb]") {
    const temporary_file file("looping.mmdb", small_ipv4_database(true));
    const input_error error = error_of(file.path);
    CHECK(error.input() == file.path);
    CHECK_THAT(error.problem(), Catch::Contains("search tree"));
}

TEST_CASE("a missing file or one that is not a MaxMind DB is an input_error naming it", "[mmdb]") {
    SECTION("missing") {
        const std::string path = "/nonexistent/nearcast/GeoLite2-ASN.mmdb";
        const input_error error = error_of(path);
        CHECK(error.input() == path);
        CHECK_THAT(error.what(), Catch::Contains(path));
        CHECK_THAT(error.problem(), Catch::Contains("Error opening the specified MaxMind DB file"));
        CHECK_THAT(error.problem(), Catch::Contains("No such file or directory"));
    }
    SECTION("a text file") {
        const std::string path = nearcast::testing::shared_data("vectors/wellknown-ip2asn-ip-location-db.tsv");
        const input_error error = error_of(path);
        CHECK(error.input() == path);
        CHECK_THAT(error.what(), Catch::Contains(path));
        CHECK_THAT(error.problem(), Catch::Contains("invalid metadata"));
    }
    SECTION("an empty file") {
        const temporary_file file("empty.mmdb", "");
        const input_error error = error_of(file.path);
        CHECK(error.input() == file.path);
    }
}

TEST_CASE("a compressed MaxMind DB is refused with the advice to decompress it", "[mmdb]") {
    SECTION("gzip") {
        const std::string path = nearcast::testing::shared_data("bgp/routeviews2-20140513.pfx2as.gz");
        const input_error error = error_of(path);
        CHECK(error.input() == path);
        CHECK_THAT(error.problem(), Catch::Contains("gzip-compressed") && Catch::Contains("decompress it first"));
    }
    SECTION("bzip2") {
        const temporary_file file("compressed.mmdb.bz2", "BZh91AY&SY\x01\x02\x03");
        const input_error error = error_of(file.path);
        CHECK(error.input() == file.path);
        CHECK_THAT(error.problem(), Catch::Contains("bzip2-compressed") && Catch::Contains("decompress it first"));
    }
}
