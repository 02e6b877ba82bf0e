// The origin savings the tracker shows: finished downloads from announces, origin
// registrations with their served bytes, and the dashboard page that plots them.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "nearcast/tracker/transfer_ledger.hpp"
#include "tracker/server_fixtures.hpp"

using namespace nearcast;
using namespace nearcast::tracker;
using namespace nearcast::testing;

namespace {

const info_hash film = hash_of(1);

}  // namespace

TEST_CASE("a session's download counts once: when it completes, or when it stops before that", "[transfer]") {
    transfer_ledger ledger;
    ledger.peer_report(announce_event::started, 0, 5000);
    ledger.peer_report(announce_event::none, 3000, 2000);
    CHECK(ledger.totals().peers_downloaded == 0);
    ledger.peer_report(announce_event::completed, 5000, 0);
    ledger.peer_report(announce_event::stopped, 5000, 0);  // the seed leaves: counted already
    CHECK(ledger.totals().peers_downloaded == 5000);
    ledger.peer_report(announce_event::stopped, 1200, 3800);  // gave up part way
    CHECK(ledger.totals().peers_downloaded == 6200);
    CHECK(ledger.totals().downloads == 2);
    ledger.peer_report(announce_event::completed, 3000, 0, true);  // a supernode's cache fill
    CHECK(ledger.totals().peers_downloaded == 9200);
    CHECK(ledger.totals().cache_fill_bytes == 3000);
    CHECK(ledger.totals().cdn_bytes() == 6200);
}

TEST_CASE("origin bytes come from registrations; a figure that falls is a restarted origin", "[transfer]") {
    transfer_ledger ledger;
    ledger.peer_report(announce_event::completed, 10'000, 0);
    ledger.origin_report("origin-a", 2000);
    ledger.origin_report("origin-a", 4000);
    ledger.origin_report("origin-b", 300);
    ledger.origin_report("origin-a", 200);  // restarted
    CHECK(ledger.totals().origin_bytes == 4500);
    CHECK(ledger.totals().origin_savings() == Approx(0.55));
    CHECK(ledger.totals().peer_share_of_downloads() == Approx(0.55));
    CHECK(transfer_totals{}.origin_savings() == 0);
    // A supernode's cache fill: peers received more, but a CDN would not have sent it, so the
    // savings stay what they were while the share of received bytes grows.
    ledger.peer_report(announce_event::completed, 5000, 0, true);
    CHECK(ledger.totals().origin_savings() == Approx(0.55));
    CHECK(ledger.totals().peer_share_of_downloads() == Approx(0.7));
    ledger.origin_report("origin-b", 20'000);
    CHECK(ledger.totals().origin_savings() == Approx(1 - 24'200.0 / 10'000));  // the origins sent more than a CDN would
    CHECK(ledger.totals().peer_share_of_downloads() == 0);                     // clamped
}

TEST_CASE("the series keeps one point per interval, the newest ones", "[transfer]") {
    transfer_ledger ledger(3, 5);
    for (std::uint32_t second = 0; second < 40; ++second) ledger.sample(second);
    REQUIRE(ledger.series().size() == 3);
    CHECK(ledger.series().front().at_s == 25);
    CHECK(ledger.series().back().at_s == 35);
}

TEST_CASE("the dashboard is served at / and /dashboard, and /stats carries the origin savings", "[transfer][server]") {
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
    // A download completes: its session's 4000 bytes count; the same peer's next announce does not.
    std::string target = announce_target(film, 2, 7000, true) + "&event=completed";
    target.replace(target.find("downloaded=0"), 12, "downloaded=4000");
    CHECK_THAT(body_of(http_get(tracker.http_port, target)), Catch::StartsWith("d8:complete"));
    target.replace(target.find("&event=completed"), 16, "");
    CHECK_THAT(body_of(http_get(tracker.http_port, target)), Catch::StartsWith("d8:complete"));
    const auto stats = nlohmann::json::parse(body_of(http_get(tracker.http_port, "/stats")));
    const auto& transfer = stats.at("transfer");
    CHECK(transfer.at("peers_downloaded") == 4000);
    CHECK(transfer.at("origin_bytes") == 1000);
    CHECK(transfer.at("origin_savings").get<double>() == Approx(0.75));
    // A supernode's cache fill announced by our daemon (cache_fill=1 in its tracker URL): the
    // peers downloaded more, a CDN would not have sent it. A bad value is refused by name.
    std::string fill = announce_target(film, 3, 7001, true) + "&event=completed&cache_fill=1";
    fill.replace(fill.find("downloaded=0"), 12, "downloaded=6000");
    CHECK_THAT(body_of(http_get(tracker.http_port, fill)), Catch::StartsWith("d8:complete"));
    std::string bad = announce_target(film, 4, 7002, true) + "&cache_fill=yes";
    CHECK_THAT(body_of(http_get(tracker.http_port, bad)), Catch::Contains("cache_fill must be 0 or 1"));
    const auto after = nlohmann::json::parse(body_of(http_get(tracker.http_port, "/stats"))).at("transfer");
    CHECK(after.at("peers_downloaded") == 10'000);
    CHECK(after.at("cache_fill_bytes") == 6000);
    CHECK(after.at("cdn_bytes") == 4000);
    CHECK(after.at("origin_savings").get<double>() == Approx(0.75));
    CHECK(after.at("peer_share_of_downloads").get<double>() == Approx(0.9));
    CHECK(transfer.at("series").size() >= 1);
    std::filesystem::remove(secret_file);
}
