// Where simulated peers live: ASes with their prefixes, the AS graph, and an AS for the origin.
// From real routing data (a proximity snapshot or loader inputs) or a built-in synthetic
// Internet, the embedded default when no data is given.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "nearcast/proximity/model.hpp"
#include "nearcast/sim/scenario.hpp"

namespace nearcast::sim {

struct placed_as {
    std::uint32_t asn = 0;
    double weight = 0;                           // share of peers placed here (sums to 1)
    std::vector<proximity::ip_prefix> prefixes;  // IPv4 prefixes originated by the AS
    std::vector<double> cumulative;              // addresses up to and including prefix i
};

struct topology {
    proximity::model routing;
    std::vector<placed_as> ases;         // where peers are placed
    std::uint32_t origin_asn = 0;        // the origin seeders' AS (a CDN's own network)
    proximity::ip_prefix origin_prefix;  // and their addresses
    std::string description;             // for logs and the report
};

// The synthetic Internet: `as_count` stub ASes of different sizes under a meshed core (a tenth
// of them, at least three), regional peering between neighbours, and a CDN AS on the core.
proximity::routing_data synthetic_routing(std::uint32_t as_count);

// Builds the topology the scenario names; throws scenario_error when its inputs cannot be
// read or hold too few ASes.
topology build_topology(const scenario& config);

// A random IPv4 address of the AS (uniform over its address space) that the routing table
// maps back to the AS itself.
std::uint32_t address_in(const topology& world, std::size_t as_index, std::mt19937_64& random);

}  // namespace nearcast::sim
