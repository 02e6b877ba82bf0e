#include "nearcast/core/http_server.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <limits>

#include "nearcast/core/host_check.hpp"
#include "nearcast/core/http_request_head.hpp"
#include "nearcast/core/listening.hpp"

namespace nearcast::core {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// No deadline: a year away, which the timer arithmetic handles without overflow.
clock_type::time_point never() { return clock_type::now() + std::chrono::hours(24 * 365); }

std::string_view http_request::field(http::field name) const {
    if (!fields) return {};
    const auto value = (*fields)[name];
    return {value.data(), value.size()};
}

std::string_view http_status_reason(unsigned status) {
    const auto reason = http::obsolete_reason(static_cast<http::status>(status));
    return {reason.data(), reason.size()};
}

namespace {

constexpr std::size_t read_size = 4096;

std::string_view view_of(beast::string_view text) { return {text.data(), text.size()}; }

// What the listener and its connections share.
struct server_state {
    http_server_options options;
    http_handlers handlers;
    std::uint16_t port = 0;
    std::atomic<std::size_t> open{0};
};

class connection final : public http_exchange, public std::enable_shared_from_this<connection> {
public:
    connection(tcp::socket&& socket, std::shared_ptr<server_state> server)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(std::move(server)) {
        ++server_->open;
        beast::error_code ignored;
        remote_ = socket_.remote_endpoint(ignored);
        socket_.set_option(tcp::no_delay(true), ignored);
        socket_.non_blocking(true, ignored);
    }
    ~connection() override { --server_->open; }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    void start() {
        asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
            self->await_request();
            self->next_request(false);
        });
    }
    void stop() {
        asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
    }

    // ---- http_exchange ------------------------------------------------------------------

    void answer(http_answer answer) override {
        std::string& head = head_;
        head = status_line(answer.status);
        for (const auto& [name, value] : answer.fields) {
            head += name;
            head += ": ";
            head += value;
            head += "\r\n";
        }
        head += "Content-Type: ";
        head += answer.content_type;
        head += "\r\nContent-Length: ";
        append_number(head, answer.body.size());
        head += "\r\n\r\n";
        body_ = head_only_ ? std::string() : std::move(answer.body);
        // The socket is non-blocking: this takes what fits now, nearly always all of it.
        beast::error_code error;
        const std::size_t sent = socket_.write_some(std::array{asio::buffer(head_), asio::buffer(body_)}, error);
        if (error && error != asio::error::would_block) return close();
        if (sent == head_.size() + body_.size()) return finish();
        const std::size_t head_left = head_.size() - std::min(sent, head_.size());
        write({asio::buffer(head_) + (head_.size() - head_left), asio::buffer(body_) + (sent - (head_.size() - head_left))},
              [this] { finish(); });
    }

    void write(std::vector<asio::const_buffer> buffers, std::function<void()> then) override {
        if (closed_) return;
        set_deadline(clock_type::now() + server_->options.write_timeout);
        asio::async_write(socket_, buffers,
                          [self = shared_from_this(), then = std::move(then)](beast::error_code error, std::size_t) {
                              if (error || self->closed_) return self->close();
                              self->set_deadline(never());  // the handler's turn: no clock
                              then();
                          });
    }

    void wait_writable(std::function<void()> then) override {
        if (closed_) return;
        set_deadline(clock_type::now() + server_->options.write_timeout);
        socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this(), then = std::move(then)](beast::error_code error) {
            if (error || self->closed_) return self->close();
            self->set_deadline(never());
            then();
        });
    }

    void finish() override {
        if (closed_) return;
        if (!keep_alive_) return linger();
        await_request();
        if (in_handler_) {
            ready_ = true;  // the loop in next_request() goes on once the handler returns
        } else {
            next_request(true);
        }
    }

    void abort() override { close(); }
    tcp::socket& socket() override { return socket_; }
    asio::any_io_executor executor() override { return socket_.get_executor(); }
    bool closed() const override { return closed_; }
    bool keep_alive() const override { return keep_alive_; }
    void close_after_answer() override { keep_alive_ = false; }

    std::string status_line(unsigned status) const override {
        // A server names the highest version it speaks, whatever the request's (RFC 9110 2.5).
        std::string line = "HTTP/1.1 ";
        append_number(line, status);
        line += ' ';
        line += http_status_reason(status);
        line += "\r\nServer: ";
        line += server_->options.server;
        if (!keep_alive_) {
            line += "\r\nConnection: close";
        } else if (version_ == 10) {
            line += "\r\nConnection: keep-alive";
        }
        line += "\r\n";
        return line;
    }

private:
    static void append_number(std::string& text, std::uint64_t value) {
        char digits[24];
        text.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
    }

    std::string_view buffered() const { return {static_cast<const char*>(buffer_.data().data()), buffer_.size()}; }

    // ---- reading ------------------------------------------------------------------------

    // A request has the read timeout from its first byte awaited to its answer begun.
    void await_request() { set_deadline(clock_type::now() + server_->options.read_timeout); }

    // Serves the requests already received, then reads on. With the fast path, simple GETs are
    // answered straight from the bytes received, as many as are buffered; an answer the socket
    // takes at once is not waited for. A client sends its next request once it has read our
    // answer, so a read started right after answering would find nothing: it is queued behind
    // the other connections' work instead, by which time the next request has usually come.
    void next_request(bool answered) {
        if (!server_->options.simple_get_fast_path || server_->options.local_only) return read_with_parser();
        while (!closed_) {
            const simple_get head = read_simple_get(buffered());
            switch (head.result) {
            case simple_get::verdict::need_more:
                if (!answered) return read_more();
                return asio::post(socket_.get_executor(), [self = shared_from_this()] { self->read_more(); });
            case simple_get::verdict::not_simple: return read_with_parser();
            case simple_get::verdict::complete: break;
            }
            http_request request;
            request.method = "GET";
            request.target = head.target;
            request.authorization = head.authorization;
            request.remote = remote_;
            request.keep_alive = head.keep_alive;
            request.version = head.http_1_0 ? 10 : 11;
            const bool went_on = run_handler(request);
            buffer_.consume(head.size);
            if (!went_on) return;  // answered later, or closed: the answer's completion goes on
            answered = true;
        }
    }

    void read_more() {
        if (closed_) return;
        socket_.async_read_some(buffer_.prepare(read_size), [self = shared_from_this()](beast::error_code error, std::size_t got) {
            self->buffer_.commit(got);
            if (!error) return self->next_request(false);
            // Part of a request, then the end: the parser reads the end again and says what was wrong.
            if (error == asio::error::eof && self->buffer_.size() > 0) return self->read_with_parser();
            self->close();
        });
    }

    // The head first: how much body may follow is decided from it (path, credentials) before a
    // byte of the body is read, so an anonymous client cannot make us buffer megabytes.
    void read_with_parser() {
        if (closed_) return;
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(server_->options.header_limit));
        // The parser checks a declared Content-Length against this with the head: the largest
        // any request may have until the head says what the request is.
        parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
        http::async_read_header(socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code error, std::size_t) {
            self->on_head(error);
        });
    }

    http_request request_of(const http::request<http::string_body>& message) const {
        http_request request;
        request.method = view_of(message.method_string());
        request.target = view_of(message.target());
        request.authorization = view_of(message[http::field::authorization]);
        request.fields = &message.base();
        request.remote = remote_;
        request.version = message.version() == 10 ? 10 : 11;
        request.keep_alive = message.keep_alive();
        return request;
    }

    void on_head(beast::error_code error) {
        if (read_failed(error)) return;
        auto& message = parser_->get();
        http_request head = request_of(message);
        if (const auto declared = parser_->content_length()) head.content_length = *declared;
        version_ = head.version;
        keep_alive_ = head.keep_alive;
        head_only_ = message.method() == http::verb::head;
        if (server_->options.local_only && (message.count(http::field::host) > 1 || message.count(http::field::origin) > 1)) {
            return refuse({400, "text/plain", "bad request: more than one Host or Origin header\n", {}});
        }
        if (server_->options.local_only &&
            (!host_is_local(head.field(http::field::host), server_->port) ||
             !origin_is_local(head.field(http::field::origin), server_->port))) {
            return refuse({403, "text/plain", "this server answers only requests addressed to its loopback address (Host and Origin)\n", {}});
        }
        http_admission admission{server_->options.body_limit, std::nullopt};
        if (server_->handlers.admit) {
            try {
                admission = server_->handlers.admit(head);
            } catch (const std::exception& failure) {
                spdlog::warn("{}: {} {}: {}", server_->options.what, head.method, head.target, failure.what());
                return refuse({500, "text/plain", "internal error\n", {}});
            }
        }
        if (admission.refusal) return refuse(std::move(*admission.refusal));
        if (head.content_length && *head.content_length > admission.body_limit) {
            return refuse({413, "text/plain",
                           "request body too large: at most " + std::to_string(admission.body_limit) + " bytes here\n", {}});
        }
        parser_->body_limit(admission.body_limit);
        // curl and others wait a second for this before they send a large body.
        if (beast::iequals(message[http::field::expect], "100-continue") && !parser_->is_done()) {
            static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
            beast::error_code ignored;  // a socket that cannot take 25 bytes now fails the read below anyway
            asio::write(socket_, asio::buffer(go_on.data(), go_on.size()), ignored);
        }
        http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code failed, std::size_t) {
            self->on_body(failed);
        });
    }

    void on_body(beast::error_code error) {
        if (read_failed(error)) return;
        const auto& message = parser_->get();
        http_request request = request_of(message);
        request.body = message.body();
        const bool went_on = run_handler(request);
        parser_.reset();  // a body may be large: not kept until the next request
        if (went_on) next_request(true);
    }

    // True (and the connection answered or closed) when a read ended the request.
    bool read_failed(beast::error_code error) {
        if (!error) return false;
        if (error == http::error::end_of_stream || error == asio::error::eof || error == asio::error::connection_reset ||
            error == asio::error::operation_aborted || closed_) {
            close();
        } else if (error == http::error::body_limit) {
            refuse({413, "text/plain", "request body too large\n", {}});
        } else if (error == http::error::header_limit) {
            refuse({431, "text/plain", "request header fields too large\n", {}});
        } else {
            // Malformed HTTP: answer 400 and close, rather than guess where the next request starts.
            refuse({400, "text/plain", "bad request: " + error.message() + "\n", {}});
        }
        return true;
    }

    // An answer after which the connection closes: the rest of the request is never read.
    void refuse(http_answer answer) {
        spdlog::debug("{}: refused a request from {} with {}: {}", server_->options.what, endpoint_text(remote_), answer.status,
                      answer.body.substr(0, answer.body.find('\n')));
        keep_alive_ = false;
        parser_.reset();
        this->answer(std::move(answer));
    }

    // Runs the handler; true when it answered at once and the connection serves on, so the
    // caller goes on with the next request; otherwise the answer's completion does.
    bool run_handler(const http_request& request) {
        version_ = request.version;
        keep_alive_ = request.keep_alive;
        head_only_ = request.method == "HEAD";
        ready_ = false;
        in_handler_ = true;
        set_deadline(never());  // the handler's time is not the client's
        try {
            server_->handlers.handle(request, shared_from_this());
        } catch (const std::exception& failure) {
            spdlog::warn("{}: {} {}: {}", server_->options.what, request.method, request.target, failure.what());
            in_handler_ = false;
            keep_alive_ = false;
            answer({500, "text/plain", "internal error\n", {}});
            return false;
        }
        in_handler_ = false;
        return std::exchange(ready_, false) && !closed_;
    }

    // ---- time ---------------------------------------------------------------------------

    // One timer per connection. Moving the deadline later only changes deadline_; the timer,
    // when it fires early, waits again for the rest. Moving it earlier re-arms the timer.
    void set_deadline(clock_type::time_point when) {
        deadline_ = when;
        if (!timer_armed_ || when < timer_.expiry()) arm(when);
    }

    void arm(clock_type::time_point when) {
        timer_armed_ = true;
        const std::uint64_t generation = ++timer_generation_;
        timer_.expires_at(when);
        timer_.async_wait([self = shared_from_this(), generation](beast::error_code error) {
            if (error || self->closed_ || generation != self->timer_generation_) return;
            if (clock_type::now() >= self->deadline_) return self->close();
            self->arm(self->deadline_);
        });
    }

    // ---- closing ------------------------------------------------------------------------

    // Closing a socket that still holds unread bytes sends a reset, which can destroy our last
    // answer before the client reads it (a refusal of a large body, say). So the answer is
    // followed by our FIN, and what the client still sends is read and dropped for a while.
    void linger() {
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
        set_deadline(clock_type::now() + server_->options.linger);
        drain();
    }

    void drain() {
        if (closed_) return;
        // Shared by every connection: what lands here is thrown away.
        static std::array<char, 16 * 1024> dropped;
        socket_.async_read_some(asio::buffer(dropped), [self = shared_from_this()](beast::error_code error, std::size_t) {
            if (error) return self->close();
            self->drain();
        });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        timer_.cancel();
        beast::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    std::shared_ptr<server_state> server_;
    tcp::endpoint remote_;
    beast::flat_buffer buffer_;  // received, not yet consumed
    std::optional<http::request_parser<http::string_body>> parser_;
    std::string head_;
    std::string body_;
    clock_type::time_point deadline_{};
    std::uint64_t timer_generation_ = 0;
    bool timer_armed_ = false;
    unsigned version_ = 11;
    bool keep_alive_ = true;
    bool head_only_ = false;
    bool in_handler_ = false;
    bool ready_ = false;  // the handler's answer was written whole while it ran
    bool closed_ = false;
};

}  // namespace

// Owns the acceptor and knows the open connections, so that stop() can close them. Runs on
// the acceptor's strand; each connection has a strand of its own.
class http_server::listener : public std::enable_shared_from_this<listener> {
public:
    listener(asio::io_context& io, const tcp::endpoint& where, http_server_options options, http_handlers handlers)
        : io_(io), acceptor_(asio::make_strand(io)), retry_(acceptor_.get_executor()),
          server_(std::make_shared<server_state>()) {
        server_->options = std::move(options);
        server_->handlers = std::move(handlers);
        core::listen_on(acceptor_, where, server_->options.what);
        server_->port = acceptor_.local_endpoint().port();
    }

    tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    std::size_t open() const { return server_->open; }

    void start() {
        asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->accept(); });
    }

    void stop() {
        asio::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
            self->stopped_ = true;
            beast::error_code ignored;
            self->acceptor_.close(ignored);
            self->retry_.cancel();
            for (const auto& entry : self->connections_) {
                if (const auto open = entry.lock()) open->stop();
            }
            self->connections_.clear();
        });
    }

private:
    void accept() {
        if (stopped_) return;
        acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code error, tcp::socket socket) {
            if (error == asio::error::operation_aborted || self->stopped_) return;
            if (error) return self->accept_failed(error);
            if (self->server_->open >= self->server_->options.max_connections) {
                beast::error_code ignored;
                socket.close(ignored);  // over the cap: the connections already open keep being served
                if (self->refused_++ % 1000 == 0) {
                    spdlog::warn("{}: {} connections open, the most allowed: new ones are closed ({} so far)",
                                 self->server_->options.what, self->server_->open.load(), self->refused_);
                }
            } else {
                auto opened = std::make_shared<connection>(std::move(socket), self->server_);
                self->remember(opened);
                opened->start();
            }
            self->accept();
        });
    }

    // Out of file descriptors (or memory): the pending connection stays queued and accept would
    // fail again at once. Wait for connections to end, and say so once a minute.
    void accept_failed(beast::error_code error) {
        ++accept_failures_;
        const auto now = clock_type::now();
        if (now - failures_logged_ >= std::chrono::minutes(1)) {
            spdlog::warn("{}: accept failed {} time(s): {}; {} connections open; retrying every 100 ms",
                         server_->options.what, accept_failures_, error.message(), server_->open.load());
            failures_logged_ = now;
            accept_failures_ = 0;
        }
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([self = shared_from_this()](beast::error_code failed) {
            if (!failed) self->accept();
        });
    }

    // Closed connections are forgotten in batches, so that remembering stays O(1) on average.
    void remember(const std::shared_ptr<connection>& opened) {
        if (connections_.size() >= forget_at_) {
            std::erase_if(connections_, [](const std::weak_ptr<connection>& entry) { return entry.expired(); });
            forget_at_ = std::max<std::size_t>(64, 2 * connections_.size());
        }
        connections_.push_back(opened);
    }

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    asio::steady_timer retry_;
    std::shared_ptr<server_state> server_;
    std::vector<std::weak_ptr<connection>> connections_;
    std::size_t forget_at_ = 64;
    std::uint64_t refused_ = 0;          // connections closed at once, over the cap
    std::uint64_t accept_failures_ = 0;  // since the last log line about them
    clock_type::time_point failures_logged_{};
    bool stopped_ = false;
};

http_server::http_server(asio::io_context& io, const tcp::endpoint& where, http_server_options options, http_handlers handlers)
    : listener_(std::make_shared<listener>(io, where, std::move(options), std::move(handlers))),
      endpoint_(listener_->local_endpoint()) {}

http_server::~http_server() { stop(); }

void http_server::start() { listener_->start(); }

void http_server::stop() { listener_->stop(); }

std::size_t http_server::open_connections() const { return listener_->open(); }

}  // namespace nearcast::core
