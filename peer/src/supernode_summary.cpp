#include "nearcast/peer/supernode_summary.hpp"

#include <libtorrent/bdecode.hpp>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

#include <cstring>
#include <iterator>

namespace nearcast::peer {

namespace {

constexpr std::size_t max_filter_bits = 1 << 20;  // 128 KiB: anything larger is not ours
constexpr unsigned max_hashes = 16;

std::uint64_t word_at(std::span<const std::uint8_t, 20> hash, std::size_t offset) {
    std::uint64_t value = 0;
    std::memcpy(&value, hash.data() + offset, sizeof value);
    return value;
}

}  // namespace

cache_filter::cache_filter(std::size_t bits, unsigned hashes) : bits_(bits), hashes_(hashes), bytes_((bits + 7) / 8, 0) {
    if (bits == 0 || bits % 8 != 0 || bits > max_filter_bits) throw summary_error("a cache filter has 8 to 2^20 bits, a multiple of 8");
    if (hashes == 0 || hashes > max_hashes) throw summary_error("a cache filter uses 1 to 16 hashes");
}

// Info hashes are already uniform: double hashing over two words of the hash itself.
std::size_t cache_filter::position(std::span<const std::uint8_t, 20> info_hash, unsigned i) const {
    const std::uint64_t first = word_at(info_hash, 0);
    const std::uint64_t second = word_at(info_hash, 8) | 1;
    return static_cast<std::size_t>((first + i * second) % bits_);
}

void cache_filter::add(std::span<const std::uint8_t, 20> info_hash) {
    for (unsigned i = 0; i < hashes_; ++i) {
        const auto at = position(info_hash, i);
        bytes_[at / 8] = static_cast<std::uint8_t>(bytes_[at / 8] | (1u << (at % 8)));
    }
}

bool cache_filter::may_hold(std::span<const std::uint8_t, 20> info_hash) const {
    for (unsigned i = 0; i < hashes_; ++i) {
        const auto at = position(info_hash, i);
        if (!(bytes_[at / 8] & (1u << (at % 8)))) return false;
    }
    return true;
}

cache_filter cache_filter::from_bytes(std::vector<std::uint8_t> bytes, unsigned hashes) {
    cache_filter filter(bytes.size() * 8, hashes);
    filter.bytes_ = std::move(bytes);
    return filter;
}

std::string encode(const supernode_summary& summary) {
    lt::entry message(lt::entry::dictionary_t);
    message["supernode"] = summary.supernode ? 1 : 0;
    message["children"] = summary.children;
    message["limit"] = summary.admission_limit;
    message["items"] = summary.cached_items;
    message["hashes"] = summary.cache.hashes();
    message["cache"] = std::string(summary.cache.bytes().begin(), summary.cache.bytes().end());
    message["fetching"] = std::string(summary.fetching.bytes().begin(), summary.fetching.bytes().end());
    message["fetching_hashes"] = summary.fetching.hashes();
    std::string out;
    lt::bencode(std::back_inserter(out), message);
    return out;
}

supernode_summary decode_summary(std::string_view payload) {
    lt::error_code error;
    int error_at = 0;
    const lt::bdecode_node root = lt::bdecode(payload, error, &error_at, 10, 32);
    if (error) throw summary_error("supernode summary: not bencoded (" + error.message() + " at byte " + std::to_string(error_at) + ")");
    if (root.type() != lt::bdecode_node::dict_t) throw summary_error("supernode summary: not a dictionary");
    const auto integer = [&](const char* key, std::int64_t most) {
        const auto node = root.dict_find_int(key);
        if (!node) throw summary_error(std::string("supernode summary: '") + key + "' is missing or not an integer");
        const std::int64_t value = node.int_value();
        if (value < 0 || value > most) throw summary_error(std::string("supernode summary: '") + key + "' is out of range");
        return value;
    };
    supernode_summary summary;
    summary.supernode = integer("supernode", 1) == 1;
    summary.children = static_cast<std::uint32_t>(integer("children", 1'000'000));
    summary.admission_limit = static_cast<std::uint32_t>(integer("limit", 1'000'000));
    summary.cached_items = static_cast<std::uint32_t>(integer("items", 10'000'000));
    const auto hashes = static_cast<unsigned>(integer("hashes", max_hashes));
    const auto cache = root.dict_find_string("cache");
    if (!cache) throw summary_error("supernode summary: 'cache' is missing or not a string");
    const auto bytes = cache.string_value();
    if (bytes.empty() || bytes.size() * 8 > max_filter_bits) throw summary_error("supernode summary: the cache filter has a bad size");
    if (hashes == 0) throw summary_error("supernode summary: 'hashes' is 0");
    summary.cache = cache_filter::from_bytes(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), hashes);
    if (const auto fetching = root.dict_find_string("fetching")) {
        const auto more = fetching.string_value();
        const auto fetching_hashes = static_cast<unsigned>(integer("fetching_hashes", max_hashes));
        if (more.empty() || more.size() * 8 > max_filter_bits) throw summary_error("supernode summary: the fetching filter has a bad size");
        if (fetching_hashes == 0) throw summary_error("supernode summary: 'fetching_hashes' is 0");
        summary.fetching = cache_filter::from_bytes(std::vector<std::uint8_t>(more.begin(), more.end()), fetching_hashes);
    }
    return summary;
}

}  // namespace nearcast::peer
