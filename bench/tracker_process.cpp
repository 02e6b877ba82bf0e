#include "tracker_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace nearcast::bench {

namespace {

// Between fork and exec only async-signal-safe calls; the error number goes back through a
// close-on-exec pipe, so "no such program" is told apart from "started and then died".
[[noreturn]] void become(const launch_plan& plan, const std::vector<char*>& argv, int report_fd) {
    const int log = open(plan.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log >= 0) {
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
    }
    const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) dup2(null, STDIN_FILENO);
    if (chdir(plan.working_directory.c_str()) != 0) {
        const int error = errno;
        (void)!write(report_fd, &error, sizeof error);
        _exit(127);
    }
    if (plan.cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(*plan.cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    execv(plan.program.c_str(), argv.data());
    const int error = errno;
    (void)!write(report_fd, &error, sizeof error);
    _exit(127);
}

}  // namespace

launch_plan plan_in(const std::filesystem::path& work_directory, std::optional<int> cpu, const std::string& program,
                    std::vector<std::string> arguments, const std::string& name) {
    launch_plan plan;
    plan.program = program;
    plan.arguments = std::move(arguments);
    plan.working_directory = work_directory;
    plan.log_file = work_directory / (name + ".log");
    plan.cpu = cpu;
    return plan;
}

tracker_process::tracker_process(const launch_plan& plan) {
    std::vector<std::string> words{plan.program};
    words.insert(words.end(), plan.arguments.begin(), plan.arguments.end());
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);

    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) become(plan, argv, report[1]);
    close(report[1]);
    int exec_error = 0;
    ssize_t got = 0;
    do got = read(report[0], &exec_error, sizeof exec_error);
    while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == sizeof exec_error) {
        int status = 0;
        waitpid(pid_, &status, 0);
        reaped_ = true;
        throw std::runtime_error("cannot run " + plan.program + ": " + std::strerror(exec_error));
    }
}

tracker_process::~tracker_process() { stop(std::chrono::seconds(5)); }

void tracker_process::note_exit(int status) {
    reaped_ = true;
    if (WIFEXITED(status)) how_it_ended_ = "exited with status " + std::to_string(WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) how_it_ended_ = std::string("killed by signal ") + strsignal(WTERMSIG(status));
    else how_it_ended_ = "ended";
}

bool tracker_process::running() {
    if (reaped_) return false;
    int status = 0;
    const pid_t result = waitpid(pid_, &status, WNOHANG);
    if (result == pid_) note_exit(status);
    return !reaped_;
}

bool tracker_process::stop(std::chrono::milliseconds grace) {
    if (reaped_) return how_it_ended_ == "exited with status 0";
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            note_exit(status);
            return (WIFEXITED(status) && WEXITSTATUS(status) == 0) || (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    note_exit(status);
    how_it_ended_ += " (did not stop on SIGTERM within " + std::to_string(grace.count()) + " ms)";
    return false;
}

std::optional<std::uint64_t> tracker_process::resident_bytes() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "VmRSS:  1234 kB"
    }
    return std::nullopt;
}

std::vector<int> usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    return cpus;
}

bool pin_this_process_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

bench_run prepare_run(const std::string& name, bool pinning) {
    bench_run run;
    const auto cpus = usable_cpus();
    if (pinning && cpus.size() >= 2 && pin_this_process_to(cpus[0])) {
        run.generator_cpu = cpus[0];
        run.server_cpu = cpus[1];
    }
    std::string path = "/tmp/nearcast-bench-" + name + ".XXXXXX";
    if (!mkdtemp(path.data())) {
        std::perror(("mkdtemp " + path).c_str());
        std::exit(2);
    }
    run.work_directory = path;
    return run;
}

bool option_reader::next() {
    if (++at_ >= argc_) return false;
    option_ = argv_[at_];
    return true;
}

std::string option_reader::value() {
    if (at_ + 1 >= argc_) reject();
    return argv_[++at_];
}

void option_reader::reject() const {
    usage_();
    std::exit(2);
}

sockaddr_in loopback_endpoint(std::uint16_t port) {
    sockaddr_in endpoint{};
    endpoint.sin_family = AF_INET;
    endpoint.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    endpoint.sin_port = htons(port);
    return endpoint;
}

std::uint16_t free_loopback_port() {
    // Ask the kernel for a free TCP port, then check UDP has it free too; opentracker wants one
    // number for both only by our choice, but it keeps the command line short.
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in endpoint = loopback_endpoint(0);
        socklen_t size = sizeof endpoint;
        bind(tcp, reinterpret_cast<sockaddr*>(&endpoint), sizeof endpoint);
        getsockname(tcp, reinterpret_cast<sockaddr*>(&endpoint), &size);
        const int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        const bool udp_free = bind(udp, reinterpret_cast<sockaddr*>(&endpoint), sizeof endpoint) == 0;
        close(udp);
        close(tcp);
        if (udp_free) return ntohs(endpoint.sin_port);
    }
    throw std::runtime_error("no free loopback port");
}

std::optional<sockaddr_in> parse_endpoint(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    sockaddr_in endpoint{};
    endpoint.sin_family = AF_INET;
    if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &endpoint.sin_addr) != 1) return std::nullopt;
    const unsigned long port = std::strtoul(text.c_str() + colon + 1, nullptr, 10);
    if (port == 0 || port > 65535) return std::nullopt;
    endpoint.sin_port = htons(static_cast<std::uint16_t>(port));
    return endpoint;
}

listening_ports read_port_file(const std::filesystem::path& file) {
    listening_ports ports;
    std::ifstream in(file);
    std::string kind;
    std::string where;
    while (in >> kind >> where) {
        if (kind == "http") ports.http = parse_endpoint(where);
        if (kind == "udp") ports.udp = parse_endpoint(where);
        if (kind == "bittorrent") ports.bittorrent = parse_endpoint(where);
    }
    return ports;
}

std::optional<std::string> http_get(const sockaddr_in& server, const std::string& target,
                                    std::chrono::milliseconds timeout, std::string& error) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto wait_for = [&](int fd, short events) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd waiting{fd, events, 0};
        return poll(&waiting, 1, static_cast<int>(left.count())) == 1;
    };
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0 && errno != EINPROGRESS) {
        error = std::string("connect: ") + std::strerror(errno);
        close(fd);
        return std::nullopt;
    }
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        if (!wait_for(fd, POLLOUT)) {
            error = "timed out sending";
            close(fd);
            return std::nullopt;
        }
        const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            error = std::string("send: ") + std::strerror(errno);
            close(fd);
            return std::nullopt;
        }
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    std::string answer;
    char buffer[16384];
    while (true) {
        if (!wait_for(fd, POLLIN)) {
            error = "timed out reading";
            close(fd);
            return std::nullopt;
        }
        const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            error = std::string("recv: ") + std::strerror(errno);
            close(fd);
            return std::nullopt;
        }
        answer.append(buffer, static_cast<std::size_t>(n));
        // Stop at Content-Length rather than wait for a close the server may not do.
        const auto head_end = answer.find("\r\n\r\n");
        if (head_end != std::string::npos) {
            std::string head = answer.substr(0, head_end);
            for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            const auto length_at = head.find("content-length:");
            if (length_at != std::string::npos &&
                answer.size() >= head_end + 4 + std::stoull(head.substr(length_at + 15)))
                break;
        }
    }
    close(fd);
    const auto head_end = answer.find("\r\n\r\n");
    if (answer.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) {
        error = "not an HTTP answer";
        return std::nullopt;
    }
    if (answer.compare(9, 3, "200") != 0) {
        error = answer.substr(0, answer.find("\r\n"));
        return std::nullopt;
    }
    return answer.substr(head_end + 4);
}

std::optional<double> json_number(const std::string& json, const std::string& key) {
    const auto at = json.find("\"" + key + "\"");
    if (at == std::string::npos) return std::nullopt;
    auto colon = json.find(':', at + key.size() + 2);
    if (colon == std::string::npos) return std::nullopt;
    const char* start = json.c_str() + colon + 1;
    char* end = nullptr;
    const double value = std::strtod(start, &end);
    if (end == start) return std::nullopt;
    return value;
}

std::string tail_of(const std::filesystem::path& file, std::size_t lines) {
    std::ifstream in(file);
    std::deque<std::string> last;
    std::string line;
    while (std::getline(in, line)) {
        last.push_back(line);
        if (last.size() > lines) last.pop_front();
    }
    std::string text;
    for (const auto& kept : last) text += "    | " + kept + "\n";
    return text;
}

}  // namespace nearcast::bench
