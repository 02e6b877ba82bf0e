// One swarm: the peers announcing one info hash, stored compactly.
//
// A tracker holds millions of peers, so a peer is a 32-byte record in one vector per swarm,
// found through a small open-addressing index of record numbers (linear probing, removal by
// backward shift): about 45 bytes a peer in all, and a lookup touches two cache lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nearcast/tracker/messages.hpp"

namespace nearcast::tracker {

// Where a peer sits on the Internet, as far as the proximity model knows.
struct peer_location {
    static constexpr std::uint8_t no_prefix = 0xff;
    std::uint8_t prefix_length = no_prefix;  // length of the matched BGP prefix
    std::uint32_t origin_as = 0;             // its primary origin AS, 0 when unknown
};

struct peer_record {
    static constexpr std::uint8_t flag_v6 = 1;
    static constexpr std::uint8_t flag_seed = 2;
    static constexpr std::uint8_t flag_keyed = 4;
    static constexpr std::uint8_t flag_origin = 8;  // a registered origin seeder

    std::uint64_t address_high = 0;  // IPv6 high 64 bits; 0 for IPv4
    std::uint64_t address_low = 0;   // IPv6 low 64 bits, or the IPv4 address
    std::uint32_t origin_as = 0;
    std::uint32_t last_seen = 0;     // seconds, as the caller counts them
    std::uint32_t key = 0;           // the `key` the peer first announced with
    std::uint16_t port = 0;
    std::uint8_t prefix_length = peer_location::no_prefix;
    std::uint8_t flags = 0;

    bool seed() const { return flags & flag_seed; }
    bool v6() const { return flags & flag_v6; }
    bool origin() const { return flags & flag_origin; }
    proximity::ip_address address() const {
        if (v6()) return proximity::ip_address::v6(address_high, address_low);
        return proximity::ip_address::v4(static_cast<std::uint32_t>(address_low));
    }
    endpoint where() const { return {address(), port}; }
    peer_location location() const { return {prefix_length, origin_as}; }
    bool same_endpoint(const peer_record& other) const {
        return address_low == other.address_low && address_high == other.address_high && port == other.port &&
               v6() == other.v6();
    }
};
static_assert(sizeof(peer_record) == 32, "a peer record is meant to be 32 bytes");

// Fills the address, port and family fields of a record.
peer_record record_for(const endpoint& where);

class swarm {
public:
    std::size_t size() const { return peers_.size(); }
    std::uint32_t seeders() const { return seeders_; }
    std::uint32_t leechers() const { return static_cast<std::uint32_t>(peers_.size()) - seeders_; }
    std::uint32_t completed() const { return completed_; }
    void count_completed() { ++completed_; }
    const std::vector<peer_record>& peers() const { return peers_; }

    // The record of this endpoint, or null.
    const peer_record* find(const peer_record& endpoint_of) const;
    // Adds or replaces the record with the same endpoint.
    void upsert(const peer_record& record);
    // Removes the record with this endpoint; false when there was none.
    bool remove(const peer_record& endpoint_of);
    // Removes peers last seen before `oldest_kept`; returns how many.
    std::size_t expire(std::uint32_t oldest_kept);
    std::size_t memory_bytes() const;

private:
    static constexpr std::uint32_t empty_slot = 0xffff'ffffu;
    static std::uint64_t hash_of(const peer_record& record);
    std::size_t slot_of(const peer_record& record) const;  // the slot holding it, or an empty one
    void grow_index();
    void erase_at(std::size_t index);  // removes peers_[index], keeping the index right

    std::vector<peer_record> peers_;
    std::vector<std::uint32_t> index_;  // record numbers; empty_slot where free; size a power of two
    std::uint32_t seeders_ = 0;
    std::uint32_t completed_ = 0;
};

}  // namespace nearcast::tracker
