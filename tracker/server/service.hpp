// What the tracker answers, whichever socket a request came in on. One thread owns it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "nearcast/tracker/popularity.hpp"
#include "nearcast/tracker/connection_ids.hpp"
#include "nearcast/tracker/supernode_groups.hpp"
#include "nearcast/tracker/supernode_registry.hpp"
#include "nearcast/tracker/tracker_state.hpp"
#include "nearcast/tracker/transfer_ledger.hpp"
#include "options.hpp"

namespace nearcast::tracker::server {

struct http_answer {
    unsigned status = 200;
    std::string content_type = "text/plain";
    std::string body;
};

class tracker_service {
public:
    tracker_service(const server_options& options, std::shared_ptr<const proximity::model> routing);

    // An HTTP request: method, target ("/announce?..."), Authorization header, body.
    http_answer handle_http(std::string_view method, std::string_view target, std::string_view authorization,
                            std::string_view body, const endpoint& source, std::uint64_t now_ms);
    // A UDP datagram; writes the datagram to send back into `out` (its buffer is reused, so a
    // busy socket allocates nothing) and returns false when there is nothing to send.
    bool handle_udp(std::string_view datagram, const endpoint& source, std::uint64_t now_ms, std::string& out);
    // The most request body bytes read for this request head, decided before any body is read:
    // a large one only for an origin registering with the admin secret; a few KiB otherwise.
    std::size_t body_limit(std::string_view method, std::string_view target, std::string_view authorization) const;
    static constexpr std::size_t small_body_limit = 8 * 1024;
    static constexpr std::size_t registration_body_limit = 16 * 1024 * 1024;

    void expire(std::uint64_t now_ms);
    void set_routing(std::shared_ptr<const proximity::model> routing) { state_.set_routing(std::move(routing)); }
    tracker_state& state() { return state_; }
    // The compiled proximity snapshot peers may fetch at GET /proximity.ncprox, so that they
    // rank peers with the data the tracker uses.
    void set_snapshot(std::shared_ptr<const std::string> bytes) { snapshot_ = std::move(bytes); }

    // Supernodes: runs the election when it is due and returns the candidates whose port the
    // server must try to connect to; the server reports each result back.
    std::vector<endpoint> supernode_tick(std::uint64_t now_ms);
    void supernode_reachability(const endpoint& where, bool reachable, std::uint64_t now_ms);
    const supernode_registry& supernodes() const { return supernodes_; }

private:
    // True for "Bearer <admin secret>" (compared in constant time) when a secret is set.
    bool is_admin(std::string_view authorization) const;
    http_answer announce(std::string_view token, std::string_view query, const endpoint& source, std::uint64_t now_ms);
    http_answer scrape(std::string_view token, std::string_view query, const endpoint& source, std::uint64_t now_ms);
    http_answer register_origin(std::string_view authorization, std::string_view body, std::uint64_t now_ms);
    // `where_peers_are`: per-AS counts and the elected supernodes too (not for anyone on a closed tracker).
    http_answer stats_json(std::uint64_t now_ms, bool where_peers_are) const;
    // GET /supernode?port=P&capacity=BYTES_PER_S[&leave=1]: a daemon offers itself (the
    // operator's servers with the admin secret); the answer says its role and what is popular
    // in its AS. GET /popular?as=N: the items most asked for in an AS.
    http_answer supernode_report(std::string_view query, std::string_view authorization, const endpoint& source,
                                 std::uint64_t now_ms);
    http_answer popular(std::string_view query) const;
    // After an answer is made: flags a supernode, lists a peer's own supernodes first, counts
    // per-AS popularity, lets a peer that stops or completes go as a child.
    void supernode_answer(const announce_request& request, const endpoint& source, announce_response& answer,
                          std::uint64_t now_ms);
    std::uint32_t group_of(const proximity::ip_address& address);
    std::function<std::uint32_t(std::uint32_t)> hops_from(std::uint32_t asn) const;
    nlohmann::json supernodes_json() const;
    nlohmann::json popular_in(std::uint32_t group, std::size_t most) const;  // [{info_hash, requests}], most first
    http_answer metrics(std::uint64_t now_ms) const;
    // Counts an answered announce (and the bytes it reports) and, at debug level, logs it.
    void note_refusal(const char* protocol, const endpoint& source, const std::string& reason);
    void note_announce(const char* protocol, const announce_request& request, const endpoint& source,
                       const announce_response& answer, std::uint64_t now_ms);
    nlohmann::json transfer_json() const;
    // The status page at GET / and GET /dashboard (dashboard.cpp).
    static http_answer dashboard();

    tracker_state state_;
    connection_ids connections_;
    std::string admin_secret_;
    std::uint64_t started_ms_ = 0;
    std::uint64_t http_announces_ = 0;
    std::uint64_t udp_announces_ = 0;
    std::shared_ptr<const std::string> snapshot_;
    supernode_registry supernodes_;
    supernode_groups groups_;
    std::mt19937_64 supernode_random_;
    std::uint64_t last_election_ms_ = 0;
    std::uint32_t election_every_s_ = 60;
    // Started announces per AS and item: what is popular where (popularity.hpp), and how many
    // of an AS's items a supernode's answer lists.
    popularity<info_hash> popularity_;
    std::uint32_t popular_listed_ = 20;
    // Bytes peers and origins report: the origin offload on /stats and the dashboard.
    transfer_ledger transfers_;
};

}  // namespace nearcast::tracker::server
