#include "stream_server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <vector>

#include <libtorrent/torrent_info.hpp>

#include "http_fetch.hpp"
#include "nearcast/core/host_check.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/peer/item_source.hpp"
#include "options.hpp"
#include "nearcast/core/byte_ranges.hpp"

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
    state(asio::io_context& io, const asio::ip::tcp::endpoint& where, streamed_file file, window_options window)
        : io_(io), acceptor_(io), file_(std::move(file)), window_(window) {
        core::listen_on(acceptor_, where, "the stream");
        endpoint_ = acceptor_.local_endpoint();
    }

    void accept();
    void stop() {
        asio::post(io_, [self = shared_from_this()] {
            self->stopped_ = true;
            beast::error_code ignored;
            self->acceptor_.close(ignored);
        });
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
    asio::ip::tcp::acceptor acceptor_;
    asio::ip::tcp::endpoint endpoint_;
    streamed_file file_;
    window_options window_;
    stream_counters counters_;
    int window_first_ = -1;
    bool stopped_ = false;
    std::vector<bool> have_;  // verified pieces, as last seen
};

namespace {

class stream_session : public std::enable_shared_from_this<stream_session> {
public:
    stream_session(asio::ip::tcp::socket socket, std::shared_ptr<stream_server::state> server)
        : stream_(std::move(socket)), server_(std::move(server)), timer_(stream_.get_executor()) {}
    ~stream_session() {
        if (fd_ >= 0) ::close(fd_);
    }

    void read() {
        // A player waits on every reply: no Nagle delay on a short last segment.
        beast::error_code ignored;
        stream_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
        request_ = {};
        stream_.expires_after(30s);
        http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code error, std::size_t) {
            if (!error) self->answer();
        });
    }

private:
    void answer() {
        ++server_->counters_.requests;
        const auto& file = server_->file_;
        response_ = {};
        response_.version(request_.version());
        response_.keep_alive(request_.keep_alive());
        response_.set(http::field::server, "nearcast-peer");
        if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
            response_.result(http::status::method_not_allowed);
            response_.set(http::field::allow, "GET, HEAD");
            response_.content_length(0);
            return send_header(0, 0);
        }
        // A page under a rebound DNS name reads nothing of what we stream (core/host_check.hpp).
        const auto host = request_[http::field::host];
        const auto origin = request_[http::field::origin];
        if (!core::host_is_local(std::string_view(host.data(), host.size()), server_->endpoint_.port()) ||
            !core::origin_is_local(std::string_view(origin.data(), origin.size()), server_->endpoint_.port())) {
            response_.result(http::status::forbidden);
            response_.content_length(0);
            response_.keep_alive(false);
            return send_header(0, 0);
        }
        response_.set(http::field::accept_ranges, "bytes");
        response_.set(http::field::content_type, content_type_of(file.name));
        const auto size = static_cast<std::uint64_t>(file.size);
        const auto range = core::parse_range_header(
            std::string_view(request_[http::field::range].data(), request_[http::field::range].size()), size);
        std::uint64_t first = 0, length = size;
        if (range.verdict == core::range_verdict::unsatisfiable) {
            response_.result(http::status::range_not_satisfiable);
            response_.set(http::field::content_range, "bytes */" + std::to_string(size));
            response_.content_length(0);
            return send_header(0, 0);
        }
        if (range.verdict == core::range_verdict::partial && range.ranges.size() == 1) {
            first = range.ranges.front().first;
            length = range.ranges.front().length();
            response_.result(http::status::partial_content);
            response_.set(http::field::content_range, "bytes " + std::to_string(first) + "-" +
                                                          std::to_string(first + length - 1) + "/" + std::to_string(size));
        } else {
            response_.result(http::status::ok);  // no Range, or several: the whole file
        }
        response_.content_length(length);
        if (request_.method() == http::verb::head || length == 0) return send_header(0, 0);
        // The header goes out with the first bytes of the body, in one write, when they are
        // here; otherwise at once, and the body follows as its pieces arrive.
        std::ostringstream head;
        head << response_.base();
        pending_head_ = head.str();
        send_body(static_cast<std::int64_t>(first), static_cast<std::int64_t>(first + length));
    }

    void send_header(std::int64_t from, std::int64_t to) {
        serializer_.emplace(response_);
        stream_.expires_after(60s);
        http::async_write_header(stream_, *serializer_, [self = shared_from_this(), from, to](beast::error_code error, std::size_t) {
            if (error) return;
            self->send_body(from, to);
        });
    }

    void finished() {
        if (response_.keep_alive()) read();
        else {
            beast::error_code ignored;
            stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        }
    }

    // Sends file bytes [from, to), each piece once libtorrent has it.
    void send_body(std::int64_t from, std::int64_t to) {
        if (from >= to) return finished();
        if (server_->stopped_) return;
        const auto& file = server_->file_;
        const std::int64_t at = file.offset + from;
        const int piece = file.geometry.piece_at(at);
        if (!file.handle.is_valid()) return;
        if (!server_->has(piece)) {
            if (!waiting_) {
                waiting_ = true;
                ++server_->counters_.waits;
                server_->playing(piece);
            }
            if (!pending_head_.empty()) {
                // The player learns the size at once, and waits for the body.
                auto head = std::make_shared<std::string>(std::exchange(pending_head_, {}));
                asio::async_write(stream_, asio::buffer(*head), [self = shared_from_this(), head, from, to](beast::error_code error, std::size_t) {
                    if (!error) self->send_body(from, to);
                });
                return;
            }
            stream_.expires_never();
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
        chunk_.resize(static_cast<std::size_t>(count));
        const ssize_t got = fd_ < 0 ? -1 : ::pread(fd_, chunk_.data(), chunk_.size(), from);
        if (got != count) {
            spdlog::error("stream: cannot read {} at {}: the piece is verified but the file is short", file.path.string(), from);
            return;  // the connection closes; the player retries
        }
        stream_.expires_after(60s);
        const std::array<asio::const_buffer, 2> buffers{asio::buffer(pending_head_), asio::buffer(chunk_)};
        asio::async_write(stream_, buffers, [self = shared_from_this(), from, to, count](beast::error_code error, std::size_t) {
            if (error) return;
            self->pending_head_.clear();
            self->server_->counters_.bytes_served += static_cast<std::uint64_t>(count);
            self->send_body(from + count, to);
        });
        // The window follows the reader (after the write has started: it is not on the way).
        server_->playing(piece);
    }

    beast::tcp_stream stream_;
    std::shared_ptr<stream_server::state> server_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    http::request<http::empty_body> request_;
    http::response<http::empty_body> response_;
    std::optional<http::response_serializer<http::empty_body>> serializer_;
    std::string pending_head_;  // the response header, not yet sent
    std::vector<char> chunk_;
    int fd_ = -1;
    bool waiting_ = false;
};

}  // namespace

void stream_server::state::accept() {
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code error, asio::ip::tcp::socket socket) {
        if (self->stopped_) return;
        if (!error) std::make_shared<stream_session>(std::move(socket), self)->read();
        self->accept();
    });
}

stream_server::stream_server(asio::io_context& io, const asio::ip::tcp::endpoint& where, streamed_file file, window_options window)
    : state_(std::make_shared<state>(io, where, std::move(file), window)) {}

stream_server::~stream_server() { stop(); }

void stream_server::start() {
    state_->accept();
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
    const auto& files = info->files();
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
