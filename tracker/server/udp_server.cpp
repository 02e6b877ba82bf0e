#include "udp_server.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "http_server.hpp"
#include "nearcast/core/listening.hpp"

namespace nearcast::tracker::server {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

endpoint source_of(const sockaddr_storage& address) {
    if (address.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
        asio::ip::address_v6::bytes_type bytes;
        std::memcpy(bytes.data(), &v6.sin6_addr, bytes.size());
        return endpoint_of(asio::ip::address_v6(bytes), ntohs(v6.sin6_port));
    }
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    return endpoint_of(asio::ip::address_v4(ntohl(v4.sin_addr.s_addr)), ntohs(v4.sin_port));
}

}  // namespace

udp_listener::udp_listener(asio::io_context& io, const udp::endpoint& where, tracker_service& service)
    : socket_(io), service_(service) {
    core::listen_or_explain("UDP tracker requests", core::endpoint_text(where), "UDP", [&] {
        socket_.open(where.protocol());
        if (where.address().is_v6()) socket_.set_option(asio::ip::v6_only(true));
        socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20));
        socket_.bind(where);
    });
    socket_.non_blocking(true);
    for (std::size_t i = 0; i < batch; ++i) {
        in_vectors_[i] = {in_[i].data(), in_[i].size()};
        in_headers_[i].msg_hdr.msg_iov = &in_vectors_[i];
        in_headers_[i].msg_hdr.msg_iovlen = 1;
    }
}

void udp_listener::start() { wait(); }

void udp_listener::stop() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

void udp_listener::wait() {
    socket_.async_wait(udp::socket::wait_read, [self = shared_from_this()](boost::system::error_code error) {
        if (error == asio::error::operation_aborted || !self->socket_.is_open()) return;
        if (error) {
            spdlog::debug("udp wait: {}", error.message());
        } else {
            for (int round = 0; round < rounds_per_wake && self->answer_batch() == batch; ++round) {
            }
        }
        self->wait();
    });
}

unsigned udp_listener::send_answers(unsigned from, unsigned to) {
    // Answers go out whole or not at all; a full send buffer drops the rest, as UDP would.
    const int fd = socket_.native_handle();
    for (unsigned sent = from; sent < to;) {
        const int result = ::sendmmsg(fd, out_headers_.data() + sent, to - sent, MSG_DONTWAIT);
        if (result < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                spdlog::debug("udp send: {}", std::strerror(errno));
                ++sent;  // skip the datagram the kernel refused, keep the others
                continue;
            }
            break;
        }
        sent += static_cast<unsigned>(result);
    }
    return to;
}

std::size_t udp_listener::answer_batch() {
    for (std::size_t i = 0; i < batch; ++i) {
        in_headers_[i].msg_hdr.msg_name = &senders_[i];
        in_headers_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        in_headers_[i].msg_hdr.msg_flags = 0;
    }
    const int fd = socket_.native_handle();
    const int got = ::recvmmsg(fd, in_headers_.data(), batch, MSG_DONTWAIT, nullptr);
    if (got <= 0) {
        if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            spdlog::debug("udp receive: {}", std::strerror(errno));
        }
        return 0;
    }
    const std::uint64_t now_ms = wall_clock_ms();
    unsigned answers = 0, sent = 0;
    for (int i = 0; i < got; ++i) {
        mmsghdr& header = in_headers_[i];
        // A datagram larger than the buffer was cut short: no valid BEP 15 packet is that big.
        if (header.msg_hdr.msg_flags & MSG_TRUNC) continue;
        if (!service_.handle_udp(std::string_view(in_[i].data(), header.msg_len), source_of(senders_[i]), now_ms,
                                 answers_[answers])) {
            continue;
        }
        out_vectors_[answers] = {answers_[answers].data(), answers_[answers].size()};
        msghdr& out = out_headers_[answers].msg_hdr;
        out = {};
        out.msg_name = &senders_[i];
        out.msg_namelen = header.msg_hdr.msg_namelen;
        out.msg_iov = &out_vectors_[answers];
        out.msg_iovlen = 1;
        ++answers;
        // Answers leave in groups, not all at the end of a batch: the first asker of a big
        // batch should not wait for the last one's answer to be computed.
        if (answers - sent == send_group) sent = send_answers(sent, answers);
    }
    send_answers(sent, answers);
    return static_cast<std::size_t>(got);
}

}  // namespace nearcast::tracker::server
