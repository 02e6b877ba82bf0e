// nearcast-sim as a user runs it: files written, byte-identical on a second run, clear errors.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

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
