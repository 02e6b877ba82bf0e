// libFuzzer target for what the seeder reads from outside: HTTP Range, If-None-Match and
// If-Range headers and item paths (from any web seed client; the peer's stream server reads
// the first three with the same core code) and torrents (from fellow seeders). The first byte
// picks the parser. Nothing may crash or throw anything but the documented error; ranges must
// lie inside the file, in order of asking, without overlap; a path must never leave its root;
// "*" and a validator's own entity tag must match it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nearcast/core/byte_ranges.hpp"
#include "nearcast/seeder/torrent_maker.hpp"

using namespace nearcast::seeder;
using namespace nearcast::core;

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_seeder_input: %s\n", what);
        std::abort();
    }
}

void ranges(std::string_view header) {
    // Sizes around the edges a parser gets wrong: empty, one byte, small, huge.
    for (const std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000}, ~std::uint64_t{0} >> 1}) {
        const range_request request = parse_range_header(header, size);
        if (request.verdict != range_verdict::partial) continue;
        check(!request.ranges.empty(), "a partial answer without ranges");
        check(request.ranges.size() <= max_ranges, "more ranges than allowed");
        for (const byte_range& range : request.ranges) {
            check(range.first <= range.last, "a range that ends before it starts");
            check(range.last < size, "a range past the end of the file");
        }
    }
}

void path(std::string_view url_path) {
    const auto relative = safe_relative_path(url_path);
    if (!relative) return;
    check(!relative->empty() && relative->is_relative(), "an empty or absolute path was accepted");
    for (const auto& part : *relative) {
        check(part != ".." && part != "." && !part.empty(), "a path that climbs out was accepted");
        check(part.string().find('\0') == std::string::npos, "a NUL in a path was accepted");
    }
}

void torrent(std::string_view bytes) {
    try {
        const catalogue_item item = item_from_torrent(std::vector<char>(bytes.begin(), bytes.end()), "/nonexistent");
        check(item.v1_hex.size() == 40, "a torrent without a v1 hash was accepted");
        check(item.torrent.size() == bytes.size(), "the torrent bytes were not kept as given");
    } catch (const publish_error&) {
        // refused, as it should be
    }
}

// Entity tags as the seeder writes them (strong), and a weak one as another server might.
constexpr std::string_view etags[] = {"\"5f3a-1000\"", "\"\"", "W/\"5f3a-1000\""};
constexpr std::string_view last_modified = "Tue, 15 Nov 1994 08:12:31 GMT";

void none_match(std::string_view header) {
    for (const std::string_view etag : etags) {
        const bool hit = none_match_hits(header, etag);
        if (header == "*") check(hit, "If-None-Match: * did not match");
        if (header == etag) check(hit, "If-None-Match with the entity tag itself did not match");
    }
}

void if_range(std::string_view header) {
    for (const std::string_view etag : etags) {
        const bool holds = if_range_holds(header, etag, last_modified);
        if (header.empty()) check(holds, "an absent If-Range did not hold");
        if (header == etag && !etag.starts_with("W/")) check(holds, "If-Range with the strong entity tag did not hold");
        if (header == last_modified) check(holds, "If-Range with the Last-Modified date did not hold");
        if (header.starts_with("W/")) check(!holds, "a weak If-Range held");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 5) {
        case 0: ranges(rest); break;
        case 1: path(rest); break;
        case 2: torrent(rest); break;
        case 3: none_match(rest); break;
        default: if_range(rest); break;
    }
    return 0;
}
