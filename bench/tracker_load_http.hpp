// BEP 3 / BEP 23 load generator: a fixed number of HTTP/1.1 connections, each sending its next
// announce when the previous answer is complete, driven by one epoll loop on the calling thread.
//
// Every request asks for keep-alive. A server that closes the connection after each answer
// (opentracker does) makes the generator wait for the close and connect again before the next
// announce; that time is part of the next announce's latency, as it is for a real client.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tracker_load.hpp"

namespace nearcast::bench {

// What an HTTP announce answer said, read from the bytes received so far.
struct http_answer {
    bool complete = false;
    std::size_t total_size = 0;  // headers and body
    int status = 0;
    bool server_keeps_connection = false;
    std::string problem;  // set when the answer is not a usable announce answer
    std::uint32_t peers = 0;
};
http_answer read_http_answer(const char* data, std::size_t size);

class http_load_generator {
public:
    // `tracker_process`: whose CPU time to report beside the generator's (-1: nobody's).
    http_load_generator(const sockaddr_in& tracker, pid_t tracker_process, const std::vector<in_addr>& sources,
                        unsigned connections);
    ~http_load_generator();
    http_load_generator(const http_load_generator&) = delete;
    http_load_generator& operator=(const http_load_generator&) = delete;

    // Random peers of `peers` re-announce (no event, numwant 50, compact) for the window; each
    // connection announces for peers of its own source address.
    load_result announce_at_random(peer_range peers, load_window window);

private:
    struct connection;
    struct run_state;

    void start_announce(run_state& run, connection& link, bench_clock::time_point started);
    bool open(connection& link, load_result& result);
    void close_link(connection& link);
    void send_request(run_state& run, connection& link);
    void read_answer(run_state& run, connection& link);
    // After the server closed a kept-alive connection: the same request on a new connection.
    void reconnect_and_resend(run_state& run, connection& link);
    void fail(run_state& run, connection& link, const std::string& what);
    std::string request_for(std::uint64_t peer) const;

    sockaddr_in tracker_;
    pid_t tracker_process_;
    std::vector<in_addr> sources_;
    std::vector<connection> links_;
    int epoll_ = -1;
    std::string host_header_;
};

}  // namespace nearcast::bench
