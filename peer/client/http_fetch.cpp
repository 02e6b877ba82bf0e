#include "http_fetch.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace nearcast::peer::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

struct url_parts {
    bool tls = false;
    std::string host, port, target, authority;
};

url_parts split(const std::string& url) {
    url_parts parts;
    std::size_t start = 0;
    if (url.starts_with("http://")) start = 7;
    else if (url.starts_with("https://")) start = 8, parts.tls = true;
    else throw fetch_error(url + ": not an http:// or https:// URL");
    const std::size_t slash = url.find('/', start);
    parts.authority = url.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    parts.target = slash == std::string::npos ? "/" : url.substr(slash);
    if (parts.authority.empty()) throw fetch_error(url + ": no host in the URL");
    const std::size_t close = parts.authority.find(']');
    const std::size_t colon = parts.authority.rfind(':');
    if (colon != std::string::npos && (close == std::string::npos || colon > close)) {
        parts.host = parts.authority.substr(0, colon);
        parts.port = parts.authority.substr(colon + 1);
    } else {
        parts.host = parts.authority;
        parts.port = parts.tls ? "443" : "80";
    }
    if (parts.host.size() > 2 && parts.host.front() == '[') parts.host = parts.host.substr(1, parts.host.size() - 2);
    return parts;
}

struct request_parts {
    std::string method;
    const std::vector<std::pair<std::string, std::string>>& headers;
    const std::string& body;
};

template <class Stream>
std::string exchange(Stream& stream, beast::tcp_stream& lowest, const url_parts& parts, const std::string& url,
                     asio::io_context& io, std::chrono::milliseconds deadline, std::uint64_t max_bytes,
                     const request_parts& what) {
    http::request<http::string_body> request{http::string_to_verb(what.method), parts.target, 11};
    request.set(http::field::host, parts.authority);
    request.set(http::field::user_agent, "nearcast-peer/0.1");
    request.set(http::field::connection, "close");
    for (const auto& [name, value] : what.headers) request.set(name, value);
    if (!what.body.empty() || what.method == "POST") {
        request.body() = what.body;
        request.prepare_payload();
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_bytes);
    beast::error_code error;
    lowest.expires_after(deadline);
    http::async_write(stream, request, [&](beast::error_code written, std::size_t) {
        if (written) {
            error = written;
            return;
        }
        http::async_read(stream, buffer, parser, [&](beast::error_code read, std::size_t) { error = read; });
    });
    io.run();
    if (error == http::error::body_limit) throw fetch_error(url + ": larger than " + std::to_string(max_bytes) + " bytes");
    if (error) throw fetch_error(url + ": " + error.message());
    auto response = parser.release();
    if (response.result_int() / 100 != 2) {
        throw fetch_error(url + ": the server answered " + std::to_string(response.result_int()) + " " +
                          std::string(response.reason()) +
                          (response.body().empty() || response.body().size() > 300 ? "" : ": " + response.body()));
    }
    return std::move(response.body());
}

}  // namespace

std::string percent_encode(const std::string& text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else out += {'%', hex[c >> 4], hex[c & 15]};
    }
    return out;
}

std::string http_get(const std::string& url, std::chrono::milliseconds deadline, std::uint64_t max_bytes) {
    return http_request("GET", url, {}, {}, deadline, max_bytes);
}

std::string http_request(const std::string& method, const std::string& url,
                         const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
                         std::chrono::milliseconds deadline, std::uint64_t max_bytes, const std::string& source) {
    const request_parts what{method, headers, body};
    const url_parts parts = split(url);
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::error_code error;
    const auto found = resolver.resolve(parts.host, parts.port, error);
    if (error) throw fetch_error(url + ": cannot resolve " + parts.host + ": " + error.message());
    beast::tcp_stream tcp(io);
    tcp.expires_after(deadline);
    if (source.empty()) {
        tcp.async_connect(found, [&](beast::error_code connected, const auto&) { error = connected; });
    } else {
        const auto from = asio::ip::make_address(source, error);
        if (error) throw fetch_error(url + ": '" + source + "' is not an address to connect from");
        auto target = std::find_if(found.begin(), found.end(), [&](const auto& entry) { return entry.endpoint().address().is_v4() == from.is_v4(); });
        if (target == found.end()) throw fetch_error(url + ": " + parts.host + " has no address of the family of " + source);
        tcp.socket().open(target->endpoint().protocol());
        tcp.socket().bind({from, 0}, error);
        if (error) throw fetch_error(url + ": cannot connect from " + source + ": " + error.message());
        tcp.async_connect(target->endpoint(), [&](beast::error_code connected) { error = connected; });
    }
    io.run();
    io.restart();
    if (error) throw fetch_error(url + ": cannot connect: " + error.message());
    if (!parts.tls) return exchange(tcp, tcp, parts, url, io, deadline, max_bytes, what);

    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream&> stream(tcp, tls);
    SSL_set_tlsext_host_name(stream.native_handle(), parts.host.c_str());
    stream.set_verify_callback(asio::ssl::host_name_verification(parts.host));
    stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code shaken) { error = shaken; });
    io.run();
    io.restart();
    if (error) throw fetch_error(url + ": TLS handshake failed: " + error.message());
    return exchange(stream, tcp, parts, url, io, deadline, max_bytes, what);
}

}  // namespace nearcast::peer::client
