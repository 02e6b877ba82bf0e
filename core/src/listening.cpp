#include "nearcast/core/listening.hpp"

#include <charconv>

namespace nearcast::core {

std::optional<address_port> parse_address_port(std::string_view text) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    const std::string_view digits = text.substr(colon + 1);
    unsigned port = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || port > 65535) return std::nullopt;
    address_port out;
    out.port = static_cast<std::uint16_t>(port);
    if (host == "localhost") {
        out.address = boost::asio::ip::address_v4::loopback();
        return out;
    }
    const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);
    // The address parser reads a C string: "127.0.0.1\0junk" would pass as its part before the NUL.
    if (host.find('\0') != std::string_view::npos) return std::nullopt;
    boost::system::error_code failed;
    out.address = boost::asio::ip::make_address(std::string(host), failed);
    // IPv6 needs its brackets (the last colon would be ambiguous without them); IPv4 has none.
    if (failed || out.address.is_v6() != bracketed) return std::nullopt;
    return out;
}

std::string address_port_problem(std::string_view flag, std::string_view text) {
    return std::string(flag) + ": '" + std::string(text) +
           "' is not ADDRESS:PORT (for example 127.0.0.1:PORT, 0.0.0.0:PORT for every address, [::1]:PORT, localhost:PORT)";
}

}  // namespace nearcast::core
