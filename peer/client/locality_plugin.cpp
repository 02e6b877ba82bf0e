#include "locality_plugin.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

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

std::uint32_t locality_state::as_of(proximity::ip_address address) const { return routing_.prefixes().origin_of(address); }

void locality_state::count_from_as(std::uint32_t asn, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    by_as_[asn] += bytes;
}

std::map<std::uint32_t, std::uint64_t> locality_state::downloaded_by_as() const {
    std::lock_guard lock(mutex_);
    return by_as_;
}

std::map<std::string, std::uint64_t> locality_state::downloaded_by_as_text() const {
    std::map<std::string, std::uint64_t> out;
    for (const auto& [asn, bytes] : downloaded_by_as()) out[std::to_string(asn)] = bytes;
    return out;
}

void locality_state::set_origin_held(const lt::torrent_handle& torrent, bool held) {
    std::lock_guard lock(mutex_);
    origin_verdicts_.insert(torrent);
    if (held) origin_held_.insert(torrent);
    // A verdict that lets a held origin in is heard at the next block from anyone, not at the
    // next tick.
    else if (origin_held_.erase(torrent) > 0) origin_wakes_.insert(torrent);
}

void locality_state::wake_origin(const lt::torrent_handle& torrent) {
    std::lock_guard lock(mutex_);
    origin_wakes_.insert(torrent);
}

bool locality_state::take_origin_wake(const lt::torrent_handle& torrent) {
    std::lock_guard lock(mutex_);
    return origin_wakes_.erase(torrent) > 0;
}

void locality_state::forget_origin(const lt::torrent_handle& torrent) {
    std::lock_guard lock(mutex_);
    origin_held_.erase(torrent);
    origin_wakes_.erase(torrent);
    origin_verdicts_.erase(torrent);
    near_news_.erase(torrent);
}

void locality_state::set_defers(bool defers) {
    std::lock_guard lock(mutex_);
    defers_ = defers;
}

void locality_state::note_near_news(const lt::torrent_handle& torrent) {
    {
        std::lock_guard lock(mutex_);
        near_news_.insert(torrent);
        origin_verdicts_.erase(torrent);  // news the client has not weighed yet
    }
    wake_client();
}

void locality_state::wake_client() {
    if (news_pending_.exchange(true)) return;
    std::lock_guard lock(wake_mutex_);
    if (wake_) wake_();
}

void locality_state::ask_repick(const lt::torrent_handle& torrent) {
    {
        std::lock_guard lock(mutex_);
        if (!repicks_.insert(torrent).second) return;
    }
    wake_client();
}

std::vector<lt::torrent_handle> locality_state::take_repicks() {
    std::lock_guard lock(mutex_);
    std::vector<lt::torrent_handle> out(repicks_.begin(), repicks_.end());
    repicks_.clear();
    return out;
}

void locality_state::on_news(std::function<void()> wake) {
    std::lock_guard lock(wake_mutex_);
    wake_ = std::move(wake);
}

bool locality_state::verdict_awaited(const lt::torrent_handle& torrent) const {
    std::lock_guard lock(mutex_);
    return defers_ && near_news_.count(torrent) > 0 && origin_verdicts_.count(torrent) == 0;
}

std::shared_ptr<item_source_counters> locality_state::item_counters(const lt::torrent_handle& torrent) {
    std::lock_guard lock(mutex_);
    auto& item = items_[torrent];
    if (!item) item = std::make_shared<item_source_counters>();
    return item;
}

bytes_by_source locality_state::downloaded_by(const lt::torrent_handle& torrent) const {
    std::lock_guard lock(mutex_);
    const auto found = items_.find(torrent);
    return found == items_.end() ? bytes_by_source{} : found->second->downloaded();
}

void locality_state::forget_item(const lt::torrent_handle& torrent) {
    std::lock_guard lock(mutex_);
    items_.erase(torrent);
}

bool locality_state::origin_held(const lt::torrent_handle& torrent) const {
    std::lock_guard lock(mutex_);
    return origin_held_.count(torrent) > 0;
}

void locality_state::set_supernode(bool supernode, std::uint32_t admission_limit) {
    std::lock_guard lock(mutex_);
    supernode_ = supernode;
    admission_.set_limit(admission_limit);
}

bool locality_state::supernode() const {
    std::lock_guard lock(mutex_);
    return supernode_;
}

bool locality_state::admit_child(proximity::ip_address address) {
    std::lock_guard lock(mutex_);
    return admission_.admit(address.to_string());
}

void locality_state::release_child(proximity::ip_address address) {
    std::lock_guard lock(mutex_);
    admission_.release(address.to_string());
}

child_admission locality_state::admission() const {
    std::lock_guard lock(mutex_);
    return admission_;
}

void locality_state::set_own_summary(std::string encoded) {
    std::lock_guard lock(mutex_);
    own_summary_ = std::move(encoded);
}

std::string locality_state::own_summary() const {
    std::lock_guard lock(mutex_);
    return own_summary_;
}

void locality_state::note_fellow(proximity::ip_address address, supernode_summary summary) {
    std::lock_guard lock(mutex_);
    fellows_.insert_or_assign(address, fellow{std::move(summary), std::chrono::steady_clock::now()});
}

bool locality_state::is_fellow(proximity::ip_address address) const {
    std::lock_guard lock(mutex_);
    const auto found = fellows_.find(address);
    return found != fellows_.end() && found->second.summary.supernode;
}

void locality_state::note_no_gateway(proximity::ip_address address, bool no_gateway) {
    std::lock_guard lock(mutex_);
    if (no_gateway) no_gateway_.insert(address);
    else no_gateway_.erase(address);
}

bool locality_state::no_gateway(proximity::ip_address address) const {
    std::lock_guard lock(mutex_);
    return no_gateway_.count(address) > 0;
}

std::vector<std::pair<proximity::ip_address, supernode_summary>> locality_state::fellows(std::chrono::seconds fresh) const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<proximity::ip_address, supernode_summary>> out;
    const auto since = std::chrono::steady_clock::now() - fresh;
    for (const auto& [address, known] : fellows_) {
        if (known.heard >= since && known.summary.supernode) out.emplace_back(address, known.summary);
    }
    return out;
}

namespace {

// Our id for the nearcast_sn message in the extension handshake (BEP 10); any number that no
// other extension of the session uses (ut_metadata takes 2).
constexpr int supernode_message_id = 23;
constexpr int largest_summary = 64 * 1024;
// The extension handshake's key for whether a peer may be its network's gateway (1, or
// missing: it may; 0: its user limits its upload or download, or switched uploading off).
constexpr std::string_view gateway_key = "nearcast_gateway";

// One connection: where it is, what it is, and what it has carried so far.
class peer_locality final : public lt::peer_plugin {
public:
    peer_locality(const lt::peer_connection_handle& connection, std::shared_ptr<locality_state> state, std::uint64_t id,
                  lt::torrent_handle torrent, std::shared_ptr<item_source_counters> item, std::function<void()> block_arrived)
        : connection_(connection), state_(std::move(state)), id_(id), torrent_(std::move(torrent)), item_(std::move(item)),
          block_arrived_(std::move(block_arrived)) {
        address_ = to_proximity(connection.remote().address());
        distance_ = address_ ? state_->distance_to(*address_) : proximity::network_distance{};
        asn_ = address_ ? state_->as_of(*address_) : 0;
        const auto type = connection.type();
        web_seed_ = type == lt::connection_type::url_seed || type == lt::connection_type::http_seed;
        origin_ = web_seed_ || (address_ && state_->is_origin(*address_));
    }
    ~peer_locality() override { release(); }

    lt::string_view type() const override { return "nearcast-locality"; }

    // With uploading off, a request is refused: the peer is choked first if libtorrent had
    // unchoked it (its optimistic unchoke keeps one slot even at zero slots), and libtorrent
    // then rejects what a choked peer asks for.
    bool on_request(const lt::peer_request&) override {
        if (state_->uploads_off() && !connection_.is_choked()) connection_.choke_this_peer();
        return false;
    }
    void choke_if_uploads_off() {
        if (state_->uploads_off() && !connection_.is_choked() && !connection_.is_disconnecting()) connection_.choke_this_peer();
    }

    void add_handshake(lt::entry& handshake) override {
        handshake["m"][std::string(supernode_extension_name)] = supernode_message_id;
        handshake[std::string(gateway_key)] = state_->may_be_gateway() ? 1 : 0;
    }

    // A supernode admits downloaders that connect to it up to its limit and refuses the rest
    // at once (libtorrent checks for a disconnect right after this hook). Fellow supernodes and
    // origins are no children.
    bool on_handshake(lt::span<const char>) override {
        if (connection_.is_outgoing() || origin_ || !address_ || !state_->supernode() || state_->is_fellow(*address_)) return true;
        if (state_->admit_child(*address_)) {
            child_ = true;
            return true;
        }
        spdlog::debug("refusing {}: the admission limit is reached", address_->to_string());
        connection_.disconnect(lt::errors::too_many_connections, lt::operation_t::bittorrent);
        return false;
    }

    bool on_extension_handshake(const lt::bdecode_node& handshake) override {
        // Our seeders say who they are in the extension handshake's client name.
        if (handshake.dict_find_string_value("v").substr(0, 15) == "nearcast-seeder") origin_ = true;
        const auto messages = handshake.dict_find_dict("m");
        if (messages) remote_message_id_ = static_cast<int>(messages.dict_find_int_value(lt::string_view(supernode_extension_name.data(), supernode_extension_name.size()), 0));
        if (remote_message_id_ < 0 || remote_message_id_ > 255) remote_message_id_ = 0;
        if (address_) state_->note_no_gateway(*address_, handshake.dict_find_int_value(lt::string_view(gateway_key.data(), gateway_key.size()), 1) == 0);
        send_summary();
        return true;
    }

    bool on_extended(int length, int message, lt::span<const char> body) override {
        if (message != supernode_message_id) return false;
        if (length > largest_summary) {
            connection_.disconnect(lt::errors::packet_too_large, lt::operation_t::bittorrent);
            return true;
        }
        if (!lt::bt_peer_connection_handle(connection_).packet_finished()) return true;
        try {
            auto summary = decode_summary({body.data(), static_cast<std::size_t>(body.size())});
            if (address_ && summary.supernode) {
                release();  // a fellow supernode, not a child
                fellow_ = true;
                state_->note_fellow(*address_, std::move(summary));
            }
        } catch (const summary_error& error) {
            spdlog::debug("{}: a malformed nearcast_sn message: {}", connection_.remote().address().to_string(), error.what());
        }
        return true;
    }

    void on_disconnect(const lt::error_code&) override { release(); }

    // An origin's unchoke waits while the client leaves the origin alone: libtorrent never
    // hears of it, so it sends no request. (It does not wait for a verdict on news of near
    // peers: that wait made every download beside a near peer a few ms slower, and the
    // verdict, taken before the new peers have answered, let the origin in anyway.)
    // A near peer that unchokes us may be the gateway to follow: that is news too, so the
    // client's next verdict comes at once, not at its next quarter-second sample.
    bool on_unchoke() override {
        if (!origin_ && classify(distance_, false, state_->options()) == peer_kind::near) state_->note_near_news(torrent_);
        unchoke_waiting_ = origin_ && !web_seed_ && state_->origin_held(torrent_);
        return unchoke_waiting_;
    }
    bool on_choke() override {
        unchoke_waiting_ = false;
        return false;
    }
    // See locality_state::ask_repick. Looked at once per 50 ms per connection at most: HAVEs
    // come in bursts.
    bool on_have(lt::piece_index_t) override {
        if (origin_ || !connection_.is_interesting() || connection_.has_peer_choked() || connection_.is_disconnecting() ||
            classify(distance_, false, state_->options()) != peer_kind::near) {
            return false;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - last_repick_check_ < std::chrono::milliseconds(50)) return false;
        last_repick_check_ = now;
        // With the origin in, its pieces complete and libtorrent picks anyway (and a download
        // with deference off is left as libtorrent runs it).
        if (!state_->origin_held(torrent_)) return false;
        lt::peer_info info;
        connection_.get_peer_info(info);
        if (info.download_queue_length == 0) state_->ask_repick(torrent_);
        return false;
    }
    // A held origin hears NOT_INTERESTED: a libtorrent seeder chokes us and rejects what we
    // asked of it, and its unchoke waits (above) until we are interested again.
    void quiet_origin() {
        if (!origin_ || web_seed_ || quiet_since_ || connection_.is_disconnecting()) return;
        quiet_since_ = std::chrono::steady_clock::now();
        const char not_interested[5] = {0, 0, 0, 1, 3};
        connection_.send_buffer(not_interested, static_cast<int>(sizeof not_interested));
    }
    // Once the origin may send again, a repeated INTERESTED makes it unchoke us (or repeat its
    // unchoke, which libtorrent then hears: an unchoked peer answers INTERESTED with UNCHOKE).
    void resume_origin() {
        if ((!unchoke_waiting_ && !quiet_since_) || connection_.is_disconnecting() || state_->origin_held(torrent_)) return;
        unchoke_waiting_ = false;
        quiet_since_.reset();
        const char interested[5] = {0, 0, 0, 1, 2};
        connection_.send_buffer(interested, static_cast<int>(sizeof interested));
    }

    // Sends our summary to a peer that understands it, while we are a supernode.
    void send_summary() {
        if (remote_message_id_ == 0 || !state_->supernode() || connection_.is_disconnecting()) return;
        const std::string payload = state_->own_summary();
        if (payload.empty()) return;
        std::string frame(6, '\0');
        const auto length = static_cast<std::uint32_t>(payload.size() + 2);
        for (int i = 0; i < 4; ++i) frame[static_cast<std::size_t>(i)] = static_cast<char>((length >> (24 - 8 * i)) & 0xff);
        frame[4] = 20;  // BEP 10 extended message
        frame[5] = static_cast<char>(remote_message_id_);
        frame += payload;
        connection_.send_buffer(frame.data(), static_cast<int>(frame.size()));
    }

    // Counted as each block arrives and leaves, so the totals are whole the moment a download ends.
    bool on_piece(const lt::peer_request& piece, lt::span<const char>) override {
        // The origin is held: it hears so at the next block, not at the next tick, and its
        // connection goes if it still sends a while after (blocks already on their way, and the
        // few a seeder allows while it chokes, come within a moment).
        if (origin_ && !web_seed_ && state_->origin_held(torrent_) && !connection_.is_disconnecting()) {
            if (!quiet_since_) {
                quiet_origin();
            } else if (std::chrono::steady_clock::now() - *quiet_since_ > std::chrono::seconds(2)) {
                connection_.disconnect(lt::errors::too_many_connections, lt::operation_t::bittorrent);
                ++state_->counters.far_closed;
            }
        }
        if (block_arrived_) block_arrived_();
        auto& counters = state_->counters;
        const auto bytes = static_cast<std::uint64_t>(piece.length);
        state_->count_from_as(asn_, bytes);
        switch (classify(distance_, origin_, state_->options())) {
            case peer_kind::near: counters.from_near += bytes, item_->from_near += bytes; break;
            case peer_kind::far: counters.from_far += bytes, item_->from_far += bytes; break;
            case peer_kind::origin: counters.from_origin += bytes, item_->from_origin += bytes; break;
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
    // A web seed is the origin's HTTP floor, a fellow supernode the relay: neither counts
    // against the far connection limits.
    bool exempt() const { return web_seed_ || fellow_; }

private:
    void release() {
        if (child_ && address_) state_->release_child(*address_);
        child_ = false;
    }

    lt::peer_connection_handle connection_;
    std::shared_ptr<locality_state> state_;
    std::uint64_t id_;
    std::optional<proximity::ip_address> address_;
    proximity::network_distance distance_;
    std::uint32_t asn_ = 0;
    bool origin_ = false;
    bool web_seed_ = false;
    bool child_ = false;
    bool fellow_ = false;
    int remote_message_id_ = 0;
    lt::torrent_handle torrent_;
    std::shared_ptr<item_source_counters> item_;
    std::function<void()> block_arrived_;
    bool unchoke_waiting_ = false;
    std::chrono::steady_clock::time_point last_repick_check_{};
    std::optional<std::chrono::steady_clock::time_point> quiet_since_;  // NOT_INTERESTED sent while held
};

class torrent_locality final : public lt::torrent_plugin, public std::enable_shared_from_this<torrent_locality> {
public:
    torrent_locality(std::shared_ptr<locality_state> state, lt::torrent_handle handle)
        : state_(std::move(state)), handle_(std::move(handle)), item_(state_->item_counters(handle_)) {}

    // Nearest first: a near peer is queued for a connection the moment we learn of it, ahead
    // of libtorrent's own pacing through its peer list (which takes no notice of distance).
    // The client's thread makes the connections: a torrent_handle call from inside this hook
    // would run at once, in the middle of libtorrent adding the peer.
    void on_add_peer(const lt::tcp::endpoint& where, lt::peer_source_flags_t, lt::add_peer_flags_t flags) override {
        if (!state_->enforce() || (flags & lt::torrent_plugin::filtered)) return;
        const auto address = to_proximity(where.address());
        if (!address) return;
        // The client names an origin again when its verdict lets a held origin in: an unchoke
        // that waits for that verdict is heard now, not at the next block from anyone.
        if (state_->is_origin(*address)) return resume_origins_now();
        if (classify(state_->distance_to(*address), false, state_->options()) != peer_kind::near) return;
        // News is a peer named for the first time: the client's own connect_peer names it again.
        if (!(flags & lt::torrent_plugin::first_time)) return;
        state_->note_near_news(handle_);
        state_->queue_connection(handle_, where);
    }

    std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& connection) override {
        // Once the client has woken the origin, the next block from anyone lets its waiting
        // unchoke be heard: a second's tick is long beside a download.
        std::weak_ptr<torrent_locality> self = weak_from_this();
        auto plugin = std::make_shared<peer_locality>(connection, state_, ++next_id_, handle_, item_, [self] {
            if (auto torrent = self.lock()) torrent->resume_origins_soon();
        });
        peers_.push_back(plugin);
        return plugin;
    }

    // At most every 100 ms, once the client has woken the origin: origin connections whose
    // unchoke waits hear it.
    void resume_origins_soon() {
        const auto now = std::chrono::steady_clock::now();
        if (now - resumed_at_ < std::chrono::milliseconds(100) || !state_->enforce()) return;
        resumed_at_ = now;
        resume_origins_now();
    }
    void resume_origins_now() {
        if (!state_->take_origin_wake(handle_)) return;
        for (const auto& weak : peers_) {
            if (auto peer = weak.lock(); peer && !peer->closing()) peer->resume_origin();
        }
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
        for (const auto& peer : live) peer->choke_if_uploads_off();
        // A supernode repeats its summary every few seconds: load and cache change.
        if (++ticks_ % 5 == 0) {
            for (const auto& peer : live) peer->send_summary();
        }
        if (!state_->enforce()) return;
        for (const auto& peer : live) peer->resume_origin();
        std::vector<connection> connections;
        for (const auto& peer : live) {
            if (!peer->exempt()) connections.push_back(peer->as_connection());
        }
        std::vector<std::uint64_t> close = connections_to_close(connections, state_->options());
        // Near peers hold enough of what we lack: the origin's BitTorrent connections hear so
        // (its web seed stays the backstop), and the client lets it in again later.
        if (state_->origin_held(handle_)) {
            for (const auto& peer : live) {
                if (!peer->exempt()) peer->quiet_origin();
            }
        }
        for (std::uint64_t id : close) {
            for (const auto& peer : live) {
                if (peer->as_connection().id != id) continue;
                spdlog::debug("closing a connection to {} ({}): {}", peer->handle().remote().address().to_string(),
                              peer->as_connection().distance.to_string(),
                              peer->as_connection().origin ? "the origin limit is reached, or near peers hold enough of what we lack"
                                                           : "the far limit is reached");
                peer->handle().disconnect(lt::errors::too_many_connections, lt::operation_t::bittorrent);
                ++state_->counters.far_closed;
            }
        }
    }

private:
    std::shared_ptr<locality_state> state_;
    lt::torrent_handle handle_;
    std::shared_ptr<item_source_counters> item_;
    std::vector<std::weak_ptr<peer_locality>> peers_;
    std::uint64_t next_id_ = 0;
    unsigned ticks_ = 0;
    std::chrono::steady_clock::time_point resumed_at_{};
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
