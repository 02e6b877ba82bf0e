// Supernodes in nearcast-tracker: a daemon offers itself at GET /supernode, the tracker
// connects back to its port, elects it, flags it in its own announce answers and lists it
// first in its neighbours' answers; an unreachable candidate is never elected; a supernode that
// says it leaves is gone at once.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "server_fixtures.hpp"

using namespace nearcast::testing;
using nearcast::tracker::info_hash;

namespace {

std::string compact(const std::string& address, std::uint16_t port) {
    const auto bytes = boost::asio::ip::make_address_v4(address).to_bytes();
    std::string out(bytes.begin(), bytes.end());
    out += static_cast<char>(port >> 8);
    out += static_cast<char>(port & 0xff);
    return out;
}

nlohmann::json report(const tracker_process& tracker, const std::string& from, std::uint16_t port,
                      const std::string& extra = "&capacity=1000000") {
    return nlohmann::json::parse(
        body_of(http_get(tracker.http_port, "/supernode?port=" + std::to_string(port) + extra, "", "127.0.0.1", from)));
}

}  // namespace

TEST_CASE("a reachable daemon is elected supernode, flagged in its answers and listed first to its neighbours",
          "[server]") {
    tracker_process tracker({"--supernode-election-every", "1", "--supernode-min-uptime", "0", "--supernode-ratio", "2",
                             "--supernode-admission", "3", "--supernode-min-peers", "2"});
    // The candidate daemon really listens; the other offers a port nobody listens on.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor daemon(io, {boost::asio::ip::make_address("127.10.0.50"), 0});
    const auto daemon_port = daemon.local_endpoint().port();
    const std::uint16_t closed_port = 9;

    const info_hash hash = hash_of(0x5a);
    // Four peers of AS 64512 (127.10/16 and 127.11/16) in the swarm, so the AS is worth supernodes.
    for (int peer = 0; peer < 4; ++peer) {
        const std::string from = "127.10.1." + std::to_string(peer + 1);
        body_of(http_get(tracker.http_port, announce_target(hash, peer, 7000, false) + "&event=started", "", "127.0.0.1", from));
    }
    CHECK(report(tracker, "127.10.0.50", daemon_port)["role"] == "candidate");
    CHECK(report(tracker, "127.10.0.60", closed_port)["role"] == "candidate");
    CHECK(report(tracker, "127.10.0.70", daemon_port, "")["error"].get<std::string>().find("capacity") != std::string::npos);

    // Elections run every second; the connection back takes a moment.
    nlohmann::json answer;
    for (int waited = 0; waited < 100; ++waited) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        answer = report(tracker, "127.10.0.50", daemon_port);
        if (answer["role"] == "supernode") break;
    }
    REQUIRE(answer["role"] == "supernode");
    CHECK(answer["admission_limit"] == 3);
    CHECK(answer["as"] == 64512);
    CHECK(report(tracker, "127.10.0.60", closed_port)["role"] == "candidate");  // never elected: unreachable
    // The tracker publishes what is popular in the AS: the swarm the four peers started.
    REQUIRE(answer["popular"].size() == 1);
    CHECK(answer["popular"][0]["requests"] == 4);

    // The supernode's own announce says so, in a key ordinary clients ignore.
    const std::string own = body_of(http_get(tracker.http_port, announce_target(hash, 9, daemon_port, true), "",
                                             "127.0.0.1", "127.10.0.50"));
    CHECK_THAT(own, Catch::Contains("18:nearcast supernodei1e"));
    // A neighbour's answer lists the supernode first, even when it asks for one peer.
    const std::string neighbour = body_of(http_get(tracker.http_port, announce_target(hash, 5, 7000, false) + "&numwant=1",
                                                   "", "127.0.0.1", "127.11.0.9"));
    CHECK_THAT(neighbour, Catch::Contains("5:peers6:" + compact("127.10.0.50", daemon_port)));
    CHECK_THAT(neighbour, !Catch::Contains("nearcast supernode"));

    const auto stats = nlohmann::json::parse(body_of(http_get(tracker.http_port, "/stats")));
    REQUIRE(stats["supernodes"]["elected"].size() == 1);
    CHECK(stats["supernodes"]["elected"][0]["children"] == 1);
    CHECK(stats["supernodes"]["max_load_seen"].get<double>() <= 1.0);
    const auto popular = nlohmann::json::parse(body_of(http_get(tracker.http_port, "/popular?as=64512")));
    CHECK(popular["items"].size() == 1);
    CHECK_THAT(body_of(http_get(tracker.http_port, "/popular?as=many")), Catch::Contains("error"));

    // One that says it leaves is gone at once.
    CHECK(report(tracker, "127.10.0.50", daemon_port, "&leave=1")["role"] == "left");
    const auto after = nlohmann::json::parse(body_of(http_get(tracker.http_port, "/stats")));
    CHECK(after["supernodes"]["elected"].empty());
}

TEST_CASE("a daemon claiming 1,000 times the capacity is not elected over one whose announces show its upload",
          "[server]") {
    tracker_process tracker({"--supernode-election-every", "1", "--supernode-min-uptime", "0", "--supernode-min-peers", "2"});
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor honest(io, {boost::asio::ip::make_address("127.10.0.80"), 0});
    boost::asio::ip::tcp::acceptor liar(io, {boost::asio::ip::make_address("127.10.0.81"), 0});
    const auto honest_port = honest.local_endpoint().port(), liar_port = liar.local_endpoint().port();
    const info_hash hash = hash_of(0x6b);
    for (int peer = 0; peer < 4; ++peer) {
        const std::string from = "127.10.2." + std::to_string(peer + 1);
        body_of(http_get(tracker.http_port, announce_target(hash, peer, 7000, false) + "&event=started", "", "127.0.0.1", from));
    }
    // Both listen (the tracker checks); the honest one claims 2 MB/s and its announce says it
    // uploaded 200 MB, the liar claims 2 GB/s and has uploaded nothing.
    CHECK(report(tracker, "127.10.0.80", honest_port, "&capacity=2000000")["role"] == "candidate");
    CHECK(report(tracker, "127.10.0.81", liar_port, "&capacity=2000000000")["role"] == "candidate");
    std::string seeding = announce_target(hash, 8, honest_port, true);
    seeding.replace(seeding.find("uploaded=0"), 10, "uploaded=200000000");
    body_of(http_get(tracker.http_port, seeding, "", "127.0.0.1", "127.10.0.80"));

    // One supernode for the AS: the honest one, now and over the next rounds.
    bool elected = false;
    for (int waited = 0; waited < 100 && !elected; ++waited) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        elected = report(tracker, "127.10.0.80", honest_port, "&capacity=2000000")["role"] == "supernode";
    }
    REQUIRE(elected);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    CHECK(report(tracker, "127.10.0.81", liar_port, "&capacity=2000000000")["role"] == "candidate");
    CHECK(report(tracker, "127.10.0.80", honest_port, "&capacity=2000000")["role"] == "supernode");
}
