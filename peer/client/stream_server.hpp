// The local HTTP server of `nearcast-peer stream`: one file of the item at a URL a media
// player opens, served while it downloads. A request for bytes whose pieces are missing moves
// the play window there (piece deadlines ahead of the position, so a seek is followed at once)
// and waits for them; nothing is read before libtorrent has verified its piece.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <libtorrent/bitfield.hpp>
#include <libtorrent/torrent_handle.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "nearcast/peer/stream_window.hpp"

namespace nearcast::peer::client {

struct streamed_file {
    lt::torrent_handle handle;
    std::filesystem::path path;      // on disk
    std::string name;                // for the URL and Content-Type
    std::int64_t offset = 0;         // in the torrent
    std::int64_t size = 0;
    piece_geometry geometry;
};

// The file to stream: `file_index`, or the largest when it is -1. The item's other files are
// set not to download. Throws item_error for an index the item does not have.
streamed_file choose_file(const lt::torrent_handle& handle, const std::filesystem::path& save_path, int file_index);

struct stream_counters {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> bytes_served{0};
    std::atomic<std::uint64_t> waits{0};       // times a request had to wait for a piece
    std::atomic<std::uint64_t> seeks{0};       // play window moved elsewhere than straight ahead
};

class stream_server {
public:
    // Binds and listens at once (a taken port fails here); serves from start().
    stream_server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& where, streamed_file file,
                  window_options window);
    ~stream_server();
    stream_server(const stream_server&) = delete;
    stream_server& operator=(const stream_server&) = delete;

    void start();
    void stop();  // safe from any thread
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    std::string url() const;
    // The first piece of the file is verified: playing from the start needs no wait.
    bool head_ready() const;
    // libtorrent's piece bitfield, as the client's loop last saw it: the server answers from
    // this copy and asks libtorrent only about pieces it does not show yet.
    void update_pieces(const lt::typed_bitfield<lt::piece_index_t>& pieces);
    const stream_counters& counters() const;

    class state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace nearcast::peer::client
