// Addresses and ports as the tools take them, and ports that cannot be listened on.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>

#include "nearcast/core/listening.hpp"

using namespace nearcast::core;

TEST_CASE("ADDRESS:PORT is read as every tool takes it: IPv4, [IPv6], localhost", "[listening]") {
    const auto text_of = [](std::string_view text) {
        const auto parsed = parse_address_port(text);
        return parsed ? parsed->address.to_string() + " " + std::to_string(parsed->port) : std::string("refused");
    };
    CHECK(text_of("127.0.0.1:6969") == "127.0.0.1 6969");
    CHECK(text_of("[::1]:6969") == "::1 6969");
    CHECK(text_of("localhost:6969") == "127.0.0.1 6969");
    CHECK(text_of("0.0.0.0:0") == "0.0.0.0 0");
    CHECK(text_of("127.0.0.1:65535") == "127.0.0.1 65535");
    for (const char* bad : {"127.0.0.1:65536", "127.0.0.1:", "127.0.0.1", ":6969", "localhost", "::1:6969", "[127.0.0.1]:80",
                            "example.com:80", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x", "[::1]", "", "[]:80"}) {
        INFO(bad);
        CHECK(text_of(bad) == "refused");
    }
    CHECK(address_port_problem("--listen-http", "nope") ==
          "--listen-http: 'nope' is not ADDRESS:PORT (for example 127.0.0.1:PORT, 0.0.0.0:PORT for every address, [::1]:PORT, localhost:PORT)");
}

TEST_CASE("ADDRESS:PORT with a NUL in its address is refused, whatever comes before the NUL", "[listening]") {
    // fuzz_config checks it: a config file's "127.0.0.1\0junk:80" was read as 127.0.0.1:80.
    using namespace std::string_view_literals;
    CHECK_FALSE(parse_address_port("127.0.0.1\0junk:80"sv));
    CHECK_FALSE(parse_address_port("[::1\0junk]:80"sv));
}

TEST_CASE("a port in use is named with what was to listen, where and how", "[listening]") {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor first(io), second(io);
    listen_on(first, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0), "HTTP");
    const auto taken = first.local_endpoint();
    try {
        listen_on(second, taken, "the control API");
        FAIL("a second acceptor listened on a port in use");
    } catch (const listen_error& error) {
        CHECK_THAT(error.what(), Catch::Equals("cannot listen for the control API on " + endpoint_text(taken) +
                                               " (TCP): Address already in use"));
    }
}
