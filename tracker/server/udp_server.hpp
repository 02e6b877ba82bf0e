// BEP 15 over UDP: one socket per address, answered in the order datagrams arrive.
//
// Under load the cost of a UDP tracker is mostly system calls, so datagrams are taken in
// batches with recvmmsg and their answers sent with one sendmmsg, on the io_context's one
// thread: an announce costs a fraction of a system call instead of two or three.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <memory>
#include <string>

#include "service.hpp"

namespace nearcast::tracker::server {

class udp_listener : public std::enable_shared_from_this<udp_listener> {
public:
    udp_listener(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& where, tracker_service& service);
    void start();
    void stop();
    boost::asio::ip::udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }

private:
    static constexpr std::size_t batch = 64;
    // Rounds of a batch per wake-up before the other sockets get their turn.
    static constexpr int rounds_per_wake = 8;
    static constexpr std::size_t datagram_size = 2048;
    static constexpr unsigned send_group = 16;

    void wait();
    // Reads one batch, answers it; returns how many datagrams it read.
    std::size_t answer_batch();
    // Sends answers [from, to) with sendmmsg; returns `to`.
    unsigned send_answers(unsigned from, unsigned to);

    boost::asio::ip::udp::socket socket_;
    tracker_service& service_;
    std::array<std::array<char, datagram_size>, batch> in_{};
    std::array<sockaddr_storage, batch> senders_{};
    std::array<iovec, batch> in_vectors_{};
    std::array<mmsghdr, batch> in_headers_{};
    std::array<std::string, batch> answers_;
    std::array<iovec, batch> out_vectors_{};
    std::array<mmsghdr, batch> out_headers_{};
};

}  // namespace nearcast::tracker::server
