#include "locality_plugin.hpp"

#include <libtorrent/bdecode.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace nearcast::peer::client {

std::optional<proximity::ip_address> to_proximity(const lt::address& address) {
    // ip_address::parse reads an IPv4-mapped IPv6 address as the IPv4 address it maps.
    return proximity::ip_address::parse(address.to_string());
}

void locality_state::set_self(std::optional<proximity::ip_address> self) {
    std::lock_guard lock(mutex_);
    self_ = self;
}

std::optional<proximity::ip_address> locality_state::self() const {
    std::lock_guard lock(mutex_);
    return self_;
}

void locality_state::add_origin(proximity::ip_address address) {
    std::lock_guard lock(mutex_);
    origins_.insert(address);
}

bool locality_state::is_origin(proximity::ip_address address) const {
    std::lock_guard lock(mutex_);
    return origins_.count(address) > 0;
}

void locality_state::queue_connection(const lt::torrent_handle& torrent, const lt::tcp::endpoint& where) {
    std::lock_guard lock(mutex_);
    if (to_connect_.size() < 10'000) to_connect_.emplace_back(torrent, where);
}

std::vector<std::pair<lt::torrent_handle, lt::tcp::endpoint>> locality_state::take_connections() {
    std::lock_guard lock(mutex_);
    return std::exchange(to_connect_, {});
}

std::vector<proximity::ip_address> locality_state::origins() const {
    std::lock_guard lock(mutex_);
    return {origins_.begin(), origins_.end()};
}

proximity::network_distance locality_state::distance_to(proximity::ip_address address) const {
    return locator(routing_, self(), options_.distance).distance_to(address);
}

namespace {

// One connection: where it is, what it is, and what it has carried so far.
class peer_locality final : public lt::peer_plugin {
public:
    peer_locality(const lt::peer_connection_handle& connection, std::shared_ptr<locality_state> state, std::uint64_t id)
        : connection_(connection), state_(std::move(state)), id_(id) {
        const auto address = to_proximity(connection.remote().address());
        distance_ = address ? state_->distance_to(*address) : proximity::network_distance{};
        const auto type = connection.type();
        web_seed_ = type == lt::connection_type::url_seed || type == lt::connection_type::http_seed;
        origin_ = web_seed_ || (address && state_->is_origin(*address));
    }

    lt::string_view type() const override { return "nearcast-locality"; }

    bool on_extension_handshake(const lt::bdecode_node& handshake) override {
        // Our seeders say who they are in the extension handshake's client name.
        if (handshake.dict_find_string_value("v").substr(0, 15) == "nearcast-seeder") origin_ = true;
        return true;
    }

    // Counted as each block arrives and leaves, so the totals are whole the moment a download ends.
    bool on_piece(const lt::peer_request& piece, lt::span<const char>) override {
        auto& counters = state_->counters;
        const auto bytes = static_cast<std::uint64_t>(piece.length);
        switch (classify(distance_, origin_, state_->options())) {
            case peer_kind::near: counters.from_near += bytes; break;
            case peer_kind::far: counters.from_far += bytes; break;
            case peer_kind::origin: counters.from_origin += bytes; break;
        }
        return false;
    }
    void sent_payload(int sent) override {
        auto& counters = state_->counters;
        const auto bytes = static_cast<std::uint64_t>(std::max(sent, 0));
        switch (classify(distance_, origin_, state_->options())) {
            case peer_kind::near: counters.to_near += bytes; break;
            case peer_kind::far: counters.to_far += bytes; break;
            case peer_kind::origin: counters.to_origin += bytes; break;
        }
    }

    connection as_connection() const { return {id_, distance_, origin_}; }
    lt::peer_connection_handle& handle() { return connection_; }
    bool closing() const { return connection_.is_disconnecting(); }
    // A web seed is the origin's HTTP floor: never counted against the connection limits.
    bool web_seed() const { return web_seed_; }

private:
    lt::peer_connection_handle connection_;
    std::shared_ptr<locality_state> state_;
    std::uint64_t id_;
    proximity::network_distance distance_;
    bool origin_ = false;
    bool web_seed_ = false;
};

class torrent_locality final : public lt::torrent_plugin {
public:
    torrent_locality(std::shared_ptr<locality_state> state, lt::torrent_handle handle)
        : state_(std::move(state)), handle_(std::move(handle)) {}

    // Nearest first: a near peer is queued for a connection the moment we learn of it, ahead
    // of libtorrent's own pacing through its peer list (which takes no notice of distance).
    // The client's thread makes the connections: a torrent_handle call from inside this hook
    // would run at once, in the middle of libtorrent adding the peer.
    void on_add_peer(const lt::tcp::endpoint& where, lt::peer_source_flags_t, lt::add_peer_flags_t flags) override {
        if (!state_->enforce() || (flags & lt::torrent_plugin::filtered)) return;
        const auto address = to_proximity(where.address());
        if (!address || state_->is_origin(*address)) return;
        if (classify(state_->distance_to(*address), false, state_->options()) != peer_kind::near) return;
        state_->queue_connection(handle_, where);
    }

    std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& connection) override {
        auto plugin = std::make_shared<peer_locality>(connection, state_, ++next_id_);
        peers_.push_back(plugin);
        return plugin;
    }

    // Once a second: forget closed connections, then close what the policy says is too far.
    void tick() override {
        std::vector<std::shared_ptr<peer_locality>> live;
        std::erase_if(peers_, [&](const std::weak_ptr<peer_locality>& weak) {
            auto peer = weak.lock();
            if (!peer || peer->closing()) return !peer;
            live.push_back(std::move(peer));
            return false;
        });
        if (!state_->enforce()) return;
        std::vector<connection> connections;
        for (const auto& peer : live) {
            if (!peer->web_seed()) connections.push_back(peer->as_connection());
        }
        for (std::uint64_t id : connections_to_close(connections, state_->options())) {
            for (const auto& peer : live) {
                if (peer->as_connection().id != id) continue;
                spdlog::debug("closing a connection to {} ({}): the far limit is reached",
                              peer->handle().remote().address().to_string(), peer->as_connection().distance.to_string());
                peer->handle().disconnect(lt::errors::too_many_connections, lt::operation_t::bittorrent);
                ++state_->counters.far_closed;
            }
        }
    }

private:
    std::shared_ptr<locality_state> state_;
    lt::torrent_handle handle_;
    std::vector<std::weak_ptr<peer_locality>> peers_;
    std::uint64_t next_id_ = 0;
};

class session_locality final : public lt::plugin {
public:
    explicit session_locality(std::shared_ptr<locality_state> state) : state_(std::move(state)) {}
    std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle& handle, lt::client_data_t) override {
        return std::make_shared<torrent_locality>(state_, handle);
    }

private:
    std::shared_ptr<locality_state> state_;
};

}  // namespace

std::shared_ptr<lt::plugin> make_locality_plugin(std::shared_ptr<locality_state> state) {
    return std::make_shared<session_locality>(std::move(state));
}

}  // namespace nearcast::peer::client
