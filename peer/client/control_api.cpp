#include "control_api.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

#include <fstream>

#include "http_fetch.hpp"
#include "nearcast/core/http_server.hpp"

namespace asio = boost::asio;
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

namespace {

constexpr std::uint64_t max_body = 64 * 1024 * 1024;  // a .torrent of a large folder

core::http_answer json_answer(control_answer answer) {
    return {answer.status, "application/json", std::move(answer.body), {}};
}

}  // namespace

// The server core checks Host and Origin (a browser page reaching us under a rebound DNS name
// gets nothing); the token is checked here from the head, before any body is read, so a client
// without it cannot make the daemon buffer anything.
class control_server::state {
public:
    state(asio::io_context& io, const asio::ip::tcp::endpoint& where, std::string token,
          std::function<control_answer(const control_request&)> handler)
        : token_(std::move(token)), handler_(std::move(handler)), server_(io, where, options(), handlers()) {}

    core::http_server& server() { return server_; }

private:
    static core::http_server_options options() {
        core::http_server_options options;
        options.what = "the control API";
        options.server = "nearcast-peer";
        options.body_limit = max_body;
        options.max_connections = 64;
        options.local_only = true;
        return options;
    }

    core::http_handlers handlers() {
        core::http_handlers handlers;
        handlers.admit = [this](const core::http_request& head) {
            core::http_admission admission{max_body, std::nullopt};
            const std::string expected = "Bearer " + token_;
            const auto given = head.authorization;
            if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
                admission.refusal = json_answer(
                    {401, R"x({"error":"a control request needs Authorization: Bearer TOKEN (the token is in control.json)"})x"});
            }
            return admission;
        };
        handlers.handle = [this](const core::http_request& request, const std::shared_ptr<core::http_exchange>& exchange) {
            control_answer answer;
            try {
                answer = handler_({std::string(request.method), std::string(request.path()), std::string(request.query()),
                                   std::string(request.body)});
            } catch (const std::exception& error) {
                answer = {400, nlohmann::json{{"error", error.what()}}.dump()};
            }
            exchange->answer(json_answer(std::move(answer)));
        };
        return handlers;
    }

    std::string token_;
    std::function<control_answer(const control_request&)> handler_;
    core::http_server server_;
};

control_server::control_server(asio::io_context& io, const asio::ip::tcp::endpoint& where, std::string token,
                               std::function<control_answer(const control_request&)> handler)
    : state_(std::make_shared<state>(io, where, std::move(token), std::move(handler))) {}

control_server::~control_server() { stop(); }

void control_server::start() { state_->server().start(); }

void control_server::stop() { state_->server().stop(); }

asio::ip::tcp::endpoint control_server::local_endpoint() const { return state_->server().local_endpoint(); }

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
