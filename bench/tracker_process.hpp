// The tracker under test as a child process: started pinned to its own CPU, watched, measured
// through /proc, and stopped; plus the small blocking helpers the benchmark needs around it.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nearcast::bench {

struct launch_plan {
    std::string program;
    std::vector<std::string> arguments;  // without the program name
    std::filesystem::path working_directory;
    std::filesystem::path log_file;  // the child's stdout and stderr
    std::optional<int> cpu;          // pin the child (all its threads) to this CPU
};

// A child that runs in `work_directory` and writes its output to NAME.log there.
launch_plan plan_in(const std::filesystem::path& work_directory, std::optional<int> cpu, const std::string& program,
                    std::vector<std::string> arguments, const std::string& name);

class tracker_process {
public:
    // Throws std::runtime_error when the program cannot be executed at all.
    explicit tracker_process(const launch_plan& plan);
    ~tracker_process();
    tracker_process(const tracker_process&) = delete;
    tracker_process& operator=(const tracker_process&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    std::string how_it_ended() const { return how_it_ended_; }
    // SIGTERM, then SIGKILL after `grace`. True when it exited by itself with status 0 or by
    // the SIGTERM.
    bool stop(std::chrono::milliseconds grace);
    // VmRSS from /proc/PID/status.
    std::optional<std::uint64_t> resident_bytes() const;

private:
    void note_exit(int status);
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::string how_it_ended_;
};

// CPUs this process may run on, in order.
std::vector<int> usable_cpus();
bool pin_this_process_to(int cpu);

// Where a benchmark runs: its load generator pinned to the first usable CPU (threads started
// later follow it), the servers to the second (both empty when pinning is off or fails, or
// there is one CPU), and a new /tmp/nearcast-bench-NAME.XXXXXX. Exits with status 2 when no
// directory can be made.
struct bench_run {
    std::optional<int> generator_cpu;
    std::optional<int> server_cpu;
    std::filesystem::path work_directory;
};
bench_run prepare_run(const std::string& name, bool pinning);

// `--option value` command lines: a missing value or an unknown option prints the usage and
// exits with status 2.
class option_reader {
public:
    option_reader(int argc, char** argv, void (*usage)()) : argc_(argc), argv_(argv), usage_(usage) {}
    bool next();  // moves to the next option; false after the last
    const std::string& name() const { return option_; }
    bool is(const char* name) const { return option_ == name; }
    std::string value();  // the argument after the option
    [[noreturn]] void reject() const;

private:
    int argc_;
    char** argv_;
    void (*usage_)();
    int at_ = 0;
    std::string option_;
};

// A port that is free for both TCP and UDP on 127.0.0.1 right now.
std::uint16_t free_loopback_port();
sockaddr_in loopback_endpoint(std::uint16_t port);
// "127.0.0.1:6969" (IPv4 only: the benchmark asks trackers to listen there).
std::optional<sockaddr_in> parse_endpoint(const std::string& text);

// Lines "http ADDRESS:PORT" and "udp ADDRESS:PORT" as nearcast-tracker writes its port file,
// and "bittorrent ADDRESS:PORT" as nearcast-seeder adds to it.
struct listening_ports {
    std::optional<sockaddr_in> http;
    std::optional<sockaddr_in> udp;
    std::optional<sockaddr_in> bittorrent;
};
listening_ports read_port_file(const std::filesystem::path& file);

// One HTTP/1.1 GET with a deadline; the body, or nullopt with `error` set.
std::optional<std::string> http_get(const sockaddr_in& server, const std::string& target,
                                    std::chrono::milliseconds timeout, std::string& error);
// The number after "key": in a flat JSON object; enough for /stats without a JSON parser.
std::optional<double> json_number(const std::string& json, const std::string& key);

// The last `lines` lines of a file, for showing why a child failed.
std::string tail_of(const std::filesystem::path& file, std::size_t lines);

}  // namespace nearcast::bench
