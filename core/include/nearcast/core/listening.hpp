// A port that cannot be listened on (in use, not an address of this host, a privileged port)
// is a start-up error that names what was to listen, where, and why; the tools exit with 2.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/system/system_error.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nearcast::core {

struct listen_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An address and port as every tool takes them on its command line: "127.0.0.1:6969",
// "[::1]:6969", or "localhost:6969" (127.0.0.1; no name is ever looked up). Nullopt for
// anything else: no port, a port past 65535, a name, an IPv6 address without brackets.
struct address_port {
    boost::asio::ip::address address;
    std::uint16_t port = 0;
};
std::optional<address_port> parse_address_port(std::string_view text);
// The same, or a usage message naming the flag: "--listen-http: 'x' is not ADDRESS:PORT
// (for example 127.0.0.1:PORT, 0.0.0.0:PORT for every address, [::1]:PORT, localhost:PORT)".
std::string address_port_problem(std::string_view flag, std::string_view text);

// "127.0.0.1:6969" or "[::1]:6969" of an Asio endpoint (TCP or UDP).
template <class Endpoint>
std::string endpoint_text(const Endpoint& where) {
    const std::string address = where.address().to_string();
    return (where.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(where.port());
}

// Runs `bind` (open, bind, listen), turning a system_error into a listen_error such as
// "cannot listen for HTTP on 127.0.0.1:6969 (TCP): Address already in use".
template <class Bind>
void listen_or_explain(const std::string& what, const std::string& where, const char* protocol, Bind&& bind) {
    try {
        bind();
    } catch (const boost::system::system_error& error) {
        throw listen_error("cannot listen for " + what + " on " + where + " (" + protocol + "): " + error.code().message());
    }
}

// Opens, binds and listens a TCP acceptor (address reuse; an IPv6 one takes IPv6 only).
template <class Acceptor, class Endpoint>
void listen_on(Acceptor& acceptor, const Endpoint& where, const std::string& what) {
    listen_or_explain(what, endpoint_text(where), "TCP", [&] {
        acceptor.open(where.protocol());
        acceptor.set_option(boost::asio::socket_base::reuse_address(true));
        if (where.address().is_v6()) acceptor.set_option(boost::asio::ip::v6_only(true));
        acceptor.bind(where);
        acceptor.listen(boost::asio::socket_base::max_listen_connections);
    });
}

}  // namespace nearcast::core
