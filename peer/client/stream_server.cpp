#include "stream_server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/field.hpp>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <libtorrent/torrent_info.hpp>

#include "http_fetch.hpp"
#include "nearcast/core/byte_ranges.hpp"
#include "nearcast/core/http_server.hpp"
#include "nearcast/peer/item_source.hpp"
#include "options.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

namespace nearcast::peer::client {

namespace {

std::string content_type_of(const std::string& name) {
    const auto dot = name.rfind('.');
    std::string extension = dot == std::string::npos ? "" : name.substr(dot + 1);
    std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (extension == "mp4" || extension == "m4v") return "video/mp4";
    if (extension == "mkv") return "video/x-matroska";
    if (extension == "webm") return "video/webm";
    if (extension == "ts") return "video/mp2t";
    if (extension == "mp3") return "audio/mpeg";
    if (extension == "ogg" || extension == "ogv") return "video/ogg";
    return "application/octet-stream";
}

constexpr std::int64_t chunk_bytes = 256 * 1024;
// The first write of an answer is small: the player has its first bytes after one short copy,
// and the large reads follow while it parses them.
constexpr std::int64_t first_chunk_bytes = 16 * 1024;

}  // namespace

class stream_server::state : public std::enable_shared_from_this<stream_server::state> {
public:
    state(asio::io_context& io, streamed_file file, window_options window) : io_(io), file_(std::move(file)), window_(window) {}

    // The server is made once the state is shared: its handlers keep the state alive.
    void listen(const asio::ip::tcp::endpoint& where);
    void stop() {
        asio::post(io_, [self = shared_from_this()] { self->stopped_ = true; });
        if (server_) server_->stop();
    }

    // The player is at `piece`: keep deadlines on the window ahead of it. Straight-ahead play
    // slides the window; a jump elsewhere (a seek) clears the old deadlines first.
    // Whether the piece is verified, from the copy of libtorrent's bitfield the client's loop
    // refreshes on every alert: never a call into libtorrent's thread, which a download keeps
    // busy, on the way of an answer. A piece verified a moment ago is seen on the next refresh.
    // Verified pieces as the client's last status said, and when that says no, as libtorrent
    // says now: the status can be a poll behind, and the head of the file is verified (and
    // the URL printed) before the status that shows it reaches us.
    bool known(int piece) const {
        const auto index = static_cast<std::size_t>(piece);
        return index < have_.size() && have_[index];
    }
    bool has(int piece) {
        const auto index = static_cast<std::size_t>(piece);
        if (known(piece)) return true;
        if (piece < 0 || !file_.handle.is_valid() || !file_.handle.have_piece(lt::piece_index_t(piece))) return false;
        if (index >= have_.size()) have_.resize(index + 1, false);
        have_[index] = true;
        return true;
    }

    void playing(int piece) {
        // From the play position (at least the start of this piece) to the end of the file.
        const std::int64_t from = std::max(file_.offset, file_.geometry.piece_start(piece));
        const auto window = window_deadlines(file_.geometry, from, file_.offset + file_.size, window_);
        const window_move move = next_window_move(window_first_, static_cast<int>(window.size()), piece);
        if (move == window_move::stay) return;
        if (move == window_move::seek) {
            ++counters_.seeks;
            file_.handle.clear_piece_deadlines();
        }
        window_first_ = piece;
        for (const auto& deadline : window) {
            if (!known(deadline.piece)) file_.handle.set_piece_deadline(lt::piece_index_t(deadline.piece), deadline.deadline_ms);
        }
    }

    asio::io_context& io_;
    std::unique_ptr<core::http_server> server_;
    asio::ip::tcp::endpoint endpoint_;
    streamed_file file_;
    window_options window_;
    stream_counters counters_;
    int window_first_ = -1;
    bool stopped_ = false;
    std::vector<bool> have_;  // verified pieces, as last seen
};

namespace {

// One answer: the head, then the file's bytes, each piece once libtorrent has verified it.
class stream_answer : public std::enable_shared_from_this<stream_answer> {
public:
    stream_answer(std::shared_ptr<core::http_exchange> exchange, std::shared_ptr<stream_server::state> server)
        : exchange_(std::move(exchange)), server_(std::move(server)), timer_(exchange_->executor()) {}
    ~stream_answer() {
        if (fd_ >= 0) ::close(fd_);
    }
    stream_answer(const stream_answer&) = delete;
    stream_answer& operator=(const stream_answer&) = delete;

    void answer(const core::http_request& request) {
        ++server_->counters_.requests;
        const auto& file = server_->file_;
        // One file at one path (percent-encoded as the client likes): any other is not ours,
        // whatever the method; 405 is for the file's own path only.
        const auto asked = core::safe_relative_path(request.path().substr(1));
        if (!asked || *asked != std::filesystem::path(file.name)) {
            return exchange_->answer({404, "text/plain", "not found: this stream serves /" + percent_encode(file.name) + "\n", {}});
        }
        if (request.method != "GET" && request.method != "HEAD") {
            return exchange_->answer({405, "text/plain", "use GET or HEAD\n", {{"Allow", "GET, HEAD"}}});
        }
        const auto size = static_cast<std::uint64_t>(file.size);
        const auto range = core::parse_range_header(request.field(http::field::range), size);
        if (range.verdict == core::range_verdict::unsatisfiable) {
            return exchange_->answer({416, "text/plain", "range not satisfiable\n",
                                      {{"Content-Range", "bytes */" + std::to_string(size)}}});
        }
        std::uint64_t first = 0, length = size;
        std::string head;
        if (range.verdict == core::range_verdict::partial && range.ranges.size() == 1) {
            first = range.ranges.front().first;
            length = range.ranges.front().length();
            head = exchange_->status_line(206) + "Content-Range: bytes " + std::to_string(first) + "-" +
                   std::to_string(first + length - 1) + "/" + std::to_string(size) + "\r\n";
        } else {
            head = exchange_->status_line(200);  // no Range, or several: the whole file
        }
        head += "Accept-Ranges: bytes\r\nContent-Type: " + content_type_of(file.name) +
                "\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n";
        pending_head_ = std::move(head);
        if (request.method == "HEAD" || length == 0) {
            return exchange_->write({asio::buffer(pending_head_)}, [self = shared_from_this()] { self->exchange_->finish(); });
        }
        // The head goes out with the first bytes of the body, in one write, when they are
        // here; otherwise at once, and the body follows as its pieces arrive.
        send_body(static_cast<std::int64_t>(first), static_cast<std::int64_t>(first + length));
    }

private:
    // Sends file bytes [from, to), each piece once libtorrent has it.
    void send_body(std::int64_t from, std::int64_t to) {
        if (from >= to) return exchange_->finish();
        if (server_->stopped_ || exchange_->closed()) return;
        const auto& file = server_->file_;
        const std::int64_t at = file.offset + from;
        const int piece = file.geometry.piece_at(at);
        if (!file.handle.is_valid()) return exchange_->abort();
        if (!server_->has(piece)) {
            if (!waiting_) {
                waiting_ = true;
                ++server_->counters_.waits;
                server_->playing(piece);
            }
            if (!pending_head_.empty()) {
                // The player learns the size at once, and waits for the body.
                return exchange_->write({asio::buffer(pending_head_)}, [self = shared_from_this(), from, to] {
                    self->pending_head_.clear();
                    self->send_body(from, to);
                });
            }
            timer_.expires_after(3ms);
            timer_.async_wait([self = shared_from_this(), from, to](beast::error_code error) {
                if (!error) self->send_body(from, to);
            });
            return;
        }
        waiting_ = false;
        const std::int64_t piece_end = file.geometry.piece_start(piece) + file.geometry.piece_size(piece);
        const std::int64_t count = std::min({to - from, piece_end - at, pending_head_.empty() ? chunk_bytes : first_chunk_bytes});
        if (fd_ < 0) fd_ = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
        // Not finished yet: still NAME.part (an open descriptor follows the rename).
        if (fd_ < 0) fd_ = ::open((file.path.string() + ".part").c_str(), O_RDONLY | O_CLOEXEC);
        chunk_.resize(static_cast<std::size_t>(count));
        const ssize_t got = fd_ < 0 ? -1 : ::pread(fd_, chunk_.data(), chunk_.size(), from);
        if (got != count) {
            spdlog::error("stream: cannot read {} at {}: the piece is verified but the file is short", file.path.string(), from);
            return exchange_->abort();  // the player retries
        }
        exchange_->write({asio::buffer(pending_head_), asio::buffer(chunk_)}, [self = shared_from_this(), from, to, count] {
            self->pending_head_.clear();
            self->server_->counters_.bytes_served += static_cast<std::uint64_t>(count);
            self->send_body(from + count, to);
        });
        // The window follows the reader (after the write has started: it is not on the way).
        server_->playing(piece);
    }

    std::shared_ptr<core::http_exchange> exchange_;
    std::shared_ptr<stream_server::state> server_;
    asio::steady_timer timer_;
    std::string pending_head_;  // the response head, not yet sent
    std::vector<char> chunk_;
    int fd_ = -1;
    bool waiting_ = false;
};

}  // namespace

// Only for this machine's media player: the core checks Host and Origin, so a page under a
// rebound DNS name reads nothing of what we stream (core/host_check.hpp).
void stream_server::state::listen(const asio::ip::tcp::endpoint& where) {
    core::http_server_options options;
    options.what = "the stream";
    options.server = "nearcast-peer";
    options.body_limit = 0;
    options.max_connections = 64;
    options.local_only = true;
    core::http_handlers handlers;
    handlers.handle = [self = shared_from_this()](const core::http_request& request,
                                                  const std::shared_ptr<core::http_exchange>& exchange) {
        std::make_shared<stream_answer>(exchange, self)->answer(request);
    };
    server_ = std::make_unique<core::http_server>(io_, where, std::move(options), std::move(handlers));
    endpoint_ = server_->local_endpoint();
}

stream_server::stream_server(asio::io_context& io, const asio::ip::tcp::endpoint& where, streamed_file file, window_options window)
    : state_(std::make_shared<state>(io, std::move(file), window)) {
    state_->listen(where);
}

stream_server::~stream_server() { stop(); }

void stream_server::start() {
    state_->server_->start();
    // Playback most often starts at the beginning: ask for the head of the file now.
    asio::post(state_->io_, [self = state_] {
        if (self->file_.size > 0) self->playing(self->file_.geometry.piece_at(self->file_.offset));
    });
}

void stream_server::stop() { state_->stop(); }

asio::ip::tcp::endpoint stream_server::local_endpoint() const { return state_->endpoint_; }

std::string stream_server::url() const {
    return "http://" + endpoint_text(state_->endpoint_.address(), state_->endpoint_.port()) + "/" +
           percent_encode(state_->file_.name);
}

streamed_file choose_file(const lt::torrent_handle& handle, const std::filesystem::path& save_path, int file_index) {
    const auto info = handle.torrent_file();
    // The names the item gives its files: on disk a file is NAME.part until it is verified.
    const auto& files = info->orig_files();
    int index = file_index;
    if (index >= files.num_files()) {
        throw item_error("--file " + std::to_string(index) + ": " + info->name() + " has " +
                         std::to_string(files.num_files()) + " file(s), numbered from 0");
    }
    if (index < 0) {
        index = 0;
        for (const auto file : files.file_range()) {
            if (!files.pad_file_at(file) && files.file_size(file) > files.file_size(lt::file_index_t(index))) index = static_cast<int>(file);
        }
    }
    std::vector<lt::download_priority_t> priorities(static_cast<std::size_t>(files.num_files()), lt::dont_download);
    priorities[static_cast<std::size_t>(index)] = lt::default_priority;
    handle.prioritize_files(priorities);
    const lt::file_index_t chosen(index);
    streamed_file out;
    out.handle = handle;
    out.path = save_path / files.file_path(chosen);
    out.name = std::string(files.file_name(chosen));
    out.offset = files.file_offset(chosen);
    out.size = files.file_size(chosen);
    out.geometry = {info->piece_length(), files.total_size()};
    return out;
}


bool stream_server::head_ready() const {
    const auto& file = state_->file_;
    return file.size == 0 || file.handle.have_piece(lt::piece_index_t(file.geometry.piece_at(file.offset)));
}

void stream_server::update_pieces(const lt::typed_bitfield<lt::piece_index_t>& pieces) {
    std::vector<bool> have(static_cast<std::size_t>(pieces.size()));
    for (int piece = 0; piece < pieces.size(); ++piece) have[static_cast<std::size_t>(piece)] = pieces.get_bit(lt::piece_index_t(piece));
    asio::post(state_->io_, [self = state_, have = std::move(have)]() mutable {
        if (have.size() >= self->have_.size()) self->have_ = std::move(have);
    });
}

const stream_counters& stream_server::counters() const { return state_->counters_; }

}  // namespace nearcast::peer::client
