// IPv4 and IPv6 addresses and prefixes in one type.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nearcast::proximity {

__extension__ typedef unsigned __int128 uint128;

enum class ip_family : std::uint8_t { v4 = 4, v6 = 6 };

// An IPv4 or IPv6 address. IPv4 addresses keep their 32 bits in the low bits of `bits`;
// an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is parsed as the IPv4 address it maps.
class ip_address {
public:
    constexpr ip_address() = default;
    static constexpr ip_address v4(std::uint32_t bits) { return {ip_family::v4, bits}; }
    static constexpr ip_address v6(uint128 bits) { return {ip_family::v6, bits}; }
    static ip_address v6(std::uint64_t high, std::uint64_t low);
    // From network-order bytes: 4 for IPv4, 16 for IPv6.
    static ip_address from_bytes(ip_family family, const std::uint8_t* bytes);

    // Accepts dotted quad IPv4 and any RFC 4291 IPv6 text form. Nothing else.
    static std::optional<ip_address> parse(std::string_view text);

    constexpr ip_family family() const { return family_; }
    constexpr bool is_v4() const { return family_ == ip_family::v4; }
    constexpr bool is_v6() const { return family_ == ip_family::v6; }
    constexpr unsigned width() const { return is_v4() ? 32u : 128u; }
    constexpr std::uint32_t v4_bits() const { return static_cast<std::uint32_t>(bits_); }
    constexpr uint128 v6_bits() const { return bits_; }
    // The address with every bit after the first `length` bits cleared.
    ip_address masked(unsigned length) const;

    std::string to_string() const;

    constexpr auto operator<=>(const ip_address&) const = default;

private:
    constexpr ip_address(ip_family family, uint128 bits) : family_(family), bits_(bits) {}
    ip_family family_ = ip_family::v4;
    uint128 bits_ = 0;
};

// A network: an address whose bits past `length` are zero.
struct ip_prefix {
    ip_address network;
    std::uint8_t length = 0;

    // Masks the address, so 10.1.2.3/8 becomes 10.0.0.0/8.
    static ip_prefix of(ip_address address, unsigned length);
    // "a.b.c.d/len" or "v6/len". Rejects lengths past the family's width and set host bits
    // unless `allow_host_bits`.
    static std::optional<ip_prefix> parse(std::string_view text, bool allow_host_bits = false);

    bool contains(ip_address address) const;
    bool contains(const ip_prefix& other) const;
    std::string to_string() const;

    constexpr auto operator<=>(const ip_prefix&) const = default;
};

}  // namespace nearcast::proximity
