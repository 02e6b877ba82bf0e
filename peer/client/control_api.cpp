#include "control_api.hpp"

#include <libtorrent/hex.hpp>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "http_fetch.hpp"
#include "nearcast/core/http_server.hpp"
#include "nearcast/peer/web_session.hpp"
#include "options.hpp"
#include "web_ui.hpp"

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
constexpr std::uint64_t max_login_body = 4096;          // token=... from the login form

core::http_answer json_answer(control_answer answer) {
    std::vector<std::pair<std::string, std::string>> fields;
    if (!answer.allow.empty()) fields.emplace_back("Allow", answer.allow);
    return {answer.status, "application/json", std::move(answer.body), std::move(fields)};
}

core::http_answer json_error(unsigned status, const std::string& message) {
    return {status, "application/json", nlohmann::json{{"error", message}}.dump(), {}};
}

// Random bytes as hex, from OpenSSL: session ids, CSRF tokens and login codes.
std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
        throw std::runtime_error("no randomness for a web session");
    }
    return lt::aux::to_hex(raw);
}

double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Where a browser goes next: 303 turns a POST into a GET of `where`.
core::http_answer see_other(const std::string& where, std::vector<std::pair<std::string, std::string>> fields = {}) {
    fields.emplace_back("Location", where);
    fields.emplace_back("Cache-Control", "no-store");
    return {303, "text/plain", "see " + where + "\n", std::move(fields)};
}

}  // namespace

// The server core checks Host and Origin (a browser page reaching us under a rebound DNS name
// gets nothing); the credentials are checked here from the head, before any body is read, so a
// client without them cannot make the daemon buffer anything: the token (the CLI), or a web
// session's cookie with, on every POST, its CSRF token (the page). Only the page itself and the
// login form pass without either, and they do nothing but show a page or log in.
class control_server::state {
public:
    state(asio::io_context& io, const asio::ip::tcp::endpoint& where, std::string token,
          std::function<control_answer(const control_request&)> handler, const asio::ip::address& media_host)
        : token_(std::move(token)), handler_(std::move(handler)), server_(io, where, options(), handlers()),
          cookie_name_("nearcast_session_" + std::to_string(server_.local_endpoint().port())),
          media_source_("http://" + (media_host.is_v6() ? "[" + media_host.to_string() + "]" : media_host.to_string()) + ":*") {}

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

    bool has_token(const core::http_request& head) const {
        const std::string expected = "Bearer " + token_;
        const auto given = head.authorization;
        return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
    }

    std::string_view session_cookie(const core::http_request& head) const {
        return cookie_value(head.field(boost::beast::http::field::cookie), cookie_name_).value_or(std::string_view());
    }

    static std::string_view csrf_header(const core::http_request& head) {
        if (!head.fields) return {};
        const auto value = (*head.fields)["X-CSRF-Token"];
        return {value.data(), value.size()};
    }

    // The web interface's own paths, which need no credentials to be asked for.
    static bool is_open_path(std::string_view path) { return path == "/" || path == "/login"; }

    core::http_admission admit(const core::http_request& head) {
        core::http_admission admission{max_body, std::nullopt};
        if (has_token(head)) return admission;
        const std::string_view path = head.path();
        if (is_open_path(path)) {
            admission.body_limit = head.method == "POST" && path == "/login" ? max_login_body : 0;
            return admission;
        }
        const std::string_view cookie = session_cookie(head);
        const bool changes_state = head.method != "GET" && head.method != "HEAD";
        switch (sessions_.check(cookie, csrf_header(head), changes_state, steady_seconds())) {
            case web_verdict::allowed: break;
            case web_verdict::bad_csrf:
                admission.refusal = json_error(403, "this request needs the page's X-CSRF-Token header: reload the page");
                break;
            case web_verdict::no_session:
                admission.refusal = json_error(401, cookie.empty() ? "a control request needs Authorization: Bearer TOKEN (the token is in control.json)"
                                                                   : "the web session has ended: log in again (nearcast-peer ui)");
                break;
        }
        return admission;
    }

    // The page, the login, the session's CSRF token, a logout and login codes; nullopt for the
    // daemon's own API.
    std::optional<core::http_answer> web_answer(const core::http_request& request) {
        const std::string_view path = request.path(), method = request.method;
        const double now = steady_seconds();
        const auto allow = [&](const char* methods) -> std::optional<core::http_answer> {
            return core::http_answer{405, "application/json", nlohmann::json{{"error", std::string("use ") + methods + " " + std::string(path)}}.dump(),
                                     {{"Allow", methods}}};
        };
        if (path == "/") {
            if (method != "GET" && method != "HEAD") return allow("GET");
            if (!sessions_.csrf_of(session_cookie(request), now)) return see_other("/login");
            return core::http_answer{200, "text/html; charset=utf-8", std::string(web_ui_page()), page_fields()};
        }
        if (path == "/login") {
            if (method == "GET" || method == "HEAD") {
                const auto code = query_value(std::string(request.query()), "code");
                if (!code) return login_page(200, "");
                if (!sessions_.take_code(*code, now)) {
                    spdlog::info("web interface: a login link that is used or expired was refused");
                    return login_page(403, "This login link is used or expired (a link works once, for a minute): run "
                                           "nearcast-peer ui again, or paste the token below.");
                }
                return open_session(now, "a one-time link");
            }
            if (method != "POST") return allow("GET, POST");
            const auto given = query_value(std::string(request.body), "token").value_or("");
            if (!same_secret(given, token_)) {
                spdlog::info("web interface: a login with a wrong token was refused");
                return login_page(403, "That is not the token: it is the \"token\" of control.json in the daemon's cache folder.");
            }
            return open_session(now, "the token");
        }
        if (path == "/session") {
            if (method != "GET") return allow("GET");
            const auto csrf = sessions_.csrf_of(session_cookie(request), now);
            if (!csrf) return json_error(401, "no web session: log in at /login");  // reached with the token alone
            return core::http_answer{200, "application/json", nlohmann::json{{"csrf", *csrf}}.dump(), {{"Cache-Control", "no-store"}}};
        }
        if (path == "/logout") {
            if (method != "POST") return allow("POST");
            sessions_.close(session_cookie(request));
            return see_other("/login", {{"Set-Cookie", cookie_name_ + "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"}});
        }
        if (path == "/login-code") {
            if (method != "POST") return allow("POST");
            if (!has_token(request)) return json_error(403, "a login code is given for the token only (nearcast-peer ui)");
            std::string code = random_hex(16);
            sessions_.add_code(code, now);
            const auto where = server_.local_endpoint();
            const std::string url = "http://" + endpoint_text(where.address(), where.port()) + "/login?code=" + code;
            spdlog::info("web interface: a one-time login code was given (valid 60 s)");
            return core::http_answer{200, "application/json", nlohmann::json{{"code", code}, {"url", url}}.dump(), {}};
        }
        return std::nullopt;
    }

    core::http_answer open_session(double now, const char* how) {
        std::string id = random_hex(32);
        const std::string cookie = cookie_name_ + "=" + id + "; HttpOnly; SameSite=Strict; Path=/";
        sessions_.open(std::move(id), random_hex(32), now);
        spdlog::info("web interface: a browser logged in with {} ({} sessions open)", how, sessions_.open_sessions());
        return see_other("/", {{"Set-Cookie", cookie}});
    }

    // No framing by other pages, nothing fetched from elsewhere, no URL of ours in a Referer
    // sent elsewhere (not no-referrer: a browser then sends the login form's POST with
    // "Origin: null", which the Origin check refuses).
    // Media may come from the stream servers, which listen on other ports (and, with
    // --listen-http, on another loopback address).
    std::vector<std::pair<std::string, std::string>> page_fields() const {
        return {{"Cache-Control", "no-store"},
                {"Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                            "connect-src 'self'; img-src 'self' data:; media-src " + media_source_ + "; form-action 'self'; "
                                            "frame-ancestors 'none'; base-uri 'none'"},
                {"X-Frame-Options", "DENY"},
                {"X-Content-Type-Options", "nosniff"},
                {"Referrer-Policy", "same-origin"}};
    }

    core::http_answer login_page(unsigned status, std::string_view message) const {
        auto fields = page_fields();
        return {status, "text/html; charset=utf-8", web_login_page(message), std::move(fields)};
    }

    core::http_handlers handlers() {
        core::http_handlers handlers;
        handlers.admit = [this](const core::http_request& head) { return admit(head); };
        handlers.handle = [this](const core::http_request& request, const std::shared_ptr<core::http_exchange>& exchange) {
            control_answer answer;
            try {
                if (auto web = web_answer(request)) return exchange->answer(std::move(*web));
                answer = handler_({std::string(request.method), std::string(request.path()), std::string(request.query()),
                                   std::string(request.body)});
            } catch (const std::exception& error) {
                answer = {400, nlohmann::json{{"error", error.what()}}.dump()};
            }
            if (answer.later) {
                // Called on the io thread, which is the connection's: answered at once.
                return answer.later([exchange](control_answer done) {
                    if (!exchange->closed()) exchange->answer(json_answer(std::move(done)));
                });
            }
            exchange->answer(json_answer(std::move(answer)));
        };
        return handlers;
    }

    std::string token_;
    std::function<control_answer(const control_request&)> handler_;
    core::http_server server_;
    std::string cookie_name_;  // the port in it: two daemons of one user keep their sessions apart
    web_sessions sessions_;
    std::string media_source_;  // the Content-Security-Policy's media-src
};

control_server::control_server(asio::io_context& io, const asio::ip::tcp::endpoint& where, std::string token,
                               std::function<control_answer(const control_request&)> handler, const asio::ip::address& media_host)
    : state_(std::make_shared<state>(io, where, std::move(token), std::move(handler), media_host)) {}

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
    try {
        return http_request(method, daemon.url + target, {{"Authorization", "Bearer " + daemon.token}}, body, 10s);
    } catch (const fetch_error& error) {
        // The daemon's own words when it refused ({"error": ...}), not the raw request and answer.
        const std::string what = error.what();
        if (const auto at = what.find("{\"error\""); at != std::string::npos) {
            try {
                const auto refusal = nlohmann::json::parse(what.substr(at));
                throw daemon_refusal("the daemon refused: " + refusal.at("error").get<std::string>());
            } catch (const nlohmann::json::exception&) {
            }
        }
        throw;
    }
}

}  // namespace nearcast::peer::client
