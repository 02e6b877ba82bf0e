// Who may use the daemon's web interface: one-time login codes, browser sessions held by an
// HttpOnly cookie, and the CSRF token each session's page sends with every state-changing
// request. Pure: time is passed in (seconds on a steady clock) and so are the random values
// (the shell draws them from OpenSSL's RAND_bytes).
//
// The control token never appears in a URL: `nearcast-peer ui` asks the daemon (with the token)
// for a code that logs a browser in once, within a minute; the page then holds only a session
// cookie it cannot read and a CSRF token that is useless without the cookie.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nearcast::peer {

// The value of cookie `name` in a Cookie header ("a=1; nearcast_session=XYZ"); nullopt when
// absent. The first of two cookies of one name wins, as browsers send the most specific first.
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name);

// Compares two secrets in a time that depends on their lengths alone.
bool same_secret(std::string_view given, std::string_view expected);

struct web_session_limits {
    double code_lifetime_s = 60;              // a login code, from its issue
    double session_idle_s = 24 * 3600;        // a session unused this long is closed
    std::size_t max_codes = 16;               // the oldest code goes beyond these
    std::size_t max_sessions = 64;            // the least recently used session goes beyond these
};

// What a request's credentials allow.
enum class web_verdict {
    allowed,
    no_session,   // no cookie, or one of no open session: log in again (401)
    bad_csrf,     // a session, but a state-changing request without its CSRF token (403)
};

class web_sessions {
public:
    explicit web_sessions(web_session_limits limits = {}) : limits_(limits) {}

    // A new one-time code, valid from `now_s` for the code lifetime.
    void add_code(std::string code, double now_s);
    // Consumes a code: true at most once, within its lifetime.
    bool take_code(std::string_view code, double now_s);

    // Opens a session named `id` (the cookie's value) whose page sends `csrf`.
    void open(std::string id, std::string csrf, double now_s);
    void close(std::string_view id);
    // The CSRF token of an open session (and marks it used); nullopt when none.
    std::optional<std::string> csrf_of(std::string_view id, double now_s);
    // The verdict on a request with session cookie `id` and CSRF header `csrf` (either may be
    // empty); `changes_state` requests (POST) need the CSRF token as well as the cookie.
    web_verdict check(std::string_view id, std::string_view csrf, bool changes_state, double now_s);

    std::size_t open_sessions() const { return sessions_.size(); }
    std::size_t pending_codes() const { return codes_.size(); }

private:
    struct code_entry {
        std::string code;
        double issued_s;
    };
    struct session_entry {
        std::string id;
        std::string csrf;
        double used_s;
    };
    void expire(double now_s);
    session_entry* find(std::string_view id);

    web_session_limits limits_;
    std::vector<code_entry> codes_;
    std::vector<session_entry> sessions_;
};

}  // namespace nearcast::peer
