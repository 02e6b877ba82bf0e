// libFuzzer target for the compiled proximity snapshot, which a peer may fetch from a tracker
// (GET /proximity.ncprox) as well as read from disk. A snapshot is at least 1.3 MB (its direct
// tables) and checksummed, so random bytes would only ever meet the first checks: the input is
// instead a list of edits to a small valid snapshot built at start, after which the checksums
// are made right again (unless the flags byte says not to), so the fuzzer reaches the section
// table, the trie, route and AS graph checks. What parses must answer lookups, list its routes
// and walk its AS graph without a sanitizer report; what does not must be an input_error.
//
// Input: a flags byte (bit 0: keep the checksums as edited), then edits, each
//   [area] [offset, 2 bytes little-endian] [count] [count bytes]
// where area 0 is the header, 1 the section table, 2 and up section (area - 2)'s bytes, and
// 255 cuts the file at the offset (scaled to the file's size).
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "nearcast/proximity/model.hpp"

using namespace nearcast::proximity;

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_snapshot: %s\n", what);
        std::abort();
    }
}

// The layout this harness edits (see proximity/src/snapshot.cpp): a 64-byte header with the
// section count at 16 and the CRC-32s at 32 (payload) and 36 (header and table), then 24-byte
// section entries (id, element size, offset, size), then the payload on a 16-byte boundary.
constexpr std::size_t header_size = 64;
constexpr std::size_t entry_size = 24;

template <class T>
T get(const std::string& bytes, std::size_t at) {
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    return value;
}

std::uint32_t crc_of(const char* data, std::size_t size, std::uint32_t start = 0) {
    return static_cast<std::uint32_t>(
        crc32_z(start, reinterpret_cast<const Bytef*>(data), static_cast<z_size_t>(size)));
}

struct area {
    std::size_t at;
    std::size_t size;
};

struct base_snapshot {
    std::string bytes;
    std::vector<area> areas;  // header, section table, then each section's bytes
    std::size_t table_end = 0;
    std::size_t payload_at = 0;
};

// A small model with something in every section: IPv4 and IPv6 routes deep enough for trie
// nodes, a multi-origin route, AS links and AS names.
base_snapshot make_base() {
    const std::string ipasn =
        "127.10.0.0/16\t64512\n127.10.5.0/24\t64513\n127.10.5.128/25\t64514\n127.10.5.129/32\t64515\n"
        "10.0.0.0/8\t64516\n192.0.2.0/24\t64496\n2001:db8::/32\t64497\n2001:db8:1::/48\t64498\n"
        "2001:db8:1:2::/64\t64499\n";
    const std::string pfx2as = "198.51.100.0\t24\t64500_64501\n203.0.113.0\t24\t64502,64503\n";
    const std::string relationships = "64512|64513|-1\n64513|64514|0\n64514|64515|-1\n64496|64497|0\n";
    std::vector<routing_data> sources;
    sources.push_back(parse_ipasn(ipasn, "base.ipasn"));
    sources.push_back(parse_pfx2as(pfx2as, "base.pfx2as"));
    sources.push_back(parse_as_relationships(relationships, "base.as-rel"));
    sources.back().as_names = {{64512, "LOOPBACK-A"}, {64513, "LOOPBACK-B"}, {64496, "DOCUMENTATION"}};
    const model built = model::combine(std::move(sources));

    char folder[] = "/tmp/nearcast-fuzz-snapshot-XXXXXX";
    check(::mkdtemp(folder) != nullptr, "cannot make a folder under /tmp");
    const std::string path = std::string(folder) + "/base.ncprox";
    built.save_snapshot(path);
    base_snapshot base;
    {
        std::ifstream in(path, std::ios::binary);
        base.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::filesystem::remove_all(folder);

    const auto count = get<std::uint32_t>(base.bytes, 16);
    base.table_end = header_size + count * entry_size;
    base.payload_at = (base.table_end + 15) / 16 * 16;
    base.areas.push_back({0, header_size});
    base.areas.push_back({header_size, count * entry_size});
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t entry = header_size + i * entry_size;
        base.areas.push_back({base.payload_at + get<std::uint64_t>(base.bytes, entry + 8),
                              get<std::uint64_t>(base.bytes, entry + 16)});
    }
    return base;
}

void fix_checksums(std::string& bytes, const base_snapshot& base) {
    if (bytes.size() < base.payload_at) return;
    const std::uint32_t payload = crc_of(bytes.data() + base.payload_at, bytes.size() - base.payload_at);
    std::memcpy(bytes.data() + 32, &payload, sizeof payload);
    const std::uint32_t head = crc_of(bytes.data(), 36);
    const std::uint32_t header = crc_of(bytes.data() + header_size, base.table_end - header_size, head);
    std::memcpy(bytes.data() + 36, &header, sizeof header);
}

// Everything a peer or the tracker asks of a model, over addresses in and around its routes.
void use(const model& loaded) {
    const std::vector<ip_address> addresses = {
        ip_address::v4(0x7f0a0581), ip_address::v4(0x7f0a0001), ip_address::v4(0x0a000001), ip_address::v4(0),
        ip_address::v4(0xffffffff), ip_address::v4(0xc6336401),  ip_address::v6(0x20010db8'00010002ull, 1),
        ip_address::v6(0x20010db8'00000000ull, 0), ip_address::v6(0, 1), ip_address::v6(~0ull, ~0ull)};
    std::size_t found = 0;
    for (const ip_address& address : addresses) {
        if (const auto route = loaded.prefixes().lookup(address)) {
            found += route->origins.size();
            (void)loaded.as_name(route->primary_origin());
            (void)loaded.graph().hops(route->primary_origin(), 64512, 6);
        }
        found += loaded.prefixes().origin_of(address);
    }
    for (const route& each : loaded.prefixes().routes()) {
        found += each.origins.size();
        (void)loaded.as_name(each.origins.empty() ? 0 : each.origins.front());
    }
    for (const std::uint32_t asn : {0u, 64496u, 64497u, 64512u, 64513u, 64514u, 64515u, 0xffffffffu}) {
        (void)loaded.graph().hops(asn, 64515, 6);
        (void)loaded.graph().adjacent(asn, 64513);
    }
    (void)loaded.memory_bytes();
    (void)found;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const base_snapshot base = make_base();
    if (size == 0) return 0;
    std::string bytes = base.bytes;
    const bool keep_checksums = data[0] & 1;
    std::size_t at = 1;
    while (at + 4 <= size) {
        const unsigned which = data[at];
        const std::size_t offset = data[at + 1] | (std::size_t{data[at + 2]} << 8);
        const std::size_t count = data[at + 3];
        at += 4;
        if (which == 255) {
            bytes.resize(std::min(bytes.size(), offset * bytes.size() / 65536));
            continue;
        }
        const area& target = base.areas[which % base.areas.size()];
        for (std::size_t i = 0; i < count && at < size; ++i, ++at) {
            const std::size_t where = target.size ? target.at + (offset + i) % target.size : target.at;
            if (where < bytes.size()) bytes[where] = static_cast<char>(data[at]);
        }
    }
    if (!keep_checksums) fix_checksums(bytes, base);
    try {
        use(model::parse_snapshot(bytes, "fuzz.ncprox"));
    } catch (const input_error&) {
        // refused, as it should be
    }
    return 0;
}
