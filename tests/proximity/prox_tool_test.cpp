// nearcast-prox as a user runs it: a real process, its output and exit status.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "test_data.hpp"

namespace {

struct run_result {
    int status = -1;
    std::string out;
    std::string err;
};

std::string temporary_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("nearcast-tool-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Runs nearcast-prox with the arguments (each single-quoted for the shell).
run_result prox(const std::vector<std::string>& args) {
    std::string command = NEARCAST_PROX_TOOL;
    for (const auto& arg : args) command += " '" + arg + "'";
    const std::string out = temporary_path("out"), err = temporary_path("err");
    command += " >" + out + " 2>" + err;
    const int raw = std::system(command.c_str());
    run_result result{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_all(out), read_all(err)};
    std::filesystem::remove(out);
    std::filesystem::remove(err);
    return result;
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_CASE("every nearcast-prox command has --help", "[tool]") {
    const auto overview = prox({"--help"});
    CHECK(overview.status == 0);
    CHECK_THAT(overview.out, Catch::Contains("lookup IP...") && Catch::Contains("compile SOURCE... -o FILE"));
    for (const char* command : {"lookup", "distance", "compile", "stats"}) {
        const auto help = prox({command, "--help"});
        INFO(command);
        CHECK(help.status == 0);
        CHECK_THAT(help.out, Catch::Contains(std::string("Usage: nearcast-prox ") + command));
        CHECK_THAT(help.out, Catch::Contains("--data"));
    }
}

TEST_CASE("lookup and distance answer from the embedded default data", "[tool]") {
    const auto lookup = prox({"lookup", "8.8.8.8", "127.10.0.7", "::1"});
    REQUIRE(lookup.status == 0);
    CHECK_THAT(lookup.out, Catch::Contains("8.8.8.8\t8.8.8.0/24\tAS15169"));
    CHECK_THAT(lookup.out, Catch::Contains("127.10.0.7\t127.10.0.0/16\tAS64512"));
    CHECK_THAT(lookup.out, Catch::Contains("::1\t-\tno route"));

    const auto distance = prox({"distance", "127.10.0.7", "127.20.3.4"});
    REQUIRE(distance.status == 0);
    CHECK_THAT(distance.out, Catch::Contains("distance\tadjacent-as\tcost 30"));
}

TEST_CASE("compile writes a snapshot that stats and lookup read back", "[tool]") {
    const std::string snapshot = temporary_path("compiled.ncprox");
    const auto compiled = prox({"compile", nearcast::testing::source_file("proximity/data/loopback-internet.ipasn"),
                                nearcast::testing::shared_data("mmdb/GeoLite2-ASN-Test.mmdb"), "-o", snapshot});
    REQUIRE(compiled.status == 0);
    CHECK_THAT(compiled.out, Catch::Contains("prefixes\t"));
    const auto stats = prox({"stats", snapshot});
    REQUIRE(stats.status == 0);
    CHECK_THAT(stats.out, Catch::Contains("AS names\t"));
    const auto lookup = prox({"lookup", "--data", snapshot, "1.128.0.1", "127.11.1.1"});
    REQUIRE(lookup.status == 0);
    CHECK_THAT(lookup.out, Catch::Contains("1.128.0.1\t1.128.0.0/11\tAS1221\tTelstra Pty Ltd"));
    CHECK_THAT(lookup.out, Catch::Contains("127.11.1.1\t127.11.0.0/16\tAS64512"));
    std::filesystem::remove(snapshot);
}

TEST_CASE("lookup - answers every good line of stdin and names the bad ones", "[tool]") {
    const std::string input = temporary_path("addresses.txt");
    write_file(input, "# resolvers\n8.8.8.8\n\nnot-an-address\r\n127.20.1.1\n");
    std::string command = std::string(NEARCAST_PROX_TOOL) + " lookup - <" + input + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe);
    std::string output;
    char buffer[512];
    while (const std::size_t got = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
    const int raw = pclose(pipe);
    CHECK(WEXITSTATUS(raw) == 2);
    CHECK_THAT(output, Catch::Contains("8.8.8.8\t8.8.8.0/24\tAS15169"));
    CHECK_THAT(output, Catch::Contains("stdin:4: 'not-an-address' is not an IPv4 or IPv6 address"));
    CHECK_THAT(output, Catch::Contains("127.20.1.1\t127.20.0.0/16\tAS64513"));
    std::filesystem::remove(input);
}

TEST_CASE("a bad address is named and exits with status 2", "[tool]") {
    const auto result = prox({"lookup", "8.8.8.8", "8.8.8.256"});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains("'8.8.8.256' is not an IPv4 or IPv6 address"));
    CHECK(result.out.empty());
    CHECK(prox({"distance", "1.2.3.4"}).status == 2);
    CHECK(prox({"frobnicate"}).status == 2);
    CHECK(prox({"compile", "x"}).status == 2);
}

TEST_CASE("an unknown, missing, corrupt or truncated input file is named and exits with status 2", "[tool]") {
    const std::string junk = temporary_path("junk.txt");
    write_file(junk, "hello, this is not routing data\n");
    auto result = prox({"stats", junk});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains(junk) && Catch::Contains("unknown format"));

    result = prox({"stats", temporary_path("does-not-exist")});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains("does-not-exist") && Catch::Contains("cannot open"));

    const std::string bad_text = temporary_path("bad.ipasn");
    write_file(bad_text, "; comment\n10.0.0.0/8\t64512\n10.1.0.0/16\tAS-x\n");
    result = prox({"stats", bad_text});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains(bad_text + ":3"));

    const std::string snapshot = temporary_path("cut.ncprox");
    REQUIRE(prox({"compile", nearcast::testing::source_file("proximity/data/loopback-internet.ipasn"), "-o", snapshot}).status == 0);
    std::string bytes = read_all(snapshot);
    write_file(snapshot, bytes.substr(0, bytes.size() / 2));
    result = prox({"lookup", "--data", snapshot, "127.10.0.1"});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains(snapshot) && Catch::Contains("truncated"));

    bytes[bytes.size() - 3] ^= 1;
    write_file(snapshot, bytes);
    result = prox({"lookup", "--data", snapshot, "127.10.0.1"});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains("checksum"));

    for (const auto& path : {junk, bad_text, snapshot}) std::filesystem::remove(path);
}

TEST_CASE("a gzip file cut short is read up to its last whole line, with a warning naming the file and offset", "[tool]") {
    const std::string cut_gzip = temporary_path("cut.gz");
    const std::string gzip_bytes = read_all(nearcast::testing::source_file("proximity/data/routeviews2-20140513.sample.pfx2as.gz"));
    write_file(cut_gzip, gzip_bytes.substr(0, gzip_bytes.size() / 2));
    const auto whole = prox({"stats", nearcast::testing::source_file("proximity/data/routeviews2-20140513.sample.pfx2as.gz")});
    const auto result = prox({"stats", cut_gzip});
    CHECK(result.status == 0);
    CHECK_THAT(result.err, Catch::Contains(cut_gzip) && Catch::Contains("gzip data is cut off at compressed byte offset " +
                                                                         std::to_string(gzip_bytes.size() / 2)));
    CHECK(result.out != whole.out);  // fewer prefixes than the whole file
    std::filesystem::remove(cut_gzip);
}

TEST_CASE("a compile that finds no prefix is refused, naming the source and what it skipped", "[tool]") {
    // An MRT file of record kinds the loader does not read (BGP4MP messages, type 16 subtype 4).
    std::string mrt;
    for (int i = 0; i < 3; ++i) {
        mrt += std::string("\x53\x7f\x0a\x00\x00\x10\x00\x04\x00\x00\x00\x04", 12) + "abcd";
    }
    const std::string source = temporary_path("no-prefix.mrt");
    write_file(source, mrt);
    const std::string snapshot = temporary_path("no-prefix.ncprox");
    auto result = prox({"compile", source, "-o", snapshot});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains(source) && Catch::Contains("no prefix") &&
                               Catch::Contains("MRT type 16 subtype 4: 3"));
    CHECK_FALSE(std::filesystem::exists(snapshot));
    // AS links alone (a CAIDA AS-relationship file) place no address either.
    const std::string links = temporary_path("links.as-rel");
    write_file(links, "# as-rel\n64512|64513|-1\n");
    result = prox({"compile", links, "-o", snapshot});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains(links) && Catch::Contains("no source holds a prefix"));
    CHECK_FALSE(std::filesystem::exists(snapshot));
    for (const auto& path : {source, links}) std::filesystem::remove(path);
}

TEST_CASE("a compressed file cut too early to tell its format is called cut short and exits with status 2", "[tool]") {
    const std::string cut = temporary_path("early.gz");
    write_file(cut, std::string("\x1f\x8b\x08\x00\x00", 5));  // head -c 5 of a .gz: inside the header
    const auto result = prox({"stats", cut});
    CHECK(result.status == 2);
    CHECK_THAT(result.err, Catch::Contains(cut) && Catch::Contains("compressed data cut short after 5 bytes") &&
                               Catch::Contains("too little to tell its format"));
    std::filesystem::remove(cut);
}
