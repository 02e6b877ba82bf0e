#include "service.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "nearcast/tracker/http_protocol.hpp"
#include "nearcast/tracker/udp_protocol.hpp"

namespace nearcast::tracker::server {

namespace {

using json = nlohmann::json;

std::array<std::uint8_t, 16> random_secret() {
    std::array<std::uint8_t, 16> secret{};
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
        throw std::runtime_error("cannot draw a random secret for connection IDs");
    }
    return secret;
}

std::optional<access_tokens> tokens_from(const server_options& options) {
    if (options.token_secret_file.empty()) return std::nullopt;
    return access_tokens(read_secret(options.token_secret_file));
}

std::optional<info_hash> hash_from_hex(const std::string& text) {
    // A v2 hash (64 hex digits) is truncated to 20 bytes, as clients announce it.
    if (text.size() != 40 && text.size() != 64) return std::nullopt;
    info_hash hash{};
    for (std::size_t i = 0; i < hash.size(); ++i) {
        const auto digit = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        const int high = digit(text[2 * i]), low = digit(text[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        hash[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    for (std::size_t i = 40; i < text.size(); ++i) {
        if (!std::isxdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    }
    return hash;
}

http_answer bencoded(std::string body) { return {200, "text/plain", std::move(body)}; }

http_answer json_error(unsigned status, const std::string& message) {
    return {status, "application/json", json{{"error", message}}.dump() + "\n"};
}

}  // namespace

tracker_service::tracker_service(const server_options& options, std::shared_ptr<const proximity::model> routing)
    : state_(options.tracker, std::move(routing), std::random_device()() ^ (std::uint64_t{std::random_device()()} << 32),
             tokens_from(options)),
      connections_(random_secret()),
      supernodes_([&] {
          supernode_registry_options registry;
          registry.election.peers_per_supernode = options.supernode_ratio;
          registry.election.admission_limit = options.supernode_admission;
          registry.election.operated_admission_limit = options.supernode_admission * 20;  // a server, not a desktop
          registry.election.min_uptime_s = options.supernode_min_uptime_s;
          registry.election.min_upload_capacity = options.supernode_min_capacity;
          registry.election.min_group_peers = options.supernode_min_peers;
          registry.interval_s = options.tracker.interval;
          // Orphans come back over half an interval, told when in their announce answers: each
          // is re-homed within one interval of the loss.
          registry.rehome_spread = 0.5;
          registry.recheck_s = options.tracker.interval;
          registry.capacity = credit_options_for(options.supernode_admission, options.supernode_min_capacity);
          return registry;
      }()),
      groups_(options.supernode_split_at),
      supernode_random_(std::random_device()()),
      election_every_s_(options.supernode_election_s),
      popular_listed_(options.popular_listed) {
    if (!options.admin_secret_file.empty()) admin_secret_ = read_secret(options.admin_secret_file);
}

bool tracker_service::is_admin(std::string_view authorization) const {
    if (admin_secret_.empty()) return false;
    const std::string expected = "Bearer " + admin_secret_;
    return authorization.size() == expected.size() &&
           CRYPTO_memcmp(authorization.data(), expected.data(), expected.size()) == 0;
}

std::size_t tracker_service::body_limit(std::string_view method, std::string_view target,
                                        std::string_view authorization) const {
    const std::string_view path = target.substr(0, target.find('?'));
    return method == "POST" && path == "/origins" && is_admin(authorization) ? registration_body_limit : small_body_limit;
}

http_answer tracker_service::handle_http(std::string_view method, std::string_view target,
                                         std::string_view authorization, std::string_view body,
                                         const endpoint& source, std::uint64_t now_ms) {
    if (started_ms_ == 0) started_ms_ = now_ms;
    const std::size_t question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    // "/announce" or "/announce/<token>" (closed mode), the same for scrape.
    const auto route = [&](std::string_view name, std::string_view& token) {
        if (path == name) return true;
        if (path.size() > name.size() + 1 && path.starts_with(name) && path[name.size()] == '/') {
            token = path.substr(name.size() + 1);
            return token.find('/') == std::string_view::npos;
        }
        return false;
    };
    std::string_view token;
    if (method == "GET" && route("/announce", token)) return announce(token, query, source, now_ms);
    if (method == "GET" && route("/scrape", token)) return scrape(token, query, source, now_ms);
    if (method == "GET" && path == "/stats") {
        transfers_.sample(static_cast<std::uint32_t>(now_ms / 1000));
        // A closed tracker tells anyone its totals, and only its operator where its peers are.
        return stats_json(now_ms, !state_.config().closed || is_admin(authorization));
    }
    if (method == "GET" && (path == "/" || path == "/dashboard")) return dashboard();
    if (method == "GET" && path == "/metrics") return metrics(now_ms);
    // On a closed tracker the supernode endpoints need an access token in the path, as the
    // announce does (/supernode/<token>, /popular/<token>), or the admin secret.
    const auto closed_refusal = [&]() -> std::optional<http_answer> {
        if (is_admin(authorization)) return std::nullopt;
        if (const auto why = state_.access_refusal(token, now_ms / 1000)) return json_error(401, *why);
        return std::nullopt;
    };
    if (method == "GET" && route("/supernode", token)) {
        if (auto refused = closed_refusal()) return std::move(*refused);
        return supernode_report(query, authorization, source, now_ms);
    }
    if (method == "GET" && route("/popular", token)) {
        if (auto refused = closed_refusal()) return std::move(*refused);
        return popular(query);
    }
    if (method == "GET" && path == "/proximity.ncprox") {
        if (!snapshot_) return {404, "text/plain", "this tracker publishes no proximity snapshot\n"};
        return {200, "application/octet-stream", *snapshot_};
    }
    if (path == "/origins") {
        if (method != "POST") return json_error(405, "use POST to register an origin");
        return register_origin(authorization, body, now_ms);
    }
    if (method != "GET") return {405, "text/plain", "method not allowed\n"};
    return {404, "text/plain", "not found: try /dashboard, /announce, /scrape, /stats, /metrics, /supernode, /popular or /proximity.ncprox\n"};
}

bool tracker_service::handle_udp(std::string_view datagram, const endpoint& source, std::uint64_t now_ms,
                                 std::string& out) {
    const std::uint64_t now_s = now_ms / 1000;
    const udp_request parsed = parse_udp_packet(datagram);
    if (const auto* connect = std::get_if<udp_connect>(&parsed)) {
        encode_udp_connect_response(connect->transaction_id, connections_.issue(source, now_s), out);
    } else if (const auto* bad = std::get_if<udp_bad_packet>(&parsed)) {
        // Without a transaction ID nobody could match an answer: such noise is dropped.
        if (!bad->transaction_id) return false;
        encode_udp_error_response(*bad->transaction_id, bad->reason, out);
    } else if (const auto* announce = std::get_if<udp_announce>(&parsed)) {
        if (!connections_.valid(announce->connection_id, source, now_s)) {
            encode_udp_error_response(announce->transaction_id, "unknown or expired connection ID: connect again", out);
            return true;
        }
        auto result = state_.announce(announce->request, source, now_ms);
        if (const auto* failure = std::get_if<tracker_failure>(&result)) {
            note_refusal("udp", source, failure->reason);
            encode_udp_error_response(announce->transaction_id, failure->reason, out);
        } else {
            supernode_answer(announce->request, source, std::get<announce_response>(result), now_ms);
            note_announce("udp", announce->request, source, std::get<announce_response>(result), now_ms);
            encode_udp_announce_response(announce->transaction_id, std::get<announce_response>(result),
                                         source.address.family(), out);
        }
    } else if (const auto* scrape = std::get_if<udp_scrape>(&parsed)) {
        if (!connections_.valid(scrape->connection_id, source, now_s)) {
            encode_udp_error_response(scrape->transaction_id, "unknown or expired connection ID: connect again", out);
            return true;
        }
        scrape_request request;
        request.hashes = scrape->hashes;
        const auto result = state_.scrape(request, source, now_ms);
        if (const auto* failure = std::get_if<tracker_failure>(&result)) {
            encode_udp_error_response(scrape->transaction_id, failure->reason, out);
        } else {
            // BEP 15 answers every hash asked, in order: unknown ones as zeros.
            const auto& found = std::get<scrape_response>(result).files;
            scrape_response ordered;
            for (const info_hash& hash : scrape->hashes) {
                const auto at = std::find_if(found.begin(), found.end(), [&](const auto& entry) { return entry.hash == hash; });
                ordered.files.push_back(at == found.end() ? scrape_entry{hash, 0, 0, 0} : *at);
            }
            encode_udp_scrape_response(scrape->transaction_id, ordered, out);
        }
    }
    return true;
}

http_answer tracker_service::announce(std::string_view token, std::string_view query, const endpoint& source,
                                      std::uint64_t now_ms) {
    auto parsed = parse_announce_query(query);
    if (auto* failure = std::get_if<tracker_failure>(&parsed)) {
        note_refusal("http", source, failure->reason);
        return bencoded(encode_failure(failure->reason));
    }
    auto& request = std::get<announce_request>(parsed);
    request.access_token = std::string(token);
    auto result = state_.announce(request, source, now_ms);
    if (const auto* failure = std::get_if<tracker_failure>(&result)) {
        note_refusal("http", source, failure->reason);
        return bencoded(encode_failure(failure->reason));
    }
    supernode_answer(request, source, std::get<announce_response>(result), now_ms);
    note_announce("http", request, source, std::get<announce_response>(result), now_ms);
    return bencoded(encode_announce(std::get<announce_response>(result)));
}

void tracker_service::note_announce(const char* protocol, const announce_request& request, const endpoint& source,
                                    const announce_response& answer, std::uint64_t now_ms) {
    ++(std::string_view(protocol) == "udp" ? udp_announces_ : http_announces_);
    // Finished downloads count toward the origin savings. A hybrid torrent's client announces its
    // v1 and v2 hashes with the same counters: the v1 announce is counted. Origins report their
    // bytes when they register.
    const bool finished = request.event == announce_event::completed || request.event == announce_event::stopped;
    if (finished && state_.canonical(request.hash) == request.hash &&
        !state_.is_origin_endpoint({source.address, request.port})) {
        transfers_.peer_report(request.event, request.downloaded, request.left, request.cache_fill);
    }
    const auto now_s = static_cast<std::uint32_t>(now_ms / 1000);
    transfers_.sample(now_s);
    if (!spdlog::should_log(spdlog::level::debug)) return;
    static constexpr const char* events[] = {"", " completed", " started", " stopped"};  // by BEP 15 number
    static constexpr char hex[] = "0123456789abcdef";
    std::string hash;
    for (std::size_t i = 0; i < 4; ++i) hash += {hex[request.hash[i] >> 4], hex[request.hash[i] & 15]};
    spdlog::debug("{} announce{} from {} port {} for {}..., {}: {} peers returned", protocol,
                  events[static_cast<int>(request.event)], source.address.to_string(), request.port, hash,
                  request.seed() ? "seed" : "leecher", answer.peers.size());
}

void tracker_service::note_refusal(const char* protocol, const endpoint& source, const std::string& reason) {
    // Per refusal at debug: a flood of bad announces must not flood the log at the default level.
    spdlog::debug("{} announce from {} refused: {}", protocol, source.address.to_string(), reason);
}

http_answer tracker_service::scrape(std::string_view token, std::string_view query, const endpoint& source,
                                    std::uint64_t now_ms) {
    auto parsed = parse_scrape_query(query);
    if (auto* failure = std::get_if<tracker_failure>(&parsed)) return bencoded(encode_failure(failure->reason));
    auto& request = std::get<scrape_request>(parsed);
    request.access_token = std::string(token);
    const auto result = state_.scrape(request, source, now_ms);
    if (const auto* failure = std::get_if<tracker_failure>(&result)) return bencoded(encode_failure(failure->reason));
    return bencoded(encode_scrape(std::get<scrape_response>(result)));
}

// POST /origins, 'Authorization: Bearer <admin secret>', body:
// {"name": "seeder-1", "endpoints": ["127.40.0.1:6881"], "items": [{"v1": "<40 hex>", "v2": "<64 hex>"}]}
http_answer tracker_service::register_origin(std::string_view authorization, std::string_view body,
                                             std::uint64_t now_ms) {
    if (admin_secret_.empty()) return json_error(403, "origin registration is off: start with --admin-secret-file");
    if (!is_admin(authorization)) return json_error(401, "missing or wrong 'Authorization: Bearer <admin secret>'");
    const json document = json::parse(body, nullptr, false);
    if (document.is_discarded() || !document.is_object()) return json_error(400, "the body is not a JSON object");
    origin_registration registration;
    if (!document.contains("name") || !document["name"].is_string() || document["name"].get<std::string>().empty()) {
        return json_error(400, "\"name\" must be a non-empty string");
    }
    registration.name = document["name"].get<std::string>();
    if (!document.contains("endpoints") || !document["endpoints"].is_array() || document["endpoints"].empty()) {
        return json_error(400, "\"endpoints\" must be a non-empty array of \"ADDRESS:PORT\"");
    }
    for (const auto& item : document["endpoints"]) {
        const auto where = item.is_string() ? parse_listen_address(item.get<std::string>()) : std::nullopt;
        if (!where || where->port == 0) return json_error(400, "bad endpoint " + item.dump() + ": expected \"ADDRESS:PORT\"");
        registration.endpoints.push_back({where->address, where->port});
    }
    if (!document.contains("items") || !document["items"].is_array()) {
        return json_error(400, "\"items\" must be an array of {\"v1\": hex, \"v2\": hex}");
    }
    for (const auto& item : document["items"]) {
        const auto v1 = item.is_object() && item.contains("v1") && item["v1"].is_string()
                            ? hash_from_hex(item["v1"].get<std::string>())
                            : std::nullopt;
        if (!v1) return json_error(400, "bad item " + item.dump() + ": \"v1\" must be 40 hex digits");
        catalogue_item entry{*v1, {}};
        if (item.contains("v2")) {
            entry.v2_truncated = item["v2"].is_string() ? hash_from_hex(item["v2"].get<std::string>()) : std::nullopt;
            if (!entry.v2_truncated) return json_error(400, "bad item " + item.dump() + ": \"v2\" must be 64 hex digits");
        }
        registration.items.push_back(entry);
    }
    // Optional: the bytes the origin served so far (HTTP and BitTorrent), for the offload figures.
    if (document.contains("served_bytes")) {
        if (!document["served_bytes"].is_number_unsigned()) {
            return json_error(400, "\"served_bytes\" must be a non-negative integer");
        }
        transfers_.origin_report(registration.name, document["served_bytes"].get<std::uint64_t>());
    }
    state_.register_origin(registration, now_ms);
    spdlog::info("origin {} registered: {} endpoint(s), {} item(s)", registration.name, registration.endpoints.size(),
                 registration.items.size());
    return {200, "application/json",
            json{{"registered", registration.name}, {"items", registration.items.size()},
                 {"renew_within_s", state_.config().origin_ttl}}
                    .dump() +
                "\n"};
}

std::uint32_t tracker_service::group_of(const proximity::ip_address& address) {
    const auto route = state_.routing().prefixes().lookup(address);
    if (!route) return 0;
    return groups_.group_of(route->primary_origin(), route->prefix);
}

std::function<std::uint32_t(std::uint32_t)> tracker_service::hops_from(std::uint32_t asn) const {
    // AS hops from `asn` to a group's AS, 7 for "further than 6 or unknown".
    return [this, asn](std::uint32_t group) {
        const auto counted = state_.routing().graph().hops(asn, groups_.as_of(group), 6);
        return counted ? *counted : 7u;
    };
}

void tracker_service::supernode_answer(const announce_request& request, const endpoint& source,
                                       announce_response& answer, std::uint64_t now_ms) {
    const endpoint peer{source.address, request.port};
    const auto now_s = static_cast<std::uint32_t>(now_ms / 1000);
    const std::uint32_t group = group_of(source.address);
    const std::uint32_t asn = groups_.as_of(group);
    if (request.event == announce_event::started && asn != 0) {
        popularity_.count(asn, state_.canonical(request.hash));  // a hybrid item counts once
    }
    // What a candidate's announces say it uploaded proves its claimed capacity (a hybrid item's
    // v2 announce carries the same counters: the v1 one counts).
    if (state_.canonical(request.hash) == request.hash) supernodes_.observe_upload(peer, request.hash, request.uploaded);
    const auto hops = hops_from(asn);
    std::vector<endpoint> mine;
    if (supernodes_.is_supernode(peer)) {
        // A supernode asks its fellows, nearest first, before the origin: they head its list.
        answer.supernode = true;
        if (request.event == announce_event::stopped || request.seed()) return;
        mine = supernodes_.fellow_supernodes(peer, group, hops, 2);
    } else if (request.event == announce_event::stopped || request.event == announce_event::completed || request.seed()) {
        supernodes_.forget_child(peer);
        return;
    } else {
        // The peer's own supernodes first: it reaches them even when numwant is small.
        mine = supernodes_.supernodes_for(peer, group, hops, now_s);
        // An orphan waiting for its jittered re-home time comes back then, not an interval later.
        if (const auto wait = supernodes_.rehome_wait(peer, now_s); wait > 0) {
            answer.interval = std::min(answer.interval, std::max(wait, 1u));
            answer.min_interval = std::min(answer.min_interval, answer.interval);
        }
    }
    if (mine.empty()) return;
    std::vector<endpoint> listed(mine.begin(), mine.end());
    for (const auto& other : answer.peers) {
        if (std::find(mine.begin(), mine.end(), other) == mine.end()) listed.push_back(other);
    }
    const std::size_t most = std::max(answer.peers.size(), mine.size());
    listed.resize(std::min(listed.size(), most));
    answer.peers = std::move(listed);
}

http_answer tracker_service::supernode_report(std::string_view query, std::string_view authorization,
                                              const endpoint& source, std::uint64_t now_ms) {
    std::uint64_t port = 0;
    double capacity = -1;
    bool leave = false;
    std::size_t at = 0;
    while (at <= query.size()) {
        const auto end = std::min(query.find('&', at), query.size());
        const std::string_view pair = query.substr(at, end - at);
        const auto equals = pair.find('=');
        const std::string_view key = pair.substr(0, equals);
        const std::string value(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
        char* stop = nullptr;
        if (key == "port") {
            port = std::strtoull(value.c_str(), &stop, 10);
            if (value.empty() || *stop != '\0' || port == 0 || port > 65535) return json_error(400, "port must be 1 to 65535");
        } else if (key == "capacity") {
            capacity = std::strtod(value.c_str(), &stop);
            if (value.empty() || *stop != '\0' || !(capacity >= 0) || capacity > 1e12) {
                return json_error(400, "capacity must be the measured upload in bytes per second");
            }
        } else if (key == "leave") {
            leave = value == "1";
        }
        at = end + 1;
    }
    if (port == 0) return json_error(400, "port is missing: the BitTorrent port the tracker will check");
    const endpoint where{source.address, static_cast<std::uint16_t>(port)};
    const auto now_s = static_cast<std::uint32_t>(now_ms / 1000);
    if (leave) {
        const bool was = supernodes_.is_supernode(where);
        supernodes_.leave(where, now_s, supernode_random_);
        if (was) spdlog::info("supernode {}:{} leaves", where.address.to_string(), where.port);
        return {200, "application/json", json{{"role", "left"}}.dump() + "\n"};
    }
    if (capacity < 0) return json_error(400, "capacity is missing: the measured upload in bytes per second");
    const bool operated = is_admin(authorization);
    const std::uint32_t group = group_of(source.address);
    if (!supernodes_.report({where, group, capacity, operated}, now_s)) {
        return json_error(429, "no more supernode candidates taken from this address, or in all");
    }

    const json top = popular_in(groups_.as_of(group), popular_listed_);
    const bool elected = supernodes_.is_supernode(where);
    json answer{{"role", elected ? "supernode" : "candidate"}, {"as", groups_.as_of(group)}, {"operated", operated},
                {"interval", state_.config().interval}, {"popular", top}};
    if (elected) {
        answer["admission_limit"] = supernodes_.admission_limit(where);
        // Its fellows, nearest first: it places them in its near peer class before it connects,
        // so the relay among supernodes is never held to the far limits.
        json fellows = json::array();
        for (const auto& fellow : supernodes_.fellow_supernodes(where, group, hops_from(groups_.as_of(group)), 16)) {
            fellows.push_back(fellow.address.to_string() + ":" + std::to_string(fellow.port));
        }
        answer["fellows"] = fellows;
    }
    return {200, "application/json", answer.dump() + "\n"};
}

http_answer tracker_service::popular(std::string_view query) const {
    if (!query.starts_with("as=")) return json_error(400, "ask /popular?as=ASN");
    const std::string text(query.substr(3));
    char* stop = nullptr;
    const auto asn = std::strtoull(text.c_str(), &stop, 10);
    if (text.empty() || *stop != '\0' || asn > 0xffff'ffffull) return json_error(400, "as must be an AS number");
    return {200, "application/json", json{{"as", asn}, {"items", popular_in(static_cast<std::uint32_t>(asn), 100)}}.dump() + "\n"};
}

nlohmann::json tracker_service::popular_in(std::uint32_t asn, std::size_t most) const {
    json items = json::array();
    static constexpr char hex[] = "0123456789abcdef";
    for (const auto& [hash, requests] : popularity_.top(asn, most)) {
        std::string text;
        for (const auto byte : hash) text += {hex[byte >> 4], hex[byte & 15]};
        items.push_back({{"info_hash", text}, {"requests", requests}});
    }
    return items;
}

std::vector<endpoint> tracker_service::supernode_tick(std::uint64_t now_ms) {
    const auto now_s = static_cast<std::uint32_t>(now_ms / 1000);
    if (last_election_ms_ == 0 || now_ms - last_election_ms_ >= std::uint64_t{election_every_s_} * 1000) {
        last_election_ms_ = now_ms;
        // An AS's population: its peers in the swarms, or its reporting daemons when they are
        // more (a daemon between downloads is in no swarm, yet a peer of its AS).
        // A large AS is served per announced prefix (--supernode-split-at).
        const auto peers_per_as = state_.stats(now_ms, true).peers_per_as;
        groups_.update(peers_per_as);
        std::map<std::uint32_t, std::uint64_t> population;
        for (const auto& [group, count] : groups_.populations(peers_per_as, state_.peers_per_prefix(groups_.split_ases()))) {
            population[group] = count;
        }
        for (const auto& [group, count] : supernodes_.candidates_per_group()) {
            if (group != 0) population[group] = std::max<std::uint64_t>(population[group], count);
        }
        std::vector<group_population> groups;
        for (const auto& [group, count] : population) {
            groups.push_back({group, static_cast<std::uint32_t>(std::min<std::uint64_t>(count, 0xffff'ffffu))});
        }
        const auto change = supernodes_.elect(groups, now_s, supernode_random_);
        for (const auto& where : change.elected) spdlog::info("supernode elected: {}:{}", where.address.to_string(), where.port);
        for (const auto& where : change.dropped) spdlog::info("supernode dropped: {}:{}", where.address.to_string(), where.port);
    }
    return supernodes_.due_for_check(now_s);
}

void tracker_service::supernode_reachability(const endpoint& where, bool reachable, std::uint64_t now_ms) {
    supernodes_.reachability(where, reachable, static_cast<std::uint32_t>(now_ms / 1000));
    spdlog::debug("supernode candidate {}:{} {}", where.address.to_string(), where.port,
                  reachable ? "accepts connections" : "does not accept connections");
}

nlohmann::json tracker_service::supernodes_json() const {
    json list = json::array();
    for (const auto& view : supernodes_.supernodes()) {
        list.push_back({{"endpoint", view.where.address.to_string() + ":" + std::to_string(view.where.port)},
                        {"as", view.group}, {"children", view.children}, {"admission_limit", view.admission_limit},
                        {"operated", view.operated}});
    }
    const auto rehoming = supernodes_.rehoming();
    return {{"candidates", supernodes_.candidate_count()}, {"elected", list}, {"max_load_seen", supernodes_.max_load_seen()},
            {"orphans", {{"orphaned", rehoming.orphaned}, {"rehomed", rehoming.rehomed}, {"waiting", rehoming.waiting},
                         {"max_rehome_s", rehoming.max_delay_s}}}};
}

http_answer tracker_service::stats_json(std::uint64_t now_ms, bool where_peers_are) const {
    const tracker_stats stats = state_.stats(now_ms, true);
    json per_as = json::object();
    for (const auto& [asn, count] : stats.peers_per_as) per_as[asn == 0 ? "unknown" : "AS" + std::to_string(asn)] = count;
    json returned = json::object();
    for (std::size_t i = 0; i < stats.returned.size(); ++i) {
        returned[std::string(proximity::to_string(static_cast<proximity::nearness>(i)))] = stats.returned[i];
    }
    const json document{
        {"swarms", stats.swarms},
        {"peers", stats.peers},
        {"seeders", stats.seeders},
        {"leechers", stats.leechers},
        {"announces", stats.announces},
        {"announces_per_second", stats.announces_per_second},
        {"announces_by_protocol", {{"http", http_announces_}, {"udp", udp_announces_}}},
        {"scrapes", stats.scrapes},
        {"refused", stats.refused},
        {"origins", stats.origins},
        {"registered_items", stats.registered_items},
        {"memory_bytes", stats.memory_bytes},
        {"uptime_s", started_ms_ ? (now_ms - started_ms_) / 1000 : 0},
        {"peers_per_as", where_peers_are ? per_as : json::object()},
        {"returned_by_distance", returned},
        {"supernodes", where_peers_are ? supernodes_json() : json::object()},
        {"transfer", transfer_json()},
    };
    return {200, "application/json", document.dump(2) + "\n"};
}

void tracker_service::expire(std::uint64_t now_ms) {
    state_.expire(now_ms);
    transfers_.sample(static_cast<std::uint32_t>(now_ms / 1000));
}

nlohmann::json tracker_service::transfer_json() const {
    const transfer_totals& totals = transfers_.totals();
    json series = json::array();
    for (const auto& point : transfers_.series()) {
        series.push_back({point.at_s, point.peers_downloaded, point.origin_bytes, point.cache_fill_bytes});
    }
    return {{"peers_downloaded", totals.peers_downloaded},
            {"cache_fill_bytes", totals.cache_fill_bytes},
            {"cdn_bytes", totals.cdn_bytes()},
            {"downloads", totals.downloads},
            {"origin_bytes", totals.origin_bytes},
            {"origin_savings", totals.origin_savings()},
            {"peer_share_of_downloads", totals.peer_share_of_downloads()},
            {"series_columns", {"at_s", "peers_downloaded", "origin_bytes", "cache_fill_bytes"}},
            {"series", series}};
}

http_answer tracker_service::metrics(std::uint64_t now_ms) const {
    const tracker_stats stats = state_.stats(now_ms);
    std::ostringstream out;
    const auto metric = [&](const char* name, const char* type, const char* help, auto value) {
        out << "# HELP nearcast_tracker_" << name << " " << help << "\n# TYPE nearcast_tracker_" << name << " " << type
            << "\nnearcast_tracker_" << name << " " << value << "\n";
    };
    metric("swarms", "gauge", "Swarms tracked.", stats.swarms);
    metric("peers", "gauge", "Peers tracked.", stats.peers);
    metric("seeders", "gauge", "Seeders tracked.", stats.seeders);
    metric("leechers", "gauge", "Leechers tracked.", stats.leechers);
    metric("announces_total", "counter", "Announces answered.", stats.announces);
    out << "# HELP nearcast_tracker_announces_by_protocol_total Announces answered, by protocol.\n"
        << "# TYPE nearcast_tracker_announces_by_protocol_total counter\n"
        << "nearcast_tracker_announces_by_protocol_total{protocol=\"http\"} " << http_announces_ << "\n"
        << "nearcast_tracker_announces_by_protocol_total{protocol=\"udp\"} " << udp_announces_ << "\n";
    metric("scrapes_total", "counter", "Scrapes answered.", stats.scrapes);
    metric("refused_total", "counter", "Requests refused with a failure reason.", stats.refused);
    metric("origins", "gauge", "Registered origin seeders.", stats.origins);
    metric("memory_bytes", "gauge", "Bytes held by swarms.", stats.memory_bytes);
    metric("peers_downloaded_bytes_total", "counter", "Bytes peers reported downloading when they completed or stopped.",
           transfers_.totals().peers_downloaded);
    metric("cache_fill_bytes_total", "counter", "Of those, bytes supernodes downloaded filling their caches (cache_fill=1).",
           transfers_.totals().cache_fill_bytes);
    metric("origin_bytes_total", "counter", "Bytes origins reported serving when they registered.",
           transfers_.totals().origin_bytes);
    out << "# HELP nearcast_tracker_returned_peers_total Peers returned, by network distance to the requester.\n"
        << "# TYPE nearcast_tracker_returned_peers_total counter\n";
    for (std::size_t i = 0; i < stats.returned.size(); ++i) {
        out << "nearcast_tracker_returned_peers_total{distance=\""
            << proximity::to_string(static_cast<proximity::nearness>(i)) << "\"} " << stats.returned[i] << "\n";
    }
    return {200, "text/plain; version=0.0.4", out.str()};
}

}  // namespace nearcast::tracker::server
