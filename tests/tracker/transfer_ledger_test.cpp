// The origin offload the tracker shows: cumulative announce counters turned into sums, origin
// registrations with their served bytes, and the dashboard page that plots them.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "nearcast/tracker/transfer_ledger.hpp"
#include "tracker/server_fixtures.hpp"

using namespace nearcast;
using namespace nearcast::tracker;
using namespace nearcast::testing;

namespace {

const endpoint alice{proximity::ip_address::v4(0x7f0a0001), 7000};
const endpoint bob{proximity::ip_address::v4(0x7f140001), 7000};
const info_hash film = hash_of(1);

}  // namespace

TEST_CASE("announce counters add only what grew since a session's last report", "[transfer]") {
    transfer_ledger ledger;
    ledger.peer_report(alice, film, 0, 1000, false, false, 10);
    ledger.peer_report(alice, film, 500, 3000, false, false, 15);
    ledger.peer_report(bob, film, 0, 2000, false, false, 15);
    CHECK(ledger.totals().peers_downloaded == 5000);
    CHECK(ledger.totals().peers_uploaded == 500);
    // The same counters again (a second hash of the same session, a re-announce) add nothing.
    ledger.peer_report(alice, film, 500, 3000, false, false, 16);
    CHECK(ledger.totals().peers_downloaded == 5000);
    // A restarted client counts from zero again: all of its new figure is new.
    ledger.peer_report(alice, film, 0, 400, false, false, 20);
    CHECK(ledger.totals().peers_downloaded == 5400);
    // A stopped session is forgotten, its bytes stay counted.
    ledger.peer_report(bob, film, 0, 2500, false, true, 21);
    CHECK(ledger.sessions() == 1);
    CHECK(ledger.totals().peers_downloaded == 5900);
}

TEST_CASE("origin bytes come from registrations, or from origin announces when those say more", "[transfer]") {
    transfer_ledger ledger;
    ledger.peer_report(alice, film, 0, 10'000, false, false, 1);
    ledger.peer_report(bob, film, 3000, 99'999, true, false, 1);  // an origin: its downloads are replicas
    CHECK(ledger.totals().peers_downloaded == 10'000);
    CHECK(ledger.totals().origin_bytes() == 3000);
    ledger.origin_report("origin-a", 2000);
    ledger.origin_report("origin-a", 4000);
    ledger.origin_report("origin-a", 500);  // restarted
    CHECK(ledger.totals().origin_registered == 4500);
    CHECK(ledger.totals().origin_bytes() == 4500);
    CHECK(ledger.totals().origin_offload() == Approx(0.55));
    CHECK(transfer_totals{}.origin_offload() == 0);
}

TEST_CASE("the ledger stays bounded: idle sessions expire, sessions beyond the cap are not followed", "[transfer]") {
    transfer_ledger ledger(1, 3, 5);
    ledger.peer_report(alice, film, 0, 100, false, false, 10);
    ledger.peer_report(bob, film, 0, 100, false, false, 10);
    CHECK(ledger.sessions() == 1);
    CHECK(ledger.uncounted_sessions() == 1);
    ledger.expire(100, 30);
    CHECK(ledger.sessions() == 0);
    for (std::uint32_t second = 0; second < 40; ++second) ledger.sample(second);
    REQUIRE(ledger.series().size() == 3);
    CHECK(ledger.series().front().at_s == 25);
    CHECK(ledger.series().back().at_s == 35);
}

TEST_CASE("the dashboard is served at / and /dashboard, and /stats carries the origin offload", "[transfer][server]") {
    const std::string secret_file = temporary_path("ledger-admin.secret");
    std::ofstream(secret_file) << "an admin secret for the ledger test\n";
    tracker_process tracker({"--admin-secret-file", secret_file});
    for (const char* path : {"/", "/dashboard"}) {
        const std::string page = http_get(tracker.http_port, path);
        CHECK_THAT(page, Catch::StartsWith("HTTP/1.1 200"));
        CHECK_THAT(page, Catch::Contains("text/html"));
        CHECK_THAT(page, Catch::Contains("fetch(\"/stats\""));
        CHECK_THAT(page, !Catch::Contains("https://"));  // no outside assets
    }
    const auto post = [&](const std::string& served) {
        const std::string body = R"({"name": "origin-a", "endpoints": ["127.50.0.1:6881"], "items": [], "served_bytes": )" + served + "}";
        return http_exchange(tracker.http_port, "POST /origins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer an admin secret for the ledger test\r\n"
                                                "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    };
    CHECK_THAT(post("-5"), Catch::StartsWith("HTTP/1.1 400") && Catch::Contains("served_bytes"));
    CHECK_THAT(post("\"many\""), Catch::StartsWith("HTTP/1.1 400"));
    CHECK_THAT(post("1000"), Catch::StartsWith("HTTP/1.1 200"));
    std::string target = announce_target(film, 2, 7000, false);
    target.replace(target.find("downloaded=0"), 12, "downloaded=4000");
    CHECK_THAT(body_of(http_get(tracker.http_port, target)), Catch::StartsWith("d8:complete"));
    const auto stats = nlohmann::json::parse(body_of(http_get(tracker.http_port, "/stats")));
    const auto& transfer = stats.at("transfer");
    CHECK(transfer.at("peers_downloaded") == 4000);
    CHECK(transfer.at("origin_bytes") == 1000);
    CHECK(transfer.at("origin_offload").get<double>() == Approx(0.75));
    CHECK(transfer.at("series").size() >= 1);
    std::filesystem::remove(secret_file);
}
