// Loaders for routing data: MRT RIB dumps, CAIDA pfx2as, pyasn IPASN and MaxMind DB files.
// Each reads plain, gzip or bzip2 input. Bad input throws input_error naming the file and the
// byte offset (binary formats) or line (text formats); nothing is returned half-read.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "nearcast/proximity/routing_data.hpp"

namespace nearcast::proximity {

enum class source_format { mrt, pfx2as, ipasn, as_rel, mmdb, snapshot };
std::string_view format_name(source_format format);
std::optional<source_format> parse_format_name(std::string_view name);

// The whole file, decompressed when it starts with the gzip or bzip2 magic bytes. Compressed
// data cut short is read up to the cut, with a warning (logged, and added to `warnings`).
std::string read_input(const std::string& path, std::vector<std::string>* warnings = nullptr);

// Guesses the format from the (decompressed) bytes; nullopt when nothing fits.
std::optional<source_format> detect_format(std::string_view bytes);

// MRT TABLE_DUMP_V2 and TABLE_DUMP (RFC 6396). `input` names the bytes in errors and the report.
// Other MRT types and subtypes are skipped and counted. A record cut off by the end of the
// input is a warning with its offset; everything before it is kept.
routing_data parse_mrt(std::string_view bytes, const std::string& input);

// CAIDA pfx2as: "prefix<TAB>length<TAB>asn", asn may be "a_b" (multi-origin) or "a,b" (AS set).
routing_data parse_pfx2as(std::string_view text, const std::string& input);

// pyasn IPASN: "prefix/length<TAB>asn", lines starting with ';' are comments.
routing_data parse_ipasn(std::string_view text, const std::string& input);

// CAIDA AS relationships: "as1|as2|relationship[|source]", '#' comments. AS links only.
routing_data parse_as_relationships(std::string_view text, const std::string& input);

// A MaxMind DB in the GeoLite2-ASN layout, every network of it as a route, organisation names
// as AS names.
routing_data load_mmdb(const std::string& path);

// Reads any of the above formats (not snapshots), detected from the content unless given.
routing_data load_source(const std::string& path, std::optional<source_format> format = {});
// The same for bytes already read with read_input; `path` names them (an MMDB is mapped from it).
routing_data parse_source(std::string_view bytes, const std::string& path, std::optional<source_format> format = {});

}  // namespace nearcast::proximity
