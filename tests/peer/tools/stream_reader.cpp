// A media player stand-in for the streaming test: plays a URL at a fixed bit rate, byte for
// byte against the original file, then seeks, and reports time to first byte and stalls.
//
// Usage: stream_reader URL ORIGINAL_FILE BYTES_PER_SECOND SEEK_FRACTION...
// Plays the first third of the file from 0 at the given rate, then each seek (a fraction of
// the file) as a Range request read to 4 MB further. A stall is a read that waits more than
// 250 ms beyond when the player would have needed it. Exit 0 when every byte matched.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "stream_reader: %s\n", message.c_str());
    std::exit(1);
}

struct url_parts {
    std::string host;
    int port = 80;
    std::string path;
};

url_parts split(const std::string& url) {
    if (url.rfind("http://", 0) != 0) die(url + ": not an http:// URL");
    const std::size_t slash = url.find('/', 7);
    const std::string authority = url.substr(7, slash - 7);
    const std::size_t colon = authority.rfind(':');
    return {authority.substr(0, colon), std::stoi(authority.substr(colon + 1)), url.substr(slash)};
}

struct play_result {
    double ttfb_ms = 0;
    int stalls = 0;
    std::uint64_t bytes = 0;
};

// GET [first, last] of the URL, read at `rate` bytes/s, each byte checked against `original`.
play_result play(const url_parts& url, const std::vector<char>& original, std::uint64_t first, std::uint64_t last, double rate) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(url.port));
    inet_pton(AF_INET, url.host.c_str(), &address.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) die("cannot connect to " + url.host);
    timeval timeout{60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    const std::string request = "GET " + url.path + " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) + "\r\nRange: bytes=" +
                                std::to_string(first) + "-" + std::to_string(last) + "\r\nConnection: close\r\n\r\n";
    const auto sent_at = clock_type::now();
    if (::send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) die("cannot send the request");

    std::string head;
    std::vector<char> buffer(64 * 1024);
    play_result result;
    std::uint64_t at = first;
    const std::uint64_t end = last + 1;
    clock_type::time_point play_start{};
    bool body = false;
    while (at < end) {
        const auto before = clock_type::now();
        const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (got <= 0) die("the connection ended at byte " + std::to_string(at) + " of a range ending at " + std::to_string(end));
        const auto now = clock_type::now();
        std::size_t offset = 0;
        if (!body) {
            head.append(buffer.data(), static_cast<std::size_t>(got));
            const std::size_t blank = head.find("\r\n\r\n");
            if (blank == std::string::npos) continue;
            if (head.rfind("HTTP/1.1 206", 0) != 0) die("expected 206, got: " + head.substr(0, head.find('\r')));
            body = true;
            offset = static_cast<std::size_t>(got) - (head.size() - blank - 4);
            if (offset == static_cast<std::size_t>(got)) continue;
        }
        if (play_start == clock_type::time_point{}) {
            result.ttfb_ms = std::chrono::duration<double, std::milli>(now - sent_at).count();
            play_start = now;
        } else {
            // When the player needed this byte, at the fixed rate from the first byte.
            const auto needed_at = play_start + std::chrono::duration_cast<clock_type::duration>(
                                                    std::chrono::duration<double>(static_cast<double>(at - first) / rate));
            if (now - std::max(needed_at, before) > std::chrono::milliseconds(250)) ++result.stalls;
        }
        const auto count = static_cast<std::size_t>(got) - offset;
        if (at + count > end || std::memcmp(buffer.data() + offset, original.data() + at, count) != 0) {
            die("wrong bytes at offset " + std::to_string(at));
        }
        at += count;
        result.bytes += count;
        // Play at the fixed rate: never read ahead of the play position by more than a buffer.
        const auto play_position = play_start + std::chrono::duration_cast<clock_type::duration>(
                                                    std::chrono::duration<double>(static_cast<double>(at - first) / rate));
        std::this_thread::sleep_until(play_position - std::chrono::milliseconds(500));
    }
    ::close(fd);
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) die("usage: stream_reader URL ORIGINAL_FILE BYTES_PER_SECOND [SEEK_FRACTION...]");
    const url_parts url = split(argv[1]);
    std::ifstream file(argv[2], std::ios::binary);
    const std::vector<char> original((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (original.empty()) die(std::string(argv[2]) + ": empty or unreadable");
    const double rate = std::atof(argv[3]);
    const std::uint64_t size = original.size();

    const play_result start = play(url, original, 0, size / 3, rate);
    std::printf("play from 0: %llu bytes right, time to first byte %.1f ms, %d stalls\n",
                static_cast<unsigned long long>(start.bytes), start.ttfb_ms, start.stalls);
    int stalls = start.stalls;
    for (int i = 4; i < argc; ++i) {
        const auto first = static_cast<std::uint64_t>(std::atof(argv[i]) * static_cast<double>(size));
        const std::uint64_t last = std::min(size - 1, first + 4'000'000);
        const play_result seek = play(url, original, first, last, rate);
        std::printf("seek to %llu: %llu bytes right, time to first byte %.1f ms, %d stalls\n",
                    static_cast<unsigned long long>(first), static_cast<unsigned long long>(seek.bytes), seek.ttfb_ms, seek.stalls);
        stalls += seek.stalls;
    }
    std::printf("ttfb_ms %.1f stalls %d\n", start.ttfb_ms, stalls);
    return 0;
}
