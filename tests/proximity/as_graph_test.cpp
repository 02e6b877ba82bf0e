#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <random>

#include "nearcast/proximity/as_graph.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "test_data.hpp"

using namespace nearcast::proximity;

namespace {

// Plain breadth-first search from `from`, the reference for hop counts.
std::map<std::uint32_t, unsigned> plain_bfs(const std::vector<as_link>& links, std::uint32_t from) {
    std::map<std::uint32_t, std::vector<std::uint32_t>> adjacency;
    for (const auto& link : links) {
        adjacency[link.low].push_back(link.high);
        adjacency[link.high].push_back(link.low);
    }
    std::map<std::uint32_t, unsigned> depth{{from, 0}};
    std::deque<std::uint32_t> queue{from};
    while (!queue.empty()) {
        const std::uint32_t node = queue.front();
        queue.pop_front();
        for (std::uint32_t next : adjacency[node]) {
            if (depth.emplace(next, depth[node] + 1).second) queue.push_back(next);
        }
    }
    return depth;
}

}  // namespace

TEST_CASE("AS hops count the links between two ASes on a small graph", "[graph]") {
    // 1 - 2 - 3 - 4, 2 - 5, 6 - 7 apart
    const std::vector<as_link> links{{1, 2}, {2, 3}, {3, 4}, {2, 5}, {6, 7}, {1, 2}};
    const as_graph graph(links);
    CHECK(graph.as_count() == 7);
    CHECK(graph.link_count() == 5);
    CHECK(graph.adjacent(2, 1));
    CHECK_FALSE(graph.adjacent(1, 3));
    CHECK(graph.hops(1, 1, 5) == 0u);
    CHECK(graph.hops(1, 2, 5) == 1u);
    CHECK(graph.hops(1, 4, 5) == 3u);
    CHECK(graph.hops(5, 4, 5) == 3u);
    CHECK_FALSE(graph.hops(1, 4, 2));
    CHECK_FALSE(graph.hops(1, 7, 10));
    CHECK_FALSE(graph.hops(1, 99, 10));
    CHECK(graph.links().size() == 5);
}

TEST_CASE("AS hops on the real AS graph agree with a plain breadth-first search", "[graph]") {
    const auto data = load_source(nearcast::testing::shared_data("bgp/routeviews2-rib.20140523.0600.first9069.mrt.gz"));
    const as_graph graph(data.links);
    REQUIRE(graph.as_count() > 1000);
    std::vector<std::uint32_t> asns;
    for (const auto& link : data.links) asns.push_back(link.low);
    std::mt19937 random(7);
    for (int source = 0; source < 5; ++source) {
        const std::uint32_t from = asns[random() % asns.size()];
        const auto depths = plain_bfs(data.links, from);
        for (int i = 0; i < 200; ++i) {
            const std::uint32_t to = asns[random() % asns.size()];
            const auto expected = depths.find(to);
            INFO("from AS" << from << " to AS" << to);
            if (expected == depths.end() || expected->second > 8) {
                CHECK_FALSE(graph.hops(from, to, 8));
            } else {
                CHECK(graph.hops(from, to, 8) == expected->second);
            }
        }
    }
}
