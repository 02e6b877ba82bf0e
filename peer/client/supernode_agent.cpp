#include "supernode_agent.hpp"

#include <boost/asio/post.hpp>
#include <libtorrent/hex.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>

#include "http_fetch.hpp"
#include "nearcast/peer/item_source.hpp"
#include "nearcast/peer/supernode_summary.hpp"

using json = nlohmann::json;

namespace nearcast::peer::client {

namespace {

// The 20 bytes of an info hash as the cache filters take them.
std::span<const std::uint8_t, 20> filter_key(const lt::sha1_hash& hash) {
    return std::span<const std::uint8_t, 20>(reinterpret_cast<const std::uint8_t*>(hash.data()), 20);
}

std::string read_secret(const std::string& path) {
    if (path.empty()) return {};
    std::ifstream file(path);
    std::string secret;
    if (!file || !std::getline(file, secret) || secret.empty()) throw item_error(path + ": cannot read the admin secret (one line)");
    return secret;
}

}  // namespace

supernode_agent::supernode_agent(boost::asio::io_context& io, const peer_options& options, peer_session& session, hooks calls)
    : io_(io), options_(options), session_(session), hooks_(std::move(calls)), admin_secret_(read_secret(options.admin_secret_file)) {}

supernode_agent::~supernode_agent() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (reporter_.joinable()) reporter_.join();
}

void supernode_agent::start() {
    // Reports leave from the BitTorrent address, so the tracker places and checks that one.
    const auto bind = parse_endpoint(options_.listen_bittorrent, "--listen-bittorrent");
    if (!bind.address().is_unspecified()) source_ = bind.address().to_string();
    port_ = session_.session().listen_port();
    spdlog::info("supernode: offering this daemon (BitTorrent port {}) to {}", port_, options_.supernode_tracker);
    reporter_ = std::thread([this] { report_loop(); });
}

std::string supernode_agent::report_url(bool leaving) const {
    // A closed tracker wants its access token in the path, as in an announce.
    const std::string in_path = options_.tracker_token.empty() ? "" : "/" + options_.tracker_token;
    std::string url = options_.supernode_tracker + "/supernode" + in_path + "?port=" + std::to_string(port_);
    if (leaving) return url + "&leave=1";
    return url + "&capacity=" + std::to_string(static_cast<std::uint64_t>(capacity_.load()));
}

void supernode_agent::report_loop() {
    std::chrono::seconds wait(5);
    for (;;) {
        std::vector<std::pair<std::string, std::string>> headers;
        if (!admin_secret_.empty()) headers.emplace_back("Authorization", "Bearer " + admin_secret_);
        try {
            const auto body = http_request("GET", report_url(false), headers, "", std::chrono::seconds(10), 1024 * 1024, source_);
            auto answer = json::parse(body);
            wait = std::chrono::seconds(report_interval_s(answer.value("interval", 60u)));
            boost::asio::post(io_, [this, answer = std::move(answer)] {
                // An answer of the wrong shape ({"role": 5}) is the tracker's fault, not a reason
                // for the daemon to stop: it is logged and the next report tries again.
                const std::string before = last_error_;  // apply() clears it
                try {
                    apply(answer);
                } catch (const json::exception& error) {
                    ++failed_reports_;
                    const std::string what = std::string("the tracker's answer is not as expected: ") + error.what();
                    if (what != before) spdlog::warn("supernode: {}", what);
                    last_error_ = what;
                }
            });
        } catch (const std::exception& error) {
            boost::asio::post(io_, [this, what = std::string(error.what())] {
                ++failed_reports_;
                if (what != last_error_) spdlog::warn("supernode: the report to the tracker failed: {}", what);
                last_error_ = what;
            });
            wait = std::chrono::seconds(5);
        }
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
    }
}

void supernode_agent::apply(const json& answer) {
    ++reports_;
    last_error_.clear();
    const std::string role = answer.value("role", "candidate");
    interval_s_ = answer.value("interval", 0u);
    const std::uint32_t limit = role == "supernode" ? answer.value("admission_limit", 0u) : 0;
    if (role != role_ || limit != admission_limit_) {
        if (role == "supernode") spdlog::info("supernode: elected in AS {}, admission limit {}", answer.value("as", 0u), limit);
        else spdlog::info("supernode: a candidate in AS {} (not elected)", answer.value("as", 0u));
    }
    std::vector<proximity::ip_address> fellows;
    for (const auto& text : answer.value("fellows", json::array())) {
        const std::string where = text.is_string() ? text.get<std::string>() : std::string();
        const auto colon = where.rfind(':');
        if (const auto address = proximity::ip_address::parse(where.substr(0, colon == std::string::npos ? where.size() : colon))) {
            fellows.push_back(*address);
        }
    }
    session_.set_fellows(std::move(fellows));
    role_ = role;
    admission_limit_ = limit;
    session_.locality().set_supernode(role == "supernode", limit);
    if (role != "supernode") return;

    std::vector<popular_item> popular;
    for (const auto& item : answer.value("popular", json::array())) {
        popular.push_back({item.value("info_hash", ""), item.value("requests", std::uint64_t{0})});
    }
    std::vector<std::string> held;  // sorted, as prefetch_plan reads it
    for (const auto& item : hooks_.items()) {
        held.push_back(item.id);
        held.push_back(lt::aux::to_hex(item.hash));
        if (!item.other.is_all_zeros()) held.push_back(lt::aux::to_hex(item.other));
    }
    std::sort(held.begin(), held.end());
    for (const auto& hash : prefetch_plan<std::string>(popular, held, options_.prefetch_items, options_.prefetch_min_requests)) {
        if (hash.size() != 40 || !std::all_of(hash.begin(), hash.end(), ::isxdigit)) continue;
        // cache_fill=1: the tracker counts this download as a cache fill, not as a viewer's
        // (what a CDN would have sent does not include it).
        const std::string announce = options_.supernode_tracker + "/announce" +
                                     (options_.tracker_token.empty() ? "" : "/" + options_.tracker_token) + "?cache_fill=1";
        const std::string magnet = "magnet:?xt=urn:btih:" + hash + "&tr=" + percent_encode(announce);
        spdlog::info("supernode: pre-fetching {}, popular in this AS", hash);
        try {
            hooks_.prefetch(magnet);
            ++prefetched_;
        } catch (const std::exception& error) {
            spdlog::warn("supernode: cannot pre-fetch {}: {}", hash, error.what());
        }
    }
}

void supernode_agent::tick(double now_s) {
    meter_.observe(now_s, session_.locality().counters.uploaded().total());
    capacity_ = meter_.capacity();
    auto& locality = session_.locality();
    const auto items = hooks_.items();
    const bool supernode = locality.supernode();
    if (supernode) {
        supernode_summary own;
        own.supernode = true;
        const auto admission = locality.admission();
        own.children = admission.children();
        own.admission_limit = admission.limit();
        for (const auto& item : items) {
            if (item.complete) own.cache.add(filter_key(item.hash)), ++own.cached_items;
            else own.fetching.add(filter_key(item.hash));
        }
        locality.set_own_summary(encode(own));
    }
    // The origin waits while every item still coming is held whole by a fellow we hear from.
    const auto fellows = locality.fellows(std::chrono::seconds(15));
    fellows_ = fellows.size();
    std::vector<std::string> downloading;
    for (const auto& item : items) {
        if (!item.complete) downloading.push_back(item.id);
    }
    const auto self = locality.self();
    std::vector<fellow_view> views;
    for (const auto& [address, summary] : fellows) {
        fellow_view view;
        view.leads = self && address < *self;
        for (const auto& item : items) {
            if (item.complete) continue;
            if (summary.cache.may_hold(filter_key(item.hash))) view.holds.push_back(item.id);
            if (summary.fetching.may_hold(filter_key(item.hash))) view.fetching.push_back(item.id);
        }
        for (auto* list : {&view.holds, &view.fetching}) {
            std::sort(list->begin(), list->end());
            list->erase(std::unique(list->begin(), list->end()), list->end());
        }
        views.push_back(std::move(view));
    }
    const bool hold = supernode && hold_origin_back<std::string>(downloading, views);
    if (hold != origin_held_back_) {
        auto origin = session_.session().get_peer_class(session_.origin_class());
        origin.download_limit = hold ? static_cast<int>(std::min<std::int64_t>(options_.origin_trickle, INT32_MAX)) : 0;
        session_.session().set_peer_class(session_.origin_class(), origin);
        spdlog::info("supernode: {}", hold ? "fellow supernodes hold what is being fetched: the origin is held to a trickle"
                                           : "the origin serves at full speed again");
        origin_held_back_ = hold;
    }
}

void supernode_agent::leave(std::chrono::milliseconds deadline) {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (reporter_.joinable()) reporter_.join();
    if (port_ == 0) return;
    try {
        http_request("GET", report_url(true), {}, "", deadline, 64 * 1024, source_);
        spdlog::info("supernode: told the tracker this daemon leaves");
    } catch (const std::exception& error) {
        spdlog::warn("supernode: could not tell the tracker this daemon leaves: {}", error.what());
    }
}

json supernode_agent::status() const {
    const auto admission = session_.locality().admission();
    return {{"tracker", options_.supernode_tracker}, {"role", role_}, {"admission_limit", admission_limit_},
            {"children", admission.children()},
            {"child_addresses", admission.child_addresses()}, {"max_children_seen", admission.max_children_seen()},
            {"refused", admission.refused()}, {"capacity", capacity_.load()}, {"reports", reports_},
            {"failed_reports", failed_reports_}, {"prefetched", prefetched_}, {"fellows", fellows_},
            {"origin_held_back", origin_held_back_}, {"interval", interval_s_}};
}

}  // namespace nearcast::peer::client
