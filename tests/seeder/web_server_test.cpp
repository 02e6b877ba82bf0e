// The web seed in-process on 127.0.0.1 over real files in a temporary folder, spoken to in
// raw HTTP/1.1 over a real socket, as libtorrent and aria2c speak to it.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "web_server.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace nearcast::seeder::server;

namespace {

const std::string single_hash(40, 'a');  // a single-file torrent "single.bin", plus big.bin and empty.bin
const std::string album_hash(40, 'b');   // a multi-file torrent "album"

std::string pattern_bytes(std::size_t size, std::uint32_t seed) {
    std::mt19937 generator(seed);
    std::string bytes(size, '\0');
    for (char& byte : bytes) byte = static_cast<char>(generator() & 0xff);
    return bytes;
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

// A web_server on its own thread, serving two items from a fresh temporary folder.
class running_web_seed {
public:
    running_web_seed() {
        static std::atomic<int> instances{0};
        folder_ = std::filesystem::temp_directory_path() /
                  ("nearcast-web-seed-" + std::to_string(::getpid()) + "-" + std::to_string(++instances));
        std::filesystem::remove_all(folder_);
        write_file(folder_ / "single" / "single.bin", single);
        write_file(folder_ / "single" / "big.bin", big);
        write_file(folder_ / "single" / "empty.bin", "");
        write_file(folder_ / "album" / "album" / "disc 1" / "track #1.bin", track);
        write_file(folder_ / "outside.txt", "nobody may read this\n");

        web_routes routes;
        routes.item_root = [this](std::string_view hash) -> std::optional<std::filesystem::path> {
            if (hash == single_hash) return folder_ / "single";
            if (hash == album_hash) return folder_ / "album";
            return std::nullopt;
        };
        routes.served = [this](std::string_view hash, std::uint64_t bytes) {
            const std::lock_guard lock(served_mutex_);
            served_[std::string(hash)] += bytes;
        };
        routes.other = [](std::string_view method, std::string_view target) -> std::optional<simple_answer> {
            if (method == "GET" && target == "/stats") return simple_answer{200, "application/json", "{\"items\": 2}\n"};
            return std::nullopt;
        };
        server_.emplace(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), std::move(routes));
        server_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    ~running_web_seed() {
        server_.reset();
        work_.reset();
        io_.stop();
        thread_.join();
        std::filesystem::remove_all(folder_);
    }

    std::uint16_t port() const { return server_->local_endpoint().port(); }

    // Waits a little: the count is made on the server's thread as bytes leave, which can be
    // just after the client has them.
    std::uint64_t served_for(const std::string& hash, std::uint64_t expected) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (true) {
            {
                const std::lock_guard lock(served_mutex_);
                if (served_[hash] >= expected || std::chrono::steady_clock::now() > give_up) return served_[hash];
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    const std::string single = pattern_bytes(1000, 1);
    const std::string big = pattern_bytes(5 * 1024 * 1024, 2);
    const std::string track = pattern_bytes(3000, 3);

private:
    std::filesystem::path folder_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    std::optional<web_server> server_;
    std::thread thread_;
    std::mutex served_mutex_;
    std::map<std::string, std::uint64_t> served_;
};

struct http_response {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // names in lowercase
    std::string body;

    std::string header(const std::string& name) const {
        const auto found = headers.find(name);
        return found == headers.end() ? "" : found->second;
    }
};

// One client connection; reads responses by their Content-Length, as keep-alive needs.
class http_connection {
public:
    explicit http_connection(std::uint16_t port) : socket_(io_) {
        socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    }

    http_response request(const std::string& method, const std::string& target, const std::string& headers = "") {
        send(request_text(method, target, headers));
        return response(method == "HEAD");
    }

    static std::string request_text(const std::string& method, const std::string& target, const std::string& headers = "") {
        return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
    }

    void send(const std::string& raw) { asio::write(socket_, asio::buffer(raw)); }

    http_response response(bool to_head) {
        const std::size_t head_size = asio::read_until(socket_, asio::dynamic_buffer(pending_), "\r\n\r\n");
        std::istringstream head(pending_.substr(0, head_size));
        pending_.erase(0, head_size);
        http_response answer;
        std::string version, line;
        head >> version >> answer.status;
        std::getline(head, line);
        while (std::getline(head, line) && line != "\r") {
            const std::size_t colon = line.find(':');
            std::string name = line.substr(0, colon);
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            answer.headers[name] = line.substr(colon + 2, line.size() - colon - 3);  // ": " and the '\r'
        }
        const std::size_t length =
            to_head || answer.status == 304 || answer.header("content-length").empty() ? 0 : std::stoul(answer.header("content-length"));
        if (pending_.size() < length) {
            asio::read(socket_, asio::dynamic_buffer(pending_), asio::transfer_exactly(length - pending_.size()));
        }
        answer.body = pending_.substr(0, length);
        pending_.erase(0, length);
        return answer;
    }

    void read_some_bytes(std::size_t count) {
        if (pending_.size() < count) {
            asio::read(socket_, asio::dynamic_buffer(pending_), asio::transfer_exactly(count - pending_.size()));
        }
    }

    // True when the server has closed its side and sent nothing more.
    bool closed_by_server() {
        boost::system::error_code error;
        char byte;
        const std::size_t got = socket_.read_some(asio::buffer(&byte, 1), error);
        return got == 0 && error == asio::error::eof && pending_.empty();
    }

private:
    asio::io_context io_;
    tcp::socket socket_;
    std::string pending_;
};

http_response get(std::uint16_t port, const std::string& target, const std::string& headers = "") {
    return http_connection(port).request("GET", target, headers);
}

const std::string single_target = "/items/" + single_hash + "/single.bin";

// Asks single.bin for `range` and checks a 206 of one part: its Content-Range and its bytes.
void check_one_part(const running_web_seed& seed, const std::string& range, std::size_t first, std::size_t last) {
    INFO(range);
    const http_response answer = get(seed.port(), single_target, "Range: " + range + "\r\n");
    CHECK(answer.status == 206);
    CHECK(answer.header("content-range") == "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/1000");
    CHECK(answer.body == seed.single.substr(first, last - first + 1));
}

}  // namespace

TEST_CASE("a whole file is served with 200, its length, validators and Accept-Ranges", "[web_server]") {
    running_web_seed seed;
    const http_response answer = get(seed.port(), single_target);
    CHECK(answer.status == 200);
    CHECK(answer.body == seed.single);
    CHECK(answer.header("content-length") == "1000");
    CHECK(answer.header("accept-ranges") == "bytes");
    CHECK(answer.header("content-type") == "application/octet-stream");
    CHECK_THAT(answer.header("etag"), Catch::StartsWith("\"3e8-") && Catch::EndsWith("\""));
    CHECK_THAT(answer.header("last-modified"), Catch::EndsWith(" GMT"));
    CHECK(seed.served_for(single_hash, 1000) == 1000);
}

TEST_CASE("a single range is served as 206 with its Content-Range", "[web_server]") {
    running_web_seed seed;
    check_one_part(seed, "bytes=100-199", 100, 199);
    check_one_part(seed, "bytes=900-", 900, 999);
}

TEST_CASE("a suffix range longer than the file gives the whole file as 206", "[web_server]") {
    running_web_seed seed;
    check_one_part(seed, "bytes=-5000", 0, 999);
    check_one_part(seed, "bytes=-10", 990, 999);
}

TEST_CASE("a range that runs past the end is cut at the last byte", "[web_server]") {
    running_web_seed seed;
    check_one_part(seed, "bytes=990-5000", 990, 999);
}

TEST_CASE("a range that starts past the end gives 416 with the size in Content-Range", "[web_server]") {
    running_web_seed seed;
    const http_response answer = get(seed.port(), single_target, "Range: bytes=1000-\r\n");
    CHECK(answer.status == 416);
    CHECK(answer.header("content-range") == "bytes */1000");
    const http_response empty = get(seed.port(), "/items/" + single_hash + "/empty.bin", "Range: bytes=0-0\r\n");
    CHECK(empty.status == 416);
    CHECK(empty.header("content-range") == "bytes */0");
}

TEST_CASE("an empty file is served whole with a zero length", "[web_server]") {
    running_web_seed seed;
    const http_response answer = get(seed.port(), "/items/" + single_hash + "/empty.bin");
    CHECK(answer.status == 200);
    CHECK(answer.header("content-length") == "0");
    CHECK(answer.body.empty());
}

TEST_CASE("several ranges come back as multipart/byteranges, byte for byte", "[web_server]") {
    running_web_seed seed;
    const http_response answer = get(seed.port(), single_target, "Range: bytes=0-0,10-20,-5\r\n");
    REQUIRE(answer.status == 206);
    const std::string prefix = "multipart/byteranges; boundary=";
    REQUIRE_THAT(answer.header("content-type"), Catch::StartsWith(prefix));
    const std::string boundary = answer.header("content-type").substr(prefix.size());
    CHECK(answer.header("content-range").empty());
    const auto part = [&](const std::string& range, const std::string& bytes) {
        return "--" + boundary + "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes " + range +
               "/1000\r\n\r\n" + bytes;
    };
    const std::string expected = part("0-0", seed.single.substr(0, 1)) + "\r\n" + part("10-20", seed.single.substr(10, 11)) +
                                 "\r\n" + part("995-999", seed.single.substr(995)) + "\r\n--" + boundary + "--\r\n";
    CHECK(answer.body == expected);
    CHECK(answer.header("content-length") == std::to_string(expected.size()));
    CHECK(seed.served_for(single_hash, 17) == 17);
}

TEST_CASE("overlapping ranges are coalesced into one part", "[web_server]") {
    running_web_seed seed;
    check_one_part(seed, "bytes=0-50,40-99", 0, 99);
}

TEST_CASE("a malformed Range header, or too many ranges, is ignored and the whole file served", "[web_server]") {
    running_web_seed seed;
    std::string many = "bytes=0-0";
    for (int i = 1; i <= 20; ++i) many += "," + std::to_string(i * 10) + "-" + std::to_string(i * 10);
    for (const std::string& range : {std::string("bytes=20-10"), std::string("bytes=abc"), many}) {
        INFO(range);
        const http_response answer = get(seed.port(), single_target, "Range: " + range + "\r\n");
        CHECK(answer.status == 200);
        CHECK(answer.body == seed.single);
    }
}

TEST_CASE("HEAD gives the headers of GET without a body, and ignores Range", "[web_server]") {
    running_web_seed seed;
    http_connection connection(seed.port());
    const http_response head = connection.request("HEAD", single_target, "Range: bytes=0-9\r\n");
    CHECK(head.status == 200);
    CHECK(head.header("content-length") == "1000");
    CHECK_FALSE(head.header("etag").empty());
    // Had a body followed the HEAD answer, this second answer would not parse.
    const http_response after = connection.request("GET", single_target, "Range: bytes=0-9\r\n");
    CHECK(after.status == 206);
    CHECK(after.body == seed.single.substr(0, 10));
}

TEST_CASE("If-None-Match with the current ETag gives 304 without a body", "[web_server]") {
    running_web_seed seed;
    http_connection connection(seed.port());
    const std::string etag = connection.request("GET", single_target).header("etag");
    const http_response same = connection.request("GET", single_target, "If-None-Match: \"x\", " + etag + "\r\n");
    CHECK(same.status == 304);
    CHECK(same.header("etag") == etag);
    CHECK(same.body.empty());
    const http_response changed = connection.request("GET", single_target, "If-None-Match: \"x\"\r\n");
    CHECK(changed.status == 200);
    CHECK(changed.body == seed.single);
}

TEST_CASE("If-Range with the current validator serves the range, with a stale one the whole file", "[web_server]") {
    running_web_seed seed;
    const http_response whole = get(seed.port(), single_target);
    const http_response by_tag = get(seed.port(), single_target, "Range: bytes=0-9\r\nIf-Range: " + whole.header("etag") + "\r\n");
    CHECK(by_tag.status == 206);
    CHECK(by_tag.body == seed.single.substr(0, 10));
    const http_response by_date =
        get(seed.port(), single_target, "Range: bytes=0-9\r\nIf-Range: " + whole.header("last-modified") + "\r\n");
    CHECK(by_date.status == 206);
    const http_response stale = get(seed.port(), single_target, "Range: bytes=0-9\r\nIf-Range: \"stale\"\r\n");
    CHECK(stale.status == 200);
    CHECK(stale.body == seed.single);
}

TEST_CASE("a file of a multi-file torrent is found by its percent-encoded path", "[web_server]") {
    running_web_seed seed;
    const http_response answer = get(seed.port(), "/items/" + album_hash + "/album/disc%201/track%20%231.bin");
    CHECK(answer.status == 200);
    CHECK(answer.body == seed.track);
    // Clients may write the hash in capitals; it names the same item.
    std::string upper = album_hash;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(get(seed.port(), "/items/" + upper + "/album/disc%201/track%20%231.bin").status == 200);
    CHECK(seed.served_for(album_hash, 6000) == 6000);
}

TEST_CASE("a missing file, a folder and an unknown or malformed hash give 404", "[web_server]") {
    running_web_seed seed;
    for (const std::string& target :
         {"/items/" + single_hash + "/missing.bin", "/items/" + album_hash + "/album", "/items/" + album_hash + "/album/disc%201",
          "/items/" + std::string(40, 'c') + "/single.bin", "/items/" + std::string(40, 'g') + "/single.bin",
          std::string("/items/abc/single.bin"), "/items/" + single_hash, "/items/" + single_hash + "/",
          "/items/" + single_hash + "/single.bin/x"}) {
        INFO(target);
        CHECK(get(seed.port(), target).status == 404);
    }
}

TEST_CASE("paths that try to leave the item's folder or are badly encoded get 400", "[web_server]") {
    running_web_seed seed;
    for (const char* rest : {"../outside.txt", "%2e%2e/outside.txt", "%2E%2E/outside.txt", "..%2foutside.txt",
                                    "single.bin/../../outside.txt", "./single.bin", "x//single.bin", "..%5coutside.txt",
                                    "single%zz.bin", "single.bin%00", "%2fetc%2fpasswd"}) {
        INFO(rest);
        const http_response answer = get(seed.port(), "/items/" + single_hash + "/" + rest);
        CHECK(answer.status == 400);
        CHECK(answer.body.find("nobody may read this") == std::string::npos);
    }
}

TEST_CASE("two requests on one keep-alive connection are both answered", "[web_server]") {
    running_web_seed seed;
    http_connection connection(seed.port());
    const http_response first = connection.request("GET", single_target, "Range: bytes=0-499\r\n");
    const http_response second = connection.request("GET", single_target, "Range: bytes=500-999\r\n");
    CHECK(first.status == 206);
    CHECK(second.status == 206);
    CHECK(first.body + second.body == seed.single);
    const http_response last = connection.request("GET", "/stats", "Connection: close\r\n");
    CHECK(last.status == 200);
    CHECK(connection.closed_by_server());
}

TEST_CASE("pipelined requests are answered in order", "[web_server]") {
    running_web_seed seed;
    http_connection connection(seed.port());
    connection.send(http_connection::request_text("GET", single_target, "Range: bytes=0-9\r\n") +
                    http_connection::request_text("HEAD", single_target) +
                    http_connection::request_text("GET", single_target, "Range: bytes=10-19\r\n"));
    CHECK(connection.response(false).body == seed.single.substr(0, 10));
    CHECK(connection.response(true).status == 200);
    CHECK(connection.response(false).body == seed.single.substr(10, 10));
}

TEST_CASE("a 5 MiB file arrives byte for byte, whole and in ranges, and its bytes are counted", "[web_server]") {
    running_web_seed seed;
    http_connection connection(seed.port());
    const http_response whole = connection.request("GET", "/items/" + single_hash + "/big.bin");
    CHECK(whole.status == 200);
    CHECK(whole.body.size() == seed.big.size());
    CHECK(whole.body == seed.big);
    const http_response middle = connection.request("GET", "/items/" + single_hash + "/big.bin", "Range: bytes=1000000-4999999\r\n");
    CHECK(middle.status == 206);
    CHECK(middle.body == seed.big.substr(1000000, 4000000));
    CHECK(seed.served_for(single_hash, seed.big.size() + 4000000) == seed.big.size() + 4000000);
}

TEST_CASE("several clients download the 5 MiB file at once", "[web_server]") {
    running_web_seed seed;
    std::vector<std::thread> clients;
    std::atomic<int> complete{0};
    for (int i = 0; i < 4; ++i) {
        clients.emplace_back([&] {
            if (get(seed.port(), "/items/" + single_hash + "/big.bin").body == seed.big) ++complete;
        });
    }
    for (auto& client : clients) client.join();
    CHECK(complete == 4);
}

TEST_CASE("clients that hang up in the middle of a transfer leave the server serving", "[web_server]") {
    running_web_seed seed;
    for (int i = 0; i < 8; ++i) {
        http_connection connection(seed.port());
        connection.send(http_connection::request_text("GET", "/items/" + single_hash + "/big.bin"));
        connection.read_some_bytes(64 * 1024);
    }  // each closes with most of the file unsent
    CHECK(get(seed.port(), "/items/" + single_hash + "/big.bin").body == seed.big);
}

TEST_CASE("other methods on an item get 405 with Allow", "[web_server]") {
    running_web_seed seed;
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
        INFO(method);
        const http_response answer = http_connection(seed.port()).request(method, single_target, "Content-Length: 0\r\n");
        CHECK(answer.status == 405);
        CHECK(answer.header("allow") == "GET, HEAD");
    }
}

TEST_CASE("paths outside /items/ go to the other route, or get 404", "[web_server]") {
    running_web_seed seed;
    const http_response stats = get(seed.port(), "/stats");
    CHECK(stats.status == 200);
    CHECK(stats.header("content-type") == "application/json");
    CHECK(stats.body == "{\"items\": 2}\n");
    CHECK(get(seed.port(), "/nothing").status == 404);
    CHECK(get(seed.port(), "/").status == 404);
}

TEST_CASE("a request with oversized headers is refused and the connection closed", "[web_server]") {
    running_web_seed seed;
    http_connection connection(seed.port());
    const http_response answer = connection.request("GET", single_target, "X-Filler: " + std::string(20000, 'x') + "\r\n");
    CHECK(answer.status == 431);
    CHECK(connection.closed_by_server());
}
