// What a supernode serves: its AS, or, in an AS large enough to be split, its announced BGP
// prefix (one supernode for a whole national ISP would be far from most of its customers).
// Group numbers are AS numbers for whole ASes; a prefix of a split AS gets a number counted
// down from the top of the 32-bit space (the end of the private-use range), remembered with
// the AS it belongs to so that distances between groups are still AS hops. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "nearcast/proximity/address.hpp"
#include "nearcast/tracker/supernodes.hpp"

namespace nearcast::tracker {

class supernode_groups {
public:
    // An AS with at least `split_at` peers is served per prefix; 0 never splits.
    explicit supernode_groups(std::uint64_t split_at) : split_at_(split_at) {}

    // The ASes to split, from the latest peer counts (an election round).
    void update(const std::map<std::uint32_t, std::uint64_t>& peers_per_as);
    bool split(std::uint32_t asn) const;
    // The group of a peer of `asn` whose address falls in `prefix` (its longest match).
    std::uint32_t group_of(std::uint32_t asn, const proximity::ip_prefix& prefix);
    // The AS a group belongs to (a group that is an AS: itself).
    std::uint32_t as_of(std::uint32_t group) const;
    // Each group's population: whole ASes from `peers_per_as`, split ones from
    // `peers_per_prefix` (AS, prefix) -> peers.
    std::vector<group_population> populations(const std::map<std::uint32_t, std::uint64_t>& peers_per_as,
                                              const std::map<std::pair<std::uint32_t, proximity::ip_prefix>, std::uint64_t>& peers_per_prefix);
    std::vector<std::uint32_t> split_ases() const;

private:
    std::uint64_t split_at_;
    std::vector<std::uint32_t> split_;  // sorted
    std::map<std::pair<std::uint32_t, proximity::ip_prefix>, std::uint32_t> ids_;
    std::map<std::uint32_t, std::uint32_t> as_of_id_;
    std::uint32_t next_id_ = 0xffff'fffe;
};

}  // namespace nearcast::tracker
