#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "nearcast/core/host_check.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/options.hpp"

namespace po = boost::program_options;
using namespace nearcast::core;

namespace {

std::string temporary_file(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / ("nearcast-core-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path) << text;
    return path.string();
}

struct parsed {
    po::variables_map values;
    unsigned interval = 0;
    std::vector<std::string> listen;
    double share = 0;
    bool quiet = false;
};

void parse(parsed& out, std::vector<std::string> args, const std::string& config = "") {
    po::options_description options;
    options.add_options()("interval", po::value(&out.interval)->default_value(1800), "")(
        "listen", po::value(&out.listen)->composing(), "")("share", po::value(&out.share)->default_value(0.5), "")(
        "section.key", po::value<std::string>(), "")("quiet", po::bool_switch(&out.quiet), "");
    po::store(po::command_line_parser(args).options(options).run(), out.values);
    if (!config.empty()) merge_config_file(config, options, out.values);
    po::notify(out.values);
}

}  // namespace

TEST_CASE("a config file's values fill what the command line left out, and never add to it", "[core]") {
    const std::string config =
        temporary_file("a.conf", "# comment\ninterval = 60\nlisten = 127.0.0.1:1\nlisten = 127.0.0.1:2\n[section]\nkey = v\n");
    parsed from_file;
    parse(from_file, {}, config);
    CHECK(from_file.interval == 60);
    CHECK(from_file.listen == std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"});
    CHECK(from_file.values["section.key"].as<std::string>() == "v");
    parsed both;
    parse(both, {"--interval", "30", "--listen", "127.0.0.1:3"}, config);
    CHECK(both.interval == 30);
    CHECK(both.listen == std::vector<std::string>{"127.0.0.1:3"});
    std::filesystem::remove(config);
}

TEST_CASE("a switch in a config file is as true or false as its value says", "[core]") {
    for (const auto& [text, expected] : {std::pair{"quiet = false\n", false}, std::pair{"quiet = true\n", true},
                                          std::pair{"quiet = no\n", false}}) {
        CAPTURE(text);
        const std::string config = temporary_file("switch.conf", text);
        parsed out;
        parse(out, {}, config);
        CHECK(out.quiet == expected);
        std::filesystem::remove(config);
    }
}

TEST_CASE("config file errors name the file and the line", "[core]") {
    const auto error_of = [](const std::string& text) {
        const std::string config = temporary_file("bad.conf", text);
        std::string message;
        try {
            parsed out;
            parse(out, {}, config);
        } catch (const usage_error& error) {
            message = error.what();
        }
        std::filesystem::remove(config);
        return message;
    };
    CHECK_THAT(error_of("interval = 5\nbogus = 1\n"), Catch::Contains("bad.conf:2: unknown option 'bogus'"));
    CHECK_THAT(error_of("\n\ninterval = -5\n"), Catch::Contains("bad.conf:3:") && Catch::Contains("'-5'"));
    CHECK_THAT(error_of("interval 5\n"), Catch::Contains("bad.conf:1: 'interval 5' is not NAME = VALUE"));
    CHECK_THAT(error_of("[open\n"), Catch::Contains("bad.conf:1:") && Catch::Contains("section"));
    CHECK_THAT(error_of("interval = 5\ninterval = 6\n"), Catch::Contains("bad.conf:2: 'interval' is set again (first on line 1)"));
    parsed out;
    CHECK_THROWS_WITH(parse(out, {}, "/nonexistent.conf"), Catch::Contains("config file '/nonexistent.conf': no such file"));
    CHECK_THROWS_WITH(parse(out, {}, "/tmp"), Catch::Contains("is a directory"));
}

TEST_CASE("a config line with no name before its '=' is a usage_error naming the line", "[core]") {
    // Found by fuzz_config: "= x" escaped as Boost's ambiguous_option, which names no file.
    const std::string config = temporary_file("no-name.conf", "interval = 5\n= x\n");
    parsed out;
    CHECK_THROWS_WITH(parse(out, {}, config), Catch::Contains("no-name.conf:2: '= x' names no option"));
    std::filesystem::remove(config);
}

TEST_CASE("unsigned values refuse signs, spaces and overflow; reals must be finite", "[core]") {
    for (const std::string bad : {"-5", "+5", "5 ", "", "4294967296", "1e3", "0x10"}) {
        CAPTURE(bad);
        parsed out;
        CHECK_THROWS_WITH(parse(out, {"--interval", bad}), Catch::Contains("whole number from 0 to 4294967295"));
    }
    parsed fine;
    parse(fine, {"--interval", "4294967295", "--share", "0.25"});
    CHECK(fine.interval == 4294967295u);
    CHECK(fine.share == 0.25);
    for (const std::string bad : {"nan", "inf", "-inf", "half"}) {
        CAPTURE(bad);
        parsed out;
        CHECK_THROWS(parse(out, {"--share", bad}));
    }
}

TEST_CASE("log levels are spdlog's names; anything else is refused", "[core]") {
    CHECK(parse_log_level("debug") == spdlog::level::debug);
    CHECK(parse_log_level("off") == spdlog::level::off);
    CHECK_THROWS_WITH(parse_log_level("loud"), Catch::Contains("'loud' is not a log level"));
}

TEST_CASE("only an IP literal or localhost with the server's own port is a local Host", "[core]") {
    CHECK(host_is_local("127.0.0.1:8080", 8080));
    CHECK(host_is_local("127.20.0.5:8080", 8080));
    CHECK(host_is_local("[::1]:8080", 8080));
    CHECK(host_is_local("localhost:8080", 8080));
    CHECK(host_is_local("LocalHost:8080", 8080));  // host names are case-insensitive
    CHECK_FALSE(host_is_local("LOCALHOSTS:8080", 8080));
    CHECK(host_is_local("127.0.0.1", 80));
    CHECK_FALSE(host_is_local("127.0.0.1:8081", 8080));
    CHECK_FALSE(host_is_local("127.0.0.1", 8080));
    CHECK_FALSE(host_is_local("evil.example:8080", 8080));
    CHECK_FALSE(host_is_local("localhost.evil.example:8080", 8080));
    CHECK_FALSE(host_is_local("", 8080));
    CHECK_FALSE(host_is_local("[::1:8080", 8080));
    // The unspecified addresses name no host; browsers have routed them to loopback.
    CHECK_FALSE(host_is_local("0.0.0.0:8080", 8080));
    CHECK_FALSE(host_is_local("[::]:8080", 8080));
    CHECK_FALSE(origin_is_local("http://0.0.0.0:8080", 8080));
    CHECK(origin_is_local("", 8080));
    CHECK(origin_is_local("http://127.0.0.1:8080", 8080));
    CHECK_FALSE(origin_is_local("http://evil.example:8080", 8080));
    CHECK_FALSE(origin_is_local("null", 8080));
}

TEST_CASE("a Host with a NUL in its name is not local, whatever address comes before the NUL", "[core]") {
    // Found by fuzz_peer_input: the address parser stopped at the NUL and took "::".
    using namespace std::string_view_literals;
    CHECK_FALSE(host_is_local("[::\0\0\0\n&&1@1]:8080"sv, 8080));
    CHECK_FALSE(host_is_local("127.0.0.1\0.evil.example:8080"sv, 8080));
    CHECK_FALSE(origin_is_local("http://127.0.0.1\0.evil.example:8080"sv, 8080));
}

TEST_CASE("an input file must be a readable regular file with something in it", "[core]") {
    CHECK_THROWS_WITH(require_readable_file("/tmp", "scenario file"), Catch::Contains("scenario file '/tmp': is a directory"));
    CHECK_THROWS_WITH(require_readable_file("/nonexistent", "torrent"), Catch::Contains("no such file"));
    const std::string empty = temporary_file("empty", "");
    CHECK_THROWS_WITH(require_readable_file(empty, "scenario file"), Catch::Contains("is empty"));
    CHECK_NOTHROW(require_readable_file(empty, "config file", true));
    std::filesystem::remove(empty);
}

TEST_CASE("a check made after parsing names the config file's line that set the value, not a flag never typed", "[core]") {
    const auto config = temporary_file("origin.conf", "# the operator's settings\n\ninterval = 0\n");
    parsed from_file;
    parse(from_file, {"--share", "2"}, config);
    CHECK(config_origin("interval") == config + ":3");
    CHECK(config_origin("share").empty());  // from the command line
    CHECK(with_config_origin("--interval must be at least 1 second") == config + ":3: --interval must be at least 1 second");
    CHECK(with_config_origin("--share must be 0 to 1") == "--share must be 0 to 1");
    CHECK(with_config_origin("no flag here") == "no flag here");
    std::filesystem::remove(config);
}
