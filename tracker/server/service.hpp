// What the tracker answers, whichever socket a request came in on. One thread owns it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nearcast/tracker/connection_ids.hpp"
#include "nearcast/tracker/tracker_state.hpp"
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

    void expire(std::uint64_t now_ms) { state_.expire(now_ms); }
    void set_routing(std::shared_ptr<const proximity::model> routing) { state_.set_routing(std::move(routing)); }
    tracker_state& state() { return state_; }
    // The compiled proximity snapshot peers may fetch at GET /proximity.ncprox, so that they
    // rank peers with the data the tracker uses.
    void set_snapshot(std::shared_ptr<const std::string> bytes) { snapshot_ = std::move(bytes); }

private:
    http_answer announce(std::string_view token, std::string_view query, const endpoint& source, std::uint64_t now_ms);
    http_answer scrape(std::string_view token, std::string_view query, const endpoint& source, std::uint64_t now_ms);
    http_answer register_origin(std::string_view authorization, std::string_view body, std::uint64_t now_ms);
    http_answer stats_json(std::uint64_t now_ms) const;
    http_answer metrics(std::uint64_t now_ms) const;
    // Counts an answered announce and, at debug level, logs it.
    void note_announce(const char* protocol, const announce_request& request, const endpoint& source,
                       const announce_response& answer);

    tracker_state state_;
    connection_ids connections_;
    std::string admin_secret_;
    std::uint64_t started_ms_ = 0;
    std::uint64_t http_announces_ = 0;
    std::uint64_t udp_announces_ = 0;
    std::shared_ptr<const std::string> snapshot_;
};

}  // namespace nearcast::tracker::server
