// The web interface's credentials: cookies, one-time login codes, sessions and CSRF tokens.
#include <catch2/catch.hpp>

#include "nearcast/peer/web_session.hpp"

using namespace nearcast::peer;

TEST_CASE("a cookie is found by its name among others, with or without spaces and quotes") {
    CHECK(cookie_value("nearcast_session=abc", "nearcast_session") == "abc");
    CHECK(cookie_value("a=1; nearcast_session=abc; b=2", "nearcast_session") == "abc");
    CHECK(cookie_value("a=1;nearcast_session=abc", "nearcast_session") == "abc");
    CHECK(cookie_value(" nearcast_session = \"abc\" ", "nearcast_session") == "abc");
    CHECK(cookie_value("nearcast_session=abc; nearcast_session=later", "nearcast_session") == "abc");
    CHECK(cookie_value("nearcast_session=", "nearcast_session") == "");
    CHECK_FALSE(cookie_value("", "nearcast_session"));
    CHECK_FALSE(cookie_value("x_nearcast_session=abc", "nearcast_session"));
    CHECK_FALSE(cookie_value("nearcast_session_x=abc", "nearcast_session"));
    CHECK_FALSE(cookie_value("nearcast_session", "nearcast_session"));
    CHECK_FALSE(cookie_value(";;;", "nearcast_session"));
}

TEST_CASE("secrets compare whole: a prefix, an empty one or another length is not the secret") {
    CHECK(same_secret("s3cret", "s3cret"));
    CHECK_FALSE(same_secret("s3cre", "s3cret"));
    CHECK_FALSE(same_secret("s3cretX", "s3cret"));
    CHECK_FALSE(same_secret("s3creT", "s3cret"));
    CHECK_FALSE(same_secret("", ""));
}

TEST_CASE("a login code works once, and only within its lifetime") {
    web_sessions sessions({.code_lifetime_s = 60});
    sessions.add_code("code-1", 100);
    sessions.add_code("code-2", 100);
    CHECK_FALSE(sessions.take_code("code-3", 101));
    CHECK_FALSE(sessions.take_code("", 101));
    CHECK_FALSE(sessions.take_code("code-", 101));
    CHECK(sessions.take_code("code-1", 101));
    CHECK_FALSE(sessions.take_code("code-1", 102));  // used
    CHECK(sessions.pending_codes() == 1);
    CHECK_FALSE(sessions.take_code("code-2", 161));  // expired
    CHECK(sessions.pending_codes() == 0);
    sessions.add_code("code-4", 200);
    CHECK(sessions.take_code("code-4", 260));  // the last second of its minute
}

TEST_CASE("codes beyond the limit push out the oldest") {
    web_sessions sessions({.max_codes = 2});
    sessions.add_code("a", 0);
    sessions.add_code("b", 1);
    sessions.add_code("c", 2);
    CHECK_FALSE(sessions.take_code("a", 3));
    CHECK(sessions.take_code("b", 3));
    CHECK(sessions.take_code("c", 3));
}

TEST_CASE("a session reads freely, changes state only with its CSRF token, and closes") {
    web_sessions sessions;
    sessions.open("cookie-1", "csrf-1", 0);
    CHECK(sessions.check("cookie-1", "", false, 1) == web_verdict::allowed);
    CHECK(sessions.check("cookie-1", "csrf-1", true, 1) == web_verdict::allowed);
    CHECK(sessions.check("cookie-1", "", true, 1) == web_verdict::bad_csrf);
    CHECK(sessions.check("cookie-1", "csrf-2", true, 1) == web_verdict::bad_csrf);
    CHECK(sessions.check("cookie-2", "csrf-1", true, 1) == web_verdict::no_session);
    CHECK(sessions.check("", "", false, 1) == web_verdict::no_session);
    CHECK(sessions.csrf_of("cookie-1", 2) == "csrf-1");
    CHECK_FALSE(sessions.csrf_of("cookie-2", 2));
    sessions.close("cookie-1");
    CHECK(sessions.check("cookie-1", "csrf-1", true, 3) == web_verdict::no_session);
}

TEST_CASE("a session idle too long is closed; one in use stays; the least recently used goes beyond the limit") {
    web_sessions sessions({.session_idle_s = 100, .max_sessions = 2});
    sessions.open("a", "ca", 0);
    sessions.open("b", "cb", 0);
    CHECK(sessions.check("a", "", false, 90) == web_verdict::allowed);
    CHECK(sessions.check("a", "", false, 180) == web_verdict::allowed);  // used at 90: still open
    CHECK(sessions.check("b", "", false, 180) == web_verdict::no_session);  // idle since 0
    sessions.open("c", "cc", 181);
    sessions.open("d", "cd", 182);  // a (used at 180) is the least recently used
    CHECK(sessions.open_sessions() == 2);
    CHECK(sessions.check("a", "", false, 183) == web_verdict::no_session);
    CHECK(sessions.check("c", "cc", true, 183) == web_verdict::allowed);
    CHECK(sessions.check("d", "cd", true, 183) == web_verdict::allowed);
}
