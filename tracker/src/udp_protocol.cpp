#include "nearcast/tracker/udp_protocol.hpp"

#include <algorithm>

namespace nearcast::tracker {

namespace {

// Byte offsets of a BEP 15 announce request.
constexpr std::size_t header_size = 16;  // connection_id, action, transaction_id
constexpr std::size_t announce_size = 98;
constexpr std::size_t largest_udp_payload = 65507;

std::uint64_t read_big_endian(std::string_view bytes, std::size_t offset, std::size_t width) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value = (value << 8) | static_cast<std::uint8_t>(bytes[offset + i]);
    return value;
}

std::uint32_t read_u32(std::string_view bytes, std::size_t offset) {
    return static_cast<std::uint32_t>(read_big_endian(bytes, offset, 4));
}

std::uint64_t read_u64(std::string_view bytes, std::size_t offset) { return read_big_endian(bytes, offset, 8); }

template <std::size_t size>
void read_bytes(std::string_view bytes, std::size_t offset, std::array<std::uint8_t, size>& out) {
    std::copy_n(reinterpret_cast<const std::uint8_t*>(bytes.data() + offset), size, out.begin());
}

// Big-endian fields, appended whole: an answer is built on the hot path of every announce.
template <typename Unsigned>
void append_big_endian(std::string& out, Unsigned value) {
    char bytes[sizeof(Unsigned)];
    for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
        bytes[i] = static_cast<char>((value >> (8 * (sizeof(Unsigned) - 1 - i))) & 0xff);
    }
    out.append(bytes, sizeof bytes);
}

void append_u16(std::string& out, std::uint16_t value) { append_big_endian(out, value); }
void append_u32(std::string& out, std::uint32_t value) { append_big_endian(out, value); }
void append_u64(std::string& out, std::uint64_t value) { append_big_endian(out, value); }

udp_bad_packet bad(std::uint32_t transaction_id, std::string reason) { return {transaction_id, std::move(reason)}; }

// BEP 41: options after the fixed announce. Returns the reason the options are malformed, or
// nothing; URLData is gathered in `url_data`.
std::optional<std::string> read_announce_options(std::string_view options, std::string& url_data) {
    std::size_t at = 0;
    while (at < options.size()) {
        const auto type = static_cast<std::uint8_t>(options[at++]);
        if (type == 0x0) break;    // EndOfOptions
        if (type == 0x1) continue; // NOP
        if (at >= options.size()) return "option " + std::to_string(type) + " has no length";
        const auto length = static_cast<std::uint8_t>(options[at++]);
        if (length > options.size() - at) return "option " + std::to_string(type) + " runs past the packet";
        if (type == 0x2) url_data += options.substr(at, length);
        at += length;
    }
    return std::nullopt;
}

// "/announce/<token>?..." gives "<token>"; any other path gives no token.
std::string_view token_in_path(std::string_view url_data) {
    const std::string_view path = url_data.substr(0, url_data.find('?'));
    constexpr std::string_view prefix = "/announce/";
    if (!path.starts_with(prefix)) return {};
    return path.substr(prefix.size());
}

udp_request parse_announce(std::string_view datagram, std::uint32_t transaction_id) {
    if (datagram.size() < announce_size) {
        return bad(transaction_id, "announce of " + std::to_string(datagram.size()) + " bytes is shorter than 98");
    }
    udp_announce announce;
    announce.connection_id = read_u64(datagram, 0);
    announce.transaction_id = transaction_id;
    announce_request& request = announce.request;
    read_bytes(datagram, 16, request.hash);
    read_bytes(datagram, 36, request.id);
    request.downloaded = read_u64(datagram, 56);
    request.left = read_u64(datagram, 64);
    request.uploaded = read_u64(datagram, 72);
    const std::uint32_t event = read_u32(datagram, 80);
    if (event > 3) return bad(transaction_id, "unknown event " + std::to_string(event));
    request.event = static_cast<announce_event>(event);
    if (const std::uint32_t ip = read_u32(datagram, 84); ip != 0) request.claimed_ip = proximity::ip_address::v4(ip);
    request.key = read_u32(datagram, 88);
    const auto num_want = static_cast<std::int32_t>(read_u32(datagram, 92));
    if (num_want < -1) return bad(transaction_id, "num_want is negative");
    if (num_want >= 0) request.numwant = static_cast<std::uint32_t>(num_want);
    request.port = static_cast<std::uint16_t>(read_big_endian(datagram, 96, 2));
    if (request.port == 0) return bad(transaction_id, "port is 0");
    if (datagram.size() > announce_size) {
        std::string url_data;
        if (auto problem = read_announce_options(datagram.substr(announce_size), url_data)) {
            return bad(transaction_id, std::move(*problem));
        }
        request.access_token = token_in_path(url_data);
    }
    return announce;
}

udp_request parse_scrape(std::string_view datagram, std::uint32_t transaction_id) {
    const std::size_t hash_bytes = datagram.size() - header_size;
    if (hash_bytes == 0) return bad(transaction_id, "scrape names no info_hash");
    if (hash_bytes % 20 != 0) {
        return bad(transaction_id, "scrape has " + std::to_string(hash_bytes) + " bytes of hashes, not a multiple of 20");
    }
    const std::size_t count = hash_bytes / 20;
    if (count > max_udp_scrape_hashes) {
        return bad(transaction_id, "scrape of " + std::to_string(count) + " hashes is more than " +
                                       std::to_string(max_udp_scrape_hashes));
    }
    udp_scrape scrape;
    scrape.connection_id = read_u64(datagram, 0);
    scrape.transaction_id = transaction_id;
    scrape.hashes.resize(count);
    for (std::size_t i = 0; i < count; ++i) read_bytes(datagram, header_size + 20 * i, scrape.hashes[i]);
    return scrape;
}

}  // namespace

udp_request parse_udp_packet(std::string_view datagram) {
    if (datagram.size() < header_size) {
        return udp_bad_packet{std::nullopt, "packet of " + std::to_string(datagram.size()) + " bytes is shorter than 16"};
    }
    const std::uint32_t action = read_u32(datagram, 8);
    const std::uint32_t transaction_id = read_u32(datagram, 12);
    switch (action) {
    case static_cast<std::uint32_t>(udp_action::connect):
        // Bytes after the 16 are allowed: BEP 15 asks both sides not to assume sizes.
        if (read_u64(datagram, 0) != udp_protocol_id) return bad(transaction_id, "connect without the protocol id");
        return udp_connect{transaction_id};
    case static_cast<std::uint32_t>(udp_action::announce): return parse_announce(datagram, transaction_id);
    case static_cast<std::uint32_t>(udp_action::scrape): return parse_scrape(datagram, transaction_id);
    default: return bad(transaction_id, "unknown action " + std::to_string(action));
    }
}

void encode_udp_connect_response(std::uint32_t transaction_id, std::uint64_t connection_id, std::string& out) {
    out.clear();
    append_u32(out, static_cast<std::uint32_t>(udp_action::connect));
    append_u32(out, transaction_id);
    append_u64(out, connection_id);
}

void encode_udp_announce_response(std::uint32_t transaction_id, const announce_response& response,
                                  proximity::ip_family request_family, std::string& out) {
    const bool v4 = request_family == proximity::ip_family::v4;
    const std::size_t peer_size = v4 ? 6 : 18;
    const std::size_t peer_room = (largest_udp_payload - 20) / peer_size;
    out.clear();
    out.reserve(20 + peer_size * std::min(response.peers.size(), peer_room));
    append_u32(out, static_cast<std::uint32_t>(udp_action::announce));
    append_u32(out, transaction_id);
    append_u32(out, response.interval);
    append_u32(out, response.incomplete);  // leechers come before seeders in BEP 15
    append_u32(out, response.complete);
    std::size_t written = 0;
    for (const endpoint& peer : response.peers) {
        if (peer.address.is_v4() != v4) continue;
        if (written++ == peer_room) break;
        if (v4) {
            append_u32(out, peer.address.v4_bits());
        } else {
            append_u64(out, static_cast<std::uint64_t>(peer.address.v6_bits() >> 64));
            append_u64(out, static_cast<std::uint64_t>(peer.address.v6_bits()));
        }
        append_u16(out, peer.port);
    }
}

void encode_udp_scrape_response(std::uint32_t transaction_id, const scrape_response& response, std::string& out) {
    const std::size_t entry_room = (largest_udp_payload - 8) / 12;
    const std::size_t count = std::min(response.files.size(), entry_room);
    out.clear();
    out.reserve(8 + 12 * count);
    append_u32(out, static_cast<std::uint32_t>(udp_action::scrape));
    append_u32(out, transaction_id);
    for (std::size_t i = 0; i < count; ++i) {
        const scrape_entry& entry = response.files[i];
        append_u32(out, entry.complete);  // seeders, completed, leechers
        append_u32(out, entry.downloaded);
        append_u32(out, entry.incomplete);
    }
}

void encode_udp_error_response(std::uint32_t transaction_id, std::string_view message, std::string& out) {
    out.clear();
    append_u32(out, static_cast<std::uint32_t>(udp_action::error));
    append_u32(out, transaction_id);
    out += message.substr(0, largest_udp_payload - 8);
}

std::string encode_udp_connect_response(std::uint32_t transaction_id, std::uint64_t connection_id) {
    std::string out;
    encode_udp_connect_response(transaction_id, connection_id, out);
    return out;
}

std::string encode_udp_announce_response(std::uint32_t transaction_id, const announce_response& response,
                                         proximity::ip_family request_family) {
    std::string out;
    encode_udp_announce_response(transaction_id, response, request_family, out);
    return out;
}

std::string encode_udp_scrape_response(std::uint32_t transaction_id, const scrape_response& response) {
    std::string out;
    encode_udp_scrape_response(transaction_id, response, out);
    return out;
}

std::string encode_udp_error_response(std::uint32_t transaction_id, std::string_view message) {
    std::string out;
    encode_udp_error_response(transaction_id, message, out);
    return out;
}

}  // namespace nearcast::tracker
