// nearcast-tracker as a real process in tests: start and stop it, HTTP and UDP exchanges with
// it (from any loopback source address), announce targets and packets.
#pragma once

#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "nearcast/tracker/messages.hpp"

namespace nearcast::testing {

namespace asio = boost::asio;
using namespace nearcast::tracker;
using asio::ip::tcp;
using asio::ip::udp;


inline std::string temporary_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("nearcast-server-" + std::to_string(::getpid()) + "-" + name)).string();
}

// A tracker process for one test; stopped with SIGTERM when the test ends.
class tracker_process {
public:
    explicit tracker_process(std::vector<std::string> extra = {}) {
        port_file_ = temporary_path("ports-" + std::to_string(++instances_));
        log_file_ = port_file_ + ".log";
        std::filesystem::remove(port_file_);
        std::vector<std::string> args{NEARCAST_TRACKER_BINARY, "--listen-http", "127.0.0.1:0", "--listen-udp",
                                      "127.0.0.1:0", "--port-file", port_file_, "--announce-rate-limit", "0"};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = fork();
        if (pid_ == 0) {
            std::freopen(log_file_.c_str(), "w", stderr);
            std::vector<char*> argv;
            for (auto& arg : args) argv.push_back(arg.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        for (int waited = 0; waited < 200 && !std::filesystem::exists(port_file_); ++waited) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        REQUIRE(std::filesystem::exists(port_file_));
        std::ifstream ports(port_file_);
        for (std::string kind, where; ports >> kind >> where;) {
            const auto port = static_cast<std::uint16_t>(std::stoul(where.substr(where.rfind(':') + 1)));
            if (where.front() == '[') (kind == "http" ? http6_port : udp6_port) = port;
            else (kind == "http" ? http_port : udp_port) = port;
        }
    }
    ~tracker_process() {
        if (pid_ > 0) stop();
        std::filesystem::remove(port_file_);
        std::filesystem::remove(log_file_);
    }
    // SIGTERM; returns the exit status.
    int stop() {
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    bool running() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
    void signal(int number) const { kill(pid_, number); }
    std::string log() const {
        std::ifstream in(log_file_);
        return {std::istreambuf_iterator<char>(in), {}};
    }

    std::uint16_t http_port = 0;
    std::uint16_t udp_port = 0;
    std::uint16_t http6_port = 0;  // when asked to listen on [::1] too
    std::uint16_t udp6_port = 0;

private:
    static inline int instances_ = 0;
    pid_t pid_ = -1;
    std::string port_file_, log_file_;
};

// One HTTP/1.1 exchange on a fresh connection; returns the whole response.
inline std::string http_exchange(std::uint16_t port, const std::string& raw_request, const std::string& host = "127.0.0.1",
                                 const std::string& source = "") {
    asio::io_context io;
    tcp::socket socket(io);
    if (!source.empty()) {
        // From another address of 127.0.0.0/8: another network of the emulated Internet.
        socket.open(tcp::v4());
        socket.bind({asio::ip::make_address(source), 0});
    }
    socket.connect({asio::ip::make_address(host), port});
    asio::write(socket, asio::buffer(raw_request));
    std::string response;
    boost::system::error_code error;
    char buffer[4096];
    // The server closes after "Connection: close" or a bad request.
    while (std::size_t got = socket.read_some(asio::buffer(buffer), error)) {
        response.append(buffer, got);
        if (error) break;
    }
    return response;
}

inline std::string http_get(std::uint16_t port, const std::string& target, const std::string& headers = "",
                     const std::string& host = "127.0.0.1", const std::string& source = "") {
    return http_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: tracker\r\n" + headers + "Connection: close\r\n\r\n",
                         host, source);
}

inline std::string body_of(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

inline std::string escaped(const info_hash& hash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (auto byte : hash) out += std::string("%") + hex[byte >> 4] + hex[byte & 15];
    return out;
}

inline std::string announce_target(const info_hash& hash, int peer, std::uint16_t port, bool seed) {
    return "/announce?info_hash=" + escaped(hash) + "&peer_id=-NC0001-" + std::string(12, static_cast<char>('a' + peer)) +
           "&port=" + std::to_string(port) + "&uploaded=0&downloaded=0&left=" + (seed ? "0" : "1000") + "&compact=1";
}

// A UDP exchange: send, wait up to 2 s for an answer (empty when none came).
inline std::string udp_exchange(udp::socket& socket, std::uint16_t port, const std::string& datagram,
                         const std::string& host = "127.0.0.1") {
    socket.send_to(asio::buffer(datagram), udp::endpoint(asio::ip::make_address(host), port));
    socket.non_blocking(true);
    char buffer[2048];
    for (int waited = 0; waited < 200; ++waited) {
        udp::endpoint from;
        boost::system::error_code error;
        const std::size_t got = socket.receive_from(asio::buffer(buffer), from, 0, error);
        if (!error) return std::string(buffer, got);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
}

inline std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
inline std::string be64(std::uint64_t v) { return be32(static_cast<std::uint32_t>(v >> 32)) + be32(static_cast<std::uint32_t>(v)); }
inline std::uint32_t read32(const std::string& s, std::size_t at) {
    return (std::uint32_t(static_cast<unsigned char>(s[at])) << 24) | (std::uint32_t(static_cast<unsigned char>(s[at + 1])) << 16) |
           (std::uint32_t(static_cast<unsigned char>(s[at + 2])) << 8) | std::uint32_t(static_cast<unsigned char>(s[at + 3]));
}

inline std::string udp_announce_packet(std::uint64_t connection, std::uint32_t transaction, const info_hash& hash,
                                std::uint16_t port, bool seed) {
    std::string packet = be64(connection) + be32(1) + be32(transaction);
    packet.append(reinterpret_cast<const char*>(hash.data()), 20);
    packet += std::string("-NC0001-") + std::string(12, 'u');
    packet += be64(0) + be64(seed ? 0 : 1000) + be64(0) + be32(2) + be32(0) + be32(7) + be32(0xffffffff);
    packet += static_cast<char>(port >> 8);
    packet += static_cast<char>(port & 0xff);
    return packet;
}

inline info_hash hash_of(std::uint8_t n) {
    info_hash hash{};
    hash.fill(n);
    return hash;
}


}  // namespace nearcast::testing
