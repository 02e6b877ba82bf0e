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

TEST_CASE("a truncated bzip2 file is refused, naming the file and the compression", "[input]") {
    const std::string text = "10.0.0.0/8\t64512\n";
    std::string bytes = compress<io::bzip2_compressor>(std::string(100'000, ';') + "\n" + text);
    const std::string path = write_temporary("cut.bz2", bytes.substr(0, bytes.size() / 2));
    CHECK_THROWS_WITH(read_input(path), Catch::Contains(path) && Catch::Contains("bzip2"));
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
