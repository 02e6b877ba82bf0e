// What every loader produces: routes (prefix -> origin ASes), AS links and AS names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nearcast/proximity/address.hpp"

namespace nearcast::proximity {

// One announced prefix with its origin ASes, the best-supported first (for MRT: the origin
// carried by the most RIB entries; ties by lower AS number). Never empty in loader output.
struct route {
    ip_prefix prefix;
    std::vector<std::uint32_t> origins;
};

// An undirected adjacency between two ASes seen next to each other in an AS path.
// Normalised so that `low < high`.
struct as_link {
    std::uint32_t low = 0;
    std::uint32_t high = 0;
    constexpr auto operator<=>(const as_link&) const = default;
};

// What a loader read and what it skipped, for logs and `nearcast-prox` output.
struct load_report {
    std::string input;                               // file name as given
    std::string format;                              // "mrt", "pfx2as", "ipasn", "mmdb"
    std::uint64_t records = 0;                       // records or data lines accepted
    std::uint64_t skipped = 0;                       // records skipped, all kinds
    std::map<std::string, std::uint64_t> skipped_by_kind;  // e.g. "MRT type 16 subtype 4" -> 12
    std::vector<std::string> warnings;               // e.g. a truncated last record, with offset
    // The input was cut short (compressed data without its end, or a last MRT record cut off):
    // the records before the cut were read, and one of `warnings` says where the cut is.
    bool cut_short = false;
};

struct routing_data {
    std::vector<route> routes;   // IPv4 and IPv6 in any order; each prefix at most once
    std::vector<as_link> links;  // sorted, without duplicates
    std::map<std::uint32_t, std::string> as_names;
    load_report report;
};

}  // namespace nearcast::proximity
