#include "tracker_client.hpp"

#include "nearcast/seeder/torrent_maker.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <libtorrent/bdecode.hpp>
#include <nlohmann/json.hpp>

namespace nearcast::seeder::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace lt = libtorrent;

http_reply http_request(const std::string& method, const std::string& base, const std::string& target,
                        const std::string& body, const std::string& bearer, std::chrono::milliseconds deadline) {
    if (!base.starts_with("http://")) throw std::runtime_error(base + ": only http:// is supported here");
    const std::string authority = base.substr(7, base.find('/', 7) == std::string::npos ? std::string::npos : base.find('/', 7) - 7);
    const std::size_t colon = authority.rfind(':');
    const bool bracketed = !authority.empty() && authority.front() == '[';
    std::string host = colon == std::string::npos || (bracketed && authority.back() == ']') ? authority : authority.substr(0, colon);
    const std::string port = colon == std::string::npos || (bracketed && authority.back() == ']') ? "80" : authority.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);

    asio::io_context io;
    beast::tcp_stream stream(io);
    beast::error_code error;
    asio::ip::tcp::resolver resolver(io);
    const auto found = resolver.resolve(host, port, error);
    if (error) throw std::runtime_error(base + ": cannot resolve: " + error.message());
    stream.expires_after(deadline);
    http::request<http::string_body> request{method == "POST" ? http::verb::post : http::verb::get, target, 11};
    request.set(http::field::host, authority);
    request.set(http::field::user_agent, "nearcast-seeder/0.1");
    if (!bearer.empty()) request.set(http::field::authorization, "Bearer " + bearer);
    if (!body.empty()) {
        request.set(http::field::content_type, "application/json");
        request.body() = body;
    }
    request.prepare_payload();
    http::response<http::string_body> response;
    beast::flat_buffer buffer;
    // Asynchronous calls under one timer, so that the deadline covers connect, write and read.
    stream.async_connect(found, [&](beast::error_code connected, const auto&) {
        if (connected) {
            error = connected;
            return;
        }
        http::async_write(stream, request, [&](beast::error_code written, std::size_t) {
            if (written) {
                error = written;
                return;
            }
            http::async_read(stream, buffer, response, [&](beast::error_code read, std::size_t) { error = read; });
        });
    });
    io.run();
    if (error) throw std::runtime_error(base + target + ": " + error.message());
    return {response.result_int(), response.body()};
}

std::map<std::string, swarm_count> scrape(const std::string& base, const std::vector<std::string>& v1_hexes,
                                          std::chrono::milliseconds deadline) {
    std::map<std::string, swarm_count> counts;
    constexpr std::size_t per_request = 100;  // what trackers take in one scrape
    for (std::size_t start = 0; start < v1_hexes.size(); start += per_request) {
        std::string target = "/scrape?";
        for (std::size_t i = start; i < std::min(v1_hexes.size(), start + per_request); ++i) {
            target += i == start ? "info_hash=" : "&info_hash=";
            for (std::size_t digit = 0; digit + 1 < v1_hexes[i].size(); digit += 2) target += "%" + v1_hexes[i].substr(digit, 2);
        }
        const http_reply reply = http_request("GET", base, target, "", "", deadline);
        if (reply.status != 200) throw std::runtime_error(base + "/scrape answered " + std::to_string(reply.status));
        lt::error_code error;
        const lt::bdecode_node root = lt::bdecode(reply.body, error);
        const lt::bdecode_node files = error ? lt::bdecode_node() : root.dict_find_dict("files");
        if (!files) throw std::runtime_error(base + "/scrape: not a scrape answer");
        for (int i = 0; i < files.dict_size(); ++i) {
            const auto [hash, entry] = files.dict_at(i);
            if (hash.size() != 20 || entry.type() != lt::bdecode_node::dict_t) continue;
            counts[hex_string({hash.data(), hash.size()})] = {static_cast<std::uint32_t>(entry.dict_find_int_value("complete", 0)),
                           static_cast<std::uint32_t>(entry.dict_find_int_value("incomplete", 0))};
        }
    }
    return counts;
}

std::string registration_body(const std::string& name, const std::string& bittorrent_endpoint,
                              const std::vector<catalogue_item>& items, std::uint64_t served_bytes) {
    nlohmann::json document{{"name", name}, {"endpoints", {bittorrent_endpoint}}, {"items", nlohmann::json::array()},
                            {"served_bytes", served_bytes}};
    auto& list = document["items"];
    for (const auto& item : items) {
        nlohmann::json entry{{"v1", item.v1_hex}};
        if (!item.v2_hex.empty()) entry["v2"] = item.v2_hex;
        list.push_back(std::move(entry));
    }
    return document.dump();
}

}  // namespace nearcast::seeder::server
