#include "nearcast/tracker/tracker_state.hpp"

#include <algorithm>
#include <cstring>

namespace nearcast::tracker {

namespace {

std::uint64_t endpoint_key(const endpoint& where) {
    const proximity::uint128 bits = where.address.v6_bits();
    std::uint64_t h = static_cast<std::uint64_t>(bits) * 0x9E37'79B9'7F4A'7C15ull;
    h ^= static_cast<std::uint64_t>(bits >> 64) * 0xC2B2'AE3D'27D4'EB4Full;
    return h ^ (std::uint64_t{where.port} << 1) ^ static_cast<std::uint64_t>(where.address.is_v6());
}

bool from_trusted_proxy(const std::vector<proximity::ip_prefix>& proxies, const proximity::ip_address& source) {
    return std::any_of(proxies.begin(), proxies.end(), [&](const auto& prefix) { return prefix.contains(source); });
}

}  // namespace

std::size_t tracker_state::hash_of_info::operator()(const info_hash& hash) const {
    std::uint64_t head;
    std::memcpy(&head, hash.data(), sizeof head);  // info hashes are SHA digests: already uniform
    return static_cast<std::size_t>(head);
}

tracker_state::tracker_state(tracker_config config, std::shared_ptr<const proximity::model> routing,
                             std::uint64_t seed, std::optional<access_tokens> tokens)
    : config_(std::move(config)),
      routing_(std::move(routing)),
      tokens_(std::move(tokens)),
      random_(seed),
      limiter_(config_.announce_rate, config_.announce_burst) {
    if (!routing_) routing_ = std::make_shared<proximity::model>();
    if (!config_.proximity) config_.selection.far_share = 1.0;  // every pick random
}

void tracker_state::set_routing(std::shared_ptr<const proximity::model> routing) {
    routing_ = routing ? std::move(routing) : std::make_shared<proximity::model>();
    hops_ = hop_cache();
    rebuild_origin_index();
}

peer_location tracker_state::locate(const proximity::ip_address& address) const {
    const auto found = routing_->prefixes().lookup(address);
    if (!found) return {};
    return {found->prefix.length, found->primary_origin()};
}

info_hash tracker_state::canonical(const info_hash& hash) const {
    const auto alias = aliases_.find(hash);
    return alias == aliases_.end() ? hash : alias->second;
}

bool tracker_state::is_origin_endpoint(const endpoint& where) const {
    return !origin_endpoints_.empty() && origin_endpoints_.count(endpoint_key(where));
}

std::optional<std::string> tracker_state::access_refusal(std::string_view token, std::uint64_t now_s) const {
    if (!config_.closed) return std::nullopt;
    if (!tokens_) return "closed mode without an access token secret";
    return tokens_->refusal(token, now_s);
}

void tracker_state::count_announce(std::uint64_t now_ms) {
    ++announces_;
    const std::uint64_t second = now_ms / 1000;
    const std::size_t slot = second % 10;
    if (second_stamps_[slot] != second) {
        second_stamps_[slot] = second;
        second_counts_[slot] = 0;
    }
    ++second_counts_[slot];
}

std::variant<announce_response, tracker_failure> tracker_state::announce(const announce_request& request,
                                                                         const endpoint& source, std::uint64_t now_ms) {
    const auto refuse = [&](std::string reason) {
        ++refused_;
        return tracker_failure{std::move(reason)};
    };
    if (!limiter_.allow(source.address, now_ms)) return refuse("rate limit exceeded: announce less often");
    if (request.port == 0) return refuse("port must be 1 to 65535");

    endpoint peer{source.address, request.port};
    if (request.claimed_ip && from_trusted_proxy(config_.trusted_proxies, source.address)) {
        peer.address = *request.claimed_ip;
    }
    const info_hash hash = canonical(request.hash);
    if (config_.closed) {
        if (const auto why = tokens_ ? tokens_->refusal(request.access_token, now_ms / 1000)
                                     : std::optional<std::string>("closed mode without an access token secret")) {
            return refuse(*why);
        }
        if (!origin_records_.count(hash)) return refuse("unregistered torrent");
    }
    count_announce(now_ms);

    const auto now_s = static_cast<std::uint32_t>(now_ms / 1000);
    peer_record record = record_for(peer);
    const peer_location location = locate(peer.address);
    record.prefix_length = location.prefix_length;
    record.origin_as = location.origin_as;
    record.last_seen = now_s;
    if (request.seed()) record.flags |= peer_record::flag_seed;
    if (is_origin_endpoint(peer)) record.flags |= peer_record::flag_origin;
    if (request.key) {
        record.key = *request.key;
        record.flags |= peer_record::flag_keyed;
    }

    announce_response response;
    response.interval = config_.interval;
    response.min_interval = config_.min_interval;

    auto found = swarms_.find(hash);
    if (found == swarms_.end()) {
        if (request.event == announce_event::stopped) return response;
        if (swarms_.size() >= config_.max_swarms) return refuse("tracker is full: too many swarms");
        found = swarms_.emplace(hash, swarm()).first;
    }
    swarm& members = found->second;
    const peer_record* existing = members.find(record);
    // An announce sent from the address it announces is proof enough: the TCP handshake or the
    // UDP connection ID shows the sender holds that address, whatever `key` it sends (aria2c
    // sends a new one with every UDP announce, others none at all). The `key` guards only an
    // address claimed through a trusted proxy (`ip=`): such an announce may update or stop an
    // entry only with the key that entry was last announced with, so nobody behind the proxy
    // can evict a peer by naming its address.
    const bool proved = peer.address == source.address;
    if (existing && !proved && (existing->flags & peer_record::flag_keyed) &&
        (!request.key || existing->key != *request.key)) {
        return refuse("key does not match the peer that announced this address and port");
    }

    if (request.event == announce_event::stopped) {
        members.remove(record);
        response.complete = members.seeders();
        response.incomplete = members.leechers();
        if (members.size() == 0) swarms_.erase(found);
        return response;
    }
    const bool became_seed = request.seed() && (!existing || !existing->seed());
    if (request.event == announce_event::completed || (became_seed && existing)) members.count_completed();
    if (existing || members.size() < config_.max_peers_per_swarm) {
        members.upsert(record);
    } else {
        response.warning = "swarm is full: you are not listed, but you get peers";
    }

    const std::uint32_t numwant = std::min(request.numwant.value_or(config_.default_numwant), config_.max_numwant);
    static const std::vector<peer_record> no_origins;
    const auto origins = origin_records_.find(hash);
    selection picked =
        select_peers(members.peers(), origins == origin_records_.end() ? no_origins : origins->second, {record},
                     numwant, routing_->graph(), config_.selection, config_.origins, hops_, random_, &returned_);
    response.peers = std::move(picked.peers);
    response.complete = members.seeders();
    response.incomplete = members.leechers();
    return response;
}

std::variant<scrape_response, tracker_failure> tracker_state::scrape(const scrape_request& request,
                                                                     const endpoint& /*source*/, std::uint64_t now_ms) {
    if (config_.closed) {
        if (const auto why = tokens_ ? tokens_->refusal(request.access_token, now_ms / 1000)
                                     : std::optional<std::string>("closed mode without an access token secret")) {
            ++refused_;
            return tracker_failure{*why};
        }
    }
    ++scrapes_;
    scrape_response response;
    const auto add = [&](const info_hash& asked, const swarm& members) {
        response.files.push_back({asked, members.seeders(), members.completed(), members.leechers()});
    };
    if (request.hashes.empty()) {
        if (!config_.full_scrape) {
            ++refused_;
            return tracker_failure{"full scrape is disabled: name the info_hash"};
        }
        for (const auto& [hash, members] : swarms_) add(hash, members);
        return response;
    }
    for (const info_hash& asked : request.hashes) {
        const auto found = swarms_.find(canonical(asked));
        if (found != swarms_.end()) add(asked, found->second);
    }
    return response;
}

void tracker_state::register_origin(const origin_registration& registration, std::uint64_t now_ms) {
    origins_[registration.name] = {registration, now_ms + std::uint64_t{config_.origin_ttl} * 1000};
    rebuild_origin_index();
}

void tracker_state::rebuild_origin_index() {
    aliases_.clear();
    origin_records_.clear();
    origin_endpoints_.clear();
    for (const auto& [name, origin] : origins_) {
        std::vector<peer_record> records;
        for (const endpoint& where : origin.registration.endpoints) {
            peer_record record = record_for(where);
            const peer_location location = locate(where.address);
            record.prefix_length = location.prefix_length;
            record.origin_as = location.origin_as;
            record.flags |= peer_record::flag_seed | peer_record::flag_origin;
            records.push_back(record);
            origin_endpoints_.insert(endpoint_key(where));
        }
        for (const catalogue_item& item : origin.registration.items) {
            if (item.v2_truncated) aliases_[*item.v2_truncated] = item.v1;
            auto& known = origin_records_[item.v1];
            for (const peer_record& record : records) {
                const bool listed = std::any_of(known.begin(), known.end(),
                                                [&](const peer_record& other) { return other.same_endpoint(record); });
                if (!listed) known.push_back(record);
            }
        }
    }
    // An origin seeder that announced before it registered is in its swarms as an ordinary
    // seed: it is the origin from its registration on, not from its next announce (which may
    // be an interval away).
    for (const auto& [hash, records] : origin_records_) {
        const auto found = swarms_.find(hash);
        if (found == swarms_.end()) continue;
        for (const peer_record& origin : records) {
            const peer_record* listed = found->second.find(origin);
            if (!listed || listed->origin()) continue;
            peer_record flagged = *listed;
            flagged.flags |= peer_record::flag_origin;
            found->second.upsert(flagged);
        }
    }
}

void tracker_state::expire(std::uint64_t now_ms) {
    const std::uint64_t now_s = now_ms / 1000;
    const std::uint64_t grace = 2 * std::uint64_t{config_.interval};
    const auto oldest_kept = static_cast<std::uint32_t>(now_s > grace ? now_s - grace : 0);
    for (auto at = swarms_.begin(); at != swarms_.end();) {
        at->second.expire(oldest_kept);
        at = at->second.size() == 0 ? swarms_.erase(at) : std::next(at);
    }
    const auto lapsed = std::erase_if(origins_, [&](const auto& entry) { return entry.second.expires_ms < now_ms; });
    if (lapsed) rebuild_origin_index();
}

tracker_stats tracker_state::stats(std::uint64_t now_ms, bool with_peers_per_as) const {
    tracker_stats out;
    out.swarms = swarms_.size();
    out.memory_bytes = swarms_.bucket_count() * sizeof(void*);
    for (const auto& [hash, members] : swarms_) {
        out.peers += members.size();
        out.seeders += members.seeders();
        out.leechers += members.leechers();
        out.memory_bytes += members.memory_bytes() + sizeof(hash) + 2 * sizeof(void*);
        if (with_peers_per_as) {
            for (const peer_record& peer : members.peers()) ++out.peers_per_as[peer.origin_as];
        }
    }
    out.announces = announces_;
    out.scrapes = scrapes_;
    out.refused = refused_;
    out.returned = returned_;
    out.origins = origins_.size();
    out.registered_items = origin_records_.size();
    const std::uint64_t second = now_ms / 1000;
    std::uint64_t recent = 0;
    for (std::size_t i = 0; i < 10; ++i) {
        // The ten whole seconds before this one.
        if (second_stamps_[i] + 10 >= second && second_stamps_[i] < second) recent += second_counts_[i];
    }
    out.announces_per_second = static_cast<double>(recent) / 10.0;
    return out;
}

std::map<std::pair<std::uint32_t, proximity::ip_prefix>, std::uint64_t> tracker_state::peers_per_prefix(
    const std::vector<std::uint32_t>& ases) const {
    std::map<std::pair<std::uint32_t, proximity::ip_prefix>, std::uint64_t> out;
    if (ases.empty()) return out;
    for (const auto& [hash, members] : swarms_) {
        for (const peer_record& peer : members.peers()) {
            if (peer.prefix_length == peer_location::no_prefix || !std::binary_search(ases.begin(), ases.end(), peer.origin_as)) continue;
            ++out[{peer.origin_as, proximity::ip_prefix::of(peer.address(), peer.prefix_length)}];
        }
    }
    return out;
}

}  // namespace nearcast::tracker
