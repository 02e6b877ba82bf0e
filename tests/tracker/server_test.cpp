// nearcast-tracker as a real process on loopback: HTTP and UDP announces, broken input,
// origin registration, closed mode and a clean stop.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "nearcast/proximity/model.hpp"
#include "nearcast/tracker/udp_protocol.hpp"
#include "server_fixtures.hpp"
#include "test_data.hpp"

namespace asio = boost::asio;
using namespace nearcast::tracker;
using namespace nearcast::testing;
using asio::ip::tcp;
using asio::ip::udp;

TEST_CASE("HTTP and UDP announces meet in one swarm, and SIGTERM stops the tracker cleanly", "[server]") {
    tracker_process tracker;
    const info_hash hash = hash_of(0x5a);
    const std::string first = body_of(http_get(tracker.http_port, announce_target(hash, 0, 6881, true)));
    CHECK_THAT(first, Catch::StartsWith("d8:completei1e"));

    asio::io_context io;
    udp::socket socket(io, udp::endpoint(udp::v4(), 0));
    const std::string connected = udp_exchange(socket, tracker.udp_port, be64(udp_protocol_id) + be32(0) + be32(77));
    REQUIRE(connected.size() == 16);
    CHECK(read32(connected, 0) == 0);
    CHECK(read32(connected, 4) == 77);
    const std::uint64_t connection = (std::uint64_t{read32(connected, 8)} << 32) | read32(connected, 12);
    const std::string answer = udp_exchange(socket, tracker.udp_port, udp_announce_packet(connection, 78, hash, 6882, false));
    REQUIRE(answer.size() == 20 + 6);  // header and one IPv4 peer: the HTTP seed
    CHECK(read32(answer, 0) == 1);
    CHECK(read32(answer, 4) == 78);
    CHECK(read32(answer, 16) == 1);  // seeders
    CHECK(answer.substr(20) == std::string("\x7f\x00\x00\x01\x1a\xe1", 6));

    const std::string wrong_id = udp_exchange(socket, tracker.udp_port, udp_announce_packet(connection ^ 1, 79, hash, 6882, false));
    REQUIRE(wrong_id.size() > 8);
    CHECK(read32(wrong_id, 0) == 3);
    CHECK_THAT(wrong_id.substr(8), Catch::Contains("connection ID"));

    const std::string stats = body_of(http_get(tracker.http_port, "/stats"));
    CHECK_THAT(stats, Catch::Contains("\"peers\": 2") && Catch::Contains("\"announces\": 2"));
    // The announce with the wrong connection ID was refused, so each protocol counts one.
    CHECK_THAT(stats, Catch::Contains("\"http\": 1") && Catch::Contains("\"udp\": 1"));
    const std::string metrics = body_of(http_get(tracker.http_port, "/metrics"));
    CHECK_THAT(metrics, Catch::Contains("nearcast_tracker_peers 2"));
    CHECK_THAT(metrics, Catch::Contains("nearcast_tracker_announces_by_protocol_total{protocol=\"udp\"} 1"));
    CHECK(tracker.stop() == 0);
}

TEST_CASE("keep-alive serves many announces on one connection", "[server]") {
    tracker_process tracker;
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), tracker.http_port});
    asio::streambuf buffer;
    for (int i = 0; i < 50; ++i) {
        const std::string request = "GET " + announce_target(hash_of(1), i % 20, static_cast<std::uint16_t>(7000 + i), false) +
                                    " HTTP/1.1\r\nHost: x\r\n\r\n";
        asio::write(socket, asio::buffer(request));
        asio::read_until(socket, buffer, "\r\n\r\n");
        std::istream stream(&buffer);
        std::string line;
        std::size_t length = 0;
        while (std::getline(stream, line) && line != "\r") {
            if (line.rfind("Content-Length:", 0) == 0) length = std::stoul(line.substr(15));
        }
        if (buffer.size() < length) asio::read(socket, buffer, asio::transfer_exactly(length - buffer.size()));
        buffer.consume(length);
    }
    CHECK_THAT(body_of(http_get(tracker.http_port, "/stats")), Catch::Contains("\"announces\": 50"));
}

TEST_CASE("pipelined requests, split anywhere, are answered in order, a POST among them too", "[server]") {
    tracker_process tracker;
    const std::string requests = "GET " + announce_target(hash_of(3), 1, 7001, false) + " HTTP/1.1\r\nHost: x\r\n\r\n" +
                                 "POST /origins HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" +
                                 "GET /nothing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
                                 "GET /stats HTTP/1.1\r\nConnection: close\r\n\r\n";
    for (const std::size_t piece : {requests.size(), std::size_t{7}, std::size_t{1}}) {
        INFO("sent in pieces of " << piece << " bytes");
        asio::io_context io;
        tcp::socket socket(io);
        socket.connect({asio::ip::make_address("127.0.0.1"), tracker.http_port});
        socket.set_option(tcp::no_delay(true));
        for (std::size_t at = 0; at < requests.size(); at += piece) {
            asio::write(socket, asio::buffer(requests.substr(at, piece)));
            if (piece < requests.size()) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        std::string answers;
        boost::system::error_code error;
        char buffer[4096];
        while (std::size_t got = socket.read_some(asio::buffer(buffer), error)) answers.append(buffer, got);
        std::vector<std::string> statuses;
        for (std::size_t at = answers.find("HTTP/1.1 "); at != std::string::npos; at = answers.find("HTTP/1.1 ", at + 1)) {
            statuses.push_back(answers.substr(at + 9, 3));
        }
        CHECK(statuses == std::vector<std::string>{"200", "403", "404", "200"});
        CHECK_THAT(answers, Catch::Contains("d8:complete") && Catch::Contains("origin registration is off") &&
                                Catch::Contains("Connection: close\r\n") && Catch::EndsWith("}\n"));
    }
}

TEST_CASE("broken HTTP requests and UDP packets get an error or are dropped, and the tracker keeps serving",
          "[server]") {
    tracker_process tracker;
    const std::vector<std::string> broken_http{
        "GET /announce?info_hash=%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /announce?info_hash=abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /announce?info_hash=" + escaped(hash_of(1)) + "&peer_id=x&port=99999 HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /announce?info_hash=" + escaped(hash_of(1)) + "&numwant=99999999999999999999 HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /announce?% HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /scrape?info_hash=short HTTP/1.1\r\nConnection: close\r\n\r\n",
        "BREW /coffee HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET / HTTP/1.1\r\nX-Long: " + std::string(20'000, 'a') + "\r\n\r\n",
        "this is not HTTP at all\r\n\r\n",
        "GET /announce HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        "POST /origins HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{bad}",
        std::string("GET /\0announce HTTP/1.1\r\n\r\n", 26),
    };
    for (const std::string& request : broken_http) {
        INFO(request.substr(0, 80));
        const std::string response = http_exchange(tracker.http_port, request);
        const bool refused = response.find("failure reason") != std::string::npos ||
                             response.rfind("HTTP/1.1 4", 0) == 0 || response.empty();
        CHECK(refused);
    }
    asio::io_context io;
    udp::socket socket(io, udp::endpoint(udp::v4(), 0));
    const std::vector<std::string> broken_udp{
        "", "x", be64(udp_protocol_id) + be32(0),                       // truncated connect
        be64(0x1234) + be32(0) + be32(5),                               // bad protocol id
        be64(udp_protocol_id) + be32(9) + be32(5),                      // bad action
        be64(1) + be32(1) + be32(5) + std::string(10, 'a'),             // truncated announce
        be64(1) + be32(2) + be32(5) + std::string(19, 'a'),             // partial scrape hash
        std::string(2000, '\xff'),                                      // oversized noise
    };
    for (const std::string& packet : broken_udp) {
        const std::string answer = udp_exchange(socket, tracker.udp_port, packet);
        if (!answer.empty()) CHECK(read32(answer, 0) == 3);  // an error packet, or nothing
    }
    // Still serving.
    CHECK(tracker.running());
    CHECK_THAT(body_of(http_get(tracker.http_port, announce_target(hash_of(2), 1, 6881, false))),
               Catch::StartsWith("d8:complete"));
    CHECK(udp_exchange(socket, tracker.udp_port, be64(udp_protocol_id) + be32(0) + be32(1)).size() == 16);
}

TEST_CASE("origins register over HTTP with the admin secret and back up a lonely downloader", "[server]") {
    const std::string secret_file = temporary_path("admin.secret");
    std::ofstream(secret_file) << "an admin secret for the test\n";
    tracker_process tracker({"--admin-secret-file", secret_file});
    const std::string body =
        R"({"name": "seeder-1", "endpoints": ["127.40.0.1:6881", "127.50.0.1:6881"], "items": [{"v1": ")" +
        std::string(40, 'c') + R"("}]})";
    const auto post = [&](const std::string& authorization) {
        return http_exchange(tracker.http_port, "POST /origins HTTP/1.1\r\nHost: x\r\n" + authorization +
                                                    "Content-Type: application/json\r\nContent-Length: " +
                                                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    };
    CHECK_THAT(post(""), Catch::StartsWith("HTTP/1.1 401"));
    CHECK_THAT(post("Authorization: Bearer wrong secret for the test\r\n"), Catch::StartsWith("HTTP/1.1 401"));
    CHECK_THAT(post("Authorization: Bearer an admin secret for the test\r\n"), Catch::StartsWith("HTTP/1.1 200"));
    // Past 16 MB a registration is too large even with the secret (413 from the head), and
    // without it, it gets its 401 rather than a size error.
    const auto announced = [&](const std::string& authorization) {
        return http_exchange(tracker.http_port, "POST /origins HTTP/1.1\r\nHost: x\r\n" + authorization +
                                                    "Content-Length: 16777217\r\nConnection: close\r\n\r\n");
    };
    CHECK_THAT(announced("Authorization: Bearer an admin secret for the test\r\n"), Catch::StartsWith("HTTP/1.1 413"));
    CHECK_THAT(announced(""), Catch::StartsWith("HTTP/1.1 401"));
    const std::string answer = body_of(http_get(tracker.http_port, announce_target(hash_of(0xcc), 3, 7000, false)));
    CHECK_THAT(answer, Catch::Contains(std::string("5:peers12:\x7f\x28\x00\x01\x1a\xe1", 16)) ||
                           Catch::Contains(std::string("5:peers12:\x7f\x32\x00\x01\x1a\xe1", 16)));
    std::filesystem::remove(secret_file);
}

TEST_CASE("closed mode refuses announces without a valid token in the path", "[server]") {
    const std::string secret_file = temporary_path("token.secret");
    std::ofstream(secret_file) << "a token secret for the test\n";
    const std::string admin_file = temporary_path("admin2.secret");
    std::ofstream(admin_file) << "an admin secret for the test\n";
    tracker_process tracker({"--closed", "--token-secret-file", secret_file, "--admin-secret-file", admin_file});
    const std::string target = announce_target(hash_of(0xdd), 1, 7000, false);
    CHECK_THAT(body_of(http_get(tracker.http_port, target)), Catch::Contains("failure reason"));

    // Mint a token with the tool itself.
    const std::string command = std::string(NEARCAST_TRACKER_BINARY) + " token --token-secret-file " + secret_file +
                                " --subject tester --ttl 600";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe);
    char line[512] = {};
    REQUIRE(std::fgets(line, sizeof line, pipe));
    pclose(pipe);
    std::string token(line);
    token.erase(token.find_last_not_of("\r\n") + 1);
    const std::string with_token = "/announce/" + token + target.substr(std::string("/announce").size());
    CHECK_THAT(body_of(http_get(tracker.http_port, with_token)), Catch::Contains("unregistered torrent"));
    // The supernode endpoints need the token too (or the admin secret); /stats tells anyone the
    // totals but only the operator where the peers are.
    CHECK_THAT(http_get(tracker.http_port, "/popular?as=64512"), Catch::StartsWith("HTTP/1.1 401"));
    CHECK_THAT(http_get(tracker.http_port, "/supernode?port=7000&capacity=1000000"), Catch::StartsWith("HTTP/1.1 401"));
    CHECK_THAT(http_get(tracker.http_port, "/popular/not-a-token?as=64512"), Catch::StartsWith("HTTP/1.1 401"));
    CHECK_THAT(http_get(tracker.http_port, "/popular/" + token + "?as=64512"), Catch::StartsWith("HTTP/1.1 200"));
    CHECK_THAT(http_get(tracker.http_port, "/popular?as=64512", "Authorization: Bearer an admin secret for the test\r\n"),
               Catch::StartsWith("HTTP/1.1 200"));
    const auto anyone = nlohmann::json::parse(body_of(http_get(tracker.http_port, "/stats")));
    CHECK(anyone["peers_per_as"].empty());
    CHECK(anyone["supernodes"].empty());
    CHECK(anyone.contains("peers"));
    const auto operator_view = nlohmann::json::parse(
        body_of(http_get(tracker.http_port, "/stats", "Authorization: Bearer an admin secret for the test\r\n")));
    CHECK(operator_view["supernodes"].contains("candidates"));
    std::filesystem::remove(secret_file);
    std::filesystem::remove(admin_file);
}

TEST_CASE("bad command lines are refused with status 2 and a message", "[server]") {
    const auto status_of = [](const std::string& args) {
        const int raw = std::system((std::string(NEARCAST_TRACKER_BINARY) + " " + args + " >/dev/null 2>&1").c_str());
        return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    };
    CHECK(status_of("--help") == 0);
    CHECK(status_of("--listen-http nowhere") == 2);
    CHECK(status_of("--far-share 3") == 2);
    CHECK(status_of("--closed") == 2);
    CHECK(status_of("--origin-near-class far") == 2);
    CHECK(status_of("--config /nonexistent.ini") == 2);
    CHECK(status_of("--data /nonexistent --listen-http 127.0.0.1:0 --listen-udp 127.0.0.1:0") == 2);
}

TEST_CASE("over IPv6 an HTTP announce answers in peers6 and a UDP announce with 18-byte peers", "[server]") {
    tracker_process tracker({"--listen-http", "[::1]:0", "--listen-udp", "[::1]:0"});
    REQUIRE(tracker.http6_port != 0);
    REQUIRE(tracker.udp6_port != 0);
    const info_hash hash = hash_of(0x66);
    CHECK_THAT(body_of(http_get(tracker.http6_port, announce_target(hash, 0, 6881, true), "", "::1")),
               Catch::StartsWith("d8:completei1e"));

    asio::io_context io;
    udp::socket socket(io, udp::endpoint(udp::v6(), 0));
    const std::string connected = udp_exchange(socket, tracker.udp6_port, be64(udp_protocol_id) + be32(0) + be32(5), "::1");
    REQUIRE(connected.size() == 16);
    const std::uint64_t connection = (std::uint64_t{read32(connected, 8)} << 32) | read32(connected, 12);
    const std::string answer = udp_exchange(socket, tracker.udp6_port, udp_announce_packet(connection, 6, hash, 6882, false), "::1");
    REQUIRE(answer.size() == 20 + 18);  // one IPv6 peer: the seed, at [::1]:6881
    CHECK(answer.substr(20) == std::string(15, '\0') + std::string("\x01\x1a\xe1", 3));

    // A second IPv6 leecher over HTTP gets both others as peers6, none as IPv4 peers.
    const std::string third = body_of(http_get(tracker.http6_port, announce_target(hash, 2, 6883, false), "", "::1"));
    CHECK_THAT(third, Catch::Contains("5:peers0:") && Catch::Contains("6:peers636:"));
}

TEST_CASE("peers fetch the tracker's proximity data as a compiled snapshot, byte for byte what it ranks with",
          "[server]") {
    tracker_process from_snapshot;
    const std::string served = body_of(http_get(from_snapshot.http_port, "/proximity.ncprox"));
    std::ifstream file(NEARCAST_DEFAULT_SNAPSHOT, std::ios::binary);
    const std::string expected((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    REQUIRE(!expected.empty());
    CHECK(served == expected);

    // Routing files are compiled into a snapshot that loads and answers as the files do.
    tracker_process from_files(std::vector<std::string>{"--data", nearcast::testing::source_file("proximity/data/loopback-internet.ipasn"), "--data",
                                nearcast::testing::source_file("proximity/data/loopback-internet.as-rel")});
    const std::string compiled = body_of(http_get(from_files.http_port, "/proximity.ncprox"));
    REQUIRE(nearcast::proximity::model::is_snapshot(compiled));
    const auto routing = nearcast::proximity::model::parse_snapshot(compiled, "GET /proximity.ncprox");
    CHECK(routing.prefixes().origin_of(*nearcast::proximity::ip_address::parse("127.20.0.9")) == 64513);
    CHECK(routing.graph().adjacent(64512, 64513));
}
