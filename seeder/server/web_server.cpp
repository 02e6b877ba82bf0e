#include "web_server.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <utility>
#include <variant>
#include <vector>

#include "nearcast/core/byte_ranges.hpp"

namespace nearcast::seeder::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using core::byte_range;
using core::range_request;
using core::range_verdict;
using core::if_range_holds;
using core::none_match_hits;
using core::parse_range_header;
using core::safe_relative_path;

namespace {

constexpr auto read_timeout = std::chrono::seconds(30);
// How long a client may leave its receive window shut before we give up on it.
constexpr auto write_timeout = std::chrono::seconds(60);
// After a last answer, how long the rest of what the client sent is read and thrown away.
constexpr auto linger_timeout = std::chrono::seconds(2);
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t request_body_limit = 64 * 1024;  // GET and HEAD carry none; this is a guard
// A connection that drains as fast as we fill it (loopback) never makes sendfile wait, so
// each session hands the thread back after this much, letting other connections run.
constexpr std::uint64_t turn_budget = 16 * 1024 * 1024;
constexpr std::size_t sendfile_chunk = 4 * 1024 * 1024;
// Where sendfile is not supported (some file systems) files are read in chunks this large.
constexpr std::size_t read_chunk = 256 * 1024;
constexpr std::string_view items_prefix = "/items/";
// Web seeds are fetched by many clients at once, each with a few connections.
constexpr std::size_t max_connections = 4096;

std::string_view view_of(beast::string_view text) { return {text.data(), text.size()}; }

class file_descriptor {
public:
    file_descriptor() = default;
    explicit file_descriptor(int descriptor) : descriptor_(descriptor) {}
    file_descriptor(file_descriptor&& other) noexcept : descriptor_(std::exchange(other.descriptor_, -1)) {}
    file_descriptor& operator=(file_descriptor&& other) noexcept {
        if (this != &other) {
            reset();
            descriptor_ = std::exchange(other.descriptor_, -1);
        }
        return *this;
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() { reset(); }

    void reset() {
        if (descriptor_ >= 0) ::close(descriptor_);
        descriptor_ = -1;
    }
    int get() const { return descriptor_; }

private:
    int descriptor_ = -1;
};

// RFC 9110 IMF-fixdate, written by hand so that no locale can change a day's name.
std::string http_date(std::time_t when) {
    static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm parts{};
    ::gmtime_r(&when, &parts);
    char text[40];
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[static_cast<std::size_t>(parts.tm_wday)],
                  parts.tm_mday, months[static_cast<std::size_t>(parts.tm_mon)], parts.tm_year + 1900, parts.tm_hour,
                  parts.tm_min, parts.tm_sec);
    return text;
}

struct opened_file {
    file_descriptor descriptor;
    std::uint64_t size = 0;
    std::string etag;
    std::string last_modified;
};

// The validators come from the descriptor we send from, so that they describe those bytes
// even if the path is replaced meanwhile. Failing, gives the status to answer.
std::variant<opened_file, http::status> open_item_file(const std::filesystem::path& path) {
    // O_NONBLOCK: opening a FIFO someone left in the folder must not block the thread.
    file_descriptor descriptor(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (descriptor.get() < 0) {
        if (errno == EACCES || errno == EPERM) return http::status::forbidden;
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG) return http::status::not_found;
        spdlog::warn("web seed: cannot open {}: {}", path.string(), std::strerror(errno));
        return http::status::internal_server_error;
    }
    struct stat info {};
    if (::fstat(descriptor.get(), &info) != 0) return http::status::internal_server_error;
    if (!S_ISREG(info.st_mode)) return http::status::not_found;  // a folder of a multi-file torrent
    opened_file file;
    file.descriptor = std::move(descriptor);
    file.size = static_cast<std::uint64_t>(info.st_size);
    const auto mtime_ns = static_cast<std::uint64_t>(info.st_mtim.tv_sec) * 1'000'000'000u +
                          static_cast<std::uint64_t>(info.st_mtim.tv_nsec);
    char tag[48];
    std::snprintf(tag, sizeof tag, "\"%llx-%llx\"", static_cast<unsigned long long>(file.size),
                  static_cast<unsigned long long>(mtime_ns));
    file.etag = tag;
    file.last_modified = http_date(info.st_mtim.tv_sec);
    return file;
}

// The 40 hex digits of a v1 info hash, lowercased; anything else names no item.
std::optional<std::string> item_hash(std::string_view text) {
    if (text.size() != 40) return std::nullopt;
    std::string hash;
    for (const char c : text) {
        const char lower = static_cast<char>(c >= 'A' && c <= 'F' ? c + ('a' - 'A') : c);
        if (!((lower >= '0' && lower <= '9') || (lower >= 'a' && lower <= 'f'))) return std::nullopt;
        hash += lower;
    }
    return hash;
}

// The boundary must not occur in the parts; files are arbitrary bytes, so it is drawn at random.
std::string multipart_boundary() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    char text[40];
    std::snprintf(text, sizeof text, "nearcast-%016llx", static_cast<unsigned long long>(generator()));
    return text;
}

std::string content_range(const byte_range& range, std::uint64_t size) {
    return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" + std::to_string(size);
}

// A response body is a list of pieces: some text (multipart framing, or a whole small body)
// followed by a span of the open file.
struct body_piece {
    std::string text;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

std::vector<body_piece> multipart_pieces(const std::vector<byte_range>& ranges, std::uint64_t size,
                                         const std::string& boundary) {
    std::vector<body_piece> pieces;
    for (const byte_range& range : ranges) {
        std::string framing = pieces.empty() ? "" : "\r\n";
        framing += "--" + boundary + "\r\nContent-Type: application/octet-stream\r\nContent-Range: " +
                   content_range(range, size) + "\r\n\r\n";
        pieces.push_back({std::move(framing), range.first, range.length()});
    }
    pieces.push_back({"\r\n--" + boundary + "--\r\n", 0, 0});
    return pieces;
}

// One answer of the web seed, on the connection core's server read the request from.
class web_answer : public std::enable_shared_from_this<web_answer> {
public:
    web_answer(std::shared_ptr<core::http_exchange> exchange, std::shared_ptr<const web_routes> routes)
        : exchange_(std::move(exchange)), routes_(std::move(routes)) {}

    void answer(const core::http_request& request) {
        method_ = std::string(request.method);
        target_ = std::string(request.target);
        head_only_ = request.method == "HEAD";
        respond(request);
    }

private:
    void respond(const core::http_request& request) {
        const std::string_view path = request.path();
        if (path.starts_with(items_prefix)) return respond_item(request, path.substr(items_prefix.size()));
        std::optional<simple_answer> answer;
        if (routes_->other) answer = routes_->other(method_, target_);
        if (!answer) return send_text(http::status::not_found, "not found\n");
        send_text(static_cast<http::status>(answer->status), std::move(answer->body), answer->content_type);
    }

    // `rest` is "<hash>/<torrent name>[/<path>]", still percent-encoded.
    void respond_item(const core::http_request& request, std::string_view rest) {
        if (request.method != "GET" && request.method != "HEAD") {
            begin(http::status::method_not_allowed);
            fields_.set(http::field::allow, "GET, HEAD");
            return send_text("use GET or HEAD\n");
        }
        const std::size_t slash = rest.find('/');
        const std::string_view file_part = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        if (file_part.empty()) return send_text(http::status::not_found, "name a file of the item\n");
        const auto relative = safe_relative_path(file_part);
        if (!relative) return send_text(http::status::bad_request, "bad path\n");
        const auto hash = item_hash(rest.substr(0, slash));
        const auto root = hash ? routes_->item_root(*hash) : std::nullopt;
        if (!root) return send_text(http::status::not_found, "unknown item\n");
        if (routes_->lists_file && !routes_->lists_file(*hash, *relative)) {
            return send_text(http::status::not_found, "no such file in the item\n");
        }
        auto opened = open_item_file(*root / *relative);
        if (const auto* status = std::get_if<http::status>(&opened)) {
            return send_text(*status, *status == http::status::not_found ? "no such file in the item\n" : "cannot serve\n");
        }
        serve_file(request, std::move(*hash), *relative, std::get<opened_file>(std::move(opened)));
    }

    // False, with a 503 sent, when a piece under the ranges fails its check.
    bool verified(const std::string& hash, const std::filesystem::path& relative, const std::vector<byte_range>& ranges) {
        if (!routes_->verify) return true;
        for (const byte_range& range : ranges) {
            if (range.length() > 0 && !routes_->verify(hash, relative, range.first, range.last)) {
                begin(http::status::service_unavailable);
                fields_.set(http::field::retry_after, "5");
                send_text("a piece of this range failed its hash check here; it is being repaired: try another source\n");
                return false;
            }
        }
        return true;
    }

    void serve_file(const core::http_request& request, std::string hash, const std::filesystem::path& relative,
                    opened_file file) {
        const auto set_validators = [&] {
            fields_.set(http::field::etag, file.etag);
            fields_.set(http::field::last_modified, file.last_modified);
            fields_.set(http::field::accept_ranges, "bytes");
        };
        if (none_match_hits(request.field(http::field::if_none_match), file.etag)) {
            begin(http::status::not_modified);
            set_validators();
            return send();
        }
        // Range is defined for GET only (RFC 9110 section 14.2): HEAD describes the whole file.
        range_request wanted;
        const bool get = request.method == "GET";
        if (get && if_range_holds(request.field(http::field::if_range), file.etag, file.last_modified)) {
            wanted = parse_range_header(request.field(http::field::range), file.size);
        }
        if (wanted.verdict == range_verdict::unsatisfiable) {
            begin(http::status::range_not_satisfiable);
            set_validators();
            fields_.set(http::field::content_range, "bytes */" + std::to_string(file.size));
            return send_text("range not satisfiable\n");
        }
        if (get && file.size > 0 &&
            !verified(hash, relative, wanted.verdict == range_verdict::partial ? wanted.ranges
                                                                               : std::vector<byte_range>{{0, file.size - 1}})) {
            return;
        }
        if (wanted.verdict == range_verdict::partial) {
            begin(http::status::partial_content);
            set_validators();
            if (wanted.ranges.size() == 1) {
                fields_.set(http::field::content_type, "application/octet-stream");
                fields_.set(http::field::content_range, content_range(wanted.ranges.front(), file.size));
                pieces_.push_back({"", wanted.ranges.front().first, wanted.ranges.front().length()});
            } else {
                const std::string boundary = multipart_boundary();
                fields_.set(http::field::content_type, "multipart/byteranges; boundary=" + boundary);
                pieces_ = multipart_pieces(wanted.ranges, file.size, boundary);
            }
        } else {
            begin(http::status::ok);
            set_validators();
            fields_.set(http::field::content_type, "application/octet-stream");
            pieces_.push_back({"", 0, file.size});
        }
        item_ = std::move(hash);
        file_ = std::move(file.descriptor);
        send();
    }

    // ---- writing ---------------------------------------------------------------------------

    void begin(http::status status) {
        status_ = status;
        fields_ = {};
        fields_.set(http::field::date, http_date(std::time(nullptr)));
        pieces_.clear();
        item_.clear();
        file_.reset();
        use_sendfile_ = true;
    }

    void send_text(std::string body, std::string_view content_type = "text/plain") {
        fields_.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
        pieces_.push_back({std::move(body), 0, 0});
        send();
    }

    void send_text(http::status status, std::string body, std::string_view content_type = "text/plain") {
        begin(status);
        send_text(std::move(body), content_type);
    }

    void send() {
        std::uint64_t length = 0;
        for (const body_piece& piece : pieces_) length += piece.text.size() + piece.length;
        if (status_ != http::status::not_modified) fields_.set(http::field::content_length, std::to_string(length));
        if (head_only_) pieces_.clear();
        spdlog::debug("web seed: {} {} -> {} ({} bytes)", method_, target_, static_cast<unsigned>(status_), length);
        head_ = exchange_->status_line(static_cast<unsigned>(status_));
        for (const auto& field : fields_) {
            head_ += view_of(field.name_string());
            head_ += ": ";
            head_ += view_of(field.value());
            head_ += "\r\n";
        }
        head_ += "\r\n";
        piece_ = 0;
        piece_text_sent_ = false;
        piece_sent_ = 0;
        exchange_->write({asio::buffer(head_)}, [self = shared_from_this()] { self->send_pieces(); });
    }

    void send_pieces() {
        while (piece_ < pieces_.size()) {
            const body_piece& piece = pieces_[piece_];
            if (!piece_text_sent_ && !piece.text.empty()) {
                piece_text_sent_ = true;
                return exchange_->write({asio::buffer(piece.text)}, [self = shared_from_this()] { self->send_pieces(); });
            }
            if (piece_sent_ < piece.length) return send_file_turn();
            ++piece_;
            piece_text_sent_ = false;
            piece_sent_ = 0;
        }
        file_.reset();
        exchange_->finish();
    }

    // Zero-copy from the page cache to the socket, until the socket is full or this turn's
    // budget is spent.
    void send_file_turn() {
        if (exchange_->closed()) return;
        const body_piece& piece = pieces_[piece_];
        std::uint64_t turn = 0;
        while (piece_sent_ < piece.length && turn < turn_budget) {
            if (!use_sendfile_) {
                count(turn);
                return read_file_chunk();
            }
            auto offset = static_cast<off_t>(piece.offset + piece_sent_);
            const auto wanted = static_cast<std::size_t>(std::min<std::uint64_t>(piece.length - piece_sent_, sendfile_chunk));
            const ssize_t sent = ::sendfile(exchange_->socket().native_handle(), file_.get(), &offset, wanted);
            if (sent > 0) {
                piece_sent_ += static_cast<std::uint64_t>(sent);
                turn += static_cast<std::uint64_t>(sent);
                continue;
            }
            if (sent < 0 && errno == EINTR) continue;
            if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                count(turn);
                return exchange_->wait_writable([self = shared_from_this()] { self->send_file_turn(); });
            }
            if (sent < 0 && (errno == EINVAL || errno == ENOSYS)) {
                use_sendfile_ = false;
                continue;
            }
            // 0: the file shrank under us; an error: the client is gone. Either way the
            // response can no longer be what its headers promised.
            spdlog::debug("web seed: {} cut at {} of {} bytes: {}", target_, piece_sent_, piece.length,
                          sent == 0 ? "file shrank" : std::strerror(errno));
            count(turn);
            return exchange_->abort();
        }
        count(turn);
        if (piece_sent_ < piece.length) {
            return asio::post(exchange_->executor(), [self = shared_from_this()] { self->send_file_turn(); });
        }
        send_pieces();
    }

    void read_file_chunk() {
        if (!chunk_) chunk_ = std::make_unique<char[]>(read_chunk);
        const body_piece& piece = pieces_[piece_];
        const auto wanted = static_cast<std::size_t>(std::min<std::uint64_t>(piece.length - piece_sent_, read_chunk));
        ssize_t got = 0;
        do {
            got = ::pread(file_.get(), chunk_.get(), wanted, static_cast<off_t>(piece.offset + piece_sent_));
        } while (got < 0 && errno == EINTR);
        if (got <= 0) return exchange_->abort();
        exchange_->write({asio::buffer(chunk_.get(), static_cast<std::size_t>(got))},
                         [self = shared_from_this(), written = static_cast<std::uint64_t>(got)] {
                             self->piece_sent_ += written;
                             self->count(written);
                             if (self->piece_sent_ < self->pieces_[self->piece_].length) return self->read_file_chunk();
                             self->send_pieces();
                         });
    }

    void count(std::uint64_t bytes) {
        if (bytes > 0 && routes_->served) routes_->served(item_, bytes);
    }

    std::shared_ptr<core::http_exchange> exchange_;
    std::shared_ptr<const web_routes> routes_;

    // The response being sent.
    http::status status_ = http::status::ok;
    http::fields fields_;
    std::string head_;
    std::vector<body_piece> pieces_;
    std::size_t piece_ = 0;
    bool piece_text_sent_ = false;
    std::uint64_t piece_sent_ = 0;  // file bytes of pieces_[piece_] sent
    file_descriptor file_;
    std::string item_;
    std::unique_ptr<char[]> chunk_;  // only when sendfile is not supported
    bool use_sendfile_ = true;

    // The request being answered.
    std::string method_;
    std::string target_;
    bool head_only_ = false;
};

core::http_server_options web_options() {
    core::http_server_options options;
    options.what = "HTTP";
    options.server = "nearcast-seeder";
    options.header_limit = header_limit;
    options.body_limit = request_body_limit;
    options.read_timeout = read_timeout;
    options.write_timeout = write_timeout;
    options.linger = linger_timeout;
    options.max_connections = max_connections;
    return options;
}

core::http_handlers web_handlers(std::shared_ptr<const web_routes> routes) {
    core::http_handlers handlers;
    handlers.handle = [routes = std::move(routes)](const core::http_request& request,
                                                  const std::shared_ptr<core::http_exchange>& exchange) {
        std::make_shared<web_answer>(exchange, routes)->answer(request);
    };
    return handlers;
}

}  // namespace

web_server::web_server(asio::io_context& io, const tcp::endpoint& where, web_routes routes) {
    // sendfile to a client that has hung up raises SIGPIPE, which would end the process; unlike
    // send() it has no MSG_NOSIGNAL, so the signal is ignored process-wide, as servers do. EPIPE
    // still reaches us and ends the answer.
    std::signal(SIGPIPE, SIG_IGN);
    server_ = std::make_unique<core::http_server>(io, where, web_options(),
                                                  web_handlers(std::make_shared<const web_routes>(std::move(routes))));
}

web_server::~web_server() { stop(); }

void web_server::start() { server_->start(); }

void web_server::stop() { server_->stop(); }

tcp::endpoint web_server::local_endpoint() const { return server_->local_endpoint(); }

}  // namespace nearcast::seeder::server
