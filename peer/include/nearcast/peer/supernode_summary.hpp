// What supernodes tell each other in nearcast's BEP 10 extension message ("nearcast_sn"):
// their role, their load against their admission limit, and a summary of their cache - a
// Bloom filter of the info hashes they hold (as Fan et al.'s Summary Cache does for web
// proxies), so a supernode that lacks an item asks first the supernodes that probably have it.
// Ordinary clients never see the message: it is only sent to peers that announce it in their
// extension handshake. Pure: encoding, decoding with strict checks, and the filter.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nearcast::peer {

inline constexpr std::string_view supernode_extension_name = "nearcast_sn";

struct summary_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A Bloom filter of 20-byte info hashes (v1, or v2 truncated).
class cache_filter {
public:
    static constexpr std::size_t default_bits = 8192;  // about 1% false positives at 800 items
    static constexpr unsigned default_hashes = 5;

    explicit cache_filter(std::size_t bits = default_bits, unsigned hashes = default_hashes);
    void add(std::span<const std::uint8_t, 20> info_hash);
    bool may_hold(std::span<const std::uint8_t, 20> info_hash) const;
    std::size_t bits() const { return bits_; }
    unsigned hashes() const { return hashes_; }
    const std::vector<std::uint8_t>& bytes() const { return bytes_; }
    static cache_filter from_bytes(std::vector<std::uint8_t> bytes, unsigned hashes);

private:
    std::size_t position(std::span<const std::uint8_t, 20> info_hash, unsigned i) const;
    std::size_t bits_;
    unsigned hashes_;
    std::vector<std::uint8_t> bytes_;
};

struct supernode_summary {
    bool supernode = false;
    std::uint32_t children = 0;
    std::uint32_t admission_limit = 0;
    std::uint32_t cached_items = 0;
    cache_filter cache;  // the items held whole
    // The items being fetched now: a supernode that sees a fellow fetch what it wants too
    // lets the fellow take it from the origin and relays it from there. Optional on the wire.
    cache_filter fetching{1024, cache_filter::default_hashes};

    // Room for more children, so a peer can choose the least loaded.
    bool has_room() const { return children < admission_limit; }
};

// The message payload (a bencoded dictionary, after the BEP 10 extended message id).
std::string encode(const supernode_summary& summary);
// Throws summary_error on anything that is not a well-formed summary: wrong types, a filter
// whose size does not match its bit count, absurd counts. Unknown keys are ignored (a newer
// version may add some).
supernode_summary decode_summary(std::string_view payload);

}  // namespace nearcast::peer
