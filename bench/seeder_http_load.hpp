// A web-seed load generator: a few keep-alive HTTP/1.1 connections, each asking for the next
// `Range: bytes=a-b` piece of one file as soon as the previous answer is complete, driven by
// one epoll loop on the calling thread. That is how a BitTorrent client reads a BEP 19 web
// seed. Bodies are read into one reusable buffer and thrown away, after a sample of them is
// compared with the file, so that a server cannot win by sending the wrong bytes.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "tracker_load.hpp"

namespace nearcast::bench {

struct range_target {
    sockaddr_in server{};
    std::string path;                        // "/big.bin" or "/items/<v1 hash>/big.bin"
    const unsigned char* file = nullptr;     // the whole file, mapped: what every answer must hold
    std::uint64_t file_size = 0;
    std::uint64_t piece_size = 4 * 1024 * 1024;  // ranges start at multiples of it
    unsigned connections = 8;
};

struct range_load_result {
    std::uint64_t body_bytes = 0;  // received inside the measured window
    std::uint64_t answers = 0;     // completed inside the measured window
    double seconds = 0;            // length of the measured window
    std::uint64_t checked_bytes = 0;  // compared with the file, over the whole run
    std::uint64_t wrong_answers = 0;  // an answer whose bytes differ from the file
    std::uint64_t errors = 0;         // wrong status or headers, broken connections
    std::string first_error;
    std::uint64_t reconnects = 0;     // connections the server closed between answers
    double generator_busy = std::nan("");
    double server_busy = std::nan("");
    double others_busy = std::nan("");

    double megabytes_per_second() const { return seconds > 0 ? static_cast<double>(body_bytes) / seconds / 1e6 : 0; }
    void note_error(const std::string& what);
};

// Runs the load for the window. `server_process` is whose CPU time to report (-1: nobody's).
range_load_result fetch_ranges(const range_target& target, load_window window, pid_t server_process);

}  // namespace nearcast::bench
