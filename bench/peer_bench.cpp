// Benchmark: nearcast-peer on loopback, in one run.
//
// A nearcast-tracker and a nearcast-seeder serve one 256 MiB item of random bytes; its torrent
// lists the tracker and the seeder's BEP 19 web seed, so every client knows the same two
// sources (the seeder's BitTorrent port and its HTTP web seed).
//
// 1. Fetch: `nearcast-peer fetch` against Debian's aria2c, the same torrent, rounds that
//    alternate which client goes first, each timed from spawn until the client exits complete;
//    the file is compared with the original and deleted between rounds; the medians count.
// 2. Stream: a fresh `nearcast-peer stream` per round; the moment it prints its URL, one GET
//    with `Range: bytes=0-`, timed until the first body byte, against the same GET of the same
//    file straight from the seeder's web seed (peer_first_byte times both).
//
// Everything stays on 127.0.0.0/8. Run as root, the program re-runs itself inside a network
// namespace that has only loopback (`unshare --net --fork --kill-child`), as the interop tests do.
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "peer_report.hpp"
#include "tracker_cpu.hpp"
#include "tracker_load.hpp"
#include "tracker_process.hpp"

namespace bench = nearcast::bench;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

constexpr const char* namespace_variable = "NEARCAST_IN_NETNS";
constexpr const char* file_name = "big.bin";
constexpr const char* seeder_address = "127.30.0.1";
constexpr const char* fetch_address_ours = "127.10.0.5";
constexpr const char* fetch_address_aria2c = "127.10.0.6";
constexpr const char* stream_address = "127.10.0.7";

std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int signal) { stop_signal.store(signal); }

bool interrupted() { return stop_signal.load() != 0; }

void catch_stop_signals() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    for (const int signal : {SIGINT, SIGTERM, SIGHUP}) sigaction(signal, &action, nullptr);
}

double seconds_since(bench_clock::time_point start) {
    return std::chrono::duration<double>(bench_clock::now() - start).count();
}

void progress(const std::string& what) {
    std::printf("  %s\n", what.c_str());
    std::fflush(stdout);
}

// `name` in $PATH, then in the sbin folders a non-root PATH leaves out; empty when nowhere.
std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
    const char* path = std::getenv("PATH");
    std::istringstream folders(std::string(path ? path : "") + ":/usr/sbin:/sbin:/usr/bin:/bin");
    std::string folder;
    while (std::getline(folders, folder, ':')) {
        if (folder.empty()) continue;
        const std::string candidate = folder + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
}

// As root: exec again under `unshare --net --fork --kill-child`, so the run sees only a
// loopback interface of its own and every child dies with it. True when already inside.
bool enter_loopback_namespace(int argc, char** argv, bool wanted) {
    if (const char* inside = std::getenv(namespace_variable); inside && std::string(inside) == "1") return true;
    if (!wanted || geteuid() != 0) return false;
    const std::string unshare = find_program("unshare");
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (unshare.empty() || error) {
        std::printf("note: cannot enter a network namespace (%s); running on this machine's loopback\n",
                    unshare.empty() ? "no unshare" : "no /proc/self/exe");
        return false;
    }
    std::vector<std::string> words{unshare, "--net", "--fork", "--kill-child", "--", self.string()};
    for (int i = 1; i < argc; ++i) words.emplace_back(argv[i]);
    std::vector<char*> arguments;
    for (auto& word : words) arguments.push_back(word.data());
    arguments.push_back(nullptr);
    setenv(namespace_variable, "1", 1);
    std::fflush(stdout);
    execv(unshare.c_str(), arguments.data());
    unsetenv(namespace_variable);
    std::printf("note: cannot run %s (%s); running on this machine's loopback\n", unshare.c_str(), std::strerror(errno));
    return false;
}

struct finished_process {
    double seconds = std::nan("");  // spawn until exit
    bool succeeded = false;         // exited with status 0 within the limit
    std::string how;
};

// Runs a child to its end, at most `limit`; the clock starts before the fork.
finished_process run_to_end(const bench::launch_plan& plan, std::chrono::seconds limit) {
    finished_process result;
    const auto started = bench_clock::now();
    try {
        bench::tracker_process child(plan);
        while (child.running()) {
            if (interrupted() || bench_clock::now() - started > limit) {
                child.stop(5s);
                result.how = interrupted() ? "interrupted" : "still running after " + std::to_string(limit.count()) + " s";
                return result;
            }
            std::this_thread::sleep_for(1ms);
        }
        result.seconds = seconds_since(started);
        result.how = child.how_it_ended();
        result.succeeded = result.how == "exited with status 0";
    } catch (const std::exception& error) {
        result.how = error.what();
    }
    return result;
}

void write_random_bytes(const fs::path& file, std::uint64_t size) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    std::vector<char> chunk(1 << 20);
    for (std::uint64_t left = size; left > 0;) {
        const std::size_t now = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        for (std::size_t filled = 0; filled < now;) {
            const ssize_t got = getrandom(chunk.data() + filled, now - filled, 0);
            if (got < 0 && errno != EINTR) throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
            if (got > 0) filled += static_cast<std::size_t>(got);
        }
        out.write(chunk.data(), static_cast<std::streamsize>(now));
        left -= now;
    }
    if (!out.flush()) throw std::runtime_error("cannot write " + file.string());
}

std::string first_bytes_of(const fs::path& file, std::size_t count) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes(count, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(count));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    return bytes;
}

// Empty when `copy` holds the same bytes as `original`, else what differs.
std::string compare_files(const fs::path& original, const fs::path& copy) {
    std::error_code error;
    const auto size = fs::file_size(copy, error);
    if (error) return copy.filename().string() + " is missing";
    if (size != fs::file_size(original)) return copy.filename().string() + " has " + std::to_string(size) + " bytes";
    std::ifstream a(original, std::ios::binary);
    std::ifstream b(copy, std::ios::binary);
    std::vector<char> left(4 << 20);
    std::vector<char> right(left.size());
    for (std::uint64_t offset = 0; a && b;) {
        a.read(left.data(), static_cast<std::streamsize>(left.size()));
        b.read(right.data(), static_cast<std::streamsize>(right.size()));
        if (a.gcount() != b.gcount() || std::memcmp(left.data(), right.data(), static_cast<std::size_t>(a.gcount())) != 0)
            return "its bytes differ from the original in the 4 MiB from offset " + std::to_string(offset);
        offset += static_cast<std::uint64_t>(a.gcount());
    }
    return "";
}

// The seeder, the tracker and what was published: what every round uses.
struct origin_setup {
    std::unique_ptr<bench::tracker_process> tracker;
    std::unique_ptr<bench::tracker_process> seeder;
    unsigned tracker_starts = 0;
    std::uint16_t tracker_port = 0;  // the same for every tracker started: the torrent names it
    fs::path secret;                 // the tracker's admin secret, for the seeder's registration
    fs::path content;                // the original file
    fs::path torrent;
    std::string v1_hash;
    sockaddr_in tracker_http{};
    sockaddr_in seeder_http{};
    std::string first_bytes;  // of the file, to compare the probes' bodies with

    std::string announce_url() const { return "http://127.0.0.1:" + std::to_string(tracker_port) + "/announce"; }
    std::string direct_target() const { return "/items/" + v1_hash + "/" + file_name; }
};

bench::launch_plan plan_for(const bench::peer_bench_settings& settings, bool server, const std::string& program,
                            std::vector<std::string> arguments, const std::string& name) {
    const bool ours = program == settings.peer || program == settings.seeder || program == settings.tracker;
    if (ours && !settings.log_level.empty()) arguments.insert(arguments.end(), {"--log-level", settings.log_level});
    if (program == settings.peer) arguments.insert(arguments.end(), settings.peer_extra.begin(), settings.peer_extra.end());
    return bench::plan_in(settings.work_directory, server ? settings.server_cpu : settings.client_cpu, program,
                          std::move(arguments), name);
}

std::optional<double> stats_value(const sockaddr_in& http, const std::string& key) {
    std::string error;
    const auto body = bench::http_get(http, "/stats", 5s, error);
    return body ? bench::json_number(*body, key) : std::nullopt;
}

// Waits until `ready` says yes, the child dies or the step's limit passes: empty, or why not.
std::string wait_for(const bench::peer_bench_settings& settings, bench::tracker_process& child, const std::string& what,
                     const std::function<bool()>& ready) {
    const auto deadline = bench_clock::now() + settings.step_limit;
    while (!interrupted() && bench_clock::now() < deadline && child.running()) {
        if (ready()) return "";
        std::this_thread::sleep_for(20ms);
    }
    return what + ": " +
           (interrupted()       ? std::string("interrupted")
            : child.running() ? "not within " + std::to_string(settings.step_limit.count()) + " s"
                              : "the process ended (" + child.how_it_ended() + ")");
}

// Until the seeder has registered the item, the tracker refuses announces for it.
std::string wait_for_registration(const bench::peer_bench_settings& settings, origin_setup& origin) {
    return wait_for(settings, *origin.tracker, "the seeder registering with nearcast-tracker",
                    [&] { return stats_value(origin.tracker_http, "registered_items").value_or(0) >= 1; });
}

// A new nearcast-tracker on the same port, knowing only what the seeder registers (every
// second): each client starts in the same swarm, whatever the client before it left behind.
// Empty, or what went wrong.
std::string fresh_tracker(const bench::peer_bench_settings& settings, origin_setup& origin, bool wait_for_origin) {
    if (origin.tracker) {
        if (!origin.tracker->running()) return "nearcast-tracker died (" + origin.tracker->how_it_ended() + ")";
        origin.tracker->stop(10s);
        origin.tracker.reset();
    }
    const fs::path ports = settings.work_directory / "tracker.ports";
    std::error_code ignored;
    fs::remove(ports, ignored);
    const std::string listen = "127.0.0.1:" + std::to_string(origin.tracker_port);
    std::vector<std::string> arguments{"--listen-http", listen, "--listen-udp", listen, "--port-file", ports.string(),
                                       "--admin-secret-file", origin.secret.string()};
    if (!settings.snapshot.empty()) arguments.insert(arguments.end(), {"--data", settings.snapshot});
    origin.tracker = std::make_unique<bench::tracker_process>(
        plan_for(settings, true, settings.tracker, arguments, "tracker-" + std::to_string(++origin.tracker_starts)));
    std::string error = wait_for(settings, *origin.tracker, "nearcast-tracker's port file", [&] {
        const auto read = bench::read_port_file(ports);
        if (read.http) origin.tracker_http = *read.http;
        return read.http.has_value();
    });
    return error.empty() && wait_for_origin ? wait_for_registration(settings, origin) : error;
}

// `nearcast-seeder publish`: its stdout line is "ID<TAB>V1 HASH<TAB>NAME<TAB>TORRENT<TAB>MAGNET".
std::string publish(const bench::peer_bench_settings& settings, std::uint16_t http_port, origin_setup& origin) {
    const fs::path data = settings.work_directory / "seeder-data";
    const finished_process published = run_to_end(
        plan_for(settings, true, settings.seeder,
                 {"publish", "--data-dir", data.string(), "--tracker", origin.announce_url(), "--web-seed",
                  "http://" + std::string(seeder_address) + ":" + std::to_string(http_port), "--v1-only", origin.content.string()},
                 "publish"),
        settings.step_limit);
    if (!published.succeeded) return "nearcast-seeder publish: " + published.how;
    std::ifstream in(settings.work_directory / "publish.log");
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> fields;
        std::istringstream split(line);
        for (std::string field; std::getline(split, field, '\t');) fields.push_back(field);
        if (fields.size() >= 4 && fields[2] == file_name) {
            origin.v1_hash = fields[1];
            // Relative to the working directory publish ran in.
            origin.torrent = fs::path(fields[3]).is_absolute() ? fs::path(fields[3]) : settings.work_directory / fields[3];
        }
    }
    if (origin.v1_hash.size() != 40 || !fs::exists(origin.torrent))
        return "nearcast-seeder publish printed no line for " + std::string(file_name) + " with a torrent";
    return "";
}

std::string start_seeder(const bench::peer_bench_settings& settings, std::uint16_t http_port, origin_setup& origin) {
    const fs::path ports = settings.work_directory / "seeder.ports";
    origin.seeder = std::make_unique<bench::tracker_process>(plan_for(
        settings, true, settings.seeder,
        {"serve", "--data-dir", (settings.work_directory / "seeder-data").string(), "--tracker", origin.announce_url(),
         "--admin-secret-file", origin.secret.string(), "--register-every", "1", "--listen-bittorrent",
         std::string(seeder_address) + ":0", "--listen-http", std::string(seeder_address) + ":" + std::to_string(http_port),
         "--port-file", ports.string()},
        "seeder"));
    std::string error = wait_for(settings, *origin.seeder, "nearcast-seeder's port file", [&] {
        const auto read = bench::read_port_file(ports);
        if (read.http) origin.seeder_http = *read.http;
        return read.http && read.bittorrent;
    });
    if (error.empty())
        error = wait_for(settings, *origin.seeder, "nearcast-seeder seeding the item",
                         [&] { return stats_value(origin.seeder_http, "seeding").value_or(0) >= 1; });
    return error;
}

bool set_up(const bench::peer_bench_settings& settings, origin_setup& origin, bench::peer_measurements& measured) {
    std::string error;
    try {
        origin.content = settings.work_directory / "content" / file_name;
        fs::create_directories(origin.content.parent_path());
        progress("writing a " + std::to_string(settings.file_size >> 20) + " MiB file of random bytes");
        write_random_bytes(origin.content, settings.file_size);
        origin.first_bytes = first_bytes_of(origin.content, settings.compared_start);
        // The tracker's bearer secret for origin registration: 32 random hex digits.
        origin.secret = settings.work_directory / "admin-secret";
        unsigned char random_secret[16];
        if (getrandom(random_secret, sizeof random_secret, 0) != static_cast<ssize_t>(sizeof random_secret))
            throw std::runtime_error("getrandom failed");
        std::ofstream secret_out(origin.secret);
        for (const unsigned char byte : random_secret) secret_out << "0123456789abcdef"[byte >> 4] << "0123456789abcdef"[byte & 15];
        secret_out << "\n";
        if (!secret_out.flush()) throw std::runtime_error("cannot write " + origin.secret.string());

        progress("starting nearcast-tracker, publishing the file and starting nearcast-seeder");
        origin.tracker_port = bench::free_loopback_port();
        const std::uint16_t http_port = bench::free_loopback_port();
        error = fresh_tracker(settings, origin, false);
        if (error.empty()) error = publish(settings, http_port, origin);
        if (error.empty()) error = start_seeder(settings, http_port, origin);
        if (error.empty()) error = wait_for_registration(settings, origin);
    } catch (const std::exception& failure) {
        error = std::string("set-up: ") + failure.what();
    }
    if (error.empty()) return true;
    measured.failures.push_back(error);
    for (const char* log : {"publish.log", "seeder.log"})
        if (fs::exists(settings.work_directory / log)) measured.log_tail += bench::tail_of(settings.work_directory / log, 8);
    return false;
}

bench::source_split seeder_counters(const origin_setup& origin) {
    return {stats_value(origin.seeder_http, "served_http_bytes"), stats_value(origin.seeder_http, "served_bittorrent_bytes")};
}

std::optional<double> grown(const std::optional<double>& before, const std::optional<double>& after) {
    if (before && after) return *after - *before;
    return std::nullopt;
}

// A round's end: the last lines of its log kept for the report (of the first failed round
// only), its download folder deleted.
void end_round(bool failed, const fs::path& log, std::string& log_tail, const fs::path& folder) {
    if (failed && log_tail.empty()) log_tail = bench::tail_of(log, 15);
    std::error_code ignored;
    fs::remove_all(folder, ignored);
}

// The CPU a download costs: the client's (a child reaped meanwhile, from RUSAGE_CHILDREN), the
// seeder's, and what other processes took (from /proc/stat, as the tracker benchmark reads it).
class cpu_watch {
public:
    explicit cpu_watch(pid_t seeder) : seeder_(seeder), start_(bench::cpu_snapshot::now(seeder)), children_start_(children()) {}

    bench::cpu_use finish(double seconds) const {
        const bench::cpu_snapshot end = bench::cpu_snapshot::now(seeder_);
        const auto [user, total] = children();
        bench::cpu_use use;
        use.client_seconds = total - children_start_.second;
        if (start_.tracker_total && end.tracker_total) use.seeder_seconds = *end.tracker_total - *start_.tracker_total;
        if (start_.machine_user && end.machine_user && start_.tracker_user && end.tracker_user && seconds > 0) {
            const double ours = (user - children_start_.first) + (*end.tracker_user - *start_.tracker_user) +
                                (end.generator_user - start_.generator_user);
            use.others_share = std::max(0.0, (*end.machine_user - *start_.machine_user - ours) / seconds);
        }
        return use;
    }

private:
    static std::pair<double, double> children() {  // user, user + system
        rusage usage{};
        getrusage(RUSAGE_CHILDREN, &usage);
        const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
        return {seconds(usage.ru_utime), seconds(usage.ru_utime) + seconds(usage.ru_stime)};
    }

    pid_t seeder_;
    bench::cpu_snapshot start_;
    std::pair<double, double> children_start_;
};

// One download by one client into a folder of its own, deleted afterwards.
bench::fetch_round fetch_once(const bench::peer_bench_settings& settings, origin_setup& origin, bool ours, unsigned round,
                              bench::client_fetches& client) {
    bench::fetch_round measured;
    const std::string name = (ours ? "fetch-nearcast-" : "fetch-aria2c-") + std::to_string(round + 1);
    const fs::path folder = settings.work_directory / name;
    const fs::path report = settings.work_directory / (name + ".json");
    const std::string port = std::to_string(bench::free_loopback_port());
    std::vector<std::string> arguments;
    if (ours) {
        arguments = {"fetch", origin.torrent.string(), "-o", folder.string(), "--listen-bittorrent", std::string(fetch_address_ours) + ":" + port,
                     "--no-progress", "--report", report.string()};
        if (!settings.snapshot.empty()) arguments.insert(arguments.end(), {"--data", settings.snapshot});
    } else {
        arguments = {"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
                     "--seed-time=0", "--interface=" + std::string(fetch_address_aria2c), "--listen-port=" + port,
                     "--dir=" + folder.string(), "--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
                     origin.torrent.string()};
    }
    if (const std::string error = fresh_tracker(settings, origin, true); !error.empty()) {
        measured.failure = error;
        return measured;
    }
    const auto peers_before = stats_value(origin.tracker_http, "peers");
    const auto before = seeder_counters(origin);
    const cpu_watch cpu(origin.seeder->pid());
    const finished_process run =
        run_to_end(plan_for(settings, false, ours ? settings.peer : settings.aria2c, arguments, name), settings.fetch_limit);
    measured.cpu = cpu.finish(run.seconds);
    if (!run.succeeded) {
        measured.failure = run.how;
    } else if (const std::string differs = compare_files(origin.content, folder / file_name); !differs.empty()) {
        measured.failure = "exited with status 0 but " + differs;
    } else {
        measured.seconds = run.seconds;
    }
    if (ours) {
        std::ifstream in(report);
        const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        measured.own_seconds = bench::json_number(json, "seconds_to_complete").value_or(std::nan(""));
    }
    measured.peers_left = grown(peers_before, stats_value(origin.tracker_http, "peers"));
    // The seeder brings its counters up to date every 250 ms.
    std::this_thread::sleep_for(600ms);
    const auto after = seeder_counters(origin);
    measured.sources = {grown(before.web_seed_bytes, after.web_seed_bytes), grown(before.bittorrent_bytes, after.bittorrent_bytes)};
    end_round(!measured.failure.empty(), settings.work_directory / (name + ".log"), client.log_tail, folder);
    return measured;
}

void measure_fetches(const bench::peer_bench_settings& settings, origin_setup& origin, bench::peer_measurements& measured) {
    progress("fetch: " + std::to_string(settings.fetch_rounds) + " rounds per client");
    for (unsigned round = 0; round < settings.fetch_rounds && !interrupted(); ++round) {
        for (const bool ours : round % 2 ? std::vector<bool>{false, true} : std::vector<bool>{true, false}) {
            if (interrupted()) break;
            bench::client_fetches& client = ours ? measured.ours : measured.aria2c;
            client.rounds.push_back(fetch_once(settings, origin, ours, round, client));
            bench::print_fetch_round(round, client, client.rounds.back());
        }
    }
}

// The URL `nearcast-peer stream` prints on its stdout (its log goes to the same file).
std::optional<std::string> printed_url(const fs::path& log) {
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("http://", 0) == 0) return line;
    return std::nullopt;
}

void probe_direct(const bench::peer_bench_settings& settings, const origin_setup& origin, bench::stream_round& measured) {
    measured.direct = bench::probe_first_byte(origin.seeder_http, origin.direct_target(), origin.first_bytes,
                                              settings.first_byte_limit);
}

// One round: a fresh stream process in an empty folder, a GET the moment it prints its URL and
// the direct GET beside it (the machine equally busy with the download); and the direct GET on
// an idle machine, before the process in even rounds and after it in odd ones.
bench::stream_round stream_once(const bench::peer_bench_settings& settings, origin_setup& origin, unsigned round,
                                bench::stream_measurements& stream) {
    bench::stream_round measured;
    if (round % 2 == 0) probe_direct(settings, origin, measured);
    const std::string name = "stream-" + std::to_string(round + 1);
    const fs::path folder = settings.work_directory / name;
    std::vector<std::string> arguments{"stream", origin.torrent.string(), "-o", folder.string(), "--listen-bittorrent",
                                       std::string(stream_address) + ":" + std::to_string(bench::free_loopback_port()), "--no-progress"};
    if (!settings.snapshot.empty()) arguments.insert(arguments.end(), {"--data", settings.snapshot});
    const fs::path log = settings.work_directory / (name + ".log");
    try {
        if (const std::string error = fresh_tracker(settings, origin, true); !error.empty()) throw std::runtime_error(error);
        const auto peers_before = stats_value(origin.tracker_http, "peers");
        const auto started = bench_clock::now();
        bench::tracker_process child(plan_for(settings, false, settings.peer, arguments, name));
        std::optional<std::string> url;
        while (!interrupted() && child.running() && bench_clock::now() - started < settings.step_limit) {
            if ((url = printed_url(log))) break;
            std::this_thread::sleep_for(1ms);
        }
        if (url) {
            measured.url_seconds = seconds_since(started);
            if (const auto where = bench::parse_loopback_url(*url)) {
                // The direct GET beside it, under the same load, first in odd rounds and second in even ones.
                const auto busy_direct = [&] {
                    measured.direct_busy = bench::probe_first_byte(origin.seeder_http, origin.direct_target(), origin.first_bytes,
                                                                   settings.first_byte_limit);
                };
                if (round % 2 == 1) busy_direct();
                measured.stream = bench::probe_first_byte(where->server, where->target, origin.first_bytes, settings.first_byte_limit);
                if (round % 2 == 0) busy_direct();
            } else
                measured.failure = "it printed '" + *url + "', not an http:// URL on 127.0.0.0/8";
        } else {
            measured.failure = child.running() ? "no URL within " + std::to_string(settings.step_limit.count()) + " s"
                                               : "it ended before printing a URL (" + child.how_it_ended() + ")";
        }
        if (!child.running()) {
            if (measured.failure.empty()) measured.failure = "it ended during the round (" + child.how_it_ended() + ")";
        } else if (!child.stop(10s) && child.how_it_ended().find("did not stop on SIGTERM") != std::string::npos) {
            // Status 1 is fine: stopped before the download was complete ("run again to resume").
            measured.failure = child.how_it_ended();
        }
        measured.peers_left = grown(peers_before, stats_value(origin.tracker_http, "peers"));
    } catch (const std::exception& error) {
        measured.failure = error.what();
    }
    if (measured.stream.error.empty() && std::isnan(measured.stream.body_ms)) measured.stream.error = "not probed";
    if (round % 2 == 1) probe_direct(settings, origin, measured);
    end_round(!measured.failure.empty() || !measured.stream.usable(), log, stream.log_tail, folder);
    return measured;
}

void measure_stream(const bench::peer_bench_settings& settings, origin_setup& origin, bench::peer_measurements& measured) {
    progress("stream: " + std::to_string(settings.stream_rounds) + " rounds");
    for (unsigned round = 0; round < settings.stream_rounds && !interrupted(); ++round) {
        measured.stream.rounds.push_back(stream_once(settings, origin, round, measured.stream));
        bench::print_stream_round(round, measured.stream.rounds.back());
    }
}

void stop_one(std::unique_ptr<bench::tracker_process>& process, const std::string& name, std::chrono::seconds grace,
              bench::peer_measurements& measured) {
    if (!process) return;
    if (!process->running())
        measured.failures.push_back(name + " died during the run (" + process->how_it_ended() + ")");
    else if (!process->stop(grace))
        measured.notes.push_back(name + " did not exit cleanly on SIGTERM: " + process->how_it_ended());
    process.reset();
}

// In a fresh namespace the loopback interface is down.
bool bring_loopback_up(const bench::peer_bench_settings& settings) {
    const std::string ip = find_program("ip");
    const finished_process up =
        ip.empty() ? finished_process{std::nan(""), false, "no ip program (iproute2)"}
                   : run_to_end(plan_for(settings, false, ip, {"link", "set", "lo", "up"}, "ip-link"), settings.step_limit);
    if (!up.succeeded) std::fprintf(stderr, "bench-peer: cannot bring up loopback in the namespace: %s\n", up.how.c_str());
    return up.succeeded;
}

void usage() {
    std::fprintf(stderr,
                 "usage: bench-peer-program --peer PATH --seeder PATH --tracker PATH [--aria2c PATH] [--data SNAPSHOT]\n"
                 "                          [--size-mb N] [--fetch-rounds N] [--stream-rounds N] [--no-pinning] [--no-netns]\n"
                 "                          [--keep] [--log-level debug] [--peer-arg --web-seeds=always]...\n");
}

}  // namespace

int main(int argc, char** argv) {
    bench::peer_bench_settings settings;
    bool pinning = true;
    bool namespace_wanted = true;
    bench::option_reader options(argc, argv, usage);
    const auto count = [&] { return std::max(1u, static_cast<unsigned>(std::stoul(options.value()))); };
    // Paths made absolute: the children run inside the work directory.
    const std::map<std::string, std::function<void()>> takes{
        {"--peer", [&] { settings.peer = fs::absolute(options.value()).string(); }},
        {"--seeder", [&] { settings.seeder = fs::absolute(options.value()).string(); }},
        {"--tracker", [&] { settings.tracker = fs::absolute(options.value()).string(); }},
        {"--aria2c", [&] { settings.aria2c = options.value(); }},
        {"--data", [&] { settings.snapshot = fs::absolute(options.value()).string(); }},
        {"--size-mb", [&] { settings.file_size = std::uint64_t{count()} << 20; }},
        {"--fetch-rounds", [&] { settings.fetch_rounds = count(); }},
        {"--stream-rounds", [&] { settings.stream_rounds = count(); }},
        {"--no-pinning", [&] { pinning = false; }},
        {"--no-netns", [&] { namespace_wanted = false; }},
        {"--keep", [&] { settings.keep_work_directory = true; }},
        {"--log-level", [&] { settings.log_level = options.value(); }},
        {"--peer-arg", [&] { settings.peer_extra.push_back(options.value()); }},
    };
    while (options.next()) {
        const auto found = takes.find(options.name());
        if (found == takes.end()) options.reject();
        found->second();
    }
    if (settings.peer.empty() || settings.seeder.empty() || settings.tracker.empty()) options.reject();
    for (const auto* program : {&settings.peer, &settings.seeder, &settings.tracker}) {
        if (access(program->c_str(), X_OK) != 0) {
            std::fprintf(stderr, "bench-peer: %s is not an executable (build it first)\n", program->c_str());
            return 2;
        }
    }
    const std::string aria2c = find_program(settings.aria2c);
    if (aria2c.empty()) {
        std::fprintf(stderr, "bench-peer: aria2c is missing (%s): install it with scripts/install-deps\n", settings.aria2c.c_str());
        return 2;
    }
    settings.aria2c = aria2c;
    settings.in_namespace = enter_loopback_namespace(argc, argv, namespace_wanted);
    catch_stop_signals();
    const auto run = bench::prepare_run("peer", pinning);
    settings.client_cpu = run.generator_cpu;
    settings.server_cpu = run.server_cpu;
    settings.work_directory = run.work_directory;

    bench::peer_measurements measured;
    if (!settings.in_namespace || bring_loopback_up(settings)) {
        bench::print_plan(settings);
        origin_setup origin;
        if (set_up(settings, origin, measured)) {
            measure_fetches(settings, origin, measured);
            measure_stream(settings, origin, measured);
        }
        stop_one(origin.seeder, "nearcast-seeder", 30s, measured);
        stop_one(origin.tracker, "nearcast-tracker", 10s, measured);
    } else {
        measured.failures.push_back("no loopback in the network namespace");
    }
    if (interrupted()) {
        std::printf("bench-peer: interrupted by signal %d; every process it started is stopped\n", stop_signal.load());
    }
    if (settings.keep_work_directory) std::printf("work directory kept: %s\n", settings.work_directory.c_str());
    const int status = interrupted() ? 130 : bench::print_report(settings, measured);
    std::error_code ignored;
    if (!settings.keep_work_directory) fs::remove_all(settings.work_directory, ignored);
    return status;
}
