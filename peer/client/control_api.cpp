#include "control_api.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include <array>
#include <fstream>

#include "http_fetch.hpp"
#include "nearcast/core/host_check.hpp"
#include "nearcast/core/listening.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

namespace nearcast::peer::client {

namespace {

std::string percent_decoded(const std::string& raw) {
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '%' && i + 2 < raw.size() && std::isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
            out += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += raw[i] == '+' ? ' ' : raw[i];
        }
    }
    return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> query_pairs(const std::string& query) {
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t at = 0;
    while (at < query.size()) {
        const std::size_t end = std::min(query.find('&', at), query.size());
        const std::string pair = query.substr(at, end - at);
        at = end + 1;
        if (pair.empty()) continue;
        const std::size_t equals = pair.find('=');
        out.emplace_back(percent_decoded(pair.substr(0, equals)),
                         equals == std::string::npos ? "" : percent_decoded(pair.substr(equals + 1)));
    }
    return out;
}

std::optional<std::string> query_value(const std::string& query, const std::string& name) {
    for (auto& [key, value] : query_pairs(query)) {
        if (key == name) return value;
    }
    return std::nullopt;
}

class control_server::state : public std::enable_shared_from_this<control_server::state> {
public:
    state(asio::io_context& io, const asio::ip::tcp::endpoint& where, std::string token,
          std::function<control_answer(const control_request&)> handler)
        : io_(io), acceptor_(io), token_(std::move(token)), handler_(std::move(handler)) {
        core::listen_on(acceptor_, where, "the control API");
        port_ = acceptor_.local_endpoint().port();
    }
    void accept();
    asio::io_context& io_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;  // kept: the acceptor cannot tell it once closed
    std::string token_;
    std::function<control_answer(const control_request&)> handler_;
    bool stopped_ = false;
};

namespace {

class control_session : public std::enable_shared_from_this<control_session> {
public:
    control_session(asio::ip::tcp::socket socket, std::shared_ptr<control_server::state> server)
        : stream_(std::move(socket)), server_(std::move(server)) {}

    // The head first: the Host, Origin and token are checked before any body is read, so a
    // client without the token cannot make the daemon buffer anything, and a browser page
    // reaching us under a rebound DNS name gets nothing.
    void read() {
        parser_.emplace();
        parser_->header_limit(8 * 1024);
        parser_->body_limit(max_body);  // Beast checks a declared Content-Length against it with the head
        stream_.expires_after(30s);
        http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code error, std::size_t) {
            if (error == http::error::body_limit) return self->reply({413, R"x({"error":"request body too large"})x"}, false);
            if (error) return;
            if (const auto refusal = self->refusal()) return self->reply(*refusal, false);
            http::async_read(self->stream_, self->buffer_, *self->parser_, [self](beast::error_code failed, std::size_t) {
                if (failed == http::error::body_limit) return self->reply({413, R"x({"error":"request body too large"})x"}, false);
                if (!failed) self->answer();
            });
        });
    }

private:
    static constexpr std::uint64_t max_body = 64 * 1024 * 1024;  // a .torrent of a large folder

    std::optional<control_answer> refusal() const {
        const auto& head = parser_->get();
        const std::uint16_t port = server_->port_;
        const auto host = head[http::field::host];
        const auto origin = head[http::field::origin];
        if (!core::host_is_local(std::string_view(host.data(), host.size()), port) ||
            !core::origin_is_local(std::string_view(origin.data(), origin.size()), port)) {
            return control_answer{403, R"x({"error":"the control API answers only requests to its loopback address (Host and Origin)"})x"};
        }
        const auto given = head[http::field::authorization];
        const std::string expected = "Bearer " + server_->token_;
        if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
            return control_answer{401, R"x({"error":"a control request needs Authorization: Bearer TOKEN (the token is in control.json)"})x"};
        }
        return std::nullopt;
    }

    void answer() {
        const auto request = parser_->release();
        const std::string target(request.target());
        const std::size_t question = target.find('?');
        control_answer answer;
        try {
            answer = server_->handler_({std::string(request.method_string()), target.substr(0, question),
                                        question == std::string::npos ? "" : target.substr(question + 1), request.body()});
        } catch (const std::exception& error) {
            answer = {400, nlohmann::json{{"error", error.what()}}.dump()};
        }
        reply(std::move(answer), request.keep_alive());
    }

    // Sends `answer`; reads the next request when `keep_alive`, else closes after it.
    void reply(control_answer answer, bool keep_alive) {
        auto response = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(answer.status), 11);
        response->set(http::field::server, "nearcast-peer");
        response->set(http::field::content_type, "application/json");
        response->keep_alive(keep_alive);
        response->body() = std::move(answer.body);
        response->prepare_payload();
        http::async_write(stream_, *response, [self = shared_from_this(), response](beast::error_code error, std::size_t) {
            if (error) return;
            if (response->keep_alive()) return self->read();
            beast::error_code ignored;
            self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
            // A client still sending a refused body: read and drop what comes for up to 2 s
            // before closing, so that the close does not reset the connection under our answer.
            self->stream_.expires_after(2s);
            self->drain();
        });
    }

    void drain() {
        stream_.async_read_some(asio::buffer(dropped_), [self = shared_from_this()](beast::error_code error, std::size_t) {
            if (!error) self->drain();
        });
    }

    beast::tcp_stream stream_;
    std::shared_ptr<control_server::state> server_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::array<char, 16 * 1024> dropped_{};
};

}  // namespace

void control_server::state::accept() {
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code error, asio::ip::tcp::socket socket) {
        if (self->stopped_) return;
        if (!error) std::make_shared<control_session>(std::move(socket), self)->read();
        self->accept();
    });
}

control_server::control_server(asio::io_context& io, const asio::ip::tcp::endpoint& where, std::string token,
                               std::function<control_answer(const control_request&)> handler)
    : state_(std::make_shared<state>(io, where, std::move(token), std::move(handler))) {}

control_server::~control_server() { stop(); }

void control_server::start() { state_->accept(); }

void control_server::stop() {
    asio::post(state_->io_, [self = state_] {
        self->stopped_ = true;
        beast::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

asio::ip::tcp::endpoint control_server::local_endpoint() const { return state_->acceptor_.local_endpoint(); }

std::optional<daemon_address> find_daemon(const std::filesystem::path& cache) {
    std::ifstream file(cache / "control.json");
    if (!file) return std::nullopt;
    try {
        const auto json = nlohmann::json::parse(file);
        daemon_address daemon{json.at("url").get<std::string>(), json.at("token").get<std::string>()};
        call_daemon(daemon, "GET", "/status");
        return daemon;
    } catch (const std::exception&) {
        return std::nullopt;  // a control file left by a daemon that is gone
    }
}

std::string call_daemon(const daemon_address& daemon, const std::string& method, const std::string& target,
                        const std::string& body) {
    return http_request(method, daemon.url + target, {{"Authorization", "Bearer " + daemon.token}}, body, 10s);
}

}  // namespace nearcast::peer::client
