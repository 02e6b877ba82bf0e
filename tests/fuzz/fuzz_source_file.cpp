// libFuzzer target for a routing source file as nearcast-prox, the tracker and the simulator
// read it: read_input (plain, gzip or bzip2, members concatenated, cut short or corrupt), then
// format detection and the loader it picks (MRT, pfx2as, IPASN, AS relationships, MaxMind DB).
// The bytes go to a file under /tmp, since the MaxMind DB reader maps a path.
//
// The first byte says what the rest is:
//   0    the file as it lies on disk: mutations hit the compressed streams themselves;
//   1, 2 plain data this harness compresses with gzip or bzip2, one member; 3, 4 the same in two
//        members. The second byte cuts the compressed file (255: whole), so the fuzzer varies
//        the records and the cut while the stream stays well-formed up to the cut.
// For 1-4 read_input must give back the plain data when whole, and when cut a prefix of it with
// a warning (a text table up to a line end) and never an error: a cut is not corruption.
// Anything but input_error thrown, a crash, a sanitizer report or a hang is a finding.
#include <bzlib.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"

using namespace nearcast::proximity;

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_source_file: %s\n", what);
        std::abort();
    }
}

// One folder of this process under /tmp, removed at exit.
const std::string& scratch_file() {
    static const std::string path = [] {
        char folder[] = "/tmp/nearcast-fuzz-source-XXXXXX";
        check(::mkdtemp(folder) != nullptr, "cannot make a folder under /tmp");
        static const std::string kept = folder;
        std::atexit([] { std::filesystem::remove_all(kept); });
        return kept + "/source";
    }();
    return path;
}

void write_file(const std::string& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    check(static_cast<bool>(out), "cannot write the input file");
}

std::string gzipped(std::string_view plain) {
    z_stream stream{};
    check(deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
    std::string out(deflateBound(&stream, static_cast<uLong>(plain.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
    stream.avail_in = static_cast<uInt>(plain.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    check(deflate(&stream, Z_FINISH) == Z_STREAM_END, "deflate");
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

std::string bzipped(std::string_view plain) {
    auto size = static_cast<unsigned>(plain.size() + plain.size() / 100 + 600);
    std::string out(size, '\0');
    check(BZ2_bzBuffToBuffCompress(out.data(), &size, const_cast<char*>(plain.data()),
                                   static_cast<unsigned>(plain.size()), 1, 0, 0) == BZ_OK,
          "BZ2_bzBuffToBuffCompress");
    out.resize(size);
    return out;
}

void parse_quietly(std::string_view bytes, const std::string& path) {
    try {
        (void)parse_source(bytes, path);
    } catch (const input_error&) {
    }
}

// Modes 1-4: the compressed file made here from `plain`, cut where `cut_byte` says.
void compressed_round_trip(unsigned mode, std::uint8_t cut_byte, std::string_view plain) {
    const bool gzip = mode % 2 == 1;
    const auto compress = [&](std::string_view part) { return gzip ? gzipped(part) : bzipped(part); };
    const std::string_view first_half = mode <= 2 ? plain : plain.substr(0, plain.size() / 2);
    std::string file = compress(first_half);
    const std::size_t first_member = file.size();
    if (mode > 2) file += compress(plain.substr(first_half.size()));
    // Never inside the magic bytes: a file cut there is no longer recognisably compressed.
    bool cut = cut_byte != 255;
    if (cut) file.resize(3 + (file.size() - 3) * cut_byte / 255);
    // Cut just after a whole member, the file is whole: fewer members, no sign of a cut.
    if (cut && file.size() == first_member) {
        cut = false;
        plain = first_half;
    }
    const std::string& path = scratch_file();
    write_file(path, file);

    std::vector<std::string> warnings;
    std::string bytes;
    try {
        bytes = read_input(path, &warnings);
    } catch (const input_error& error) {
        std::fprintf(stderr, "%s\n", error.what());
        check(false, "well-formed compressed data, whole or cut, was refused");
    }
    if (!cut) {
        check(bytes == plain, "a whole compressed file did not read as the data compressed");
        check(warnings.empty(), "a whole compressed file was warned about");
    } else {
        check(plain.substr(0, bytes.size()) == bytes, "a cut file read as something other than a prefix of its data");
        check(warnings.size() == 1, "a cut file was not warned about once");
        if (warnings[0].find("last whole line") != std::string::npos) {
            check(bytes.empty() || bytes.back() == '\n', "a cut text table kept part of a line");
        }
    }
    parse_quietly(bytes, path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Cut inputs are the common case here; their warnings would drown the fuzzer's output.
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)quiet;
    if (size == 0) return 0;
    const unsigned mode = data[0] % 5;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (mode == 0) {
        const std::string& path = scratch_file();
        write_file(path, rest);
        try {
            (void)load_source(path);
        } catch (const input_error&) {
        }
        return 0;
    }
    if (rest.empty()) return 0;
    compressed_round_trip(mode, static_cast<std::uint8_t>(rest[0]), rest.substr(1));
    return 0;
}
