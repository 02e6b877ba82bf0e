#include "nearcast/peer/stream_window.hpp"

#include <algorithm>

namespace nearcast::peer {

int piece_geometry::pieces() const {
    if (piece_length <= 0 || total_size <= 0) return 0;
    return static_cast<int>((total_size + piece_length - 1) / piece_length);
}

int piece_geometry::piece_at(std::int64_t torrent_offset) const {
    if (piece_length <= 0) return 0;
    return static_cast<int>(std::clamp<std::int64_t>(torrent_offset, 0, std::max<std::int64_t>(total_size - 1, 0)) /
                            piece_length);
}

std::int64_t piece_geometry::piece_size(int piece) const {
    return std::max<std::int64_t>(0, std::min(piece_length, total_size - piece_start(piece)));
}

std::vector<piece_deadline> window_deadlines(const piece_geometry& geometry, std::int64_t play_offset,
                                             std::int64_t limit, const window_options& options) {
    std::vector<piece_deadline> out;
    limit = std::min(limit, geometry.total_size);
    if (geometry.pieces() == 0 || play_offset < 0 || play_offset >= limit) return out;
    const int first = geometry.piece_at(play_offset);
    const int last_in_limit = geometry.piece_at(limit - 1);
    const std::int64_t by_bytes = (options.ahead_bytes + geometry.piece_length - 1) / geometry.piece_length;
    const int count = static_cast<int>(std::max<std::int64_t>(by_bytes, options.min_pieces));
    const int last = std::min(last_in_limit, first + count - 1);
    for (int piece = first; piece <= last; ++piece) {
        out.push_back({piece, options.first_deadline_ms + (piece - first) * options.per_piece_ms});
    }
    return out;
}

window_move next_window_move(int window_first, int window_pieces, int piece) {
    if (window_first < 0) return window_move::slide;
    if (piece < window_first || piece > window_first + window_pieces) return window_move::seek;
    return piece < window_first + std::max(1, window_pieces / 4) ? window_move::stay : window_move::slide;
}

}  // namespace nearcast::peer
