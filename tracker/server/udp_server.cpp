#include "udp_server.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <spdlog/spdlog.h>

#include "http_server.hpp"

namespace nearcast::tracker::server {

namespace asio = boost::asio;
using udp = asio::ip::udp;

udp_listener::udp_listener(asio::io_context& io, const udp::endpoint& where, tracker_service& service)
    : socket_(io), service_(service) {
    socket_.open(where.protocol());
    if (where.address().is_v6()) socket_.set_option(asio::ip::v6_only(true));
    socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20));
    socket_.bind(where);
}

void udp_listener::start() { receive(); }

void udp_listener::stop() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

void udp_listener::receive() {
    socket_.async_receive_from(asio::buffer(buffer_), sender_,
                               [self = shared_from_this()](boost::system::error_code error, std::size_t size) {
        if (error == asio::error::operation_aborted) return;
        if (!error) {
            const endpoint source = endpoint_of(self->sender_.address(), self->sender_.port());
            const auto answer = self->service_.handle_udp(std::string_view(self->buffer_.data(), size), source,
                                                          wall_clock_ms());
            if (answer) {
                boost::system::error_code send_error;
                // A datagram answer either goes out whole at once or not at all; never block on it.
                self->socket_.send_to(asio::buffer(*answer), self->sender_, 0, send_error);
                if (send_error && send_error != asio::error::would_block) {
                    spdlog::debug("udp send to {}: {}", self->sender_.address().to_string(), send_error.message());
                }
            }
        } else {
            spdlog::debug("udp receive: {}", error.message());
        }
        self->receive();
    });
}

}  // namespace nearcast::tracker::server
