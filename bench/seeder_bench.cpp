// Benchmark: nearcast-seeder on loopback, in one run.
//
// 1. HTTP: its web seed against Debian's nginx serving the same 256 MiB file (the practical
//    limit): the same load generator (seeder_http_load) against both, 4 MiB Range GETs over
//    8 keep-alive connections, in rounds that alternate between the servers; the best round
//    counts (this machine is shared: a burst of someone's compiler should hit both servers, then
//    be discarded).
// 2. BitTorrent: one 64 MiB item uploaded to 8 libtorrent downloaders (seeder_swarm) that know
//    only the seeder; the upload rate is 8 x 64 MiB over the time until the last is done.
// 3. Start-up: 10,000 items in the catalogue; the time from spawn until libtorrent has taken
//    every one and the resident memory then, on the first start (seed mode) and on a restart
//    from the resume data the first start saved when stopped.
// The servers run pinned to one CPU, this process (generator and downloaders) to another.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "nearcast/seeder/catalogue.hpp"
#include "nearcast/seeder/torrent_maker.hpp"
#include "seeder_report.hpp"
#include "tracker_process.hpp"
#include "tracker_report.hpp"

namespace bench = nearcast::bench;
namespace seeder = nearcast::seeder;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using bench::bench_clock;

namespace {

double seconds_since(bench_clock::time_point start) {
    return std::chrono::duration<double>(bench_clock::now() - start).count();
}

void progress(const std::string& what) {
    std::printf("  %s\n", what.c_str());
    std::fflush(stdout);
}

void write_random_file(const fs::path& file, std::uint64_t size, std::uint64_t seed) {
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    std::mt19937_64 random(seed);
    std::vector<std::uint64_t> block(std::min<std::uint64_t>(size, 1 << 20) / sizeof(std::uint64_t) + 1);
    for (std::uint64_t written = 0; written < size;) {
        for (auto& word : block) word = random();
        const auto now = static_cast<std::streamsize>(std::min<std::uint64_t>(size - written, block.size() * sizeof(std::uint64_t)));
        out.write(reinterpret_cast<const char*>(block.data()), now);
        written += static_cast<std::uint64_t>(now);
    }
    if (!out) throw std::runtime_error("cannot write " + file.string());
}

// make_torrent and catalogue::add, as `nearcast-seeder publish` does (without web seeds or
// trackers: the downloaders must get everything over BitTorrent from the seeder).
seeder::catalogue_item publish(seeder::catalogue& store, const fs::path& content) {
    seeder::catalogue_item item = seeder::make_torrent(content, seeder::torrent_options{});
    item.id = store.add(item);
    return item;
}

// A file mapped for reading: what the servers' answers are checked against.
class mapped_file {
public:
    explicit mapped_file(const fs::path& file) : size_(fs::file_size(file)) {
        const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw std::runtime_error("cannot open " + file.string());
        bytes_ = mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (bytes_ == MAP_FAILED) throw std::runtime_error("cannot map " + file.string());
    }
    ~mapped_file() { munmap(bytes_, size_); }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    const unsigned char* bytes() const { return static_cast<const unsigned char*>(bytes_); }
    std::uint64_t size() const { return size_; }

private:
    std::uint64_t size_;
    void* bytes_ = nullptr;
};

struct live_server {
    std::unique_ptr<bench::tracker_process> process;
    sockaddr_in http{};
    std::optional<sockaddr_in> bittorrent;
    fs::path log_file;
};

bench::launch_plan plan_for(const bench::seeder_bench_settings& settings, const std::string& program,
                            std::vector<std::string> arguments, const std::string& name) {
    return bench::plan_in(settings.work_directory, settings.server_cpu, program, std::move(arguments), name);
}

// `nearcast-seeder serve` on `data_dir`, once its port file says where it listens.
std::optional<live_server> start_seeder(const bench::seeder_bench_settings& settings, const fs::path& data_dir,
                                        const std::vector<std::string>& extra, const std::string& name,
                                        bench::part_outcome& outcome) {
    const fs::path port_file = settings.work_directory / (name + ".ports");
    std::vector<std::string> arguments{"serve", "--data-dir", data_dir.string(), "--listen-http", "127.0.0.1:0",
                                       "--port-file", port_file.string()};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    const bool wants_bittorrent = std::find(extra.begin(), extra.end(), "--no-bittorrent") == extra.end();
    live_server live;
    try {
        live.process = std::make_unique<bench::tracker_process>(plan_for(settings, settings.seeder, arguments, name));
    } catch (const std::exception& error) {
        outcome.failures.push_back(error.what());
        return std::nullopt;
    }
    live.log_file = settings.work_directory / (name + ".log");
    const auto deadline = bench_clock::now() + settings.startup_limit;
    while (bench_clock::now() < deadline && live.process->running()) {
        const auto ports = bench::read_port_file(port_file);
        if (ports.http && (ports.bittorrent || !wants_bittorrent)) {
            live.http = *ports.http;
            live.bittorrent = ports.bittorrent;
            return live;
        }
        std::this_thread::sleep_for(20ms);
    }
    outcome.failures.push_back(name + ": " + (live.process->running() ? "no port file within the time limit"
                                                                      : "it did not start (" + live.process->how_it_ended() + ")"));
    live.process->stop(5s);
    outcome.log_tail = bench::tail_of(live.log_file, 10);
    return std::nullopt;
}

std::optional<double> stats_value(const sockaddr_in& http, const std::string& key) {
    std::string error;
    const auto body = bench::http_get(http, "/stats", 5s, error);
    if (!body) return std::nullopt;
    return bench::json_number(*body, key);
}

void write_nginx_config(const fs::path& work, const fs::path& root, std::uint16_t port) {
    const std::string w = work.string();
    std::ofstream out(work / "nginx.conf");
    out << "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log " << w << "/nginx-error.log;\npid " << w
        << "/nginx.pid;\nevents {}\nhttp {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n"
        << "  keepalive_requests 100000;\n  default_type application/octet-stream;\n";
    for (const char* temporary : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
        out << "  " << temporary << "_temp_path " << w << "/nginx-" << temporary << ";\n";
    out << "  server {\n    listen 127.0.0.1:" << port << ";\n    root " << root.string() << ";\n  }\n}\n";
    if (!out) throw std::runtime_error("cannot write nginx.conf");
}

std::optional<live_server> start_nginx(const bench::seeder_bench_settings& settings, const fs::path& root,
                                       bench::part_outcome& outcome) {
    live_server live;
    live.log_file = settings.work_directory / "nginx.log";
    try {
        if (!fs::exists(settings.nginx)) throw std::runtime_error(settings.nginx + " does not exist (nginx-light)");
        const std::uint16_t port = bench::free_loopback_port();
        write_nginx_config(settings.work_directory, root, port);
        live.http = bench::loopback_endpoint(port);
        live.process = std::make_unique<bench::tracker_process>(plan_for(
            settings, settings.nginx,
            {"-p", settings.work_directory.string(), "-c", "nginx.conf", "-e", (settings.work_directory / "nginx-error.log").string()},
            "nginx"));
    } catch (const std::exception& error) {
        outcome.failures.push_back(error.what());
        return std::nullopt;
    }
    // Up once it answers anything at all (a 404 for "/" will do).
    const auto deadline = bench_clock::now() + 10s;
    while (bench_clock::now() < deadline && live.process->running()) {
        std::string error;
        if (bench::http_get(live.http, "/", 1s, error) || error.rfind("HTTP/1.", 0) == 0) return live;
        std::this_thread::sleep_for(20ms);
    }
    outcome.failures.push_back("nginx did not answer within 10 s (" +
                               (live.process->running() ? std::string("running") : live.process->how_it_ended()) + ")");
    live.process->stop(5s);
    outcome.log_tail = bench::tail_of(settings.work_directory / "nginx-error.log", 10) + bench::tail_of(live.log_file, 10);
    return std::nullopt;
}

void stop_server(live_server& server, const std::string& name, bench::part_outcome& outcome, std::chrono::milliseconds grace) {
    const bool was_running = server.process->running();
    if (!was_running) outcome.failures.push_back(name + " died during the run (" + server.process->how_it_ended() + ")");
    else if (!server.process->stop(grace))
        outcome.warnings.push_back(name + " did not exit cleanly on SIGTERM: " + server.process->how_it_ended());
    if (!outcome.usable() && outcome.log_tail.empty()) outcome.log_tail = bench::tail_of(server.log_file, 10);
}

// 1. The seeder's web seed and nginx, the same file, the same load, alternating rounds.
void measure_http(const bench::seeder_bench_settings& settings, bench::http_measurements& ours, bench::http_measurements& theirs) {
    const fs::path content = settings.work_directory / "http" / "content";
    const fs::path file = content / "big.bin";
    std::string seeder_path;
    std::unique_ptr<mapped_file> mapped;
    try {
        progress("HTTP: writing and publishing a " + std::to_string(settings.http_file_size >> 20) + " MiB file");
        write_random_file(file, settings.http_file_size, 0x68747470);
        const fs::path data = settings.work_directory / "http" / "data";
        fs::create_directories(data);
        seeder::catalogue store(data / "catalogue.db");
        seeder_path = "/items/" + publish(store, file).v1_hex + "/big.bin";
        mapped = std::make_unique<mapped_file>(file);
    } catch (const std::exception& error) {
        ours.failures.push_back(std::string("publishing: ") + error.what());
        return;
    }
    auto seeder_server = start_seeder(settings, settings.work_directory / "http" / "data", {"--no-bittorrent"}, "seeder-http", ours);
    auto nginx_server = start_nginx(settings, content, theirs);
    struct contender {
        bench::http_measurements* measured;
        live_server* server;
        std::string path;
    };
    std::vector<contender> contenders;
    if (seeder_server) contenders.push_back({&ours, &*seeder_server, seeder_path});
    if (nginx_server) contenders.push_back({&theirs, &*nginx_server, "/big.bin"});
    progress("HTTP: " + std::to_string(settings.rounds) + " rounds per server");
    for (unsigned round = 0; round < settings.rounds; ++round) {
        for (std::size_t turn = 0; turn < contenders.size(); ++turn) {
            contender& next = contenders[(turn + round) % contenders.size()];
            if (!next.server->process->running()) continue;
            bench::range_target target;
            target.server = next.server->http;
            target.path = next.path;
            target.file = mapped->bytes();
            target.file_size = mapped->size();
            target.piece_size = settings.range_size;
            target.connections = settings.http_connections;
            bench::range_load_result result = bench::fetch_ranges(target, settings.window, next.server->process->pid());
            bench::http_measurements& measured = *next.measured;
            measured.measured = true;
            ++measured.rounds_run;
            if (result.errors)
                measured.failures.push_back("round " + std::to_string(round + 1) + ": " + std::to_string(result.errors) +
                                            " errors, first: " + result.first_error);
            if (!std::isnan(result.others_busy)) measured.most_other_work = std::max(measured.most_other_work, result.others_busy);
            if (result.megabytes_per_second() > measured.best.megabytes_per_second()) measured.best = std::move(result);
        }
    }
    if (seeder_server) stop_server(*seeder_server, "nearcast-seeder", ours, 10s);
    if (nginx_server) stop_server(*nginx_server, "nginx", theirs, 10s);
}

// 2. One item uploaded to downloaders that know only the seeder.
void measure_bittorrent(const bench::seeder_bench_settings& settings, bench::bittorrent_measurements& measured) {
    const auto step_started = bench_clock::now();
    const fs::path base = settings.work_directory / "bittorrent";
    bench::swarm_plan plan;
    try {
        progress("BitTorrent: writing and publishing a " + std::to_string(settings.bittorrent_file_size >> 20) + " MiB item");
        write_random_file(base / "content" / "item.bin", settings.bittorrent_file_size, 0x62697474);
        fs::create_directories(base / "data");
        seeder::catalogue store(base / "data" / "catalogue.db");
        plan.torrent = publish(store, base / "content" / "item.bin").torrent;
    } catch (const std::exception& error) {
        measured.failures.push_back(std::string("publishing: ") + error.what());
        return;
    }
    auto server = start_seeder(settings, base / "data", {"--listen-bittorrent", "127.30.0.1:0"}, "seeder-bittorrent", measured);
    if (!server) return;
    const auto before = stats_value(server->http, "served_bittorrent_bytes");
    plan.seeder_address = bench::text_of(server->bittorrent->sin_addr);
    plan.seeder_port = ntohs(server->bittorrent->sin_port);
    plan.downloaders = settings.downloaders;
    plan.work_directory = base;
    plan.limit = std::max(10s, settings.bittorrent_limit - std::chrono::duration_cast<std::chrono::seconds>(bench_clock::now() - step_started));
    progress("BitTorrent: " + std::to_string(plan.downloaders) + " downloaders");
    measured.swarm = bench::download_from_seeder(plan);
    if (!measured.swarm.failure.empty()) measured.failures.push_back(measured.swarm.failure);
    // The counter is brought up to date every 250 ms: give it a second to catch up.
    const double expected = static_cast<double>(measured.swarm.finished * measured.swarm.bytes_each);
    const auto wait_until = bench_clock::now() + 2s;
    std::optional<double> after;
    do {
        after = stats_value(server->http, "served_bittorrent_bytes");
        if (after && before && *after - *before >= 0.95 * expected) break;
        std::this_thread::sleep_for(100ms);
    } while (bench_clock::now() < wait_until);
    if (before && after) {
        measured.stats_growth_bytes = *after - *before;
        if (*measured.stats_growth_bytes < 0.95 * expected || *measured.stats_growth_bytes > 1.5 * expected)
            measured.warnings.push_back("/stats served_bittorrent_bytes grew by " + std::to_string(*measured.stats_growth_bytes) +
                                        " bytes; about " + std::to_string(expected) + " expected");
    } else {
        measured.warnings.push_back("GET /stats gave no served_bittorrent_bytes");
    }
    stop_server(*server, "nearcast-seeder", measured, 30s);
}

// 3a. The item files and their catalogue, made with the library (a process per publish would
// take far longer than what is measured).
bool build_catalogue(const bench::seeder_bench_settings& settings, const fs::path& base, bench::startup_measurements& measured) {
    try {
        progress("start-up: writing " + bench::with_commas(settings.items) + " item files");
        auto started = bench_clock::now();
        std::vector<fs::path> files;
        for (unsigned item = 0; item < settings.items; ++item) {
            char name[64];
            std::snprintf(name, sizeof name, "folder-%03u/item-%05u.bin", item / settings.items_per_folder, item);
            files.push_back(base / "content" / name);
            write_random_file(files.back(), settings.item_size, 0x6974656d00000000ull + item);
        }
        measured.files_seconds = seconds_since(started);
        progress("start-up: hashing them and adding them to the catalogue");
        started = bench_clock::now();
        fs::create_directories(base / "data");
        seeder::catalogue store(base / "data" / "catalogue.db");
        for (const auto& file : files) publish(store, file);
        measured.catalogue_seconds = seconds_since(started);
        return true;
    } catch (const std::exception& error) {
        measured.failures.push_back(std::string("building the catalogue: ") + error.what());
        return false;
    }
}

// 3b. One start: spawn until every item is added, the resident memory, then SIGTERM.
void time_one_start(const bench::seeder_bench_settings& settings, const fs::path& data, const std::string& name,
                    bench::startup_measurements& measured, bench::one_start& start) {
    const auto spawned = bench_clock::now();
    auto server = start_seeder(settings, data, {"--listen-bittorrent", "127.0.0.1:0"}, name, measured);
    if (!server) return;
    start.listening_seconds = seconds_since(spawned);
    const double wanted = settings.items;
    std::optional<double> added;
    while (server->process->running() && seconds_since(spawned) < static_cast<double>(settings.startup_limit.count())) {
        added = stats_value(server->http, "added");
        if (added && *added >= wanted) break;
        std::this_thread::sleep_for(50ms);
    }
    if (added && *added >= wanted) {
        start.seconds = seconds_since(spawned);
        start.resident_bytes = server->process->resident_bytes();
        start.started_from_resume = stats_value(server->http, "started_from_resume");
        start.started_in_seed_mode = stats_value(server->http, "started_in_seed_mode");
    } else if (server->process->running()) {
        measured.failures.push_back(name + ": /stats said " + (added ? std::to_string(*added) : std::string("nothing")) +
                                    " items added after " + std::to_string(settings.startup_limit.count()) + " s");
    }
    const auto stopping = bench_clock::now();
    stop_server(*server, name, measured, 90s);
    start.stop_seconds = seconds_since(stopping);
}

void measure_startup(const bench::seeder_bench_settings& settings, bench::startup_measurements& measured) {
    const fs::path base = settings.work_directory / "startup";
    if (!build_catalogue(settings, base, measured)) return;
    progress("start-up: first start");
    time_one_start(settings, base / "data", "seeder-first-start", measured, measured.first);
    if (!measured.usable()) return;
    progress("start-up: restart from resume data");
    time_one_start(settings, base / "data", "seeder-restart", measured, measured.restart);
    if (measured.restart.started_from_resume && *measured.restart.started_from_resume < settings.items)
        measured.warnings.push_back("the restart started only " + std::to_string(*measured.restart.started_from_resume) +
                                    " items from resume data: the first stop did not save them all");
}

void usage() {
    std::fprintf(stderr,
                 "usage: bench-seeder-program --seeder PATH [--nginx PATH] [--seconds N] [--items N] [--no-pinning]\n");
}

}  // namespace

int main(int argc, char** argv) {
    bench::seeder_bench_settings settings;
    bool pinning = true;
    bench::option_reader options(argc, argv, usage);
    // Paths made absolute: the servers run inside the work directory.
    const std::map<std::string, std::function<void()>> takes{
        {"--seeder", [&] { settings.seeder = fs::absolute(options.value()).string(); }},
        {"--nginx", [&] { settings.nginx = fs::absolute(options.value()).string(); }},
        {"--seconds", [&] { settings.window.measure = std::chrono::milliseconds(std::stoul(options.value()) * 1000); }},
        {"--items", [&] { settings.items = std::max(1u, static_cast<unsigned>(std::stoul(options.value()))); }},
        {"--no-pinning", [&] { pinning = false; }},
    };
    while (options.next()) {
        const auto found = takes.find(options.name());
        if (found == takes.end()) options.reject();
        found->second();
    }
    if (settings.seeder.empty()) options.reject();
    const auto run = bench::prepare_run("seeder", pinning);
    settings.generator_cpu = run.generator_cpu;
    settings.server_cpu = run.server_cpu;
    settings.work_directory = run.work_directory;

    bench::print_plan(settings);
    bench::http_measurements ours;
    ours.name = "nearcast-seeder";
    bench::http_measurements theirs;
    theirs.name = "nginx";
    bench::bittorrent_measurements bittorrent;
    bench::startup_measurements startup;
    measure_http(settings, ours, theirs);
    measure_bittorrent(settings, bittorrent);
    measure_startup(settings, startup);

    const int status = bench::print_report(settings, ours, theirs, bittorrent, startup);
    std::error_code ignored;
    fs::remove_all(settings.work_directory, ignored);
    return status;
}
