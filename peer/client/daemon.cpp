// nearcast-peer daemon: one session that holds the user's cache and seeds it.
//
// CACHE/content holds the items, CACHE/torrents their metadata, CACHE/index.json when each was
// last used and what was uploaded this month, CACHE/control.json where the control API listens
// and its token (readable by the user only). One thread runs everything: the control API, the
// stream servers, and a timer that polls libtorrent, applies the limits and the quota.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/hex.hpp>
#include <libtorrent/torrent_info.hpp>
#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>

#include "commands.hpp"
#include "control_api.hpp"
#include "http_fetch.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/atomic_file.hpp"
#include "nearcast/core/stop_signals.hpp"
#include "nearcast/peer/cache_policy.hpp"
#include "nearcast/peer/item_source.hpp"
#include "nearcast/peer/progress.hpp"
#include "peer_session.hpp"
#include "stream_server.hpp"
#include "supernode_agent.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace nearcast::peer::client {

namespace {

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// What a folder takes on the disk: the blocks allocated to its files, not their apparent
// sizes (a file being downloaded is sparse; libtorrent's part files count too).
std::uint64_t disk_usage(const fs::path& folder) {
    std::uint64_t total = 0;
    // A file alone: its own blocks.
    if (struct stat facts {}; ::lstat(folder.c_str(), &facts) == 0 && S_ISREG(facts.st_mode)) return static_cast<std::uint64_t>(facts.st_blocks) * 512;
    std::error_code error;
    for (fs::recursive_directory_iterator at(folder, fs::directory_options::skip_permission_denied, error), end; !error && at != end;
         at.increment(error)) {
        struct stat facts {};
        if (::lstat(at->path().c_str(), &facts) == 0 && S_ISREG(facts.st_mode)) {
            total += static_cast<std::uint64_t>(facts.st_blocks) * 512;
        }
    }
    return total;
}

std::string random_token() {
    unsigned char bytes[24];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("cannot make a control token: no randomness");
    return lt::aux::to_hex({reinterpret_cast<const char*>(bytes), sizeof bytes});
}

struct cache_entry {
    lt::torrent_handle handle;
    std::int64_t last_used_s = 0;
    bool paused = false;
    bool prefetched = false;  // added by the supernode agent, not asked for on this host
    bytes_by_source earlier;  // downloaded for it by the daemon's earlier runs (kept in the index)
    bool resting = false;     // whole, and out of its swarm while uploading is off
    std::string refused;      // why it is not downloaded (a magnet's item found larger than the quota)
    bool sizing = false;      // a magnet's item in upload mode until its metadata gives its size
    bool metadata_kept = false;  // its .torrent is in torrents/ (a magnet's once its metadata came)
    std::unique_ptr<stream_server> stream;
    // Averaged over a sliding window: the payload received and sent (the rates shown), and
    // the bytes verified (the ETA).
    rate_meter download_rate, upload_rate, progress;
    std::optional<double> paused_at_s;  // when the meters last stopped for a pause
};

double steady_now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class peer_daemon {
public:
    peer_daemon(const peer_options& options, proximity::model routing)
        : options_(with_content_folder(options)),
          routing_(std::move(routing)),
          session_(options_, routing_),
          timer_(io_),
          stop_signals_(io_) {
        cap_ = configured_cap();
        download_limit_ = options.download_limit;
        load_index();
        if (!saved_limits_.empty()) {
            apply_limits(saved_limits_);
            spdlog::info("limits set through the control API in an earlier run, kept in {}: {}",
                         (options_.cache / "index.json").string(), limits_json().dump());
        }
        const auto where = parse_endpoint(options.listen_control, "--listen-control");
        if (!where.address().is_loopback()) {
            throw item_error("--listen-control: the control API listens on loopback only, not " + options.listen_control);
        }
        token_ = random_token();
        control_ = std::make_unique<control_server>(io_, where, token_, [this](const control_request& request) { return handle(request); },
                                                    parse_endpoint(options.listen_http, "--listen-http").address());
        if (!options_.supernode_tracker.empty()) {
            supernode_agent::hooks calls;
            calls.items = [this] { return held_items(); };
            calls.prefetch = [this](const std::string& magnet) {
                try {
                    const auto [id, added] = add_item(params_from_magnet(magnet));
                    if (added) entries_.at(id).prefetched = true, save_index();
                } catch (const item_error& error) {
                    spdlog::warn("supernode: not pre-fetched: {}", error.what());
                }
            };
            agent_ = std::make_unique<supernode_agent>(io_, options_, session_, std::move(calls));
        }
    }

    int run() {
        control_->start();
        const auto bound = control_->local_endpoint();
        const std::string url = "http://" + endpoint_text(bound.address(), bound.port());
        core::write_file_atomically(options_.cache / "control.json", json{{"url", url}, {"token", token_}}.dump() + "\n", 0600);
        if (!options_.port_file.empty()) {
            core::write_file_atomically(options_.port_file, "bittorrent " + session_.listen_endpoint() + "\ncontrol " +
                                                                endpoint_text(bound.address(), bound.port()) + "\n");
        }
        spdlog::info("daemon: cache {} ({} of {} quota), control API at {} (token in {})", options_.cache.string(),
                     human_bytes(static_cast<double>(cache_bytes())), human_bytes(static_cast<double>(options_.quota_bytes)), url,
                     (options_.cache / "control.json").string());
        stop_signals_.on_stop([this](int) {
            stopping_ = true;
            timer_.cancel();
            control_->stop();
            for (auto& [id, entry] : entries_) {
                if (entry.stream) entry.stream->stop();
            }
            io_.stop();
        });
        apply_upload_rule();
        // News of near peers is weighed at once, not at the next tick: the new peers are
        // dialled, and a follower finds its gateway, then.
        session_.locality().on_news([this] {
            asio::post(io_, [this] {
                if (!stopping_) session_.poll();
            });
        });
        tick();
        io_.run();
        session_.locality().on_news({});
        // A .torrent still being fetched from a URL is given up at its deadline.
        fetcher_.stop();
        fetcher_.join();
        save_index();
        std::error_code ignored;
        fs::remove(options_.cache / "control.json", ignored);
        if (agent_) agent_->leave(2000ms);
        session_.leave_swarm(1500ms);
        spdlog::info("daemon stopped; {} {} in the cache", entries_.size(), entries_.size() == 1 ? "item" : "items");
        return 0;
    }

private:
    // Each item's files live in a folder of its own, named by its id (the info hash): two items
    // of the same name never share, or overwrite, a file.
    fs::path item_folder(const std::string& id) const { return options_.output / id; }

    // Caches written before items had folders of their own kept NAME in content/: it moves into
    // its item's folder, so that nothing is fetched again.
    void move_into_item_folder(const std::string& id, const lt::add_torrent_params& params) const {
        if (!params.ti) return;
        std::error_code error;
        const fs::path old_place = options_.output / params.ti->name();
        if (fs::exists(item_folder(id), error) || !fs::exists(old_place, error)) return;
        fs::create_directories(item_folder(id), error);
        fs::rename(old_place, item_folder(id) / params.ti->name(), error);
        if (error) spdlog::warn("cache: cannot move {} into {}: {}", old_place.string(), item_folder(id).string(), error.message());
    }

    // An item's folder once the item is gone: its copy of the metadata (.nearcast/, which a
    // fetch keeps beside what it writes) goes, and the folder too once it is empty (libtorrent
    // deletes the files in the background: then, or at the next start).
    void remove_item_folder(const std::string& id) const {
        forget_metadata_copy(id);
        std::error_code ignored;
        fs::remove(item_folder(id), ignored);
    }
    void forget_metadata_copy(const std::string& id) const {
        std::error_code ignored;
        fs::remove_all(item_folder(id) / ".nearcast", ignored);
    }

    static peer_options with_content_folder(peer_options options) {
        options.output = options.cache / "content";
        fs::create_directories(options.output);
        fs::create_directories(options.cache / "torrents");
        return options;
    }

    void load_index() {
        const auto path = options_.cache / "index.json";
        std::ifstream file(path);
        json index = json::object();
        std::error_code missing;
        if (!file && fs::exists(path, missing)) {
            spdlog::warn("{}: cannot be read ({}); the switches, limits, paused items and this month's upload it holds "
                         "are lost", path.string(), std::strerror(errno));
        }
        if (file) {
            try {
                index = json::parse(file);
            } catch (const std::exception& error) {
                spdlog::warn("{}: unreadable ({}); starting from the torrents folder alone",
                             (options_.cache / "index.json").string(), error.what());
            }
        }
        month_ = index.value("/usage/month"_json_pointer, month_of(unix_now()));
        uploaded_this_month_ = index.value("/usage/uploaded"_json_pointer, std::uint64_t{0});
        try {
            saved_limits_ = limits_from_json(index.value("limits", json::object()));
        } catch (const std::exception& error) {
            spdlog::warn("{}: the saved limits are unreadable ({}); using the configured ones",
                         (options_.cache / "index.json").string(), error.what());
        }
        if (month_ != month_of(unix_now())) month_ = month_of(unix_now()), uploaded_this_month_ = 0;
        for (const auto& file_entry : fs::directory_iterator(options_.cache / "torrents")) {
            if (file_entry.path().extension() != ".torrent") continue;
            const std::string id = file_entry.path().stem().string();
            try {
                auto params = params_from_torrent_file(file_entry.path().string());
                move_into_item_folder(id, params);
                const json saved = index.value("/items"_json_pointer, json::object()).value(id, json::object());
                cache_entry entry;
                entry.last_used_s = saved.value("last_used", unix_now());
                entry.paused = saved.value("paused", false);
                entry.prefetched = saved.value("prefetched", false);
                const json sources = saved.value("sources", json::object());
                entry.earlier = {sources.value("near", std::uint64_t{0}), sources.value("far", std::uint64_t{0}),
                                 sources.value("origin", std::uint64_t{0})};
                say_missing_files(id, params);
                entry.handle = session_.add(std::move(params), item_folder(id));
                if (entry.paused) entry.handle.pause();
                entries_[id] = std::move(entry);
            } catch (const std::exception& error) {
                spdlog::warn("{}: not resumed: {}", file_entry.path().string(), error.what());
            }
        }
        // Folders of removed items whose files libtorrent deleted after we last looked; a folder
        // with files but no metadata is said, as it counts against the quota.
        std::error_code error;
        for (const auto& folder : fs::directory_iterator(options_.output, error)) {
            const std::string id = folder.path().filename().string();
            if (!folder.is_directory(error)) {
                spdlog::warn("cache: {} is no item's ({} of the quota); items live in folders named by their "
                             "info hash, so nothing reads it until you delete it", folder.path().string(),
                             human_bytes(static_cast<double>(disk_usage(folder.path()))));
                continue;
            }
            if (entries_.count(id)) continue;
            forget_metadata_copy(id);  // left by an older version's remove
            if (fs::is_empty(folder.path(), error)) {
                remove_item_folder(id);
            } else {
                spdlog::warn("cache: {} holds {} of files but no item (no {}: removed with --keep-data, or its metadata "
                             "is gone); it counts against the quota until you delete it", folder.path().string(),
                             human_bytes(static_cast<double>(disk_usage(folder.path()))),
                             (options_.cache / "torrents" / (id + ".torrent")).string());
            }
        }
    }

    // The start-up check hashes what is on disk; a file that is not there at all (under its
    // name or as NAME.part) is said by name, as its pieces are fetched again.
    void say_missing_files(const std::string& id, const lt::add_torrent_params& params) const {
        if (!params.ti) return;
        const auto& files = params.ti->files();
        for (const auto index : files.file_range()) {
            if (files.pad_file_at(index) || files.file_size(index) == 0) continue;
            const fs::path path = item_folder(id) / files.file_path(index);
            std::error_code error;
            if (fs::exists(path, error) || fs::exists(path.string() + std::string(part_suffix), error)) continue;
            spdlog::warn("cache: {} is not on disk: {} of {} is fetched again", path.string(),
                         human_bytes(static_cast<double>(files.file_size(index))), params.ti->name());
        }
    }

    void save_index() const {
        json items = json::object();
        for (const auto& [id, entry] : entries_) {
            const auto from = downloaded_for(entry);
            items[id] = {{"last_used", entry.last_used_s}, {"paused", entry.paused}, {"prefetched", entry.prefetched},
                         {"sources", {{"near", from.near}, {"far", from.far}, {"origin", from.origin}}}};
        }
        try {
            core::write_file_atomically(options_.cache / "index.json",
                                  json{{"items", items},
                                       {"usage", {{"month", month_}, {"uploaded", uploaded_this_month_}}},
                                       {"limits", limits_to_json(saved_limits_)}}.dump(2) + "\n",
                                  0600);
        } catch (const std::exception& error) {
            spdlog::error("{}", error.what());
        }
    }

    // From the disk, not from what libtorrent says it verified: files written but not yet
    // verified, part files and anything left in content/ take space too.
    std::uint64_t cache_bytes() const { return disk_usage(options_.output); }

    // The same without the folders of removed items whose files libtorrent is still deleting
    // (it does so in the background): what the quota has to make room around.
    std::uint64_t bytes_staying() {
        std::uint64_t leaving = 0;
        for (auto at = deleting_.begin(); at != deleting_.end();) {
            std::error_code error;
            if (entries_.count(*at) || !fs::exists(item_folder(*at), error)) {
                at = deleting_.erase(at);  // gone, or fetched again since
                continue;
            }
            if (fs::is_empty(item_folder(*at), error) && !error) {
                remove_item_folder(*at);  // libtorrent has deleted the files now
                at = deleting_.erase(at);
                continue;
            }
            leaving += disk_usage(item_folder(*at));
            ++at;
        }
        const std::uint64_t total = cache_bytes();
        return total - std::min(total, leaving);
    }

    // Why nothing more can be evicted: the items in use, and files in content/ that are no item's
    // (kept by a remove with data=keep).
    std::string what_holds_the_cache() {
        std::uint64_t in_use = 0, items = 0;
        for (auto& [id, entry] : entries_) {
            const std::uint64_t bytes = disk_usage(item_folder(id));
            items += bytes;
            const item_status state = session_.status_of(entry.handle);
            if (entry.stream || (!state.complete && !entry.paused)) in_use += bytes;
        }
        const std::uint64_t total = bytes_staying();
        const std::uint64_t other = total > items ? total - items : 0;
        return human_bytes(static_cast<double>(in_use)) + " in items being downloaded or streamed, " +
               human_bytes(static_cast<double>(other)) + " in files of no item (kept by a remove with --keep-data, in " +
               options_.output.string() + ")";
    }

    // What the downloads under way will still write: room is made for it before it comes.
    std::uint64_t still_to_come() {
        std::uint64_t total = 0;
        for (auto& [id, entry] : entries_) {
            const item_status state = session_.status_of(entry.handle);
            if (state.complete || entry.paused || !entry.refused.empty() || !state.has_metadata) continue;
            const auto wanted = static_cast<std::uint64_t>(std::max<std::int64_t>(state.status.total_wanted, 0));
            total += wanted - std::min(wanted, disk_usage(item_folder(id)));
        }
        return total;
    }

    // Makes room for `incoming` bytes under the quota: least recently used first, never an item
    // being downloaded or streamed, never `keep`.
    void make_room(std::uint64_t incoming, const std::string& keep) {
        std::vector<cached_item> items;
        std::uint64_t counted = 0;
        for (auto& [id, entry] : entries_) {
            const std::uint64_t bytes = disk_usage(item_folder(id));
            counted += bytes;
            const item_status state = session_.status_of(entry.handle);
            // A refused item stays until the user removes it, to say why it is not there.
            const bool in_use = id == keep || entry.stream || !entry.refused.empty() || (!state.complete && !entry.paused);
            items.push_back({id, bytes, entry.last_used_s, in_use});
        }
        // What the disk holds beyond the items' folders (files kept by a remove with data=keep)
        // counts against the quota but is nothing to evict; what libtorrent is still deleting
        // is as good as gone.
        if (const std::uint64_t total = bytes_staying(); total > counted) items.push_back({"", total - counted, 0, true});
        for (const auto& id : evict_for(items, options_.quota_bytes, incoming)) {
            auto found = entries_.find(id);
            spdlog::info("cache: removing {} ({}), the least recently used, to stay under the {} quota",
                         session_.status_of(found->second.handle).status.name, id, human_bytes(static_cast<double>(options_.quota_bytes)));
            deleting_.insert(id);
            session_.remove(found->second.handle, true);
            std::error_code ignored;
            fs::remove(options_.cache / "torrents" / (id + ".torrent"), ignored);
            remove_item_folder(id);
            entries_.erase(found);
        }
    }

    // The upload rules of the command line and config file.
    upload_cap configured_cap() const { return {options_.monthly_cap_bytes, options_.upload_limit, options_.uploading}; }

    void apply_limits(const limit_change& change) {
        if (change.reset) {
            cap_ = configured_cap();
            set_download_limit(options_.download_limit);
        }
        if (change.upload_rate) cap_.rate_limit = *change.upload_rate;
        if (change.monthly_bytes) cap_.monthly_bytes = *change.monthly_bytes;
        if (change.uploading) cap_.uploading = *change.uploading;
        if (change.download_rate) set_download_limit(*change.download_rate);
        apply_upload_rule();
    }

    void set_download_limit(std::int64_t rate) {
        download_limit_ = rate;
        lt::settings_pack pack;
        pack.set_int(lt::settings_pack::download_rate_limit, static_cast<int>(std::min<std::int64_t>(rate, INT32_MAX)));
        session_.session().apply_settings(pack);
        say_whether_gateway();
    }

    // Whether this daemon may be its network's gateway, said in the handshakes of connections
    // made from now on.
    void say_whether_gateway() {
        session_.locality().set_may_be_gateway(
            peer::may_be_gateway(upload_rate_now(cap_, uploaded_this_month_), download_limit_));
    }

    json limits_json() const {
        return {{"uploading", cap_.uploading}, {"upload_limit", cap_.rate_limit}, {"download_limit", download_limit_},
                {"monthly_cap", cap_.monthly_bytes}, {"upload_now", applied_rate_}};
    }

    static json limits_to_json(const limit_change& limits) {
        json out = json::object();
        if (limits.upload_rate) out["upload_rate"] = *limits.upload_rate;
        if (limits.download_rate) out["download_rate"] = *limits.download_rate;
        if (limits.monthly_bytes) out["monthly_bytes"] = *limits.monthly_bytes;
        if (limits.uploading) out["uploading"] = *limits.uploading;
        return out;
    }

    // The saved limits, checked as the API checks them (a hand-edited index is input too).
    static limit_change limits_from_json(const json& saved) {
        if (!saved.is_object()) throw std::invalid_argument("\"limits\" is not an object");
        std::vector<std::pair<std::string, std::string>> parameters;
        const auto amount = [&](const char* key, const char* name, double unit) {
            if (!saved.contains(key)) return;
            if (!saved[key].is_number()) throw std::invalid_argument(std::string(key) + " is not a number");
            parameters.emplace_back(name, std::to_string(saved[key].get<double>() / unit));
        };
        amount("upload_rate", "upload_kb", 1000);
        amount("download_rate", "download_kb", 1000);
        amount("monthly_bytes", "monthly_cap_mb", 1e6);
        if (saved.contains("uploading")) {
            if (!saved["uploading"].is_boolean()) throw std::invalid_argument("uploading is not true or false");
            parameters.emplace_back("uploading", saved["uploading"].get<bool>() ? "on" : "off");
        }
        return parse_limit_change(parameters);
    }

    void apply_upload_rule() {
        const std::int64_t rate = upload_rate_now(cap_, uploaded_this_month_);
        const int slots = unchoke_slots(rate, session_.locality().admission().limit());
        if (rate == applied_rate_ && slots == applied_slots_) return rest_whole_items();
        lt::settings_pack pack;
        // No unchoked peer means no upload at all; a rate limit of 0 would mean "unlimited".
        pack.set_int(lt::settings_pack::unchoke_slots_limit, slots);
        // Nor may a choked peer ask for its "allowed fast" pieces (BEP 6), which libtorrent
        // serves to choked peers: with uploading off, none is offered.
        pack.set_int(lt::settings_pack::allowed_fast_set_size,
                     rate == 0 ? 0 : lt::default_settings().get_int(lt::settings_pack::allowed_fast_set_size));
        pack.set_int(lt::settings_pack::upload_rate_limit, rate > 0 ? static_cast<int>(std::min<std::int64_t>(rate, INT32_MAX)) : 0);
        session_.session().apply_settings(pack);
        session_.locality().set_uploads_off(rate == 0);
        say_whether_gateway();
        if (rate == 0 && applied_rate_ != 0) {
            // Peers connected before were told their allowed fast pieces already: they go, and
            // those that come back are told none.
            for (auto& [id, entry] : entries_) {
                if (!entry.paused) entry.handle.pause(), entry.handle.resume();
            }
        }
        if (rate != applied_rate_) {
            spdlog::info("upload: {}", rate == 0 ? (cap_.uploading ? "off until the month ends (monthly cap reached)" : "off (switched off)")
                                                 : rate < 0 ? std::string("unlimited") : human_bytes(static_cast<double>(rate)) + "/s");
        }
        applied_rate_ = rate;
        applied_slots_ = slots;
        rest_whole_items();
    }

    void tick() {
        session_.poll();
        const double now = steady_now_s();
        for (auto& [id, entry] : entries_) {
            const auto& status = session_.status_of(entry.handle).status;
            if (entry.sizing && status.has_metadata) size_magnet_item(id, entry, status);
            // At once, not at the next housekeeping: `fetch -o` reads it when the item is done.
            if (status.has_metadata && !entry.metadata_kept) keep_metadata_of(id, entry);
            if (entry.stream) entry.stream->update_pieces(status.pieces);
            // A paused item's meters wait; at its resume they skip the pause, so the rate and
            // ETA go on from before it rather than averaging the pause in. Both counters start
            // again at a resume (add_count).
            if (entry.paused) {
                if (!entry.paused_at_s) entry.paused_at_s = now;
                continue;
            }
            if (entry.paused_at_s) {
                for (auto* meter : {&entry.download_rate, &entry.upload_rate, &entry.progress}) meter->skip(now - *entry.paused_at_s);
                entry.paused_at_s.reset();
            }
            entry.download_rate.add_count(now, status.total_payload_download);
            entry.upload_rate.add_count(now, status.total_payload_upload);
            // Bytes found whole on disk at a start-up check are not progress: the ETA's meter
            // begins once the check is over.
            if (status.state == lt::torrent_status::checking_files || status.state == lt::torrent_status::checking_resume_data ||
                !status.has_metadata) {
                entry.progress = rate_meter{};
            } else {
                entry.progress.add(now, status.total_wanted_done);
            }
        }
        apply_upload_rule();  // a supernode's election changes its unchoke slots
        if (agent_ && ticks_ % 5 == 0) {
            // The tracker checks the port it is told: report once the listener is up.
            if (!agent_started_ && session_.session().listen_port() != 0) agent_->start(), agent_started_ = true;
            agent_->tick(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
        }
        if (++ticks_ % 25 == 0) housekeeping();  // every 5 s
        timer_.expires_after(200ms);
        timer_.async_wait([this](boost::system::error_code error) {
            if (!error && !stopping_) tick();
        });
    }

    // With uploading off a whole item has nothing to do in its swarm: it leaves (its trackers
    // hear "stopped"), so no near peer waits on a daemon that will never unchoke it (origin
    // deference gives a near seed up to 2 s to answer). It joins again when uploading is back.
    // A stream reads the files from disk and goes on.
    void rest_whole_items() {
        const bool off = applied_rate_ == 0;
        for (auto& [id, entry] : entries_) {
            if (off && !entry.paused && !entry.resting && session_.status_of(entry.handle).complete) {
                entry.handle.pause();
                entry.resting = true;
            } else if (entry.resting && (!off || entry.paused)) {
                if (!entry.paused) entry.handle.resume();
                entry.resting = false;
            }
        }
    }

    // A magnet's item downloads nothing (upload mode) until its metadata gives its size: one
    // larger than the whole quota, or with no room made for it, stops there and says why,
    // having evicted nothing it could never fit beside; the others get their room and go on.
    void size_magnet_item(const std::string& id, cache_entry& entry, const lt::torrent_status& status) {
        entry.sizing = false;
        const auto refusal = make_room_for(id, status.name, static_cast<std::uint64_t>(std::max<std::int64_t>(status.total_wanted, 0)));
        if (refusal.empty()) {
            entry.handle.unset_flags(lt::torrent_flags::upload_mode);
            return;
        }
        entry.refused = refusal + "; not downloaded: remove it, or fetch it with --no-daemon -o DIR";
        entry.handle.pause();
        spdlog::error("{}", entry.refused);
    }

    // Room for an item of `size` bytes under the quota, made by evicting the least recently
    // used (what a folder kept from an earlier time holds of it is there already); empty when
    // it fits, else why not: larger than the whole quota, or held by what cannot be evicted.
    std::string make_room_for(const std::string& id, const std::string& name, std::uint64_t size) {
        if (auto refusal = larger_than_quota(name, size); !refusal.empty()) return refusal;
        const std::string what = name + " (" + human_bytes(static_cast<double>(size)) + ")";
        const std::string quota = human_bytes(static_cast<double>(options_.quota_bytes));
        const std::uint64_t incoming = size - std::min(size, disk_usage(item_folder(id)));
        make_room(incoming, id);
        if (const std::uint64_t used = bytes_staying(); used + incoming > options_.quota_bytes) {
            return "no room for " + what + " under the cache's quota of " + quota + ": " + human_bytes(static_cast<double>(used)) +
                   " of it is held by " + what_holds_the_cache();
        }
        return {};
    }

    std::string larger_than_quota(const std::string& name, std::uint64_t size) const {
        if (size <= options_.quota_bytes) return {};
        return name + " (" + human_bytes(static_cast<double>(size)) + ") is larger than the cache's quota of " +
               human_bytes(static_cast<double>(options_.quota_bytes)) + " (--quota-mb)";
    }

    void housekeeping() {
        const auto up = session_.locality().counters.uploaded();
        const std::uint64_t total = up.total();
        uploaded_this_month_ += total - counted_upload_;
        counted_upload_ = total;
        if (const std::string now = month_of(unix_now()); now != month_) month_ = now, uploaded_this_month_ = 0;
        apply_upload_rule();
        const std::uint64_t coming = still_to_come();
        make_room(coming, {});  // magnet items learn their size late
        // What could not be evicted (items in use, files kept from removed items) may still
        // exceed the quota: said once, until it fits again.
        const std::uint64_t used = bytes_staying();
        if (used + coming > options_.quota_bytes && !over_quota_) {
            spdlog::warn("cache: {} on disk and {} still to come, over the quota of {}: held by {}", human_bytes(static_cast<double>(used)),
                         human_bytes(static_cast<double>(coming)), human_bytes(static_cast<double>(options_.quota_bytes)),
                         what_holds_the_cache());
        }
        over_quota_ = used + coming > options_.quota_bytes;
        // Files in the cache that are no item's (kept by a remove with data=keep): counted
        // against the quota, so /status and list say how much.
        std::uint64_t items = 0;
        for (const auto& [id, entry] : entries_) items += disk_usage(item_folder(id));
        other_bytes_ = used > items ? used - items : 0;
        keep_metadata();
        save_index();
    }

    // A magnet item (asked for, or pre-fetched as a supernode) is resumed after a restart
    // like any other once its metadata is kept beside the others.
    void keep_metadata() {
        for (auto& [id, entry] : entries_) keep_metadata_of(id, entry);
    }
    void keep_metadata_of(const std::string& id, cache_entry& entry) {
        if (entry.metadata_kept) return;
        const fs::path kept = options_.cache / "torrents" / (id + ".torrent");
        const auto info = entry.handle.torrent_file();
        if (!info) return;
        std::error_code ignored;
        if (fs::exists(kept, ignored)) {
            entry.metadata_kept = true;
            return;
        }
        try {
            save_torrent(id, *info);
            entry.metadata_kept = true;
        } catch (const std::exception& error) {
            spdlog::warn("{}", error.what());
        }
    }

    void save_torrent(const std::string& id, const lt::torrent_info& info) const {
        lt::create_torrent maker(info);
        std::string bytes;
        lt::bencode(std::back_inserter(bytes), maker.generate());
        core::write_file_atomically(options_.cache / "torrents" / (id + ".torrent"), bytes);
    }

    // Complete as the daemon reports it: every piece of every file verified and under its name.
    bool item_complete(const cache_entry& entry) {
        return session_.status_of(entry.handle).complete && every_file_wanted_or_whole(entry.handle);
    }

    std::vector<held_item> held_items() {
        std::vector<held_item> out;
        for (auto& [id, entry] : entries_) {
            const auto hashes = entry.handle.info_hashes();
            const lt::sha1_hash v2 = hashes.has_v2() ? lt::sha1_hash(hashes.v2.data()) : lt::sha1_hash();
            out.push_back({id, hashes.has_v1() ? hashes.v1 : v2, hashes.has_v1() ? v2 : lt::sha1_hash(), item_complete(entry)});
        }
        return out;
    }

    // Adds an item to the cache (or marks it used again); true when it is new. Asked for by a
    // user (`recheck_held`), an item held complete is checked on disk again before it is
    // reported complete: its files may have been changed behind the daemon's back.
    std::pair<std::string, bool> add_item(lt::add_torrent_params params, bool recheck_held = false, bool for_stream = false) {
        const std::string id = item_id(params.ti ? params.ti->info_hashes() : params.info_hashes);
        if (auto found = entries_.find(id); found != entries_.end()) {
            // Held from before a smaller quota: the next round of eviction takes it, so it is
            // refused as a new one would be, not reported complete and then removed.
            if (const auto info = found->second.handle.torrent_file()) {
                if (auto refusal = larger_than_quota(info->name(), static_cast<std::uint64_t>(info->total_size())); !refusal.empty()) {
                    throw item_error(refusal);
                }
            }
            found->second.last_used_s = unix_now();
            if (recheck_held && item_complete(found->second)) {
                session_.recheck(found->second.handle);
                spdlog::info("{}: asked for again: every piece on disk is checked before it is reported complete", id);
            }
            if (found->second.paused && found->second.refused.empty()) found->second.handle.resume(), found->second.paused = false;
            // Asked for whole: a stream had narrowed it to the file it plays.
            if (!for_stream && found->second.handle.torrent_file() && !every_file_wanted_or_whole(found->second.handle)) {
                session_.want_every_file(found->second.handle);
                spdlog::info("{}: every file wanted again (a stream had asked for one)", id);
            }
            return {id, false};
        }
        if (params.ti) {
            if (const auto refusal = make_room_for(id, params.ti->name(), static_cast<std::uint64_t>(params.ti->total_size()));
                !refusal.empty()) {
                throw item_error(refusal);
            }
            save_torrent(id, *params.ti);
        }
        cache_entry entry;
        entry.last_used_s = unix_now();
        if (!params.ti) {
            params.flags |= lt::torrent_flags::upload_mode;  // no piece before its size is known (size_magnet_item)
            entry.sizing = true;
        }
        entry.handle = session_.add(std::move(params), item_folder(id));
        entries_[id] = std::move(entry);
        save_index();
        return {id, true};
    }

    // A .torrent at an http(s) URL: fetched on the worker thread (the io thread never waits
    // on the network), then added here; the request is answered then.
    control_answer fetch_from_url(const std::string& url) {
        control_answer answer;
        answer.later = [this, url](std::function<void(control_answer)> reply) {
            asio::post(fetcher_, [this, url, reply = std::move(reply)]() mutable {
                std::string bytes, problem;
                try {
                    bytes = http_get(url, 20s, 16 * 1024 * 1024);
                } catch (const std::exception& error) {
                    problem = error.what();
                }
                asio::post(io_, [this, url, bytes = std::move(bytes), problem = std::move(problem), reply = std::move(reply)] {
                    if (!problem.empty()) return reply({502, json{{"error", problem}}.dump()});
                    try {
                        const auto [id, added] = add_item(params_from_torrent(bytes, url), true);
                        if (added) spdlog::info("fetch {} from {} asked through the control API", id, url);
                        reply({200, json{{"id", id}, {"added", added}}.dump()});
                    } catch (const std::exception& error) {
                        reply({400, json{{"error", error.what()}}.dump()});
                    }
                });
            });
        };
        return answer;
    }

    cache_entry& entry_for(const std::string& query) {
        const auto id = query_value(query, "id");
        if (!id) throw item_error("give the item as ?id=HASH");
        const auto found = entries_.find(*id);
        if (found == entries_.end()) throw item_error("no item " + *id + " in the cache");
        return found->second;
    }

    // What the daemon downloaded for an item, by source, in this run and the earlier ones.
    bytes_by_source downloaded_for(const cache_entry& entry) const {
        auto from = session_.locality().downloaded_by(entry.handle);
        from += entry.earlier;
        return from;
    }

    // The bytes of an item's files (pad files left out).
    static std::int64_t item_bytes(const lt::torrent_handle& handle) {
        const auto info = handle.torrent_file();
        if (!info) return 0;
        std::int64_t total = 0;
        const auto& files = info->files();
        for (const auto index : files.file_range()) {
            if (!files.pad_file_at(index)) total += files.file_size(index);
        }
        return total;
    }

    // Where the item is on disk now: a single file not yet verified is NAME.part.
    static std::string path_on_disk(const fs::path& final_path, bool complete) {
        std::error_code ignored;
        const fs::path part = final_path.string() + std::string(part_suffix);
        return !complete && fs::is_regular_file(part, ignored) ? part.string() : final_path.string();
    }

    json describe(const std::string& id, const cache_entry& entry) {
        item_status state = session_.status_of(entry.handle);
        const auto& status = state.status;
        // Only the file a stream asked for is whole: "partial", not complete.
        const bool partial = state.complete && !every_file_wanted_or_whole(entry.handle);
        if (partial) state.complete = false;
        std::string phase = !entry.refused.empty() ? "error" : entry.paused ? "paused" : !state.has_metadata ? "metadata"
                            : status.state == lt::torrent_status::checking_files ? "checking"
                            : partial ? "partial"
                            : state.complete ? (entry.resting ? "complete" : "seeding") : "downloading";
        const auto from = downloaded_for(entry);
        // A finished or paused item downloads nothing more: no average fading out over seconds.
        const double rate = entry.paused || state.complete ? 0 : std::max(entry.download_rate.rate(), 0.0);
        // A partial item's progress is over the whole item (what a stream left out is not
        // done), and it has no ETA: nothing more is being fetched until it is asked for whole.
        const double eta = entry.paused || !state.has_metadata || partial ? -1 : entry.progress.eta(status.total_wanted);
        return {{"id", id}, {"name", status.name}, {"state", phase}, {"complete", state.complete},
                {"bytes_done", partial ? status.total_done : status.total_wanted_done}, {"bytes_wanted", partial ? item_bytes(entry.handle) : status.total_wanted},
                {"rate", std::llround(rate)}, {"upload_rate", std::llround(entry.paused ? 0 : std::max(entry.upload_rate.rate(), 0.0))},
                {"eta", state.complete ? 0 : eta < 0 ? -1 : std::llround(std::ceil(eta))}, {"sources", {{"near", from.near}, {"far", from.far}, {"origin", from.origin}}},
                {"uploaded", status.all_time_upload}, {"prefetched", entry.prefetched},
                {"peers", status.num_peers}, {"error", entry.refused.empty() ? state.error : entry.refused},
                {"last_used", entry.last_used_s}, {"path", path_on_disk(item_folder(id) / status.name, state.complete)},
                {"stream", entry.stream ? entry.stream->url() : ""}};
    }

    control_answer handle(const control_request& request) {
        const auto& [method, path, query, body] = request;
        if ((method == "GET" || method == "HEAD") && path == "/status") {  // HEAD: the same head, no body
            json items = json::array();
            for (auto& [id, entry] : entries_) items.push_back(describe(id, entry));
            const auto down = session_.locality().counters.downloaded();
            return {200, json{{"items", items},
                              {"uploading", cap_.uploading}, {"upload_limit", cap_.rate_limit}, {"download_limit", download_limit_},
                              {"monthly_cap", cap_.monthly_bytes}, {"uploaded_this_month", uploaded_this_month_},
                              {"upload_now", applied_rate_},
                              {"downloaded", {{"near", down.near}, {"far", down.far}, {"origin", down.origin}}},
                              {"downloaded_by_as", session_.locality().downloaded_by_as_text()},
                              {"supernode", agent_ ? agent_->status() : json(nullptr)},
                              {"cache_bytes", cache_bytes()}, {"other_bytes", other_bytes_}, {"quota", options_.quota_bytes}}.dump()};
        }
        static const std::set<std::string> posts{"/fetch", "/limits", "/pause", "/resume", "/remove", "/stream"};
        if (path != "/status" && !posts.count(path)) {
            return {404, json{{"error", "no " + path + " here: GET /status; POST /fetch, /pause, /resume, /remove, /limits, /stream"}}.dump()};
        }
        if (method != (path == "/status" ? "GET" : "POST")) {
            control_answer refused(405, json{{"error", "use " + std::string(path == "/status" ? "GET " : "POST ") + path}}.dump());
            refused.allow = path == "/status" ? "GET, HEAD" : "POST";
            return refused;
        }
        if (path == "/fetch") {
            if (body.starts_with("http://") || body.starts_with("https://")) return fetch_from_url(body);
            auto params = body.starts_with("magnet:") ? params_from_magnet(body) : params_from_torrent(body, "the item sent to /fetch");
            // A stream asks for one file (/stream narrows the item to it): what it left out is
            // not asked for again.
            const auto [id, added] = add_item(std::move(params), true, query_value(query, "for").value_or("") == "stream");
            if (added) spdlog::info("fetch {} asked through the control API", id);
            return {200, json{{"id", id}, {"added", added}}.dump()};
        }
        if (path == "/limits") {
            // Every value is checked before any is applied: a bad one changes nothing.
            const limit_change change = parse_limit_change(query_pairs(query));
            if (!change.empty()) {
                apply_limits(change);
                // Kept in the index: a restart keeps what the user chose (a reset is not kept:
                // it leaves nothing to keep but what it set with it).
                saved_limits_ = merge(saved_limits_, change);
                saved_limits_.reset = false;
                save_index();
                spdlog::info("limits changed through the control API: {}", limits_json().dump());
            }
            return {200, limits_json().dump()};
        }
        // An item the cache does not hold is a resource that is not there: 404, not 400.
        if (const auto id = query_value(query, "id"); id && !entries_.count(*id)) {
            return {404, json{{"error", "no item " + *id + " in the cache"}}.dump()};
        }
        cache_entry& entry = entry_for(query);
        entry.last_used_s = unix_now();
        if (path == "/pause") {
            entry.handle.pause();
            entry.paused = true;
        } else if (path == "/resume") {
            if (!entry.refused.empty()) return {409, json{{"error", entry.refused}}.dump()};
            entry.handle.resume();
            entry.paused = false;
            rest_whole_items();  // whole, with uploading off: out of its swarm again at once
        } else if (path == "/remove") {
            const std::string id = *query_value(query, "id");
            // data=keep forgets the item and leaves its files where they are; data=delete (the
            // default) deletes them too.
            const std::string data = query_value(query, "data").value_or("delete");
            if (data != "keep" && data != "delete") return {400, json{{"error", "data=" + data + ": give keep or delete"}}.dump()};
            if (entry.stream) entry.stream->stop();
            if (data == "delete") deleting_.insert(id);
            session_.remove(entry.handle, data == "delete");
            std::error_code ignored;
            fs::remove(options_.cache / "torrents" / (id + ".torrent"), ignored);
            if (data == "delete") remove_item_folder(id);
            else forget_metadata_copy(id);
            entries_.erase(id);
            save_index();
            spdlog::info("removed {} through the control API{}", id, data == "keep" ? ", its files kept in " + item_folder(id).string() : "");
            return {200, json{{"removed", id}, {"data", data == "keep" ? "kept" : "deleted"}}.dump()};
        } else if (path == "/stream") {
            if (!entry.handle.torrent_file()) return {409, R"({"error":"no metadata yet: ask again in a moment"})"};
            // The file is checked even when a stream runs already (it serves one file).
            const std::string file_text = query_value(query, "file").value_or("-1");
            int file = -1;
            const auto [end, failed] = std::from_chars(file_text.data(), file_text.data() + file_text.size(), file);
            if (failed != std::errc() || end != file_text.data() + file_text.size() || file < -1) {
                return {400, json{{"error", "file=" + file_text + ": give a file's number, from 0, or -1 for the largest"}}.dump()};
            }
            if (const int count = entry.handle.torrent_file()->orig_files().num_files(); file >= count) {
                return {400, json{{"error", "file=" + file_text + ": " + entry.handle.torrent_file()->name() + " has " +
                                                std::to_string(count) + " file" + (count == 1 ? "" : "s") + " (numbers from 0)"}}.dump()};
            }
            if (!entry.stream) {
                session_.keep_origin(entry.handle);
                entry.stream = std::make_unique<stream_server>(io_, parse_endpoint(options_.listen_http, "--listen-http"),
                                                               choose_file(entry.handle, item_folder(*query_value(query, "id")), file), options_.window);
                entry.stream->start();
            }
            return {200, json{{"url", entry.stream->url()}, {"ready", entry.stream->head_ready()}}.dump()};
        } else {
            return {404, R"({"error":"unknown request: /status, /fetch, /pause, /resume, /remove, /limits, /stream"})"};
        }
        save_index();
        return {200, describe(*query_value(query, "id"), entry).dump()};
    }

    peer_options options_;
    proximity::model routing_;
    peer_session session_;
    asio::io_context io_;
    asio::steady_timer timer_;
    core::stop_signals stop_signals_;
    std::unique_ptr<control_server> control_;
    std::unique_ptr<supernode_agent> agent_;
    bool agent_started_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::string token_;
    std::map<std::string, cache_entry> entries_;
    asio::thread_pool fetcher_{1};  // .torrent files fetched from URLs
    upload_cap cap_;
    std::int64_t download_limit_ = 0;  // bytes/s, 0: none
    limit_change saved_limits_;        // what the control API changed, kept across runs
    std::string month_;
    std::uint64_t uploaded_this_month_ = 0;
    std::uint64_t counted_upload_ = 0;
    std::int64_t applied_rate_ = -2;
    int applied_slots_ = -1;
    unsigned ticks_ = 0;
    bool stopping_ = false;
    bool over_quota_ = false;
    std::uint64_t other_bytes_ = 0;  // in the cache but no item's, as the last housekeeping found
    std::set<std::string> deleting_;   // items removed with their files, until the files are gone
};

}  // namespace

int daemon_command(const peer_options& options) {
    core::require_folder(options.cache, "--cache");
    if (const auto running = find_daemon(options.cache)) {
        throw item_error(options.cache.string() + ": a daemon already runs for this cache, at " + running->url);
    }
    peer_daemon daemon(options, load_routing(options.data));
    return daemon.run();
}

}  // namespace nearcast::peer::client
