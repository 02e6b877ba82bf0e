// BEP 15 connection IDs without per-connection state. A UDP tracker hands out a connection ID
// so that a client proves it receives packets at the address it claims before it may
// announce; otherwise a spoofed announce could aim the swarm's traffic at a victim. Instead of
// remembering every ID it gave, the tracker derives the ID from the client's address and port
// with a keyed hash, and checks an ID by recomputing it. The key changes every epoch
// (`rotate_seconds`), so an ID expires without anyone deleting it.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "nearcast/tracker/messages.hpp"

namespace nearcast::tracker {

using siphash_key = std::array<std::uint8_t, 16>;

// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): two
// compression rounds per 8-byte word, four finalization rounds, 64-bit output. A PRF, so an
// attacker who sees any number of IDs cannot forge the ID of an address they do not receive at.
std::uint64_t siphash_2_4(const siphash_key& key, std::span<const std::uint8_t> message);

class connection_ids {
public:
    // `secret` should be 16 random bytes, fresh at each start: IDs then die with the process,
    // which costs clients one extra connect. Throws std::invalid_argument when
    // `rotate_seconds` is 0.
    explicit connection_ids(siphash_key secret, std::uint32_t rotate_seconds = 60);

    // The ID for `client` in the epoch that holds `now_seconds`.
    std::uint64_t issue(const endpoint& client, std::uint64_t now_seconds) const;

    // Whether `id` was issued to `client` in this epoch or the one before: an ID lives from
    // one to two rotations, and BEP 15 clients reuse one for up to a minute.
    bool valid(std::uint64_t id, const endpoint& client, std::uint64_t now_seconds) const;

private:
    std::uint64_t id_in_epoch(const endpoint& client, std::uint64_t epoch) const;

    siphash_key secret_;
    std::uint32_t rotate_seconds_;
};

}  // namespace nearcast::tracker
