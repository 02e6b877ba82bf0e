// HTTP/1.1 with keep-alive and pipelining: one session object per connection, a timeout on
// every request, limits on header and body size. The GETs of announces and scrapes are read by
// read_simple_get (http_request_head.hpp); every other request by Boost.Beast's parser.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <memory>

#include "service.hpp"

namespace nearcast::tracker::server {

class http_listener : public std::enable_shared_from_this<http_listener> {
public:
    http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& where, tracker_service& service);
    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
    void accept();
    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    tracker_service& service_;
};

// Milliseconds since the epoch, the tracker's clock.
std::uint64_t wall_clock_ms();
endpoint endpoint_of(const boost::asio::ip::address& address, std::uint16_t port);

}  // namespace nearcast::tracker::server
