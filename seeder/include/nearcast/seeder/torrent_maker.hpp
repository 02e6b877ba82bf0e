// Turning a file or folder into a torrent the whole network can use.
//
// The info dictionary is hashed once; what lies outside it depends on the hash: the owning
// tracker shards (BEP 12 tiers, from the tracker ring) and the seeders' web seed URLs
// (BEP 19, `<base>/items/<v1 hash>/`). So the torrent is made, hashed, then finished.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "nearcast/seeder/catalogue.hpp"

namespace nearcast::seeder {

struct torrent_options {
    // v1 by default: every client reads it. A hybrid v1+v2 torrent defeats aria2c 1.36 (wrong info
    // hash) and Transmission 3.00 (refuses the file).
    bool hybrid = false;
    std::vector<std::string> trackers;       // every tracker's announce URL; the ring picks owners
    std::size_t tracker_tiers = 2;           // owner and backup
    std::vector<std::string> web_seed_bases; // e.g. "http://127.0.0.1:8080"; "/items/<hash>/" is added
    int piece_length = 0;                    // bytes; 0 lets libtorrent choose
    std::string creator = "nearcast-seeder";
    std::string comment;
};

// A content path that cannot be made into a torrent; the message names it.
struct publish_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Hashes `content` (a file or a folder) and returns the catalogue item for it, not yet added:
// name, save path, sizes, hashes, torrent bytes and magnet link. `progress` is called with
// (pieces hashed, pieces in all).
catalogue_item make_torrent(const std::filesystem::path& content, const torrent_options& options,
                            const std::function<void(int, int)>& progress = {});

// The catalogue item for a torrent someone else made (a replica), its content to live in
// `save_path`; throws publish_error when the bytes are not a torrent.
catalogue_item item_from_torrent(std::vector<char> torrent, const std::filesystem::path& save_path);

// Bytes as lowercase hex: how the catalogue, URLs and logs write info hashes.
std::string hex_string(std::string_view bytes);

// The web seed URL of an item on a seeder whose HTTP base is `base`.
std::string web_seed_url(const std::string& base, const std::string& v1_hex);

// Writes bytes to `file` atomically: a reader sees the old file or the whole new one.
void write_file_atomically(const std::filesystem::path& file, const std::vector<char>& bytes);

}  // namespace nearcast::seeder
