// The UDP tracker codecs: datagrams written by hand from BEP 15 and BEP 41 read back field by
// field, every malformed datagram refused with a reason (and its transaction ID when it has
// one), and answers laid out byte for byte.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>

#include "nearcast/tracker/udp_protocol.hpp"

using namespace nearcast;
using namespace nearcast::tracker;

namespace {

std::string bytes(std::initializer_list<int> values) {
    std::string text;
    for (const int value : values) text += static_cast<char>(value);
    return text;
}

std::string big_endian(std::uint64_t value, int width) {
    std::string text;
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) text += static_cast<char>((value >> shift) & 0xff);
    return text;
}

std::string counting(int first, int count) {
    std::string text;
    for (int i = 0; i < count; ++i) text += static_cast<char>(first + i);
    return text;
}

info_hash counting_hash(int first) {
    info_hash hash{};
    for (int i = 0; i < 20; ++i) hash[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(first + i);
    return hash;
}

const std::string connect_request = bytes({0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80,  // protocol id
                                           0x00, 0x00, 0x00, 0x00,                          // action: connect
                                           0xca, 0xfe, 0xba, 0xbe});                        // transaction id

struct announce_fields {
    std::uint64_t connection_id = 0x0102030405060708;
    std::uint32_t transaction_id = 0xdeadbeef;
    std::uint64_t downloaded = 1000, left = 2000, uploaded = 3000;
    std::uint32_t event = 2;
    std::uint32_t ip = 0;
    std::uint32_t key = 0x11223344;
    std::int32_t num_want = -1;
    std::uint16_t port = 6881;
};

// The 98 bytes of BEP 15's announce table, in its order.
std::string announce_packet(const announce_fields& f) {
    return big_endian(f.connection_id, 8) + big_endian(1, 4) + big_endian(f.transaction_id, 4) + counting(0, 20) +
           counting(100, 20) + big_endian(f.downloaded, 8) + big_endian(f.left, 8) + big_endian(f.uploaded, 8) +
           big_endian(f.event, 4) + big_endian(f.ip, 4) + big_endian(f.key, 4) +
           big_endian(static_cast<std::uint32_t>(f.num_want), 4) + big_endian(f.port, 2);
}

std::string scrape_packet(int hashes, int extra_bytes = 0) {
    std::string packet = big_endian(0x0102030405060708, 8) + big_endian(2, 4) + big_endian(77, 4);
    for (int i = 0; i < hashes; ++i) packet += counting(i, 20);
    return packet + std::string(static_cast<std::size_t>(extra_bytes), 'x');
}

udp_announce announce_of(const std::string& packet) {
    const udp_request parsed = parse_udp_packet(packet);
    if (const auto* bad = std::get_if<udp_bad_packet>(&parsed)) FAIL("refused: " << bad->reason);
    REQUIRE(std::holds_alternative<udp_announce>(parsed));
    return std::get<udp_announce>(parsed);
}

udp_bad_packet refusal_of(const std::string& packet) {
    const udp_request parsed = parse_udp_packet(packet);
    REQUIRE(std::holds_alternative<udp_bad_packet>(parsed));
    return std::get<udp_bad_packet>(parsed);
}

}  // namespace

TEST_CASE("a connect request gives its transaction id", "[udp]") {
    const udp_request parsed = parse_udp_packet(connect_request);
    REQUIRE(std::holds_alternative<udp_connect>(parsed));
    CHECK(std::get<udp_connect>(parsed).transaction_id == 0xcafebabe);
    // Trailing bytes are tolerated: BEP 15 tells both sides not to assume sizes.
    CHECK(std::holds_alternative<udp_connect>(parse_udp_packet(connect_request + "extra")));
}

TEST_CASE("a connect without the protocol id is refused with its transaction id", "[udp]") {
    std::string packet = connect_request;
    packet[7] = 0x00;
    const udp_bad_packet bad = refusal_of(packet);
    CHECK(bad.transaction_id == 0xcafebabeu);
    CHECK(bad.reason == "connect without the protocol id");
}

TEST_CASE("a datagram shorter than 16 bytes is refused without a transaction id", "[udp]") {
    for (std::size_t size : {0u, 1u, 8u, 12u, 15u}) {
        INFO(size << " bytes");
        const udp_bad_packet bad = refusal_of(connect_request.substr(0, size));
        CHECK_FALSE(bad.transaction_id);
        CHECK(bad.reason == "packet of " + std::to_string(size) + " bytes is shorter than 16");
    }
}

TEST_CASE("an unknown action is refused, naming the action", "[udp]") {
    std::string packet = connect_request;
    packet[11] = 3;  // error: only trackers send those
    CHECK(refusal_of(packet).reason == "unknown action 3");
    packet[8] = static_cast<char>(0xff);
    const udp_bad_packet bad = refusal_of(packet);
    CHECK(bad.reason == "unknown action 4278190083");
    CHECK(bad.transaction_id == 0xcafebabeu);
}

TEST_CASE("an announce is read field by field", "[udp]") {
    announce_fields fields;
    fields.num_want = 50;
    const udp_announce announce = announce_of(announce_packet(fields));
    CHECK(announce.connection_id == 0x0102030405060708u);
    CHECK(announce.transaction_id == 0xdeadbeefu);
    const announce_request& request = announce.request;
    CHECK(std::string(request.hash.begin(), request.hash.end()) == counting(0, 20));
    CHECK(std::string(request.id.begin(), request.id.end()) == counting(100, 20));
    CHECK(request.downloaded == 1000);
    CHECK(request.left == 2000);
    CHECK(request.uploaded == 3000);
    CHECK(request.event == announce_event::started);
    CHECK_FALSE(request.claimed_ip);
    CHECK(request.key == 0x11223344u);
    CHECK(request.numwant == 50u);
    CHECK(request.port == 6881);
    CHECK(request.access_token.empty());
}

TEST_CASE("an announce's event numbers follow BEP 15 and others are refused", "[udp]") {
    announce_fields fields;
    for (const auto& [number, event] : {std::pair{0u, announce_event::none}, std::pair{1u, announce_event::completed},
                                       std::pair{2u, announce_event::started}, std::pair{3u, announce_event::stopped}}) {
        fields.event = number;
        CHECK(announce_of(announce_packet(fields)).request.event == event);
    }
    fields.event = 4;
    const udp_bad_packet bad = refusal_of(announce_packet(fields));
    CHECK(bad.reason == "unknown event 4");
    CHECK(bad.transaction_id == 0xdeadbeefu);
}

TEST_CASE("num_want -1 is the default and other negatives are refused", "[udp]") {
    announce_fields fields;
    CHECK_FALSE(announce_of(announce_packet(fields)).request.numwant);
    fields.num_want = 0;
    CHECK(announce_of(announce_packet(fields)).request.numwant == 0u);
    fields.num_want = 0x7fffffff;
    CHECK(announce_of(announce_packet(fields)).request.numwant == 0x7fffffffu);
    fields.num_want = -2;
    CHECK(refusal_of(announce_packet(fields)).reason == "num_want is negative");
    fields.num_want = INT32_MIN;
    CHECK(refusal_of(announce_packet(fields)).reason == "num_want is negative");
}

TEST_CASE("a non-zero ip field is the claimed address", "[udp]") {
    announce_fields fields;
    fields.ip = 0x0a141e28;
    CHECK(announce_of(announce_packet(fields)).request.claimed_ip == proximity::ip_address::v4(0x0a141e28));
}

TEST_CASE("an all-ones left is read as unsigned, a leecher", "[udp]") {
    announce_fields fields;
    fields.left = UINT64_MAX;
    const announce_request request = announce_of(announce_packet(fields)).request;
    CHECK(request.left == UINT64_MAX);
    CHECK_FALSE(request.seed());
}

TEST_CASE("an announce to port 0 is refused", "[udp]") {
    announce_fields fields;
    fields.port = 0;
    CHECK(refusal_of(announce_packet(fields)).reason == "port is 0");
}

TEST_CASE("a truncated announce is refused with its length", "[udp]") {
    const std::string packet = announce_packet({});
    for (std::size_t size : {16u, 50u, 97u}) {
        const udp_bad_packet bad = refusal_of(packet.substr(0, size));
        CHECK(bad.reason == "announce of " + std::to_string(size) + " bytes is shorter than 98");
        CHECK(bad.transaction_id == 0xdeadbeefu);
    }
}

TEST_CASE("URLData pieces join into the path that carries the access token", "[udp]") {
    const std::string packet = announce_packet({}) + bytes({0x01, 0x02, 10}) + "/announce/" + bytes({0x01, 0x02, 16}) +
                               "alice.1700000000" + bytes({0x02, 7}) + ".abc?x=" + bytes({0x00}) + "junk after the end";
    CHECK(announce_of(packet).request.access_token == "alice.1700000000.abc");
}

TEST_CASE("URLData without an /announce/ path gives no token", "[udp]") {
    CHECK(announce_of(announce_packet({}) + bytes({0x02, 9}) + "/announce").request.access_token.empty());
    CHECK(announce_of(announce_packet({}) + bytes({0x02, 12}) + "/scrape/abc?").request.access_token.empty());
    CHECK(announce_of(announce_packet({}) + bytes({0x02, 0})).request.access_token.empty());
    CHECK(announce_of(announce_packet({}) + bytes({0x01, 0x01, 0x00})).request.access_token.empty());
}

TEST_CASE("an unknown option is skipped by its length", "[udp]") {
    const std::string packet = announce_packet({}) + bytes({0x07, 3, 0x02, 9, 9}) + bytes({0x02, 13}) + "/announce/tok";
    CHECK(announce_of(packet).request.access_token == "tok");
}

TEST_CASE("an option running past the datagram is refused", "[udp]") {
    CHECK(refusal_of(announce_packet({}) + bytes({0x02, 20}) + "/announce/x").reason == "option 2 runs past the packet");
    CHECK(refusal_of(announce_packet({}) + bytes({0x01, 0x02})).reason == "option 2 has no length");
    CHECK(refusal_of(announce_packet({}) + bytes({0x09})).reason == "option 9 has no length");
}

TEST_CASE("a scrape reads its hashes in order", "[udp]") {
    const udp_request parsed = parse_udp_packet(scrape_packet(3));
    REQUIRE(std::holds_alternative<udp_scrape>(parsed));
    const udp_scrape& scrape = std::get<udp_scrape>(parsed);
    CHECK(scrape.connection_id == 0x0102030405060708u);
    CHECK(scrape.transaction_id == 77u);
    REQUIRE(scrape.hashes.size() == 3);
    CHECK(scrape.hashes[0] == counting_hash(0));
    CHECK(scrape.hashes[2] == counting_hash(2));
}

TEST_CASE("a scrape holds 1 to 74 whole hashes", "[udp]") {
    CHECK(std::holds_alternative<udp_scrape>(parse_udp_packet(scrape_packet(74))));
    CHECK(refusal_of(scrape_packet(75)).reason == "scrape of 75 hashes is more than 74");
    CHECK(refusal_of(scrape_packet(0)).reason == "scrape names no info_hash");
    CHECK(refusal_of(scrape_packet(1, 1)).reason == "scrape has 21 bytes of hashes, not a multiple of 20");
    CHECK(refusal_of(scrape_packet(0, 19)).reason == "scrape has 19 bytes of hashes, not a multiple of 20");
    CHECK(refusal_of(scrape_packet(0, 19)).transaction_id == 77u);
}

TEST_CASE("a connect response is action, transaction id, connection id", "[udp]") {
    CHECK(encode_udp_connect_response(0xcafebabe, 0x1122334455667788) ==
          bytes({0, 0, 0, 0, 0xca, 0xfe, 0xba, 0xbe, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}));
}

TEST_CASE("an announce response over IPv4 carries 6-byte IPv4 peers only", "[udp]") {
    announce_response response;
    response.interval = 1800;
    response.complete = 5;
    response.incomplete = 7;
    response.peers = {{proximity::ip_address::v4(0x0a000001), 6881},
                      {*proximity::ip_address::parse("2001:db8::1"), 6882},
                      {proximity::ip_address::v4(0xc0a80102), 80}};
    CHECK(encode_udp_announce_response(9, response, proximity::ip_family::v4) ==
          bytes({0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0x07, 0x08,  // action, transaction, interval 1800
                 0, 0, 0, 7, 0, 0, 0, 5,                    // leechers, then seeders
                 10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 80}));
    CHECK(encode_udp_announce_response(9, response, proximity::ip_family::v6) ==
          bytes({0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0x07, 0x08, 0, 0, 0, 7, 0, 0, 0, 5,
                 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1a, 0xe2}));
}

TEST_CASE("an announce response stops at the largest UDP payload", "[udp]") {
    announce_response response;
    response.peers.assign(20000, {proximity::ip_address::v4(0x0a000001), 1});
    const std::string packet = encode_udp_announce_response(1, response, proximity::ip_family::v4);
    CHECK(packet.size() <= 65507);
    CHECK((packet.size() - 20) % 6 == 0);
    CHECK(packet.size() > 65507 - 6);
}

TEST_CASE("a scrape response keeps the order asked, seeders completed leechers", "[udp]") {
    scrape_response response;
    response.files = {{counting_hash(9), 1, 2, 3}, {counting_hash(1), 4, 5, 6}};
    CHECK(encode_udp_scrape_response(77, response) ==
          bytes({0, 0, 0, 2, 0, 0, 0, 77, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6}));
}

TEST_CASE("an error response is action 3, transaction id and the message", "[udp]") {
    CHECK(encode_udp_error_response(0x01020304, "bad connection id") ==
          bytes({0, 0, 0, 3, 1, 2, 3, 4}) + "bad connection id");
}

TEST_CASE("the buffer encoders overwrite what the buffer held", "[udp]") {
    std::string buffer(100, 'x');
    encode_udp_connect_response(1, 2, buffer);
    CHECK(buffer.size() == 16);
    encode_udp_error_response(1, "e", buffer);
    CHECK(buffer == bytes({0, 0, 0, 3, 0, 0, 0, 1}) + "e");
}
