// libFuzzer target for the tracker's HTTP service behind the socket: the routes and their
// queries, the tokens in closed-mode paths (/announce/<token>, /supernode/<token>), the JSON
// body of POST /origins, the /supernode and /popular queries, then the supernode election over
// what was reported. Each input is a few requests, run against a fresh open tracker and a fresh
// closed one (the same code the server runs: tracker/server/service.cpp is compiled in).
//
// Requests are separated by NUL bytes; each is "METHOD TARGET\nAUTHORIZATION\nBODY". The
// authorization "admin" stands for the admin secret's bearer header and a path segment "TOKEN"
// for a valid access token, so the fuzzer reaches what lies behind them; everything else is
// taken as given. Requests come in turn from a few addresses (IPv4 and IPv6, inside and outside
// the routing data), a second apart.
//
// Nothing may throw out of the service (the server would lose the connection, or worse); every
// answer has an HTTP status, and an answer said to be JSON must be JSON.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nearcast/proximity/loaders.hpp"
#include "nearcast/proximity/model.hpp"
#include "nearcast/tracker/access_tokens.hpp"
#include "service.hpp"

using namespace nearcast;
using namespace nearcast::tracker;
using namespace nearcast::tracker::server;

namespace {

constexpr std::string_view admin_secret = "fuzz-admin-secret-0123456789";
constexpr std::string_view token_secret = "fuzz-token-secret-0123456789";
constexpr std::uint64_t start_ms = 1'700'000'000'000;

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_tracker_service: %s\n", what);
        std::abort();
    }
}

struct fixture {
    server_options open;
    server_options closed;
    std::shared_ptr<const proximity::model> routing;
    std::string token;
    std::vector<endpoint> sources;
};

const fixture& setup() {
    static const fixture made = [] {
        spdlog::set_level(spdlog::level::off);
        char folder[] = "/tmp/nearcast-fuzz-tracker-XXXXXX";
        check(::mkdtemp(folder) != nullptr, "cannot make a folder under /tmp");
        static const std::string kept = folder;
        std::atexit([] { std::filesystem::remove_all(kept); });
        std::ofstream(kept + "/admin") << admin_secret << "\n";
        std::ofstream(kept + "/tokens") << token_secret << "\n";

        fixture f;
        f.open.admin_secret_file = kept + "/admin";
        f.open.tracker.announce_rate = 0;  // requests a second apart from one address are no flood here
        f.open.supernode_min_peers = 1;
        f.open.supernode_min_uptime_s = 0;
        f.open.supernode_min_capacity = 1;
        f.open.supernode_election_s = 1;  // an election after every request
        f.closed = f.open;
        f.closed.tracker.closed = true;
        f.closed.token_secret_file = kept + "/tokens";
        f.token = access_tokens(std::string(token_secret)).issue("fuzz", start_ms / 1000 + 86400);

        std::vector<proximity::routing_data> sources;
        sources.push_back(proximity::parse_ipasn("127.10.0.0/16\t64512\n127.11.0.0/16\t64512\n127.20.0.0/16\t64513\n"
                                                 "127.50.0.0/16\t64516\n2001:db8::/32\t64520\n",
                                                 "fuzz.ipasn"));
        sources.push_back(proximity::parse_as_relationships("64512|64513|-1\n64513|64516|0\n64516|64520|-1\n", "fuzz.as-rel"));
        f.routing = std::make_shared<const proximity::model>(proximity::model::combine(std::move(sources)));
        for (const char* address : {"127.10.0.1", "127.11.0.2", "127.20.0.1", "127.50.0.9", "10.0.0.1", "2001:db8::1", "::1"}) {
            f.sources.push_back({*proximity::ip_address::parse(address), 6881});
        }
        return f;
    }();
    return made;
}

struct request {
    std::string method, target, authorization, body;
};

request read_request(std::string_view text, const fixture& f) {
    request out;
    const std::size_t first_line = text.find('\n');
    const std::string_view head = text.substr(0, first_line);
    const std::size_t space = head.find(' ');
    out.method = head.substr(0, space);
    out.target = space == std::string_view::npos ? "" : head.substr(space + 1);
    if (first_line != std::string_view::npos) {
        const std::string_view rest = text.substr(first_line + 1);
        const std::size_t second_line = rest.find('\n');
        out.authorization = rest.substr(0, second_line);
        if (second_line != std::string_view::npos) out.body = rest.substr(second_line + 1);
    }
    if (out.authorization == "admin") out.authorization = "Bearer " + std::string(admin_secret);
    for (std::size_t at = out.target.find("/TOKEN"); at != std::string::npos; at = out.target.find("/TOKEN", at + 1)) {
        out.target.replace(at + 1, 5, f.token);
    }
    return out;
}

void check_answer(const http_answer& answer) {
    check(answer.status >= 200 && answer.status < 600, "an answer without an HTTP status");
    if (answer.content_type == "application/json") {
        check(nlohmann::json::accept(answer.body), "an answer said to be JSON is not JSON");
    }
}

void run(const server_options& options, const std::vector<request>& requests, const fixture& f) {
    tracker_service service(options, f.routing);
    std::uint64_t now_ms = start_ms;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const request& each = requests[i];
        const endpoint& source = f.sources[i % f.sources.size()];
        now_ms += 1000;
        try {
            (void)service.body_limit(each.method, each.target, each.authorization);
            check_answer(service.handle_http(each.method, each.target, each.authorization, each.body, source, now_ms));
            // The server checks each candidate it is given, and reports back.
            for (const endpoint& candidate : service.supernode_tick(now_ms)) {
                service.supernode_reachability(candidate, candidate.port % 2 == 1, now_ms);
            }
        } catch (const std::exception& error) {
            std::fprintf(stderr, "%s %s: %s\n", each.method.c_str(), each.target.c_str(), error.what());
            check(false, "an exception escaped the tracker service");
        }
    }
    now_ms += 3'600'000;
    service.expire(now_ms);
    check_answer(service.handle_http("GET", "/stats", "Bearer " + std::string(admin_secret), "", f.sources[0], now_ms));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fixture& f = setup();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<request> requests;
    std::size_t at = 0;
    while (at <= input.size() && requests.size() < 64) {
        std::size_t end = input.find('\0', at);
        if (end == std::string_view::npos) end = input.size();
        requests.push_back(read_request(input.substr(at, end - at), f));
        at = end + 1;
    }
    run(f.open, requests, f);
    run(f.closed, requests, f);
    return 0;
}
