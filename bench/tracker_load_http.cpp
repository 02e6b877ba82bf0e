#include "tracker_load_http.hpp"

#include "tracker_cpu.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <optional>
#include <string_view>

namespace nearcast::bench {

namespace {

constexpr std::size_t largest_answer = 16 * 1024;
constexpr auto answer_timeout = std::chrono::seconds(5);
constexpr std::uint64_t errors_before_giving_up = 1000;

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
    return true;
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// The length prefix of a bencoded string that starts at `at` ("123:"), if there is one.
std::optional<std::size_t> bencoded_length_at(std::string_view body, std::size_t at) {
    std::size_t length = 0;
    std::size_t i = at;
    for (; i < body.size() && body[i] >= '0' && body[i] <= '9'; ++i) length = length * 10 + static_cast<std::size_t>(body[i] - '0');
    if (i == at || i >= body.size() || body[i] != ':') return std::nullopt;
    return length;
}

// Peers in a compact (BEP 23) or dictionary-list (BEP 3) announce answer.
std::uint32_t peers_in(std::string_view body, std::string& problem) {
    std::size_t count = 0;
    if (const auto at = body.find("5:peers"); at != std::string_view::npos) {
        const std::size_t value = at + 7;
        if (value < body.size() && body[value] == 'l') {
            for (std::size_t ip = body.find("2:ip", value); ip != std::string_view::npos; ip = body.find("2:ip", ip + 4)) ++count;
        } else if (const auto length = bencoded_length_at(body, value)) {
            if (*length % 6) problem = "compact peers of " + std::to_string(*length) + " bytes";
            count += *length / 6;
        } else {
            problem = "unreadable peers value";
        }
    } else {
        problem = "no peers key";
    }
    if (const auto at = body.find("6:peers6"); at != std::string_view::npos)
        if (const auto length = bencoded_length_at(body, at + 8)) count += *length / 18;
    return static_cast<std::uint32_t>(count);
}

[[noreturn]] void fail_with_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

char hex_digit(unsigned value) { return "0123456789ABCDEF"[value & 15]; }

}  // namespace

http_answer read_http_answer(const char* data, std::size_t size) {
    http_answer answer;
    const std::string_view received(data, size);
    const std::size_t header_end = received.find("\r\n\r\n");
    if (header_end == std::string_view::npos) return answer;
    const std::string_view head = received.substr(0, header_end);

    std::size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    if (!starts_with_ignoring_case(status_line, "http/1.") || status_line.size() < 12) {
        answer.complete = true;
        answer.total_size = size;
        answer.problem = "not an HTTP answer: " + std::string(status_line.substr(0, 60));
        return answer;
    }
    const bool version_one_one = status_line[7] == '1';
    answer.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    answer.server_keeps_connection = version_one_one;
    std::optional<std::size_t> content_length;
    while (line_end != std::string_view::npos) {
        const std::size_t next = head.find("\r\n", line_end + 2);
        const std::string_view line = head.substr(line_end + 2, next == std::string_view::npos ? std::string_view::npos : next - line_end - 2);
        line_end = next;
        if (starts_with_ignoring_case(line, "content-length:")) {
            content_length = static_cast<std::size_t>(std::strtoull(std::string(trimmed(line.substr(15))).c_str(), nullptr, 10));
        } else if (starts_with_ignoring_case(line, "connection:")) {
            const std::string_view value = trimmed(line.substr(11));
            if (starts_with_ignoring_case(value, "close")) answer.server_keeps_connection = false;
            if (starts_with_ignoring_case(value, "keep-alive")) answer.server_keeps_connection = true;
        } else if (starts_with_ignoring_case(line, "transfer-encoding:")) {
            answer.complete = true;
            answer.total_size = size;
            answer.problem = "chunked answers are not expected from an announce";
            return answer;
        }
    }
    if (!content_length) {
        answer.complete = true;
        answer.total_size = size;
        answer.problem = "an answer without Content-Length";
        return answer;
    }
    if (size < header_end + 4 + *content_length) return answer;
    answer.complete = true;
    answer.total_size = header_end + 4 + *content_length;
    const std::string_view body = received.substr(header_end + 4, *content_length);
    if (answer.status != 200) {
        answer.problem = "HTTP status " + std::to_string(answer.status) + ": " + std::string(body.substr(0, 100));
    } else if (const auto at = body.find("14:failure reason"); at != std::string_view::npos) {
        answer.problem = "failure reason: " + std::string(body.substr(at + 17, 100));
    } else {
        answer.peers = peers_in(body, answer.problem);
    }
    return answer;
}

struct http_load_generator::connection {
    enum class stage : std::uint8_t { idle, sending, awaiting_answer, awaiting_close };
    int fd = -1;
    std::uint32_t generation = 0;
    unsigned source = 0;
    stage waiting_for = stage::idle;
    std::string request;
    std::size_t request_sent = 0;
    std::vector<char> answer = std::vector<char>(largest_answer);
    std::size_t answer_size = 0;
    bool answered_before = false;  // on this socket: a close before the next answer is an idle close
    bench_clock::time_point started;
    bench_clock::time_point last_progress;
};

struct http_load_generator::run_state {
    peer_range peers;
    run_schedule schedule;
    peer_picker picker{0x68747470};
    load_result result;
    unsigned busy = 0;
};

http_load_generator::http_load_generator(const sockaddr_in& tracker, pid_t tracker_process,
                                         const std::vector<in_addr>& sources, unsigned connections)
    : tracker_(tracker), tracker_process_(tracker_process), sources_(sources), links_(connections) {
    if (sources.empty() || connections == 0) throw std::invalid_argument("need sources and connections");
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) fail_with_errno("epoll_create1");
    for (std::size_t i = 0; i < links_.size(); ++i) links_[i].source = static_cast<unsigned>(i % sources.size());
    host_header_ = "Host: " + text_of(tracker) + "\r\n";
}

http_load_generator::~http_load_generator() {
    for (auto& link : links_) close_link(link);
    if (epoll_ >= 0) close(epoll_);
}

std::string http_load_generator::request_for(std::uint64_t peer) const {
    std::string request = "GET /announce?info_hash=";
    for (const auto byte : swarm_hash(swarm_of(peer))) {
        request += '%';
        request += hex_digit(byte >> 4u);
        request += hex_digit(byte);
    }
    const peer_id id = peer_id_of(peer);
    request += "&peer_id=";
    request.append(id.begin(), id.end());
    request += "&port=" + std::to_string(port_of(peer));
    request += "&uploaded=0&downloaded=0&left=1048576&numwant=" + std::to_string(numwant);
    // The key as eight hex digits, as libtorrent sends it: the same number the UDP load sends.
    request += "&compact=1&key=";
    for (int shift = 28; shift >= 0; shift -= 4) request += hex_digit(announce_key_of(peer) >> shift);
    request += " HTTP/1.1\r\n" + host_header_ + "User-Agent: nearcast-bench-tracker\r\n\r\n";
    return request;
}

load_result http_load_generator::announce_at_random(peer_range peers, load_window window) {
    run_state run;
    run.peers = peers;
    run.schedule = run_schedule::starting_now(window);
    busy_meter meter(run.schedule, tracker_process_);
    auto now = bench_clock::now();
    for (auto& link : links_) {
        ++run.busy;
        link.waiting_for = connection::stage::sending;
        start_announce(run, link, now);
    }
    epoll_event events[64];
    auto last_stall_scan = now;
    while (run.busy > 0) {
        const int ready = epoll_wait(epoll_, events, 64, 10);
        for (int e = 0; e < ready; ++e) {
            connection& link = links_[events[e].data.u64 & 0xffffffffu];
            // Events for a socket this connection has already replaced are stale.
            if (link.fd < 0 || (events[e].data.u64 >> 32) != link.generation) continue;
            if (link.waiting_for == connection::stage::sending) send_request(run, link);
            if (link.waiting_for == connection::stage::awaiting_answer ||
                link.waiting_for == connection::stage::awaiting_close)
                read_answer(run, link);
        }
        now = bench_clock::now();
        meter.observe(now);
        if (now - last_stall_scan >= std::chrono::milliseconds(100)) {
            last_stall_scan = now;
            for (auto& link : links_)
                if (link.waiting_for != connection::stage::idle && now - link.last_progress > answer_timeout)
                    fail(run, link, "no answer in " + std::to_string(answer_timeout.count()) + " s");
        }
        if (run.result.errors >= errors_before_giving_up) {
            for (auto& link : links_) {
                close_link(link);
                link.waiting_for = connection::stage::idle;
            }
            run.busy = 0;
        }
    }
    meter.observe(bench_clock::now());
    for (auto& link : links_) close_link(link);
    meter.report_to(run.result);
    run.result.seconds = std::chrono::duration<double>(window.measure).count();
    return std::move(run.result);
}

void http_load_generator::start_announce(run_state& run, connection& link, bench_clock::time_point started) {
    if (started >= run.schedule.measure_until || run.result.errors >= errors_before_giving_up) {
        close_link(link);
        link.waiting_for = connection::stage::idle;
        --run.busy;
        return;
    }
    const std::uint64_t peer = run.picker.from_source(run.peers, link.source, static_cast<unsigned>(sources_.size()));
    link.request = request_for(peer);
    link.request_sent = 0;
    link.answer_size = 0;
    link.started = started;
    link.last_progress = bench_clock::now();
    link.waiting_for = connection::stage::sending;
    if (link.fd < 0 && !open(link, run.result)) {
        // Could not even start a connection: count it and try again on the next stall scan.
        return;
    }
    send_request(run, link);
}

bool http_load_generator::open(connection& link, load_result& result) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        result.note_error(std::string("TCP socket: ") + std::strerror(errno));
        return false;
    }
    const int on = 1;
    // Let connect() pick the port for the whole 4-tuple: thousands of reconnections a second
    // from one source address would otherwise run out of ports.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr = sources_[link.source];
    if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
        (connect(fd, reinterpret_cast<const sockaddr*>(&tracker_), sizeof tracker_) != 0 && errno != EINPROGRESS)) {
        result.note_error(std::string("TCP connect: ") + std::strerror(errno));
        close(fd);
        return false;
    }
    link.fd = fd;
    ++link.generation;
    link.answered_before = false;
    epoll_event interest{};
    interest.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    interest.data.u64 = (static_cast<std::uint64_t>(link.generation) << 32) | static_cast<std::uint64_t>(&link - links_.data());
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &interest) != 0) fail_with_errno("epoll_ctl");
    return true;
}

void http_load_generator::close_link(connection& link) {
    if (link.fd >= 0) close(link.fd);
    link.fd = -1;
}

void http_load_generator::send_request(run_state& run, connection& link) {
    while (link.request_sent < link.request.size()) {
        const ssize_t sent = send(link.fd, link.request.data() + link.request_sent,
                                  link.request.size() - link.request_sent, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;  // still connecting, or a full buffer: EPOLLOUT brings us back
            if ((errno == EPIPE || errno == ECONNRESET) && link.answered_before) {
                reconnect_and_resend(run, link);
                return;
            }
            fail(run, link, std::string("HTTP send: ") + std::strerror(errno));
            return;
        }
        link.request_sent += static_cast<std::size_t>(sent);
    }
    // The answer comes with an epoll event; reading here could chain answer after answer on
    // the stack while the other connections wait.
    link.waiting_for = connection::stage::awaiting_answer;
    link.last_progress = bench_clock::now();
}

void http_load_generator::read_answer(run_state& run, connection& link) {
    while (true) {
        if (link.answer_size == link.answer.size()) {
            fail(run, link, "an answer larger than " + std::to_string(largest_answer) + " bytes");
            return;
        }
        const ssize_t received = recv(link.fd, link.answer.data() + link.answer_size, link.answer.size() - link.answer_size, 0);
        if (received < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            if (errno == ECONNRESET && link.answer_size == 0 && link.answered_before) {
                // The server closed the connection after its last answer without saying so
                // (opentracker sometimes answers HTTP/1.1 and closes); our next request met
                // the closed socket. Clients retry on a new connection, and so do we.
                reconnect_and_resend(run, link);
                return;
            }
            if (link.waiting_for == connection::stage::awaiting_close) {
                // A reset instead of a close after a complete answer costs nothing extra.
                close_link(link);
                start_announce(run, link, link.started);
                return;
            }
            fail(run, link, std::string("HTTP receive: ") + std::strerror(errno) + " (" +
                                (link.answered_before ? "kept-alive" : "new") + " connection, " +
                                std::to_string(link.answer_size) + " bytes of answer)");
            return;
        }
        const auto now = bench_clock::now();
        link.last_progress = now;
        if (received == 0) {
            close_link(link);
            if (link.waiting_for == connection::stage::awaiting_close) {
                start_announce(run, link, link.started);
            } else if (link.answer_size == 0 && link.answered_before) {
                reconnect_and_resend(run, link);
            } else {
                fail(run, link, "the server closed the connection " + std::to_string(link.answer_size) + " bytes into an answer");
            }
            return;
        }
        if (link.waiting_for == connection::stage::awaiting_close) {
            fail(run, link, "bytes after an answer the server said it would close after");
            return;
        }
        link.answer_size += static_cast<std::size_t>(received);
        const http_answer answer = read_http_answer(link.answer.data(), link.answer_size);
        if (!answer.complete) continue;
        if (!answer.problem.empty()) {
            run.result.note_error(answer.problem);
        } else if (run.schedule.in_window(now)) {
            run.result.note_answer(now - link.started, answer.peers);
        }
        if (answer.total_size != link.answer_size) {
            fail(run, link, "bytes after a complete answer");
            return;
        }
        link.answered_before = true;
        if (answer.server_keeps_connection) {
            start_announce(run, link, now);
            return;
        }
        // The next announce starts now, although it must wait for the close and a new connection.
        if (run.schedule.in_window(now)) ++run.result.reconnects;
        link.waiting_for = connection::stage::awaiting_close;
        link.started = now;
    }
}

void http_load_generator::reconnect_and_resend(run_state& run, connection& link) {
    if (run.schedule.in_window(bench_clock::now())) ++run.result.reconnects;
    close_link(link);
    link.request_sent = 0;
    link.answer_size = 0;
    if (open(link, run.result)) send_request(run, link);
}

void http_load_generator::fail(run_state& run, connection& link, const std::string& what) {
    run.result.note_error(what);
    close_link(link);
    start_announce(run, link, bench_clock::now());
}

}  // namespace nearcast::bench
