// A map from a 64-bit key to a 32-bit value in one flat array (open addressing, linear probing,
// deletion by shifting back), for the simulator's hottest lookup: which session of a supernode
// holds an item. One probe usually lands on the answer, where a node-based map chases pointers.
// Internal to the simulator.
#pragma once

#include <cstdint>
#include <vector>

namespace nearcast::sim::detail {

class flat_index {
public:
    static constexpr std::uint32_t missing = 0xffff'ffffu;

    std::uint32_t find(std::uint64_t key) const {
        if (slots_.empty()) return missing;
        for (std::size_t at = home(key);; at = (at + 1) & mask_) {
            if (slots_[at].key == key) return slots_[at].value;
            if (slots_[at].key == empty) return missing;
        }
    }
    void insert(std::uint64_t key, std::uint32_t value) {
        if ((count_ + 1) * 2 > slots_.size()) grow();
        std::size_t at = home(key);
        while (slots_[at].key != empty && slots_[at].key != key) at = (at + 1) & mask_;
        if (slots_[at].key == empty) ++count_;
        slots_[at] = {key, value};
    }
    void erase(std::uint64_t key) {
        if (slots_.empty()) return;
        std::size_t at = home(key);
        while (slots_[at].key != key) {
            if (slots_[at].key == empty) return;
            at = (at + 1) & mask_;
        }
        // Shift back the entries after it whose probe started at or before the hole.
        for (std::size_t next = (at + 1) & mask_; slots_[next].key != empty; next = (next + 1) & mask_) {
            const std::size_t wanted = home(slots_[next].key);
            if (((next - wanted) & mask_) >= ((next - at) & mask_)) {
                slots_[at] = slots_[next];
                at = next;
            }
        }
        slots_[at] = {};
        --count_;
    }
    std::size_t size() const { return count_; }

private:
    static constexpr std::uint64_t empty = ~std::uint64_t{0};
    struct slot {
        std::uint64_t key = empty;
        std::uint32_t value = 0;
    };
    std::size_t home(std::uint64_t key) const {
        key ^= key >> 33;
        key *= 0xff51'afd7'ed55'8ccdull;
        key ^= key >> 33;
        return static_cast<std::size_t>(key) & mask_;
    }
    void grow() {
        std::vector<slot> old = std::move(slots_);
        slots_.assign(old.empty() ? 1024 : old.size() * 2, slot{});
        mask_ = slots_.size() - 1;
        count_ = 0;
        for (const auto& entry : old) {
            if (entry.key != empty) insert(entry.key, entry.value);
        }
    }

    std::vector<slot> slots_;
    std::size_t mask_ = 0;
    std::size_t count_ = 0;
};

}  // namespace nearcast::sim::detail
