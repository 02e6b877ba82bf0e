// MaxMind DB files in the GeoLite2-ASN layout, read whole: every network of the search tree
// with an `autonomous_system_number` becomes a route, and `autonomous_system_organization`
// names its AS.
//
// libmaxminddb answers one address at a time; to list every network we walk the search tree
// ourselves with MMDB_read_node, and decode each data record once however many networks share
// it (in a full database most do: a record per AS, a network per announcement).
#include <maxminddb.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <utility>
#include <vector>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"

namespace nearcast::proximity {

namespace {

// Why MMDB_open refused `path`. A compressed file is the common mistake: read_input would
// decompress it, but libmaxminddb maps the file as it lies on disk.
std::string open_problem(const std::string& path, int status, int saved_errno) {
    std::string problem = std::string("cannot open as a MaxMind DB: ") + MMDB_strerror(status);
    if (status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) {
        return problem + " (" + std::strerror(saved_errno) + ")";
    }
    char magic[3] = {};
    if (std::FILE* file = std::fopen(path.c_str(), "rb")) {
        const std::size_t got = std::fread(magic, 1, sizeof magic, file);
        std::fclose(file);
        if (got >= 2 && magic[0] == '\x1f' && magic[1] == '\x8b') {
            return "the file is gzip-compressed, and a MaxMind DB is read in place (memory-mapped): "
                   "decompress it first (gunzip)";
        }
        if (got == 3 && std::memcmp(magic, "BZh", 3) == 0) {
            return "the file is bzip2-compressed, and a MaxMind DB is read in place (memory-mapped): "
                   "decompress it first (bunzip2)";
        }
    }
    return problem;
}

class open_database {
public:
    explicit open_database(const std::string& path) {
        const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &database_);
        const int saved_errno = errno;
        if (status != MMDB_SUCCESS) throw input_error(path, open_problem(path, status, saved_errno));
    }
    ~open_database() { MMDB_close(&database_); }
    open_database(const open_database&) = delete;
    open_database& operator=(const open_database&) = delete;

    const MMDB_s* get() const { return &database_; }

private:
    MMDB_s database_{};
};

// One data record, decoded: 32 bytes, as it is looked at once per network. `organisation`
// points into the mapped file. Counts fit 32 bits as a tree has fewer than 2^32 nodes.
struct as_record {
    bool usable = false;
    std::uint32_t asn = 0;
    std::string_view organisation;
    std::uint32_t networks = 0;       // how many networks point here
    std::uint32_t first_network = 0;  // the order of the first of them in the walk
};

// Data offset -> index of its decoded record, in one flat array: a full database has some 90
// thousand records and is asked once per network, and std::unordered_map's nodes would miss the
// cache on nearly every ask.
class record_numbers {
public:
    record_numbers() : slots_(1024, empty) {}

    // The number for `offset`, and whether it was given just now (the next free one).
    std::pair<std::uint32_t, bool> find_or_add(std::uint32_t offset) {
        if ((count_ + 1) * 2 > slots_.size()) grow();
        std::size_t slot = position(offset);
        for (; slots_[slot] != empty; slot = (slot + 1) & (slots_.size() - 1)) {
            if (static_cast<std::uint32_t>(slots_[slot] >> 32) == offset) {
                return {static_cast<std::uint32_t>(slots_[slot]), false};
            }
        }
        slots_[slot] = (std::uint64_t{offset} << 32) | count_;
        return {static_cast<std::uint32_t>(count_++), true};
    }

private:
    static constexpr std::uint64_t empty = ~std::uint64_t{0};  // offsets stay below 2^32 - 1

    std::size_t position(std::uint32_t offset) const {
        // Fibonacci hashing: the top bits of offset * 2^64 / phi.
        const std::uint64_t hash = std::uint64_t{offset} * 0x9e3779b97f4a7c15ULL;
        return static_cast<std::size_t>(hash >> (64 - bits_));
    }

    void grow() {
        std::vector<std::uint64_t> old(slots_.size() * 2, empty);
        old.swap(slots_);
        ++bits_;
        for (const std::uint64_t entry : old) {
            if (entry == empty) continue;
            std::size_t slot = position(static_cast<std::uint32_t>(entry >> 32));
            while (slots_[slot] != empty) slot = (slot + 1) & (slots_.size() - 1);
            slots_[slot] = entry;
        }
    }

    std::vector<std::uint64_t> slots_;
    unsigned bits_ = 10;
    std::uint32_t count_ = 0;
};

// A record of the search tree still to be followed: a node or a data record, and the network
// it stands for (in the top `depth` of the tree's bits).
struct pending_record {
    std::uint64_t value;
    std::uint8_t type;
    MMDB_entry_s entry;
    uint128 bits;
    unsigned depth;
};

class tree_walker {
public:
    tree_walker(const MMDB_s* database, const std::string& path, routing_data& data)
        : database_(database), path_(path), data_(data), width_(database->depth) {}

    void walk() {
        if (width_ != 32 && width_ != 128) {
            throw input_error(path_, "the search tree is " + std::to_string(width_) + " bits deep, not 32 or 128");
        }
        const std::uint32_t node_count = database_->metadata.node_count;
        ipv4_start_ = width_ == 128 ? ipv4_start_node() : node_count;

        // Depth first, lower half first, data records in the same stack as nodes: routes come
        // out in address order, and neighbours (which often share a record) one after another.
        std::vector<pending_record> stack{{0, MMDB_RECORD_TYPE_SEARCH_NODE, {}, 0, 0}};
        std::uint64_t visited = 0;
        while (!stack.empty()) {
            const pending_record record = stack.back();
            stack.pop_back();
            if (record.type == MMDB_RECORD_TYPE_DATA) {
                emit(record.bits, record.depth, record.entry);
                continue;
            }
            const auto number = static_cast<std::uint32_t>(record.value);
            // Each node of a tree is reached once; more means a cycle or a shared subtree in a
            // corrupt file, which could make the walk run for ever.
            if (++visited > node_count) {
                throw input_error(path_, "the search tree reaches some node more than once (corrupt database?)",
                                  node_offset(number));
            }
            if (record.depth >= width_) {
                throw input_error(path_, "the search tree goes past " + std::to_string(width_) + " bits",
                                  node_offset(number));
            }
            const MMDB_search_node_s node = read_node(number);
            const unsigned depth = record.depth + 1;
            const uint128 right_bit = uint128{1} << (width_ - depth);
            push(stack, {node.right_record, node.right_record_type, node.right_record_entry, record.bits | right_bit,
                         depth},
                 number);
            push(stack, {node.left_record, node.left_record_type, node.left_record_entry, record.bits, depth}, number);
        }
    }

    // Picks one organisation name per AS: the one on the most networks, the earliest on a tie.
    // (A database can name one AS differently on different networks.)
    void name_ases() {
        std::vector<const as_record*> named;
        for (const as_record& record : records_) {
            if (record.usable && !record.organisation.empty() && record.networks > 0) named.push_back(&record);
        }
        std::sort(named.begin(), named.end(), [](const as_record* left, const as_record* right) {
            return std::tie(left->asn, left->organisation) < std::tie(right->asn, right->organisation);
        });
        for (std::size_t at = 0; at < named.size();) {
            const std::uint32_t asn = named[at]->asn;
            std::string_view best;
            std::uint64_t best_networks = 0;
            std::uint32_t best_first = 0;
            while (at < named.size() && named[at]->asn == asn) {
                const std::string_view name = named[at]->organisation;
                std::uint64_t networks = 0;
                std::uint32_t first = named[at]->first_network;
                for (; at < named.size() && named[at]->asn == asn && named[at]->organisation == name; ++at) {
                    networks += named[at]->networks;
                    first = std::min(first, named[at]->first_network);
                }
                if (networks > best_networks || (networks == best_networks && first < best_first)) {
                    best = name;
                    best_networks = networks;
                    best_first = first;
                }
            }
            data_.as_names.emplace_hint(data_.as_names.end(), asn, std::string(best));
        }
    }

private:
    std::uint64_t node_offset(std::uint32_t number) const {
        return std::uint64_t{number} * database_->full_record_byte_size;
    }

    MMDB_search_node_s read_node(std::uint32_t number) const {
        MMDB_search_node_s node{};
        const int status = MMDB_read_node(database_, number, &node);
        if (status != MMDB_SUCCESS) {
            throw input_error(path_, std::string("cannot read search tree node ") + std::to_string(number) + ": " +
                                         MMDB_strerror(status),
                              node_offset(number));
        }
        return node;
    }

    // The node of ::/96, where an IPv6 database keeps the IPv4 space; node_count (no node) when
    // the tree ends above it.
    std::uint32_t ipv4_start_node() const {
        std::uint32_t number = 0;
        for (int depth = 0; depth < 96; ++depth) {
            const MMDB_search_node_s node = read_node(number);
            if (node.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE) return database_->metadata.node_count;
            number = static_cast<std::uint32_t>(node.left_record);
        }
        return number;
    }

    // Queues one record of `parent`, unless it is empty or an alias of the IPv4 space.
    void push(std::vector<pending_record>& stack, const pending_record& record, std::uint32_t parent) const {
        switch (record.type) {
            case MMDB_RECORD_TYPE_EMPTY: return;
            case MMDB_RECORD_TYPE_DATA: stack.push_back(record); return;
            case MMDB_RECORD_TYPE_SEARCH_NODE: {
                // ::ffff:0:0/96, 2002::/16 and the like lead back to the IPv4 space; it is
                // listed once, from ::/96.
                const bool via_ipv4_space = record.depth == 96 && record.bits == 0;
                if (record.value == ipv4_start_ && !via_ipv4_space) return;
                stack.push_back(record);
                return;
            }
            default:
                throw input_error(path_, "a search tree record points past the data section", node_offset(parent));
        }
    }

    void emit(uint128 bits, unsigned depth, MMDB_entry_s entry) {
        as_record& record = record_at(entry);
        if (!record.usable) {
            ++data_.report.skipped;
            ++data_.report.skipped_by_kind["network without a usable autonomous_system_number"];
            return;
        }
        if (record.networks++ == 0) record.first_network = static_cast<std::uint32_t>(data_.routes.size());
        route& added = data_.routes.emplace_back();
        if (width_ == 32) {
            added.prefix = {ip_address::v4(static_cast<std::uint32_t>(bits)), static_cast<std::uint8_t>(depth)};
        } else if (depth >= 96 && (bits >> 32) == 0) {
            added.prefix = {ip_address::v4(static_cast<std::uint32_t>(bits)), static_cast<std::uint8_t>(depth - 96)};
        } else {
            added.prefix = {ip_address::v6(bits), static_cast<std::uint8_t>(depth)};
        }
        added.origins.push_back(record.asn);
    }

    as_record& record_at(MMDB_entry_s entry) {
        if (records_.empty() || entry.offset != last_offset_) {
            const auto [number, added] = record_numbers_.find_or_add(entry.offset);
            if (added) records_.push_back(decode(entry));
            last_offset_ = entry.offset;
            last_number_ = number;
        }
        return records_[last_number_];
    }

    as_record decode(MMDB_entry_s entry) const {
        as_record record;
        MMDB_entry_data_s value{};
        if (!look_up(entry, "autonomous_system_number", value)) return record;
        switch (value.type) {
            case MMDB_DATA_TYPE_UINT16: record.asn = value.uint16; break;
            case MMDB_DATA_TYPE_UINT32: record.asn = value.uint32; break;
            case MMDB_DATA_TYPE_INT32:
                if (value.int32 < 0) return record;
                record.asn = static_cast<std::uint32_t>(value.int32);
                break;
            case MMDB_DATA_TYPE_UINT64:
                if (value.uint64 > 0xffff'ffffu) return record;
                record.asn = static_cast<std::uint32_t>(value.uint64);
                break;
            default: return record;
        }
        record.usable = true;
        if (look_up(entry, "autonomous_system_organization", value) && value.type == MMDB_DATA_TYPE_UTF8_STRING) {
            record.organisation = std::string_view(value.utf8_string, value.data_size);
        }
        return record;
    }

    // The value of `key` in the record; false when the record has no such key (or is no map).
    bool look_up(MMDB_entry_s entry, const char* key, MMDB_entry_data_s& value) const {
        const int status = MMDB_get_value(&entry, &value, key, nullptr);
        if (status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) return false;
        if (status == MMDB_SUCCESS) return value.has_data;
        const auto data_start = static_cast<std::uint64_t>(database_->data_section - database_->file_content);
        throw input_error(path_, std::string("cannot decode a data record: ") + MMDB_strerror(status),
                          data_start + entry.offset);
    }

    const MMDB_s* database_;
    const std::string& path_;
    routing_data& data_;
    unsigned width_;
    std::uint32_t ipv4_start_ = 0;
    std::vector<as_record> records_;
    record_numbers record_numbers_;  // data offset -> records_
    std::uint32_t last_offset_ = 0;  // the record of the last network, asked most often
    std::uint32_t last_number_ = 0;
};

}  // namespace

routing_data load_mmdb(const std::string& path) {
    routing_data data;
    data.report.input = path;
    data.report.format = "mmdb";
    const open_database database(path);
    tree_walker walker(database.get(), path, data);
    walker.walk();
    walker.name_ases();
    data.report.records = data.routes.size();
    if (data.routes.empty() && data.report.skipped > 0) {
        const char* type = database.get()->metadata.database_type;
        data.report.warnings.push_back(std::string("no network has an autonomous_system_number: is this an ASN "
                                                   "database? (its type is ") +
                                       (type ? type : "not given") + ")");
    }
    return data;
}

}  // namespace nearcast::proximity
