// The HTTP tracker codecs: every BEP 3 parameter read, every malformed query refused with the
// parameter named, and answers bencoded byte for byte as BEPs 3, 7, 23 and 48 lay them out.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>

#include "nearcast/tracker/http_protocol.hpp"

using namespace nearcast;
using namespace nearcast::tracker;
using namespace std::string_literals;

namespace {

std::array<std::uint8_t, 20> counting_bytes(std::uint8_t first) {
    std::array<std::uint8_t, 20> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(first + i);
    return bytes;
}

std::string percent_encoded(const std::array<std::uint8_t, 20>& bytes) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string text;
    for (const std::uint8_t byte : bytes) {
        text += '%';
        text += hex[byte >> 4];
        text += hex[byte & 15];
    }
    return text;
}

std::string bytes(std::initializer_list<int> values) {
    std::string text;
    for (const int value : values) text += static_cast<char>(value);
    return text;
}

const std::string hash_text = percent_encoded(counting_bytes(0));
const std::string peer_text = percent_encoded(counting_bytes(100));
const std::string required = "info_hash=" + hash_text + "&peer_id=" + peer_text + "&port=6881";

announce_request parsed(const std::string& query) {
    auto result = parse_announce_query(query);
    if (const auto* failure = std::get_if<tracker_failure>(&result)) FAIL("refused: " << failure->reason);
    return std::get<announce_request>(result);
}

// The reason a query is refused, or "accepted".
std::string refusal(const std::string& query) {
    const auto result = parse_announce_query(query);
    if (const auto* failure = std::get_if<tracker_failure>(&result)) return failure->reason;
    return "accepted";
}

std::string scrape_refusal(const std::string& query) {
    const auto result = parse_scrape_query(query);
    if (const auto* failure = std::get_if<tracker_failure>(&result)) return failure->reason;
    return "accepted";
}

}  // namespace

TEST_CASE("a libtorrent-style announce is read parameter by parameter", "[http]") {
    const announce_request request =
        parsed(required + "&uploaded=1024&downloaded=2048&left=4096&corrupt=0&key=1A2B3C4D&event=started"
                          "&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0");
    CHECK(request.hash == counting_bytes(0));
    CHECK(request.id == counting_bytes(100));
    CHECK(request.port == 6881);
    CHECK(request.uploaded == 1024);
    CHECK(request.downloaded == 2048);
    CHECK(request.left == 4096);
    CHECK(request.event == announce_event::started);
    CHECK(request.numwant == 200u);
    CHECK(request.key == 0x1A2B3C4Du);
    CHECK_FALSE(request.claimed_ip);
    CHECK(request.access_token.empty());
    CHECK_FALSE(request.seed());
}

TEST_CASE("the least an announce needs is info_hash, peer_id and port", "[http]") {
    const announce_request request = parsed(required);
    CHECK(request.uploaded == 0);
    CHECK(request.left == 0);
    CHECK(request.event == announce_event::none);
    CHECK_FALSE(request.numwant);
    CHECK_FALSE(request.key);
}

TEST_CASE("binary values mix escapes with characters sent as they are", "[http]") {
    // A peer ID as clients send it: an Azureus-style prefix, then bytes escaped or not.
    const announce_request request =
        parsed("info_hash=" + hash_text + "&peer_id=-qB4500-a%2Ab%2Fc.d~e_fg&port=1");
    const std::string expected = "-qB4500-a*b/c.d~e_fg";
    CHECK(std::string(request.id.begin(), request.id.end()) == expected);
    CHECK(refusal("info_hash=" + hash_text + "&peer_id=-qB4500-a%2Ab%2Fc.d~e_f&port=1") ==
          "peer_id must be 20 bytes, not 19");
}

TEST_CASE("every event name is read, and paused counts as none", "[http]") {
    CHECK(parsed(required + "&event=completed").event == announce_event::completed);
    CHECK(parsed(required + "&event=stopped").event == announce_event::stopped);
    CHECK(parsed(required + "&event=started").event == announce_event::started);
    CHECK(parsed(required + "&event=").event == announce_event::none);
    CHECK(parsed(required + "&event=paused").event == announce_event::none);
    CHECK(refusal(required + "&event=finished") == "event must be started, completed, stopped or empty");
    CHECK(refusal(required + "&event=startedstartedstarted") == "event must be started, completed, stopped or empty");
}

TEST_CASE("a key is read as hex, as decimal, or hashed when it is neither", "[http]") {
    CHECK(parsed(required + "&key=deadBEEF").key == 0xdeadbeefu);
    CHECK(parsed(required + "&key=12345").key == 12345u);
    CHECK(parsed(required + "&key=4294967295").key == 4294967295u);
    // Eight digits are read as hex, as libtorrent and uTorrent send them.
    CHECK(parsed(required + "&key=00001234").key == 0x1234u);
    // FNV-1a of the bytes: stable across runs and builds.
    CHECK(parsed(required + "&key=a").key == 0xe40c292cu);
    CHECK(parsed(required + "&key=4294967296").key == parsed(required + "&key=4294967296").key);
    CHECK(parsed(required + "&key=Tr4n5m1ss10n").key == parsed(required + "&key=Tr4n5m1ss10n").key);
    CHECK(parsed(required + "&key=Tr4n5m1ss10n").key != parsed(required + "&key=Tr4n5m1ss10m").key);
    // '+' is a space, as in any form-encoded query.
    CHECK(parsed(required + "&key=a+b").key == parsed(required + "&key=a%20b").key);
    CHECK_FALSE(parsed(required + "&key=").key);
    CHECK(refusal(required + "&key=" + std::string(129, 'x')) == "key is longer than 128 bytes");
    CHECK(refusal(required + "&key=%zz") == "key has bad percent-encoding");
}

TEST_CASE("an ip literal is claimed and a host name is ignored", "[http]") {
    CHECK(parsed(required + "&ip=10.1.2.3").claimed_ip == proximity::ip_address::v4(0x0a010203));
    CHECK(parsed(required + "&ip=2001:db8::7").claimed_ip == proximity::ip_address::parse("2001:db8::7"));
    CHECK(parsed(required + "&ip=%5B2001%3Adb8%3A%3A7%5D").claimed_ip == proximity::ip_address::parse("2001:db8::7"));
    CHECK_FALSE(parsed(required + "&ip=tracker.example.com").claimed_ip);
    CHECK_FALSE(parsed(required + "&ip=").claimed_ip);
    CHECK_FALSE(parsed(required + "&ip=" + std::string(300, '1')).claimed_ip);
    CHECK(refusal(required + "&ip=10.0.0.1%") == "ip has bad percent-encoding");
}

TEST_CASE("unknown parameters and empty pieces are ignored, even repeated or malformed", "[http]") {
    CHECK(refusal("&&" + required + "&&foo=%G1&foo=1&bar&=&compact=0&compact=1&no_peer_id&") == "accepted");
}

TEST_CASE("a missing required parameter is named", "[http]") {
    CHECK(refusal("peer_id=" + peer_text + "&port=6881") == "info_hash is missing");
    CHECK(refusal("info_hash=" + hash_text + "&port=6881") == "peer_id is missing");
    CHECK(refusal("info_hash=" + hash_text + "&peer_id=" + peer_text) == "port is missing");
    CHECK(refusal("") == "info_hash is missing");
    CHECK(refusal("&&&") == "info_hash is missing");
}

TEST_CASE("an info_hash that is not 20 bytes is refused with its length", "[http]") {
    CHECK(refusal("info_hash=" + hash_text + "%00&peer_id=" + peer_text + "&port=1") == "info_hash must be 20 bytes, not 21");
    CHECK(refusal("info_hash=" + hash_text.substr(3) + "&peer_id=" + peer_text + "&port=1") ==
          "info_hash must be 20 bytes, not 19");
    CHECK(refusal("info_hash=&peer_id=" + peer_text + "&port=1") == "info_hash must be 20 bytes, not 0");
    CHECK(refusal("info_hash=" + std::string(5000, 'a') + "&peer_id=" + peer_text + "&port=1") ==
          "info_hash must be 20 bytes, not 5000");
}

TEST_CASE("bad percent-encoding is refused, naming the parameter", "[http]") {
    const std::string rest = "&peer_id=" + peer_text + "&port=1";
    CHECK(refusal("info_hash=%G1" + hash_text.substr(3) + rest) == "info_hash has bad percent-encoding");
    CHECK(refusal("info_hash=" + hash_text.substr(3) + "%" + rest) == "info_hash has bad percent-encoding");
    CHECK(refusal("info_hash=" + hash_text.substr(3) + "%4" + rest) == "info_hash has bad percent-encoding");
    CHECK(refusal("info_hash=" + hash_text.substr(3) + "%4G" + rest) == "info_hash has bad percent-encoding");
    CHECK(refusal(required + "&uploaded=1%") == "uploaded has bad percent-encoding");
    CHECK(refusal(required + "&event=%") == "event has bad percent-encoding");
    CHECK(refusal("info_hash=" + hash_text + "&peer_id=" + peer_text + "&port=%") == "port has bad percent-encoding");
}

TEST_CASE("a port must be 1 to 65535, in plain decimal", "[http]") {
    const std::string start = "info_hash=" + hash_text + "&peer_id=" + peer_text + "&port=";
    const std::string port_problem = "port must be a decimal number from 1 to 65535";
    CHECK(parsed(start + "65535").port == 65535);
    CHECK(parsed(start + "%36%38%38%31").port == 6881);
    for (const char* bad : {"0", "65536", "-1", "+1", "1a", " 1", "1 ", "", "0x10", "99999999999999999999999"}) {
        INFO("port=" << bad);
        CHECK(refusal(start + bad) == port_problem);
    }
}

TEST_CASE("byte counts are unsigned 64-bit decimals with nothing else", "[http]") {
    CHECK(parsed(required + "&left=18446744073709551615").left == 18446744073709551615ull);
    const std::string left_problem = "left must be a decimal number from 0 to 18446744073709551615";
    CHECK(refusal(required + "&left=18446744073709551616") == left_problem);
    CHECK(refusal(required + "&left=-1") == left_problem);
    CHECK(refusal(required + "&left=12junk") == left_problem);
    CHECK(refusal(required + "&left=") == left_problem);
    CHECK(refusal(required + "&uploaded=1.5") == "uploaded must be a decimal number from 0 to 18446744073709551615");
    CHECK(refusal(required + "&downloaded=-0") == "downloaded must be a decimal number from 0 to 18446744073709551615");
}

TEST_CASE("a numwant past 32 bits is refused", "[http]") {
    CHECK(parsed(required + "&numwant=4294967295").numwant == 4294967295u);
    CHECK(parsed(required + "&numwant=0").numwant == 0u);
    CHECK(refusal(required + "&numwant=4294967296") == "numwant must be a decimal number from 0 to 4294967295");
    CHECK(refusal(required + "&numwant=-1") == "numwant must be a decimal number from 0 to 4294967295");
}

TEST_CASE("a known parameter given twice is refused", "[http]") {
    CHECK(refusal(required + "&port=6882") == "port is given more than once");
    CHECK(refusal(required + "&info_hash=" + hash_text) == "info_hash is given more than once");
    CHECK(refusal(required + "&event=started&event=stopped") == "event is given more than once");
    CHECK(refusal(required + "&ip=1.2.3.4&ip=1.2.3.5") == "ip is given more than once");
}

TEST_CASE("a scrape reads every info_hash in order", "[http]") {
    const auto result = parse_scrape_query("info_hash=" + hash_text + "&x=1&info_hash=" +
                                           percent_encoded(counting_bytes(7)) + "&info_hash=" + hash_text);
    REQUIRE(std::holds_alternative<scrape_request>(result));
    const auto& hashes = std::get<scrape_request>(result).hashes;
    REQUIRE(hashes.size() == 3);
    CHECK(hashes[0] == counting_bytes(0));
    CHECK(hashes[1] == counting_bytes(7));
    CHECK(hashes[2] == counting_bytes(0));
}

TEST_CASE("a scrape without info_hash asks for every swarm", "[http]") {
    const auto result = parse_scrape_query("");
    REQUIRE(std::holds_alternative<scrape_request>(result));
    CHECK(std::get<scrape_request>(result).hashes.empty());
}

TEST_CASE("a scrape of more than 100 hashes or of a bad hash is refused", "[http]") {
    std::string query;
    for (std::size_t i = 0; i < max_scrape_hashes; ++i) query += "info_hash=" + hash_text + "&";
    CHECK(scrape_refusal(query) == "accepted");
    CHECK(scrape_refusal(query + "info_hash=" + hash_text) == "info_hash is given more than 100 times");
    CHECK(scrape_refusal("info_hash=" + hash_text + "%41") == "info_hash must be 20 bytes, not 21");
    CHECK(scrape_refusal("info_hash=%G1") == "info_hash has bad percent-encoding");
}

TEST_CASE("an announce answer is laid out byte for byte with sorted keys", "[http]") {
    announce_response response;
    response.interval = 1800;
    response.min_interval = 900;
    response.complete = 3;
    response.incomplete = 2;
    response.peers = {{proximity::ip_address::v4(0x0a000001), 6881},
                      {*proximity::ip_address::parse("2001:db8::1"), 51413},
                      {proximity::ip_address::v4(0xc0a80102), 80}};
    const std::string expected = "d8:completei3e10:incompletei2e8:intervali1800e12:min intervali900e"s +
                                 "5:peers12:" + bytes({10, 0, 0, 1, 0x1a, 0xe1, 192, 168, 1, 2, 0, 80}) +
                                 "6:peers618:" + bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}) +
                                 bytes({0xc8, 0xd5}) + "e";
    CHECK(encode_announce(response) == expected);
}

TEST_CASE("an announce answer with no peers still has peers, and a warning when set", "[http]") {
    announce_response response;
    response.interval = 60;
    response.min_interval = 30;
    response.warning = "slow down";
    CHECK(encode_announce(response) ==
          "d8:completei0e10:incompletei0e8:intervali60e12:min intervali30e5:peers0:15:warning message9:slow downe");
}

TEST_CASE("a scrape answer keys files by raw hash in order, once each", "[http]") {
    scrape_response response;
    const info_hash high = counting_bytes(0xf0 - 20);
    const info_hash low = counting_bytes(0);
    response.files = {{high, 1, 2, 3}, {low, 4, 5, 6}, {high, 9, 9, 9}};
    const auto raw = [](const info_hash& hash) { return std::string(hash.begin(), hash.end()); };
    CHECK(encode_scrape(response) == "d5:filesd20:" + raw(low) + "d8:completei4e10:downloadedi5e10:incompletei6ee" +
                                         "20:" + raw(high) + "d8:completei1e10:downloadedi2e10:incompletei3eeee");
    CHECK(encode_scrape(scrape_response{}) == "d5:filesdee");
}

TEST_CASE("a failure is a one-key dictionary", "[http]") {
    CHECK(encode_failure("port is missing") == "d14:failure reason15:port is missinge");
    CHECK(encode_failure("") == "d14:failure reason0:e");
}

TEST_CASE("the buffer encoders reuse the caller's buffer", "[http]") {
    std::string buffer = "left over from the last answer";
    encode_failure("no", buffer);
    CHECK(buffer == "d14:failure reason2:noe");
    encode_announce(announce_response{}, buffer);
    CHECK(buffer == encode_announce(announce_response{}));
    encode_scrape(scrape_response{}, buffer);
    CHECK(buffer == "d5:filesdee");
}

TEST_CASE("an announce written as a client would reads back the same", "[http]") {
    announce_request original;
    original.hash = counting_bytes(240);  // runs past 255 into 0, 1, 2, 3
    original.id = counting_bytes(33);
    original.port = 51413;
    original.uploaded = 123456789012345ull;
    original.downloaded = 42;
    original.left = 0;
    original.event = announce_event::completed;
    original.numwant = 50;
    original.key = 0x0badf00d;
    original.claimed_ip = proximity::ip_address::parse("fe80::1");
    const std::string query = "info_hash=" + percent_encoded(original.hash) + "&peer_id=" + percent_encoded(original.id) +
                              "&port=51413&uploaded=123456789012345&downloaded=42&left=0&event=completed"
                              "&numwant=50&key=0BADF00D&ip=fe80::1&compact=1";
    const announce_request read = parsed(query);
    CHECK(read.hash == original.hash);
    CHECK(read.id == original.id);
    CHECK(read.port == original.port);
    CHECK(read.uploaded == original.uploaded);
    CHECK(read.downloaded == original.downloaded);
    CHECK(read.left == original.left);
    CHECK(read.event == original.event);
    CHECK(read.numwant == original.numwant);
    CHECK(read.key == original.key);
    CHECK(read.claimed_ip == original.claimed_ip);
    CHECK(read.seed());
}
