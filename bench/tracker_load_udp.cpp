#include "tracker_load_udp.hpp"

#include "tracker_cpu.hpp"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

namespace nearcast::bench {

namespace {

constexpr std::uint64_t bep15_protocol_id = 0x41727101980ULL;
constexpr std::uint32_t action_connect = 0;
constexpr std::uint32_t action_announce = 1;
constexpr std::uint32_t action_error = 3;
constexpr std::uint32_t event_none = 0;
constexpr std::uint32_t event_started = 2;
constexpr std::uint64_t bytes_left = 1 << 20;  // every peer is a leecher, so every peer is worth returning
constexpr std::size_t announce_size = 98;
constexpr std::size_t answer_header_size = 20;
constexpr std::size_t compact_ipv4_peer_size = 6;
// BEP 15 lets a client keep a connection ID for a minute (the tracker accepts it for two).
constexpr auto connection_id_lifetime = std::chrono::seconds(60);
constexpr auto answer_timeout = std::chrono::seconds(1);
constexpr std::size_t receive_batch = 32;
constexpr std::size_t largest_answer = 2048;
// Past this many failures in one run the tracker is broken, not busy: stop asking.
constexpr std::uint64_t errors_before_giving_up = 1000;

void put32(std::uint8_t* at, std::uint32_t value) {
    value = htonl(value);
    std::memcpy(at, &value, 4);
}
void put64(std::uint8_t* at, std::uint64_t value) {
    put32(at, static_cast<std::uint32_t>(value >> 32));
    put32(at + 4, static_cast<std::uint32_t>(value));
}
std::uint32_t get32(const std::uint8_t* at) {
    std::uint32_t value = 0;
    std::memcpy(&value, at, 4);
    return ntohl(value);
}

[[noreturn]] void fail_with_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

struct udp_load_generator::source_socket {
    int fd = -1;
    std::optional<std::uint64_t> connection_id;  // as sent on the wire (kept in network order)
    bench_clock::time_point connection_id_obtained;
};

struct udp_load_generator::slot {
    enum class stage : std::uint8_t { idle, awaiting_connection_id, awaiting_announce_answer };
    stage waiting_for = stage::idle;
    std::uint32_t transaction = 0;
    unsigned source = 0;
    std::uint64_t peer = 0;
    bench_clock::time_point started;  // when this announce began, connect included
    bench_clock::time_point sent;     // when its latest packet left
};

struct udp_load_generator::request_plan {
    peer_range peers;
    bool in_order = false;  // each peer once, in order; otherwise uniformly at random
    std::uint64_t next_in_order = 0;
    connection_ids ids = connection_ids::reused;
    std::uint32_t event = event_none;
    run_schedule schedule;
    peer_picker picker{0x756470};
    unsigned busy = 0;
    bench_clock::time_point last_answer;

    std::optional<std::uint64_t> next_peer(bench_clock::time_point now) {
        if (now >= schedule.measure_until) return std::nullopt;
        if (!in_order) return picker.any(peers);
        if (next_in_order >= peers.end) return std::nullopt;
        return next_in_order++;
    }
};

udp_load_generator::udp_load_generator(const sockaddr_in& tracker, pid_t tracker_process,
                                       const std::vector<in_addr>& sources, unsigned in_flight)
    : tracker_(tracker), tracker_process_(tracker_process), slots_(in_flight) {
    if (in_flight == 0 || in_flight > 65536) throw std::invalid_argument("in_flight must be 1..65536");
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) fail_with_errno("epoll_create1");
    sockets_.resize(sources.size());
    for (std::size_t i = 0; i < sources.size(); ++i) {
        const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) fail_with_errno("UDP socket");
        sockets_[i].fd = fd;
        // Room for every answer in flight even if the loop is slow to come back for them.
        const int receive_buffer = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr = sources[i];
        if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0)
            fail_with_errno("bind UDP socket to " + text_of(sources[i]));
        if (connect(fd, reinterpret_cast<const sockaddr*>(&tracker_), sizeof tracker_) != 0)
            fail_with_errno("connect UDP socket to " + text_of(tracker_));
        epoll_event interest{};
        interest.events = EPOLLIN;
        interest.data.u32 = static_cast<std::uint32_t>(i);
        if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &interest) != 0) fail_with_errno("epoll_ctl");
    }
}

udp_load_generator::~udp_load_generator() {
    for (auto& socket : sockets_)
        if (socket.fd >= 0) close(socket.fd);
    if (epoll_ >= 0) close(epoll_);
}

load_result udp_load_generator::announce_each_once(peer_range peers, std::chrono::seconds give_up_after) {
    request_plan plan;
    plan.peers = peers;
    plan.in_order = true;
    plan.next_in_order = peers.first;
    plan.event = event_started;
    const auto start = bench_clock::now();
    plan.schedule = {start, start + give_up_after};
    plan.last_answer = start;
    load_result result = run(plan);
    result.seconds = std::chrono::duration<double>(plan.last_answer - start).count();
    return result;
}

load_result udp_load_generator::announce_at_random(peer_range peers, connection_ids ids, load_window window) {
    request_plan plan;
    plan.peers = peers;
    plan.ids = ids;
    plan.schedule = run_schedule::starting_now(window);
    load_result result = run(plan);
    result.seconds = std::chrono::duration<double>(window.measure).count();
    return result;
}

bool udp_load_generator::tracker_accepts_announce(std::uint64_t peer, std::chrono::milliseconds wait,
                                                  std::string& answer) {
    const auto deadline = bench_clock::now() + wait;
    while (true) {
        const load_result result = announce_each_once({peer, peer + 1}, std::chrono::seconds(1));
        if (result.announces == 1 && result.errors == 0) return true;
        if (result.errors) answer = result.first_error;
        else if (result.timeouts) answer = "no answer";
        if (bench_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

load_result udp_load_generator::run(request_plan& plan) {
    load_result result;
    busy_meter meter(plan.schedule, tracker_process_);
    auto now = bench_clock::now();
    for (auto& request : slots_) {
        request.waiting_for = slot::stage::idle;
        start_request(plan, request, now, result);
        if (request.waiting_for != slot::stage::idle) ++plan.busy;
    }

    std::vector<std::uint8_t> buffers(receive_batch * largest_answer);
    std::vector<iovec> pieces(receive_batch);
    std::vector<mmsghdr> messages(receive_batch);
    for (std::size_t i = 0; i < receive_batch; ++i) {
        pieces[i] = {buffers.data() + i * largest_answer, largest_answer};
        messages[i] = {};
        messages[i].msg_hdr.msg_iov = &pieces[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    epoll_event events[64];
    auto last_timeout_scan = now;

    while (plan.busy > 0) {
        const int ready = epoll_wait(epoll_, events, 64, 10);
        for (int e = 0; e < ready; ++e) {
            const unsigned source = events[e].data.u32;
            while (true) {
                const int received = recvmmsg(sockets_[source].fd, messages.data(), receive_batch, MSG_DONTWAIT, nullptr);
                if (received < 0) {
                    if (errno == ECONNREFUSED) result.note_error("the tracker's UDP port is closed (ICMP port unreachable)");
                    if (errno == EINTR || errno == ECONNREFUSED) continue;
                    break;
                }
                now = bench_clock::now();
                for (int m = 0; m < received; ++m)
                    handle_answer(plan, source, buffers.data() + static_cast<std::size_t>(m) * largest_answer,
                                  messages[m].msg_len, now, result);
                if (static_cast<std::size_t>(received) < receive_batch) break;
            }
        }
        now = bench_clock::now();
        meter.observe(now);
        if (now - last_timeout_scan >= std::chrono::milliseconds(100)) {
            last_timeout_scan = now;
            for (auto& request : slots_) {
                if (request.waiting_for == slot::stage::idle || now - request.sent < answer_timeout) continue;
                // Lost or ignored: ask again for the same peer; its latency keeps running.
                ++result.timeouts;
                if (now >= plan.schedule.measure_until) {
                    request.waiting_for = slot::stage::idle;
                    --plan.busy;
                } else if (request.waiting_for == slot::stage::awaiting_connection_id) {
                    send_connect(request, now, result);
                } else {
                    send_announce(plan, request, now, result);
                }
            }
        }
        if (result.errors >= errors_before_giving_up) {
            for (auto& request : slots_) request.waiting_for = slot::stage::idle;
            plan.busy = 0;
        }
    }
    meter.observe(bench_clock::now());
    meter.report_to(result);
    return result;
}

void udp_load_generator::start_request(request_plan& plan, slot& request, bench_clock::time_point now,
                                       load_result& result) {
    const auto peer = plan.next_peer(now);
    if (!peer) {
        if (request.waiting_for != slot::stage::idle) --plan.busy;
        request.waiting_for = slot::stage::idle;
        return;
    }
    request.peer = *peer;
    request.source = source_of(*peer, static_cast<unsigned>(sockets_.size()));
    request.started = now;
    // Marked busy before sending so a failed send can finish the request cleanly.
    if (request.waiting_for == slot::stage::idle) request.waiting_for = slot::stage::awaiting_announce_answer;
    const source_socket& socket = sockets_[request.source];
    if (plan.ids == connection_ids::fresh_for_every_announce || !socket.connection_id ||
        now - socket.connection_id_obtained > connection_id_lifetime) {
        send_connect(request, now, result);
    } else {
        send_announce(plan, request, now, result);
    }
}

void udp_load_generator::send_connect(slot& request, bench_clock::time_point now, load_result& result) {
    std::uint8_t packet[16];
    put64(packet, bep15_protocol_id);
    put32(packet + 8, action_connect);
    request.transaction = (next_sequence_++ << 16) | static_cast<std::uint32_t>(&request - slots_.data());
    put32(packet + 12, request.transaction);
    request.waiting_for = slot::stage::awaiting_connection_id;
    request.sent = now;
    send_packet(request, packet, sizeof packet, result);
}

void udp_load_generator::send_announce(request_plan& plan, slot& request, bench_clock::time_point now,
                                       load_result& result) {
    std::uint8_t packet[announce_size] = {};
    const std::uint64_t connection_id = sockets_[request.source].connection_id.value_or(0);
    std::memcpy(packet, &connection_id, 8);
    put32(packet + 8, action_announce);
    request.transaction = (next_sequence_++ << 16) | static_cast<std::uint32_t>(&request - slots_.data());
    put32(packet + 12, request.transaction);
    const info_hash hash = swarm_hash(swarm_of(request.peer));
    std::memcpy(packet + 16, hash.data(), hash.size());
    const peer_id id = peer_id_of(request.peer);
    std::memcpy(packet + 36, id.data(), id.size());
    put64(packet + 56, 0);           // downloaded
    put64(packet + 64, bytes_left);  // left
    put64(packet + 72, 0);           // uploaded
    put32(packet + 80, plan.event);
    put32(packet + 84, 0);           // ip: the source address
    put32(packet + 88, announce_key_of(request.peer));
    put32(packet + 92, numwant);
    const std::uint16_t port = htons(port_of(request.peer));
    std::memcpy(packet + 96, &port, 2);
    request.waiting_for = slot::stage::awaiting_announce_answer;
    request.sent = now;
    send_packet(request, packet, sizeof packet, result);
}

void udp_load_generator::send_packet(slot& request, const std::uint8_t* data, std::size_t size,
                                     load_result& result) {
    while (send(sockets_[request.source].fd, data, size, 0) < 0) {
        if (errno == EINTR) continue;
        // A full queue loses the packet like the network would; the timeout asks again.
        if (errno == EAGAIN || errno == ENOBUFS) return;
        result.note_error(std::string("UDP send: ") + std::strerror(errno));
        return;
    }
}

void udp_load_generator::handle_answer(request_plan& plan, unsigned source, const std::uint8_t* data,
                                       std::size_t size, bench_clock::time_point now, load_result& result) {
    if (size < 8) {
        result.note_error("a UDP answer of " + std::to_string(size) + " bytes");
        return;
    }
    const std::uint32_t action = get32(data);
    const std::uint32_t transaction = get32(data + 4);
    const std::size_t index = transaction & 0xffff;
    if (index >= slots_.size()) return;
    slot& request = slots_[index];
    // An answer to a request already timed out and re-sent (or from an earlier run) is stale.
    if (request.waiting_for == slot::stage::idle || request.transaction != transaction || request.source != source) return;

    if (action == action_error) {
        result.note_error("error answer: " + std::string(reinterpret_cast<const char*>(data + 8), size - 8));
        start_request(plan, request, now, result);
        return;
    }
    if (request.waiting_for == slot::stage::awaiting_connection_id) {
        if (action != action_connect || size < 16) {
            result.note_error("connect answered with action " + std::to_string(action) + ", " +
                              std::to_string(size) + " bytes");
            start_request(plan, request, now, result);
            return;
        }
        std::uint64_t connection_id = 0;
        std::memcpy(&connection_id, data + 8, 8);
        sockets_[source].connection_id = connection_id;
        sockets_[source].connection_id_obtained = now;
        send_announce(plan, request, now, result);
        return;
    }
    if (action != action_announce || size < answer_header_size) {
        // opentracker answers a hash missing from its whitelist with a bare 8-byte header.
        result.note_error("announce answered with action " + std::to_string(action) + ", " +
                          std::to_string(size) + " bytes");
        start_request(plan, request, now, result);
        return;
    }
    const auto peers = static_cast<std::uint32_t>((size - answer_header_size) / compact_ipv4_peer_size);
    if (plan.schedule.in_window(now)) result.note_answer(now - request.started, peers);
    plan.last_answer = now;
    start_request(plan, request, now, result);
}

}  // namespace nearcast::bench
