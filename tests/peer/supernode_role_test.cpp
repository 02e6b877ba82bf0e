// A daemon's supernode role as pure policy: capacity measured from its own byte counter,
// pre-fetch choices from its AS's popularity list, children admitted up to the limit, and the
// origin held back only while fellows hold every item still coming.
#include <catch2/catch.hpp>

#include "nearcast/peer/supernode_role.hpp"

using namespace nearcast::peer;

TEST_CASE("capacity is the best sustained upload rate measured, and nothing before a measurement") {
    capacity_meter meter(5.0);
    CHECK(meter.capacity() == 0);
    meter.observe(0, 0);
    meter.observe(1, 1'000'000);
    CHECK(meter.capacity() == 0);  // one second is no sustained rate
    // 1 MB/s for ten seconds, then idle: the capacity stays what was measured.
    for (int second = 2; second <= 10; ++second) meter.observe(second, static_cast<std::uint64_t>(second) * 1'000'000);
    CHECK(meter.capacity() == Approx(1e6));
    for (int second = 11; second <= 30; ++second) meter.observe(second, 10'000'000);
    CHECK(meter.capacity() == Approx(1e6));
    // A burst of 3 MB/s for five seconds raises it.
    for (int second = 31; second <= 36; ++second) meter.observe(second, 10'000'000 + static_cast<std::uint64_t>(second - 30) * 3'000'000);
    CHECK(meter.capacity() == Approx(3e6));
    // A counter that goes backwards (a restart) measures nothing.
    meter.observe(37, 0);
    CHECK(meter.capacity() == Approx(3e6));
}

TEST_CASE("a supernode pre-fetches the most requested items it lacks, at most the number asked") {
    const std::vector<popular_item> popular = {{"aa", 3}, {"bb", 9}, {"cc", 5}, {"dd", 1}, {"bb", 2}};
    const std::vector<std::string> none, bb = {"bb"};
    CHECK(prefetch_plan<std::string>(popular, none, 10) == std::vector<std::string>{"bb", "cc", "aa", "dd"});
    CHECK(prefetch_plan<std::string>(popular, bb, 2) == std::vector<std::string>{"cc", "aa"});
    CHECK(prefetch_plan<std::string>(popular, none, 10, 3) == std::vector<std::string>{"bb", "cc", "aa"});
    CHECK(prefetch_plan<std::string>(popular, none, 0).empty());
    // The simulator names items by number: the same plan.
    const std::vector<basic_popular_item<std::uint32_t>> numbered = {{1, 3}, {2, 9}, {3, 5}, {4, 1}, {2, 2}};
    const std::vector<std::uint32_t> held = {2, 4};
    CHECK(prefetch_plan<std::uint32_t>(numbered, held, 10) == std::vector<std::uint32_t>{3, 1});
}

TEST_CASE("children are admitted up to the limit, counted by address, and freed when they go") {
    child_admission admission;
    CHECK_FALSE(admission.admit("127.10.0.1"));  // no limit yet: not a supernode
    admission.set_limit(2);
    CHECK(admission.admit("127.10.0.1"));
    CHECK(admission.admit("127.10.0.1"));  // a second connection of the same child
    CHECK(admission.admit("127.10.0.2"));
    CHECK_FALSE(admission.admit("127.10.0.3"));
    CHECK(admission.children() == 2);
    CHECK(admission.refused() == 2);
    admission.release("127.10.0.1");
    CHECK_FALSE(admission.admit("127.10.0.3"));  // 127.10.0.1 still has a connection open
    admission.release("127.10.0.1");
    CHECK(admission.admit("127.10.0.3"));
    CHECK(admission.max_children_seen() == 2);
    admission.release("127.99.0.1");  // unknown: nothing happens
    CHECK(admission.children() == 2);
}

TEST_CASE("the origin is held back only while fellow supernodes hold or lead every item still coming") {
    const std::vector<std::string> downloading = {"a", "b"};
    const auto fellow = [](std::vector<std::string> holds, std::vector<std::string> fetching, bool leads) {
        return fellow_view{std::move(holds), std::move(fetching), leads};
    };
    CHECK_FALSE(hold_origin_back<std::string>(downloading, std::vector<fellow_view>{}));
    CHECK_FALSE(hold_origin_back<std::string>(downloading, std::vector<fellow_view>{fellow({"a"}, {}, false)}));
    CHECK(hold_origin_back<std::string>(downloading, std::vector<fellow_view>{fellow({"a"}, {}, false), fellow({"b", "c"}, {}, false)}));
    // A fellow fetching "b" too: it goes first only when it leads; else this one does.
    CHECK(hold_origin_back<std::string>(downloading, std::vector<fellow_view>{fellow({"a"}, {"b"}, true)}));
    CHECK_FALSE(hold_origin_back<std::string>(downloading, std::vector<fellow_view>{fellow({"a"}, {"b"}, false)}));
    CHECK_FALSE(hold_origin_back<std::string>({}, std::vector<fellow_view>{fellow({"a"}, {}, false)}));  // nothing coming: nothing to hold
    // The simulator names items by number: the same decision.
    const std::vector<std::uint32_t> numbered = {1, 2};
    using numbered_view = basic_fellow_view<std::uint32_t>;
    CHECK(hold_origin_back<std::uint32_t>(numbered, std::vector<numbered_view>{{{1}, {}, false}, {{2, 3}, {}, false}}));
    CHECK(hold_origin_back<std::uint32_t>(numbered, std::vector<numbered_view>{{{1}, {2}, true}}));
    CHECK_FALSE(hold_origin_back<std::uint32_t>(numbered, std::vector<numbered_view>{{{1}, {2}, false}}));
}
