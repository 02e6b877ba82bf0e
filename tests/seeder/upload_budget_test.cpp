// The long-tail-first upload policy.
#include <catch2/catch.hpp>

#include "nearcast/seeder/upload_budget.hpp"

using namespace nearcast::seeder;

TEST_CASE("swarms with enough seeds of their own share a small slice; the long tail gets the rest", "[budget]") {
    upload_budget_config config;
    config.upload_limit = 10'000'000;
    config.self_serving_share = 0.1;
    config.self_serving_seeds = 4;
    config.self_serving_floor = 1;
    const auto plan = plan_upload(config, {{1, 10, 50}, {2, 0, 3}, {3, 4, 0}, {4, 3, 100}});
    CHECK(plan.session_limit == 10'000'000);
    CHECK(plan.self_serving == 2);
    CHECK(plan.long_tail == 2);
    REQUIRE(plan.swarms.size() == 4);
    CHECK(plan.swarms[0].self_serving);
    CHECK(plan.swarms[0].upload_limit == 500'000);  // 10% of 10 MB/s, split over two swarms
    CHECK_FALSE(plan.swarms[1].self_serving);
    CHECK(plan.swarms[1].upload_limit == 0);  // no cap of its own: it takes what is left
    CHECK(plan.swarms[2].upload_limit == 500'000);
    CHECK_FALSE(plan.swarms[3].self_serving);  // three seeds are not enough
}

TEST_CASE("a swarm the tracker did not report on is served in full", "[budget]") {
    upload_budget_config config;
    config.upload_limit = 1'000'000;
    swarm_sources unknown{7, 100, 0, false};
    CHECK_FALSE(serves_itself(config, unknown));
    const auto plan = plan_upload(config, {unknown});
    CHECK(plan.long_tail == 1);
    CHECK(plan.swarms[0].upload_limit == 0);
}

TEST_CASE("with no long tail the self-serving swarms may use the whole budget", "[budget]") {
    upload_budget_config config;
    config.upload_limit = 1'000'000;
    config.self_serving_floor = 1;
    const auto plan = plan_upload(config, {{1, 9, 9}, {2, 9, 9}});
    CHECK(plan.swarms[0].upload_limit == 500'000);
}

TEST_CASE("each self-serving swarm keeps a floor, and without a budget a fixed cap", "[budget]") {
    upload_budget_config config;
    config.upload_limit = 100'000;
    config.self_serving_floor = 16'384;
    std::vector<swarm_sources> swarms{{1, 0, 1}};
    for (int i = 2; i < 100; ++i) swarms.push_back({i, 50, 1});
    const auto plan = plan_upload(config, swarms);
    CHECK(plan.swarms[1].upload_limit == 16'384);

    upload_budget_config unlimited;
    unlimited.upload_limit = 0;
    const auto open = plan_upload(unlimited, {{1, 50, 1}, {2, 0, 1}});
    CHECK(open.session_limit == 0);
    CHECK(open.swarms[0].upload_limit == unlimited.self_serving_cap_unlimited);
    CHECK(open.swarms[1].upload_limit == 0);
}

TEST_CASE("a threshold of zero seeds turns the rule off", "[budget]") {
    upload_budget_config config;
    config.upload_limit = 1'000'000;
    config.self_serving_seeds = 0;
    const auto plan = plan_upload(config, {{1, 1000, 0}});
    CHECK(plan.self_serving == 0);
}

TEST_CASE("the origin seeders that hold an item are not counted among its swarm's own seeds", "[budget]") {
    upload_budget_config config;
    config.self_serving_seeds = 3;
    CHECK_FALSE(serves_itself(config, {1, 4, 0, true, 2}));  // two of four seeds are origins
    CHECK(serves_itself(config, {1, 5, 0, true, 2}));
    CHECK(swarm_sources{1, 1, 0, true, 3}.own_seeds() == 0);
}
