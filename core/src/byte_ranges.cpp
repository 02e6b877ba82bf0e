#include "nearcast/core/byte_ranges.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

namespace nearcast::core {

namespace {

constexpr auto no_position = std::numeric_limits<std::uint64_t>::max();

std::string_view trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

// Digits only. A position too large for 64 bits saturates: as a last-pos it only means "to
// the end", as a first-pos it is past any file, so nothing is lost by not refusing it.
std::optional<std::uint64_t> position_of(std::string_view digits) {
    if (digits.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        value = value > (no_position - digit) / 10 ? no_position : value * 10 + digit;
    }
    return value;
}

// Merges ranges that overlap or touch; each merged part takes the place of the earliest-asked
// range in it, so a client that asked in a careful order gets its parts in that order.
std::vector<byte_range> coalesced(const std::vector<byte_range>& asked) {
    std::vector<std::size_t> by_start(asked.size());
    std::iota(by_start.begin(), by_start.end(), std::size_t{0});
    std::stable_sort(by_start.begin(), by_start.end(),
                     [&](std::size_t a, std::size_t b) { return asked[a].first < asked[b].first; });
    struct part {
        byte_range span;
        std::size_t first_asked;
    };
    std::vector<part> parts;
    for (const std::size_t index : by_start) {
        const byte_range& range = asked[index];
        // last < file size <= 2^64 - 1, so last + 1 cannot wrap.
        if (!parts.empty() && range.first <= parts.back().span.last + 1) {
            parts.back().span.last = std::max(parts.back().span.last, range.last);
            parts.back().first_asked = std::min(parts.back().first_asked, index);
        } else {
            parts.push_back({range, index});
        }
    }
    std::sort(parts.begin(), parts.end(), [](const part& a, const part& b) { return a.first_asked < b.first_asked; });
    std::vector<byte_range> result;
    result.reserve(parts.size());
    for (const part& merged : parts) result.push_back(merged.span);
    return result;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    const char lower = static_cast<char>(c | 0x20);
    return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

// The opaque parts ("xyz", quotes included) of a list of entity tags, weak or strong. An
// opaque tag may hold commas, so the list is scanned rather than split. A malformed element
// ends the list: what came before it still counts.
std::vector<std::string_view> opaque_tags(std::string_view list) {
    std::vector<std::string_view> tags;
    std::size_t at = 0;
    while (at < list.size()) {
        if (list[at] == ',' || list[at] == ' ' || list[at] == '\t') {
            ++at;
            continue;
        }
        if (list.substr(at, 2) == "W/") at += 2;
        if (at >= list.size() || list[at] != '"') break;
        const std::size_t close = list.find('"', at + 1);
        if (close == std::string_view::npos) break;
        tags.push_back(list.substr(at, close - at + 1));
        at = close + 1;
    }
    return tags;
}

std::string_view without_weak_prefix(std::string_view tag) { return tag.starts_with("W/") ? tag.substr(2) : tag; }

}  // namespace

range_request parse_range_header(std::string_view header, std::uint64_t file_size) {
    header = trimmed(header);
    if (header.empty()) return {};
    const std::size_t equals = header.find('=');
    if (equals == std::string_view::npos || equals == 0) return {range_verdict::malformed, {}};
    // Section 14.2: a unit the server does not know means the header is to be ignored.
    if (!same_ignoring_case(header.substr(0, equals), "bytes")) return {range_verdict::whole, {}};

    std::vector<byte_range> wanted;
    std::size_t specs = 0;
    std::string_view rest = header.substr(equals + 1);
    while (!rest.empty() || specs == 0) {
        const std::size_t comma = rest.find(',');
        const std::string_view spec = trimmed(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (spec.empty()) {
            if (rest.empty() && specs == 0) return {range_verdict::malformed, {}};  // "bytes=" or "bytes=,"
            continue;  // list rules: empty elements are allowed and skipped
        }
        if (++specs > max_ranges) return {range_verdict::malformed, {}};
        const std::size_t dash = spec.find('-');
        if (dash == std::string_view::npos) return {range_verdict::malformed, {}};
        const std::string_view first_text = spec.substr(0, dash), last_text = spec.substr(dash + 1);
        if (first_text.empty()) {
            // A suffix: the last N bytes. "-0" and any suffix of an empty file select nothing.
            const auto suffix = position_of(last_text);
            if (!suffix) return {range_verdict::malformed, {}};
            if (*suffix > 0 && file_size > 0) wanted.push_back({file_size - std::min(*suffix, file_size), file_size - 1});
            continue;
        }
        const auto first = position_of(first_text);
        const auto last = last_text.empty() ? std::optional(no_position) : position_of(last_text);
        if (!first || !last || *last < *first) return {range_verdict::malformed, {}};
        if (*first < file_size) wanted.push_back({*first, std::min(*last, file_size - 1)});
    }
    if (wanted.empty()) return {range_verdict::unsatisfiable, {}};
    return {range_verdict::partial, coalesced(wanted)};
}

bool none_match_hits(std::string_view if_none_match, std::string_view etag) {
    if_none_match = trimmed(if_none_match);
    if (if_none_match == "*") return true;
    const std::string_view ours = without_weak_prefix(etag);
    const auto tags = opaque_tags(if_none_match);
    return std::find(tags.begin(), tags.end(), ours) != tags.end();
}

bool if_range_holds(std::string_view if_range, std::string_view etag, std::string_view last_modified) {
    if_range = trimmed(if_range);
    if (if_range.empty()) return true;
    // Strong comparison: a weak tag on either side never matches.
    if (if_range.front() == '"') return !etag.starts_with("W/") && if_range == etag;
    if (if_range.starts_with("W/")) return false;
    return if_range == last_modified;
}

std::optional<std::string> percent_decode_segment(std::string_view segment) {
    std::string decoded;
    decoded.reserve(segment.size());
    for (std::size_t i = 0; i < segment.size(); ++i) {
        char c = segment[i];
        if (c == '%') {
            const int high = i + 2 < segment.size() ? hex_value(segment[i + 1]) : -1;
            const int low = high >= 0 ? hex_value(segment[i + 2]) : -1;
            if (low < 0) return std::nullopt;
            c = static_cast<char>(high * 16 + low);
            if (c == '/') return std::nullopt;
            i += 2;
        }
        if (c == '\0') return std::nullopt;
        decoded += c;
    }
    return decoded;
}

std::optional<std::filesystem::path> safe_relative_path(std::string_view url_path) {
    if (url_path.empty()) return std::nullopt;
    std::filesystem::path relative;
    std::string_view rest = url_path;
    while (true) {
        const std::size_t slash = rest.find('/');
        const auto segment = percent_decode_segment(rest.substr(0, slash));
        if (!segment || segment->empty() || *segment == "." || *segment == ".." ||
            segment->find('\\') != std::string::npos) {
            return std::nullopt;
        }
        relative /= *segment;
        if (slash == std::string_view::npos) return relative;
        rest = rest.substr(slash + 1);
    }
}

}  // namespace nearcast::core
