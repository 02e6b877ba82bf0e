// libFuzzer target for the supernode summary other peers send in nearcast's BEP 10 extension
// message: nothing may crash or throw anything but summary_error, and what decodes must encode
// and decode again to the same summary.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "nearcast/peer/supernode_summary.hpp"

using namespace nearcast::peer;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto summary = decode_summary(std::string_view(reinterpret_cast<const char*>(data), size));
        const auto again = decode_summary(encode(summary));
        if (again.children != summary.children || again.admission_limit != summary.admission_limit ||
            again.supernode != summary.supernode || again.cache.bytes() != summary.cache.bytes()) {
            std::fprintf(stderr, "fuzz_supernode_summary: a summary changed on its way through encode\n");
            std::abort();
        }
    } catch (const summary_error&) {
    }
    return 0;
}
