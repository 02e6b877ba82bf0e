#include "nearcast/tracker/access_tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace nearcast::tracker {

namespace {

bool valid_subject(std::string_view subject) {
    return !subject.empty() && subject.size() <= 64 && std::all_of(subject.begin(), subject.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

}  // namespace

access_tokens::access_tokens(std::string secret) : secret_(std::move(secret)) {
    if (secret_.size() < 16) throw std::invalid_argument("access token secret must be at least 16 bytes");
}

std::string access_tokens::mac(std::string_view subject, std::uint64_t expires_at) const {
    const std::string message = "nearcast-access-v1\n" + std::string(subject) + "\n" + std::to_string(expires_at);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
    static constexpr char hex[] = "0123456789abcdef";
    std::string text;
    for (unsigned i = 0; i < length; ++i) {
        text += hex[digest[i] >> 4];
        text += hex[digest[i] & 15];
    }
    return text;
}

std::string access_tokens::issue(std::string_view subject, std::uint64_t expires_at) const {
    if (!valid_subject(subject)) throw std::invalid_argument("token subject must be 1-64 of [A-Za-z0-9_-]");
    return std::string(subject) + "." + std::to_string(expires_at) + "." + mac(subject, expires_at);
}

std::string_view access_tokens::subject_of(std::string_view token) { return token.substr(0, token.find('.')); }

std::optional<std::string> access_tokens::refusal(std::string_view token, std::uint64_t now) const {
    if (token.empty()) return "an access token is required (announce to /announce/<token>)";
    const std::size_t first = token.find('.');
    const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos) return "malformed access token";
    const std::string_view subject = token.substr(0, first);
    const std::string_view expiry_text = token.substr(first + 1, second - first - 1);
    const std::string_view given = token.substr(second + 1);
    std::uint64_t expires_at = 0;
    const auto [end, error] = std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expires_at);
    if (!valid_subject(subject) || error != std::errc() || end != expiry_text.data() + expiry_text.size()) {
        return "malformed access token";
    }
    const std::string expected = mac(subject, expires_at);
    // Constant-time comparison: the answer must not tell an attacker how much of a guess was right.
    if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
        return "access token signature does not match";
    }
    if (expires_at < now) return "access token expired";
    return std::nullopt;
}

}  // namespace nearcast::tracker
