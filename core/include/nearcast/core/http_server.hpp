// The HTTP/1.1 server every nearcast program serves with: the tracker's endpoints, the seeder's
// web seed, the peer's stream and control API. One connection object per client, on Boost.Beast
// and Asio, with what a server facing the open Internet needs:
// - a read timeout on every request (from its first byte awaited to its answer begun) and a
//   write timeout on every write;
// - limits on the head and on the body, the body's decided from the head (path, credentials)
//   before a byte of it is read; a refused body is drained for a moment before the close, so the
//   close does not reset the connection under our answer;
// - a cap on open connections (one past it is closed at once), and a back-off when accept
//   fails (no file descriptor left) that logs once a minute rather than spinning;
// - a Host and Origin check on servers that are only for this machine (DNS rebinding);
// - keep-alive and pipelining.
// Simple GETs (no body, a few headers) can skip the general parser (http_request_head.hpp),
// which is what lets the tracker answer announces as fast as opentracker.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nearcast::core {

// A whole answer with a body in memory.
struct http_answer {
    unsigned status = 200;
    std::string content_type = "text/plain";
    std::string body;
    std::vector<std::pair<std::string, std::string>> fields;  // more header fields (Allow, Retry-After, ...)
};

// A request as a handler sees it; the views last until the handler returns.
struct http_request {
    std::string_view method;
    std::string_view target;         // path and query, as sent
    std::string_view authorization;  // empty when absent
    std::string_view body;
    // The Content-Length the head declares, when it declares one (admit() sees it before the body).
    std::optional<std::uint64_t> content_length;
    // Every header field, when the general parser read the request; null for a simple GET read
    // on the fast path, of which only the fields above are known.
    const boost::beast::http::fields* fields = nullptr;
    boost::asio::ip::tcp::endpoint remote;
    unsigned version = 11;  // 10 or 11
    bool keep_alive = true;

    // One header field's value; empty when absent (or on the fast path).
    std::string_view field(boost::beast::http::field name) const;
    std::string_view path() const { return target.substr(0, target.find('?')); }
    std::string_view query() const {
        const auto mark = target.find('?');
        return mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
    }
};

// What the head of a request allows: the most body bytes that may follow, or an answer that
// refuses it now (a missing token, a wrong secret) without reading its body.
struct http_admission {
    std::uint64_t body_limit = 0;
    std::optional<http_answer> refusal;
};

struct http_server_options {
    std::string what = "HTTP";           // names the server in listen errors and logs
    std::string server = "nearcast";     // the Server field of answers
    std::size_t header_limit = 8 * 1024;
    std::uint64_t body_limit = 8 * 1024;  // when there is no admit() to decide
    std::chrono::milliseconds read_timeout = std::chrono::seconds(30);
    std::chrono::milliseconds write_timeout = std::chrono::seconds(60);
    std::chrono::milliseconds linger = std::chrono::seconds(2);  // a refused body drained this long
    std::size_t max_connections = 1024;
    // Only for this machine: a request whose Host or Origin is not a loopback address of this
    // port (or "localhost") gets 403 (core/host_check.hpp).
    bool local_only = false;
    // Read GETs without a body by read_simple_get (far cheaper); the general parser still reads
    // every other request. Handlers then see no `fields` on such GETs.
    bool simple_get_fast_path = false;
};

// The connection while a handler answers a request on it. A handler answers exactly once: with
// answer(), or by writing a head and body itself and then calling finish() (or abort()). Every
// call must be made on the connection's executor, which is where handlers run.
class http_exchange {
public:
    virtual ~http_exchange() = default;
    // The answer, head and body, then the next request (or the close).
    virtual void answer(http_answer answer) = 0;
    // Writes bytes that the caller keeps alive until `then` runs. On a write error or timeout
    // the connection closes and `then` never runs.
    virtual void write(std::vector<boost::asio::const_buffer> buffers, std::function<void()> then) = 0;
    // Waits until the socket takes more bytes (for writes made on socket() directly, such as
    // sendfile), within the write timeout.
    virtual void wait_writable(std::function<void()> then) = 0;
    // The answer is written whole: the next request is read, or the connection closes.
    virtual void finish() = 0;
    // The answer cannot be completed (a file shrank, a read failed): close at once.
    virtual void abort() = 0;
    // The non-blocking socket, for system calls Asio has no wrapper for.
    virtual boost::asio::ip::tcp::socket& socket() = 0;
    virtual boost::asio::any_io_executor executor() = 0;
    virtual bool closed() const = 0;
    // Whether the connection stays open after this answer; a handler may say no.
    virtual bool keep_alive() const = 0;
    virtual void close_after_answer() = 0;
    // "HTTP/1.1 206 Partial Content\r\nServer: nearcast-seeder\r\n", plus "Connection: close"
    // when the connection ends after this answer: the caller adds its own fields and the
    // blank line.
    virtual std::string status_line(unsigned status) const = 0;
};

struct http_handlers {
    // Asked with the head of a request read by the general parser, before its body; empty: the
    // body limit of the options.
    std::function<http_admission(const http_request& head)> admit;
    // Answers the request on `exchange` (now or later).
    std::function<void(const http_request& request, const std::shared_ptr<http_exchange>& exchange)> handle;
};

class http_server {
public:
    // Binds and listens at once, so that a taken port fails here (core::listen_error); serves
    // after start(). `io` must outlive the server.
    http_server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& where, http_server_options options,
                http_handlers handlers);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    void start();
    // Stops accepting and closes every open connection; safe from any thread.
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const { return endpoint_; }
    std::size_t open_connections() const;

    class listener;

private:
    std::shared_ptr<listener> listener_;
    boost::asio::ip::tcp::endpoint endpoint_;
};

// "Not Found" for 404: the reason phrase of a status code.
std::string_view http_status_reason(unsigned status);

}  // namespace nearcast::core
