// Reading what the user asked for: every bad input is refused with its name and the fault.
#include <catch2/catch.hpp>

#include <libtorrent/create_torrent.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/torrent_info.hpp>

#include <filesystem>
#include <fstream>

#include "nearcast/peer/item_source.hpp"

using namespace nearcast::peer;

namespace {

std::string message_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const item_error& error) {
        return error.what();
    }
    return "no error";
}

std::string small_torrent() {
    lt::file_storage files;
    files.add_file("clip.bin", 40000);
    lt::create_torrent maker(files, 16384, lt::create_torrent::v1_only);
    for (int piece = 0; piece < 3; ++piece) maker.set_hash(lt::piece_index_t(piece), lt::sha1_hash("01234567890123456789"));
    maker.add_tracker("http://127.0.0.1:6969/announce");
    std::string bytes;
    lt::bencode(std::back_inserter(bytes), maker.generate());
    return bytes;
}

}  // namespace

TEST_CASE("an item is a magnet link, an http(s) URL or a file") {
    CHECK(kind_of("magnet:?xt=urn:btih:0123") == item_kind::magnet);
    CHECK(kind_of("http://127.0.0.1/a.torrent") == item_kind::url);
    CHECK(kind_of("https://example.org/a.torrent") == item_kind::url);
    CHECK(kind_of("film.torrent") == item_kind::torrent_file);
}

TEST_CASE("a valid torrent is read with its name and tracker") {
    const auto params = params_from_torrent(small_torrent(), "clip.torrent");
    REQUIRE(params.ti);
    CHECK(params.ti->name() == "clip.bin");
    CHECK(params.ti->num_pieces() == 3);
}

TEST_CASE("a corrupt or truncated torrent is refused with its name") {
    const std::string torrent = small_torrent();
    CHECK(message_of([&] { params_from_torrent(torrent.substr(0, torrent.size() / 2), "half.torrent"); })
              .starts_with("half.torrent: not a valid .torrent file"));
    CHECK(message_of([] { params_from_torrent("<html>not found</html>", "page.torrent"); })
              .starts_with("page.torrent: not a .torrent file"));
    CHECK(message_of([] { params_from_torrent("", "empty.torrent"); }) == "empty.torrent: empty, not a .torrent file");
    CHECK(message_of([] { params_from_torrent("d4:infoi3ee", "info.torrent"); }).starts_with("info.torrent: not a valid"));
}

TEST_CASE("a missing torrent file is named") {
    CHECK(message_of([] { params_from_torrent_file("/nonexistent/film.torrent"); })
              .starts_with("/nonexistent/film.torrent: no such file"));
}

TEST_CASE("a bad magnet link is refused and named") {
    CHECK(message_of([] { params_from_magnet("magnet:?dn=film"); }).starts_with("bad magnet link 'magnet:?dn=film'"));
    CHECK(message_of([] { params_from_magnet("magnet:?xt=urn:btih:zz"); }).starts_with("bad magnet link"));
    const auto good = params_from_magnet("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=film");
    CHECK(good.info_hashes.has_v1());
    CHECK(good.name == "film");
}

TEST_CASE("a file:// URL, as a desktop hands over a local .torrent, names the file it points to") {
    CHECK(local_path("file:///home/alice/Downloads/film%20one.torrent") == "/home/alice/Downloads/film one.torrent");
    CHECK(local_path("file://localhost/tmp/a.torrent") == "/tmp/a.torrent");
    CHECK(local_path("/tmp/plain.torrent") == "/tmp/plain.torrent");
    CHECK(local_path("relative.torrent") == "relative.torrent");
    CHECK_THROWS_AS(local_path("file://otherhost/tmp/a.torrent"), item_error);
    CHECK_THROWS_AS(local_path("file:///tmp/a%00b.torrent"), item_error);
    CHECK_THROWS_WITH(read_torrent_file("file:///nonexistent/x.torrent"), Catch::Contains("/nonexistent/x.torrent: no such file"));
}
