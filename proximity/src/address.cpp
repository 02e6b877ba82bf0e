#include "nearcast/proximity/address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace nearcast::proximity {

namespace {

// Dotted quad only: four decimal parts 0-255, no leading '+', no empty parts.
std::optional<std::uint32_t> parse_dotted_quad(std::string_view text) {
    std::uint32_t bits = 0;
    const char* at = text.data();
    const char* end = text.data() + text.size();
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (at == end || *at != '.') return std::nullopt;
            ++at;
        }
        if (at == end || *at < '0' || *at > '9') return std::nullopt;
        unsigned value = 0;
        const auto [next, error] = std::from_chars(at, end, value);
        if (error != std::errc() || value > 255 || next - at > 3) return std::nullopt;
        at = next;
        bits = (bits << 8) | value;
    }
    if (at != end) return std::nullopt;
    return bits;
}

constexpr uint128 mask_of(unsigned width, unsigned length) {
    if (length == 0) return 0;
    const uint128 all = width == 32 ? uint128{0xffff'ffffu} : ~uint128{0};
    return (all << (width - length)) & all;
}

}  // namespace

ip_address ip_address::v6(std::uint64_t high, std::uint64_t low) {
    return v6((uint128{high} << 64) | low);
}

ip_address ip_address::from_bytes(ip_family family, const std::uint8_t* bytes) {
    uint128 bits = 0;
    const int count = family == ip_family::v4 ? 4 : 16;
    for (int i = 0; i < count; ++i) bits = (bits << 8) | bytes[i];
    return family == ip_family::v4 ? v4(static_cast<std::uint32_t>(bits)) : v6(bits);
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
    if (text.find(':') == std::string_view::npos) {
        const auto bits = parse_dotted_quad(text);
        if (!bits) return std::nullopt;
        return v4(*bits);
    }
    // inet_pton reads a C string: "2001:db8::\0junk" would pass as its part before the NUL.
    if (text.size() > 45 || text.find('\0') != std::string_view::npos) return std::nullopt;
    char buffer[46];
    text.copy(buffer, text.size());
    buffer[text.size()] = '\0';
    std::uint8_t bytes[16];
    if (inet_pton(AF_INET6, buffer, bytes) != 1) return std::nullopt;
    const ip_address address = from_bytes(ip_family::v6, bytes);
    // ::ffff:a.b.c.d is the IPv4 address it maps, so both spellings meet the same prefixes.
    if ((address.bits_ >> 32) == uint128{0xffff}) return v4(static_cast<std::uint32_t>(address.bits_));
    return address;
}

ip_address ip_address::masked(unsigned length) const {
    return {family_, bits_ & mask_of(width(), length)};
}

std::string ip_address::to_string() const {
    std::uint8_t bytes[16];
    const int count = is_v4() ? 4 : 16;
    uint128 bits = bits_;
    for (int i = count - 1; i >= 0; --i) {
        bytes[i] = static_cast<std::uint8_t>(bits & 0xff);
        bits >>= 8;
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes, text, sizeof text);
    return text;
}

ip_prefix ip_prefix::of(ip_address address, unsigned length) {
    return {address.masked(length), static_cast<std::uint8_t>(length)};
}

std::optional<ip_prefix> ip_prefix::parse(std::string_view text, bool allow_host_bits) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const auto address = ip_address::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    const std::string_view length_text = text.substr(slash + 1);
    unsigned length = 0;
    const auto [end, error] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    if (error != std::errc() || end != length_text.data() + length_text.size() || length_text.empty()) {
        return std::nullopt;
    }
    // An IPv4-mapped IPv6 prefix such as ::ffff:10.0.0.0/104 is the IPv4 prefix it maps.
    const bool mapped = address->is_v4() && text.substr(0, slash).find(':') != std::string_view::npos;
    if (mapped) {
        if (length < 96) return std::nullopt;
        length -= 96;
    }
    if (length > address->width()) return std::nullopt;
    const ip_prefix prefix = of(*address, length);
    if (!allow_host_bits && prefix.network != *address) return std::nullopt;
    return prefix;
}

bool ip_prefix::contains(ip_address address) const {
    return address.family() == network.family() && address.masked(length) == network;
}

bool ip_prefix::contains(const ip_prefix& other) const {
    return other.length >= length && contains(other.network);
}

std::string ip_prefix::to_string() const {
    return network.to_string() + "/" + std::to_string(length);
}

}  // namespace nearcast::proximity
