#include <catch2/catch.hpp>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "nearcast/core/common_options.hpp"
#include "nearcast/core/options.hpp"
#include "nearcast/core/stop_signals.hpp"

namespace po = boost::program_options;
using namespace nearcast::core;

namespace {

struct tool_run {
    common_options common{"nearcast-test", {.config_file = true, .progress = true}};
    po::variables_map values;
};

// Parses `args` as a tool does: the command line, then the config file, then the log level.
spdlog::level::level_enum parse(tool_run& run, const std::vector<std::string>& args) {
    po::options_description options;
    options.add(run.common.description());
    po::store(po::command_line_parser(args).options(options).run(), run.values);
    run.common.merge_config(run.values, options);
    po::notify(run.values);
    return run.common.apply_log_level(run.values);
}

std::string config_file(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / ("nearcast-common-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path) << text;
    return path.string();
}

}  // namespace

TEST_CASE("the log level is what -v, -q or --log-level asks for, info without them", "[core]") {
    const auto before = spdlog::get_level();
    tool_run plain, verbose, quiet, named;
    CHECK(parse(plain, {}) == spdlog::level::info);
    CHECK(plain.common.show_progress());
    CHECK(parse(verbose, {"-v"}) == spdlog::level::debug);
    CHECK(spdlog::get_level() == spdlog::level::debug);
    CHECK(parse(quiet, {"--quiet"}) == spdlog::level::warn);
    CHECK_FALSE(quiet.common.show_progress());
    CHECK(parse(named, {"--log-level", "error"}) == spdlog::level::err);
    tool_run no_progress;
    CHECK(parse(no_progress, {"--no-progress"}) == spdlog::level::info);
    CHECK_FALSE(no_progress.common.show_progress());
    spdlog::set_level(before);
}

TEST_CASE("two of -v, -q and --log-level at once are refused, naming both", "[core]") {
    tool_run both, quiet_and_level, verbose_and_level;
    CHECK_THROWS_WITH(parse(both, {"-v", "-q"}), Catch::Contains("--verbose and --quiet contradict each other"));
    CHECK_THROWS_WITH(parse(quiet_and_level, {"-q", "--log-level", "debug"}),
                      Catch::Contains("--quiet and --log-level contradict each other"));
    CHECK_THROWS_AS(parse(verbose_and_level, {"--log-level", "debug", "-v"}), usage_error);
    tool_run loud;
    CHECK_THROWS_WITH(parse(loud, {"--log-level", "loud"}), Catch::Contains("'loud' is not a log level"));
}

TEST_CASE("the command line's -v or -q replaces the config file's log level, and the file's alone counts", "[core]") {
    const auto before = spdlog::get_level();
    const std::string file = config_file("level.conf", "log-level = debug\n");
    tool_run quiet_over_file, file_alone;
    CHECK(parse(quiet_over_file, {"-q", "--config", file}) == spdlog::level::warn);
    CHECK(parse(file_alone, {"-c", file}) == spdlog::level::debug);
    const std::string contradicting = config_file("both.conf", "verbose = true\nquiet = true\n");
    tool_run from_file, overruled;
    CHECK_THROWS_WITH(parse(from_file, {"-c", contradicting}), Catch::Contains("contradict each other (in " + contradicting));
    CHECK(parse(overruled, {"-c", contradicting, "--log-level", "error"}) == spdlog::level::err);
    CHECK(overruled.common.show_progress());  // the file's quiet was replaced with the rest
    std::filesystem::remove(file);
    std::filesystem::remove(contradicting);
    spdlog::set_level(before);
}

TEST_CASE("a version request is answered before anything else is checked", "[core]") {
    tool_run run;
    po::options_description options;
    options.add(run.common.description());
    po::store(po::command_line_parser(std::vector<std::string>{"--version", "-v", "-q"}).options(options).run(), run.values);
    CHECK(run.common.answered(run.values, "usage", options));
    CHECK(std::string(version()).find('.') != std::string::npos);
}

TEST_CASE("SIGTERM reaches an Asio loop's stop function and a loop's flag", "[core]") {
    boost::asio::io_context io;
    int stopped_by = 0;
    {
        stop_signals signals(io);
        signals.on_stop([&](int signal) { stopped_by = signal; });
        std::raise(SIGTERM);
        io.run_for(std::chrono::seconds(5));
    }
    CHECK(stopped_by == SIGTERM);

    catch_stop_signals();
    CHECK_FALSE(stop_requested());
    std::raise(SIGINT);
    CHECK(stop_requested());
    CHECK(stop_signal() == SIGINT);
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}
