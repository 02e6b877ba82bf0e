// Where a stream's play position is and which pieces it needs next: the sliding window of
// piece deadlines that lets playback start at once and follow a seek. Pure arithmetic over
// the torrent's geometry; the shell hands the result to libtorrent's set_piece_deadline.
#pragma once

#include <cstdint>
#include <vector>

namespace nearcast::peer {

struct piece_geometry {
    std::int64_t piece_length = 0;  // bytes, every piece but the last
    std::int64_t total_size = 0;    // bytes in the whole torrent
    int pieces() const;
    int piece_at(std::int64_t torrent_offset) const;
    std::int64_t piece_start(int piece) const { return static_cast<std::int64_t>(piece) * piece_length; }
    std::int64_t piece_size(int piece) const;
};

struct window_options {
    std::int64_t ahead_bytes = 16 * 1024 * 1024;  // how far ahead of the play position to ask
    int min_pieces = 4;                           // however large the pieces, at least this many
    int first_deadline_ms = 0;                    // the piece under the play position: now
    int per_piece_ms = 250;                       // each further piece gets this much more time
};

struct piece_deadline {
    int piece = 0;
    int deadline_ms = 0;
    auto operator<=>(const piece_deadline&) const = default;
};

// Deadlines for the pieces from the play position up to the window's end, never past
// `limit` (the end of the file being played, as a torrent offset, exclusive).
std::vector<piece_deadline> window_deadlines(const piece_geometry& geometry, std::int64_t play_offset,
                                             std::int64_t limit, const window_options& options);

// What a read at `piece` does to the window that starts at `window_first` (-1: none yet) and
// spans `window_pieces`: nothing while the reader is in its first quarter, a slide forward
// beyond that (the old deadlines stay, new ones are added), a seek when the read lands before
// the window or past its end (the old deadlines are dropped first).
enum class window_move { stay, slide, seek };
window_move next_window_move(int window_first, int window_pieces, int piece);

}  // namespace nearcast::peer
