// BEP 15 load generator: a fixed number of announces in flight over one UDP socket per source
// address, driven by one epoll loop on the calling thread.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tracker_load.hpp"

namespace nearcast::bench {

enum class connection_ids { reused, fresh_for_every_announce };

class udp_load_generator {
public:
    // `tracker_process`: whose CPU time to report beside the generator's (-1: nobody's).
    udp_load_generator(const sockaddr_in& tracker, pid_t tracker_process, const std::vector<in_addr>& sources,
                       unsigned in_flight);
    ~udp_load_generator();
    udp_load_generator(const udp_load_generator&) = delete;
    udp_load_generator& operator=(const udp_load_generator&) = delete;

    // Every peer of `peers` announces once (event "started"), in order, as fast as the tracker
    // answers. Timing covers the whole load; stops early after `give_up_after`.
    load_result announce_each_once(peer_range peers, std::chrono::seconds give_up_after);

    // Random peers of `peers` re-announce (no event, numwant 50) for the window.
    load_result announce_at_random(peer_range peers, connection_ids ids, load_window window);

    // One connect and one "started" announce of `peer`; true once the tracker accepts it.
    // Used to wait for a tracker to come up (opentracker loads its whitelist in a thread).
    bool tracker_accepts_announce(std::uint64_t peer, std::chrono::milliseconds wait, std::string& answer);

private:
    struct request_plan;
    struct source_socket;
    struct slot;

    load_result run(request_plan& plan);
    void start_request(request_plan& plan, slot& request, bench_clock::time_point now, load_result& result);
    void send_connect(slot& request, bench_clock::time_point now, load_result& result);
    void send_announce(request_plan& plan, slot& request, bench_clock::time_point now, load_result& result);
    void handle_answer(request_plan& plan, unsigned source, const std::uint8_t* data, std::size_t size,
                       bench_clock::time_point now, load_result& result);
    void send_packet(slot& request, const std::uint8_t* data, std::size_t size, load_result& result);

    sockaddr_in tracker_;
    pid_t tracker_process_;
    std::vector<source_socket> sockets_;
    std::vector<slot> slots_;
    int epoll_ = -1;
    std::uint32_t next_sequence_ = 1;
};

}  // namespace nearcast::bench
