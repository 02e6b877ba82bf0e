// The fast reader of GET requests: what it takes it reads as Beast would, and everything it
// does not take is left whole for Beast.
#include <catch2/catch.hpp>

#include <string>

#include "nearcast/core/http_request_head.hpp"

using namespace nearcast::core;
using namespace std::string_literals;
using verdict = simple_get::verdict;

namespace {

verdict verdict_on(const std::string& bytes) { return read_simple_get(bytes).result; }

}  // namespace

TEST_CASE("a GET with headers is read whole: its target, its size and keep-alive by default", "[http_head]") {
    const std::string request = "GET /announce?info_hash=%AB&port=1 HTTP/1.1\r\nHost: tracker\r\nUser-Agent: x\r\n\r\n";
    const simple_get head = read_simple_get(request);
    REQUIRE(head.result == verdict::complete);
    CHECK(head.target == "/announce?info_hash=%AB&port=1");
    CHECK(head.authorization.empty());
    CHECK(head.keep_alive);
    CHECK(head.size == request.size());
}

TEST_CASE("pipelined requests are read one at a time, each ending where the next begins", "[http_head]") {
    const std::string first = "GET /a HTTP/1.1\r\n\r\n";
    const std::string second = "GET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
    const std::string both = first + second;
    const simple_get head = read_simple_get(both);
    REQUIRE(head.result == verdict::complete);
    CHECK(head.target == "/a");
    CHECK(head.size == first.size());
    const simple_get next = read_simple_get(std::string_view(both).substr(head.size));
    REQUIRE(next.result == verdict::complete);
    CHECK(next.target == "/b");
    CHECK_FALSE(next.keep_alive);
}

TEST_CASE("keep-alive follows the version and the Connection tokens, without case", "[http_head]") {
    CHECK_FALSE(read_simple_get("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
    CHECK_FALSE(read_simple_get("GET / HTTP/1.1\r\nconnection: keep-alive, close\r\n\r\n").keep_alive);
    CHECK(read_simple_get("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    CHECK(read_simple_get("GET / HTTP/1.1\r\nConnection: closer\r\n\r\n").keep_alive);
    CHECK_FALSE(read_simple_get("GET / HTTP/1.0\r\n\r\n").keep_alive);
    CHECK(read_simple_get("GET / HTTP/1.0\r\nCONNECTION:Keep-Alive\r\n\r\n").keep_alive);
}

TEST_CASE("the Authorization header is read, trimmed of spaces and tabs", "[http_head]") {
    const simple_get head = read_simple_get("GET /origins HTTP/1.1\r\nauthorization: \tBearer s3cret \r\n\r\n");
    REQUIRE(head.result == verdict::complete);
    CHECK(head.authorization == "Bearer s3cret");
}

TEST_CASE("a request cut anywhere short of its blank line needs more bytes", "[http_head]") {
    const std::string request = "GET /announce?x=1 HTTP/1.1\r\nHost: tracker\r\n\r\n";
    for (std::size_t size = 0; size < request.size(); ++size) {
        INFO(size);
        CHECK(verdict_on(request.substr(0, size)) == verdict::need_more);
    }
    CHECK(verdict_on(request) == verdict::complete);
}

TEST_CASE("anything but a plain GET without a body is left to the full parser", "[http_head]") {
    const std::string rest = " HTTP/1.1\r\nHost: x\r\n\r\n";
    for (const std::string& request : {
             "POST /origins HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"s,
             "HEAD /"s + rest,
             "get /"s + rest,
             "GET  /x"s + rest,
             "GET http://tracker/announce"s + rest,
             "GET *"s + rest,
             "GET /a b"s + rest,
             "GET /a\tb"s + rest,
             "GET /\xc3\xa9"s + rest,
             "GET /\0x"s + rest,
             "GET /x HTTP/1.2\r\n\r\n"s,
             "GET /x HTTP/2.0\r\n\r\n"s,
             "GET /x HTTP/1.1\n\n"s,
             "GET /x HTTP/1.1\r\nHost: x\n\r\n"s,
             "GET /x HTTP/1.1\rX\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nHost : x\r\n\r\n"s,
             "GET /x HTTP/1.1\r\n Host: x\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nno colon\r\n\r\n"s,
             "GET /x HTTP/1.1\r\n: empty name\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nX: a\x01z\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n"s,
             "GET /x HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nProxy-Connection: close\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nConnection: ,close\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nConnection: close;x\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nConnection:\r\n\r\n"s,
             "GET /x HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n"s,
             "this is not HTTP at all\r\n\r\n"s,
         }) {
        INFO(request);
        CHECK(verdict_on(request) == verdict::not_simple);
    }
}

TEST_CASE("a bad byte is left to the full parser at once, before the request is whole", "[http_head]") {
    CHECK(verdict_on("P") == verdict::not_simple);
    CHECK(verdict_on("GET /\0"s) == verdict::not_simple);
    CHECK(verdict_on("GET /x HTTP/1.1\n") == verdict::not_simple);
    CHECK(verdict_on("GET /x HTTP/1.1\r\nHost: \x7f") == verdict::not_simple);
}

TEST_CASE("a head that reaches the size limit is left to the full parser, whole or not", "[http_head]") {
    const std::string start = "GET /x HTTP/1.1\r\nX-Long: ";
    const std::string end = "\r\n\r\n";
    const std::string largest = start + std::string(simple_head_limit - start.size() - end.size(), 'a') + end;
    CHECK(read_simple_get(largest).result == verdict::complete);
    CHECK(verdict_on(start + std::string(simple_head_limit - start.size() - end.size() + 1, 'a') + end) ==
          verdict::not_simple);
    CHECK(verdict_on(start + std::string(simple_head_limit, 'a')) == verdict::not_simple);
    CHECK(verdict_on(start + std::string(simple_head_limit - start.size() - 1, 'a')) == verdict::need_more);
}
