// nearcast-sim as a user runs it: files written, byte-identical on a second run, clear errors.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

int run(const std::string& arguments) {
    const std::string command = std::string(NEARCAST_SIM_TOOL) + " -q " + arguments + " >/dev/null 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

const char* small = "--set workload.peers=2000 --set workload.items=50 --set run.duration_h=3 "
                    "--set faults.list=supernodes:2:0.3";

}  // namespace

TEST_CASE("nearcast-sim writes its results and report, the same bytes on a second run") {
    const std::filesystem::path first = "/tmp/nearcast-sim-tool-test-1", second = "/tmp/nearcast-sim-tool-test-2";
    std::filesystem::remove_all(first);
    std::filesystem::remove_all(second);
    REQUIRE(run(std::string(small) + " --out " + first.string()) == 0);
    REQUIRE(run(std::string(small) + " --out " + second.string()) == 0);
    for (const char* name : {"results.json", "results.csv", "series.csv", "per_as.csv", "report.html"}) {
        INFO(name);
        REQUIRE(std::filesystem::exists(first / name));
        CHECK(read(first / name) == read(second / name));
    }
    const auto csv = read(first / "results.csv");
    for (const char* strategy : {"origin_only", "random", "prefix", "as", "as_adjacent", "nearcast"}) {
        CHECK(csv.find(std::string("\n") + strategy + ",") != std::string::npos);
    }
    CHECK(read(first / "report.html").find("30% of supernodes") != std::string::npos);
    std::filesystem::remove_all(first);
    std::filesystem::remove_all(second);
}

TEST_CASE("nearcast-sim refuses bad input with status 2 and writes nothing") {
    const std::filesystem::path out = "/tmp/nearcast-sim-tool-test-bad";
    std::filesystem::remove_all(out);
    CHECK(run("--set workload.peers=lots --out " + out.string()) == 2);
    CHECK(run("--set no.such.key=1 --out " + out.string()) == 2);
    CHECK(run("/nonexistent/scenario.ini --out " + out.string()) == 2);
    CHECK(run("--no-such-flag") == 2);
    CHECK_FALSE(std::filesystem::exists(out));
    CHECK(run("--help") == 0);
}

TEST_CASE("nearcast-sim refuses a key set twice and keys beyond their bounds with status 2, not bad_alloc") {
    const std::filesystem::path out = "/tmp/nearcast-sim-tool-test-bounds";
    std::filesystem::remove_all(out);
    const std::string ini = "/tmp/nearcast-sim-tool-test-twice.ini", json = "/tmp/nearcast-sim-tool-test-twice.json";
    std::ofstream(ini) << "workload.peers = 100\nworkload.peers = 200\n";
    std::ofstream(json) << R"({"workload": {"peers": 100, "peers": 200}})";
    CHECK(run(ini + " --out " + out.string()) == 2);
    CHECK(run(json + " --out " + out.string()) == 2);
    CHECK(run("--set workload.peers=99999999999 --out " + out.string()) == 2);
    CHECK(run("--set run.duration_h=99999999999 --out " + out.string()) == 2);
    CHECK(run("--set workload.items=4000000000 --out " + out.string()) == 2);
    CHECK(run("--set origin.seeders=4000000000 --out " + out.string()) == 2);
    CHECK_FALSE(std::filesystem::exists(out));
    std::filesystem::remove(ini);
    std::filesystem::remove(json);
}

TEST_CASE("nearcast-sim stopped by SIGTERM exits with 128+15 and writes nothing") {
    // A run far too long to finish (a million peers for six weeks), stopped at once and after
    // it has started simulating: either way nothing, not even a staging folder, is written.
    const std::filesystem::path out = "/tmp/nearcast-sim-tool-test-sigterm";
    for (const int delay_ms : {0, 300, 1500}) {
        INFO("SIGTERM after " << delay_ms << " ms");
        std::filesystem::remove_all(out);
        std::vector<std::string> args = {NEARCAST_SIM_TOOL, "-q", "--out", out.string(),
                                         "--set", "workload.peers=1000000", "--set", "workload.items=1000",
                                         "--set", "run.duration_h=1000", "--set", "run.strategies=nearcast"};
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        pid_t child = 0;
        REQUIRE(posix_spawn(&child, NEARCAST_SIM_TOOL, nullptr, nullptr, argv.data(), environ) == 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        REQUIRE(kill(child, SIGTERM) == 0);
        int status = 0;
        REQUIRE(waitpid(child, &status, 0) == child);
        // Killed by the signal itself when it came before the handler was in place, else the
        // tool's own status.
        if (WIFEXITED(status)) {
            CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
        } else {
            CHECK(WIFSIGNALED(status));
            CHECK(WTERMSIG(status) == SIGTERM);
        }
        CHECK_FALSE(std::filesystem::exists(out / "results.json"));
        bool staging = false;
        if (std::filesystem::exists(out)) {
            for (const auto& entry : std::filesystem::directory_iterator(out)) staging = true, (void)entry;
        }
        CHECK_FALSE(staging);
    }
    std::filesystem::remove_all(out);
}
