#include "nearcast/tracker/swarm.hpp"

#include <bit>

namespace nearcast::tracker {

peer_record record_for(const endpoint& where) {
    peer_record record;
    if (where.address.is_v4()) {
        record.address_low = where.address.v4_bits();
    } else {
        const proximity::uint128 bits = where.address.v6_bits();
        record.address_high = static_cast<std::uint64_t>(bits >> 64);
        record.address_low = static_cast<std::uint64_t>(bits);
        record.flags |= peer_record::flag_v6;
    }
    record.port = where.port;
    return record;
}

std::uint64_t swarm::hash_of(const peer_record& record) {
    // A multiply-xorshift mix: endpoints are not chosen by an attacker in a way that matters
    // here (a swarm is bounded in size), and it must be cheap.
    std::uint64_t h = record.address_low * 0x9E37'79B9'7F4A'7C15ull;
    h ^= (record.address_high + record.port + (std::uint64_t{record.v6()} << 17)) * 0xC2B2'AE3D'27D4'EB4Full;
    return h ^ (h >> 29);
}

std::size_t swarm::slot_of(const peer_record& record) const {
    const std::size_t mask = index_.size() - 1;
    std::size_t slot = hash_of(record) & mask;
    while (index_[slot] != empty_slot && !peers_[index_[slot]].same_endpoint(record)) slot = (slot + 1) & mask;
    return slot;
}

const peer_record* swarm::find(const peer_record& endpoint_of) const {
    if (index_.empty()) return nullptr;
    const std::uint32_t at = index_[slot_of(endpoint_of)];
    return at == empty_slot ? nullptr : &peers_[at];
}

void swarm::grow_index() {
    const std::size_t capacity = std::max<std::size_t>(8, std::bit_ceil(peers_.size() * 2 + 2));
    index_.assign(capacity, empty_slot);
    for (std::uint32_t i = 0; i < peers_.size(); ++i) index_[slot_of(peers_[i])] = i;
}

void swarm::upsert(const peer_record& record) {
    if (index_.empty()) grow_index();
    const std::size_t slot = slot_of(record);
    if (index_[slot] != empty_slot) {
        peer_record& existing = peers_[index_[slot]];
        seeders_ -= existing.seed();
        existing = record;
        seeders_ += record.seed();
        return;
    }
    index_[slot] = static_cast<std::uint32_t>(peers_.size());
    peers_.push_back(record);
    seeders_ += record.seed();
    if (peers_.size() * 2 > index_.size()) grow_index();  // keep the load factor at most one half
}

void swarm::erase_at(std::size_t index) {
    // Backward-shift deletion: close the gap so that every later entry of the probe run stays
    // reachable from its home slot, with no tombstones.
    const std::size_t mask = index_.size() - 1;
    std::size_t hole = slot_of(peers_[index]);
    for (std::size_t next = (hole + 1) & mask; index_[next] != empty_slot; next = (next + 1) & mask) {
        const std::size_t home = hash_of(peers_[index_[next]]) & mask;
        // Move the entry back if its home is not cyclically within (hole, next].
        if (((next - home) & mask) >= ((next - hole) & mask)) {
            index_[hole] = index_[next];
            hole = next;
        }
    }
    index_[hole] = empty_slot;

    seeders_ -= peers_[index].seed();
    const std::size_t last = peers_.size() - 1;
    if (index != last) {
        index_[slot_of(peers_[last])] = static_cast<std::uint32_t>(index);
        peers_[index] = peers_[last];
    }
    peers_.pop_back();
}

bool swarm::remove(const peer_record& endpoint_of) {
    if (index_.empty()) return false;
    const std::uint32_t at = index_[slot_of(endpoint_of)];
    if (at == empty_slot) return false;
    erase_at(at);
    if (peers_.empty()) {
        peers_.shrink_to_fit();
        index_.clear();
        index_.shrink_to_fit();
    }
    return true;
}

std::size_t swarm::expire(std::uint32_t oldest_kept) {
    std::size_t removed = 0;
    for (std::size_t i = peers_.size(); i-- > 0;) {
        if (peers_[i].last_seen < oldest_kept) {
            erase_at(i);
            ++removed;
        }
    }
    if (removed && peers_.size() * 4 < peers_.capacity()) {
        peers_.shrink_to_fit();
        grow_index();
    }
    return removed;
}

std::size_t swarm::memory_bytes() const {
    return sizeof(*this) + peers_.capacity() * sizeof(peer_record) + index_.capacity() * sizeof(std::uint32_t);
}

}  // namespace nearcast::tracker
