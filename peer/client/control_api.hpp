// The daemon's control API: HTTP/1.1 on 127.0.0.1, every request carrying the token from
// CACHE/control.json as `Authorization: Bearer TOKEN`. The daemon serves it; fetch and stream
// use it when a daemon runs, so that one session holds the cache and seeds it.
//
//   GET  /status                          items (with sources near/far/origin, rate, eta),
//                                         limits, usage, the supernode role (JSON)
//   POST /fetch     body: .torrent bytes, a magnet link, or an http(s) URL of a .torrent
//                   (the daemon fetches it)                    -> {"id": HASH}
//   POST /pause?id=HASH   /resume?id=HASH
//   POST /remove?id=HASH[&data=delete|keep]   keep: the files stay on disk, the item is forgotten
//   POST /limits?upload_kb=N&download_kb=N&uploading=on|off&monthly_cap_mb=N
//   POST /stream?id=HASH[&file=N]         -> {"url": "http://127.0.0.1:PORT/NAME"}
//   POST /login-code                      token only: a one-time login code for a browser,
//                                         valid 60 s -> {"code": C, "url": ".../login?code=C"}
//
// The web interface, on the same port, for a browser (web_ui.hpp): no token in any URL.
//   GET  /                 the page (to /login without a session)
//   GET  /login?code=C     consumes a one-time code, sets the session cookie, 303 to /
//   GET  /login            a form to paste the token into; POST /login (form: token=...)
//   GET  /session          the session's CSRF token (JSON), for the page's POSTs
//   POST /logout           closes the session
// A browser's requests carry the session cookie (HttpOnly, SameSite=Strict) instead of the
// token, and every POST its X-CSRF-Token; without them: 401 (no session) or 403 (no CSRF
// token), decided from the head before any body is read.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http_fetch.hpp"

namespace nearcast::peer::client {

struct control_request {
    std::string method;
    std::string path;   // without the query
    std::string query;  // after '?', still encoded
    std::string body;
};

struct control_answer {
    control_answer(unsigned status_code = 200, std::string json = {}) : status(status_code), body(std::move(json)) {}
    unsigned status;
    std::string body;   // JSON
    std::string allow;  // a 405's Allow header: the methods the path takes
    // An answer that comes later (a .torrent the daemon fetches from a URL): the handler sets
    // this and leaves the rest; the server calls it with a function to call once, on the
    // server's io thread, with the answer.
    std::function<void(std::function<void(control_answer)>)> later;
};

// The name=value pairs of a query string ("a=1&b=x%20y"), decoded, in order.
std::vector<std::pair<std::string, std::string>> query_pairs(const std::string& query);
// One value of a query string, decoded; nullopt when absent.
std::optional<std::string> query_value(const std::string& query, const std::string& name);

class control_server {
public:
    // `media_host`: where the item streams are served (the page's <video> may load from any
    // port of it, and from nowhere else).
    control_server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& where, std::string token,
                   std::function<control_answer(const control_request&)> handler,
                   const boost::asio::ip::address& media_host = boost::asio::ip::make_address("127.0.0.1"));
    ~control_server();
    void start();
    void stop();
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    class state;

private:
    std::shared_ptr<state> state_;
};

// Where a running daemon listens, from CACHE/control.json; nullopt when no daemon answers.
struct daemon_address {
    std::string url;    // http://127.0.0.1:PORT
    std::string token;
};
std::optional<daemon_address> find_daemon(const std::filesystem::path& cache);

// The daemon answered, and refused the request (4xx/5xx with {"error": ...}): what it said.
struct daemon_refusal : fetch_error {
    using fetch_error::fetch_error;
};

// One request to the daemon; throws daemon_refusal when it refuses, fetch_error when it does
// not answer.
std::string call_daemon(const daemon_address& daemon, const std::string& method, const std::string& target,
                        const std::string& body = {});

}  // namespace nearcast::peer::client
