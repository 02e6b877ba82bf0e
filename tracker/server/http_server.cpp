#include "http_server.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <chrono>

#include "nearcast/core/listening.hpp"
#include "nearcast/tracker/http_request_head.hpp"

namespace nearcast::tracker::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::uint64_t wall_clock_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

endpoint endpoint_of(const asio::ip::address& address, std::uint16_t port) {
    if (address.is_v4()) return {proximity::ip_address::v4(address.to_v4().to_uint()), port};
    const auto bytes = address.to_v6().to_bytes();
    // from_bytes keeps an IPv4-mapped address as IPv6; peers on dual-stack sockets are IPv4.
    auto parsed = proximity::ip_address::from_bytes(proximity::ip_family::v6, bytes.data());
    if (address.to_v6().is_v4_mapped()) parsed = proximity::ip_address::v4(address.to_v6().to_v4().to_uint());
    return {parsed, port};
}

namespace {

constexpr auto idle_timeout = std::chrono::seconds(30);
constexpr std::size_t read_size = 4096;

// One connection. A GET with no body - nearly every request a tracker gets - is read by
// read_simple_get straight from the bytes received; anything else goes to Beast's parser,
// which reads the same bytes from the start of that request. Answers are written by hand.
class http_session : public std::enable_shared_from_this<http_session> {
public:
    http_session(tcp::socket&& socket, tracker_service& service, std::shared_ptr<std::size_t> open_connections)
        : socket_(std::move(socket)), idle_timer_(socket_.get_executor()), service_(service),
          open_connections_(std::move(open_connections)) {
        ++*open_connections_;
        beast::error_code ignored;
        const auto remote = socket_.remote_endpoint(ignored);
        source_ = endpoint_of(remote.address(), remote.port());
        socket_.set_option(tcp::no_delay(true), ignored);
        socket_.non_blocking(true, ignored);
    }

    ~http_session() { --*open_connections_; }
    http_session(const http_session&) = delete;
    http_session& operator=(const http_session&) = delete;

    void start() {
        request_started_ = std::chrono::steady_clock::now();
        watch_idle();
        serve_buffered();
    }

private:
    // A request has idle_timeout from its first byte awaited to its answer written. One timer
    // per connection checks that, rather than one set and cancelled for every request.
    void watch_idle() {
        idle_timer_.expires_at(request_started_ + idle_timeout);
        idle_timer_.async_wait([self = shared_from_this()](beast::error_code error) {
            if (error || !self->socket_.is_open()) return;
            if (std::chrono::steady_clock::now() >= self->request_started_ + idle_timeout) return self->close();
            self->watch_idle();
        });
    }

    std::string_view buffered() const {
        return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
    }

    // Serves the requests already received, then reads on. An answer that the socket takes at
    // once is not waited for, so a connection costs one trip through the event loop a request.
    // A client sends its next request once it has read our answer, so a read started right
    // after answering would find nothing - a system call for nothing, which is what an answer
    // costs most here. It is queued behind the other connections' work instead, by which time
    // the next request has usually arrived.
    void serve_buffered(bool answered = false) {
        while (true) {
            const simple_get head = read_simple_get(buffered());
            switch (head.result) {
            case simple_get::verdict::need_more:
                if (!answered) return read_more();
                return asio::post(socket_.get_executor(), [self = shared_from_this()] { self->read_more(); });
            case simple_get::verdict::not_simple: return read_with_beast();
            case simple_get::verdict::complete: break;
            }
            http_answer answer = service_.handle_http("GET", head.target, head.authorization, {}, source_, wall_clock_ms());
            buffer_.consume(head.size);
            if (!send(answer.status, answer.content_type, std::move(answer.body), head.keep_alive)) return;
            answered = true;
        }
    }

    void read_more() {
        socket_.async_read_some(buffer_.prepare(read_size), [self = shared_from_this()](beast::error_code error, std::size_t got) {
            self->buffer_.commit(got);
            if (!error) return self->serve_buffered();
            // Part of a request, then the end: Beast reads the end again and says what was wrong.
            if (error == asio::error::eof && self->buffer_.size() > 0) return self->read_with_beast();
            self->close();
        });
    }

    // The head first: how much body may follow is decided from it (path, secret) before a byte
    // of the body is read, so an anonymous client cannot make us buffer megabytes.
    void read_with_beast() {
        parser_.emplace();
        parser_->header_limit(8 * 1024);
        // Beast checks a declared Content-Length against this as it reads the head: the largest
        // any request may have. Lowered below once the head says what the request is.
        parser_->body_limit(tracker_service::registration_body_limit);
        http::async_read_header(socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code error, std::size_t) {
            if (self->read_failed(error)) return;
            const auto& head = self->parser_->get();
            const auto authorization = head[http::field::authorization];
            const std::size_t limit = self->service_.body_limit(
                std::string_view(head.method_string().data(), head.method_string().size()),
                std::string_view(head.target().data(), head.target().size()),
                std::string_view(authorization.data(), authorization.size()));
            const std::string_view method(head.method_string().data(), head.method_string().size());
            const std::string_view target(head.target().data(), head.target().size());
            const auto declared = self->parser_->content_length();
            if (declared && *declared > limit && method == "POST" && target.substr(0, target.find('?')) == "/origins") {
                // A large registration without the admin secret: its 401 or 403, not a size error.
                http_answer refused = self->service_.handle_http(
                    method, target, std::string_view(authorization.data(), authorization.size()), {}, self->source_,
                    wall_clock_ms());
                self->linger_ = true;
                self->send(refused.status, refused.content_type, std::move(refused.body), false);
                return;
            }
            if (declared && *declared > limit) {
                self->linger_ = true;
                self->send(413, "text/plain", "request body too large: at most " + std::to_string(limit) + " bytes here\n",
                           false);
                return;
            }
            self->parser_->body_limit(limit);
            http::async_read(self->socket_, self->buffer_, *self->parser_,
                             [self](beast::error_code failed, std::size_t) { self->on_beast_read(failed); });
        });
    }

    // True (and the connection answered or closed) when a read ended the request.
    bool read_failed(beast::error_code error) {
        if (!error) return false;
        if (error == http::error::end_of_stream || error == asio::error::eof || error == asio::error::connection_reset ||
            error == asio::error::operation_aborted) {
            close();
        } else if (error == http::error::body_limit) {
            linger_ = true;
            send(413, "text/plain", "request body too large\n", false);
        } else {
            // Malformed HTTP: answer 400 and close, rather than guess where the next request starts.
            send(400, "text/plain", "bad request: " + error.message() + "\n", false);
        }
        return true;
    }

    void on_beast_read(beast::error_code error) {
        if (read_failed(error)) return;
        const auto& request = parser_->get();
        const auto authorization = request[http::field::authorization];
        http_answer answer =
            service_.handle_http(std::string_view(request.method_string().data(), request.method_string().size()),
                                 std::string_view(request.target().data(), request.target().size()),
                                 std::string_view(authorization.data(), authorization.size()), request.body(), source_,
                                 wall_clock_ms());
        const bool keep_alive = request.keep_alive();
        parser_.reset();  // a body may be large: not kept until the next request
        if (send(answer.status, answer.content_type, std::move(answer.body), keep_alive)) serve_buffered(true);
    }

    // "HTTP/1.1 <status>", Server, Content-Type, Connection: close when closing, Content-Length:
    // the header Beast wrote for these answers. Head and body go out in one gathered write.
    // True when the answer was written whole at once and the connection serves on: the caller
    // goes on with the next request; otherwise the write's completion does.
    bool send(unsigned status, std::string_view content_type, std::string body, bool keep_alive) {
        const auto reason = http::obsolete_reason(static_cast<http::status>(status));
        head_.clear();
        head_ += "HTTP/1.1 ";
        append_number(status);
        head_ += ' ';
        head_.append(reason.data(), reason.size());
        head_ += "\r\nServer: nearcast-tracker\r\nContent-Type: ";
        head_ += content_type;
        if (!keep_alive) head_ += "\r\nConnection: close";
        head_ += "\r\nContent-Length: ";
        append_number(body.size());
        head_ += "\r\n\r\n";
        body_ = std::move(body);
        // The socket is non-blocking: this takes what fits now, nearly always all of it.
        beast::error_code error;
        const std::size_t sent = socket_.write_some(std::array{asio::buffer(head_), asio::buffer(body_)}, error);
        if (error && error != asio::error::would_block) {
            close();
            return false;
        }
        if (sent == head_.size() + body_.size()) {
            if (!keep_alive) close();
            request_started_ = std::chrono::steady_clock::now();
            return keep_alive;
        }
        const std::size_t head_left = head_.size() - std::min(sent, head_.size());
        const std::array rest{asio::buffer(head_) + (head_.size() - head_left),
                              asio::buffer(body_) + (sent - (head_.size() - head_left))};
        asio::async_write(socket_, rest, [self = shared_from_this(), keep_alive](beast::error_code failed, std::size_t) {
            if (failed || !keep_alive) return self->close();
            self->request_started_ = std::chrono::steady_clock::now();
            self->serve_buffered();
        });
        return false;
    }

    void append_number(std::uint64_t value) {
        char digits[24];
        head_.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
    }

    void close() {
        idle_timer_.cancel();
        if (!socket_.is_open()) return;
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        if (std::exchange(linger_, false)) return drain();
        socket_.close(ignored);
    }

    // A refused body may still be arriving: it is read and dropped for up to 2 s before the
    // close, which would otherwise reset the connection under our answer (unread bytes).
    void drain() {
        idle_timer_.expires_after(std::chrono::seconds(2));
        idle_timer_.async_wait([self = shared_from_this()](beast::error_code error) {
            beast::error_code ignored;
            if (!error) self->socket_.close(ignored);
        });
        drain_more();
    }

    void drain_more() {
        // Shared by every session: what lands here is thrown away.
        static std::array<char, 4096> dropped;
        socket_.async_read_some(asio::buffer(dropped), [self = shared_from_this()](beast::error_code error, std::size_t) {
            if (!error) return self->drain_more();
            self->idle_timer_.cancel();
            beast::error_code ignored;
            self->socket_.close(ignored);
        });
    }

    tcp::socket socket_;
    asio::steady_timer idle_timer_;
    std::chrono::steady_clock::time_point request_started_;
    beast::flat_buffer buffer_;  // received, not yet consumed
    std::optional<http::request_parser<http::string_body>> parser_;
    std::string head_;
    std::string body_;
    tracker_service& service_;
    std::shared_ptr<std::size_t> open_connections_;
    endpoint source_;
    bool linger_ = false;  // the answer refuses a body the client may still be sending
};

}  // namespace

http_listener::http_listener(asio::io_context& io, const tcp::endpoint& where, tracker_service& service,
                             std::size_t max_connections)
    : io_(io), acceptor_(io), retry_(io), service_(service), max_connections_(max_connections) {
    core::listen_on(acceptor_, where, "HTTP");
}

void http_listener::start() { accept(); }

void http_listener::stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
}

void http_listener::accept() {
    acceptor_.async_accept([self = shared_from_this()](beast::error_code error, tcp::socket socket) {
        if (error == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (error) {
            // Out of file descriptors (or memory): the pending connection stays queued and accept
            // would fail again at once. Wait for sessions to end, and say so once a minute.
            ++self->accept_failures_;
            const auto now = std::chrono::steady_clock::now();
            if (now - self->failures_logged_ >= std::chrono::minutes(1)) {
                spdlog::warn("http accept failed {} time(s): {}; {} connections open; retrying every 100 ms",
                             self->accept_failures_, error.message(), *self->open_connections_);
                self->failures_logged_ = now;
                self->accept_failures_ = 0;
            }
            return self->accept_later();
        }
        if (*self->open_connections_ >= self->max_connections_) {
            beast::error_code ignored;
            socket.close(ignored);  // over the cap: the connections already open keep being served
            if (self->refused_++ % 1000 == 0) {
                spdlog::warn("{} connections open, the most --max-connections allows: new ones are closed ({} so far)",
                             *self->open_connections_, self->refused_);
            }
        } else {
            std::make_shared<http_session>(std::move(socket), self->service_, self->open_connections_)->start();
        }
        self->accept();
    });
}

void http_listener::accept_later() {
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([self = shared_from_this()](beast::error_code error) {
        if (!error) self->accept();
    });
}

}  // namespace nearcast::tracker::server
