// libFuzzer target for the HTTP tracker query parsers. Any bytes must parse or be refused
// without a throw; what parses must survive being written back as a client would write it and
// read again unchanged; and every answer we encode from it must be well-formed bencode with
// sorted keys. The same bytes, read as a request head, must give a verdict that holds for
// every prefix too. A crash, a sanitizer report, a hang or a failed check (abort) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nearcast/tracker/http_protocol.hpp"
#include "nearcast/core/http_request_head.hpp"

using namespace nearcast;
using namespace nearcast::tracker;
using nearcast::core::read_simple_get;
using nearcast::core::simple_get;
using nearcast::core::simple_head_limit;

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_http_query: %s\n", what);
        std::abort();
    }
}

// A bencode reader just strict enough to hold our encoder to the format: lengths and integers
// as BEP 3 writes them, dictionary keys strictly ascending.
bool skip_bencoded(std::string_view text, std::size_t& at, int depth = 0) {
    if (at >= text.size() || depth > 8) return false;
    const char c = text[at];
    if (c == 'i') {
        const std::size_t end = text.find('e', at);
        if (end == std::string_view::npos || end == at + 1) return false;
        at = end + 1;
        return true;
    }
    if (c >= '0' && c <= '9') {
        const std::size_t colon = text.find(':', at);
        if (colon == std::string_view::npos) return false;
        std::size_t length = 0;
        for (std::size_t i = at; i < colon; ++i) {
            if (text[i] < '0' || text[i] > '9') return false;
            length = length * 10 + static_cast<std::size_t>(text[i] - '0');
            if (length > text.size()) return false;
        }
        if (colon + 1 + length > text.size()) return false;
        at = colon + 1 + length;
        return true;
    }
    if (c == 'l' || c == 'd') {
        ++at;
        std::string_view previous_key;
        bool first = true;
        while (at < text.size() && text[at] != 'e') {
            if (c == 'd') {
                const std::size_t key_start = at;
                if (!skip_bencoded(text, at, depth + 1)) return false;
                const std::size_t colon = text.find(':', key_start);
                if (colon == std::string_view::npos || colon >= at) return false;
                const std::string_view key = text.substr(colon + 1, at - colon - 1);
                if (!first && !(previous_key < key)) return false;
                previous_key = key;
                first = false;
            }
            if (!skip_bencoded(text, at, depth + 1)) return false;
        }
        if (at >= text.size()) return false;
        ++at;
        return true;
    }
    return false;
}

bool well_formed_bencode(std::string_view text) {
    std::size_t at = 0;
    return skip_bencoded(text, at) && at == text.size();
}

std::string percent_encoded(const std::array<std::uint8_t, 20>& bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    for (const std::uint8_t byte : bytes) {
        text += '%';
        text += hex[byte >> 4];
        text += hex[byte & 15];
    }
    return text;
}

const char* event_name(announce_event event) {
    switch (event) {
    case announce_event::started: return "started";
    case announce_event::completed: return "completed";
    case announce_event::stopped: return "stopped";
    case announce_event::none: return "";
    }
    return "";
}

std::string query_of(const announce_request& request) {
    std::string query = "info_hash=" + percent_encoded(request.hash) + "&peer_id=" + percent_encoded(request.id) +
                        "&port=" + std::to_string(request.port) + "&uploaded=" + std::to_string(request.uploaded) +
                        "&downloaded=" + std::to_string(request.downloaded) + "&left=" + std::to_string(request.left) +
                        "&event=" + event_name(request.event) + "&compact=1";
    if (request.numwant) query += "&numwant=" + std::to_string(*request.numwant);
    if (request.key) {
        char key[9];
        std::snprintf(key, sizeof key, "%08X", static_cast<unsigned>(*request.key));
        query += "&key=";
        query += key;
    }
    if (request.claimed_ip) query += "&ip=" + request.claimed_ip->to_string();
    return query;
}

bool same_request(const announce_request& a, const announce_request& b) {
    return a.hash == b.hash && a.id == b.id && a.port == b.port && a.uploaded == b.uploaded &&
           a.downloaded == b.downloaded && a.left == b.left && a.event == b.event && a.numwant == b.numwant &&
           a.key == b.key && a.claimed_ip == b.claimed_ip && a.access_token == b.access_token;
}

// A complete head lies inside the bytes and under the limit; cut short, the same bytes need
// more; a head left to the full parser stays left to it however many bytes follow.
void check_request_head(std::string_view bytes) {
    const simple_get head = read_simple_get(bytes);
    if (head.result == simple_get::verdict::complete) {
        check(head.size <= bytes.size() && head.size <= simple_head_limit, "a head larger than its bytes or the limit");
        check(head.target.data() >= bytes.data() && head.target.data() + head.target.size() <= bytes.data() + head.size,
              "a target outside its head");
        check(!head.target.empty() && head.target.front() == '/', "a target not starting with '/'");
        check(read_simple_get(bytes.substr(0, head.size - 1)).result == simple_get::verdict::need_more,
              "a head cut short is not waiting for more");
    } else if (head.result == simple_get::verdict::need_more) {
        check(bytes.size() < simple_head_limit, "waiting for more past the limit");
    } else if (bytes.size() < simple_head_limit) {
        check(read_simple_get(std::string(bytes) + "\r\n\r\n").result == simple_get::verdict::not_simple,
              "a head left to the full parser was taken once more bytes came");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view query(reinterpret_cast<const char*>(data), size);
    check_request_head(query);

    const auto announce = parse_announce_query(query);
    if (const auto* failure = std::get_if<tracker_failure>(&announce)) {
        check(!failure->reason.empty(), "an announce refusal without a reason");
        check(well_formed_bencode(encode_failure(failure->reason)), "a failure answer is not bencode");
    } else {
        const announce_request& request = std::get<announce_request>(announce);
        check(request.port != 0, "an announce to port 0 was accepted");
        const auto again = parse_announce_query(query_of(request));
        check(std::holds_alternative<announce_request>(again), "a re-encoded announce was refused");
        check(same_request(request, std::get<announce_request>(again)), "a re-encoded announce reads differently");

        announce_response response;
        response.complete = request.numwant.value_or(0);
        response.incomplete = request.key.value_or(0);
        response.peers.push_back({proximity::ip_address::v4(0x7f000001), request.port});
        if (request.claimed_ip) response.peers.push_back({*request.claimed_ip, request.port});
        response.warning.assign(reinterpret_cast<const char*>(request.id.data()), request.id.size());
        check(well_formed_bencode(encode_announce(response)), "an announce answer is not bencode");
    }

    const auto scrape = parse_scrape_query(query);
    if (const auto* failure = std::get_if<tracker_failure>(&scrape)) {
        check(!failure->reason.empty(), "a scrape refusal without a reason");
    } else {
        const scrape_request& request = std::get<scrape_request>(scrape);
        check(request.hashes.size() <= max_scrape_hashes, "a scrape past the cap was accepted");
        scrape_response response;
        std::uint32_t count = 0;
        for (const info_hash& hash : request.hashes) response.files.push_back({hash, count++, 1, 2});
        check(well_formed_bencode(encode_scrape(response)), "a scrape answer is not bencode");
    }
    return 0;
}
