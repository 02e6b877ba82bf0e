// The seeder's HTTP server: every file of the catalogue as a BEP 19 web seed, at
// /items/<v1 info hash, 40 hex>/<torrent name>[/<path inside a multi-file torrent>], with
// GET, HEAD, Range (one part or multipart/byteranges), ETag, Last-Modified, If-None-Match and
// If-Range. Other paths go to `web_routes::other`. Served by core's HTTP/1.1 server (keep-alive,
// a timeout on every read and write, head and body limits, a connection cap); file bodies are
// sent with sendfile(2) so that a large file never passes through our memory.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nearcast/core/http_server.hpp"

namespace nearcast::seeder::server {

struct simple_answer {
    unsigned status = 200;
    std::string content_type;
    std::string body;
};

// The callbacks run on the io_context's threads, so with more than one thread they must be
// safe to call concurrently.
struct web_routes {
    // The folder that holds the torrent's content (the torrent name is a file or folder in
    // it), or nullopt for an item the catalogue does not hold. Gets the hash in lowercase.
    std::function<std::optional<std::filesystem::path>(std::string_view v1_hex)> item_root;
    // File bytes sent for an item, reported as they go (a transfer cut short still counts
    // what it sent); multipart framing is not counted. May be empty.
    std::function<void(std::string_view v1_hex, std::uint64_t bytes)> served;
    // True when the item's torrent lists the file at `relative`: only such files are served or
    // described (a stray file or symlink in the item's folder is not the item's). May be empty.
    std::function<bool(std::string_view v1_hex, const std::filesystem::path& relative)> lists_file;
    // Any path outside /items/ (/stats, /metrics); nullopt gives 404. May be empty.
    std::function<std::optional<simple_answer>(std::string_view method, std::string_view target)> other;
    // Asked before file bytes [first, last] of `relative` (inside the item) are sent: false
    // when a piece under them fails its hash check, and the client gets 503 to try elsewhere.
    // May be empty (nothing is checked).
    std::function<bool(std::string_view v1_hex, const std::filesystem::path& relative, std::uint64_t first,
                       std::uint64_t last)>
        verify;
};

class web_server {
public:
    // Binds and listens at once, so that a taken port fails here; serves after start(). Sets
    // SIGPIPE to be ignored, process-wide: sendfile to a client that hung up would raise it.
    // `io` must outlive the server.
    web_server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& where, web_routes routes);
    ~web_server();
    web_server(const web_server&) = delete;
    web_server& operator=(const web_server&) = delete;

    void start();
    // Stops accepting and closes every open connection (a transfer in flight is cut), on the
    // io_context: safe to call from any thread. The destructor stops too.
    void stop();

    boost::asio::ip::tcp::endpoint local_endpoint() const;

private:
    std::unique_ptr<core::http_server> server_;
};

}  // namespace nearcast::seeder::server
