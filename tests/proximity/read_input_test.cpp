#include <catch2/catch.hpp>

#include <boost/iostreams/copy.hpp>
#include <boost/iostreams/device/array.hpp>
#include <boost/iostreams/device/back_inserter.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>

#include <filesystem>
#include <fstream>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "test_data.hpp"

using namespace nearcast::proximity;
namespace io = boost::iostreams;

namespace {

template <class Compressor>
std::string compress(const std::string& bytes) {
    std::string out;
    io::filtering_ostream stream;
    stream.push(Compressor());
    stream.push(io::back_inserter(out));
    stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    stream.reset();
    return out;
}

std::string write_temporary(const std::string& name, const std::string& bytes) {
    const auto path = std::filesystem::temp_directory_path() / ("nearcast-read-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path.string();
}

}  // namespace

TEST_CASE("plain, gzip and bzip2 files read as the same bytes and the same routes", "[input]") {
    const std::string mrt = read_input(nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz"));
    REQUIRE(mrt.size() > 1'000'000);
    const std::string plain = write_temporary("sample.mrt", mrt);
    const std::string gzip = write_temporary("sample.mrt.gz", compress<io::gzip_compressor>(mrt));
    const std::string bzip2 = write_temporary("sample.mrt.bz2", compress<io::bzip2_compressor>(mrt));
    CHECK(read_input(plain) == mrt);
    CHECK(read_input(gzip) == mrt);
    CHECK(read_input(bzip2) == mrt);
    const auto from_bzip2 = load_source(bzip2);
    CHECK(from_bzip2.report.format == "mrt");
    CHECK(from_bzip2.routes.size() == 9'069);
    for (const auto& path : {plain, gzip, bzip2}) std::filesystem::remove(path);
}

TEST_CASE("a gzip or bzip2 file cut short keeps the whole records before the cut and warns with the offset", "[input]") {
    const std::string mrt = read_input(nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz"));
    const std::string gzip = compress<io::gzip_compressor>(mrt);
    const std::string bzip2 = compress<io::bzip2_compressor>(mrt);
    for (const auto& [kind, compressed] : {std::pair{"gzip", gzip}, std::pair{"bzip2", bzip2}}) {
        CAPTURE(kind);
        const std::size_t cut = compressed.size() * 6 / 10;
        const std::string path = write_temporary(std::string("cut.") + kind, compressed.substr(0, cut));
        std::vector<std::string> warnings;
        const std::string bytes = read_input(path, &warnings);
        CHECK(bytes.size() > mrt.size() / 3);
        CHECK(bytes.size() < mrt.size());
        CHECK(mrt.compare(0, bytes.size(), bytes) == 0);  // a prefix of the whole, nothing invented
        REQUIRE(warnings.size() == 1);
        CHECK_THAT(warnings[0], Catch::Contains(kind) && Catch::Contains("compressed byte offset " + std::to_string(cut)));
        // The loader keeps every whole MRT record before the cut and names both cuts.
        const routing_data data = load_source(path);
        CHECK(data.routes.size() > 2'000);
        CHECK(data.routes.size() < 9'069);
        REQUIRE(data.report.warnings.size() == 2);
        CHECK_THAT(data.report.warnings[0], Catch::Contains("compressed byte offset"));
        CHECK_THAT(data.report.warnings[1], Catch::Contains("MRT record at byte offset"));
        CHECK(data.report.cut_short);  // what a tracker's reload refuses
        std::filesystem::remove(path);
    }
}

TEST_CASE("a whole compressed file is not cut short", "[input]") {
    const routing_data data = load_source(nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz"));
    CHECK_FALSE(data.report.cut_short);
    CHECK(data.report.warnings.empty());
}

TEST_CASE("a gzip or bzip2 file cut too early to tell its format says it is cut short, not 'unknown format'", "[input]") {
    const std::string mrt = read_input(nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz"));
    // head -c 5 of a .gz (inside the gzip header), head -c 100 of a .bz2 (inside the first block),
    // and a text table cut before the end of its first line.
    // (The gzip ones are written by hand: a header, then a stored deflate block that is not the last.)
    const std::string gzip_header("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    const std::string line = "1.0.0.0/2";  // of "1.0.0.0/24\t15169\n"
    const std::string stored = std::string(1, '\x00') + static_cast<char>(line.size()) + '\x00' +
                               static_cast<char>(~line.size() & 0xff) + '\xff' + line;
    for (const auto& [name, bytes] : {std::pair{"early.gz", gzip_header.substr(0, 5)},
                                      std::pair{"early.bz2", compress<io::bzip2_compressor>(mrt).substr(0, 100)},
                                      std::pair{"line.gz", gzip_header + stored}}) {
        CAPTURE(name);
        const std::string path = write_temporary(name, bytes);
        std::string expected = "compressed data cut short after ";
        expected.append(std::to_string(bytes.size())).append(" bytes");
        try {
            load_source(path);
            FAIL("a cut-short file with too little in it was read");
        } catch (const input_error& error) {
            CHECK_THAT(error.what(), Catch::Contains(path) && Catch::Contains(expected) &&
                                         Catch::Contains("too little to tell its format"));
            CHECK_THAT(error.what(), !Catch::Contains("unknown format"));
        }
        std::filesystem::remove(path);
    }
}

TEST_CASE("corrupt gzip or bzip2 data is refused, naming the file and the compression", "[input]") {
    const std::string text = std::string(100'000, ';') + "\n10.0.0.0/8\t64512\n";
    for (auto [kind, bytes] : {std::pair{"gzip", compress<io::gzip_compressor>(text)},
                               std::pair{"bzip2", compress<io::bzip2_compressor>(text)}}) {
        CAPTURE(kind);
        bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x55);
        const std::string path = write_temporary(std::string("corrupt.") + kind, bytes);
        CHECK_THROWS_WITH(read_input(path), Catch::Contains(path) && Catch::Contains(std::string("corrupt ") + kind));
        std::filesystem::remove(path);
    }
}

TEST_CASE("concatenated gzip members read as one file", "[input]") {
    const std::string path = write_temporary("two-members.gz", compress<io::gzip_compressor>("1.0.0.0/24\t15169\n") +
                                                                   compress<io::gzip_compressor>("2.0.0.0/16\t3215\n"));
    std::vector<std::string> warnings;
    CHECK(read_input(path, &warnings) == "1.0.0.0/24\t15169\n2.0.0.0/16\t3215\n");
    CHECK(warnings.empty());
    std::filesystem::remove(path);
}

TEST_CASE("formats are told apart by their content", "[input]") {
    CHECK(detect_format("; comment\n1.0.0.0/24\t15169\n") == source_format::ipasn);
    CHECK(detect_format("1.0.0.0\t24\t15169\n") == source_format::pfx2as);
    CHECK(detect_format("# as-rel\n64512|64513|-1\n") == source_format::as_rel);
    CHECK(detect_format(read_input(nearcast::testing::shared_data("mmdb/GeoLite2-ASN-Test.mmdb"))) == source_format::mmdb);
    CHECK(detect_format(read_input(nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz"))) ==
          source_format::mrt);
    CHECK_FALSE(detect_format("hello world\n"));
    CHECK_FALSE(detect_format(""));
}
