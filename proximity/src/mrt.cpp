// Reading MRT RIB dumps (RFC 6396) into routes (prefix -> origin ASes) and AS links.
//
// Only a few record kinds carry what we need: of TABLE_DUMP_V2, the PEER_INDEX_TABLE (to check
// peer indexes) and the IPv4 and IPv6 unicast RIB records; of the older TABLE_DUMP (RouteViews
// wrote it until 2008), its IPv4 and IPv6 records, one RIB entry each. Everything else is
// skipped and counted, so an operator can see what a dump held that we did not use.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"

namespace nearcast::proximity {

namespace {

constexpr std::size_t mrt_header_size = 12;
constexpr std::uint16_t mrt_table_dump = 12;
constexpr std::uint16_t afi_ipv4_subtype = 1;  // TABLE_DUMP's subtypes are address families
constexpr std::uint16_t afi_ipv6_subtype = 2;
constexpr std::uint16_t mrt_table_dump_v2 = 13;
constexpr std::uint16_t peer_index_table_subtype = 1;
constexpr std::uint16_t rib_ipv4_unicast_subtype = 2;
constexpr std::uint16_t rib_ipv6_unicast_subtype = 4;

constexpr std::uint8_t extended_length_flag = 0x10;
constexpr std::uint8_t as_path_attribute = 2;
constexpr std::uint8_t as4_path_attribute = 17;

constexpr std::uint8_t as_set_segment = 1;
constexpr std::uint8_t as_sequence_segment = 2;
constexpr std::uint8_t as_confed_sequence_segment = 3;
constexpr std::uint8_t as_confed_set_segment = 4;

constexpr std::uint8_t peer_has_ipv6_address = 0x01;
constexpr std::uint8_t peer_has_4_byte_as = 0x02;

// Big-endian reads inside one scope (a record, an entry) of the input. Running past the scope
// means the record contradicts itself, so it throws with the offset of the field that overran;
// offsets are always of the whole input, which is what a reader of a hex dump needs.
class field_reader {
public:
    field_reader(std::string_view bytes, std::size_t begin, std::size_t end, const std::string& input,
                 const char* scope)
        : bytes_(bytes), at_(begin), end_(end), input_(input), scope_(scope) {}

    std::size_t offset() const { return at_; }
    std::size_t remaining() const { return end_ - at_; }
    bool done() const { return at_ == end_; }

    const std::uint8_t* take(std::size_t count, const char* what) {
        if (count > remaining()) {
            fail(std::string(what) + " (" + std::to_string(count) + " bytes) runs past the end of the " + scope_,
                 at_);
        }
        const auto* data = reinterpret_cast<const std::uint8_t*>(bytes_.data() + at_);
        at_ += count;
        return data;
    }
    std::uint8_t u8(const char* what) { return *take(1, what); }
    std::uint16_t u16(const char* what) {
        const std::uint8_t* data = take(2, what);
        return static_cast<std::uint16_t>((data[0] << 8) | data[1]);
    }
    std::uint32_t u32(const char* what) {
        const std::uint8_t* data = take(4, what);
        return (std::uint32_t{data[0]} << 24) | (std::uint32_t{data[1]} << 16) | (std::uint32_t{data[2]} << 8) |
               data[3];
    }
    // The next `count` bytes as a scope of their own, e.g. the attributes of one RIB entry.
    field_reader nested(std::size_t count, const char* what, const char* scope) {
        const std::size_t begin = at_;
        take(count, what);
        return field_reader(bytes_, begin, begin + count, input_, scope);
    }

    [[noreturn]] void fail(std::string problem, std::size_t at) const {
        throw input_error(input_, std::move(problem), at);
    }

private:
    std::string_view bytes_;
    std::size_t at_;
    std::size_t end_;
    const std::string& input_;
    const char* scope_;
};

std::uint32_t big_endian(const std::uint8_t* data, unsigned width) {
    std::uint32_t value = 0;
    for (unsigned i = 0; i < width; ++i) value = (value << 8) | data[i];
    return value;
}

// An AS path as flat numbers plus segments over them, so that decoding 270,000 paths reuses the
// same two buffers instead of allocating a vector per segment.
enum class segment_kind : std::uint8_t { sequence, set, confederation };

struct as_path {
    struct segment {
        segment_kind kind;
        std::uint32_t begin;
        std::uint32_t end;
    };
    std::vector<std::uint32_t> numbers;
    std::vector<segment> segments;

    void clear() {
        numbers.clear();
        segments.clear();
    }
    bool empty() const { return segments.empty(); }
    void append(segment_kind kind, const std::uint32_t* first, std::size_t count) {
        const auto begin = static_cast<std::uint32_t>(numbers.size());
        numbers.insert(numbers.end(), first, first + count);
        segments.push_back({kind, begin, static_cast<std::uint32_t>(numbers.size())});
    }
    // The path length of RFC 6793 section 4.2.3: an AS_SET counts as one, confederation
    // segments not at all.
    std::size_t counted_length() const {
        std::size_t length = 0;
        for (const segment& part : segments) {
            if (part.kind == segment_kind::sequence) length += part.end - part.begin;
            if (part.kind == segment_kind::set) length += 1;
        }
        return length;
    }
};

// Decodes AS path segments with ASNs `width` bytes wide. False unless the segments are well
// formed and fill the attribute exactly, which is how a 2-byte path is told from a 4-byte one.
bool decode_as_path(const std::uint8_t* data, std::size_t size, unsigned width, as_path& path) {
    path.clear();
    std::uint32_t members[255];
    std::size_t at = 0;
    while (at < size) {
        if (size - at < 2) return false;
        const std::uint8_t type = data[at];
        const std::size_t count = data[at + 1];
        at += 2;
        if (count * width > size - at) return false;
        segment_kind kind;
        switch (type) {
            case as_sequence_segment: kind = segment_kind::sequence; break;
            case as_set_segment: kind = segment_kind::set; break;
            case as_confed_sequence_segment:
            case as_confed_set_segment: kind = segment_kind::confederation; break;
            default: return false;
        }
        for (std::size_t i = 0; i < count; ++i) members[i] = big_endian(data + at + i * width, width);
        at += count * width;
        if (count > 0) path.append(kind, members, count);
    }
    return true;
}

// RFC 6793 section 4.2.3: an old speaker's AS_PATH has AS_TRANS where a 4-byte AS stood; the
// AS4_PATH holds the true tail. Keep the leading ASes of AS_PATH the AS4_PATH does not cover.
void merge_as4_path(as_path& path, const as_path& as4_path, as_path& scratch) {
    const std::size_t path_length = path.counted_length();
    const std::size_t as4_length = as4_path.counted_length();
    if (path_length < as4_length) return;  // the RFC says to ignore such an AS4_PATH
    std::size_t leading = path_length - as4_length;
    scratch.clear();
    for (const auto& part : path.segments) {
        if (leading == 0) break;
        const std::uint32_t* first = path.numbers.data() + part.begin;
        const std::size_t size = part.end - part.begin;
        if (part.kind == segment_kind::sequence) {
            const std::size_t kept = std::min(leading, size);
            scratch.append(part.kind, first, kept);
            leading -= kept;
        } else {
            scratch.append(part.kind, first, size);
            if (part.kind == segment_kind::set) leading -= 1;
        }
    }
    for (const auto& part : as4_path.segments) {
        scratch.append(part.kind, as4_path.numbers.data() + part.begin, part.end - part.begin);
    }
    std::swap(path, scratch);
}

// The origin is the last AS of the path. A path that ends in an aggregate's AS_SET has no
// single last AS; we take the set's smallest member, so the choice does not depend on the order
// a router wrote the set in, a route keeps one origin whether its set was trimmed to one member
// or not, and the public AS wins over the private ones aggregates often carry.
std::optional<std::uint32_t> origin_of(const as_path& path) {
    const auto& segments = path.segments;
    auto last = std::find_if(segments.rbegin(), segments.rend(),
                             [](const auto& part) { return part.kind != segment_kind::confederation; });
    if (last == segments.rend()) return std::nullopt;
    const std::uint32_t* first = path.numbers.data() + last->begin;
    const std::uint32_t* end = path.numbers.data() + last->end;
    if (last->kind == segment_kind::sequence) return end[-1];
    return *std::min_element(first, end);
}

std::uint64_t link_key(std::uint32_t a, std::uint32_t b) {
    return a < b ? (std::uint64_t{a} << 32) | b : (std::uint64_t{b} << 32) | a;
}

// Neighbours in AS_SEQUENCEs are links; prepending (an AS repeated) is not, and a set or a
// confederation segment breaks the chain, since its members' order says nothing about adjacency.
void collect_links(const as_path& path, std::vector<std::uint64_t>& keys) {
    bool in_chain = false;
    std::uint32_t previous = 0;
    for (const auto& part : path.segments) {
        if (part.kind != segment_kind::sequence) {
            in_chain = false;
            continue;
        }
        for (std::uint32_t i = part.begin; i < part.end; ++i) {
            const std::uint32_t as = path.numbers[i];
            if (in_chain && previous != as) keys.push_back(link_key(previous, as));
            previous = as;
            in_chain = true;
        }
    }
}

void sort_unique(std::vector<std::uint64_t>& keys) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
}

// TABLE_DUMP_V2 writes AS_PATH with 4-byte ASes, but some collectors kept 2-byte ones; a
// TABLE_DUMP record has 2-byte ones always.
enum class as_width { either, two_bytes };

// How many RIB entries gave `origin` for `prefix`; one per prefix and origin per record.
struct origin_count {
    ip_prefix prefix;
    std::uint32_t origin;
    std::uint64_t entries;
};

class mrt_parser {
public:
    mrt_parser(std::string_view bytes, const std::string& input) : bytes_(bytes), input_(input) {
        result_.report.input = input;
        result_.report.format = "mrt";
    }

    routing_data parse() {
        std::size_t at = 0;
        while (at < bytes_.size() && read_record(at)) {
        }
        finish_routes();
        sort_unique(link_keys_);
        result_.links.reserve(link_keys_.size());
        for (std::uint64_t key : link_keys_) {
            result_.links.push_back({static_cast<std::uint32_t>(key >> 32), static_cast<std::uint32_t>(key)});
        }
        return std::move(result_);
    }

private:
    // Reads the record at `at` and moves past it; false when the input ends inside it.
    bool read_record(std::size_t& at) {
        const std::size_t left = bytes_.size() - at;
        if (left < mrt_header_size) {
            warn_truncated(at, mrt_header_size, left);
            return false;
        }
        field_reader header(bytes_, at, at + mrt_header_size, input_, "MRT header");
        header.u32("timestamp");
        const std::uint16_t type = header.u16("type");
        const std::uint16_t subtype = header.u16("subtype");
        const std::uint64_t length = header.u32("length");
        // The _ET types count their microseconds field in `length`, so skipping by it is right.
        if (length > left - mrt_header_size) {
            warn_truncated(at, mrt_header_size + length, left);
            return false;
        }
        const std::size_t body = at + mrt_header_size;
        const std::size_t end = body + static_cast<std::size_t>(length);
        if (type == mrt_table_dump_v2 && subtype == peer_index_table_subtype) {
            read_peer_index_table(field_reader(bytes_, body, end, input_, "PEER_INDEX_TABLE record"));
        } else if (type == mrt_table_dump_v2 && subtype == rib_ipv4_unicast_subtype) {
            read_rib(field_reader(bytes_, body, end, input_, "RIB_IPV4_UNICAST record"), ip_family::v4);
        } else if (type == mrt_table_dump_v2 && subtype == rib_ipv6_unicast_subtype) {
            read_rib(field_reader(bytes_, body, end, input_, "RIB_IPV6_UNICAST record"), ip_family::v6);
        } else if (type == mrt_table_dump && subtype == afi_ipv4_subtype) {
            read_table_dump(field_reader(bytes_, body, end, input_, "TABLE_DUMP IPv4 record"), ip_family::v4);
        } else if (type == mrt_table_dump && subtype == afi_ipv6_subtype) {
            read_table_dump(field_reader(bytes_, body, end, input_, "TABLE_DUMP IPv6 record"), ip_family::v6);
        } else {
            skip("MRT type " + std::to_string(type) + " subtype " + std::to_string(subtype));
        }
        at = end;
        return true;
    }

    void warn_truncated(std::size_t at, std::uint64_t needed, std::size_t left) {
        std::string warning = "the MRT record at byte offset " + std::to_string(at) +
                              " is cut off by the end of the input (" + std::to_string(needed) + " bytes needed, " +
                              std::to_string(left) + " left); the records before it are kept";
        result_.report.warnings.push_back(std::move(warning));  // the loader logs it with the input's name
        result_.report.cut_short = true;
    }

    void skip(const std::string& kind) {
        ++result_.report.skipped;
        ++result_.report.skipped_by_kind[kind];
    }

    void read_peer_index_table(field_reader record) {
        record.u32("collector BGP ID");
        const std::uint16_t view_name_length = record.u16("view name length");
        record.take(view_name_length, "view name");
        const std::uint16_t peers = record.u16("peer count");
        for (std::uint16_t i = 0; i < peers; ++i) {
            const std::uint8_t peer_type = record.u8("peer type");
            record.u32("peer BGP ID");
            record.take(peer_type & peer_has_ipv6_address ? 16 : 4, "peer address");
            record.take(peer_type & peer_has_4_byte_as ? 4 : 2, "peer AS");
        }
        if (!record.done()) {
            record.fail(std::to_string(record.remaining()) + " bytes follow the last entry of the peer table",
                        record.offset());
        }
        peer_count_ = peers;
    }

    static unsigned checked_prefix_length(field_reader& record, ip_family family) {
        const std::size_t prefix_length_at = record.offset();
        const unsigned prefix_length = record.u8("prefix length");
        const unsigned width = family == ip_family::v4 ? 32 : 128;
        if (prefix_length > width) {
            record.fail("prefix length " + std::to_string(prefix_length) + " is longer than " + std::to_string(width) +
                            " bits",
                        prefix_length_at);
        }
        return prefix_length;
    }

    void finish_record(const ip_prefix& prefix) {
        ++result_.report.records;
        count_record_origins(prefix);
        if (link_keys_.size() >= compact_links_at_) {
            // Bounds memory on a full table, where most paths repeat links already seen.
            sort_unique(link_keys_);
            compact_links_at_ = std::max<std::size_t>(2 * link_keys_.size(), 1 << 20);
        }
    }

    // RFC 6396 section 4.2: one RIB entry per record, the prefix written in full, AS numbers two
    // bytes wide in AS_PATH (4-byte ones come in AS4_PATH).
    void read_table_dump(field_reader record, ip_family family) {
        const std::size_t address_size = family == ip_family::v4 ? 4 : 16;
        record.u16("view number");
        record.u16("sequence number");
        std::uint8_t address[16] = {};
        std::memcpy(address, record.take(address_size, "prefix"), address_size);
        const unsigned prefix_length = checked_prefix_length(record, family);
        const ip_prefix prefix = ip_prefix::of(ip_address::from_bytes(family, address), prefix_length);
        record.u8("status");
        record.u32("originated time");
        record.take(address_size, "peer address");
        record.u16("peer AS");
        record_origins_.clear();
        read_entry_attributes(record, as_width::two_bytes);
        if (!record.done()) {
            record.fail(std::to_string(record.remaining()) + " bytes follow the attributes of the record", record.offset());
        }
        finish_record(prefix);
    }

    void read_rib(field_reader record, ip_family family) {
        record.u32("sequence number");
        const unsigned prefix_length = checked_prefix_length(record, family);
        std::uint8_t address[16] = {};
        std::memcpy(address, record.take((prefix_length + 7) / 8, "prefix"), (prefix_length + 7) / 8);
        const ip_prefix prefix = ip_prefix::of(ip_address::from_bytes(family, address), prefix_length);

        const std::size_t entry_count_at = record.offset();
        const std::uint16_t entry_count = record.u16("entry count");
        record_origins_.clear();
        for (std::uint16_t i = 0; i < entry_count; ++i) {
            if (record.done()) {
                record.fail("the entry count says " + std::to_string(entry_count) +
                                " RIB entries but the record ends after " + std::to_string(i),
                            entry_count_at);
            }
            read_rib_entry(record);
        }
        if (!record.done()) {
            record.fail(std::to_string(record.remaining()) + " bytes follow the last RIB entry of the record",
                        record.offset());
        }
        finish_record(prefix);
    }

    void read_rib_entry(field_reader& record) {
        const std::size_t peer_index_at = record.offset();
        const std::uint16_t peer_index = record.u16("peer index");
        if (peer_count_ && peer_index >= *peer_count_) {
            record.fail("peer index " + std::to_string(peer_index) + " is past the peer table's " +
                            std::to_string(*peer_count_) + " peers",
                        peer_index_at);
        }
        record.u32("originated time");
        read_entry_attributes(record, as_width::either);
    }

    // Reads the attribute length and the attributes of one RIB entry and notes its origin.
    void read_entry_attributes(field_reader& record, as_width width) {
        const std::size_t attribute_length_at = record.offset();
        const std::uint16_t attribute_length = record.u16("attribute length");
        if (attribute_length > record.remaining()) {
            record.fail("the RIB entry's attributes (" + std::to_string(attribute_length) +
                            " bytes) run past the end of the record",
                        attribute_length_at);
        }
        read_path(record.nested(attribute_length, "attributes", "RIB entry's attributes"), width);
        if (const auto origin = origin_of(path_)) {
            record_origins_.push_back(*origin);
            collect_links(path_, link_keys_);
        } else {
            skip("RIB entry without AS path");
        }
    }

    // Leaves the entry's AS path, AS4_PATH merged in, in path_ (empty when it has none).
    void read_path(field_reader attributes, as_width width) {
        struct span {
            const std::uint8_t* data = nullptr;
            std::size_t size = 0;
            std::size_t offset = 0;
        };
        std::optional<span> as_path_value;
        std::optional<span> as4_path_value;
        while (!attributes.done()) {
            const std::uint8_t flags = attributes.u8("attribute flags");
            const std::uint8_t type = attributes.u8("attribute type");
            const std::size_t length_at = attributes.offset();
            const std::size_t length = flags & extended_length_flag ? attributes.u16("attribute length")
                                                                      : attributes.u8("attribute length");
            if (length > attributes.remaining()) {
                attributes.fail("attribute type " + std::to_string(type) + " (" + std::to_string(length) +
                                    " bytes) runs past the end of the RIB entry's attributes",
                                length_at);
            }
            const std::size_t value_at = attributes.offset();
            const span value{attributes.take(length, "attribute value"), length, value_at};
            if (type == as_path_attribute && !as_path_value) as_path_value = value;
            if (type == as4_path_attribute && !as4_path_value) as4_path_value = value;
        }
        path_.clear();
        if (!as_path_value) return;
        const span& value = *as_path_value;
        if (width == as_width::either && decode_as_path(value.data, value.size, 4, path_)) return;
        if (!decode_as_path(value.data, value.size, 2, path_)) {
            attributes.fail("the AS_PATH attribute is neither a 4-byte nor a 2-byte AS path", value.offset);
        }
        if (!as4_path_value) return;
        if (decode_as_path(as4_path_value->data, as4_path_value->size, 4, as4_path_)) {
            merge_as4_path(path_, as4_path_, scratch_);
        } else {
            // RFC 6793 section 6: a malformed AS4_PATH is discarded, the AS_PATH still stands.
            skip("malformed AS4_PATH attribute");
        }
    }

    // Sorting rather than searching a list keeps a record of 65,535 distinct origins linear-ish.
    void count_record_origins(const ip_prefix& prefix) {
        std::sort(record_origins_.begin(), record_origins_.end());
        for (std::size_t first = 0; first < record_origins_.size();) {
            std::size_t next = first + 1;
            while (next < record_origins_.size() && record_origins_[next] == record_origins_[first]) ++next;
            origin_counts_.push_back({prefix, record_origins_[first], next - first});
            first = next;
        }
    }

    // One route per prefix, even when several records carry it; origins most-supported first.
    void finish_routes() {
        std::sort(origin_counts_.begin(), origin_counts_.end(), [](const origin_count& a, const origin_count& b) {
            return a.prefix != b.prefix ? a.prefix < b.prefix : a.origin < b.origin;
        });
        std::vector<std::pair<std::uint64_t, std::uint32_t>> ranked;
        for (std::size_t first = 0; first < origin_counts_.size();) {
            const ip_prefix prefix = origin_counts_[first].prefix;
            ranked.clear();
            std::size_t next = first;
            for (; next < origin_counts_.size() && origin_counts_[next].prefix == prefix; ++next) {
                const origin_count& count = origin_counts_[next];
                if (!ranked.empty() && ranked.back().second == count.origin) {
                    ranked.back().first += count.entries;
                } else {
                    ranked.emplace_back(count.entries, count.origin);
                }
            }
            std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
                return a.first != b.first ? a.first > b.first : a.second < b.second;
            });
            route merged{prefix, {}};
            merged.origins.reserve(ranked.size());
            for (const auto& [entries, origin] : ranked) merged.origins.push_back(origin);
            result_.routes.push_back(std::move(merged));
            first = next;
        }
    }

    std::string_view bytes_;
    const std::string& input_;
    routing_data result_;
    std::optional<std::uint16_t> peer_count_;  // known once a PEER_INDEX_TABLE was read
    as_path path_;
    as_path as4_path_;
    as_path scratch_;
    std::vector<std::uint32_t> record_origins_;  // one per RIB entry of the current record
    std::vector<origin_count> origin_counts_;
    std::vector<std::uint64_t> link_keys_;
    std::size_t compact_links_at_ = 1 << 22;
};

}  // namespace

routing_data parse_mrt(std::string_view bytes, const std::string& input) { return mrt_parser(bytes, input).parse(); }

}  // namespace nearcast::proximity
