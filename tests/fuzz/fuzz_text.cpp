// libFuzzer target for the text loaders - pfx2as, IPASN and CAIDA AS relationships - and the
// format detection that picks one: any bytes must either parse into a table that keeps the
// loaders' promises or be refused with an input_error naming a line. Any other exception, a
// crash, a sanitizer report, a broken promise (trapped here) or a hang is a finding.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"

namespace {

using namespace nearcast::proximity;

// What every loader promises of its output: prefixes without host bits, each once, each with
// at least one origin and no origin twice, and a report that adds up.
void check_promises(const routing_data& data) {
    std::set<ip_prefix> prefixes;
    for (const route& each : data.routes) {
        if (each.prefix.length > each.prefix.network.width()) __builtin_trap();
        if (each.prefix.network.masked(each.prefix.length) != each.prefix.network) __builtin_trap();
        if (!prefixes.insert(each.prefix).second) __builtin_trap();
        if (each.origins.empty()) __builtin_trap();
        if (std::set<std::uint32_t>(each.origins.begin(), each.origins.end()).size() != each.origins.size()) {
            __builtin_trap();
        }
    }
    if (data.report.records != data.routes.size() || !data.links.empty()) __builtin_trap();
}

// No table format has a NUL byte in a data line (one that is not blank or a comment).
bool has_nul_in_data_line(std::string_view text) {
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(at, end - at);
        at = end + 1;
        if (line.empty() || line.front() == ';' || line.front() == '#') continue;
        if (line.find('\0') != std::string_view::npos) return true;
    }
    return false;
}

void parse_with(routing_data (*parse)(std::string_view, const std::string&), std::string_view text,
                const std::string& input) {
    try {
        check_promises(parse(text, input));
        if (has_nul_in_data_line(text)) __builtin_trap();  // garbage taken as part of a field
    } catch (const input_error& error) {
        // Refusing bad input with a named error is the expected outcome; text errors name a line.
        if (error.input() != input || !error.line()) __builtin_trap();
    }
}

// An AS relationship file gives links only: each once, sorted, low below high.
void parse_relationships(std::string_view text, const std::string& input) {
    try {
        const routing_data data = parse_as_relationships(text, input);
        if (!data.routes.empty()) __builtin_trap();
        for (std::size_t i = 0; i < data.links.size(); ++i) {
            if (data.links[i].low >= data.links[i].high) __builtin_trap();
            if (i > 0 && !(data.links[i - 1] < data.links[i])) __builtin_trap();
        }
    } catch (const input_error& error) {
        if (error.input() != input || !error.line()) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string pfx2as_input = "fuzz.pfx2as";
    static const std::string ipasn_input = "fuzz.ipasn";
    static const std::string relationships_input = "fuzz.as-rel";
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)detect_format(text);
    parse_with(parse_pfx2as, text, pfx2as_input);
    parse_with(parse_ipasn, text, ipasn_input);
    parse_relationships(text, relationships_input);
    return 0;
}
