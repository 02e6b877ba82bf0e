#include "nearcast/core/options.hpp"

#include <boost/lexical_cast.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "nearcast/core/input_files.hpp"

namespace nearcast::core {

namespace {

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r");
    return std::string(text.substr(first, last - first + 1));
}

template <class Unsigned>
void validate_unsigned(boost::any& value, const std::vector<std::string>& tokens) {
    po::validators::check_first_occurrence(value);
    const std::string& text = po::validators::get_single_string(tokens);
    unsigned long long parsed = 0;
    const auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    // from_chars takes no sign and no space: "-5", "+5" and "5 " are refused, as is overflow.
    if (text.empty() || problem != std::errc() || end != text.data() + text.size() ||
        parsed > std::numeric_limits<Unsigned>::max()) {
        po::error_with_option_name error("the argument ('%value%') for option '%canonical_option%' is not a whole number from 0 to " +
                                         std::to_string(std::numeric_limits<Unsigned>::max()));
        error.set_substitute("value", text);
        throw error;
    }
    value = boost::any(static_cast<Unsigned>(parsed));
}

}  // namespace

namespace {
// Where each option of the config file was set; the tools read their options once, at start.
std::map<std::string, std::string>& config_origins() {
    static std::map<std::string, std::string> origins;
    return origins;
}
}  // namespace

std::string config_origin(const std::string& option) {
    const auto found = config_origins().find(option);
    return found == config_origins().end() ? std::string() : found->second;
}

std::string with_config_origin(const std::string& message) {
    if (!message.starts_with("--")) return message;
    std::size_t end = 2;
    while (end < message.size() && (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '-')) ++end;
    const std::string origin = config_origin(message.substr(2, end - 2));
    return origin.empty() ? message : origin + ": " + message;
}

void merge_config_file(const std::string& path, const po::options_description& options, po::variables_map& values) {
    try {
        require_readable_file(path, "config file", true);
    } catch (const input_file_error& error) {
        throw usage_error(error.what());
    }
    std::set<std::string> from_command_line;
    for (const auto& [name, value] : values) {
        if (!value.defaulted()) from_command_line.insert(name);
    }
    std::map<std::string, std::size_t> first_line;  // of each single-valued option in the file
    std::ifstream file(path);
    std::string line, section;
    for (std::size_t number = 1; std::getline(file, line); ++number) {
        const std::string where = path + ":" + std::to_string(number) + ": ";
        const std::string text = trimmed(line);
        if (text.empty() || text[0] == '#' || text[0] == ';') continue;
        if (text[0] == '[') {
            if (text.back() != ']') throw usage_error(where + "'" + text + "' is not a [section] header");
            section = trimmed(std::string_view(text).substr(1, text.size() - 2));
            if (!section.empty()) section += ".";
            continue;
        }
        const std::size_t equals = text.find('=');
        if (equals == std::string::npos) throw usage_error(where + "'" + text + "' is not NAME = VALUE");
        const std::string name = section + trimmed(std::string_view(text).substr(0, equals));
        const std::string value = trimmed(std::string_view(text).substr(equals + 1));
        // Checked before the lookup: an empty name matches every option without a short name,
        // and find_nothrow throws ambiguous_option for it.
        if (name.empty()) throw usage_error(where + "'" + text + "' names no option");
        const po::option_description* option = options.find_nothrow(name, false);
        if (!option) throw usage_error(where + "unknown option '" + name + "'");
        const std::string key = option->long_name();
        // These steer the reading of the command line itself: in a file they would be ignored.
        if (key == "config" || key == "help" || key == "version") {
            throw usage_error(where + "'" + name + "' belongs on the command line, not in a config file");
        }
        const bool repeatable = option->semantic()->is_composing() || option->semantic()->max_tokens() > 1;
        if (!repeatable) {
            const auto [earlier, fresh] = first_line.emplace(key, number);
            if (!fresh) {
                throw usage_error(where + "'" + name + "' is set again (first on line " +
                                  std::to_string(earlier->second) + ")");
            }
        }
        if (from_command_line.count(key)) continue;  // the command line wins, whole
        po::option parsed(key, {value});
        parsed.original_tokens = {name, value};
        po::parsed_options one(&options);
        one.options.push_back(std::move(parsed));
        try {
            po::store(one, values);
        } catch (const po::error& error) {
            throw usage_error(where + error.what());
        }
        config_origins()[key] = path + ":" + std::to_string(number);
    }
    if (file.bad()) throw usage_error(path + ": read error");
}

spdlog::level::level_enum parse_log_level(const std::string& text, const std::string& flag) {
    static const std::map<std::string, spdlog::level::level_enum> levels{
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
        {"warn", spdlog::level::warn},   {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
        {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
    const auto found = levels.find(text);
    if (found == levels.end()) {
        throw usage_error(flag + ": '" + text + "' is not a log level: trace, debug, info, warn, error, critical or off");
    }
    return found->second;
}

void refuse_extra_arguments(const std::vector<std::string>& extra, const std::string& command) {
    if (!extra.empty()) throw usage_error(command + " takes no argument '" + extra.front() + "'");
}

}  // namespace nearcast::core

namespace boost {

void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned char*, long) {
    nearcast::core::validate_unsigned<unsigned char>(value, tokens);
}
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned short*, long) {
    nearcast::core::validate_unsigned<unsigned short>(value, tokens);
}
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned int*, long) {
    nearcast::core::validate_unsigned<unsigned int>(value, tokens);
}
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned long*, long) {
    nearcast::core::validate_unsigned<unsigned long>(value, tokens);
}
void validate(boost::any& value, const std::vector<std::string>& tokens, unsigned long long*, long) {
    nearcast::core::validate_unsigned<unsigned long long>(value, tokens);
}
void validate(boost::any& value, const std::vector<std::string>& tokens, double*, long) {
    namespace po = boost::program_options;
    po::validators::check_first_occurrence(value);
    const std::string& text = po::validators::get_single_string(tokens);
    double parsed = 0;
    if (!boost::conversion::try_lexical_convert(text, parsed) || !std::isfinite(parsed)) {
        po::error_with_option_name error("the argument ('%value%') for option '%canonical_option%' is not a finite number");
        error.set_substitute("value", text);
        throw error;
    }
    value = boost::any(parsed);
}

}  // namespace boost
