// The tracker's HTTP endpoints (announce, scrape, dashboard, /stats, /metrics, registrations)
// on core's HTTP/1.1 server: keep-alive and pipelining, a timeout on every request, head and
// body limits decided before a body is read, a connection cap and an accept back-off. The GETs
// of announces and scrapes take the server's fast path (core/http_request_head.hpp).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>

#include "nearcast/core/http_server.hpp"
#include "service.hpp"

namespace nearcast::tracker::server {

// Accepts at most `max_connections` open connections (a new one past that is closed at once).
class http_listener {
public:
    http_listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& where, tracker_service& service,
                  std::size_t max_connections);
    void start() { server_.start(); }
    void stop() { server_.stop(); }
    boost::asio::ip::tcp::endpoint local_endpoint() const { return server_.local_endpoint(); }

private:
    core::http_server server_;
};

// Milliseconds since the epoch, the tracker's clock.
std::uint64_t wall_clock_ms();
endpoint endpoint_of(const boost::asio::ip::address& address, std::uint16_t port);

}  // namespace nearcast::tracker::server
