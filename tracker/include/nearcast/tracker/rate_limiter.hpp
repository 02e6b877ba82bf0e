// Per-address announce rate limits: a token bucket per client address, time passed in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "nearcast/proximity/address.hpp"

namespace nearcast::tracker {

class rate_limiter {
public:
    // `per_second` announces a second on average, bursts up to `burst`; 0 per second is off.
    // At most `max_tracked` addresses are remembered; past that, idle ones are forgotten.
    rate_limiter(double per_second, double burst, std::size_t max_tracked = 1 << 20);

    // True when `address` may announce at `now_ms` (milliseconds), and takes one token.
    bool allow(const proximity::ip_address& address, std::uint64_t now_ms);
    std::size_t tracked() const { return buckets_.size(); }

private:
    struct bucket {
        double tokens;
        std::uint64_t updated_ms;
    };
    struct address_hash {
        std::size_t operator()(const proximity::ip_address& address) const;
    };
    void forget_idle(std::uint64_t now_ms);

    double per_second_;
    double burst_;
    std::size_t max_tracked_;
    std::unordered_map<proximity::ip_address, bucket, address_hash> buckets_;
};

}  // namespace nearcast::tracker
