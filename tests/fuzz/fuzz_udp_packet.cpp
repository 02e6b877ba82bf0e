// libFuzzer target for the UDP tracker packet parser. Any datagram must parse or be refused
// without a throw; what parses must survive being written back as a client would write it and
// read again unchanged; and the answers we encode must have the sizes BEP 15 gives them. A
// crash, a sanitizer report, a hang or a failed check (abort) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "nearcast/tracker/udp_protocol.hpp"

using namespace nearcast;
using namespace nearcast::tracker;

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_udp_packet: %s\n", what);
        std::abort();
    }
}

void append_big_endian(std::string& out, std::uint64_t value, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

std::string packet_of(const udp_announce& announce) {
    const announce_request& request = announce.request;
    std::string packet;
    append_big_endian(packet, announce.connection_id, 8);
    append_big_endian(packet, 1, 4);
    append_big_endian(packet, announce.transaction_id, 4);
    packet.append(reinterpret_cast<const char*>(request.hash.data()), request.hash.size());
    packet.append(reinterpret_cast<const char*>(request.id.data()), request.id.size());
    append_big_endian(packet, request.downloaded, 8);
    append_big_endian(packet, request.left, 8);
    append_big_endian(packet, request.uploaded, 8);
    append_big_endian(packet, static_cast<std::uint32_t>(request.event), 4);
    append_big_endian(packet, request.claimed_ip ? request.claimed_ip->v4_bits() : 0, 4);
    append_big_endian(packet, request.key.value_or(0), 4);
    append_big_endian(packet, request.numwant ? *request.numwant : 0xffffffffu, 4);
    append_big_endian(packet, request.port, 2);
    if (!request.access_token.empty()) {
        // URLData pieces of at most 255 bytes, the way BEP 41 carries a long path.
        const std::string path = "/announce/" + request.access_token;
        for (std::size_t at = 0; at < path.size(); at += 255) {
            const std::string_view piece = std::string_view(path).substr(at, 255);
            packet += '\x02';
            packet += static_cast<char>(piece.size());
            packet += piece;
        }
        packet += '\x00';
    }
    return packet;
}

bool same_request(const announce_request& a, const announce_request& b) {
    return a.hash == b.hash && a.id == b.id && a.port == b.port && a.uploaded == b.uploaded &&
           a.downloaded == b.downloaded && a.left == b.left && a.event == b.event && a.numwant == b.numwant &&
           a.key == b.key && a.claimed_ip == b.claimed_ip && a.access_token == b.access_token;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view datagram(reinterpret_cast<const char*>(data), size);
    const udp_request parsed = parse_udp_packet(datagram);

    if (const auto* connect = std::get_if<udp_connect>(&parsed)) {
        check(size >= 16, "a short connect was accepted");
        check(encode_udp_connect_response(connect->transaction_id, 42).size() == 16, "a connect answer is not 16 bytes");
    } else if (const auto* announce = std::get_if<udp_announce>(&parsed)) {
        check(size >= 98, "a short announce was accepted");
        check(announce->request.port != 0, "an announce to port 0 was accepted");
        const udp_request again = parse_udp_packet(packet_of(*announce));
        check(std::holds_alternative<udp_announce>(again), "a re-encoded announce was refused");
        const udp_announce& reread = std::get<udp_announce>(again);
        check(reread.connection_id == announce->connection_id && reread.transaction_id == announce->transaction_id &&
                  same_request(reread.request, announce->request),
              "a re-encoded announce reads differently");

        announce_response response;
        response.peers.push_back({proximity::ip_address::v4(0x7f000001), announce->request.port});
        response.peers.push_back({proximity::ip_address::v6(0x20010db8, 1), announce->request.port});
        if (announce->request.claimed_ip) response.peers.push_back({*announce->request.claimed_ip, 1});
        const std::size_t v4_peers = announce->request.claimed_ip ? 2 : 1;
        check(encode_udp_announce_response(1, response, proximity::ip_family::v4).size() == 20 + 6 * v4_peers,
              "an IPv4 announce answer has the wrong size");
        check(encode_udp_announce_response(1, response, proximity::ip_family::v6).size() == 20 + 18,
              "an IPv6 announce answer has the wrong size");
    } else if (const auto* scrape = std::get_if<udp_scrape>(&parsed)) {
        check(!scrape->hashes.empty() && scrape->hashes.size() <= max_udp_scrape_hashes, "a scrape's count is off");
        check(size == 16 + 20 * scrape->hashes.size(), "a scrape's length is off");
        scrape_response response;
        for (const info_hash& hash : scrape->hashes) response.files.push_back({hash, 1, 2, 3});
        check(encode_udp_scrape_response(scrape->transaction_id, response).size() == 8 + 12 * scrape->hashes.size(),
              "a scrape answer has the wrong size");
    } else {
        const udp_bad_packet& bad = std::get<udp_bad_packet>(parsed);
        check(!bad.reason.empty(), "a refusal without a reason");
        check(bad.transaction_id.has_value() == (size >= 16), "a refusal's transaction id is off");
        if (bad.transaction_id) {
            check(encode_udp_error_response(*bad.transaction_id, bad.reason).size() == 8 + bad.reason.size(),
                  "an error answer has the wrong size");
        }
    }
    return 0;
}
