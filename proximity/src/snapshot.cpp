// The compiled snapshot: the model's arrays written as they are in memory, so loading is a
// read, a checksum and a bounds check, never a rebuild.
//
// Layout (little-endian, as written by this build):
//   header   64 bytes: magic, format version, byte-order mark, section count, payload size,
//            payload CRC-32, CRC-32 of the header's first 36 bytes and the section table
//   sections count x 24 bytes: id, element size, offset into the payload, size in bytes
//   payload  the arrays, each starting on a 16-byte boundary
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/model.hpp"

namespace nearcast::proximity {

namespace {

constexpr char magic[8] = {'\x89', 'N', 'C', 'P', 'R', 'O', 'X', '\n'};
constexpr std::uint32_t format_version = 1;
constexpr std::uint32_t byte_order_mark = 0x01020304;
constexpr std::size_t header_size = 64;
constexpr std::size_t section_entry_size = 24;
constexpr std::size_t alignment = 16;

enum section_id : std::uint32_t {
    v4_direct = 1, v4_nodes, v4_leaves, v4_routes,
    v6_direct, v6_nodes, v6_leaves, v6_routes,
    route_origins, graph_asns, graph_offsets, graph_neighbours,
    name_asns, name_offsets, name_text,
    section_count
};

struct section {
    std::uint32_t id;
    std::uint32_t element_size;
    std::uint64_t offset;
    std::uint64_t size;
};

template <class T>
void put(std::string& out, std::size_t at, T value) {
    std::memcpy(out.data() + at, &value, sizeof value);
}

template <class T>
T get(std::string_view in, std::size_t at) {
    T value;
    std::memcpy(&value, in.data() + at, sizeof value);
    return value;
}

std::uint32_t crc_of(std::string_view bytes) {
    return static_cast<std::uint32_t>(
        crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<z_size_t>(bytes.size())));
}

class snapshot_writer {
public:
    template <class T>
    void add(section_id id, const std::vector<T>& items) {
        add_bytes(id, sizeof(T), items.data(), items.size() * sizeof(T));
    }
    void add_text(section_id id, const std::string& text) { add_bytes(id, 1, text.data(), text.size()); }

    std::string finish() const {
        const std::size_t table_end = header_size + sections_.size() * section_entry_size;
        const std::size_t payload_at = (table_end + alignment - 1) / alignment * alignment;
        std::string file(payload_at, '\0');
        std::memcpy(file.data(), magic, sizeof magic);
        put(file, 8, format_version);
        put(file, 12, byte_order_mark);
        put(file, 16, static_cast<std::uint32_t>(sections_.size()));
        put(file, 24, static_cast<std::uint64_t>(payload_.size()));
        put(file, 32, crc_of(payload_));
        for (std::size_t i = 0; i < sections_.size(); ++i) {
            const std::size_t at = header_size + i * section_entry_size;
            put(file, at, sections_[i].id);
            put(file, at + 4, sections_[i].element_size);
            put(file, at + 8, sections_[i].offset);
            put(file, at + 16, sections_[i].size);
        }
        put(file, 36, header_crc(file, table_end));
        return file + payload_;
    }

    static std::uint32_t header_crc(std::string_view file, std::size_t table_end) {
        const std::uint32_t head = crc_of(file.substr(0, 36));
        return static_cast<std::uint32_t>(crc32_z(head, reinterpret_cast<const Bytef*>(file.data() + header_size),
                                                  static_cast<z_size_t>(table_end - header_size)));
    }

private:
    void add_bytes(section_id id, std::size_t element_size, const void* data, std::size_t size) {
        payload_.resize((payload_.size() + alignment - 1) / alignment * alignment, '\0');
        sections_.push_back({id, static_cast<std::uint32_t>(element_size), payload_.size(), size});
        payload_.append(static_cast<const char*>(data), size);
    }
    std::vector<section> sections_;
    std::string payload_;
};

class snapshot_reader {
public:
    snapshot_reader(std::string_view file, const std::string& input) : file_(file), input_(input) {
        if (file.size() < header_size || std::memcmp(file.data(), magic, sizeof magic) != 0) {
            throw input_error(input, "not a nearcast proximity snapshot (bad magic bytes)", 0);
        }
        const auto version = get<std::uint32_t>(file, 8);
        if (version != format_version) {
            throw input_error(input, "snapshot format version " + std::to_string(version) + ", this build reads " +
                                         std::to_string(format_version) + "; compile it again with nearcast-prox compile",
                              8);
        }
        if (get<std::uint32_t>(file, 12) != byte_order_mark) {
            throw input_error(input, "snapshot written with another byte order", 12);
        }
        const auto count = get<std::uint32_t>(file, 16);
        const std::size_t table_end = header_size + std::size_t{count} * section_entry_size;
        if (count > 1024 || table_end > file.size()) throw input_error(input, "snapshot section table is cut off", 16);
        if (snapshot_writer::header_crc(file, table_end) != get<std::uint32_t>(file, 36)) {
            throw input_error(input, "snapshot header is corrupt (checksum mismatch)", 36);
        }
        payload_at_ = (table_end + alignment - 1) / alignment * alignment;
        const auto payload_size = get<std::uint64_t>(file, 24);
        if (file.size() < payload_at_ || file.size() - payload_at_ != payload_size) {
            throw input_error(input, "snapshot is truncated or has trailing bytes: header says " +
                                         std::to_string(payload_at_ + payload_size) + " bytes, the file has " +
                                         std::to_string(file.size()));
        }
        payload_ = file.substr(payload_at_);
        if (crc_of(payload_) != get<std::uint32_t>(file, 32)) {
            throw input_error(input, "snapshot is corrupt (payload checksum mismatch)", payload_at_);
        }
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t at = header_size + i * section_entry_size;
            sections_.push_back({get<std::uint32_t>(file, at), get<std::uint32_t>(file, at + 4),
                                 get<std::uint64_t>(file, at + 8), get<std::uint64_t>(file, at + 16)});
        }
    }

    template <class T>
    std::vector<T> take(section_id id) const {
        const section& found = find(id, sizeof(T));
        std::vector<T> items(found.size / sizeof(T));
        if (found.size) std::memcpy(static_cast<void*>(items.data()), payload_.data() + found.offset, found.size);
        return items;
    }
    std::string take_text(section_id id) const {
        const section& found = find(id, 1);
        return std::string(payload_.substr(found.offset, found.size));
    }

    [[noreturn]] void inconsistent(const std::string& what) const {
        throw input_error(input_, "snapshot is inconsistent: " + what);
    }

private:
    const section& find(section_id id, std::size_t element_size) const {
        const auto at = std::find_if(sections_.begin(), sections_.end(), [&](const section& s) { return s.id == id; });
        const std::uint64_t entry_offset = header_size + static_cast<std::uint64_t>(at - sections_.begin()) * section_entry_size;
        if (at == sections_.end()) inconsistent("section " + std::to_string(id) + " is missing");
        if (at->element_size != element_size || at->size % element_size != 0) {
            throw input_error(input_, "snapshot section " + std::to_string(id) + " has the wrong element size",
                              entry_offset);
        }
        if (at->offset > payload_.size() || at->size > payload_.size() - at->offset) {
            throw input_error(input_, "snapshot section " + std::to_string(id) + " lies outside the file", entry_offset);
        }
        return *at;
    }

    std::string_view file_;
    std::string input_;
    std::size_t payload_at_ = 0;
    std::string_view payload_;
    std::vector<section> sections_;
};

template <class Key>
void check_routes(const snapshot_reader& reader, const std::vector<detail::stored_route<Key>>& routes,
                  std::size_t origin_count, unsigned width) {
    for (const auto& record : routes) {
        if (record.length > width || std::size_t{record.origins_at} + record.origin_count > origin_count) {
            reader.inconsistent("a route record points outside the origins");
        }
    }
}

}  // namespace

struct snapshot_access {
    static std::string write(const model& m) {
        const prefix_table& table = m.prefixes_;
        snapshot_writer out;
        out.add(v4_direct, table.v4_trie_.direct_);
        out.add(v4_nodes, table.v4_trie_.nodes_);
        out.add(v4_leaves, table.v4_trie_.leaves_);
        out.add(v4_routes, table.v4_routes_);
        out.add(v6_direct, table.v6_trie_.direct_);
        out.add(v6_nodes, table.v6_trie_.nodes_);
        out.add(v6_leaves, table.v6_trie_.leaves_);
        out.add(v6_routes, table.v6_routes_);
        out.add(route_origins, table.origins_);
        const auto graph = m.graph_.raw();
        out.add(graph_asns, std::vector<std::uint32_t>(graph.asns.begin(), graph.asns.end()));
        out.add(graph_offsets, std::vector<std::uint32_t>(graph.offsets.begin(), graph.offsets.end()));
        out.add(graph_neighbours, std::vector<std::uint32_t>(graph.neighbours.begin(), graph.neighbours.end()));
        out.add(name_asns, m.name_asns_);
        out.add(name_offsets, m.name_offsets_);
        out.add_text(name_text, m.name_text_);
        return out.finish();
    }

    static model read(std::string_view bytes, const std::string& input) {
        const snapshot_reader in(bytes, input);
        model m;
        prefix_table& table = m.prefixes_;
        table.v4_trie_.direct_ = in.take<std::uint32_t>(v4_direct);
        table.v4_trie_.nodes_ = in.take<detail::trie_node>(v4_nodes);
        table.v4_trie_.leaves_ = in.take<std::uint32_t>(v4_leaves);
        table.v4_routes_ = in.take<detail::stored_route<std::uint32_t>>(v4_routes);
        table.v6_trie_.direct_ = in.take<std::uint32_t>(v6_direct);
        table.v6_trie_.nodes_ = in.take<detail::trie_node>(v6_nodes);
        table.v6_trie_.leaves_ = in.take<std::uint32_t>(v6_leaves);
        table.v6_routes_ = in.take<detail::stored_route<uint128>>(v6_routes);
        table.origins_ = in.take<std::uint32_t>(route_origins);
        try {
            table.v4_trie_.validate(static_cast<std::uint32_t>(table.v4_routes_.size()));
            table.v6_trie_.validate(static_cast<std::uint32_t>(table.v6_routes_.size()));
            m.graph_ = as_graph::from_raw(in.take<std::uint32_t>(graph_asns), in.take<std::uint32_t>(graph_offsets),
                                          in.take<std::uint32_t>(graph_neighbours));
        } catch (const std::invalid_argument& error) {
            in.inconsistent(error.what());
        }
        check_routes(in, table.v4_routes_, table.origins_.size(), 32);
        check_routes(in, table.v6_routes_, table.origins_.size(), 128);
        m.name_asns_ = in.take<std::uint32_t>(name_asns);
        m.name_offsets_ = in.take<std::uint32_t>(name_offsets);
        m.name_text_ = in.take_text(name_text);
        if (m.name_offsets_.size() != m.name_asns_.size() + 1 || m.name_offsets_.front() != 0 ||
            m.name_offsets_.back() != m.name_text_.size() ||
            !std::is_sorted(m.name_offsets_.begin(), m.name_offsets_.end()) ||
            !std::is_sorted(m.name_asns_.begin(), m.name_asns_.end())) {
            in.inconsistent("AS name table");
        }
        return m;
    }
};

bool model::is_snapshot(std::string_view first_bytes) {
    return first_bytes.size() >= sizeof magic && std::memcmp(first_bytes.data(), magic, sizeof magic) == 0;
}

void model::save_snapshot(const std::string& path) const {
    const std::string bytes = snapshot_access::write(*this);
    // Written beside the target and renamed over it, so a reader never sees half a file.
    // On any failure (a full disk) the temporary goes too: nothing half-written stays behind.
    const std::string temporary = path + ".tmp";
    const auto fail = [&](const std::string& problem) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw input_error(path, problem);
    };
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) fail(std::string("cannot write: ") + std::strerror(errno));
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) fail(std::string("cannot write: ") + std::strerror(errno));
    }
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) {
        std::filesystem::remove(temporary);
        throw input_error(path, "cannot replace: " + error.message());
    }
}

model model::load_snapshot(const std::string& path) {
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    if (!file) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
    const auto size = file.tellg();
    if (size < 0) throw input_error(path, "cannot read: not a regular file");
    std::string bytes(static_cast<std::size_t>(size), '\0');
    file.seekg(0);
    file.read(bytes.data(), size);
    if (!file) throw input_error(path, "cannot read the whole file");
    return parse_snapshot(bytes, path);
}

model model::parse_snapshot(std::string_view bytes, const std::string& input) {
    return snapshot_access::read(bytes, input);
}

}  // namespace nearcast::proximity
