// Checking pieces on disk against their hashes before they are served over HTTP.
//
// libtorrent checks a seed-mode piece the first time a BitTorrent peer asks for it; the web
// seed reads files directly, so it asks this first. A piece is hashed once and then trusted
// while the files it touches keep their size and modification time (a write to the file,
// such as a repair, makes it checked again), so a busy web seed hashes each piece about once.
#pragma once

#include <libtorrent/torrent_info.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

namespace nearcast::seeder {

struct verify_result {
    bool whole = true;                // every piece asked about matches its hash
    std::vector<int> bad_pieces;      // those that did not (or could not be read)
    std::size_t pieces_hashed = 0;    // pieces read and hashed by this call
};

class piece_verifier {
public:
    piece_verifier(std::shared_ptr<const libtorrent::torrent_info> info, std::filesystem::path save_path);

    // Checks every piece overlapping bytes [first, last] of the item's file at `relative`
    // ("name" for a one-file torrent, "name/sub/file" inside a folder). A file the torrent
    // does not list is not whole.
    verify_result verify(const std::filesystem::path& relative, std::uint64_t first, std::uint64_t last);
    // True when the torrent lists a file at `relative` (pad files are not served).
    bool lists(const std::filesystem::path& relative) const;

private:
    struct file_stamp {
        std::uintmax_t size = 0;
        std::filesystem::file_time_type written{};
        bool operator==(const file_stamp&) const = default;
    };
    bool hash_matches(libtorrent::piece_index_t piece);
    file_stamp stamp_of(libtorrent::file_index_t file) const;
    void forget_pieces_of(libtorrent::file_index_t file);

    std::shared_ptr<const libtorrent::torrent_info> info_;
    std::filesystem::path save_path_;
    std::map<std::filesystem::path, libtorrent::file_index_t> files_;  // relative path -> file
    std::vector<bool> verified_;                                       // by piece
    std::map<int, file_stamp> stamps_;                                 // file -> as when last checked
    std::vector<char> buffer_;
};

}  // namespace nearcast::seeder
