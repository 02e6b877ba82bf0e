// BEP 15 over UDP: one socket per address, answered in the order datagrams arrive.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <array>
#include <memory>

#include "service.hpp"

namespace nearcast::tracker::server {

class udp_listener : public std::enable_shared_from_this<udp_listener> {
public:
    udp_listener(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& where, tracker_service& service);
    void start();
    void stop();
    boost::asio::ip::udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }

private:
    void receive();
    boost::asio::ip::udp::socket socket_;
    boost::asio::ip::udp::endpoint sender_;
    std::array<char, 2048> buffer_{};
    tracker_service& service_;
};

}  // namespace nearcast::tracker::server
