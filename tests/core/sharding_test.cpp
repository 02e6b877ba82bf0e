#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "nearcast/core/sharding.hpp"

using namespace nearcast::core;

namespace {

std::vector<info_hash> random_hashes(std::size_t count) {
    std::mt19937_64 random(12);
    std::vector<info_hash> hashes(count);
    for (auto& hash : hashes) {
        for (auto& byte : hash) byte = static_cast<std::uint8_t>(random());
    }
    return hashes;
}

std::vector<std::string> trackers(int count) {
    std::vector<std::string> urls;
    for (int i = 1; i <= count; ++i) urls.push_back("udp://tracker-" + std::to_string(i) + ".example:6969/announce");
    return urls;
}

}  // namespace

TEST_CASE("every swarm has an owner and a different backup, spread evenly", "[sharding]") {
    const tracker_ring ring(trackers(5));
    std::map<std::string, int> owned;
    const auto hashes = random_hashes(20'000);
    for (const auto& hash : hashes) {
        const auto best = ring.owners(hash);
        REQUIRE(best.size() == 2);
        CHECK(best[0] != best[1]);
        ++owned[best[0]];
    }
    REQUIRE(owned.size() == 5);
    for (const auto& [tracker, count] : owned) CHECK((count > 3'600 && count < 4'400));  // 4,000 each
}

TEST_CASE("adding a tracker moves only the swarms it now owns", "[sharding]") {
    const tracker_ring before(trackers(4));
    const tracker_ring after(trackers(5));
    int moved = 0;
    const auto hashes = random_hashes(20'000);
    for (const auto& hash : hashes) {
        const auto old_owner = before.owners(hash, 1).front();
        const auto new_owner = after.owners(hash, 1).front();
        if (old_owner != new_owner) {
            ++moved;
            CHECK(new_owner == trackers(5).back());  // only to the newcomer
        }
    }
    CHECK((moved > 3'400 && moved < 4'600));  // about a fifth
}

TEST_CASE("the answer depends on the list, not its order, and tiers follow owners", "[sharding]") {
    auto shuffled = trackers(6);
    std::reverse(shuffled.begin(), shuffled.end());
    shuffled.push_back(shuffled.front());  // a duplicate
    const tracker_ring ring(trackers(6)), other(shuffled);
    for (const auto& hash : random_hashes(100)) {
        CHECK(ring.owners(hash, 3) == other.owners(hash, 3));
        const auto tiers = ring.announce_tiers(hash);
        REQUIRE(tiers.size() == 2);
        CHECK(tiers[0] == std::vector<std::string>{ring.owners(hash)[0]});
    }
    CHECK(tracker_ring({"http://only/announce"}).owners(random_hashes(1)[0]).size() == 1);
    CHECK_THROWS(tracker_ring({}));
}
