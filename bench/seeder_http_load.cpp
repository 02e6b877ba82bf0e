#include "seeder_http_load.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "tracker_cpu.hpp"

namespace nearcast::bench {

namespace {

constexpr std::size_t receive_buffer_size = 256 * 1024;
constexpr std::size_t largest_head = 16 * 1024;
constexpr std::uint64_t errors_before_giving_up = 100;
constexpr std::size_t spot_check_bytes = 64;      // of every chunk received
constexpr std::uint64_t whole_check_every = 16;   // every 16th answer is compared byte for byte

struct answer_head {
    int status = 0;
    std::optional<std::uint64_t> content_length;
    std::string content_range;
    bool closes = false;
};

// Header names and values of interest, from a head with its lines lowercased.
answer_head read_head(std::string head) {
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    answer_head answer;
    if (head.rfind("http/1.", 0) != 0 || head.size() < 12) return answer;
    answer.status = std::atoi(head.substr(9, 3).c_str());
    answer.closes = head[7] == '0';
    const auto value_of = [&](std::string_view name) -> std::optional<std::string> {
        const auto at = head.find("\r\n" + std::string(name) + ":");
        if (at == std::string::npos) return std::nullopt;
        const auto from = head.find_first_not_of(" \t", at + name.size() + 3);
        const auto to = head.find("\r\n", at + 2);
        if (from == std::string::npos || (to != std::string::npos && from >= to)) return std::string();
        auto value = head.substr(from, to == std::string::npos ? std::string::npos : to - from);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
        return value;
    };
    if (const auto length = value_of("content-length")) answer.content_length = std::strtoull(length->c_str(), nullptr, 10);
    answer.content_range = value_of("content-range").value_or("");
    if (const auto connection = value_of("connection")) {
        if (connection->find("close") != std::string::npos) answer.closes = true;
        if (connection->find("keep-alive") != std::string::npos) answer.closes = false;
    }
    return answer;
}

struct range_link {
    int fd = -1;
    std::uint32_t generation = 0;
    std::string request;
    std::size_t sent = 0;
    std::string head;
    bool in_body = false;
    bool closes = false;
    bool check_whole = false;
    std::uint64_t first = 0;  // the range asked for, inclusive
    std::uint64_t last = 0;
    std::uint64_t next_offset = 0;  // where in the file the next body byte belongs
    std::uint64_t body_left = 0;
};

class range_run {
public:
    range_run(const range_target& target, load_window window, pid_t server)
        : target_(target), schedule_(run_schedule::starting_now(window)), meter_(schedule_, server),
          links_(target.connections), buffer_(receive_buffer_size), random_(0x72616e6765) {
        if (target.file_size < target.piece_size || target.piece_size == 0)
            throw std::invalid_argument("the file must hold at least one piece");
        epoll_ = epoll_create1(EPOLL_CLOEXEC);
        if (epoll_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
        host_header_ = "Host: " + text_of(target.server) + "\r\n";
        result_.seconds = std::chrono::duration<double>(schedule_.measure_until - schedule_.measure_from).count();
    }
    ~range_run() {
        for (auto& link : links_) close_link(link);
        close(epoll_);
    }
    range_run(const range_run&) = delete;
    range_run& operator=(const range_run&) = delete;

    range_load_result run() {
        std::vector<epoll_event> events(64);
        while (result_.errors < errors_before_giving_up) {
            const auto now = bench_clock::now();
            meter_.observe(now);
            if (now >= schedule_.measure_until) break;
            for (auto& link : links_)
                if (link.fd < 0 && open(link)) ask(link);
            const int ready = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 5);
            for (int i = 0; i < ready; ++i) {
                const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
                range_link& link = links_[static_cast<std::size_t>(tag & 0xffffffffu)];
                if (link.fd < 0 || link.generation != static_cast<std::uint32_t>(tag >> 32)) continue;  // closed since
                const auto what = events[static_cast<std::size_t>(i)].events;
                if ((what & EPOLLOUT) && link.sent < link.request.size()) send_request(link);
                if (link.fd >= 0 && (what & (EPOLLIN | EPOLLHUP | EPOLLERR))) receive(link);
            }
        }
        meter_.observe(bench_clock::now());
        load_result times;
        meter_.report_to(times);
        result_.generator_busy = times.generator_busy;
        result_.server_busy = times.tracker_busy;
        result_.others_busy = times.others_busy;
        return result_;
    }

private:
    bool watch(range_link& link, std::uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.u64 = (std::uint64_t{link.generation} << 32) | static_cast<std::uint64_t>(&link - links_.data());
        return epoll_ctl(epoll_, EPOLL_CTL_MOD, link.fd, &event) == 0 || epoll_ctl(epoll_, EPOLL_CTL_ADD, link.fd, &event) == 0;
    }

    bool open(range_link& link) {
        const std::uint32_t generation = link.generation + 1;
        link = range_link{};
        link.generation = generation;
        link.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (link.fd < 0) {
            result_.note_error(std::string("socket: ") + std::strerror(errno));
            return false;
        }
        if (connect(link.fd, reinterpret_cast<const sockaddr*>(&target_.server), sizeof target_.server) != 0 &&
            errno != EINPROGRESS) {
            result_.note_error(std::string("connect: ") + std::strerror(errno));
            close_link(link);
            return false;
        }
        return true;
    }

    void close_link(range_link& link) {
        if (link.fd < 0) return;
        close(link.fd);  // closing also takes it out of the epoll set
        link.fd = -1;
    }

    // The next range, at a random multiple of the piece size.
    void ask(range_link& link) {
        const std::uint64_t pieces = target_.file_size / target_.piece_size;
        link.first = std::uniform_int_distribution<std::uint64_t>(0, pieces - 1)(random_) * target_.piece_size;
        link.last = link.first + target_.piece_size - 1;
        link.request = "GET " + target_.path + " HTTP/1.1\r\n" + host_header_ + "Range: bytes=" + std::to_string(link.first) +
                       "-" + std::to_string(link.last) + "\r\nUser-Agent: nearcast-bench-seeder\r\n\r\n";
        link.sent = 0;
        link.head.clear();
        link.in_body = false;
        link.check_whole = ++asked_ % whole_check_every == 0;
        send_request(link);
    }

    void send_request(range_link& link) {
        while (link.sent < link.request.size()) {
            const ssize_t n = send(link.fd, link.request.data() + link.sent, link.request.size() - link.sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == ENOTCONN || errno == EINTR)) break;  // ENOTCONN: still connecting
            if (n < 0) return fail(link, std::string("send: ") + std::strerror(errno));
            link.sent += static_cast<std::size_t>(n);
        }
        if (!watch(link, link.sent < link.request.size() ? EPOLLIN | EPOLLOUT : EPOLLIN))
            fail(link, std::string("epoll_ctl: ") + std::strerror(errno));
    }

    void receive(range_link& link) {
        const ssize_t n = recv(link.fd, buffer_.data(), buffer_.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            return fail(link, std::string("recv: ") + std::strerror(errno));
        }
        if (n == 0) {
            if (link.in_body || !link.head.empty()) return fail(link, "the server closed the connection inside an answer");
            // An idle keep-alive connection closed just as we asked: ask again on a new one.
            ++result_.reconnects;
            close_link(link);
            if (open(link)) ask(link);
            return;
        }
        std::size_t at = 0;
        const auto size = static_cast<std::size_t>(n);
        if (!link.in_body) {
            const std::size_t before = link.head.size();
            link.head.append(reinterpret_cast<const char*>(buffer_.data()), size);
            const auto end = link.head.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
            if (end == std::string::npos) {
                if (link.head.size() > largest_head) fail(link, "an answer head of more than 16 KiB");
                return;
            }
            at = end + 4 - before;
            link.head.resize(end);
            if (!start_body(link)) return;
        }
        take_body(link, buffer_.data() + at, size - at);
    }

    bool start_body(range_link& link) {
        const answer_head head = read_head(link.head);
        const std::uint64_t length = link.last - link.first + 1;
        const std::string range =
            "bytes " + std::to_string(link.first) + "-" + std::to_string(link.last) + "/" + std::to_string(target_.file_size);
        std::string problem;
        if (head.status != 206) problem = "status " + std::to_string(head.status) + " (206 expected): " + link.head.substr(0, 80);
        else if (head.content_range != range) problem = "Content-Range '" + head.content_range + "', '" + range + "' expected";
        else if (head.content_length != length) problem = "Content-Length is not " + std::to_string(length);
        if (!problem.empty()) {
            fail(link, problem);
            return false;
        }
        link.in_body = true;
        link.closes = head.closes;
        link.next_offset = link.first;
        link.body_left = length;
        return true;
    }

    void take_body(range_link& link, const unsigned char* data, std::size_t size) {
        if (size == 0) return;
        if (size > link.body_left) return fail(link, "bytes after the end of an answer that was not asked for");
        const std::size_t checked = link.check_whole ? size : std::min(size, spot_check_bytes);
        result_.checked_bytes += checked;
        if (std::memcmp(data, target_.file + link.next_offset, checked) != 0) {
            ++result_.wrong_answers;
            return fail(link, "bytes at offset " + std::to_string(link.next_offset) + " differ from the file");
        }
        const auto now = bench_clock::now();
        if (schedule_.in_window(now)) result_.body_bytes += size;
        link.next_offset += size;
        link.body_left -= size;
        if (link.body_left > 0) return;
        if (schedule_.in_window(now)) ++result_.answers;
        if (link.closes) {
            ++result_.reconnects;
            close_link(link);
            if (!open(link)) return;
        }
        ask(link);
    }

    void fail(range_link& link, const std::string& what) {
        result_.note_error(what);
        close_link(link);  // the loop opens it again
    }

    range_target target_;
    run_schedule schedule_;
    busy_meter meter_;
    std::vector<range_link> links_;
    std::vector<unsigned char> buffer_;
    std::mt19937_64 random_;
    std::uint64_t asked_ = 0;
    int epoll_ = -1;
    std::string host_header_;
    range_load_result result_;
};

}  // namespace

void range_load_result::note_error(const std::string& what) {
    if (errors++ == 0) first_error = what;
}

range_load_result fetch_ranges(const range_target& target, load_window window, pid_t server_process) {
    range_run run(target, window, server_process);
    return run.run();
}

}  // namespace nearcast::bench
