#include "nearcast/seeder/piece_verifier.hpp"

#include <libtorrent/hasher.hpp>

#include <fstream>

namespace lt = libtorrent;
namespace fs = std::filesystem;

namespace nearcast::seeder {

piece_verifier::piece_verifier(std::shared_ptr<const lt::torrent_info> info, fs::path save_path)
    : info_(std::move(info)), save_path_(std::move(save_path)), verified_(static_cast<std::size_t>(info_->num_pieces())) {
    const lt::file_storage& files = info_->files();
    for (const lt::file_index_t file : files.file_range()) {
        if (!files.pad_file_at(file)) files_[fs::path(files.file_path(file)).lexically_normal()] = file;
    }
}

piece_verifier::file_stamp piece_verifier::stamp_of(lt::file_index_t file) const {
    std::error_code error;
    const fs::path path = save_path_ / info_->files().file_path(file);
    file_stamp stamp;
    stamp.size = fs::file_size(path, error);
    if (!error) stamp.written = fs::last_write_time(path, error);
    if (error) stamp = {};
    return stamp;
}

void piece_verifier::forget_pieces_of(lt::file_index_t file) {
    const lt::file_storage& files = info_->files();
    const std::int64_t start = files.file_offset(file);
    const std::int64_t size = files.file_size(file);
    if (size == 0) return;
    const auto first = static_cast<std::size_t>(start / info_->piece_length());
    const auto last = static_cast<std::size_t>((start + size - 1) / info_->piece_length());
    for (std::size_t piece = first; piece <= last && piece < verified_.size(); ++piece) verified_[piece] = false;
}

bool piece_verifier::hash_matches(lt::piece_index_t piece) {
    if (!info_->info_hashes().has_v1()) return true;  // no v1 piece hashes to check against
    const lt::file_storage& files = info_->files();
    lt::hasher hasher;
    for (const lt::file_slice& slice : files.map_block(piece, 0, info_->piece_size(piece))) {
        buffer_.resize(static_cast<std::size_t>(slice.size));
        if (files.pad_file_at(slice.file_index)) {
            std::fill(buffer_.begin(), buffer_.end(), '\0');
        } else {
            std::ifstream in(save_path_ / files.file_path(slice.file_index), std::ios::binary);
            in.seekg(slice.offset);
            in.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
            if (!in || in.gcount() != static_cast<std::streamsize>(buffer_.size())) return false;
        }
        hasher.update(buffer_.data(), static_cast<int>(buffer_.size()));
    }
    return hasher.final() == info_->hash_for_piece(piece);
}

bool piece_verifier::lists(const fs::path& relative) const { return files_.count(relative.lexically_normal()) > 0; }

verify_result piece_verifier::verify(const fs::path& relative, std::uint64_t first, std::uint64_t last) {
    verify_result result;
    const auto found = files_.find(relative.lexically_normal());
    if (found == files_.end() || first > last) {
        result.whole = false;
        return result;
    }
    const lt::file_index_t file = found->second;
    const lt::file_storage& files = info_->files();
    if (last >= static_cast<std::uint64_t>(files.file_size(file))) {
        result.whole = false;
        return result;
    }
    // A file changed since its pieces were checked is checked again.
    const file_stamp now = stamp_of(file);
    auto& seen = stamps_[static_cast<int>(file)];
    if (!(seen == now)) {
        forget_pieces_of(file);
        seen = now;
    }
    const std::int64_t start = files.file_offset(file);
    const int piece_length = info_->piece_length();
    const auto first_piece = static_cast<int>((start + static_cast<std::int64_t>(first)) / piece_length);
    const auto last_piece = static_cast<int>((start + static_cast<std::int64_t>(last)) / piece_length);
    for (int piece = first_piece; piece <= last_piece; ++piece) {
        if (verified_[static_cast<std::size_t>(piece)]) continue;
        ++result.pieces_hashed;
        if (hash_matches(lt::piece_index_t{piece})) {
            verified_[static_cast<std::size_t>(piece)] = true;
        } else {
            result.whole = false;
            result.bad_pieces.push_back(piece);
        }
    }
    return result;
}

}  // namespace nearcast::seeder
