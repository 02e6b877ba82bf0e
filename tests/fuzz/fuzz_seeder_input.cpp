// libFuzzer target for what the seeder reads from outside: HTTP Range headers and item paths
// (from any web seed client) and torrents (from fellow seeders). The first byte picks the
// parser. Nothing may crash or throw anything but the documented error; ranges must lie
// inside the file, in order of asking, without overlap; a path must never leave its root.
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: ranges(rest); break;
        case 1: path(rest); break;
        default: torrent(rest); break;
    }
    return 0;
}
