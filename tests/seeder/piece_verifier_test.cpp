// The web seed's check of pieces against their hashes, on real torrents and files.
#include <catch2/catch.hpp>

#include <fstream>

#include "nearcast/seeder/piece_verifier.hpp"
#include "nearcast/seeder/torrent_maker.hpp"
#include "scratch.hpp"

namespace fs = std::filesystem;
namespace lt = libtorrent;
using namespace nearcast::seeder;
using nearcast::testing::scratch_folder;
using nearcast::testing::write_random_file;

namespace {

std::shared_ptr<const lt::torrent_info> info_of(const catalogue_item& item) {
    return std::make_shared<const lt::torrent_info>(item.torrent, lt::from_span);
}

void flip_byte(const fs::path& file, std::uint64_t offset) {
    std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(offset));
    char byte = 0;
    io.get(byte);
    io.seekp(static_cast<std::streamoff>(offset));
    io.put(static_cast<char>(byte ^ 0x5a));
}

}  // namespace

TEST_CASE("a flipped byte fails the piece under it, only that piece, until the file is put right", "[verify]") {
    scratch_folder folder("verify");
    write_random_file(folder.path / "clip.bin", 1'000'000, 9);
    torrent_options options;
    options.piece_length = 64 * 1024;
    const catalogue_item item = make_torrent(folder.path / "clip.bin", options);
    piece_verifier verifier(info_of(item), folder.path);

    auto first = verifier.verify("clip.bin", 0, 999'999);
    CHECK(first.whole);
    CHECK(first.pieces_hashed == 16);
    CHECK(verifier.verify("clip.bin", 0, 999'999).pieces_hashed == 0);  // trusted once checked

    flip_byte(folder.path / "clip.bin", 300'000);  // in piece 4 (262,144 to 327,679)
    const auto damaged = verifier.verify("clip.bin", 0, 999'999);
    CHECK_FALSE(damaged.whole);
    CHECK(damaged.bad_pieces == std::vector<int>{4});
    CHECK(verifier.verify("clip.bin", 0, 200'000).whole);       // ranges clear of it still serve
    CHECK_FALSE(verifier.verify("clip.bin", 299'000, 299'100).whole);

    flip_byte(folder.path / "clip.bin", 300'000);  // the repair writes the right byte back
    CHECK(verifier.verify("clip.bin", 0, 999'999).whole);
}

TEST_CASE("files of a hybrid folder torrent are checked by their path inside the item", "[verify]") {
    scratch_folder folder("verify-folder");
    fs::create_directories(folder.path / "set" / "part two");
    write_random_file(folder.path / "set" / "a.bin", 100'000, 10);
    write_random_file(folder.path / "set" / "part two" / "b.bin", 150'000, 11);
    torrent_options options;
    options.piece_length = 16 * 1024;
    const catalogue_item item = make_torrent(folder.path / "set", options);
    piece_verifier verifier(info_of(item), folder.path);
    CHECK(verifier.verify("set/a.bin", 0, 99'999).whole);
    CHECK(verifier.verify("set/part two/b.bin", 0, 149'999).whole);
    flip_byte(folder.path / "set" / "part two" / "b.bin", 149'999);
    CHECK_FALSE(verifier.verify("set/part two/b.bin", 149'000, 149'999).whole);
    CHECK(verifier.verify("set/a.bin", 0, 99'999).whole);
    // Names the torrent does not list, and ranges past the end, are never whole.
    CHECK_FALSE(verifier.verify("set/c.bin", 0, 10).whole);
    CHECK_FALSE(verifier.verify("set/a.bin", 0, 100'000).whole);
}

TEST_CASE("a file cut short on disk fails the pieces it no longer holds", "[verify]") {
    scratch_folder folder("verify-short");
    write_random_file(folder.path / "cut.bin", 200'000, 12);
    torrent_options options;
    options.piece_length = 32 * 1024;
    const catalogue_item item = make_torrent(folder.path / "cut.bin", options);
    fs::resize_file(folder.path / "cut.bin", 100'000);
    piece_verifier verifier(info_of(item), folder.path);
    CHECK(verifier.verify("cut.bin", 0, 65'535).whole);
    CHECK_FALSE(verifier.verify("cut.bin", 0, 199'999).whole);
}
