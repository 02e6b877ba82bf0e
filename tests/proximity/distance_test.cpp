#include <catch2/catch.hpp>

#include "nearcast/proximity/distance.hpp"
#include "test_data.hpp"

using namespace nearcast::proximity;

namespace {

const model& loopback_internet() {
    static const model routing = model::load({nearcast::testing::source_file("proximity/data/loopback-internet.ipasn"),
                                              nearcast::testing::source_file("proximity/data/loopback-internet.as-rel")});
    return routing;
}

network_distance between(const char* a, const char* b, const distance_options& options = {}) {
    return distance(loopback_internet(), *ip_address::parse(a), *ip_address::parse(b), options);
}

}  // namespace

TEST_CASE("distance classes run from same subnet to unknown on the emulated Internet", "[distance]") {
    CHECK(between("127.10.0.5", "127.10.0.9").kind == nearness::same_subnet);
    CHECK(between("127.10.0.5", "127.10.7.9").kind == nearness::same_prefix);
    CHECK(between("127.10.0.5", "127.11.0.9").kind == nearness::same_as);
    CHECK(between("127.10.0.5", "127.20.0.9").kind == nearness::adjacent_as);
    const auto two = between("127.10.0.5", "127.30.0.9");
    CHECK(two.kind == nearness::as_hops);
    CHECK(two.hops == 2);
    CHECK(between("127.10.0.5", "127.50.0.9").hops == 4);
    CHECK(between("127.10.0.5", "127.99.0.9").kind == nearness::unknown);
    CHECK(between("127.10.0.5", "::1").kind == nearness::unknown);
}

TEST_CASE("the distance order and the numeric cost agree", "[distance]") {
    const std::vector<network_distance> nearest_first{
        between("127.10.0.5", "127.10.0.9"), between("127.10.0.5", "127.10.7.9"), between("127.10.0.5", "127.11.0.9"),
        between("127.10.0.5", "127.20.0.9"), between("127.10.0.5", "127.30.0.9"), between("127.10.0.5", "127.40.0.9"),
        between("127.10.0.5", "127.50.0.9"), between("127.10.0.5", "127.99.0.9")};
    for (std::size_t i = 1; i < nearest_first.size(); ++i) {
        INFO(nearest_first[i - 1].to_string() << " before " << nearest_first[i].to_string());
        CHECK(nearest_first[i - 1] < nearest_first[i]);
        CHECK(nearest_first[i - 1].cost() < nearest_first[i].cost());
    }
}

TEST_CASE("the subnet length and hop limit are configurable", "[distance]") {
    distance_options options;
    options.subnet_v4 = 16;
    CHECK(between("127.10.0.5", "127.10.7.9", options).kind == nearness::same_subnet);
    options.max_as_hops = 3;
    CHECK(between("127.10.0.5", "127.40.0.9", options).hops == 3);
    CHECK(between("127.10.0.5", "127.50.0.9", options).kind == nearness::unknown);
    options.subnet_v6 = 64;
    CHECK(between("2001:db8::1", "2001:db8::2", options).kind == nearness::same_subnet);
    CHECK(between("2001:db8:0:1::1", "2001:db8::2", options).kind == nearness::unknown);
}

TEST_CASE("real addresses in one AS and in neighbouring ASes are told apart", "[distance]") {
    const model routing = model::load({nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz")});
    // 1.0.0.0/24 and 8.8.8.0/24 are both AS15169 in this 2014 table; 4.0.0.0/9 is AS3356.
    const auto google = distance(routing, *ip_address::parse("1.0.0.1"), *ip_address::parse("8.8.8.8"));
    const auto level3 = distance(routing, *ip_address::parse("1.0.0.1"), *ip_address::parse("4.2.2.2"));
    CHECK(google.kind == nearness::same_as);
    CHECK(level3.kind >= nearness::adjacent_as);
    CHECK(google < level3);
}
