// The HTTP tracker protocol's codecs (BEP 3, 7, 23, 48): announce and scrape queries in,
// bencoded answers out. Pure functions over bytes: no sockets, no clocks, never a throw on
// anything a client sends.
//
// Reading a query:
// - Values are percent-decoded with form rules ('+' is a space). A '%' must be followed by
//   two hex digits; anything else refuses the request, naming the parameter.
// - info_hash and peer_id must decode to exactly 20 bytes; port is 1-65535; uploaded,
//   downloaded and left are decimal uint64; numwant is decimal uint32. No signs, no spaces,
//   no junk, no overflow.
// - event is started, completed, stopped, empty, or paused (BEP 21, which we treat as none).
// - key: clients send it as 8 hex digits (libtorrent, uTorrent), as decimal, or as an
//   arbitrary string. Exactly 8 hex digits read as hex, so a client sending the same key over
//   UDP (a uint32) and HTTP gets the same number; else 1-10 decimal digits that fit in 32 bits
//   read as decimal; anything else (at most 128 bytes) becomes its 32-bit FNV-1a hash. Only
//   equality of keys matters, so any deterministic mapping serves. An empty key is no key.
// - ip: an IPv4 or IPv6 literal (brackets allowed) becomes `claimed_ip`. Anything else - a
//   host name, junk - is ignored rather than refused: BEP 3 allows names, and refusing would
//   lock out a client configured with one, while the tracker would not resolve it anyway.
// - compact and no_peer_id are accepted and ignored: answers are always compact (BEP 23).
// - Unknown parameters are ignored unread. Known ones may appear once (info_hash repeats only
//   in a scrape, BEP 48).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "nearcast/tracker/messages.hpp"

namespace nearcast::tracker {

// More info_hash parameters than this in one scrape is refused: the answer would grow with
// the request, which makes the tracker an amplifier.
inline constexpr std::size_t max_scrape_hashes = 100;

// `query` is the part of the target after '?'. The access token (closed mode) comes from the
// path, which the caller reads; it is left empty here.
std::variant<announce_request, tracker_failure> parse_announce_query(std::string_view query);
std::variant<scrape_request, tracker_failure> parse_scrape_query(std::string_view query);

// d8:completei..e10:incompletei..e8:intervali..e12:min intervali..e5:peers..6:peers6..
// 15:warning message..e. IPv4 peers go in "peers" (6 bytes each, BEP 23), IPv6 peers in
// "peers6" (18 bytes each, BEP 7), which is left out when there are none.
std::string encode_announce(const announce_response& response);
// "files" keyed by the raw 20-byte hash (BEP 48). Duplicated hashes are answered once, since
// a bencoded dictionary cannot repeat a key.
std::string encode_scrape(const scrape_response& response);
std::string encode_failure(std::string_view reason);

// The same, into a caller's buffer (cleared first), so a server can keep one per worker and
// answer without allocating once the buffer has grown.
void encode_announce(const announce_response& response, std::string& out);
void encode_scrape(const scrape_response& response, std::string& out);
void encode_failure(std::string_view reason, std::string& out);

}  // namespace nearcast::tracker
