// Reading input files whole, decompressing gzip and bzip2, and telling formats apart.
#include <boost/iostreams/copy.hpp>
#include <boost/iostreams/device/array.hpp>
#include <boost/iostreams/device/back_inserter.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "nearcast/proximity/model.hpp"

namespace nearcast::proximity {

namespace io = boost::iostreams;

std::string_view format_name(source_format format) {
    switch (format) {
        case source_format::mrt: return "mrt";
        case source_format::pfx2as: return "pfx2as";
        case source_format::ipasn: return "ipasn";
        case source_format::as_rel: return "as-rel";
        case source_format::mmdb: return "mmdb";
        case source_format::snapshot: return "snapshot";
    }
    return "unknown";
}

std::optional<source_format> parse_format_name(std::string_view name) {
    for (auto format : {source_format::mrt, source_format::pfx2as, source_format::ipasn, source_format::as_rel,
                        source_format::mmdb,
                        source_format::snapshot}) {
        if (format_name(format) == name) return format;
    }
    return std::nullopt;
}

namespace {

std::string read_raw(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
    std::string bytes;
    file.seekg(0, std::ios::end);
    const auto size = file.tellg();
    if (size < 0) throw input_error(path, "cannot read: not a regular file");
    bytes.resize(static_cast<std::size_t>(size));
    file.seekg(0);
    file.read(bytes.data(), size);
    if (!file) throw input_error(path, "cannot read the whole file");
    return bytes;
}

template <class Decompressor>
std::string decompress(const std::string& path, const std::string& compressed, const char* kind) {
    std::string bytes;
    bytes.reserve(compressed.size() * 4);
    try {
        io::filtering_istream in;
        in.push(Decompressor());
        in.push(io::array_source(compressed.data(), compressed.size()));
        io::copy(in, io::back_inserter(bytes), 1 << 20);
    } catch (const std::exception& error) {
        throw input_error(path, std::string("corrupt or truncated ") + kind + " data: " + error.what());
    }
    return bytes;
}

bool starts_with(std::string_view bytes, std::string_view magic) { return bytes.substr(0, magic.size()) == magic; }

bool is_mmdb(std::string_view bytes) {
    // The metadata section follows this marker, within the last 128 KiB of the file.
    static constexpr std::string_view marker("\xab\xcd\xefMaxMind.com", 14);
    const std::size_t window = std::min<std::size_t>(bytes.size(), 128 * 1024);
    return bytes.substr(bytes.size() - window).find(marker) != std::string_view::npos;
}

bool looks_like_mrt(std::string_view bytes) {
    if (bytes.size() < 12) return false;
    const auto u8 = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[i])); };
    const unsigned type = (u8(4) << 8) | u8(5);
    const std::uint64_t length = (std::uint64_t{u8(8)} << 24) | (u8(9) << 16) | (u8(10) << 8) | u8(11);
    // RFC 6396 types 11-17 and 32-49 (OSPFv3, ISIS and their ET forms included).
    const bool known_type = (type >= 11 && type <= 17) || (type >= 32 && type <= 49);
    return known_type && length < (1u << 24);
}

// The first data line of a text table decides: "a.b.c.d/len<TAB>asn" is IPASN,
// "a.b.c.d<TAB>len<TAB>asn" is pfx2as, "asn|asn|relationship" is CAIDA AS relationships.
std::optional<source_format> text_format(std::string_view bytes) {
    std::size_t at = 0;
    for (int lines = 0; at < bytes.size() && lines < 1000; ++lines) {
        std::size_t end = bytes.find('\n', at);
        if (end == std::string_view::npos) end = bytes.size();
        std::string_view line = bytes.substr(at, end - at);
        at = end + 1;
        if (line.empty() || line[0] == ';' || line[0] == '#' || line == "\r") continue;
        const std::size_t tab = line.find('\t');
        if (tab == std::string_view::npos) {
            const std::size_t bar = line.find('|');
            const bool numeric = bar > 0 && bar != std::string_view::npos &&
                                 line.substr(0, bar).find_first_not_of("0123456789") == std::string_view::npos;
            return numeric ? std::optional(source_format::as_rel) : std::nullopt;
        }
        const std::string_view first = line.substr(0, tab);
        if (first.find('/') != std::string_view::npos) {
            return ip_prefix::parse(first, true) ? std::optional(source_format::ipasn) : std::nullopt;
        }
        return ip_address::parse(first) ? std::optional(source_format::pfx2as) : std::nullopt;
    }
    return std::nullopt;
}

}  // namespace

std::string read_input(const std::string& path) {
    std::string bytes = read_raw(path);
    if (starts_with(bytes, "\x1f\x8b")) return decompress<io::gzip_decompressor>(path, bytes, "gzip");
    if (starts_with(bytes, "BZh")) return decompress<io::bzip2_decompressor>(path, bytes, "bzip2");
    return bytes;
}

std::optional<source_format> detect_format(std::string_view bytes) {
    if (model::is_snapshot(bytes)) return source_format::snapshot;
    if (is_mmdb(bytes)) return source_format::mmdb;
    if (auto text = text_format(bytes)) return text;
    if (looks_like_mrt(bytes)) return source_format::mrt;
    return std::nullopt;
}

routing_data load_source(const std::string& path, std::optional<source_format> format) {
    return parse_source(read_input(path), path, format);
}

routing_data parse_source(std::string_view bytes, const std::string& path, std::optional<source_format> format) {
    if (!format) format = detect_format(bytes);
    if (!format) {
        throw input_error(path, "unknown format: not an MRT RIB dump, pfx2as, IPASN or AS-relationship text, or MaxMind DB");
    }
    switch (*format) {
        case source_format::mrt: return parse_mrt(bytes, path);
        case source_format::pfx2as: return parse_pfx2as(bytes, path);
        case source_format::ipasn: return parse_ipasn(bytes, path);
        case source_format::as_rel: return parse_as_relationships(bytes, path);
        case source_format::mmdb: return load_mmdb(path);
        case source_format::snapshot: break;
    }
    throw input_error(path, "a snapshot is not a routing source; load it on its own");
}

}  // namespace nearcast::proximity
