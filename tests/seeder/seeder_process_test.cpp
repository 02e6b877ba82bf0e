// nearcast-seeder as a real process: publish, restart without re-hashing, a kill -9 in the
// middle of a publish, and the command line's errors.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "scratch.hpp"
#include "tracker_client.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nearcast::testing::scratch_folder;
using nearcast::testing::write_random_file;

namespace {

std::string slurp(const fs::path& file) {
    std::ifstream in(file);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Starts the seeder with these arguments, stdout and stderr to files in `folder`.
pid_t spawn(const scratch_folder& folder, std::vector<std::string> args, const std::string& tag) {
    args.insert(args.begin(), NEARCAST_SEEDER_BINARY);
    const std::string out = (folder.path / (tag + ".out")).string(), err = (folder.path / (tag + ".err")).string();
    // Whatever the test has buffered goes out now, not again from the child's freopen.
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
        std::freopen(out.c_str(), "w", stdout);
        std::freopen(err.c_str(), "w", stderr);
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct run_result {
    int status;
    std::string out, err;
};

run_result run(const scratch_folder& folder, const std::vector<std::string>& args) {
    static int runs = 0;
    const std::string tag = "run-" + std::to_string(++runs);
    const int status = wait_exit(spawn(folder, args, tag));
    return {status, slurp(folder.path / (tag + ".out")), slurp(folder.path / (tag + ".err"))};
}

// A serving seeder on loopback with port 0 everywhere; SIGTERM when the test ends.
class serving_seeder {
public:
    // `extra` goes after the defaults, so it can add options (or a --config that sets them).
    serving_seeder(const scratch_folder& folder, const std::string& data_dir, std::vector<std::string> extra = {})
        : folder_(folder) {
        const fs::path ports = folder.path / "ports";
        fs::remove(ports);
        std::vector<std::string> args{"serve", "--data-dir", data_dir, "--port-file", ports.string(), "--log-level", "debug"};
        if (extra.empty()) extra = {"--listen-bittorrent", "127.0.0.1:0", "--listen-http", "127.0.0.1:0"};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = spawn(folder, args, "serve-" + std::to_string(++instances_));
        for (int waited = 0; waited < 200 && !fs::exists(ports); ++waited) std::this_thread::sleep_for(50ms);
        REQUIRE(fs::exists(ports));
        std::ifstream in(ports);
        for (std::string kind, where; in >> kind >> where;) {
            if (kind == "http") http_base = "http://" + where;
        }
        REQUIRE(!http_base.empty());
    }
    ~serving_seeder() {
        if (pid_ > 0) stop();
    }
    int stop() {
        kill(pid_, SIGTERM);
        const int status = wait_exit(pid_);
        pid_ = -1;
        return status;
    }
    nlohmann::json stats() const {
        const auto reply = nearcast::seeder::server::http_request("GET", http_base, "/stats", "", "", 5s);
        REQUIRE(reply.status == 200);
        return nlohmann::json::parse(reply.body);
    }
    // Polls /stats until `ready` holds or 10 s pass.
    nlohmann::json stats_when(const std::function<bool(const nlohmann::json&)>& ready) const {
        nlohmann::json seen;
        for (int tries = 0; tries < 100; ++tries) {
            seen = stats();
            if (ready(seen)) break;
            std::this_thread::sleep_for(100ms);
        }
        return seen;
    }
    std::string log() const { return slurp(folder_.path / ("serve-" + std::to_string(instances_) + ".err")); }
    // Polls the log until it holds `text` or 10 s pass: a result is logged when the daemon's loop collects it,
    // which may be after the catalogue already shows it.
    std::string log_when(const std::string& text) const {
        std::string seen;
        for (int tries = 0; tries < 100; ++tries) {
            seen = log();
            if (seen.find(text) != std::string::npos) break;
            std::this_thread::sleep_for(100ms);
        }
        return seen;
    }
    std::string http_base;

private:
    static inline int instances_ = 0;
    const scratch_folder& folder_;
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("a published item is served, and after a restart it is served again with no re-hash", "[process]") {
    scratch_folder folder("restart");
    write_random_file(folder.path / "show.bin", 2'000'000);
    const std::string data = (folder.path / "data").string();
    const auto published = run(folder, {"publish", "--data-dir", data, (folder.path / "show.bin").string()});
    REQUIRE(published.status == 0);
    CHECK_THAT(published.out, Catch::Contains("show.bin") && Catch::Contains("magnet:?xt=urn:btih:"));
    CHECK(fs::exists(folder.path / "data" / "catalogue.db"));
    CHECK(std::distance(fs::directory_iterator(folder.path / "data" / "torrents"), fs::directory_iterator()) == 1);

    {
        serving_seeder first(folder, data);
        const auto stats = first.stats_when([](const nlohmann::json& s) { return s["seeding"] == 1; });
        CHECK(stats["items"] == 1);
        CHECK(stats["started_in_seed_mode"] == 1);
        CHECK(stats["started_from_resume"] == 0);
        CHECK(first.stop() == 0);
        CHECK_THAT(first.log(), Catch::Contains("resume data of 1 of 1 items saved"));
    }
    const auto info = run(folder, {"info", "--data-dir", data, "show.bin"});
    REQUIRE(info.status == 0);
    CHECK_THAT(info.out, Catch::Contains("resume data:") && !Catch::Contains("none yet"));

    serving_seeder second(folder, data);
    const auto stats = second.stats_when([](const nlohmann::json& s) { return s["seeding"] == 1; });
    CHECK(stats["started_from_resume"] == 1);
    CHECK(stats["started_in_seed_mode"] == 0);
    CHECK(stats["checking"] == 0);
}

TEST_CASE("a publish killed in the middle leaves no half item and loses none", "[process]") {
    scratch_folder folder("kill");
    write_random_file(folder.path / "first.bin", 100'000);
    write_random_file(folder.path / "large.bin", 400'000'000);
    const std::string data = (folder.path / "data").string();
    REQUIRE(run(folder, {"publish", "--data-dir", data, (folder.path / "first.bin").string()}).status == 0);

    const pid_t publishing = spawn(folder, {"publish", "--data-dir", data, (folder.path / "large.bin").string()}, "killed");
    // Killed as soon as it has the file mapped (libtorrent hashes through mmap): in the middle of
    // hashing, however fast this machine hashes (400 MB take 0.35 s from the page cache).
    const auto hashing = [&] {
        std::ifstream maps("/proc/" + std::to_string(publishing) + "/maps");
        for (std::string line; std::getline(maps, line);) {
            if (line.find("large.bin") != std::string::npos) return true;
        }
        return false;
    };
    for (int waited = 0; !hashing() && waited < 20'000; ++waited) std::this_thread::sleep_for(100us);
    kill(publishing, SIGKILL);
    CHECK(wait_exit(publishing) == 128 + SIGKILL);

    const auto listed = run(folder, {"list", "--data-dir", data});
    REQUIRE(listed.status == 0);
    CHECK_THAT(listed.out, Catch::Contains("first.bin") && !Catch::Contains("large.bin"));
    CHECK(run(folder, {"info", "--data-dir", data, "first.bin"}).status == 0);
    // The catalogue takes the same item again as if nothing had happened.
    CHECK(run(folder, {"publish", "--data-dir", data, (folder.path / "large.bin").string()}).status == 0);
    CHECK_THAT(run(folder, {"list", "--data-dir", data}).out, Catch::Contains("large.bin"));
}

TEST_CASE("a name two items share is refused with their ids, and removes neither", "[process]") {
    scratch_folder folder("ambiguous");
    fs::create_directories(folder.path / "one");
    fs::create_directories(folder.path / "two");
    write_random_file(folder.path / "one" / "film.bin", 40'000, 7);
    write_random_file(folder.path / "two" / "film.bin", 50'000, 8);
    const std::string data = (folder.path / "data").string();
    REQUIRE(run(folder, {"publish", "--data-dir", data, (folder.path / "one" / "film.bin").string(),
                         (folder.path / "two" / "film.bin").string()}).status == 0);
    for (const char* command : {"remove", "info"}) {
        const auto refused = run(folder, {command, "--data-dir", data, "film.bin"});
        CHECK(refused.status == 2);
        CHECK_THAT(refused.err, Catch::Contains("'film.bin' is the name of 2 items (ids 1, 2)"));
    }
    CHECK(run(folder, {"list", "--data-dir", data}).out.find("film.bin") != std::string::npos);
    CHECK(run(folder, {"remove", "--data-dir", data, "2"}).status == 0);
    const auto listed = run(folder, {"list", "--data-dir", data}).out;
    CHECK_THAT(listed, Catch::Contains("1\t") && !Catch::Contains("2\t"));
    CHECK(run(folder, {"remove", "--data-dir", data, "film.bin"}).status == 0);  // one left: no doubt
}

TEST_CASE("the web seed serves and describes only the torrent's files, never a stray file or symlink beside them",
          "[process]") {
    scratch_folder folder("stray");
    fs::create_directories(folder.path / "album");
    write_random_file(folder.path / "album" / "track.bin", 200'000, 3);
    const std::string data = (folder.path / "data").string();
    REQUIRE(run(folder, {"publish", "--data-dir", data, (folder.path / "album").string()}).status == 0);
    // Planted after publishing: a file the torrent does not list, and a symlink out of the item.
    write_random_file(folder.path / "album" / "secret.bin", 50'000, 4);
    fs::create_symlink("/etc/hostname", folder.path / "album" / "link");
    serving_seeder seeder(folder, data);
    const auto item = nlohmann::json::parse(
        nearcast::seeder::server::http_request("GET", seeder.http_base, "/catalogue", "", "", 5s).body)["items"][0];
    const std::string base = "/items/" + item["v1"].get<std::string>() + "/album/";
    for (int round = 0; round < 5; ++round) {
        for (const char* method : {"GET", "HEAD"}) {
            for (const char* stray : {"secret.bin", "link"}) {
                const auto reply = nearcast::seeder::server::http_request(method, seeder.http_base, base + stray, "", "", 5s);
                CAPTURE(method, stray);
                CHECK(reply.status == 404);  // neither served nor described (size, validators)
            }
        }
    }
    const auto listed = nearcast::seeder::server::http_request("GET", seeder.http_base, base + "track.bin", "", "", 5s);
    CHECK(listed.status == 200);
    CHECK(listed.body == slurp(folder.path / "album" / "track.bin"));
    // Nothing was taken for damage: no hash failure, no re-check.
    const auto stats = seeder.stats();
    CHECK(stats["hash_failures"] == 0);
    CHECK(stats["checking"] == 0);
    CHECK(stats["repairs"] == 0);
}

TEST_CASE("list, info and remove do what they say, and a second publish of an item is refused", "[process]") {
    scratch_folder folder("commands");
    fs::create_directories(folder.path / "album");
    write_random_file(folder.path / "album" / "a.bin", 50'000);
    write_random_file(folder.path / "album" / "b.bin", 60'000);
    const std::string data = (folder.path / "data").string();
    CHECK(run(folder, {"publish", "--data-dir", data, "--hybrid", "--v1-only", (folder.path / "album").string()}).status == 2);
    const auto published = run(folder, {"publish", "--data-dir", data, (folder.path / "album").string()});
    REQUIRE(published.status == 0);
    const auto again = run(folder, {"publish", "--data-dir", data, (folder.path / "album").string()});
    CHECK(again.status == 2);
    CHECK_THAT(again.err, Catch::Contains("already in the catalogue"));

    const auto info = run(folder, {"info", "--data-dir", data, "1"});
    REQUIRE(info.status == 0);
    CHECK_THAT(info.out, Catch::Contains("110000 bytes") && Catch::Contains("in 2 file(s)") && Catch::Contains("v1-only"));
    CHECK(run(folder, {"remove", "--data-dir", data, "album"}).status == 0);
    CHECK(run(folder, {"list", "--data-dir", data}).out.empty());
    CHECK(std::distance(fs::directory_iterator(folder.path / "data" / "torrents"), fs::directory_iterator()) == 0);
}

TEST_CASE("bad command lines and bad inputs are named and exit with status 2", "[process]") {
    scratch_folder folder("errors");
    const std::string data = (folder.path / "data").string();
    for (const char* command : {"serve", "publish", "list", "info", "remove"}) {
        const auto help = run(folder, {command, "--help"});
        CHECK(help.status == 0);
        CHECK_THAT(help.out, Catch::Contains("Usage: nearcast-seeder"));
    }
    const auto none = run(folder, {});
    CHECK(none.status == 2);
    const auto unknown = run(folder, {"frobnicate"});
    CHECK(unknown.status == 2);
    CHECK_THAT(unknown.err, Catch::Contains("unknown command 'frobnicate'"));
    const auto missing = run(folder, {"publish", "--data-dir", data, (folder.path / "nothing.bin").string()});
    CHECK(missing.status == 2);
    CHECK_THAT(missing.err, Catch::Contains("nothing.bin") && Catch::Contains("no such file"));
    const auto no_item = run(folder, {"info", "--data-dir", data, "ghost"});
    CHECK(no_item.status == 2);
    CHECK_THAT(no_item.err, Catch::Contains("no item 'ghost'"));
    const auto bad_listen = run(folder, {"serve", "--data-dir", data, "--listen-http", "localhost"});
    CHECK(bad_listen.status == 2);
    CHECK_THAT(bad_listen.err, Catch::Contains("--listen-http") && Catch::Contains("'localhost'"));
    const auto bad_tracker = run(folder, {"publish", "--data-dir", data, "--tracker", "ftp://x/announce", "x"});
    CHECK(bad_tracker.status == 2);
    CHECK_THAT(bad_tracker.err, Catch::Contains("ftp://x/announce"));
    std::ofstream(folder.path / "not-a-catalogue.db") << "plain text, not SQLite, and long enough to be looked at\n";
    fs::create_directories(folder.path / "other");
    fs::rename(folder.path / "not-a-catalogue.db", folder.path / "other" / "catalogue.db");
    const auto foreign = run(folder, {"list", "--data-dir", (folder.path / "other").string()});
    CHECK(foreign.status == 2);
    CHECK_THAT(foreign.err, Catch::Contains("catalogue.db"));
}

TEST_CASE("serve takes its settings from a config file and publishes what is dropped in its watch folder", "[process]") {
    scratch_folder folder("watch");
    const fs::path watch = folder.path / "inbox";
    fs::create_directories(watch);  // a watch folder must exist: a misspelt one is refused
    const fs::path config = folder.path / "seeder.ini";
    std::ofstream(config) << "# an operator's settings\nname = origin-ini\nlisten-bittorrent = 127.0.0.1:0\n"
                          << "listen-http = 127.0.0.1:0\nwatch = " << watch.string() << "\n";
    const std::string data = (folder.path / "data").string();
    serving_seeder seeder(folder, data, {"--config", config.string()});
    CHECK(seeder.stats()["name"] == "origin-ini");
    CHECK(seeder.stats()["items"] == 0);

    // Written under a hidden name and renamed in, as a careful uploader does; then left alone.
    write_random_file(watch / ".part", 300'000);
    fs::rename(watch / ".part", watch / "dropped.bin");
    const auto stats = seeder.stats_when([](const nlohmann::json& s) { return s["items"] == 1 && s["added"] == 1; });
    CHECK(stats["items"] == 1);
    CHECK(stats["added"] == 1);
    CHECK_THAT(run(folder, {"list", "--data-dir", data}).out, Catch::Contains("dropped.bin"));
    CHECK_THAT(seeder.log_when("from the watch folder"), Catch::Contains("from the watch folder"));
    // Its torrent's web seed is the port the seeder listens on, not the 0 it was given.
    const std::string port = seeder.http_base.substr(seeder.http_base.rfind(':') + 1);
    CHECK_THAT(run(folder, {"info", "--data-dir", data, "dropped.bin"}).out,
               Catch::Contains("ws=http%3a%2f%2f127.0.0.1%3a" + port + "%2fitems%2f") && !Catch::Contains("%3a0%2f"));

    const auto metrics = nearcast::seeder::server::http_request("GET", seeder.http_base, "/metrics", "", "", 5s);
    CHECK(metrics.status == 200);
    CHECK_THAT(metrics.body, Catch::Contains("nearcast_seeder_items 1") && Catch::Contains("nearcast_seeder_seeding 1") &&
                                 Catch::Contains("# TYPE nearcast_seeder_served_http_bytes_total counter"));
    // Its file is served from the web seed, whole and right.
    const auto item = nlohmann::json::parse(
        nearcast::seeder::server::http_request("GET", seeder.http_base, "/catalogue", "", "", 5s).body)["items"][0];
    const auto file = nearcast::seeder::server::http_request(
        "GET", seeder.http_base, "/items/" + item["v1"].get<std::string>() + "/dropped.bin", "", "", 5s);
    CHECK(file.status == 200);
    CHECK(file.body.size() == 300'000);
    CHECK(file.body == slurp(watch / "dropped.bin"));
}
