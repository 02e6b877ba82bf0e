// Stateless BEP 15 connection IDs: SipHash-2-4 against the paper's vectors, then IDs that
// hold for one client for one to two rotations and for nobody else.
#include <catch2/catch.hpp>

#include <numeric>
#include <stdexcept>
#include <vector>

#include "nearcast/tracker/connection_ids.hpp"

using namespace nearcast;
using namespace nearcast::tracker;

namespace {

siphash_key counting_key(std::uint8_t first = 0) {
    siphash_key key{};
    std::iota(key.begin(), key.end(), first);
    return key;
}

std::uint64_t siphash_of_counting_message(std::size_t length) {
    std::vector<std::uint8_t> message(length);
    std::iota(message.begin(), message.end(), std::uint8_t{0});
    return siphash_2_4(counting_key(), message);
}

const endpoint alice{proximity::ip_address::v4(0x0a140001), 6881};

}  // namespace

TEST_CASE("SipHash-2-4 matches the reference vectors", "[connid]") {
    // Key 00..0f, message 00..(n-1), from the reference implementation's vectors.h.
    CHECK(siphash_of_counting_message(0) == 0x726fdb47dd0e0e31u);
    CHECK(siphash_of_counting_message(1) == 0x74f839c593dc67fdu);
    CHECK(siphash_of_counting_message(8) == 0x93f5f5799a932462u);
    // The example in the paper's appendix.
    CHECK(siphash_of_counting_message(15) == 0xa129ca6149be45e5u);
}

TEST_CASE("an ID is valid for the same client within its window", "[connid]") {
    const connection_ids ids(counting_key());
    const std::uint64_t issued_at = 1000;  // epoch 16 runs from 960 to 1019
    const std::uint64_t id = ids.issue(alice, issued_at);
    CHECK(ids.issue(alice, 960) == id);
    CHECK(ids.valid(id, alice, issued_at));
    CHECK(ids.valid(id, alice, 1019));
    CHECK(ids.valid(id, alice, 1079));  // the next epoch still accepts it
}

TEST_CASE("an ID is invalid after two rotations", "[connid]") {
    const connection_ids ids(counting_key());
    const std::uint64_t id = ids.issue(alice, 1019);
    CHECK(ids.valid(id, alice, 1020));
    CHECK_FALSE(ids.valid(id, alice, 1080));
    CHECK_FALSE(ids.valid(id, alice, 100000));
    CHECK(ids.issue(alice, 1080) != id);
}

TEST_CASE("an ID is invalid for another port, address or family", "[connid]") {
    const connection_ids ids(counting_key());
    const std::uint64_t id = ids.issue(alice, 1000);
    CHECK_FALSE(ids.valid(id, {alice.address, 6882}, 1000));
    CHECK_FALSE(ids.valid(id, {proximity::ip_address::v4(0x0a140002), 6881}, 1000));
    CHECK_FALSE(ids.valid(id, {proximity::ip_address::v6(0x0a140001), 6881}, 1000));
    CHECK_FALSE(ids.valid(id + 1, alice, 1000));
}

TEST_CASE("IPv6 clients get IDs of their own", "[connid]") {
    const connection_ids ids(counting_key());
    const endpoint bob{*proximity::ip_address::parse("2001:db8::b0b"), 51413};
    const endpoint carol{*proximity::ip_address::parse("2001:db8::ca01"), 51413};
    const std::uint64_t id = ids.issue(bob, 5);
    CHECK(ids.valid(id, bob, 5));
    CHECK_FALSE(ids.valid(id, carol, 5));
}

TEST_CASE("different secrets give different IDs", "[connid]") {
    const connection_ids first(counting_key(0));
    const connection_ids second(counting_key(1));
    const std::uint64_t id = first.issue(alice, 1000);
    CHECK(second.issue(alice, 1000) != id);
    CHECK_FALSE(second.valid(id, alice, 1000));
}

TEST_CASE("the rotation period is configurable and must not be zero", "[connid]") {
    const connection_ids ids(counting_key(), 10);
    const std::uint64_t id = ids.issue(alice, 0);
    CHECK(ids.valid(id, alice, 19));
    CHECK_FALSE(ids.valid(id, alice, 20));
    CHECK_THROWS_AS(connection_ids(counting_key(), 0), std::invalid_argument);
}

TEST_CASE("an ID from the first epoch checks without looking before time zero", "[connid]") {
    const connection_ids ids(counting_key());
    CHECK(ids.valid(ids.issue(alice, 0), alice, 0));
    CHECK_FALSE(ids.valid(0, alice, 0));
}
