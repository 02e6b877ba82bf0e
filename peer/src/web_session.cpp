#include "nearcast/peer/web_session.hpp"

#include <algorithm>

namespace nearcast::peer {

namespace {

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const std::size_t end = std::min(header.find(';'), header.size());
        const std::string_view pair = trimmed(header.substr(0, end));
        header.remove_prefix(std::min(end + 1, header.size()));
        const std::size_t equals = pair.find('=');
        if (equals == std::string_view::npos || trimmed(pair.substr(0, equals)) != name) continue;
        std::string_view value = trimmed(pair.substr(equals + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        return value;
    }
    return std::nullopt;
}

bool same_secret(std::string_view given, std::string_view expected) {
    if (given.size() != expected.size() || expected.empty()) return false;
    unsigned char difference = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        difference = static_cast<unsigned char>(difference | (given[i] ^ expected[i]));
    }
    return difference == 0;
}

void web_sessions::expire(double now_s) {
    std::erase_if(codes_, [&](const code_entry& entry) { return now_s - entry.issued_s > limits_.code_lifetime_s; });
    std::erase_if(sessions_, [&](const session_entry& entry) { return now_s - entry.used_s > limits_.session_idle_s; });
}

void web_sessions::add_code(std::string code, double now_s) {
    expire(now_s);
    if (codes_.size() >= limits_.max_codes) codes_.erase(codes_.begin());
    codes_.push_back({std::move(code), now_s});
}

bool web_sessions::take_code(std::string_view code, double now_s) {
    expire(now_s);
    // Every code is compared, so the time taken says nothing of which one came near.
    auto match = codes_.end();
    for (auto entry = codes_.begin(); entry != codes_.end(); ++entry) {
        if (same_secret(code, entry->code)) match = entry;
    }
    if (match == codes_.end()) return false;
    codes_.erase(match);
    return true;
}

void web_sessions::open(std::string id, std::string csrf, double now_s) {
    expire(now_s);
    if (sessions_.size() >= limits_.max_sessions) {
        sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(),
                                         [](const session_entry& a, const session_entry& b) { return a.used_s < b.used_s; }));
    }
    sessions_.push_back({std::move(id), std::move(csrf), now_s});
}

web_sessions::session_entry* web_sessions::find(std::string_view id) {
    session_entry* match = nullptr;
    for (auto& entry : sessions_) {
        if (same_secret(id, entry.id)) match = &entry;
    }
    return match;
}

void web_sessions::close(std::string_view id) {
    if (session_entry* entry = find(id)) {
        sessions_.erase(sessions_.begin() + (entry - sessions_.data()));
    }
}

std::optional<std::string> web_sessions::csrf_of(std::string_view id, double now_s) {
    expire(now_s);
    session_entry* entry = find(id);
    if (!entry) return std::nullopt;
    entry->used_s = now_s;
    return entry->csrf;
}

web_verdict web_sessions::check(std::string_view id, std::string_view csrf, bool changes_state, double now_s) {
    expire(now_s);
    session_entry* entry = find(id);
    if (!entry) return web_verdict::no_session;
    if (changes_state && !same_secret(csrf, entry->csrf)) return web_verdict::bad_csrf;
    entry->used_s = now_s;
    return web_verdict::allowed;
}

}  // namespace nearcast::peer
