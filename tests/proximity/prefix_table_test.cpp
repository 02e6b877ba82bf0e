#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "nearcast/proximity/loaders.hpp"
#include "nearcast/proximity/prefix_table.hpp"
#include "test_data.hpp"

using namespace nearcast::proximity;

namespace {

route make_route(const char* prefix, std::vector<std::uint32_t> origins) {
    return {*ip_prefix::parse(prefix), std::move(origins)};
}

// The obviously correct longest-prefix match: try every length present, longest first,
// in a hash map of exact prefixes.
class reference_table {
public:
    explicit reference_table(const std::vector<route>& routes) {
        for (std::size_t i = 0; i < routes.size(); ++i) {
            const ip_prefix& prefix = routes[i].prefix;
            auto& family = prefix.network.is_v4() ? v4_ : v6_;
            family.by_prefix[key(prefix)] = i;
            family.lengths[prefix.length] = true;
        }
    }

    std::optional<std::size_t> find(ip_address address) const {
        const auto& family = address.is_v4() ? v4_ : v6_;
        for (int length = static_cast<int>(address.width()); length >= 0; --length) {
            if (!family.lengths[static_cast<std::size_t>(length)]) continue;
            const auto found = family.by_prefix.find(key(ip_prefix::of(address, static_cast<unsigned>(length))));
            if (found != family.by_prefix.end()) return found->second;
        }
        return std::nullopt;
    }

private:
    struct prefix_key {
        uint128 bits;
        unsigned length;
        bool operator==(const prefix_key&) const = default;
    };
    struct hash_key {
        std::size_t operator()(const prefix_key& k) const {
            return std::hash<std::uint64_t>()(static_cast<std::uint64_t>(k.bits ^ (k.bits >> 64)) * 31 + k.length);
        }
    };
    static prefix_key key(const ip_prefix& prefix) {
        return {prefix.network.is_v4() ? uint128{prefix.network.v4_bits()} : prefix.network.v6_bits(), prefix.length};
    }
    struct family_table {
        std::unordered_map<prefix_key, std::size_t, hash_key> by_prefix;
        bool lengths[129] = {};
    };
    family_table v4_, v6_;
};

// Checks one address against the reference; returns false (with details) on a mismatch.
bool agrees(const prefix_table& table, const reference_table& reference, const std::vector<route>& routes,
            ip_address address) {
    const auto fast = table.lookup(address);
    const auto slow = reference.find(address);
    if (fast.has_value() != slow.has_value() || (slow && fast->prefix != routes[*slow].prefix)) {
        UNSCOPED_INFO("address " << address.to_string() << ": table says "
                                 << (fast ? fast->prefix.to_string() : "none") << ", reference says "
                                 << (slow ? routes[*slow].prefix.to_string() : "none"));
        return false;
    }
    if (slow) {
        const auto& expected = routes[*slow].origins;
        if (!std::equal(fast->origins.begin(), fast->origins.end(), expected.begin(), expected.end())) return false;
        if (table.origin_of(address) != expected.front()) return false;
    }
    return true;
}

std::size_t count_disagreements(const prefix_table& table, const reference_table& reference,
                                const std::vector<route>& routes, const std::vector<ip_address>& addresses) {
    std::size_t wrong = 0;
    for (const auto& address : addresses) {
        if (!agrees(table, reference, routes, address) && ++wrong > 10) break;
    }
    return wrong;
}

ip_address v4_at(std::uint64_t bits) { return ip_address::v4(static_cast<std::uint32_t>(bits)); }

}  // namespace

TEST_CASE("the most specific prefix wins and its origins come back in order", "[table]") {
    const std::vector<route> routes{
        make_route("0.0.0.0/0", {1}),      make_route("10.0.0.0/8", {10}),      make_route("10.1.0.0/16", {11, 12}),
        make_route("10.1.2.0/24", {12}),   make_route("10.1.2.128/25", {13}),   make_route("10.1.2.255/32", {14}),
        make_route("10.1.2.254/31", {15}), make_route("2001:db8::/32", {20}),   make_route("2001:db8:1::/48", {21}),
        make_route("2001:db8:1::1/128", {22}),
    };
    const prefix_table table(routes);
    const auto match = [&](const char* address) {
        const auto found = table.lookup(*ip_address::parse(address));
        return found ? found->prefix.to_string() : std::string("none");
    };
    CHECK(match("9.255.255.255") == "0.0.0.0/0");
    CHECK(match("10.0.0.0") == "10.0.0.0/8");
    CHECK(match("10.1.0.1") == "10.1.0.0/16");
    CHECK(match("10.1.2.127") == "10.1.2.0/24");
    CHECK(match("10.1.2.128") == "10.1.2.128/25");
    CHECK(match("10.1.2.253") == "10.1.2.128/25");
    CHECK(match("10.1.2.254") == "10.1.2.254/31");
    CHECK(match("10.1.2.255") == "10.1.2.255/32");
    CHECK(match("10.1.3.0") == "10.1.0.0/16");
    CHECK(match("2001:db8:1::1") == "2001:db8:1::1/128");
    CHECK(match("2001:db8:1::2") == "2001:db8:1::/48");
    CHECK(match("2001:db8:2::") == "2001:db8::/32");
    CHECK(match("2001:db9::") == "none");
    CHECK(match("::1") == "none");

    const auto multi = table.lookup(*ip_address::parse("10.1.9.9"));
    REQUIRE(multi);
    CHECK(std::vector<std::uint32_t>(multi->origins.begin(), multi->origins.end()) == std::vector<std::uint32_t>{11, 12});
    CHECK(table.origin_of(*ip_address::parse("10.1.9.9")) == 11);
    CHECK(table.origin_of(*ip_address::parse("2001:db9::")) == 0);
    CHECK(table.size() == routes.size());
    CHECK(table.routes().size() == routes.size());
}

TEST_CASE("an empty table finds nothing", "[table]") {
    const prefix_table table;
    CHECK_FALSE(table.lookup(*ip_address::parse("1.2.3.4")));
    CHECK_FALSE(table.lookup(*ip_address::parse("2001:db8::1")));
    CHECK(table.size() == 0);
}

TEST_CASE("a prefix given twice is refused", "[table]") {
    const std::vector<route> routes{make_route("10.0.0.0/8", {1}), make_route("10.0.0.0/8", {2})};
    CHECK_THROWS_WITH(prefix_table(routes), Catch::Contains("10.0.0.0/8"));
}

TEST_CASE("on the full IPv4 table longest-prefix match agrees with a reference on two million addresses",
          "[table][full]") {
    const std::vector<route> routes = load_source(nearcast::testing::shared_data("bgp/routeviews2-20140513.pfx2as.gz")).routes;
    REQUIRE(routes.size() == 512'621);
    const prefix_table table(routes);
    const reference_table reference(routes);

    std::mt19937_64 random(20140513);
    std::vector<ip_address> addresses;
    for (int i = 0; i < 1'000'000; ++i) addresses.push_back(v4_at(random()));
    // Boundaries: each prefix's first and last address and the addresses just outside.
    for (const route& item : routes) {
        const std::uint64_t first = item.prefix.network.v4_bits();
        const std::uint64_t last = first + ((std::uint64_t{1} << (32 - item.prefix.length)) - 1);
        addresses.push_back(v4_at(first));
        addresses.push_back(v4_at(last));
        if (first > 0) addresses.push_back(v4_at(first - 1));
        if (last < 0xffff'ffffu) addresses.push_back(v4_at(last + 1));
    }
    REQUIRE(addresses.size() >= 2'000'000);
    CHECK(count_disagreements(table, reference, routes, addresses) == 0);
}

TEST_CASE("on the full IPv6 table longest-prefix match agrees with a reference on two million addresses",
          "[table][full]") {
    std::vector<route> routes = load_source(nearcast::testing::shared_data("bgp/routeviews-20151101-v4v6.ipasn.gz")).routes;
    std::erase_if(routes, [](const route& item) { return item.prefix.network.is_v4(); });
    REQUIRE(routes.size() == 27'693);
    const prefix_table table(routes);
    const reference_table reference(routes);

    std::mt19937_64 random(20151101);
    const auto random_bits = [&] { return (uint128{random()} << 64) | random(); };
    std::vector<ip_address> addresses;
    for (int i = 0; i < 500'000; ++i) addresses.push_back(ip_address::v6((uint128{1} << 125) | (random_bits() >> 3)));
    // Random hosts inside random announced prefixes, where the nesting is.
    for (int i = 0; i < 500'000; ++i) {
        const ip_prefix& prefix = routes[random() % routes.size()].prefix;
        const uint128 host = prefix.length == 128 ? 0 : random_bits() >> prefix.length;
        addresses.push_back(ip_address::v6(prefix.network.v6_bits() | host));
    }
    // Boundaries: the first and last eighteen addresses of each prefix and the two just outside.
    for (const route& item : routes) {
        const uint128 first = item.prefix.network.v6_bits();
        const uint128 size_less_one = item.prefix.length == 0 ? ~uint128{0} : (uint128{1} << (128 - item.prefix.length)) - 1;
        const uint128 last = first + size_less_one;
        for (uint128 step = 0; step < 18; ++step) {
            addresses.push_back(ip_address::v6(first + step));
            addresses.push_back(ip_address::v6(last - step));
        }
        addresses.push_back(ip_address::v6(first - 1));
        addresses.push_back(ip_address::v6(last + 1));
    }
    REQUIRE(addresses.size() >= 2'000'000);
    CHECK(count_disagreements(table, reference, routes, addresses) == 0);
}
