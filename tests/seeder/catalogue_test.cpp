// The seeder's catalogue and the torrents it makes, on real files and a real SQLite database.
#include <catch2/catch.hpp>

#include <libtorrent/torrent_info.hpp>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "nearcast/seeder/catalogue.hpp"
#include "nearcast/seeder/torrent_maker.hpp"
#include "nearcast/core/sharding.hpp"
#include "scratch.hpp"

namespace fs = std::filesystem;
namespace lt = libtorrent;
using namespace nearcast::seeder;
using nearcast::testing::scratch_folder;
using nearcast::testing::write_random_file;

namespace {

torrent_options two_trackers_and_a_web_seed() {
    torrent_options options;
    options.trackers = {"http://127.0.0.1:6969/announce", "udp://127.0.0.2:6969/announce", "http://127.0.0.3:6969/announce"};
    options.web_seed_bases = {"http://127.0.0.1:8080"};
    return options;
}

}  // namespace

TEST_CASE("a published file asked to be hybrid becomes one, with tracker tiers from the ring and a web seed", "[publish]") {
    scratch_folder folder("hybrid");
    write_random_file(folder.path / "film.bin", 3'000'000, 1);
    int last_progress = 0, pieces = 0;
    torrent_options hybrid = two_trackers_and_a_web_seed();
    hybrid.hybrid = true;
    const catalogue_item item = make_torrent(folder.path / "film.bin", hybrid, [&](int done, int all) {
        last_progress = done;
        pieces = all;
    });
    CHECK(item.name == "film.bin");
    CHECK(item.save_path == folder.path);
    CHECK(item.total_size == 3'000'000);
    CHECK(item.v1_hex.size() == 40);
    CHECK(item.v2_hex.size() == 64);
    CHECK(pieces > 0);
    CHECK(last_progress == pieces);

    const lt::torrent_info info(item.torrent, lt::from_span);
    CHECK(info.info_hashes().has_v1());
    CHECK(info.info_hashes().has_v2());
    // The ring's owner is tier 0 and its backup tier 1.
    nearcast::core::info_hash hash{};
    std::copy(info.info_hashes().v1.begin(), info.info_hashes().v1.end(), hash.begin());
    const auto owners = nearcast::core::tracker_ring(two_trackers_and_a_web_seed().trackers).owners(hash, 2);
    REQUIRE(info.trackers().size() == 2);
    CHECK(info.trackers()[0].url == owners[0]);
    CHECK(info.trackers()[0].tier == 0);
    CHECK(info.trackers()[1].url == owners[1]);
    CHECK(info.trackers()[1].tier == 1);
    REQUIRE(info.web_seeds().size() == 1);
    CHECK(info.web_seeds()[0].url == "http://127.0.0.1:8080/items/" + item.v1_hex + "/");
    CHECK_THAT(item.magnet, Catch::StartsWith("magnet:?xt=urn:btih:" + item.v1_hex) && Catch::Contains("urn:btmh:1220" + item.v2_hex));
}

TEST_CASE("by default a torrent is v1 only: no v2 hash, and a folder keeps its files", "[publish]") {
    scratch_folder folder("v1");
    fs::create_directories(folder.path / "album" / "disc 2");
    write_random_file(folder.path / "album" / "one.bin", 100'000, 2);
    write_random_file(folder.path / "album" / "disc 2" / "two.bin", 200'000, 3);
    torrent_options options;
    options.piece_length = 32 * 1024;
    const catalogue_item item = make_torrent(folder.path / "album", options);
    CHECK(item.v2_hex.empty());
    CHECK(item.name == "album");
    CHECK(item.file_count == 2);
    CHECK(item.total_size == 300'000);
    CHECK(item.piece_length == 32 * 1024);
    const lt::torrent_info info(item.torrent, lt::from_span);
    CHECK_FALSE(info.info_hashes().has_v2());
    CHECK(info.trackers().empty());
}

TEST_CASE("what cannot be published is refused with its name", "[publish]") {
    scratch_folder folder("refused");
    CHECK_THROWS_WITH(make_torrent(folder.path / "missing.bin", {}), Catch::Contains("missing.bin") && Catch::Contains("no such file"));
    fs::create_directories(folder.path / "empty");
    CHECK_THROWS_WITH(make_torrent(folder.path / "empty", {}), Catch::Contains("empty") && Catch::Contains("no files"));
    write_random_file(folder.path / "small.bin", 1000, 4);
    torrent_options odd;
    odd.piece_length = 20'000;
    CHECK_THROWS_WITH(make_torrent(folder.path / "small.bin", odd), Catch::Contains("power of two"));
}

TEST_CASE("the catalogue keeps items, blobs, holders and counters across reopening", "[catalogue]") {
    scratch_folder folder("catalogue");
    write_random_file(folder.path / "a.bin", 50'000, 5);
    write_random_file(folder.path / "b.bin", 70'000, 6);
    torrent_options hybrid = two_trackers_and_a_web_seed();
    hybrid.hybrid = true;  // found by its v2 hash too
    catalogue_item a = make_torrent(folder.path / "a.bin", hybrid);
    a.holders = {"seeder-2", "seeder-3"};
    const catalogue_item b = make_torrent(folder.path / "b.bin", {});
    const fs::path file = folder.path / "catalogue.db";
    std::int64_t a_id = 0, b_id = 0;
    {
        catalogue store(file);
        a_id = store.add(a);
        b_id = store.add(b);
        CHECK(a_id != b_id);
        CHECK_THROWS_WITH(store.add(a), Catch::Contains("already in the catalogue") && Catch::Contains("a.bin"));
        store.save_resume({{a_id, {'r', 'e', 's'}}});
        store.add_served(a_id, 1000, 2000);
        store.add_served(a_id, 1, 2);
    }
    catalogue store(file);
    CHECK(store.size() == 2);
    const auto found = store.find(a.v1_hex);
    REQUIRE(found);
    CHECK(found->id == a_id);
    CHECK(found->torrent == a.torrent);
    CHECK(found->resume == std::vector<char>{'r', 'e', 's'});
    CHECK(found->served_http == 1001);
    CHECK(found->served_bittorrent == 2002);
    CHECK(found->holders == std::vector<std::string>{"seeder-2", "seeder-3"});
    CHECK(found->magnet == a.magnet);
    CHECK(store.find(a.v2_hex)->id == a_id);
    CHECK(store.find(std::to_string(b_id))->name == "b.bin");
    CHECK(store.find("b.bin")->id == b_id);
    CHECK_FALSE(store.find("nothing-of-that-name"));

    const auto listed = store.all();
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].torrent.empty());  // blobs only when asked
    CHECK(listed[0].holders.size() == 2);
    CHECK(store.all(with_blobs::yes)[1].torrent == b.torrent);

    CHECK(store.remove(a_id));
    CHECK_FALSE(store.remove(a_id));
    CHECK(store.size() == 1);
}

TEST_CASE("another process's commit changes the change counter", "[catalogue]") {
    scratch_folder folder("counter");
    write_random_file(folder.path / "c.bin", 10'000, 7);
    const fs::path file = folder.path / "catalogue.db";
    catalogue daemon(file);
    const auto before = daemon.change_counter();
    CHECK(daemon.change_counter() == before);
    catalogue publisher(file);
    publisher.add(make_torrent(folder.path / "c.bin", {}));
    CHECK(daemon.change_counter() != before);
    CHECK(daemon.size() == 1);
}

TEST_CASE("a file that is not a nearcast catalogue is refused, naming it", "[catalogue]") {
    scratch_folder folder("foreign");
    const fs::path text = folder.path / "notes.txt";
    std::ofstream(text) << "this is not a database, only some words that go on for a while\n";
    CHECK_THROWS_WITH(catalogue(text), Catch::Contains("notes.txt"));

    const fs::path other = folder.path / "other.db";
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE songs (title TEXT)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    CHECK_THROWS_WITH(catalogue(other), Catch::Contains("other.db") && Catch::Contains("not a nearcast catalogue"));

    CHECK_THROWS_WITH(catalogue(folder.path / "no-such-folder" / "c.db"), Catch::Contains("no-such-folder"));
}

TEST_CASE("a process killed in the middle of adding items leaves whole items only", "[catalogue]") {
    scratch_folder folder("kill");
    write_random_file(folder.path / "d.bin", 20'000, 8);
    const catalogue_item template_item = make_torrent(folder.path / "d.bin", {});
    const fs::path file = folder.path / "catalogue.db";
    { catalogue create(file); }

    const pid_t child = fork();
    if (child == 0) {
        // Adds items as fast as it can until it is killed.
        catalogue store(file);
        for (int n = 0;; ++n) {
            catalogue_item item = template_item;
            char hex[41];
            std::snprintf(hex, sizeof hex, "%040x", n);
            item.v1_hex = hex;
            item.name = "item-" + std::to_string(n);
            store.add(item);
        }
    }
    catalogue watcher(file);
    for (int waited = 0; waited < 500 && watcher.size() < 50; ++waited) usleep(10'000);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);

    catalogue store(file);
    const auto items = store.all(with_blobs::yes);
    REQUIRE(items.size() >= 50);
    for (const auto& item : items) {
        // Every item that is there is whole: its torrent blob and its name agree with its number.
        CHECK(item.torrent == template_item.torrent);
        CHECK(item.name == "item-" + std::to_string(std::stoul(item.v1_hex, nullptr, 16)));
    }
    // And the numbers run without a gap: no committed item was lost.
    CHECK(std::stoul(items.back().v1_hex, nullptr, 16) == items.size() - 1);
}

TEST_CASE("a catalogue that cannot be opened says why, in words of what to do, not SQLite's", "[catalogue]") {
    scratch_folder folder("unopenable");
    const auto refusal = [](const fs::path& file) {
        try {
            catalogue opened(file);
        } catch (const catalogue_error& error) {
            return std::string(error.what());
        }
        return std::string("opened");
    };
    fs::create_directories(folder.path / "dir.db");
    CHECK_THAT(refusal(folder.path / "dir.db"),
               Catch::StartsWith((folder.path / "dir.db").string()) && Catch::Contains("it is a directory"));
    CHECK_THAT(refusal(folder.path / "missing" / "catalogue.db"), Catch::Contains("does not exist"));
    std::ofstream(folder.path / "plain") << "a file, not a folder\n";
    CHECK_THAT(refusal(folder.path / "plain" / "catalogue.db"), Catch::Contains("is not a folder"));
    CHECK_THAT(refusal(folder.path / "catalogue.db"), Catch::Equals("opened"));
    if (::geteuid() != 0) {  // root may write anywhere
        fs::create_directories(folder.path / "locked");
        fs::permissions(folder.path / "locked", fs::perms::owner_read | fs::perms::owner_exec);
        CHECK_THAT(refusal(folder.path / "locked" / "catalogue.db"), Catch::Contains("may not write"));
        fs::permissions(folder.path / "locked", fs::perms::owner_all);
    }
}
