#include "nearcast/core/host_check.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

namespace nearcast::core {

bool host_is_local(std::string_view host, std::uint16_t port) {
    if (host.empty()) return false;
    std::string_view name = host;
    std::string_view port_text;
    if (host.front() == '[') {
        const std::size_t close = host.find(']');
        if (close == std::string_view::npos) return false;
        name = host.substr(1, close - 1);
        const std::string_view rest = host.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            port_text = rest.substr(1);
        }
    } else if (const std::size_t colon = host.rfind(':'); colon != std::string_view::npos) {
        name = host.substr(0, colon);
        port_text = host.substr(colon + 1);
    }
    if (port_text.empty()) {
        if (port != 80) return false;
    } else {
        unsigned given = 0;
        const auto [end, problem] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), given);
        if (problem != std::errc() || end != port_text.data() + port_text.size() || given != port) return false;
    }
    // Host names are case-insensitive (RFC 3986 section 3.2.2): LOCALHOST is localhost.
    if (name.size() == 9 && std::equal(name.begin(), name.end(), "localhost",
                                       [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
        return true;
    }
    // The address parser reads a C string: "127.0.0.1\0.evil.example" would pass as its part
    // before the NUL.
    if (name.find('\0') != std::string_view::npos) return false;
    boost::system::error_code error;
    const auto address = boost::asio::ip::make_address(std::string(name), error);
    // 0.0.0.0 and :: name no host, yet browsers have sent them to this machine's loopback.
    return !error && !address.is_unspecified();
}

bool origin_is_local(std::string_view origin, std::uint16_t port) {
    if (origin.empty()) return true;
    constexpr std::string_view scheme = "http://";
    if (!origin.starts_with(scheme)) return false;
    return host_is_local(origin.substr(scheme.size()), port);
}

}  // namespace nearcast::core
