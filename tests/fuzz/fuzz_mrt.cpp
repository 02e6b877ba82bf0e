// libFuzzer target for the MRT loader, TABLE_DUMP_V2 and TABLE_DUMP (run-fuzzers seeds both
// kinds, IPv4 and IPv6): any bytes must either parse or be refused with an input_error. Any other
// exception, a crash, a sanitizer report or a hang is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Truncated inputs are the common case here; their warnings would drown the fuzzer's output.
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)quiet;
    static const std::string input = "fuzz.mrt";
    try {
        const auto data_read =
            nearcast::proximity::parse_mrt(std::string_view(reinterpret_cast<const char*>(data), size), input);
        (void)data_read;
    } catch (const nearcast::proximity::input_error&) {
        // Refusing bad input with a named error is the expected outcome.
    }
    return 0;
}
