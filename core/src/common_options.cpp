#include "nearcast/core/common_options.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>

#include "nearcast/core/options.hpp"

namespace nearcast::core {

namespace {

// The flags that set the log level, as --help names them; one of them at most.
constexpr const char* level_flags[] = {"verbose", "quiet", "log-level"};

std::vector<std::string> level_flags_in(const po::variables_map& values) {
    std::vector<std::string> given;
    for (const std::string name : level_flags) {
        const auto found = values.find(name);
        if (found == values.end() || found->second.defaulted()) continue;
        if (name != "log-level" && !found->second.as<bool>()) continue;  // "quiet = false" in a file
        given.push_back(name);
    }
    return given;
}

}  // namespace

const char* version() { return NEARCAST_VERSION; }

void start_logging(const std::string& tool) {
    auto logger = spdlog::stderr_color_mt(tool);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
}

common_options::common_options(std::string tool) : common_options(std::move(tool), features{}) {}

common_options::common_options(std::string tool, features wanted) : tool_(std::move(tool)), description_("Common options") {
    description_.add_options()
        ("help,h", "show this help and exit")
        ("version", "print the version and exit");
    if (wanted.config_file) {
        description_.add_options()("config,c", po::value(&config_file_),
                                   "INI config file: NAME = VALUE lines, names without the dashes; the command line wins");
    }
    description_.add_options()
        ("verbose,v", po::bool_switch(&verbose_), "debug messages too (--log-level debug)")
        ("quiet,q", po::bool_switch(&quiet_),
         wanted.progress ? "warnings and errors only, and no progress (--log-level warn, --no-progress)"
                         : "warnings and errors only (--log-level warn)")
        ("log-level", po::value(&log_level_), "trace, debug, info, warn, error, critical or off (default: info)");
    if (wanted.progress) {
        description_.add_options()("no-progress", po::bool_switch(&no_progress_), "no progress bar or progress lines, all messages");
    }
}

bool common_options::answered(const po::variables_map& values, std::string_view usage,
                              const po::options_description& shown) const {
    if (values.count("help")) {
        print_help(usage, shown);
        return true;
    }
    if (values.count("version")) {
        std::cout << tool_ << " " << version() << "\n";
        return true;
    }
    return false;
}

void common_options::merge_config(po::variables_map& values, const po::options_description& options) {
    level_flags_on_command_line_ = level_flags_in(values);
    if (values.count("config")) merge_config_file(values["config"].as<std::string>(), options, values);
}

spdlog::level::level_enum common_options::apply_log_level(const po::variables_map& values) {
    const bool from_command_line = !level_flags_on_command_line_.empty();
    const std::vector<std::string> given = from_command_line ? level_flags_on_command_line_ : level_flags_in(values);
    if (given.size() > 1) {
        const std::string where = from_command_line || !values.count("config") ? "" : " (in " + values["config"].as<std::string>() + ")";
        throw usage_error("--" + given[0] + " and --" + given[1] + " contradict each other" + where + ": give one of them");
    }
    const auto chose = [&](const char* name) { return std::find(given.begin(), given.end(), name) != given.end(); };
    // A flag the command line replaced may still have been stored from the config file.
    verbose_ = chose("verbose");
    quiet_ = chose("quiet");
    spdlog::level::level_enum level = spdlog::level::info;
    if (verbose_) level = spdlog::level::debug;
    if (quiet_) level = spdlog::level::warn;
    if (chose("log-level")) level = parse_log_level(log_level_);
    spdlog::set_level(level);
    return level;
}

void common_options::print_help(std::string_view usage, const po::options_description& shown) const {
    std::cout << usage << "\n" << shown;
}

int common_options::refuse(const std::exception& error, const std::string& command) const {
    std::cerr << tool_ << ": " << with_config_origin(error.what()) << " (see " << tool_ << " " << (command.empty() ? "" : command + " ") << "--help)\n";
    return 2;
}

}  // namespace nearcast::core
