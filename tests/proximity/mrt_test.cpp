// The MRT RIB loader against Debian's bgpdump on real RouteViews data, and against small
// records built byte by byte for the cases the real data lacks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "test_data.hpp"

namespace {

using namespace nearcast::proximity;

constexpr const char* routeviews_sample = "bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz";

// ---- bgpdump as the reference -------------------------------------------------------------

// The origin of a path as bgpdump -m prints it ("701 1299 31200 {50923,65014}"), by the same
// AS_SET rule as the loader: a path ending in a set gives the set's smallest member.
std::optional<std::uint32_t> origin_of_bgpdump_path(const std::string& path) {
    std::vector<std::string> words;
    std::istringstream split(path);
    for (std::string word; split >> word;) words.push_back(word);
    if (words.empty()) return std::nullopt;
    const std::string& last = words.back();
    if (last.front() != '{') return static_cast<std::uint32_t>(std::stoul(last));
    std::vector<std::uint32_t> members;
    std::istringstream set(last.substr(1, last.size() - 2));
    for (std::string member; std::getline(set, member, ',');) {
        members.push_back(static_cast<std::uint32_t>(std::stoul(member)));
    }
    return *std::min_element(members.begin(), members.end());
}

struct bgpdump_view {
    std::map<ip_prefix, std::map<std::uint32_t, std::uint64_t>> entries_by_origin;
    std::uint64_t rib_entries = 0;
    std::uint64_t unreadable_lines = 0;  // lines without a prefix or an AS path
};

bgpdump_view run_bgpdump(const std::string& path) {
    if (std::system("command -v bgpdump > /dev/null 2>&1") != 0) {
        FAIL("bgpdump is not installed; this test checks the MRT loader against it (apt-get install bgpdump)");
    }
    FILE* output = popen(("bgpdump -m '" + path + "' 2> /dev/null").c_str(), "r");
    if (output == nullptr) FAIL("cannot run bgpdump on " << path);
    std::string text;
    char buffer[1 << 16];
    for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, output)) > 0;) text.append(buffer, got);
    const int status = pclose(output);
    if (status != 0 || text.empty()) FAIL("bgpdump -m " << path << " failed (status " << status << ")");

    bgpdump_view view;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> fields;
        std::istringstream split(line);
        for (std::string field; std::getline(split, field, '|');) fields.push_back(field);
        const auto prefix = fields.size() > 6 ? ip_prefix::parse(fields[5]) : std::nullopt;
        const auto origin = fields.size() > 6 ? origin_of_bgpdump_path(fields[6]) : std::nullopt;
        if (!prefix || !origin) {
            ++view.unreadable_lines;
            continue;
        }
        ++view.entries_by_origin[*prefix][*origin];
        ++view.rib_entries;
    }
    return view;
}

std::vector<std::uint32_t> ranked_origins(const std::map<std::uint32_t, std::uint64_t>& entries_by_origin) {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> ranked;
    for (const auto& [origin, entries] : entries_by_origin) ranked.emplace_back(entries, origin);
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::uint32_t> origins;
    for (const auto& [entries, origin] : ranked) origins.push_back(origin);
    return origins;
}

const route* find_route(const routing_data& data, const std::string& prefix_text) {
    const auto prefix = ip_prefix::parse(prefix_text);
    REQUIRE(prefix);
    for (const route& candidate : data.routes) {
        if (candidate.prefix == *prefix) return &candidate;
    }
    return nullptr;
}

std::vector<std::uint32_t> origins_of(const routing_data& data, const std::string& prefix_text) {
    const route* found = find_route(data, prefix_text);
    return found ? found->origins : std::vector<std::uint32_t>{};
}

// ---- building MRT records byte by byte ----------------------------------------------------

// Big-endian bytes, the way MRT and BGP write them.
class bytes_builder {
public:
    bytes_builder& u8(unsigned value) {
        bytes_.push_back(static_cast<char>(value & 0xff));
        return *this;
    }
    bytes_builder& u16(unsigned value) { return u8(value >> 8).u8(value); }
    bytes_builder& u32(std::uint32_t value) { return u16(value >> 16).u16(value & 0xffff); }
    bytes_builder& append(const std::string& bytes) {
        bytes_ += bytes;
        return *this;
    }
    const std::string& bytes() const { return bytes_; }

private:
    std::string bytes_;
};

constexpr std::uint8_t as_set = 1;
constexpr std::uint8_t as_sequence = 2;
constexpr std::uint8_t transitive = 0x40;
constexpr std::uint8_t optional_transitive = 0xc0;
constexpr std::uint8_t extended_length = 0x10;
constexpr std::uint16_t table_dump_v2 = 13;

struct segment {
    std::uint8_t type;
    std::vector<std::uint32_t> members;
};
segment sequence(std::vector<std::uint32_t> members) { return {as_sequence, std::move(members)}; }
segment set_of(std::vector<std::uint32_t> members) { return {as_set, std::move(members)}; }

std::string as_path_value(const std::vector<segment>& segments, unsigned as_width = 4) {
    bytes_builder value;
    for (const segment& part : segments) {
        value.u8(part.type).u8(static_cast<unsigned>(part.members.size()));
        for (std::uint32_t as : part.members) as_width == 4 ? value.u32(as) : value.u16(as);
    }
    return value.bytes();
}

std::string attribute(std::uint8_t type, const std::string& value, std::uint8_t flags = transitive) {
    bytes_builder out;
    out.u8(flags).u8(type);
    const auto length = static_cast<unsigned>(value.size());
    flags & extended_length ? out.u16(length) : out.u8(length);
    return out.append(value).bytes();
}

std::string origin_igp() { return attribute(1, std::string(1, '\0')); }
std::string as_path(const std::vector<segment>& segments, unsigned as_width = 4) {
    return attribute(2, as_path_value(segments, as_width));
}
std::string as4_path(const std::vector<segment>& segments) {
    return attribute(17, as_path_value(segments), optional_transitive);
}

std::string rib_entry(const std::string& attributes, std::uint16_t peer_index = 0) {
    const auto length = static_cast<unsigned>(attributes.size());
    return bytes_builder().u16(peer_index).u32(1400824800).u16(length).append(attributes).bytes();
}
std::string entry_with_path(const std::vector<segment>& segments) {
    return rib_entry(origin_igp() + as_path(segments));
}

std::string mrt_record(std::uint16_t type, std::uint16_t subtype, const std::string& body) {
    const auto length = static_cast<std::uint32_t>(body.size());
    return bytes_builder().u32(1400824800).u16(type).u16(subtype).u32(length).append(body).bytes();
}

// A table of `peers` IPv4 peers with 4-byte AS numbers.
std::string peer_index_table(unsigned peers) {
    bytes_builder body;
    body.u32(0x0a000001).u16(4).append("test").u16(peers);
    for (unsigned i = 0; i < peers; ++i) body.u8(0x02).u32(0x0a000100 + i).u32(0xc0000200 + i).u32(64500 + i);
    return mrt_record(table_dump_v2, 1, body.bytes());
}

// A RIB_IPV4_UNICAST or RIB_IPV6_UNICAST record, by the family of `prefix_text`.
std::string rib_record(const std::string& prefix_text, const std::vector<std::string>& entries,
                       std::uint32_t sequence_number = 0) {
    const auto prefix = ip_prefix::parse(prefix_text);
    REQUIRE(prefix);
    const bool is_v4 = prefix->network.is_v4();
    bytes_builder body;
    body.u32(sequence_number).u8(prefix->length);
    const unsigned width = is_v4 ? 32 : 128;
    const uint128 bits = is_v4 ? uint128{prefix->network.v4_bits()} : prefix->network.v6_bits();
    for (unsigned i = 0; i < (prefix->length + 7u) / 8; ++i) {
        body.u8(static_cast<unsigned>(bits >> (width - 8 * (i + 1))));
    }
    body.u16(static_cast<unsigned>(entries.size()));
    for (const std::string& entry : entries) body.append(entry);
    return mrt_record(table_dump_v2, is_v4 ? 2 : 4, body.bytes());
}

routing_data parse(const std::string& bytes) { return parse_mrt(bytes, "built.mrt"); }

constexpr std::uint16_t table_dump = 12;

// A TABLE_DUMP record (RFC 6396 section 4.2): one RIB entry, the prefix written in full.
std::string table_dump_record(const std::string& prefix_text, const std::string& attributes,
                              const std::string& peer_address = std::string(4, '\x0a'), std::uint16_t peer_as = 701) {
    const auto prefix = ip_prefix::parse(prefix_text);
    REQUIRE(prefix);
    const bool is_v4 = prefix->network.is_v4();
    bytes_builder body;
    body.u16(0).u16(1);  // view, sequence number
    const unsigned width = is_v4 ? 32 : 128;
    const uint128 bits = is_v4 ? uint128{prefix->network.v4_bits()} : prefix->network.v6_bits();
    for (unsigned i = 0; i < width / 8; ++i) body.u8(static_cast<unsigned>(bits >> (width - 8 * (i + 1))));
    body.u8(prefix->length).u8(1).u32(1200000000).append(peer_address).u16(peer_as);
    body.u16(static_cast<unsigned>(attributes.size())).append(attributes);
    return mrt_record(table_dump, is_v4 ? 1 : 2, body.bytes());
}

// The TABLE_DUMP_V2 records of a real dump rewritten as the TABLE_DUMP a collector of before
// 2008 would have written for the same routes: one record per RIB entry, the peer's address and
// AS from the peer table, AS_PATH with 2-byte ASes (AS_TRANS, 23456, for the wider ones) and
// the true path in AS4_PATH where a wider AS is on it (RFC 6793).
std::string as_table_dump(const std::string& v2) {
    struct peer {
        std::string address;
        std::uint16_t as;
    };
    std::vector<peer> peers;
    std::string out;
    std::size_t at = 0;
    const auto u8 = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(v2[i])); };
    const auto u16 = [&](std::size_t i) { return (u8(i) << 8) | u8(i + 1); };
    const auto u32 = [&](std::size_t i) { return (std::uint32_t{u16(i)} << 16) | u16(i + 2); };
    while (at + 12 <= v2.size()) {
        const unsigned type = u16(at + 4), subtype = u16(at + 6);
        const std::size_t body = at + 12, end = body + u32(at + 8);
        REQUIRE(type == table_dump_v2);
        if (subtype == 1) {
            std::size_t p = body + 4;
            p += 2 + u16(p);
            const unsigned count = u16(p);
            p += 2;
            for (unsigned i = 0; i < count; ++i) {
                const unsigned peer_type = u8(p);
                const std::size_t address_size = peer_type & 1 ? 16 : 4, as_size = peer_type & 2 ? 4 : 2;
                const std::uint32_t as = as_size == 4 ? u32(p + 5 + address_size) : u16(p + 5 + address_size);
                peers.push_back({v2.substr(p + 5, address_size), static_cast<std::uint16_t>(as > 0xffff ? 23456 : as)});
                p += 5 + address_size + as_size;
            }
        } else {
            REQUIRE(subtype == 2);
            std::size_t p = body + 4;
            const unsigned length = u8(p);
            std::string address(4, '\0');
            for (unsigned i = 0; i < (length + 7) / 8; ++i) address[i] = v2[p + 1 + i];
            p += 1 + (length + 7) / 8;
            const unsigned entries = u16(p);
            p += 2;
            for (unsigned e = 0; e < entries; ++e) {
                const peer& from = peers.at(u16(p));
                const std::size_t attributes_end = p + 8 + u16(p + 6);
                std::string attributes;
                for (std::size_t a = p + 8; a < attributes_end;) {
                    const unsigned flags = u8(a), kind = u8(a + 1);
                    const std::size_t header = flags & extended_length ? 4 : 3;
                    const std::size_t size = flags & extended_length ? u16(a + 2) : u8(a + 2);
                    if (kind != 2) {
                        attributes += v2.substr(a, header + size);
                    } else {
                        std::vector<segment> wide, narrow;
                        bool any_wide = false;
                        for (std::size_t q = a + header; q < a + header + size;) {
                            segment part{static_cast<std::uint8_t>(u8(q)), {}};
                            segment two_byte = part;
                            for (unsigned m = 0; m < u8(q + 1); ++m) {
                                const std::uint32_t as = u32(q + 2 + 4 * m);
                                part.members.push_back(as);
                                two_byte.members.push_back(as > 0xffff ? 23456 : as);
                                any_wide = any_wide || as > 0xffff;
                            }
                            q += 2 + 4 * u8(q + 1);
                            wide.push_back(std::move(part));
                            narrow.push_back(std::move(two_byte));
                        }
                        attributes += as_path(narrow, 2);
                        if (any_wide) attributes += as4_path(wide);
                    }
                    a += header + size;
                }
                std::string record_body = bytes_builder().u16(0).u16(e).bytes() + address;
                record_body += bytes_builder().u8(length).u8(1).u32(u32(p + 2)).bytes() + from.address;
                record_body += bytes_builder().u16(from.as).u16(static_cast<unsigned>(attributes.size())).bytes() + attributes;
                out += mrt_record(table_dump, 1, record_body);
                p = attributes_end;
            }
        }
        at = end;
    }
    return out;
}

}  // namespace

// ---- the real data --------------------------------------------------------------------------

TEST_CASE("the RouteViews sample gives exactly the prefixes and origins bgpdump gives", "[mrt]") {
    const std::string path = nearcast::testing::shared_data(routeviews_sample);
    const routing_data data = parse_mrt(read_input(path), path);
    const bgpdump_view reference = run_bgpdump(path);

    CHECK(data.report.format == "mrt");
    CHECK(data.report.input == path);
    CHECK(data.report.records == 9069);
    CHECK(data.report.skipped == 0);
    CHECK(data.report.warnings.empty());
    CHECK(reference.unreadable_lines == 0);
    CHECK(reference.rib_entries == 269914);
    REQUIRE(reference.entries_by_origin.size() == 9069);
    REQUIRE(data.routes.size() == 9069);

    // Every prefix with every origin, in bgpdump's support order; the first differences are shown.
    std::vector<std::string> differences;
    std::set<std::uint32_t> origin_ases;
    std::size_t multi_origin_prefixes = 0;
    for (const route& found : data.routes) {
        origin_ases.insert(found.origins.begin(), found.origins.end());
        if (found.origins.size() > 1) ++multi_origin_prefixes;
        const auto expected = reference.entries_by_origin.find(found.prefix);
        if (expected == reference.entries_by_origin.end()) {
            differences.push_back(found.prefix.to_string() + " is not in bgpdump's output");
        } else if (ranked_origins(expected->second) != found.origins) {
            differences.push_back(found.prefix.to_string() + " has other origins than bgpdump's");
        }
    }
    if (differences.size() > 10) differences.resize(10);
    CHECK(differences.empty());
    for (const std::string& difference : differences) UNSCOPED_INFO(difference);

    CHECK(origin_ases.size() == 2175);
    // The data README's figure. 5.128.0.0/14 is announced as "... 31200 31200 {50923}" and as
    // "... 31200 31200 {50923,65014,65111,65200,65500}": one origin, 50923, either way.
    CHECK(multi_origin_prefixes == 62);
    CHECK(origins_of(data, "5.128.0.0/14") == std::vector<std::uint32_t>{50923});
    CHECK(origins_of(data, "12.0.120.0/24") == std::vector<std::uint32_t>{53840, 30640});  // 28 entries to 3
    CHECK(origins_of(data, "1.0.0.0/24") == std::vector<std::uint32_t>{15169});
    CHECK(std::is_sorted(data.links.begin(), data.links.end()));
    CHECK(std::adjacent_find(data.links.begin(), data.links.end()) == data.links.end());
    CHECK(std::all_of(data.links.begin(), data.links.end(), [](const as_link& link) { return link.low < link.high; }));
    CHECK(data.links.size() == 7942);  // counted from bgpdump's paths with awk
}

TEST_CASE("the RouteViews sample rewritten as the older TABLE_DUMP gives the same routes and links", "[mrt]") {
    const std::string path = nearcast::testing::shared_data(routeviews_sample);
    const std::string v2 = read_input(path);
    const routing_data expected = parse_mrt(v2, path);
    const routing_data data = parse_mrt(as_table_dump(v2), "sample as TABLE_DUMP");
    CHECK(data.report.records == 269914);  // one per RIB entry
    CHECK(data.report.skipped == 0);
    CHECK(data.report.warnings.empty());
    REQUIRE(data.routes.size() == expected.routes.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < data.routes.size(); ++i) {
        if (data.routes[i].prefix != expected.routes[i].prefix || data.routes[i].origins != expected.routes[i].origins) {
            ++differing;
        }
    }
    CHECK(differing == 0);
    CHECK(data.links == expected.links);
}

TEST_CASE("TABLE_DUMP records give IPv4 and IPv6 routes, their AS numbers two bytes wide", "[mrt]") {
    const std::string v6_peer = std::string(15, '\0') + '\x01';
    // 0x00010002 read as one 4-byte AS would be 65538; as two 2-byte ASes it is 1 then 2.
    const std::string input =
        table_dump_record("192.0.2.0/24", origin_igp() + as_path({sequence({1, 2})}, 2)) +
        table_dump_record("192.0.2.0/24", origin_igp() + as_path({sequence({3, 2})}, 2)) +
        table_dump_record("2001:db8::/32", as_path({sequence({6939, 64496})}, 2), v6_peer, 6939) +
        table_dump_record("198.51.100.0/24", as_path({sequence({701, 23456})}, 2) + as4_path({sequence({200000})}));
    const routing_data data = parse(input);
    CHECK(data.report.records == 4);
    CHECK(data.report.skipped == 0);
    CHECK(origins_of(data, "192.0.2.0/24") == std::vector<std::uint32_t>{2});
    CHECK(origins_of(data, "2001:db8::/32") == std::vector<std::uint32_t>{64496});
    CHECK(origins_of(data, "198.51.100.0/24") == std::vector<std::uint32_t>{200000});
    CHECK(data.links == std::vector<as_link>{{1, 2}, {2, 3}, {701, 200000}, {6939, 64496}});
    SECTION("a TABLE_DUMP record with bytes after its attributes is refused with the offset") {
        const std::string record = table_dump_record("192.0.2.0/24", as_path({sequence({1})}, 2));
        std::string longer = record;
        longer[11] = static_cast<char>(longer[11] + 1);  // the MRT length's low byte
        longer += '\0';
        CHECK_THROWS_WITH(parse(longer), Catch::Contains("built.mrt") && Catch::Contains("follow the attributes"));
    }
}

// ---- AS paths -------------------------------------------------------------------------------

TEST_CASE("a 2-byte AS_PATH with AS_TRANS is completed from its AS4_PATH", "[mrt]") {
    SECTION("the AS4_PATH replaces the tail it covers") {
        const std::string attributes = origin_igp() + as_path({sequence({701, 23456, 23456})}, 2) +
                                       as4_path({sequence({200000, 300000})});
        const routing_data data = parse(peer_index_table(1) + rib_record("192.0.2.0/24", {rib_entry(attributes)}));
        CHECK(origins_of(data, "192.0.2.0/24") == std::vector<std::uint32_t>{300000});
        CHECK(data.links == std::vector<as_link>{{701, 200000}, {200000, 300000}});
    }
    SECTION("an AS4_PATH longer than the AS_PATH is ignored, as RFC 6793 says") {
        const std::string attributes = as4_path({sequence({100000, 200000, 300000})}) + origin_igp() +
                                       as_path({sequence({701, 23456})}, 2);
        const routing_data data = parse(rib_record("192.0.2.0/24", {rib_entry(attributes)}));
        CHECK(origins_of(data, "192.0.2.0/24") == std::vector<std::uint32_t>{23456});
    }
    SECTION("an AS_SET in the leading part counts as one AS") {
        const std::string attributes = as_path({sequence({701}), set_of({1, 2, 3}), sequence({23456})}, 2) +
                                       as4_path({sequence({300000})});
        const routing_data data = parse(rib_record("192.0.2.0/24", {rib_entry(attributes)}));
        CHECK(origins_of(data, "192.0.2.0/24") == std::vector<std::uint32_t>{300000});
        CHECK(data.links.empty());
    }
    SECTION("a 4-byte AS_PATH needs no AS4_PATH and ignores one") {
        const std::string attributes = as_path({sequence({701, 200000})}) + as4_path({sequence({999999})});
        const routing_data data = parse(rib_record("192.0.2.0/24", {rib_entry(attributes)}));
        CHECK(origins_of(data, "192.0.2.0/24") == std::vector<std::uint32_t>{200000});
    }
    SECTION("an extended-length AS_PATH is read like any other") {
        std::vector<std::uint32_t> long_path;
        for (std::uint32_t as = 1; as <= 100; ++as) long_path.push_back(as);
        const std::string attributes = attribute(2, as_path_value({sequence(long_path)}), transitive | extended_length);
        const routing_data data = parse(rib_record("192.0.2.0/24", {rib_entry(attributes)}));
        CHECK(origins_of(data, "192.0.2.0/24") == std::vector<std::uint32_t>{100});
        CHECK(data.links.size() == 99);
    }
}

TEST_CASE("a path ending in an AS_SET takes the smallest member of the set as its origin", "[mrt]") {
    const auto origin_of_path = [](const std::vector<segment>& segments) {
        return origins_of(parse(rib_record("198.51.100.0/24", {entry_with_path(segments)})), "198.51.100.0/24");
    };
    using origins = std::vector<std::uint32_t>;
    CHECK(origin_of_path({sequence({100, 200}), set_of({64500})}) == origins{64500});
    CHECK(origin_of_path({sequence({100, 200}), set_of({400, 300})}) == origins{300});
    CHECK(origin_of_path({set_of({500, 400, 600})}) == origins{400});
    CHECK(origin_of_path({sequence({100, 200})}) == origins{200});
}

TEST_CASE("a RIB entry without an AS path gives no origin and is counted", "[mrt]") {
    const std::string record = rib_record("198.51.100.0/24", {entry_with_path({}), rib_entry(origin_igp())});
    const routing_data data = parse(record + rib_record("203.0.113.0/24", {entry_with_path({sequence({7})})}));
    CHECK(find_route(data, "198.51.100.0/24") == nullptr);
    CHECK(origins_of(data, "203.0.113.0/24") == std::vector<std::uint32_t>{7});
    CHECK(data.report.records == 2);
    CHECK(data.report.skipped_by_kind.at("RIB entry without AS path") == 2);
}

TEST_CASE("an IPv6 RIB record gives an IPv6 route", "[mrt]") {
    const routing_data data = parse(peer_index_table(2) +
                                    rib_record("2001:db8:40::/42", {entry_with_path({sequence({6939, 64496})})}));
    REQUIRE(data.routes.size() == 1);
    CHECK(data.routes[0].prefix == *ip_prefix::parse("2001:db8:40::/42"));
    CHECK(data.routes[0].prefix.network.is_v6());
    CHECK(data.routes[0].origins == std::vector<std::uint32_t>{64496});
}

TEST_CASE("links leave out prepending and are not drawn across an AS_SET", "[mrt]") {
    const routing_data data = parse(rib_record(
        "198.51.100.0/24", {entry_with_path({sequence({300, 100, 100, 100, 200})}),
                            entry_with_path({sequence({10, 20}), set_of({30, 40}), sequence({50, 60, 60})}),
                            entry_with_path({sequence({200, 100})})}));
    CHECK(data.links == std::vector<as_link>{{10, 20}, {50, 60}, {100, 200}, {100, 300}});
}

TEST_CASE("a prefix in several records is returned once with origins ranked by support", "[mrt]") {
    const auto path_to = [](std::uint32_t origin) { return entry_with_path({sequence({3356, origin})}); };
    const std::string first = rib_record("10.0.0.0/8", {path_to(65001), path_to(65002), path_to(65002)});
    const std::string second = rib_record("10.0.0.0/8", {path_to(65003), path_to(65001), path_to(65003),
                                                         path_to(65001), path_to(65003)});
    const routing_data data = parse(first + rib_record("11.0.0.0/8", {path_to(65009)}) + second);
    CHECK(data.routes.size() == 2);
    // 65001 and 65003 have three entries each, the lower AS number first; 65002 has two.
    CHECK(origins_of(data, "10.0.0.0/8") == std::vector<std::uint32_t>{65001, 65003, 65002});
    CHECK(data.report.records == 3);
}

// ---- what is skipped, cut off or refused ----------------------------------------------------

TEST_CASE("records of other MRT types and subtypes are skipped and counted", "[mrt]") {
    const std::string bgp4mp_message = std::string(40, '\x01');
    const std::string input = mrt_record(16, 4, bgp4mp_message) + mrt_record(16, 4, bgp4mp_message) +
                              // BGP4MP_ET: the length counts the microseconds before the message.
                              mrt_record(17, 4, std::string("\x00\x01\x02\x03", 4) + bgp4mp_message) +
                              mrt_record(11, 0, std::string(30, '\0')) + mrt_record(table_dump_v2, 6, "rib generic") +
                              rib_record("192.0.2.0/24", {entry_with_path({sequence({64500})})});
    const routing_data data = parse(input);
    CHECK(data.report.records == 1);
    CHECK(data.report.skipped == 5);
    CHECK(data.report.skipped_by_kind == std::map<std::string, std::uint64_t>{{"MRT type 16 subtype 4", 2},
                                                                               {"MRT type 17 subtype 4", 1},
                                                                               {"MRT type 11 subtype 0", 1},
                                                                               {"MRT type 13 subtype 6", 1}});
    CHECK(origins_of(data, "192.0.2.0/24") == std::vector<std::uint32_t>{64500});
    CHECK(data.report.warnings.empty());
}

TEST_CASE("a truncated MRT record is reported with its offset and the records before it kept", "[mrt]") {
    const std::string kept = peer_index_table(1) + rib_record("192.0.2.0/24", {entry_with_path({sequence({64500})})});
    const std::string last = rib_record("198.51.100.0/24", {entry_with_path({sequence({64501})})});
    const std::string expected_offset = "byte offset " + std::to_string(kept.size()) + " ";
    for (const std::size_t cut : {std::size_t{5}, last.size() / 2, last.size() - 1}) {
        CAPTURE(cut);
        const routing_data data = parse(kept + last.substr(0, cut));
        CHECK(data.routes.size() == 1);
        CHECK(origins_of(data, "192.0.2.0/24") == std::vector<std::uint32_t>{64500});
        CHECK(data.report.records == 1);
        REQUIRE(data.report.warnings.size() == 1);
        CHECK_THAT(data.report.warnings[0], Catch::Contains(expected_offset));
    }
}

TEST_CASE("a corrupt attribute length throws an input_error with its offset and the input's name", "[mrt]") {
    // The AS_PATH claims 200 bytes where 10 are left in the entry; the ORIGIN attribute before it is fine.
    std::string corrupt_as_path = attribute(2, as_path_value({sequence({64500, 64501})}));
    corrupt_as_path[2] = '\xc8';
    const std::string attributes = origin_igp() + corrupt_as_path;
    const std::string head = peer_index_table(1);
    const std::string input = head + rib_record("192.0.2.0/24", {rib_entry(attributes)});
    // MRT header 12, sequence number 4, prefix length 1 and 3 bytes, entry count 2; entry: peer
    // index 2, time 4, attribute length 2; ORIGIN 4; AS_PATH flags and type 2.
    const std::uint64_t length_offset = head.size() + 12 + 4 + 1 + 3 + 2 + 2 + 4 + 2 + 4 + 2;
    REQUIRE(static_cast<unsigned char>(input[length_offset]) == 200);
    try {
        parse_mrt(input, "corrupt.mrt");
        FAIL("parse_mrt accepted an attribute longer than its entry");
    } catch (const input_error& error) {
        CHECK(error.input() == "corrupt.mrt");
        CHECK(error.offset() == length_offset);
        CHECK_THAT(std::string(error.what()), Catch::StartsWith("corrupt.mrt") && Catch::Contains("attribute type 2"));
    }
}

TEST_CASE("RIB records whose fields contradict each other are refused", "[mrt]") {
    const std::string entry = entry_with_path({sequence({64500})});
    const auto offset_of_failure = [](const std::string& input) -> std::optional<std::uint64_t> {
        try {
            parse_mrt(input, "bad.mrt");
        } catch (const input_error& error) {
            return error.offset();
        }
        FAIL("parse_mrt accepted an inconsistent record");
        return std::nullopt;
    };
    SECTION("an IPv4 prefix longer than 32 bits") {
        std::string record = rib_record("192.0.2.0/24", {entry});
        record[16] = 33;
        CHECK(offset_of_failure(record) == 16);
    }
    SECTION("an IPv6 prefix longer than 128 bits") {
        std::string record = rib_record("2001:db8::/32", {entry});
        record[16] = static_cast<char>(129);
        CHECK(offset_of_failure(record) == 16);
    }
    SECTION("an entry count past the end of the record") {
        std::string record = rib_record("192.0.2.0/24", {entry});
        record[21] = 2;  // the entry count's low byte, after header, sequence number and prefix
        CHECK(offset_of_failure(record) == 20);
    }
    SECTION("a peer index past the peer table") {
        const std::string table = peer_index_table(2);
        CHECK(offset_of_failure(table + rib_record("192.0.2.0/24", {entry, rib_entry(origin_igp(), 2)})) ==
              table.size() + 22 + entry.size());
    }
    SECTION("an entry's attributes past the end of the record") {
        std::string record = rib_record("192.0.2.0/24", {entry});
        record[28] = '\x7f';  // the attribute length's high byte
        CHECK(offset_of_failure(record) == 28);
    }
    SECTION("an AS_PATH that is neither 4-byte nor 2-byte") {
        const std::string broken = attribute(2, std::string("\x02\x03\x00\x01\x00\x02\x00", 7));
        CHECK(offset_of_failure(rib_record("192.0.2.0/24", {rib_entry(broken)})) == 22 + 8 + 3);
    }
}

TEST_CASE("input with no MRT records gives no routes and no warnings", "[mrt]") {
    const routing_data data = parse("");
    CHECK(data.routes.empty());
    CHECK(data.links.empty());
    CHECK(data.report.records == 0);
    CHECK(data.report.warnings.empty());
}
