#include "peer_first_byte.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

#include "tracker_load.hpp"
#include "tracker_process.hpp"

namespace nearcast::bench {

namespace {

double milliseconds_between(bench_clock::time_point from, bench_clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

// Blocking socket calls that give up at `deadline`: the timeout is set before each call.
bool set_timeouts(int fd, bench_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - bench_clock::now());
    if (left.count() <= 0) return false;
    timeval limit{};
    limit.tv_sec = static_cast<time_t>(left.count() / 1000000);
    limit.tv_usec = static_cast<suseconds_t>(left.count() % 1000000);
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0 &&
           setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == 0;
}

class socket_holder {
public:
    socket_holder() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
    ~socket_holder() {
        if (fd_ >= 0) close(fd_);
    }
    socket_holder(const socket_holder&) = delete;
    socket_holder& operator=(const socket_holder&) = delete;
    int fd() const { return fd_; }

private:
    int fd_;
};

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// The status, and for a 206 that the range starts at byte 0.
void check_head(const std::string& head, first_byte_probe& probe) {
    if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) {
        probe.error = "not an HTTP answer";
        return;
    }
    probe.status = std::atoi(head.substr(9, 3).c_str());
    if (probe.status != 200 && probe.status != 206) {
        probe.error = "answered " + head.substr(0, head.find("\r\n"));
        return;
    }
    if (probe.status == 206 && lowercase(head).find("\r\ncontent-range: bytes 0-") == std::string::npos)
        probe.error = "a 206 whose Content-Range does not start at byte 0";
}

}  // namespace

std::optional<http_url> parse_loopback_url(const std::string& url) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0) return std::nullopt;
    const auto slash = url.find('/', scheme.size());
    const std::string authority = url.substr(scheme.size(), slash == std::string::npos ? std::string::npos : slash - scheme.size());
    const auto endpoint = parse_endpoint(authority);
    if (!endpoint || (ntohl(endpoint->sin_addr.s_addr) >> 24) != 127) return std::nullopt;
    http_url parsed;
    parsed.server = *endpoint;
    parsed.target = slash == std::string::npos ? "/" : url.substr(slash);
    return parsed;
}

first_byte_probe probe_first_byte(const sockaddr_in& server, const std::string& target, std::string_view expected_start,
                                  std::chrono::milliseconds limit) {
    first_byte_probe probe;
    if ((ntohl(server.sin_addr.s_addr) >> 24) != 127) {
        probe.error = "refusing to connect outside 127.0.0.0/8";
        return probe;
    }
    const auto deadline = bench_clock::now() + limit;
    socket_holder connection;
    const int fd = connection.fd();
    const auto connecting = bench_clock::now();
    if (fd < 0 || !set_timeouts(fd, deadline) || connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0) {
        probe.error = std::string("connect: ") + std::strerror(errno);
        return probe;
    }
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + text_of(server) +
                                "\r\nRange: bytes=0-\r\nConnection: close\r\n\r\n";
    const auto sent_at = bench_clock::now();
    probe.connect_ms = milliseconds_between(connecting, sent_at);
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        probe.error = std::string("send: ") + std::strerror(errno);
        return probe;
    }

    std::string head;
    std::size_t head_size = std::string::npos;  // bytes of `head` that are the head, once known
    std::vector<char> buffer(64 * 1024);
    while (probe.compared < expected_start.size()) {
        if (!set_timeouts(fd, deadline)) {
            if (std::isnan(probe.body_ms)) probe.error = "no body byte within " + std::to_string(limit.count()) + " ms";
            break;
        }
        const ssize_t got = recv(fd, buffer.data(), buffer.size(), 0);
        const auto arrived = bench_clock::now();
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (std::isnan(probe.body_ms))
                probe.error = got == 0 ? "closed before the first body byte" : std::string("recv: ") + std::strerror(errno);
            break;
        }
        std::string_view body(buffer.data(), static_cast<std::size_t>(got));
        if (head_size == std::string::npos) {
            head.append(body);
            const auto end = head.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (head.size() > 16 * 1024) {
                    probe.error = "a head of more than 16 KiB";
                    break;
                }
                continue;
            }
            head_size = end + 4;
            probe.head_ms = milliseconds_between(sent_at, arrived);
            check_head(head.substr(0, head_size), probe);
            if (!probe.usable()) break;
            body = std::string_view(head).substr(head_size);
        }
        if (body.empty()) continue;
        if (std::isnan(probe.body_ms)) probe.body_ms = milliseconds_between(sent_at, arrived);
        const std::size_t take = std::min(body.size(), expected_start.size() - probe.compared);
        if (body.substr(0, take) != expected_start.substr(probe.compared, take)) {
            probe.error = "body bytes differ from the file at offset " + std::to_string(probe.compared);
            break;
        }
        probe.compared += take;
    }
    return probe;
}

}  // namespace nearcast::bench
