// The flags every nearcast tool takes, each with one meaning in all of them (issue 19):
//   -h/--help, --version, -c/--config FILE, -v/--verbose (debug messages), -q/--quiet (warnings
//   and errors only, and no progress), --log-level LEVEL, and --no-progress in a tool that
//   draws progress.
// Two of -v, -q and --log-level at once are refused rather than one silently winning. Logging is
// set up here too, the same way for every tool: spdlog on stderr, one line format.
#pragma once

#include <boost/program_options.hpp>
#include <spdlog/common.h>

#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace nearcast::core {

namespace po = boost::program_options;

// How every tool reads its command line: Boost's default, except that a long option must be
// spelt whole (`--inter` is not taken for `--interval`, nor `--data` for `--data-dir`), as in
// config files.
inline constexpr int command_line_style =
    po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

// The project's version, from CMake's project(VERSION ...).
const char* version();

// Makes `tool` the default spdlog logger: stderr (coloured on a terminal),
// "2024-05-01 12:00:00.000 info message", level info until the options say otherwise.
void start_logging(const std::string& tool);

class common_options {
public:
    struct features {
        bool config_file = true;  // -c/--config
        bool progress = false;    // --no-progress: the tool draws a progress bar or progress lines
    };

    explicit common_options(std::string tool);
    common_options(std::string tool, features wanted);

    // The flags, to add to the tool's options (shown as "Common options" in --help).
    const po::options_description& description() const { return description_; }

    // After po::store of the command line: --help prints `usage` and `shown`, --version prints
    // "<tool> <version>"; either returns true and the tool exits 0 without reading anything else.
    bool answered(const po::variables_map& values, std::string_view usage, const po::options_description& shown) const;
    void print_help(std::string_view usage, const po::options_description& shown) const;

    // Merges the -c file into `values` (merge_config_file: the command line wins). When the
    // command line gives any of -v, -q or --log-level, the file's settings of all three are not used.
    void merge_config(po::variables_map& values, const po::options_description& options);

    // After po::notify: the level -v, -q or --log-level asks for (info without them), set as
    // spdlog's level. Two of them at once are a usage_error naming both.
    spdlog::level::level_enum apply_log_level(const po::variables_map& values);

    bool quiet() const { return quiet_; }
    bool show_progress() const { return !quiet_ && !no_progress_; }

    // Prints "<tool>: <what> (see <tool> --help)" on stderr; returns 2, the exit status of bad usage.
    int refuse(const std::exception& error, const std::string& command = "") const;

private:
    std::string tool_;
    po::options_description description_;
    std::string config_file_;
    std::string log_level_;
    bool verbose_ = false;
    bool quiet_ = false;
    bool no_progress_ = false;
    std::vector<std::string> level_flags_on_command_line_;
};

}  // namespace nearcast::core
