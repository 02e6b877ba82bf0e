#include "http_server.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

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

class http_session : public std::enable_shared_from_this<http_session> {
public:
    http_session(tcp::socket&& socket, tracker_service& service) : stream_(std::move(socket)), service_(service) {
        beast::error_code ignored;
        const auto remote = stream_.socket().remote_endpoint(ignored);
        source_ = endpoint_of(remote.address(), remote.port());
        stream_.socket().set_option(tcp::no_delay(true), ignored);
    }

    void start() { read(); }

private:
    void read() {
        parser_.emplace();
        parser_->header_limit(8 * 1024);
        parser_->body_limit(16 * 1024 * 1024);  // an origin registering a large catalogue
        stream_.expires_after(idle_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_read(error); });
    }

    void on_read(beast::error_code error) {
        if (error == http::error::end_of_stream || error == beast::error::timeout || error == asio::error::eof ||
            error == asio::error::connection_reset || error == asio::error::operation_aborted) {
            return close();
        }
        if (error) {
            // Malformed HTTP: answer 400 and close, rather than guess where the next request starts.
            return send(http::status::bad_request, "text/plain", "bad request: " + error.message() + "\n", false);
        }
        const auto& request = parser_->get();
        const auto authorization = request[http::field::authorization];
        const http_answer answer =
            service_.handle_http(std::string_view(request.method_string().data(), request.method_string().size()),
                                 std::string_view(request.target().data(), request.target().size()),
                                 std::string_view(authorization.data(), authorization.size()), request.body(), source_,
                                 wall_clock_ms());
        send(static_cast<http::status>(answer.status), answer.content_type, answer.body, request.keep_alive());
    }

    void send(http::status status, const std::string& content_type, std::string body, bool keep_alive) {
        response_ = {};
        response_.result(status);
        response_.version(11);
        response_.set(http::field::server, "nearcast-tracker");
        response_.set(http::field::content_type, content_type);
        response_.body() = std::move(body);
        response_.keep_alive(keep_alive);
        response_.prepare_payload();
        http::async_write(stream_, response_, [self = shared_from_this(), keep_alive](beast::error_code error, std::size_t) {
            if (error || !keep_alive) return self->close();
            self->read();
        });
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.close();
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    tracker_service& service_;
    endpoint source_;
};

}  // namespace

http_listener::http_listener(asio::io_context& io, const tcp::endpoint& where, tracker_service& service)
    : io_(io), acceptor_(io), service_(service) {
    acceptor_.open(where.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    if (where.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
    acceptor_.bind(where);
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

void http_listener::start() { accept(); }

void http_listener::stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
}

void http_listener::accept() {
    acceptor_.async_accept([self = shared_from_this()](beast::error_code error, tcp::socket socket) {
        if (error == asio::error::operation_aborted) return;
        if (error) {
            spdlog::warn("http accept: {}", error.message());
        } else {
            std::make_shared<http_session>(std::move(socket), self->service_)->start();
        }
        self->accept();
    });
}

}  // namespace nearcast::tracker::server
