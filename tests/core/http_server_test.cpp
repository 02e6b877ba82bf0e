// core::http_server on real loopback sockets: limits, timeouts, the connection cap, the Host
// check, keep-alive and pipelining, answers written piece by piece, and stop().
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "nearcast/core/http_server.hpp"

using namespace nearcast::core;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// A server on 127.0.0.1 run by a thread of its own for the test's length.
class running_server {
public:
    running_server(http_server_options options, http_handlers handlers) {
        server_ = std::make_unique<http_server>(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), std::move(options),
                                                std::move(handlers));
        server_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~running_server() {
        server_->stop();
        work_.reset();
        io_.stop();
        thread_.join();
    }
    running_server(const running_server&) = delete;
    running_server& operator=(const running_server&) = delete;

    std::uint16_t port() const { return server_->local_endpoint().port(); }
    http_server& server() { return *server_; }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    std::unique_ptr<http_server> server_;
    std::thread thread_;
};

// A blocking client whose reads give up after 10 s, so that a test never hangs.
class client {
public:
    explicit client(std::uint16_t port) : socket_(io_) {
        socket_.connect({asio::ip::make_address("127.0.0.1"), port});
        timeval limit{10, 0};
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    }
    void send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
    // Everything until the server closes (or 10 s of silence).
    std::string read_all() {
        std::string out;
        char buffer[4096];
        boost::system::error_code error;
        while (std::size_t got = socket_.read_some(asio::buffer(buffer), error)) out.append(buffer, got);
        return out;
    }
    // Reads until `text` has been seen `count` times.
    std::string read_until(const std::string& text, int count = 1) {
        std::string out;
        char buffer[4096];
        boost::system::error_code error;
        while (occurrences(out, text) < count) {
            const std::size_t got = socket_.read_some(asio::buffer(buffer), error);
            if (error || got == 0) break;
            out.append(buffer, got);
        }
        return out;
    }
    static int occurrences(const std::string& in, const std::string& text) {
        int found = 0;
        for (auto at = in.find(text); at != std::string::npos; at = in.find(text, at + 1)) ++found;
        return found;
    }

private:
    asio::io_context io_;
    tcp::socket socket_;
};

// Answers every request with its method, target and body.
http_handlers echo_handlers() {
    http_handlers handlers;
    handlers.handle = [](const http_request& request, const std::shared_ptr<http_exchange>& exchange) {
        exchange->answer({200, "text/plain", std::string(request.method) + " " + std::string(request.target) + " [" +
                                                 std::string(request.body) + "]",
                          {}});
    };
    return handlers;
}

}  // namespace

TEST_CASE("pipelined requests on one connection are answered in order, kept alive until Connection: close", "[http_server]") {
    for (const bool fast : {false, true}) {
        INFO("simple-GET fast path " << (fast ? "on" : "off"));
        http_server_options options;
        options.simple_get_fast_path = fast;
        running_server server(options, echo_handlers());
        client one(server.port());
        one.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
                 "GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /d HTTP/1.1\r\nConnection: close\r\n\r\n");
        const std::string answers = one.read_all();
        CHECK(client::occurrences(answers, "HTTP/1.1 200 OK") == 4);
        const auto a = answers.find("GET /a []"), b = answers.find("POST /b [xyz]"), c = answers.find("GET /c []"),
                   d = answers.find("GET /d []");
        CHECK((a < b && b < c && c < d && d != std::string::npos));
        CHECK_THAT(answers, Catch::Contains("Connection: keep-alive\r\n") && Catch::Contains("Connection: close\r\n"));
    }
}

TEST_CASE("a body larger than the head allows is refused with 413 before it is sent", "[http_server]") {
    http_server_options options;
    options.body_limit = 1000;
    running_server server(options, echo_handlers());
    client one(server.port());
    // Only the head is sent: the answer must come without the 10 MB the head announces.
    one.send("POST /upload HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n");
    const std::string answer = one.read_all();
    CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 413") && Catch::Contains("at most 1000 bytes") &&
                           Catch::Contains("Connection: close"));

    // A chunked body has no length in its head: it is cut where it passes the limit.
    client two(server.port());
    two.send("POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + std::string(2000, 'x') + "\r\n0\r\n\r\n");
    CHECK_THAT(two.read_all(), Catch::StartsWith("HTTP/1.1 413"));
}

TEST_CASE("admit() decides from the head: a refusal is sent without reading the body, a larger limit is granted", "[http_server]") {
    http_handlers handlers = echo_handlers();
    std::atomic<int> bodies_read{0};
    const auto echo = handlers.handle;
    handlers.handle = [&](const http_request& request, const std::shared_ptr<http_exchange>& exchange) {
        ++bodies_read;
        echo(request, exchange);
    };
    handlers.admit = [](const http_request& head) {
        http_admission admission{100, std::nullopt};
        if (head.authorization != "Bearer right") admission.refusal = http_answer{401, "application/json", R"({"error":"token"})", {}};
        else admission.body_limit = 100'000;
        return admission;
    };
    running_server server({}, handlers);
    client refused(server.port());
    refused.send("POST /x HTTP/1.1\r\nContent-Length: 50000\r\n\r\n");
    CHECK_THAT(refused.read_all(), Catch::StartsWith("HTTP/1.1 401") && Catch::Contains(R"({"error":"token"})"));
    CHECK(bodies_read == 0);

    client granted(server.port());
    granted.send("POST /x HTTP/1.1\r\nAuthorization: Bearer right\r\nContent-Length: 50000\r\nConnection: close\r\n\r\n" +
                 std::string(50'000, 'b'));
    const std::string answer = granted.read_all();
    CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 200") && Catch::Contains("POST /x [bbbb"));
    CHECK(bodies_read == 1);
}

TEST_CASE("a head past the header limit gets 431, malformed HTTP gets 400", "[http_server]") {
    http_server_options options;
    options.header_limit = 1024;
    running_server server(options, echo_handlers());
    client big(server.port());
    big.send("GET / HTTP/1.1\r\nX-Filler: " + std::string(4000, 'a') + "\r\n\r\n");
    CHECK_THAT(big.read_all(), Catch::StartsWith("HTTP/1.1 431"));
    client bad(server.port());
    bad.send("GET / HTTP/9\r\n\r\n");
    CHECK_THAT(bad.read_all(), Catch::StartsWith("HTTP/1.1 400"));
}

TEST_CASE("a client that sends half a request is closed at the read timeout; others are served meanwhile", "[http_server]") {
    http_server_options options;
    options.read_timeout = 300ms;
    running_server server(options, echo_handlers());
    client slow(server.port());
    slow.send("GET /slow HTTP/1.1\r\nHost: x\r\n");  // never finished
    client quick(server.port());
    quick.send("GET /quick HTTP/1.1\r\nConnection: close\r\n\r\n");
    CHECK_THAT(quick.read_all(), Catch::Contains("GET /quick []"));
    // The server closes the silent one: read_all returns with nothing (not after its 10 s limit
    // with an error - both end the loop, so the count of open connections tells them apart).
    CHECK(slow.read_all().empty());
    for (int i = 0; i < 100 && server.server().open_connections() > 0; ++i) std::this_thread::sleep_for(20ms);
    CHECK(server.server().open_connections() == 0);
}

TEST_CASE("past max_connections a new connection is closed at once and the open ones are still served", "[http_server]") {
    http_server_options options;
    options.max_connections = 2;
    running_server server(options, echo_handlers());
    client first(server.port()), second(server.port());
    first.send("GET /1 HTTP/1.1\r\n\r\n");
    second.send("GET /2 HTTP/1.1\r\n\r\n");
    CHECK_THAT(first.read_until("GET /1 []"), Catch::Contains("GET /1 []"));
    CHECK_THAT(second.read_until("GET /2 []"), Catch::Contains("GET /2 []"));
    client third(server.port());
    third.send("GET /3 HTTP/1.1\r\n\r\n");
    CHECK(third.read_all().empty());
    first.send("GET /again HTTP/1.1\r\n\r\n");
    CHECK_THAT(first.read_until("GET /again []"), Catch::Contains("GET /again []"));
}

TEST_CASE("a local-only server answers 403 to a Host or Origin that is not its loopback address", "[http_server]") {
    http_server_options options;
    options.local_only = true;
    options.simple_get_fast_path = true;  // ignored: the Host must be read
    running_server server(options, echo_handlers());
    const std::string port = std::to_string(server.port());
    const auto status_of = [&](const std::string& fields) {
        client one(server.port());
        one.send("GET /status HTTP/1.1\r\n" + fields + "Connection: close\r\n\r\n");
        return one.read_all().substr(0, 12);
    };
    CHECK(status_of("Host: 127.0.0.1:" + port + "\r\n") == "HTTP/1.1 200");
    CHECK(status_of("Host: localhost:" + port + "\r\n") == "HTTP/1.1 200");
    CHECK(status_of("Host: rebound.example:" + port + "\r\n") == "HTTP/1.1 403");
    CHECK(status_of("Host: 127.0.0.1:1\r\n") == "HTTP/1.1 403");
    CHECK(status_of("") == "HTTP/1.1 403");
    CHECK(status_of("Host: 127.0.0.1:" + port + "\r\nOrigin: http://rebound.example\r\n") == "HTTP/1.1 403");
}

TEST_CASE("an answer written piece by piece through the exchange, HEAD without a body, a handler that throws", "[http_server]") {
    http_handlers handlers;
    handlers.handle = [](const http_request& request, const std::shared_ptr<http_exchange>& exchange) {
        if (request.path() == "/throw") throw std::runtime_error("broken");
        if (request.path() == "/small") return exchange->answer({200, "text/plain", "12345", {{"X-Extra", "yes"}}});
        // Three parts, the last after a delay, then the next request.
        auto parts = std::make_shared<std::vector<std::string>>(
            std::vector<std::string>{exchange->status_line(200) + "Content-Length: 9\r\n\r\n", "abc", "def", "ghi"});
        exchange->write({asio::buffer((*parts)[0]), asio::buffer((*parts)[1])}, [exchange, parts] {
            exchange->write({asio::buffer((*parts)[2])}, [exchange, parts] {
                auto timer = std::make_shared<asio::steady_timer>(exchange->executor(), 50ms);
                timer->async_wait([exchange, parts, timer](boost::system::error_code) {
                    exchange->write({asio::buffer((*parts)[3])}, [exchange, parts] { exchange->finish(); });
                });
            });
        });
    };
    running_server server({}, handlers);
    client one(server.port());
    one.send("GET /parts HTTP/1.1\r\n\r\nHEAD /small HTTP/1.1\r\n\r\nGET /throw HTTP/1.1\r\n\r\n");
    const std::string answers = one.read_all();
    CHECK_THAT(answers, Catch::StartsWith("HTTP/1.1 200 OK\r\nServer: nearcast\r\nContent-Length: 9\r\n\r\nabcdefghi"));
    // HEAD: the length of the body it would have, no body.
    CHECK_THAT(answers, Catch::Contains("X-Extra: yes\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nHTTP/1.1 500"));
    CHECK_THAT(answers, Catch::EndsWith("internal error\n"));
}

TEST_CASE("stop() closes every open connection, idle or mid-answer", "[http_server]") {
    http_handlers handlers;
    handlers.handle = [](const http_request&, const std::shared_ptr<http_exchange>& exchange) {
        // Never answers: a handler waiting for something that does not come.
        auto timer = std::make_shared<asio::steady_timer>(exchange->executor(), 1h);
        timer->async_wait([exchange, timer](boost::system::error_code) {});
    };
    running_server server({}, handlers);
    client idle(server.port()), waiting(server.port());
    waiting.send("GET /forever HTTP/1.1\r\n\r\n");
    for (int i = 0; i < 100 && server.server().open_connections() < 2; ++i) std::this_thread::sleep_for(10ms);
    CHECK(server.server().open_connections() == 2);
    server.server().stop();
    CHECK(idle.read_all().empty());
    CHECK(waiting.read_all().empty());
}

TEST_CASE("a client that asks Expect: 100-continue is told to go on once its head is admitted, and refused without it", "[http_server]") {
    http_handlers handlers = echo_handlers();
    handlers.admit = [](const http_request& head) {
        http_admission admission{1'000'000, std::nullopt};
        if (head.path() == "/closed") admission.refusal = http_answer{403, "text/plain", "no\n", {}};
        return admission;
    };
    running_server server({}, handlers);
    client one(server.port());
    one.send("POST /open HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    CHECK(one.read_until("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
    one.send("hello");
    CHECK_THAT(one.read_until("[hello]"), Catch::StartsWith("HTTP/1.1 200") && Catch::EndsWith("POST /open [hello]"));
    client two(server.port());
    two.send("POST /closed HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    CHECK_THAT(two.read_all(), Catch::StartsWith("HTTP/1.1 403"));
}
