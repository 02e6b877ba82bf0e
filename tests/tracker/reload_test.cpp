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

// A gzip file cut short after one whole line of `text`: the header, then a stored (uncompressed)
// deflate block that is not the last one, and nothing after it, as an interrupted copy leaves it.
std::string cut_gzip(const std::string& text) {
    std::string bytes("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    bytes += '\x00';  // BFINAL 0, BTYPE 00 (stored)
    const auto length = static_cast<std::uint16_t>(text.size());
    for (const std::uint16_t half : {length, static_cast<std::uint16_t>(~length)}) {
        bytes += static_cast<char>(half & 0xff);
        bytes += static_cast<char>(half >> 8);
    }
    return bytes + text;
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

TEST_CASE("SIGHUP keeps the old routing data when the new file is cut short; start-up reads up to the cut", "[server][reload]") {
    const std::string routing = temporary_path("reload-cut.gz");
    write_atomically(routing, "127.11.0.0/16\t64512\n");
    tracker_process tracker({"--data", routing});
    CHECK(peers_per_as_after_announce(tracker, 1, "127.11.0.5") == nlohmann::json{{"AS64512", 1}});

    // Whole lines before the cut would load (AS 65002), but a reload takes no partial data.
    write_atomically(routing, cut_gzip("127.11.0.0/16\t65002\n"));
    tracker.signal(SIGHUP);
    REQUIRE(log_says(tracker, "reload failed, keeping the old proximity data", 1));
    const std::string log = tracker.log();
    CHECK_THAT(log, Catch::Contains(routing + ": is cut short, so it is not used on a reload") &&
                        Catch::Contains("compressed byte offset"));
    CHECK_THAT(log, !Catch::Contains("proximity data reloaded"));
    CHECK(tracker.running());
    CHECK(peers_per_as_after_announce(tracker, 2, "127.11.0.6") == nlohmann::json{{"AS64512", 2}});
    tracker.stop();

    // At start-up the same file is read up to the cut, with a warning naming the offset.
    tracker_process fresh({"--data", routing});
    CHECK(peers_per_as_after_announce(fresh, 1, "127.11.0.5") == nlohmann::json{{"AS65002", 1}});
    CHECK_THAT(fresh.log(), Catch::Contains("cut off at compressed byte offset"));
    std::filesystem::remove(routing);
}
