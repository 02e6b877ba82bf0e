// Options of every nearcast tool: the command line, then an INI config file, with one set of
// rules. Options given on the command line win over the file (a repeatable one too: the file's
// values are not added to them); every error names the flag, or the file and its line; unsigned
// values refuse a minus sign instead of wrapping around, and real values must be finite.
#pragma once

#include <boost/any.hpp>
#include <boost/program_options.hpp>
#include <spdlog/common.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace nearcast::core {

namespace po = boost::program_options;

// A bad flag, value or config file: the tool prints it and exits with status 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Reads the INI file at `path` into `values`: "name = value" lines, [section] headers that
// prefix names with "section.", comment lines starting with # or ; (a # later in a line is
// part of the value). An option already given on the command
// line is left as it was. Unknown names, bad values, a missing file, a directory or an unreadable
// file are usage_errors that name the file (and the line).
void merge_config_file(const std::string& path, const po::options_description& options, po::variables_map& values);

// "FILE:LINE" where the last merge_config_file took `option` (its long name) from, or "" when
// the value came from elsewhere: so that a check made later ("--interval must be at least 1")
// can name the line of the config file that set it.
std::string config_origin(const std::string& option);
// `message`, prefixed with "FILE:LINE: " when it begins with a flag ("--interval ...") that the
// config file set.
std::string with_config_origin(const std::string& message);

// The spdlog level of "trace", "debug", "info", "warn", "error", "critical" or "off"; anything
// else is a usage_error naming `flag`.
spdlog::level::level_enum parse_log_level(const std::string& text, const std::string& flag = "--log-level");

// Refuses positional arguments a command does not take, naming the first.
void refuse_extra_arguments(const std::vector<std::string>& extra, const std::string& command);

}  // namespace nearcast::core

// Found by argument-dependent lookup (through boost::any) when program_options converts a
// value, and preferred to its generic template, which would read "-5" as 4294967291.
namespace boost {
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned char*, long);
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned short*, long);
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned int*, long);
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned long*, long);
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned long long*, long);
void validate(boost::any& value, const std::vector<std::string>& tokens, double*, long);
}  // namespace boost
