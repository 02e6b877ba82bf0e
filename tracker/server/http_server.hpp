// HTTP/1.1 with keep-alive and pipelining: one session object per connection, a timeout on
// every request, limits on header and body size. The GETs of announces and scrapes are read by
// read_simple_get (http_request_head.hpp); every other request by Boost.Beast's parser.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

#include <cstdint>
#include <functional>
#include <memory>

#include "service.hpp"

namespace nearcast::tracker::server {

// Accepts at most `max_connections` open connections (a new one past that is closed at once)
// and, when accept fails (no file descriptor left), waits a moment before trying again and
// logs that once a minute, rather than spinning and logging on every failure.
class http_listener : public std::enable_shared_from_this<http_listener> {
public:
    http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& where, tracker_service& service,
                  std::size_t max_connections);
    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
    void accept();
    void accept_later();
    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_;
    tracker_service& service_;
    std::size_t max_connections_;
    std::shared_ptr<std::size_t> open_connections_ = std::make_shared<std::size_t>(0);
    std::uint64_t refused_ = 0;          // connections closed at once, over the cap
    std::uint64_t accept_failures_ = 0;  // since the last log line about them
    std::chrono::steady_clock::time_point failures_logged_{};
};

// Milliseconds since the epoch, the tracker's clock.
std::uint64_t wall_clock_ms();
endpoint endpoint_of(const boost::asio::ip::address& address, std::uint16_t port);

}  // namespace nearcast::tracker::server
