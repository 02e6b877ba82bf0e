// libFuzzer target for what nearcast-peer reads from users and local clients: the control API's
// query strings and /limits values, the item sent to POST /fetch (a magnet link or .torrent
// bytes, read as the daemon reads them), the Host and Origin headers its control API and stream
// server check, and ADDRESS:PORT option values. The first byte picks the parser. Nothing may
// crash or throw anything but the documented errors; query pairs must survive being encoded
// again with percent_encode; limits accepted must be within their documented bounds; an item
// accepted must have an info hash; a Host accepted must name localhost or an IP address.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <libtorrent/torrent_info.hpp>

#include "control_api.hpp"
#include "http_fetch.hpp"
#include "nearcast/core/host_check.hpp"
#include "nearcast/peer/cache_policy.hpp"
#include "nearcast/peer/item_source.hpp"
#include "options.hpp"

using namespace nearcast;
using namespace nearcast::peer;
using namespace nearcast::peer::client;

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_peer_input: %s\n", what);
        std::abort();
    }
}

void query(const std::string& text) {
    const auto pairs = query_pairs(text);
    std::string again;
    for (const auto& [name, value] : pairs) {
        if (!again.empty()) again += '&';
        again += percent_encode(name) + "=" + percent_encode(value);
    }
    check(query_pairs(again) == pairs, "query pairs read differently once encoded again");
    for (const auto& pair : pairs) {
        // The first of a repeated name is the one asked for.
        const auto first = std::find_if(pairs.begin(), pairs.end(), [&](const auto& other) { return other.first == pair.first; });
        check(query_value(text, pair.first) == first->second, "a name's value is not its first in the query");
    }
    try {
        const limit_change change = parse_limit_change(pairs);
        check(!change.upload_rate || (*change.upload_rate >= 0 && *change.upload_rate <= 10'000'000'000),
              "an upload limit outside 0 to 10 GB/s was accepted");
        check(!change.download_rate || (*change.download_rate >= 0 && *change.download_rate <= 10'000'000'000),
              "a download limit outside 0 to 10 GB/s was accepted");
        check(!change.monthly_bytes || *change.monthly_bytes <= 1'000'000'000'000'000ull,
              "a monthly cap above 1 PB was accepted");
    } catch (const std::invalid_argument& error) {
        check(*error.what() != '\0', "a limit refused without a reason");
    }
}

// As the daemon's POST /fetch reads its body.
void fetched_item(const std::string& body) {
    try {
        const lt::add_torrent_params params =
            body.starts_with("magnet:") ? params_from_magnet(body) : params_from_torrent(body, "the item sent to /fetch");
        const lt::info_hash_t hashes = params.ti ? params.ti->info_hashes() : params.info_hashes;
        check(hashes.has_v1() || hashes.has_v2(), "an item without an info hash was accepted");
        const std::string id = item_id(hashes);
        check(id.size() == 40 || id.size() == 64, "an item id is not a hex hash");
    } catch (const item_error& error) {
        check(*error.what() != '\0', "an item refused without a reason");
    }
}

void host_headers(std::string_view bytes) {
    if (bytes.size() < 2) return;
    const auto port = static_cast<std::uint16_t>((static_cast<unsigned char>(bytes[0]) << 8) | static_cast<unsigned char>(bytes[1]));
    const std::string_view header = bytes.substr(2);
    if (core::host_is_local(header, port)) {
        // The name part: "localhost", or an address literal (an IPv6 one in brackets, which may
        // carry a zone after '%'). A DNS name, the way a rebinding attack comes, never passes.
        std::string_view name = header.front() == '[' ? header.substr(1, header.find(']') - 1)
                                                      : header.substr(0, header.rfind(':'));
        name = name.substr(0, name.find('%'));
        check(name == "localhost" || name.find_first_not_of("0123456789abcdefABCDEF:.") == std::string_view::npos,
              "a Host that is neither localhost nor an address was taken as local");
    }
    (void)core::origin_is_local(header, port);
}

void endpoint(const std::string& text) {
    try {
        (void)parse_endpoint(text, "--listen-http");
    } catch (const item_error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0: query(rest); break;
        case 1: fetched_item(rest); break;
        case 2: host_headers(rest); break;
        default: endpoint(rest); break;
    }
    return 0;
}
