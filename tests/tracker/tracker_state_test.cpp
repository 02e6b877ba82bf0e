// The tracker's rules end to end, without sockets: announces in, answers out, time passed in.
#include <algorithm>
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>

#include "nearcast/tracker/tracker_state.hpp"
#include "test_data.hpp"

using namespace nearcast;
using namespace nearcast::tracker;

namespace {

std::shared_ptr<const proximity::model> loopback_internet() {
    static const auto routing = std::make_shared<const proximity::model>(
        proximity::model::load({testing::source_file("proximity/data/loopback-internet.ipasn"),
                                testing::source_file("proximity/data/loopback-internet.as-rel")}));
    return routing;
}

info_hash hash_of(std::uint8_t n) {
    info_hash hash{};
    hash.fill(n);
    return hash;
}

endpoint at(const char* address, std::uint16_t port = 40000) { return {*proximity::ip_address::parse(address), port}; }

announce_request announce_of(const info_hash& hash, std::uint16_t port, bool seed = false) {
    announce_request request;
    request.hash = hash;
    request.port = port;
    request.left = seed ? 0 : 1000;
    return request;
}

constexpr std::uint64_t start_ms = 1'800'000'000'000;

tracker_config open_config() {
    tracker_config config;
    config.announce_rate = 0;
    return config;
}

announce_response answered(const std::variant<announce_response, tracker_failure>& result) {
    if (const auto* failure = std::get_if<tracker_failure>(&result)) FAIL("refused: " << failure->reason);
    return std::get<announce_response>(result);
}

std::string refusal(const std::variant<announce_response, tracker_failure>& result) {
    const auto* failure = std::get_if<tracker_failure>(&result);
    return failure ? failure->reason : std::string("(answered)");
}

}  // namespace

TEST_CASE("peers announce, see each other and leave", "[state]") {
    tracker_state state(open_config(), loopback_internet(), 1);
    const info_hash hash = hash_of(1);
    answered(state.announce(announce_of(hash, 6881, true), at("127.10.0.1"), start_ms));
    const auto second = answered(state.announce(announce_of(hash, 6882), at("127.20.0.1"), start_ms + 1000));
    REQUIRE(second.peers.size() == 1);
    CHECK(second.peers[0] == at("127.10.0.1", 6881));
    CHECK(second.complete == 1);
    CHECK(second.incomplete == 1);
    CHECK(second.interval == 1800);

    auto stop = announce_of(hash, 6881, true);
    stop.event = announce_event::stopped;
    answered(state.announce(stop, at("127.10.0.1"), start_ms + 2000));
    const auto after = answered(state.announce(announce_of(hash, 6882), at("127.20.0.1"), start_ms + 3000));
    CHECK(after.peers.empty());
    CHECK(after.complete == 0);
    const auto stats = state.stats(start_ms + 3000);
    CHECK(stats.swarms == 1);
    CHECK(stats.peers == 1);
    CHECK(stats.announces == 4);
}

TEST_CASE("peers that miss two intervals expire, and empty swarms go", "[state]") {
    tracker_config config = open_config();
    config.interval = 60;
    tracker_state state(config, loopback_internet(), 2);
    answered(state.announce(announce_of(hash_of(1), 1), at("127.10.0.1"), start_ms));
    answered(state.announce(announce_of(hash_of(2), 2), at("127.10.0.2"), start_ms + 100'000));
    state.expire(start_ms + 119'000);
    CHECK(state.stats(start_ms + 119'000).peers == 2);
    state.expire(start_ms + 121'000);  // the first missed two 60 s intervals
    CHECK(state.stats(start_ms + 121'000).peers == 1);
    CHECK(state.stats(start_ms + 121'000).swarms == 1);
    state.expire(start_ms + 221'000);
    CHECK(state.stats(start_ms + 221'000).swarms == 0);
}

TEST_CASE("completed downloads are counted for scrape", "[state]") {
    tracker_state state(open_config(), loopback_internet(), 3);
    const info_hash hash = hash_of(3);
    answered(state.announce(announce_of(hash, 1), at("127.10.0.1"), start_ms));
    auto done = announce_of(hash, 1, true);
    done.event = announce_event::completed;
    answered(state.announce(done, at("127.10.0.1"), start_ms + 1000));
    answered(state.announce(announce_of(hash, 2), at("127.10.0.2"), start_ms + 1000));
    scrape_request request;
    request.hashes = {hash, hash_of(99)};
    const auto result = std::get<scrape_response>(state.scrape(request, at("127.10.0.9"), start_ms + 2000));
    REQUIRE(result.files.size() == 1);  // an unknown hash is left out (BEP 48)
    CHECK(result.files[0].complete == 1);
    CHECK(result.files[0].incomplete == 1);
    CHECK(result.files[0].downloaded == 1);
    CHECK(std::holds_alternative<tracker_failure>(state.scrape({}, at("127.10.0.9"), start_ms)));
}

TEST_CASE("an announce from the address itself is accepted whatever key it sends, as aria2c sends a new one each time",
          "[state]") {
    tracker_state state(open_config(), loopback_internet(), 4);
    auto first = announce_of(hash_of(4), 6881);
    first.key = 0xabcdef;
    answered(state.announce(first, at("127.10.0.1"), start_ms));
    auto again = first;
    again.key = 0x123;  // a fresh random key, as aria2c 1.36 sends in every UDP announce
    again.event = announce_event::none;
    answered(state.announce(again, at("127.10.0.1"), start_ms + 1));
    again.key.reset();  // and a client that sends none
    answered(state.announce(again, at("127.10.0.1"), start_ms + 2));
    CHECK(state.stats(start_ms).peers == 1);
    auto stopped = first;
    stopped.key = 0x456;
    stopped.event = announce_event::stopped;
    answered(state.announce(stopped, at("127.10.0.1"), start_ms + 3));
    CHECK(state.stats(start_ms).peers == 0);
}

TEST_CASE("an address claimed through a trusted proxy needs the key it was last announced with", "[state]") {
    tracker_config config = open_config();
    config.trusted_proxies = {*proximity::ip_prefix::parse("127.99.0.0/16")};
    tracker_state state(config, loopback_internet(), 4);
    auto first = announce_of(hash_of(5), 6881);
    first.key = 0xabcdef;
    answered(state.announce(first, at("127.10.0.1"), start_ms));
    // Somebody behind the proxy names the peer's address: without its key they change nothing,
    // not even with event=started.
    auto intruder = first;
    intruder.claimed_ip = *proximity::ip_address::parse("127.10.0.1");
    intruder.key = 0x7777;
    for (const auto event : {announce_event::stopped, announce_event::started, announce_event::none}) {
        intruder.event = event;
        CHECK_THAT(refusal(state.announce(intruder, at("127.99.0.1"), start_ms + 1)), Catch::Contains("key does not match"));
    }
    intruder.key.reset();
    intruder.event = announce_event::stopped;
    CHECK_THAT(refusal(state.announce(intruder, at("127.99.0.1"), start_ms + 2)), Catch::Contains("key does not match"));
    CHECK(state.stats(start_ms).peers == 1);
    // The peer restarted with a new key, from its own address: the proxy now needs that key.
    auto restarted = first;
    restarted.key = 0x5151;
    restarted.event = announce_event::started;
    answered(state.announce(restarted, at("127.10.0.1"), start_ms + 3));
    auto old_key = first;
    old_key.claimed_ip = intruder.claimed_ip;
    old_key.event = announce_event::stopped;
    CHECK_THAT(refusal(state.announce(old_key, at("127.99.0.1"), start_ms + 4)), Catch::Contains("key does not match"));
    auto owner = restarted;
    owner.claimed_ip = intruder.claimed_ip;
    owner.event = announce_event::stopped;
    answered(state.announce(owner, at("127.99.0.1"), start_ms + 5));
    CHECK(state.stats(start_ms).peers == 0);
}

TEST_CASE("the ip parameter counts only from a trusted proxy", "[state]") {
    tracker_config config = open_config();
    config.trusted_proxies = {*proximity::ip_prefix::parse("127.99.0.0/16")};
    tracker_state state(config, loopback_internet(), 5);
    auto request = announce_of(hash_of(5), 6881);
    request.claimed_ip = *proximity::ip_address::parse("127.30.0.7");
    answered(state.announce(request, at("127.10.0.1"), start_ms));   // ignored: not a proxy
    answered(state.announce(request, at("127.99.0.1"), start_ms));   // honoured
    const auto seen = answered(state.announce(announce_of(hash_of(5), 1), at("127.20.0.1"), start_ms));
    std::set<std::string> addresses;
    for (const auto& where : seen.peers) addresses.insert(where.address.to_string());
    CHECK(addresses == std::set<std::string>{"127.10.0.1", "127.30.0.7"});
}

TEST_CASE("an address that announces too often is refused until its bucket refills", "[state]") {
    tracker_config config;
    config.announce_rate = 2;
    config.announce_burst = 5;
    tracker_state state(config, loopback_internet(), 6);
    int allowed = 0;
    for (int i = 0; i < 20; ++i) {
        allowed += std::holds_alternative<announce_response>(
            state.announce(announce_of(hash_of(6), 6881), at("127.10.0.1"), start_ms));
    }
    CHECK(allowed == 5);
    CHECK_THAT(refusal(state.announce(announce_of(hash_of(6), 6881), at("127.10.0.1"), start_ms)),
               Catch::Contains("rate limit"));
    // Another address is not affected; after a second, two more are allowed.
    answered(state.announce(announce_of(hash_of(6), 6882), at("127.10.0.2"), start_ms));
    answered(state.announce(announce_of(hash_of(6), 6881), at("127.10.0.1"), start_ms + 1000));
    answered(state.announce(announce_of(hash_of(6), 6881), at("127.10.0.1"), start_ms + 1000));
    CHECK(std::holds_alternative<tracker_failure>(
        state.announce(announce_of(hash_of(6), 6881), at("127.10.0.1"), start_ms + 1000)));
}

TEST_CASE("limits on swarms and peers per swarm bound memory without crashing", "[state]") {
    tracker_config config = open_config();
    config.max_swarms = 3;
    config.max_peers_per_swarm = 2;
    tracker_state state(config, loopback_internet(), 7);
    for (std::uint8_t i = 1; i <= 3; ++i) answered(state.announce(announce_of(hash_of(i), 1), at("127.10.0.1"), start_ms));
    CHECK_THAT(refusal(state.announce(announce_of(hash_of(4), 1), at("127.10.0.1"), start_ms)), Catch::Contains("full"));
    answered(state.announce(announce_of(hash_of(1), 2), at("127.10.0.2"), start_ms));
    const auto third = answered(state.announce(announce_of(hash_of(1), 3), at("127.10.0.3"), start_ms));
    CHECK_THAT(third.warning, Catch::Contains("swarm is full"));
    CHECK(third.peers.size() == 2);
    CHECK(state.stats(start_ms).peers == 4);
}

TEST_CASE("a hybrid torrent's v1 and v2 hashes are one swarm once registered", "[state]") {
    tracker_state state(open_config(), loopback_internet(), 8);
    const info_hash v1 = hash_of(0x11), v2 = hash_of(0x22);
    state.register_origin({"origin-a", {at("127.40.0.1", 6881)}, {{v1, v2}}}, start_ms);
    answered(state.announce(announce_of(v1, 1, true), at("127.10.0.1"), start_ms));
    answered(state.announce(announce_of(v1, 2, true), at("127.10.0.2"), start_ms));
    const auto via_v2 = answered(state.announce(announce_of(v2, 3), at("127.10.0.3"), start_ms));
    CHECK(via_v2.complete == 2);
    CHECK(via_v2.peers.size() == 2);
}

TEST_CASE("the origin backstop on the tracker: thin neighbourhoods get origins, served ones do not", "[state]") {
    tracker_state state(open_config(), loopback_internet(), 9);
    const info_hash item = hash_of(0x33);
    state.register_origin({"origin-a", {at("127.40.0.1", 6881), at("127.50.0.1", 6881)}, {{item, {}}}}, start_ms);
    // The origin also announces like any seeder; it must not count as the neighbourhood.
    answered(state.announce(announce_of(item, 6881, true), at("127.40.0.1"), start_ms));
    const auto lonely = answered(state.announce(announce_of(item, 7000), at("127.10.0.5"), start_ms));
    std::set<std::string> seen;
    for (const auto& where : lonely.peers) seen.insert(where.address.to_string());
    CHECK(seen == std::set<std::string>{"127.40.0.1", "127.50.0.1"});

    answered(state.announce(announce_of(item, 7001, true), at("127.10.0.6"), start_ms));
    answered(state.announce(announce_of(item, 7002, true), at("127.20.0.6"), start_ms));
    const auto served = answered(state.announce(announce_of(item, 7000), at("127.10.0.5"), start_ms));
    seen.clear();
    for (const auto& where : served.peers) seen.insert(where.address.to_string());
    CHECK(seen == std::set<std::string>{"127.10.0.6", "127.20.0.6"});

    // Registrations lapse unless renewed.
    state.expire(start_ms + std::uint64_t{state.config().origin_ttl} * 1000 + 1);
    CHECK(state.stats(start_ms).origins == 0);
}

TEST_CASE("an origin that announced before it registered is no ordinary seed from its registration on", "[state]") {
    tracker_state state(open_config(), loopback_internet(), 11);
    const info_hash item = hash_of(0x34);
    // Origins announce as seeders when they start serving and register a moment later. This
    // one sits in AS 64514, two hops from the downloader's AS 64512.
    answered(state.announce(announce_of(item, 6881, true), at("127.30.0.1"), start_ms));
    state.register_origin({"origin-a", {at("127.30.0.1", 6881)}, {{item, {}}}}, start_ms);
    // Two near seeds serve the swarm: the origin is left out, and not handed out as a seed.
    answered(state.announce(announce_of(item, 7001, true), at("127.10.0.6"), start_ms));
    answered(state.announce(announce_of(item, 7002, true), at("127.20.0.6"), start_ms));
    const auto served = answered(state.announce(announce_of(item, 7000), at("127.10.0.5"), start_ms));
    std::set<std::string> seen;
    for (const auto& where : served.peers) seen.insert(where.address.to_string());
    CHECK(seen == std::set<std::string>{"127.10.0.6", "127.20.0.6"});
    // With one near seed the origin comes in by the rule, once.
    auto leaving = announce_of(item, 7002, true);
    leaving.event = announce_event::stopped;
    answered(state.announce(leaving, at("127.20.0.6"), start_ms));
    const auto thin = answered(state.announce(announce_of(item, 7000), at("127.10.0.5"), start_ms));
    CHECK(std::count_if(thin.peers.begin(), thin.peers.end(), [](const auto& where) { return where.address.to_string() == "127.30.0.1"; }) == 1);
    // Its next announce is given no peers (it would connect to every leecher itself).
    CHECK(answered(state.announce(announce_of(item, 6881, true), at("127.30.0.1"), start_ms)).peers.empty());
}

TEST_CASE("closed mode tracks only registered content and needs a valid token", "[state]") {
    tracker_config config = open_config();
    config.closed = true;
    const access_tokens tokens("a secret of at least sixteen bytes");
    tracker_state state(config, loopback_internet(), 10, tokens);
    const info_hash item = hash_of(0x44);
    state.register_origin({"origin-a", {at("127.40.0.1", 6881)}, {{item, {}}}}, start_ms);
    const std::uint64_t now_s = start_ms / 1000;

    auto request = announce_of(item, 7000);
    CHECK_THAT(refusal(state.announce(request, at("127.10.0.5"), start_ms)), Catch::Contains("token is required"));
    request.access_token = tokens.issue("alice", now_s + 3600);
    answered(state.announce(request, at("127.10.0.5"), start_ms));
    request.access_token = tokens.issue("alice", now_s - 1);
    CHECK_THAT(refusal(state.announce(request, at("127.10.0.5"), start_ms)), Catch::Contains("expired"));
    request.access_token = access_tokens("another secret, sixteen bytes").issue("alice", now_s + 3600);
    CHECK_THAT(refusal(state.announce(request, at("127.10.0.5"), start_ms)), Catch::Contains("signature"));
    request = announce_of(hash_of(0x45), 7000);
    request.access_token = tokens.issue("alice", now_s + 3600);
    CHECK_THAT(refusal(state.announce(request, at("127.10.0.5"), start_ms)), Catch::Contains("unregistered"));
}

TEST_CASE("access tokens refuse tampering, bad subjects and short secrets", "[tokens]") {
    const access_tokens tokens("0123456789abcdef");
    const std::string good = tokens.issue("bob_1", 2000);
    CHECK_FALSE(tokens.refusal(good, 1999));
    CHECK(tokens.refusal(good, 2001) == std::optional<std::string>("access token expired"));
    std::string tampered = good;
    tampered[0] = 'c';
    CHECK(tokens.refusal(tampered, 1000));
    std::string longer = good;
    longer.replace(good.find('.') + 1, 4, "9000");
    CHECK(tokens.refusal(longer, 1000));
    for (const char* bad : {"", "x", "a.b", "a.1.", "..", "a b.1.00", "a.1x.00"}) CHECK(tokens.refusal(bad, 0));
    CHECK(access_tokens::subject_of(good) == "bob_1");
    CHECK_THROWS(tokens.issue("no spaces", 1));
    CHECK_THROWS(access_tokens("short"));
}

TEST_CASE("a swarm agrees with a plain map through a million random changes", "[swarm]") {
    swarm members;
    std::map<std::pair<std::uint64_t, std::uint16_t>, bool> reference;
    std::mt19937_64 random(11);
    for (int step = 0; step < 1'000'000; ++step) {
        peer_record record = record_for({proximity::ip_address::v4(static_cast<std::uint32_t>(random() % 500)),
                                         static_cast<std::uint16_t>(1 + random() % 4)});
        const auto key = std::make_pair(record.address_low, record.port);
        const auto action = random() % 10;
        if (action < 6) {
            if (random() % 2) record.flags |= peer_record::flag_seed;
            members.upsert(record);
            reference[key] = record.seed();
        } else if (action < 9) {
            CHECK(members.remove(record) == (reference.erase(key) == 1));
        } else {
            const peer_record* found = members.find(record);
            const auto expected = reference.find(key);
            REQUIRE((found != nullptr) == (expected != reference.end()));
            if (found) CHECK(found->seed() == expected->second);
        }
        if (step % 100'000 == 0) {
            REQUIRE(members.size() == reference.size());
            std::uint32_t seeds = 0;
            for (const auto& [k, seed] : reference) seeds += seed;
            CHECK(members.seeders() == seeds);
        }
    }
    REQUIRE(members.size() == reference.size());
    for (const auto& [key, seed] : reference) {
        peer_record probe = record_for({proximity::ip_address::v4(static_cast<std::uint32_t>(key.first)), key.second});
        REQUIRE(members.find(probe));
    }
}
