// Signed, expiring access tokens for closed mode: "<subject>.<expiry>.<hmac>", where the HMAC
// (SHA-256, hex) covers the subject and the expiry, keyed with the operator's secret. A token
// names who it was given to, so a leaked one can be refused by subject without a new secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nearcast::tracker {

class access_tokens {
public:
    // The secret should be at least 16 bytes of randomness; shorter is refused.
    explicit access_tokens(std::string secret);

    // A token for `subject` (letters, digits, '-' and '_', 1 to 64 of them) valid until
    // `expires_at` (seconds since the epoch).
    std::string issue(std::string_view subject, std::uint64_t expires_at) const;

    // Why `token` is refused at time `now`, or nullopt when it is good.
    std::optional<std::string> refusal(std::string_view token, std::uint64_t now) const;

    // The subject of a well-formed token (not checked), for logs.
    static std::string_view subject_of(std::string_view token);

private:
    std::string mac(std::string_view subject, std::uint64_t expires_at) const;
    std::string secret_;
};

}  // namespace nearcast::tracker
