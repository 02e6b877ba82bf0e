// The pure parts of serving a file over HTTP: the Range header (RFC 9110 section 14), the
// validators If-None-Match and If-Range compare (section 13), and turning a web seed's URL
// path into a relative file path that cannot leave the item's folder.
//
// Choices where the RFC lets a server pick:
// - A Range header that does not parse (`bytes=5-2`, `bytes=x-`, no '=') is ignored: the
//   whole file is served with 200, as section 14.2 allows. So is one of another unit.
// - More than `max_ranges` ranges is treated the same way (malformed, served whole): one
//   request can then cost no more than a plain GET, and no client we know asks for that many.
// - Ranges that overlap or touch are coalesced into one part; the parts keep the order in
//   which their first range was asked for (section 14.6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nearcast::core {

// Inclusive on both ends, as HTTP writes them: [first, last].
struct byte_range {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t length() const { return last - first + 1; }
    bool operator==(const byte_range&) const = default;
};

enum class range_verdict {
    whole,          // no Range header, or a unit other than bytes: 200 with the whole file
    partial,        // 206 with `ranges` (one part, or multipart/byteranges for several)
    unsatisfiable,  // 416 with Content-Range: bytes */SIZE
    malformed,      // a Range header we ignore (bad syntax, too many ranges): 200 whole
};

struct range_request {
    range_verdict verdict = range_verdict::whole;
    std::vector<byte_range> ranges;  // only for partial: clamped to the size, coalesced
};

inline constexpr std::size_t max_ranges = 16;

// `header` is the Range field's value, empty when the request has none.
range_request parse_range_header(std::string_view header, std::uint64_t file_size);

// True when an If-None-Match value ("*" or a list of entity tags) matches `etag`, by the
// weak comparison section 13.1.2 prescribes (W/"x" matches "x").
bool none_match_hits(std::string_view if_none_match, std::string_view etag);

// True when a Range may be honoured under `if_range`: empty, or the strong `etag` itself, or
// exactly the Last-Modified date we send (section 13.1.5). Otherwise the whole file is served.
bool if_range_holds(std::string_view if_range, std::string_view etag, std::string_view last_modified);

// Decodes one URL path segment. '+' stays '+' (form encoding is for queries only). Refuses a
// '%' without two hex digits, and an encoded '/' or NUL, which no file name segment can hold.
std::optional<std::string> percent_decode_segment(std::string_view segment);

// The URL path that follows "/items/<hash>/" (still percent-encoded) as a relative path:
// refuses an empty path, empty segments ("a//b", a trailing '/'), "." and "..", backslashes
// and NUL, so that joining the result to a folder never leaves that folder.
std::optional<std::filesystem::path> safe_relative_path(std::string_view url_path);

}  // namespace nearcast::core
