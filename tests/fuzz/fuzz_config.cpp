// libFuzzer target for config files and option values, as every nearcast tool reads them
// (core::merge_config_file and core's value validators). The input is written to a file under
// /tmp and merged over a command line that set two options, with options of each value type
// the tools use. Promises checked: only usage_error is thrown; what the command line set stays
// as it was; an unsigned value accepted is all digits and within its type, a real one finite;
// a log level accepted is one of the names. Each line of the input is also given straight to
// the validators, to parse_log_level and to parse_address_port (every listening flag's reader).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nearcast/core/listening.hpp"
#include "nearcast/core/options.hpp"

namespace po = boost::program_options;
using namespace nearcast::core;

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_config: %s\n", what);
        std::abort();
    }
}

const std::string& scratch_file() {
    static const std::string path = [] {
        char folder[] = "/tmp/nearcast-fuzz-config-XXXXXX";
        check(::mkdtemp(folder) != nullptr, "cannot make a folder under /tmp");
        static const std::string kept = folder;
        std::atexit([] { std::filesystem::remove_all(kept); });
        return kept + "/fuzz.conf";
    }();
    return path;
}

// The decimal value of `text` when it is digits only, saturated at 2^64 - 1.
std::optional<unsigned long long> digits_value(const std::string& text) {
    if (text.empty()) return std::nullopt;
    unsigned long long value = 0;
    constexpr auto most = std::numeric_limits<unsigned long long>::max();
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<unsigned long long>(c - '0');
        value = value > (most - digit) / 10 ? most : value * 10 + digit;
    }
    return value;
}

template <class Unsigned>
void validate_unsigned(const std::string& text) {
    boost::any value;
    try {
        boost::validate(value, {text}, static_cast<Unsigned*>(nullptr), 0L);
    } catch (const po::error&) {
        return;
    }
    const auto expected = digits_value(text);
    check(expected.has_value(), "an unsigned value that is not digits only was accepted");
    check(*expected <= std::numeric_limits<Unsigned>::max(), "an unsigned value too large for its type was accepted");
    check(boost::any_cast<Unsigned>(value) == *expected, "an unsigned value was read as another number");
}

void validate_values(const std::string& text) {
    validate_unsigned<unsigned char>(text);
    validate_unsigned<unsigned short>(text);
    validate_unsigned<unsigned int>(text);
    validate_unsigned<unsigned long>(text);
    validate_unsigned<unsigned long long>(text);
    boost::any value;
    try {
        boost::validate(value, {text}, static_cast<double*>(nullptr), 0L);
        check(std::isfinite(boost::any_cast<double>(value)), "a real value that is not finite was accepted");
    } catch (const po::error&) {
    }
    if (const auto where = parse_address_port(text)) {
        const std::size_t colon = text.rfind(':');
        const std::string digits = text.substr(colon + 1);
        const std::size_t significant = digits.find_first_not_of('0');
        check(std::to_string(where->port) == (significant == std::string::npos ? "0" : digits.substr(significant)),
              "ADDRESS:PORT read as another port");
        const std::string host = text.substr(0, colon);
        check(host.find('\0') == std::string::npos, "ADDRESS:PORT with a NUL in its address was accepted");
        check(host == "localhost" || host.find_first_not_of("0123456789abcdefABCDEF:.[]%") == std::string::npos ||
                  host.find('%') != std::string::npos,
              "ADDRESS:PORT with a name, not an address, was accepted");
    }
    try {
        (void)parse_log_level(text);
        static const std::vector<std::string> names = {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"};
        check(std::find(names.begin(), names.end(), text) != names.end(), "an unknown log level was accepted");
    } catch (const usage_error&) {
    }
}

struct settings {
    std::uint16_t port = 0;
    std::uint32_t interval = 0;
    std::uint64_t quota = 0;
    std::size_t connections = 0;
    int file_index = -1;
    double share = 0;
    std::string name;
    std::vector<std::string> listen;
    bool quiet = false;
};

void merge(const std::string& path) {
    settings out;
    po::options_description options;
    options.add_options()
        ("port", po::value(&out.port), "")
        ("interval", po::value(&out.interval)->default_value(1800), "")
        ("quota", po::value(&out.quota), "")
        ("max-connections", po::value(&out.connections)->default_value(10'000), "")
        ("file", po::value(&out.file_index), "")
        ("share", po::value(&out.share)->default_value(0.5), "")
        ("name", po::value(&out.name), "")
        ("listen", po::value(&out.listen)->composing(), "")
        ("quiet", po::bool_switch(&out.quiet), "")
        ("log-level", po::value<std::string>()->default_value("info"), "")
        ("section.key", po::value<std::string>(), "");
    po::variables_map values;
    po::store(po::command_line_parser(std::vector<std::string>{"--port", "6881", "--listen", "127.0.0.1:1"})
                  .options(options)
                  .run(),
              values);
    try {
        merge_config_file(path, options, values);
    } catch (const usage_error&) {
        return;  // refused, with the file and line named
    }
    po::notify(values);
    check(out.port == 6881, "a config file changed an option the command line set");
    check(out.listen == std::vector<std::string>{"127.0.0.1:1"}, "a config file added to a repeatable option the command line set");
    check(std::isfinite(out.share), "a config file set a real option to a value that is not finite");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // The first lines only: each refusal is an exception, slow under the sanitizers.
    std::size_t at = 0;
    for (int lines = 0; at <= text.size() && lines < 64; ++lines) {
        std::size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        validate_values(std::string(text.substr(at, end - at)));
        at = end + 1;
    }
    const std::string& path = scratch_file();
    {
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    merge(path);
    return 0;
}
