// libFuzzer target for the pfx2as and IPASN loaders: any bytes must either parse into a table
// that keeps the loaders' promises or be refused with an input_error. Any other exception, a
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

void parse_with(routing_data (*parse)(std::string_view, const std::string&), std::string_view text,
                const std::string& input) {
    try {
        check_promises(parse(text, input));
    } catch (const input_error& error) {
        // Refusing bad input with a named error is the expected outcome; text errors name a line.
        if (error.input() != input || !error.line()) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string pfx2as_input = "fuzz.pfx2as";
    static const std::string ipasn_input = "fuzz.ipasn";
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    parse_with(parse_pfx2as, text, pfx2as_input);
    parse_with(parse_ipasn, text, ipasn_input);
    return 0;
}
