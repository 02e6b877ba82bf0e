// Fresh routing data without a restart: the tracker reads its --data files again on SIGHUP,
// places peers with the new data as they announce, and keeps the old data when the new file
// is broken.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tracker/server_fixtures.hpp"

using namespace nearcast;
using namespace nearcast::testing;

namespace {

// Writes the file whole under another name, then renames it: the tracker never reads half.
void write_atomically(const std::string& path, const std::string& text) {
    std::ofstream(path + ".tmp") << text;
    std::filesystem::rename(path + ".tmp", path);
}

// Waits (at most 10 s) until the log has said `what` `count` times.
bool log_says(const tracker_process& tracker, const std::string& what, std::size_t count) {
    for (int waited = 0; waited < 200; ++waited) {
        const std::string log = tracker.log();
        std::size_t seen = 0;
        for (auto at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++seen;
        if (seen >= count) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

nlohmann::json peers_per_as_after_announce(const tracker_process& tracker, int peer, const std::string& source) {
    http_get(tracker.http_port, announce_target(hash_of(7), peer, 7000, false), "", "127.0.0.1", source);
    return nlohmann::json::parse(body_of(http_get(tracker.http_port, "/stats"))).at("peers_per_as");
}

}  // namespace

TEST_CASE("SIGHUP reloads the routing data: peers are placed anew, a broken file keeps the old data", "[server][reload]") {
    const std::string routing = temporary_path("reload.ipasn");
    write_atomically(routing, "127.10.0.0/16\t64512\n");
    tracker_process tracker({"--data", routing});
    CHECK(peers_per_as_after_announce(tracker, 1, "127.10.0.5") == nlohmann::json{{"AS64512", 1}});

    // The network changed hands: the same prefix is now announced by AS 65001.
    write_atomically(routing, "127.10.0.0/16\t65001\n");
    tracker.signal(SIGHUP);
    REQUIRE(log_says(tracker, "proximity data reloaded", 1));
    // The peer already there is placed again when it re-announces.
    CHECK(peers_per_as_after_announce(tracker, 1, "127.10.0.5") == nlohmann::json{{"AS65001", 1}});

    // A broken file: the reload fails, says why, and the tracker answers with the data it had.
    write_atomically(routing, "127.10.0.0/99\tnot-an-as\n");
    tracker.signal(SIGHUP);
    REQUIRE(log_says(tracker, "reload failed, keeping the old proximity data", 1));
    CHECK(tracker.running());
    CHECK(peers_per_as_after_announce(tracker, 2, "127.10.0.6") == nlohmann::json{{"AS65001", 2}});
    std::filesystem::remove(routing);
}
