#include "nearcast/tracker/http_protocol.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <vector>

namespace nearcast::tracker {

namespace {

// ---- reading ---------------------------------------------------------------------------

// Walks "a=1&b=2" without copying; empty pieces ("a=1&&b=2") are skipped.
class query_parameters {
public:
    explicit query_parameters(std::string_view query) : rest_(query) {}

    bool next(std::string_view& name, std::string_view& value) {
        while (!rest_.empty()) {
            const std::size_t end = rest_.find('&');
            const std::string_view piece = rest_.substr(0, end);
            rest_ = end == std::string_view::npos ? std::string_view() : rest_.substr(end + 1);
            if (piece.empty()) continue;
            const std::size_t equals = piece.find('=');
            name = piece.substr(0, equals);
            value = equals == std::string_view::npos ? std::string_view() : piece.substr(equals + 1);
            return true;
        }
        return false;
    }

private:
    std::string_view rest_;
};

int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

struct decoded_value {
    std::size_t length = 0;  // every decoded byte is counted, even past the buffer's end
    bool well_formed = true;
    bool fits(std::size_t capacity) const { return well_formed && length <= capacity; }
};

// Percent-decodes into a fixed buffer: values we read are short, so the hot path never
// allocates. Bytes past `capacity` are counted, not stored, so a caller can say how long a
// too-long value was.
decoded_value percent_decode(std::string_view encoded, std::uint8_t* out, std::size_t capacity) {
    decoded_value result;
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        char c = encoded[i];
        std::uint8_t byte = static_cast<std::uint8_t>(c);
        if (c == '%') {
            const int high = i + 2 < encoded.size() ? hex_digit_value(encoded[i + 1]) : -1;
            const int low = high >= 0 ? hex_digit_value(encoded[i + 2]) : -1;
            if (low < 0) {
                result.well_formed = false;
                return result;
            }
            byte = static_cast<std::uint8_t>(high * 16 + low);
            i += 2;
        } else if (c == '+') {
            byte = ' ';
        }
        if (result.length < capacity) out[result.length] = byte;
        ++result.length;
    }
    return result;
}

template <std::size_t capacity>
struct value_buffer {
    std::array<std::uint8_t, capacity> bytes{};
    decoded_value decoded;

    explicit value_buffer(std::string_view encoded) : decoded(percent_decode(encoded, bytes.data(), capacity)) {}
    bool fits() const { return decoded.fits(capacity); }
    std::string_view text() const {
        return {reinterpret_cast<const char*>(bytes.data()), std::min(decoded.length, capacity)};
    }
};

enum class parameter : unsigned { info_hash, peer_id, port, uploaded, downloaded, left, event, numwant, key, ip, cache_fill, other };

constexpr std::array<std::string_view, 11> parameter_names = {
    "info_hash", "peer_id", "port", "uploaded", "downloaded", "left", "event", "numwant", "key", "ip", "cache_fill"};

parameter parameter_named(std::string_view name) {
    for (std::size_t i = 0; i < parameter_names.size(); ++i) {
        if (parameter_names[i] == name) return static_cast<parameter>(i);
    }
    return parameter::other;
}

std::string_view name_of(parameter which) { return parameter_names[static_cast<unsigned>(which)]; }

tracker_failure failure(parameter which, std::string_view problem) {
    std::string reason(name_of(which));
    reason += ' ';
    reason += problem;
    return {std::move(reason)};
}

std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t max) {
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    // from_chars takes no '+' and, for unsigned types, no '-', so "digits only" holds here.
    if (error != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
    return value;
}

// Reads a 20-byte binary value (info_hash, peer_id) into `out`.
std::optional<tracker_failure> read_twenty_bytes(parameter which, std::string_view encoded,
                                                 std::array<std::uint8_t, 20>& out) {
    const decoded_value decoded = percent_decode(encoded, out.data(), out.size());
    if (!decoded.well_formed) return failure(which, "has bad percent-encoding");
    if (decoded.length != out.size()) {
        return failure(which, "must be 20 bytes, not " + std::to_string(decoded.length));
    }
    return std::nullopt;
}

std::optional<tracker_failure> read_number(parameter which, std::string_view encoded, std::uint64_t max,
                                           std::uint64_t& out) {
    const value_buffer<24> value(encoded);
    if (!value.decoded.well_formed) return failure(which, "has bad percent-encoding");
    const auto number = value.fits() ? parse_decimal(value.text(), max) : std::nullopt;
    if (!number) {
        return failure(which, "must be a decimal number from " + std::string(which == parameter::port ? "1" : "0") +
                                  " to " + std::to_string(max));
    }
    out = *number;
    return std::nullopt;
}

std::uint32_t fnv1a_32(std::string_view text) {
    std::uint32_t hash = 2166136261u;
    for (const char c : text) {
        hash ^= static_cast<std::uint8_t>(c);
        hash *= 16777619u;
    }
    return hash;
}

std::optional<std::uint32_t> key_number(std::string_view text) {
    if (text.empty()) return std::nullopt;
    if (text.size() == 8 && std::all_of(text.begin(), text.end(), [](char c) { return hex_digit_value(c) >= 0; })) {
        std::uint32_t value = 0;
        for (const char c : text) value = value * 16 + static_cast<std::uint32_t>(hex_digit_value(c));
        return value;
    }
    if (const auto decimal = parse_decimal(text, 0xffffffffu)) return static_cast<std::uint32_t>(*decimal);
    return fnv1a_32(text);
}

std::optional<tracker_failure> read_event(std::string_view encoded, announce_event& out) {
    const value_buffer<16> value(encoded);
    if (!value.decoded.well_formed) return failure(parameter::event, "has bad percent-encoding");
    const std::string_view text = value.fits() ? value.text() : std::string_view("?");
    if (text.empty() || text == "paused") {
        out = announce_event::none;
    } else if (text == "started") {
        out = announce_event::started;
    } else if (text == "completed") {
        out = announce_event::completed;
    } else if (text == "stopped") {
        out = announce_event::stopped;
    } else {
        return failure(parameter::event, "must be started, completed, stopped or empty");
    }
    return std::nullopt;
}

std::optional<proximity::ip_address> ip_literal(std::string_view text) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    return proximity::ip_address::parse(text);
}

std::optional<tracker_failure> read_parameter(parameter which, std::string_view value, announce_request& request) {
    std::uint64_t number = 0;
    switch (which) {
    case parameter::info_hash: return read_twenty_bytes(which, value, request.hash);
    case parameter::peer_id: return read_twenty_bytes(which, value, request.id);
    case parameter::port:
        if (auto problem = read_number(which, value, 65535, number)) return problem;
        if (number == 0) return failure(which, "must be a decimal number from 1 to 65535");
        request.port = static_cast<std::uint16_t>(number);
        return std::nullopt;
    case parameter::uploaded: return read_number(which, value, UINT64_MAX, request.uploaded);
    case parameter::downloaded: return read_number(which, value, UINT64_MAX, request.downloaded);
    case parameter::left: return read_number(which, value, UINT64_MAX, request.left);
    case parameter::event: return read_event(value, request.event);
    case parameter::numwant:
        if (auto problem = read_number(which, value, 0xffffffffu, number)) return problem;
        request.numwant = static_cast<std::uint32_t>(number);
        return std::nullopt;
    case parameter::key: {
        const value_buffer<128> key(value);
        if (!key.decoded.well_formed) return failure(which, "has bad percent-encoding");
        if (!key.fits()) return failure(which, "is longer than 128 bytes");
        request.key = key_number(key.text());
        return std::nullopt;
    }
    case parameter::ip: {
        const value_buffer<64> ip(value);
        if (!ip.decoded.well_formed) return failure(which, "has bad percent-encoding");
        if (ip.fits()) request.claimed_ip = ip_literal(ip.text());
        return std::nullopt;
    }
    case parameter::cache_fill:
        if (value != "0" && value != "1") return failure(which, "must be 0 or 1");
        request.cache_fill = value == "1";
        return std::nullopt;
    case parameter::other: return std::nullopt;
    }
    return std::nullopt;
}

// ---- writing ---------------------------------------------------------------------------

void append_integer(std::string& out, std::uint64_t value) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, end);
}

void append_string(std::string& out, std::string_view text) {
    append_integer(out, text.size());
    out += ':';
    out += text;
}

// A key: its name as a bencoded string.
void append_key(std::string& out, std::string_view key) { append_string(out, key); }

void append_integer_entry(std::string& out, std::string_view key, std::uint64_t value) {
    append_key(out, key);
    out += 'i';
    append_integer(out, value);
    out += 'e';
}

// Writes the address in network order at `at`; returns where the next byte goes.
char* put_address_bytes(char* at, const proximity::ip_address& address) {
    if (address.is_v4()) {
        const std::uint32_t bits = address.v4_bits();
        for (int shift = 24; shift >= 0; shift -= 8) *at++ = static_cast<char>(bits >> shift);
    } else {
        const proximity::uint128 bits = address.v6_bits();
        for (int shift = 120; shift >= 0; shift -= 8) *at++ = static_cast<char>(static_cast<std::uint8_t>(bits >> shift));
    }
    return at;
}

// The string of `count` compact peers of one family: sized once, then filled in place.
void append_compact_peers(std::string& out, const std::vector<endpoint>& peers, bool v4, std::size_t count) {
    const std::size_t size = count * (v4 ? 6 : 18);
    append_integer(out, size);
    out += ':';
    const std::size_t start = out.size();
    out.resize(start + size);
    char* at = out.data() + start;
    for (const endpoint& peer : peers) {
        if (peer.address.is_v4() != v4) continue;
        at = put_address_bytes(at, peer.address);
        *at++ = static_cast<char>(peer.port >> 8);
        *at++ = static_cast<char>(peer.port & 0xff);
    }
}

}  // namespace

std::variant<announce_request, tracker_failure> parse_announce_query(std::string_view query) {
    announce_request request;
    unsigned seen = 0;
    query_parameters parameters(query);
    std::string_view name;
    std::string_view value;
    while (parameters.next(name, value)) {
        const parameter which = parameter_named(name);
        if (which == parameter::other) continue;
        const unsigned bit = 1u << static_cast<unsigned>(which);
        if (seen & bit) return failure(which, "is given more than once");
        seen |= bit;
        if (auto problem = read_parameter(which, value, request)) return std::move(*problem);
    }
    for (const parameter required : {parameter::info_hash, parameter::peer_id, parameter::port}) {
        if (!(seen & (1u << static_cast<unsigned>(required)))) return failure(required, "is missing");
    }
    return request;
}

std::variant<scrape_request, tracker_failure> parse_scrape_query(std::string_view query) {
    scrape_request request;
    query_parameters parameters(query);
    std::string_view name;
    std::string_view value;
    while (parameters.next(name, value)) {
        if (parameter_named(name) != parameter::info_hash) continue;
        if (request.hashes.size() == max_scrape_hashes) {
            return tracker_failure{"info_hash is given more than " + std::to_string(max_scrape_hashes) + " times"};
        }
        info_hash hash{};
        if (auto problem = read_twenty_bytes(parameter::info_hash, value, hash)) return std::move(*problem);
        request.hashes.push_back(hash);
    }
    return request;
}

void encode_announce(const announce_response& response, std::string& out) {
    const auto v4_count = static_cast<std::size_t>(
        std::count_if(response.peers.begin(), response.peers.end(), [](const endpoint& peer) { return peer.address.is_v4(); }));
    const std::size_t v6_count = response.peers.size() - v4_count;
    out.clear();
    out.reserve(160 + response.warning.size() + 6 * v4_count + 18 * v6_count);
    // Keys in byte order, as bencode requires.
    out += 'd';
    append_integer_entry(out, "complete", response.complete);
    append_integer_entry(out, "incomplete", response.incomplete);
    append_integer_entry(out, "interval", response.interval);
    append_integer_entry(out, "min interval", response.min_interval);
    if (response.supernode) append_integer_entry(out, "nearcast supernode", 1);
    append_key(out, "peers");
    append_compact_peers(out, response.peers, true, v4_count);
    if (v6_count > 0) {
        append_key(out, "peers6");
        append_compact_peers(out, response.peers, false, v6_count);
    }
    if (!response.warning.empty()) {
        append_key(out, "warning message");
        append_string(out, response.warning);
    }
    out += 'e';
}

void encode_scrape(const scrape_response& response, std::string& out) {
    const auto& files = response.files;
    const auto by_hash = [](const scrape_entry* a, const scrape_entry* b) { return a->hash < b->hash; };
    std::vector<const scrape_entry*> sorted;
    sorted.reserve(files.size());
    for (const scrape_entry& entry : files) sorted.push_back(&entry);
    // Stable, so of two entries for one hash the first given is the one answered.
    std::stable_sort(sorted.begin(), sorted.end(), by_hash);
    out.clear();
    out.reserve(16 + files.size() * 96);
    out += "d5:filesd";
    const scrape_entry* previous = nullptr;
    for (const scrape_entry* entry : sorted) {
        if (previous && previous->hash == entry->hash) continue;
        previous = entry;
        append_string(out, std::string_view(reinterpret_cast<const char*>(entry->hash.data()), entry->hash.size()));
        out += 'd';
        append_integer_entry(out, "complete", entry->complete);
        append_integer_entry(out, "downloaded", entry->downloaded);
        append_integer_entry(out, "incomplete", entry->incomplete);
        out += 'e';
    }
    out += "ee";
}

void encode_failure(std::string_view reason, std::string& out) {
    out.clear();
    out.reserve(24 + reason.size());
    out += 'd';
    append_key(out, "failure reason");
    append_string(out, reason);
    out += 'e';
}

std::string encode_announce(const announce_response& response) {
    std::string out;
    encode_announce(response, out);
    return out;
}

std::string encode_scrape(const scrape_response& response) {
    std::string out;
    encode_scrape(response, out);
    return out;
}

std::string encode_failure(std::string_view reason) {
    std::string out;
    encode_failure(reason, out);
    return out;
}

}  // namespace nearcast::tracker
