#include "nearcast/tracker/connection_ids.hpp"

#include <bit>
#include <stdexcept>

namespace nearcast::tracker {

namespace {

std::uint64_t read_little_endian_word(const std::uint8_t* bytes) {
    std::uint64_t word = 0;
    for (int i = 7; i >= 0; --i) word = (word << 8) | bytes[i];
    return word;
}

struct siphash_state {
    std::uint64_t v0, v1, v2, v3;

    void round() {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }

    void compress(std::uint64_t word) {
        v3 ^= word;
        round();
        round();
        v0 ^= word;
    }
};

// Big-endian address bytes after a family tag, then the port: the tag keeps an IPv4 address
// from hashing like an IPv6 address that happens to share its bytes.
std::size_t client_bytes(const endpoint& client, std::array<std::uint8_t, 19>& bytes) {
    std::size_t length = 0;
    bytes[length++] = static_cast<std::uint8_t>(client.address.family());
    if (client.address.is_v4()) {
        const std::uint32_t bits = client.address.v4_bits();
        for (int shift = 24; shift >= 0; shift -= 8) bytes[length++] = static_cast<std::uint8_t>(bits >> shift);
    } else {
        const proximity::uint128 bits = client.address.v6_bits();
        for (int shift = 120; shift >= 0; shift -= 8) bytes[length++] = static_cast<std::uint8_t>(bits >> shift);
    }
    bytes[length++] = static_cast<std::uint8_t>(client.port >> 8);
    bytes[length++] = static_cast<std::uint8_t>(client.port);
    return length;
}

}  // namespace

std::uint64_t siphash_2_4(const siphash_key& key, std::span<const std::uint8_t> message) {
    const std::uint64_t k0 = read_little_endian_word(key.data());
    const std::uint64_t k1 = read_little_endian_word(key.data() + 8);
    siphash_state state{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
                        k1 ^ 0x7465646279746573ULL};
    const std::size_t whole_words = message.size() / 8;
    for (std::size_t word = 0; word < whole_words; ++word) {
        state.compress(read_little_endian_word(message.data() + word * 8));
    }
    // The last word carries the leftover bytes and, in its top byte, the message length.
    std::uint64_t last = static_cast<std::uint64_t>(message.size()) << 56;
    for (std::size_t i = whole_words * 8; i < message.size(); ++i) {
        last |= static_cast<std::uint64_t>(message[i]) << (8 * (i - whole_words * 8));
    }
    state.compress(last);
    state.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) state.round();
    return state.v0 ^ state.v1 ^ state.v2 ^ state.v3;
}

connection_ids::connection_ids(siphash_key secret, std::uint32_t rotate_seconds)
    : secret_(secret), rotate_seconds_(rotate_seconds) {
    if (rotate_seconds_ == 0) throw std::invalid_argument("connection ID rotation must be at least one second");
}

std::uint64_t connection_ids::id_in_epoch(const endpoint& client, std::uint64_t epoch) const {
    // The epoch's key is itself a SipHash of the epoch under the secret, so knowing one
    // epoch's IDs tells nothing of another's, and the secret never keys a client-chosen input.
    std::array<std::uint8_t, 9> epoch_bytes{};
    for (std::size_t i = 0; i < 8; ++i) epoch_bytes[i] = static_cast<std::uint8_t>(epoch >> (8 * i));
    siphash_key epoch_key{};
    for (std::uint8_t half = 0; half < 2; ++half) {
        epoch_bytes[8] = half;
        const std::uint64_t words = siphash_2_4(secret_, epoch_bytes);
        for (std::size_t i = 0; i < 8; ++i) epoch_key[half * 8u + i] = static_cast<std::uint8_t>(words >> (8 * i));
    }
    std::array<std::uint8_t, 19> bytes{};
    const std::size_t length = client_bytes(client, bytes);
    return siphash_2_4(epoch_key, std::span<const std::uint8_t>(bytes.data(), length));
}

std::uint64_t connection_ids::issue(const endpoint& client, std::uint64_t now_seconds) const {
    return id_in_epoch(client, now_seconds / rotate_seconds_);
}

bool connection_ids::valid(std::uint64_t id, const endpoint& client, std::uint64_t now_seconds) const {
    const std::uint64_t epoch = now_seconds / rotate_seconds_;
    if (id == id_in_epoch(client, epoch)) return true;
    return epoch > 0 && id == id_in_epoch(client, epoch - 1);
}

}  // namespace nearcast::tracker
