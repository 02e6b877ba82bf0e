#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/model.hpp"
#include "test_data.hpp"

using namespace nearcast::proximity;

namespace {

std::string temporary_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("nearcast-test-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_all(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

model small_model() {
    routing_data bgp;
    bgp.routes = {{*ip_prefix::parse("10.0.0.0/8"), {64512}}, {*ip_prefix::parse("10.1.0.0/16"), {64513, 64514}},
                  {*ip_prefix::parse("2001:db8::/32"), {64515}}};
    bgp.links = {{64512, 64513}, {64513, 64515}};
    bgp.as_names = {{64512, "Example One"}, {64515, "Example Two"}};
    routing_data fallback;
    fallback.routes = {{*ip_prefix::parse("10.2.0.0/16"), {1}}, {*ip_prefix::parse("11.0.0.0/8"), {2}},
                       {*ip_prefix::parse("8.0.0.0/6"), {3}}};
    fallback.as_names = {{64512, "Other name"}, {2, "Two"}};
    std::vector<routing_data> sources;
    sources.push_back(std::move(bgp));
    sources.push_back(std::move(fallback));
    return model::combine(std::move(sources));
}

}  // namespace

TEST_CASE("a later source only answers where no earlier source has a covering prefix", "[model]") {
    const model m = small_model();
    const auto at = [&](const char* address) {
        const auto found = m.prefixes().lookup(*ip_address::parse(address));
        return found ? found->prefix.to_string() : std::string("none");
    };
    CHECK(at("10.2.0.1") == "10.0.0.0/8");  // the fallback's 10.2/16 lies inside BGP's 10/8
    CHECK(at("11.0.0.1") == "11.0.0.0/8");  // nothing in BGP covers it, but 8/6 from the fallback does too
    CHECK(at("10.1.0.1") == "10.1.0.0/16");
    CHECK(m.prefixes().size() == 5);
    CHECK(m.as_name(64512) == "Example One");
    CHECK(m.as_name(2) == "Two");
    CHECK(m.as_name(3).empty());
}

TEST_CASE("a snapshot round-trips the whole model", "[snapshot]") {
    const model original = small_model();
    const std::string path = temporary_path("roundtrip.ncprox");
    original.save_snapshot(path);
    const model loaded = model::load_snapshot(path);
    CHECK(loaded.prefixes().size() == original.prefixes().size());
    const auto original_routes = original.prefixes().routes();
    const auto loaded_routes = loaded.prefixes().routes();
    REQUIRE(loaded_routes.size() == original_routes.size());
    for (std::size_t i = 0; i < loaded_routes.size(); ++i) {
        CHECK(loaded_routes[i].prefix == original_routes[i].prefix);
        CHECK(loaded_routes[i].origins == original_routes[i].origins);
    }
    CHECK(loaded.graph().links() == original.graph().links());
    CHECK(loaded.as_name(64515) == "Example Two");
    CHECK(loaded.prefixes().origin_of(*ip_address::parse("10.1.2.3")) == 64513);
    CHECK(model::load({path}).prefixes().size() == original.prefixes().size());
    // Saving again gives the same bytes: nothing uninitialised leaks into the file.
    const std::string again = temporary_path("again.ncprox");
    loaded.save_snapshot(again);
    CHECK(read_all(again) == read_all(path));
    std::filesystem::remove(path);
    std::filesystem::remove(again);
}

TEST_CASE("a snapshot of the real MRT sample answers every lookup as the model it came from", "[snapshot]") {
    const model original = model::load({nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz")});
    const std::string path = temporary_path("mrt.ncprox");
    original.save_snapshot(path);
    const model loaded = model::load_snapshot(path);
    std::mt19937 random(1);
    for (int i = 0; i < 100'000; ++i) {
        const auto address = ip_address::v4(static_cast<std::uint32_t>(random()) >> 4);  // 0/8 to 15/8: covered
        REQUIRE(loaded.prefixes().origin_of(address) == original.prefixes().origin_of(address));
    }
    CHECK(loaded.graph().as_count() == original.graph().as_count());
    std::filesystem::remove(path);
}

TEST_CASE("a flipped byte anywhere in a snapshot is refused with a clear error", "[snapshot]") {
    const std::string path = temporary_path("flip.ncprox");
    small_model().save_snapshot(path);
    const std::string good = read_all(path);
    const std::string bad_path = temporary_path("flipped.ncprox");
    for (std::size_t at = 0; at < good.size(); at += std::max<std::size_t>(1, good.size() / 97)) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ 0x20);
        write_all(bad_path, bad);
        INFO("byte " << at);
        CHECK_THROWS_AS(model::load_snapshot(bad_path), input_error);
    }
    std::filesystem::remove(path);
    std::filesystem::remove(bad_path);
}

TEST_CASE("a truncated, empty or foreign file is refused as a snapshot, naming it", "[snapshot]") {
    const std::string path = temporary_path("truncated.ncprox");
    small_model().save_snapshot(path);
    const std::string good = read_all(path);
    write_all(path, good.substr(0, good.size() - 5));
    CHECK_THROWS_WITH(model::load_snapshot(path), Catch::Contains(path) && Catch::Contains("truncated"));
    write_all(path, "");
    CHECK_THROWS_WITH(model::load_snapshot(path), Catch::Contains("not a nearcast proximity snapshot"));
    write_all(path, std::string("\x89NCPROX\n", 8) + std::string(100, '\0'));
    CHECK_THROWS_WITH(model::load_snapshot(path), Catch::Contains("format version 0"));
    CHECK_THROWS_WITH(model::load_snapshot(temporary_path("missing")), Catch::Contains("cannot open"));
    std::filesystem::remove(path);
}
