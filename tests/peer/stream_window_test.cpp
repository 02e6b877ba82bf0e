// The play window: which pieces get deadlines from a play position, and how soon.
#include <catch2/catch.hpp>

#include "nearcast/peer/stream_window.hpp"

using namespace nearcast::peer;

TEST_CASE("piece geometry maps offsets to pieces and knows the short last piece") {
    const piece_geometry geometry{16384, 100000};
    CHECK(geometry.pieces() == 7);
    CHECK(geometry.piece_at(0) == 0);
    CHECK(geometry.piece_at(16383) == 0);
    CHECK(geometry.piece_at(16384) == 1);
    CHECK(geometry.piece_at(99999) == 6);
    CHECK(geometry.piece_at(500000) == 6);  // clamped: never a piece past the end
    CHECK(geometry.piece_size(6) == 100000 - 6 * 16384);
    CHECK(geometry.piece_size(0) == 16384);
}

TEST_CASE("the window starts at the piece under the play position, now, and grows later deadlines") {
    const piece_geometry geometry{1 << 20, 100 << 20};
    window_options options;
    options.ahead_bytes = 4 << 20;
    options.min_pieces = 2;
    options.per_piece_ms = 100;
    const auto window = window_deadlines(geometry, (10 << 20) + 5, geometry.total_size, options);
    REQUIRE(window.size() == 4);
    CHECK(window.front() == piece_deadline{10, 0});
    CHECK(window.back() == piece_deadline{13, 300});
}

TEST_CASE("large pieces still give the window its minimum number of pieces") {
    const piece_geometry geometry{16 << 20, 1000 << 20};
    window_options options;
    options.ahead_bytes = 1 << 20;
    options.min_pieces = 3;
    CHECK(window_deadlines(geometry, 0, geometry.total_size, options).size() == 3);
}

TEST_CASE("the window stops at the end of the file being played") {
    const piece_geometry geometry{1000, 10000};
    window_options options;
    options.ahead_bytes = 100000;
    // A file from 2500 to 5500 in the torrent: pieces 2 to 5.
    const auto window = window_deadlines(geometry, 2500, 5500, options);
    REQUIRE(window.size() == 4);
    CHECK(window.front().piece == 2);
    CHECK(window.back().piece == 5);
    CHECK(window_deadlines(geometry, 5500, 5500, options).empty());
    CHECK(window_deadlines(geometry, -1, 5500, options).empty());
}

TEST_CASE("reading straight on slides the window; a jump before it or past its end is a seek") {
    CHECK(next_window_move(-1, 8, 0) == window_move::slide);  // the first read places the window
    CHECK(next_window_move(10, 8, 10) == window_move::stay);
    CHECK(next_window_move(10, 8, 11) == window_move::stay);  // still in the first quarter
    CHECK(next_window_move(10, 8, 12) == window_move::slide);
    CHECK(next_window_move(10, 8, 18) == window_move::slide);
    CHECK(next_window_move(10, 8, 19) == window_move::seek);
    CHECK(next_window_move(10, 8, 9) == window_move::seek);
    CHECK(next_window_move(10, 1, 10) == window_move::stay);  // a one-piece window still holds
}
