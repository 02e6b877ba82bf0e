// The UDP tracker protocol's codecs (BEP 15, with BEP 41's URL data for the access token):
// datagrams in, datagrams out. Pure functions over bytes: no sockets, no clocks, never a throw
// on anything a client sends. Checking connection IDs is the caller's job (connection_ids.hpp).
//
// Reading an announce:
// - The 32-bit IPv4 'ip' field, when not zero, becomes `claimed_ip` (trusted proxies only).
// - num_want -1 is "the tracker's default" (absent); any other negative value is refused.
// - downloaded, left and uploaded are read as unsigned: a client that does not know a size
//   yet (a magnet link before its metadata) sends all ones, and stays a leecher.
// - The key is always present over UDP.
// - BEP 41 options follow byte 98: 0x0 ends them, 0x1 is padding, every other type has a
//   length byte. URLData (0x2) pieces are joined; when the result's path is
//   /announce/<token> (a query after '?' is ignored), the token becomes `access_token`.
//   Unknown options are skipped; an option running past the datagram refuses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "nearcast/proximity/address.hpp"
#include "nearcast/tracker/messages.hpp"

namespace nearcast::tracker {

// The connection_id of every connect request, which marks a datagram as BEP 15.
inline constexpr std::uint64_t udp_protocol_id = 0x41727101980ULL;

enum class udp_action : std::uint32_t { connect = 0, announce = 1, scrape = 2, error = 3 };

// A scrape datagram of this many hashes is 1496 bytes, the most that fits an Ethernet MTU
// after IP and UDP headers; BEP 15 says "about 74". More is refused.
inline constexpr std::size_t max_udp_scrape_hashes = 74;

struct udp_connect {
    std::uint32_t transaction_id = 0;
};

struct udp_announce {
    std::uint64_t connection_id = 0;
    std::uint32_t transaction_id = 0;
    announce_request request;
};

struct udp_scrape {
    std::uint64_t connection_id = 0;
    std::uint32_t transaction_id = 0;
    std::vector<info_hash> hashes;  // in the order asked, which is the order answered
};

// A datagram we cannot serve. `transaction_id` is there when the datagram was long enough to
// carry one, so the caller can send an error back; without it, the only answer is silence.
struct udp_bad_packet {
    std::optional<std::uint32_t> transaction_id;
    std::string reason;
};

using udp_request = std::variant<udp_connect, udp_announce, udp_scrape, udp_bad_packet>;

udp_request parse_udp_packet(std::string_view datagram);

// Answers. Each writes into a caller's buffer (cleared first), so a server can keep one per
// worker and answer without allocating; the std::string versions are for everyone else.
//
// An announce answer holds the peers of the family the request came over - 6-byte IPv4 peers
// or 18-byte IPv6 peers (BEP 15) - and drops the others, which the client could not use; it
// also stops at the largest UDP payload (65507 bytes), though the swarm policy asks for far
// fewer peers than that.
void encode_udp_connect_response(std::uint32_t transaction_id, std::uint64_t connection_id, std::string& out);
void encode_udp_announce_response(std::uint32_t transaction_id, const announce_response& response,
                                  proximity::ip_family request_family, std::string& out);
void encode_udp_scrape_response(std::uint32_t transaction_id, const scrape_response& response, std::string& out);
void encode_udp_error_response(std::uint32_t transaction_id, std::string_view message, std::string& out);

std::string encode_udp_connect_response(std::uint32_t transaction_id, std::uint64_t connection_id);
std::string encode_udp_announce_response(std::uint32_t transaction_id, const announce_response& response,
                                         proximity::ip_family request_family);
std::string encode_udp_scrape_response(std::uint32_t transaction_id, const scrape_response& response);
std::string encode_udp_error_response(std::uint32_t transaction_id, std::string_view message);

}  // namespace nearcast::tracker
