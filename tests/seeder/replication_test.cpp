// Rendezvous placement of replicas over the seeders.
#include <catch2/catch.hpp>

#include <cstdio>

#include "nearcast/seeder/replication.hpp"

using namespace nearcast::seeder;

namespace {

std::string item_hash(int n) {
    char text[41];
    std::snprintf(text, sizeof text, "%040x", n * 2654435761u);
    return text;
}

}  // namespace

TEST_CASE("every seeder computes the same homes, and a departed seeder moves only its own items", "[replication]") {
    const std::vector<std::string> four{"origin-a", "origin-b", "origin-c", "origin-d"};
    const std::vector<std::string> three{"origin-a", "origin-b", "origin-c"};
    std::map<std::string, int> load;
    int moved = 0;
    for (int n = 0; n < 2000; ++n) {
        const auto homes = homes_of(item_hash(n), four, 2);
        REQUIRE(homes.size() == 2);
        CHECK(homes[0] != homes[1]);
        // Order of the list does not matter.
        CHECK(homes_of(item_hash(n), {four[3], four[1], four[0], four[2]}, 2) == homes);
        for (const auto& home : homes) ++load[home];
        // Without origin-d, an item keeps each home it had other than origin-d.
        const auto without = homes_of(item_hash(n), three, 2);
        for (const auto& home : homes) {
            if (home != "origin-d") CHECK(std::find(without.begin(), without.end(), home) != without.end());
        }
        if (homes != without) ++moved;
    }
    // Each of four seeders is home to about half of the items (2 of 4 homes each).
    for (const auto& [seeder, count] : load) CHECK((count > 800 && count < 1200));
    CHECK((moved > 700 && moved < 1300));  // about the half of items that had origin-d as a home
}

TEST_CASE("a home that lacks an item fetches it from the fellows that hold it; others do not", "[replication]") {
    const std::string item = item_hash(7);
    const auto homes = homes_of(item, {"a", "b", "c"}, 2);
    std::string outsider;
    for (const char* name : {"a", "b", "c"}) {
        if (std::find(homes.begin(), homes.end(), name) == homes.end()) outsider = name;
    }
    // The outsider published it and is the only holder.
    for (const auto& home : homes) {
        std::vector<seeder_holdings> fellows;
        for (const char* name : {"a", "b", "c"}) {
            if (name != home) fellows.push_back({name, name == outsider ? std::set<std::string>{item} : std::set<std::string>{}});
        }
        const auto fetches = replicas_to_fetch(home, {}, fellows, 2);
        REQUIRE(fetches.size() == 1);
        CHECK(fetches[0].v1_hex == item);
        CHECK(fetches[0].sources == std::vector<std::string>{outsider});
        // Held already, or being fetched: nothing to do.
        CHECK(replicas_to_fetch(home, {item}, fellows, 2).empty());
    }
    std::vector<seeder_holdings> fellows_of_outsider;
    for (const auto& home : homes) fellows_of_outsider.push_back({home, {}});
    CHECK(replicas_to_fetch(outsider, {item}, fellows_of_outsider, 2).empty());
}

TEST_CASE("with one fellow and two replicas both seeders are homes of everything", "[replication]") {
    const auto fetches = replicas_to_fetch("b", {"x"}, {{"a", {"x", "y", "z"}}}, 2);
    REQUIRE(fetches.size() == 2);
    CHECK(fetches[0].v1_hex == "y");
    CHECK(fetches[1].v1_hex == "z");
    CHECK(replicas_to_fetch("b", {}, {{"a", {"y"}}}, 1).size() + replicas_to_fetch("a", {"y"}, {{"b", {}}}, 1).size() <= 1);
}
