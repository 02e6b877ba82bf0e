// Reading input files whole, decompressing gzip and bzip2, and telling formats apart.
#include <bzlib.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "nearcast/proximity/model.hpp"

namespace nearcast::proximity {

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
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) throw input_error(path, "is a directory, not a file");
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
    if (bytes.empty()) throw input_error(path, "is empty");
    return bytes;
}

// A compressed file that ends before its end-of-stream mark was cut short (an interrupted
// download): what decompressed before the cut is kept, as a plain file's whole records are, and
// read_input warns with the compressed offset where the data stops. Data that contradicts itself
// (a bad checksum, an invalid block) is corrupt, and refused.
constexpr std::size_t output_step = 1 << 20;

// gzip members may be concatenated (RFC 1952 section 2.2); each is inflated in turn.
std::string gunzip(const std::string& path, const std::string& compressed, bool& cut) {
    std::string bytes;
    bytes.reserve(compressed.size() * 4);
    z_stream stream{};
    if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw input_error(path, "cannot start the gzip decompressor");
    struct closer {
        z_stream& stream;
        ~closer() { inflateEnd(&stream); }
    } close{stream};
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    std::size_t fed = 0;  // bytes of `compressed` given to zlib so far
    bool in_member = true;
    for (;;) {
        if (stream.avail_in == 0 && fed < compressed.size()) {
            const std::size_t chunk = std::min<std::size_t>(compressed.size() - fed, 1u << 30);
            stream.avail_in = static_cast<uInt>(chunk);
            fed += chunk;
        }
        const std::size_t before = bytes.size();
        bytes.resize(before + output_step);
        stream.next_out = reinterpret_cast<Bytef*>(bytes.data() + before);
        stream.avail_out = static_cast<uInt>(output_step);
        const int status = inflate(&stream, Z_NO_FLUSH);
        bytes.resize(before + output_step - stream.avail_out);
        const std::size_t consumed = fed - stream.avail_in;
        if (status == Z_STREAM_END) {
            in_member = false;
            if (consumed == compressed.size()) break;
            if (inflateReset(&stream) != Z_OK) throw input_error(path, "cannot restart the gzip decompressor");
            in_member = true;
            continue;
        }
        if (status != Z_OK && status != Z_BUF_ERROR) {
            throw input_error(path, std::string("corrupt gzip data: ") + (stream.msg ? stream.msg : "inflate failed"),
                              consumed);
        }
        // Every byte given and room left in the output: zlib waits for input that will not come.
        if (consumed == compressed.size() && stream.avail_out != 0) break;
    }
    cut = in_member;
    return bytes;
}

// bzip2 streams may be concatenated too (pbzip2 writes one per block group).
std::string bunzip2(const std::string& path, const std::string& compressed, bool& cut) {
    std::string bytes;
    bytes.reserve(compressed.size() * 4);
    bz_stream stream{};
    if (BZ2_bzDecompressInit(&stream, 0, 0) != BZ_OK) throw input_error(path, "cannot start the bzip2 decompressor");
    struct closer {
        bz_stream& stream;
        ~closer() { BZ2_bzDecompressEnd(&stream); }
    } close{stream};
    stream.next_in = const_cast<char*>(compressed.data());
    std::size_t fed = 0;
    bool in_stream = true;
    for (;;) {
        if (stream.avail_in == 0 && fed < compressed.size()) {
            const std::size_t chunk = std::min<std::size_t>(compressed.size() - fed, 1u << 30);
            stream.avail_in = static_cast<unsigned>(chunk);
            fed += chunk;
        }
        const std::size_t before = bytes.size();
        bytes.resize(before + output_step);
        stream.next_out = bytes.data() + before;
        stream.avail_out = static_cast<unsigned>(output_step);
        const int status = BZ2_bzDecompress(&stream);
        bytes.resize(before + output_step - stream.avail_out);
        const std::size_t consumed = fed - stream.avail_in;
        if (status == BZ_STREAM_END) {
            in_stream = false;
            if (consumed == compressed.size()) break;
            BZ2_bzDecompressEnd(&stream);
            const char* rest = stream.next_in;
            const unsigned rest_size = stream.avail_in;
            stream = bz_stream{};
            if (BZ2_bzDecompressInit(&stream, 0, 0) != BZ_OK) throw input_error(path, "cannot restart the bzip2 decompressor");
            stream.next_in = const_cast<char*>(rest);
            stream.avail_in = rest_size;
            in_stream = true;
            continue;
        }
        if (status != BZ_OK) {
            throw input_error(path, status == BZ_DATA_ERROR_MAGIC ? "corrupt bzip2 data: a stream does not start with BZh"
                                                                  : "corrupt bzip2 data: a block fails its check",
                              consumed);
        }
        // BZ_OK with all input consumed and room left in the output: it waits for more input.
        if (consumed == compressed.size() && stream.avail_out != 0) break;
    }
    cut = in_stream;
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

std::string read_input(const std::string& path, std::vector<std::string>* warnings) {
    const std::string raw = read_raw(path);
    const bool gzip = starts_with(raw, "\x1f\x8b");
    if (!gzip && !starts_with(raw, "BZh")) return raw;
    bool cut = false;
    std::string bytes = gzip ? gunzip(path, raw, cut) : bunzip2(path, raw, cut);
    if (!cut) return bytes;
    std::string warning = std::string("the ") + (gzip ? "gzip" : "bzip2") + " data is cut off at compressed byte offset " +
                          std::to_string(raw.size()) + " (the file is truncated); what decompressed before the cut is read";
    // A text table's last line is a record only with its newline: a cut one could read as a
    // wrong prefix or AS number. (A binary format's parser finds its own cut record.)
    if (text_format(bytes)) {
        const std::size_t last_newline = bytes.rfind('\n');
        bytes.resize(last_newline == std::string::npos ? 0 : last_newline + 1);
        warning += ", up to its last whole line";
    }
    // Too little came out before the cut to say what the file is: "unknown format" would send
    // the operator looking for the wrong problem.
    if (!detect_format(bytes)) {
        throw input_error(path, std::string("compressed data cut short after ") + std::to_string(raw.size()) +
                                    " bytes; too little to tell its format (" + std::to_string(bytes.size()) +
                                    " bytes decompressed before the cut; the " + (gzip ? "gzip" : "bzip2") +
                                    " file is truncated)");
    }
    if (warnings) {
        warnings->push_back(std::move(warning));  // the caller reports it with the source's other warnings
    } else {
        spdlog::warn("{}: {}", path, warning);
    }
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
    std::vector<std::string> warnings;
    const std::string bytes = read_input(path, &warnings);
    routing_data data = parse_source(bytes, path, format);
    data.report.warnings.insert(data.report.warnings.begin(), warnings.begin(), warnings.end());
    if (!warnings.empty()) data.report.cut_short = true;  // read_input warns only of a cut
    return data;
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
