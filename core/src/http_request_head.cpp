#include "nearcast/core/http_request_head.hpp"

#include <algorithm>

namespace nearcast::core {

namespace {

using verdict = simple_get::verdict;

enum class scanned { line, partial, bad };

// A line of printable ASCII (and spaces, and tabs where `tabs`) ending in CRLF, from `at`:
// `line` is set without its CRLF and `at` moved past it.
scanned scan_line(std::string_view bytes, std::size_t& at, std::string_view& line, bool tabs) {
    for (std::size_t i = at; i < bytes.size(); ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\r') {
            if (i + 1 == bytes.size()) return scanned::partial;
            if (bytes[i + 1] != '\n') return scanned::bad;
            line = bytes.substr(at, i - at);
            at = i + 2;
            return scanned::line;
        }
        if (c >= 0x7f || (c < 0x20 && !(tabs && c == '\t'))) return scanned::bad;
    }
    return scanned::partial;
}

bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char); }

bool same_without_case(std::string_view a, std::string_view b) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trimmed(std::string_view text) {
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// A Connection value as "token, token": false for anything else (empty items included).
bool read_connection(std::string_view value, bool http_1_1, bool& keep_alive) {
    keep_alive = http_1_1;
    while (true) {
        const std::size_t comma = value.find(',');
        const std::string_view token = trimmed(value.substr(0, comma));
        if (!is_token(token)) return false;
        if (http_1_1 && same_without_case(token, "close")) keep_alive = false;
        if (!http_1_1 && same_without_case(token, "keep-alive")) keep_alive = true;
        if (comma == std::string_view::npos) return true;
        value = value.substr(comma + 1);
    }
}

// "GET /target HTTP/1.x": sets the target and whether it is HTTP/1.1.
bool read_request_line(std::string_view line, std::string_view& target, bool& http_1_1) {
    constexpr std::string_view method = "GET ";
    constexpr std::size_t version_size = 9;  // " HTTP/1.1"
    if (line.size() < method.size() + 1 + version_size || !line.starts_with("GET /")) return false;
    const std::string_view version = line.substr(line.size() - version_size);
    if (version != " HTTP/1.1" && version != " HTTP/1.0") return false;
    http_1_1 = version.back() == '1';
    target = line.substr(method.size(), line.size() - method.size() - version_size);
    return target.find(' ') == std::string_view::npos;
}

}  // namespace

simple_get read_simple_get(std::string_view buffered) {
    simple_get head;
    const auto verdict_is = [&](verdict result) {
        head.result = result;
        return head;
    };
    // Whatever does not fit the limit is the full parser's to refuse or read.
    const std::string_view bytes = buffered.substr(0, simple_head_limit);
    const auto incomplete = [&] { return verdict_is(buffered.size() >= simple_head_limit ? verdict::not_simple : verdict::need_more); };
    constexpr std::string_view start = "GET /";
    if (!start.starts_with(bytes.substr(0, start.size()))) return verdict_is(verdict::not_simple);

    std::size_t at = 0;
    std::string_view line;
    switch (scan_line(bytes, at, line, false)) {
    case scanned::partial: return incomplete();
    case scanned::bad: return verdict_is(verdict::not_simple);
    case scanned::line: break;
    }
    bool http_1_1 = true;
    if (!read_request_line(line, head.target, http_1_1)) return verdict_is(verdict::not_simple);
    head.keep_alive = http_1_1;
    head.http_1_0 = !http_1_1;

    bool seen_connection = false;
    bool seen_authorization = false;
    while (true) {
        switch (scan_line(bytes, at, line, true)) {
        case scanned::partial: return incomplete();
        case scanned::bad: return verdict_is(verdict::not_simple);
        case scanned::line: break;
        }
        if (line.empty()) break;
        const std::size_t colon = line.find(':');
        const std::string_view name = line.substr(0, colon);
        if (colon == std::string_view::npos || !is_token(name)) return verdict_is(verdict::not_simple);
        const std::string_view value = trimmed(line.substr(colon + 1));
        if (same_without_case(name, "content-length") || same_without_case(name, "transfer-encoding") ||
            same_without_case(name, "proxy-connection") || same_without_case(name, "upgrade")) {
            return verdict_is(verdict::not_simple);
        }
        if (same_without_case(name, "connection")) {
            if (seen_connection || !read_connection(value, http_1_1, head.keep_alive)) return verdict_is(verdict::not_simple);
            seen_connection = true;
        } else if (same_without_case(name, "authorization")) {
            if (seen_authorization) return verdict_is(verdict::not_simple);
            seen_authorization = true;
            head.authorization = value;
        }
    }
    head.size = at;
    return verdict_is(verdict::complete);
}

}  // namespace nearcast::core
