#include "peer_session.hpp"

#include <libtorrent/alert_types.hpp>
#include <sys/statvfs.h>
#include <unistd.h>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/extensions/smart_ban.hpp>
#include <libtorrent/extensions/ut_metadata.hpp>
#include <libtorrent/hex.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/peer_class.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "http_fetch.hpp"
#include "nearcast/core/atomic_file.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/peer/item_source.hpp"

namespace fs = std::filesystem;

namespace nearcast::peer::client {

namespace {

bool is_wildcard(const lt::address& address) { return address.is_unspecified(); }

// NEARCAST_WIRE_LOG's value when it names something (a debugging aid, below), else null.
const char* wire_log_prefix() {
    const char* prefix = std::getenv("NEARCAST_WIRE_LOG");
    return prefix && *prefix ? prefix : nullptr;
}

lt::settings_pack settings_for(const peer_options& options) {
    const auto bind = parse_endpoint(options.listen_bittorrent, "--listen-bittorrent");
    lt::settings_pack pack;
    pack.set_str(lt::settings_pack::listen_interfaces, endpoint_text(bind.address(), bind.port()));
    // --listen-bittorrent's port or none: libtorrent would otherwise try the next ten ports, then any, and listen where
    // no --port-file, tracker or fellow expects it.
    pack.set_int(lt::settings_pack::max_retry_port_bind, 0);
    pack.set_bool(lt::settings_pack::listen_system_port_fallback, false);
    if (!is_wildcard(bind.address())) pack.set_str(lt::settings_pack::outgoing_interfaces, bind.address().to_string());
    pack.set_str(lt::settings_pack::user_agent, "nearcast-peer/0.1");
    pack.set_str(lt::settings_pack::peer_fingerprint, "-NP0001-");
    pack.set_bool(lt::settings_pack::enable_dht, options.dht);
    pack.set_bool(lt::settings_pack::enable_lsd, false);
    pack.set_bool(lt::settings_pack::enable_upnp, false);
    pack.set_bool(lt::settings_pack::enable_natpmp, false);
    pack.set_int(lt::settings_pack::alert_mask, lt::alert_category::error | lt::alert_category::status |
                                                    lt::alert_category::storage | lt::alert_category::tracker |
                                                    lt::alert_category::ip_block |
                                                    (wire_log_prefix() ? lt::alert_category::peer_log : lt::alert_category_t{}));
    if (wire_log_prefix()) pack.set_int(lt::settings_pack::alert_queue_size, 1'000'000);
    pack.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(std::min<std::int64_t>(options.upload_limit, INT32_MAX)));
    pack.set_int(lt::settings_pack::download_rate_limit, static_cast<int>(std::min<std::int64_t>(options.download_limit, INT32_MAX)));
    // A desktop client downloads one item at full speed: nothing queued behind it.
    pack.set_int(lt::settings_pack::active_downloads, -1);
    pack.set_int(lt::settings_pack::active_seeds, -1);
    pack.set_int(lt::settings_pack::active_limit, -1);
    // Announce again soon after a failure, so a tracker that comes back is found quickly.
    pack.set_int(lt::settings_pack::tracker_backoff, 50);
    pack.set_int(lt::settings_pack::min_announce_interval, 1);
    // Pieces are requested from many peers at once on loopback-fast links; keep pipes full.
    pack.set_int(lt::settings_pack::max_out_request_queue, 1500);
    pack.set_int(lt::settings_pack::send_buffer_watermark, 4 * 1024 * 1024);
    // TCP out: uTP's LEDBAT yields to other traffic by design and holds a fast path to a few
    // tens of MB/s; incoming uTP is still accepted from clients that prefer it.
    pack.set_bool(lt::settings_pack::enable_outgoing_utp, false);
    pack.set_int(lt::settings_pack::stop_tracker_timeout, 2);
    // A peer that leaves the origin alone for a while (origin_deference) connects to it again
    // within seconds, not libtorrent's default minute.
    pack.set_int(lt::settings_pack::min_reconnect_time, 2);
    return pack;
}

}  // namespace

proximity::model load_routing(const std::string& data) {
    std::string source = data;
    if (source.empty()) {
        if (const char* env = std::getenv("NEARCAST_PROX_DATA"); env && *env) source = env;
    }
    if (source.empty()) {
        if (const auto snapshot = core::default_snapshot(NEARCAST_DEFAULT_SNAPSHOT, NEARCAST_INSTALLED_SNAPSHOT)) source = snapshot->string();
        if (source.empty()) throw std::runtime_error("no proximity data: give --data (the default snapshot is not installed)");
    }
    if (source.starts_with("http://") || source.starts_with("https://")) {
        const std::string bytes = http_get(source, std::chrono::seconds(30), 512ull * 1024 * 1024);
        return proximity::model::parse_snapshot(bytes, source);
    }
    return proximity::model::load({source});
}

// A write into a full disk reaches libtorrent as ENOSPC, or, through its memory-mapped files,
// as a fault ("Bad address"): either way the user is told the disk is full when it is.
std::string storage_error_text(const std::string& error, const fs::path& save_path) {
    struct statvfs space{};
    if (::statvfs(save_path.c_str(), &space) != 0) return error;
    const double free_bytes = static_cast<double>(space.f_bavail) * static_cast<double>(space.f_frsize);
    if (free_bytes >= 1024.0 * 1024 || error.find("No space left on device") != std::string::npos) return error;
    return error + " (No space left on device: " + save_path.string() + " is full)";
}

fs::path metadata_file(const fs::path& output, const lt::info_hash_t& hashes) {
    return output / ".nearcast" / (item_id(hashes) + ".torrent");
}

peer_session::peer_session(const peer_options& options, const proximity::model& routing)
    : options_(options),
      routing_(routing),
      locality_(std::make_shared<locality_state>(routing, options.locality_rules, options.locality)),
      session_(lt::session_params(settings_for(options), {})) {
    // A debugging aid: every peer connection's messages, as libtorrent logs them, written to
    // NEARCAST_WIRE_LOG.PID (one file per process; it grows quickly: for tracing one run).
    if (const char* wire_log = wire_log_prefix()) {
        const std::string path = std::string(wire_log) + "." + std::to_string(::getpid());
        wire_log_ = std::make_unique<std::ofstream>(path, std::ios::app);
        if (!*wire_log_) throw std::runtime_error("NEARCAST_WIRE_LOG: cannot write to " + path);
    }
    session_.add_extension(&lt::create_ut_metadata_plugin);
    session_.add_extension(&lt::create_smart_ban_plugin);
    session_.add_extension(make_locality_plugin(locality_));
    locality_->set_defers(options.locality && options.deference.hold_at > 0);
    const auto bind = parse_endpoint(options.listen_bittorrent, "--listen-bittorrent");
    if (!options.public_ip.empty()) {
        const auto address = proximity::ip_address::parse(options.public_ip);
        if (!address) throw std::runtime_error("--public-ip: '" + options.public_ip + "' is not an IP address");
        locality_->set_self(address);
    } else if (!is_wildcard(bind.address())) {
        locality_->set_self(to_proximity(bind.address()));
    }
    for (const auto& origin : options.origins) {
        const auto address = proximity::ip_address::parse(origin);
        if (!address) throw std::runtime_error("--origin: '" + origin + "' is not an IP address");
        locality_->add_origin(*address);
    }
    // Upload or download limited by the user: this peer tells its near peers it is no gateway.
    locality_->set_may_be_gateway(may_be_gateway(options.upload_limit > 0 ? options.upload_limit : -1, options.download_limit));
    near_class_ = session_.create_peer_class("near");
    far_class_ = session_.create_peer_class("far");
    origin_class_ = session_.create_peer_class("origin");
    lt::peer_class_info far = session_.get_peer_class(far_class_);
    far.upload_limit = static_cast<int>(std::min<std::int64_t>(options.far_upload_limit, INT32_MAX));
    far.download_limit = static_cast<int>(std::min<std::int64_t>(options.far_download_limit, INT32_MAX));
    session_.set_peer_class(far_class_, far);
    if (options.locality) apply_peer_classes();
    wait_until_listening();
}

void peer_session::wait_until_listening() {
    // Before anything is added: a port in use is a start-up error, not a download that fails.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
        session_.wait_for_alert(std::chrono::milliseconds(50));
        std::vector<lt::alert*> alerts;
        session_.pop_alerts(&alerts);
        bool listening = false;
        for (auto* alert : alerts) {
            if (auto* failed = lt::alert_cast<lt::listen_failed_alert>(alert)) {
                const std::string where = endpoint_text(failed->address, static_cast<std::uint16_t>(failed->port));
                // libtorrent names each address a wildcard stands for: say what was asked too.
                const std::string asked = where == options_.listen_bittorrent ? "" : "--listen-bittorrent " + options_.listen_bittorrent + ", ";
                const std::string problem = "cannot listen for BitTorrent on " + where + " (" + asked +
                                            (failed->socket_type == lt::socket_type_t::utp ? "uTP over UDP): " : "TCP): ") +
                                            failed->error.message();
                // The usual port is taken (another fetch, a daemon, another client): peers
                // learn our port from the tracker, so any free one on the same address will
                // do. A port the user named is theirs to change.
                const auto bind = parse_endpoint(options_.listen_bittorrent, "--listen-bittorrent");
                if (options_.listen_bittorrent_given || bind.port() == 0) throw core::listen_error(problem);
                options_.listen_bittorrent = endpoint_text(bind.address(), 0);
                spdlog::info("{}; listening on a free port instead", problem);
                lt::settings_pack pack;
                pack.set_str(lt::settings_pack::listen_interfaces, options_.listen_bittorrent);
                session_.apply_settings(std::move(pack));
                listening = false;
                break;
            }
            if (auto* succeeded = lt::alert_cast<lt::listen_succeeded_alert>(alert)) {
                listening = listening || succeeded->socket_type == lt::socket_type_t::tcp;
            } else {
                handle_alert(alert);
            }
        }
        if (listening) return;
    }
    throw core::listen_error("cannot listen for BitTorrent on " + options_.listen_bittorrent + ": no answer from libtorrent in 10 s");
}

peer_session::~peer_session() = default;

// Every address gets the global class (the session's own limits) and one of near, far or
// origin; the filter is rebuilt when the own address becomes known.
void peer_session::apply_peer_classes() {
    const auto self = locality_->self();
    const auto bit = [](lt::peer_class_t cls) { return std::uint32_t{1} << static_cast<std::uint32_t>(cls); };
    const std::uint32_t global = bit(lt::session::global_peer_class_id);
    lt::ip_filter filter;
    filter.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global | bit(far_class_));
    filter.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
                    global | bit(far_class_));
    std::size_t near_count = 0;
    if (self) {
        for (const auto& prefix : near_prefixes(routing_, *self, options_.locality_rules)) {
            const proximity::ip_address first = prefix.network;
            proximity::ip_address last;
            if (first.is_v4()) {
                const std::uint32_t host = prefix.length >= 32 ? 0 : (~std::uint32_t{0} >> prefix.length);
                last = proximity::ip_address::v4(first.v4_bits() | host);
            } else {
                const proximity::uint128 host = prefix.length >= 128 ? 0 : (~proximity::uint128{0} >> prefix.length);
                last = proximity::ip_address::v6(first.v6_bits() | host);
            }
            filter.add_rule(lt::make_address(first.to_string()), lt::make_address(last.to_string()), global | bit(near_class_));
            ++near_count;
        }
    }
    for (const auto& origin : locality_->origins()) {
        const lt::address address = lt::make_address(origin.to_string());
        filter.add_rule(address, address, global | bit(origin_class_));
    }
    // A supernode's fellows, as the tracker names them: the relay among supernodes crosses AS
    // borders and is never held to the far limits. (libtorrent classes a connection when it
    // opens: the tracker names the fellows before the supernode connects to them.)
    for (const auto& fellow : fellows_) {
        const lt::address address = lt::make_address(fellow.to_string());
        filter.add_rule(address, address, global | bit(near_class_));
    }
    session_.set_peer_class_filter(filter);
    spdlog::debug("peer classes: {} near prefixes around {}", near_count, self ? self->to_string() : "an unknown address");
}

void peer_session::set_fellows(std::vector<proximity::ip_address> fellows) {
    std::sort(fellows.begin(), fellows.end());
    if (fellows == fellows_) return;
    fellows_ = std::move(fellows);
    if (options_.locality) apply_peer_classes();
}

void peer_session::add_origin_hosts(const lt::torrent_info& info) {
    for (const auto& seed : info.web_seeds()) {
        const std::string& url = seed.url;
        const std::size_t start = url.find("://");
        if (start == std::string::npos) continue;
        std::string host = url.substr(start + 3, url.find_first_of("/", start + 3) - (start + 3));
        if (!host.empty() && host.front() == '[') host = host.substr(1, host.find(']') - 1);
        else host = host.substr(0, host.find(':'));
        if (const auto address = proximity::ip_address::parse(host)) locality_->add_origin(*address);
    }
}

namespace {

// Each file of an item: whether it is wanted (a stream leaves the others out) and whether
// every piece of it is verified.
struct file_state {
    bool wanted = true;
    bool whole = false;
};
std::vector<file_state> file_states(const lt::torrent_handle& handle, const lt::file_storage& files) {
    const auto priorities = handle.get_file_priorities();
    std::vector<std::int64_t> verified;
    handle.file_progress(verified, lt::torrent_handle::piece_granularity);
    std::vector<file_state> out;
    for (const auto index : files.file_range()) {
        const auto at = static_cast<std::size_t>(static_cast<int>(index));
        out.push_back({at >= priorities.size() || priorities[at] > lt::dont_download,
                       at < verified.size() && verified[at] >= files.file_size(index)});
    }
    return out;
}

// The files of an item are written as NAME.part until every piece is verified: a download that
// stopped or failed never leaves a file under its final name (and, sparse, at its full apparent
// size). A file already under its final name with no NAME.part beside it was finished by an
// earlier run: it keeps its name, and libtorrent hashes it like anything else on disk.
std::map<lt::file_index_t, std::string> part_names(const lt::torrent_info& info, const fs::path& save_path) {
    std::map<lt::file_index_t, std::string> out;
    const auto& files = info.orig_files();
    for (const auto index : files.file_range()) {
        if (files.pad_file_at(index)) continue;
        const std::string name = files.file_path(index);
        std::error_code error;
        const fs::path final_path = save_path / name;
        if (fs::exists(final_path, error) && !fs::exists(fs::path(final_path.string() + std::string(part_suffix)), error)) continue;
        out[index] = name + std::string(part_suffix);
    }
    return out;
}

}  // namespace

lt::torrent_handle peer_session::add(lt::add_torrent_params params, const fs::path& save_path) {
    // A magnet link whose metadata an earlier run received: start from the kept metadata.
    if (!params.ti) {
        const fs::path kept = metadata_file(save_path, params.info_hashes);
        if (fs::exists(kept)) {
            try {
                params.ti = params_from_torrent_file(kept.string()).ti;
            } catch (const item_error& error) {
                spdlog::warn("{}; fetching the metadata again", error.what());
            }
        }
    }
    tracked_item item(backstop(options_.backstop), save_path);
    if (params.ti) {
        params.renamed_files = part_names(*params.ti, save_path);
        add_origin_hosts(*params.ti);
        for (const auto& seed : params.ti->web_seeds()) item.withheld_web_seeds.push_back(seed.url);
        params.ti->set_web_seeds({});
    }
    item.withheld_web_seeds.insert(item.withheld_web_seeds.end(), params.url_seeds.begin(), params.url_seeds.end());
    params.url_seeds.clear();
    if (options_.locality) apply_peer_classes();
    params.save_path = save_path.string();
    params.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
    // With no resume data, libtorrent hashes whatever is already on disk before downloading:
    // after a crash every verified piece is found again and nothing unverified is trusted.
    lt::error_code error;
    item.handle = session_.add_torrent(std::move(params), error);
    if (error) throw std::runtime_error("cannot add the item: " + error.message());
    if (!handle_.is_valid()) handle_ = item.handle;
    items_.push_back(std::move(item));
    return items_.back().handle;
}

lt::torrent_handle peer_session::add(lt::add_torrent_params params) { return add(std::move(params), options_.output); }

void peer_session::remove(const lt::torrent_handle& handle, bool delete_files) {
    std::erase_if(items_, [&](const tracked_item& item) { return item.handle == handle; });
    locality_->forget_origin(handle);
    locality_->forget_item(handle);
    if (handle == handle_) handle_ = {};
    session_.remove_torrent(handle, delete_files ? lt::session::delete_files : lt::remove_flags_t{});
}

peer_session::tracked_item* peer_session::find(const lt::torrent_handle& handle) {
    for (auto& item : items_) {
        if (item.handle == handle) return &item;
    }
    return nullptr;
}

void peer_session::remember_metadata(tracked_item& item) {
    const auto info = item.handle.torrent_file();
    if (!info) return;
    for (const auto& [index, name] : part_names(*info, item.save_path)) item.handle.rename_file(index, name);
    add_origin_hosts(*info);
    if (options_.locality) apply_peer_classes();
    const fs::path kept = metadata_file(item.save_path, info->info_hashes());
    std::error_code error;
    fs::create_directories(kept.parent_path(), error);
    lt::create_torrent maker(*info);
    std::string bytes;
    lt::bencode(std::back_inserter(bytes), maker.generate());
    try {
        core::write_file_atomically(kept, bytes);
    } catch (const std::runtime_error& failure) {
        spdlog::warn("{}; the metadata is fetched again next time", failure.what());
    }
}

void peer_session::call_in_web_seeds(tracked_item& item) {
    const auto& status = item.last.status;
    if (item.withheld_web_seeds.empty() || item.last.complete || !item.last.has_metadata ||
        status.state == lt::torrent_status::checking_files || status.state == lt::torrent_status::checking_resume_data ||
        (status.flags & lt::torrent_flags::paused)) {
        return;
    }
    item.rule.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count(),
                      status.download_payload_rate);
    if (!item.rule.web_seeds_needed()) return;
    add_web_seeds(item, "BitTorrent delivers " + human_bytes(static_cast<double>(status.download_payload_rate)) + "/s");
}

void peer_session::add_web_seeds(tracked_item& item, const std::string& why) {
    for (const auto& url : item.withheld_web_seeds) {
        spdlog::info("{}: {}: calling in the origin's web seed {}", item.last.status.name, why, url);
        item.handle.add_url_seed(url);
    }
    item.withheld_web_seeds.clear();
}

void peer_session::leave_swarm(std::chrono::milliseconds deadline) {
    if (left_) return;
    // An announce still in flight (the `completed` one, often) would swallow the `stopped` one:
    // wait for it to be answered first. A download that finished in this run is followed by a
    // `completed` announce: wait for it to go out too.
    const auto until = std::chrono::steady_clock::now() + deadline;
    const auto settled = [&] {
        return std::all_of(items_.begin(), items_.end(), [](const tracked_item& item) {
            const bool finished_here = item.last.complete && item.last.status.total_payload_download > 0;
            return item.announces_in_flight == 0 && (!finished_here || item.completed_announced);
        });
    };
    while (!settled() && std::chrono::steady_clock::now() < until) {
        session_.wait_for_alert(std::chrono::milliseconds(20));
        poll();
    }
    // Tearing the session down sends `stopped` to every tracker and waits for the answers
    // (stop_tracker_timeout); the proxy's destructor blocks until then. The session takes no
    // more calls afterwards.
    lt::session_proxy closing = session_.abort();
    left_ = true;
}

std::string peer_session::listen_endpoint() const {
    return endpoint_text(parse_endpoint(options_.listen_bittorrent, "--listen-bittorrent").address(), session_.listen_port());
}

void peer_session::handle_alert(lt::alert* alert) {
    if (auto* wire = lt::alert_cast<lt::peer_log_alert>(alert)) {
        if (wire_log_) {
            const double at = std::chrono::duration<double>(wire->timestamp().time_since_epoch()).count();
            *wire_log_ << fmt::format("{:.3f} {} ", at, wire->endpoint.address().to_string()) << wire->message() << '\n';
        }
        return;
    }
    if (auto* external = lt::alert_cast<lt::external_ip_alert>(alert)) {
        if (options_.public_ip.empty() && !locality_->self()) {
            spdlog::info("the tracker sees us as {}", external->external_address.to_string());
            locality_->set_self(to_proximity(external->external_address));
            if (options_.locality) apply_peer_classes();
        }
        return;
    }
    if (lt::alert_cast<lt::listen_failed_alert>(alert)) {
        session_error_ = alert->message();
        return;
    }
    auto* about = dynamic_cast<lt::torrent_alert*>(alert);
    tracked_item* item = about ? find(about->handle) : nullptr;
    if (!item) return;
    item_status& last = item->last;
    if (auto* announce = lt::alert_cast<lt::tracker_announce_alert>(alert)) {
        ++item->announces_in_flight;
        if (announce->event == lt::event_t::completed) item->completed_announced = true;
    } else if (auto* tracker_error = lt::alert_cast<lt::tracker_error_alert>(alert)) {
        if (item->announces_in_flight > 0) --item->announces_in_flight;
        last.tracker_problem = std::string(tracker_error->tracker_url()) + ": " +
                               (tracker_error->error ? tracker_error->error.message() : std::string(tracker_error->failure_reason()));
        spdlog::warn("tracker {}", last.tracker_problem);
    } else if (auto* reply = lt::alert_cast<lt::tracker_reply_alert>(alert)) {
        if (item->announces_in_flight > 0) --item->announces_in_flight;
        last.tracker_answered = true;
        spdlog::debug("tracker {} named {} peers", reply->tracker_url(), reply->num_peers);
    } else if (lt::alert_cast<lt::torrent_checked_alert>(alert)) {
        if (item->rechecking) spdlog::info("{}: every piece on disk checked again", item->save_path.string());
        item->rechecking = false;
    } else if (lt::alert_cast<lt::metadata_received_alert>(alert)) {
        remember_metadata(*item);
        spdlog::info("metadata received: {}", item->handle.torrent_file() ? item->handle.torrent_file()->name() : "");
    } else if (auto* file_error = lt::alert_cast<lt::file_error_alert>(alert)) {
        last.error = storage_error_text(std::string(file_error->filename()) + ": " + file_error->error.message(),
                                        item->save_path);
    } else if (auto* torrent_error = lt::alert_cast<lt::torrent_error_alert>(alert)) {
        last.error = storage_error_text(torrent_error->error.message() +
                                            (torrent_error->filename()[0] ? std::string(" (") + torrent_error->filename() + ")" : ""),
                                        item->save_path);
    } else if (auto* renamed = lt::alert_cast<lt::file_renamed_alert>(alert)) {
        item->renaming.erase(renamed->index);
        spdlog::debug("{}: every piece verified, {} has its final name", item->save_path.string(), renamed->new_name());
    } else if (auto* rename_failed = lt::alert_cast<lt::file_rename_failed_alert>(alert)) {
        item->renaming.erase(rename_failed->index);
        last.error = storage_error_text("cannot give file " + std::to_string(static_cast<int>(rename_failed->index)) +
                                            " its final name: " + rename_failed->error.message(),
                                        item->save_path);
    } else if (auto* failed = lt::alert_cast<lt::hash_failed_alert>(alert)) {
        spdlog::warn("piece {} failed its hash check; asking for it again", static_cast<int>(failed->piece_index));
    }
}

void peer_session::refresh(tracked_item& item) {
    item_status& last = item.last;
    last.status = item.handle.status(lt::torrent_handle::query_pieces | lt::torrent_handle::query_name |
                                     lt::torrent_handle::query_accurate_download_counters);
    last.has_metadata = last.status.has_metadata;
    last.complete = last.has_metadata && last.status.is_finished && !last.status.pieces.empty() &&
                    last.status.total_wanted_done == last.status.total_wanted &&
                    last.status.state != lt::torrent_status::checking_files &&
                    last.status.state != lt::torrent_status::checking_resume_data;
    // Complete only once the files are under their final names too: what is reported complete
    // is what the user finds on disk.
    if (item.rechecking) last.complete = false;
    if (last.complete) last.complete = give_final_names(item);
    else if (last.has_metadata && !item.parts_checked && !item.rechecking && last.status.state != lt::torrent_status::checking_files &&
             last.status.state != lt::torrent_status::checking_resume_data) {
        take_final_names_back(item);
    }
    if (last.status.errc && last.error.empty()) last.error = storage_error_text(last.status.errc.message(), item.save_path);
    if (!session_error_.empty() && last.error.empty()) last.error = session_error_;
    call_in_web_seeds(item);
}

bool peer_session::give_final_names(tracked_item& item) {
    if (item.named) return true;
    const auto info = item.handle.torrent_file();
    if (!info) return false;
    if (!item.renaming.empty()) return false;
    const auto& files = info->files();
    const auto& original = info->orig_files();
    const auto states = file_states(item.handle, files);
    for (const auto index : files.file_range()) {
        const auto& state = states[static_cast<std::size_t>(static_cast<int>(index))];
        // A file left out (a stream's) that is whole anyway gets its name too.
        if (files.pad_file_at(index) || !(state.wanted || state.whole) || files.file_path(index) == original.file_path(index)) continue;
        item.renaming.insert(index);
        item.handle.rename_file(index, original.file_path(index));
    }
    item.named = item.renaming.empty();
    return item.named;
}

void peer_session::take_final_names_back(tracked_item& item) {
    item.parts_checked = true;
    const auto info = item.handle.torrent_file();
    if (!info) return;
    const auto& files = info->files();
    const auto& original = info->orig_files();
    const auto states = file_states(item.handle, files);
    for (const auto index : files.file_range()) {
        const auto& state = states[static_cast<std::size_t>(static_cast<int>(index))];
        if (files.pad_file_at(index) || !state.wanted || files.file_path(index) != original.file_path(index)) continue;
        if (state.whole) continue;
        // Only a file found under its final name is news; a new item's files are not there yet.
        std::error_code missing;
        if (fs::exists(item.save_path / original.file_path(index), missing)) {
            spdlog::warn("{}: {} is not whole on disk (cut short or damaged): it is {}.part again until verified",
                         item.save_path.string(), original.file_path(index), std::string(original.file_name(index)));
        }
        item.handle.rename_file(index, original.file_path(index) + std::string(part_suffix));
        item.named = false;
    }
}

item_status peer_session::poll() {
    if (left_) {
        const tracked_item* primary = items_.empty() ? nullptr : &items_.front();
        return primary ? primary->last : item_status{};
    }
    locality_->take_news();  // this poll dials the new peers and weighs the news
    std::vector<lt::alert*> alerts;
    session_.pop_alerts(&alerts);
    for (auto* alert : alerts) handle_alert(alert);
    for (const auto& [torrent, where] : locality_->take_connections()) {
        if (torrent.is_valid()) torrent.connect_peer(where);
    }
    for (const auto& torrent : locality_->take_repicks()) {
        if (tracked_item* item = find(torrent)) repick(*item);
    }
    for (auto& item : items_) {
        if (!item.handle.is_valid()) continue;
        refresh(item);
        defer_origin(item);
    }
    if (tracked_item* primary = find(handle_)) return primary->last;
    item_status none;
    none.error = session_error_;
    return none;
}

// libtorrent weighs its interest in every peer again (and picks blocks from each it wants
// something of) when a piece's priority turns to or from "don't download". A piece we hold
// is turned off and back on: nothing about what we download changes.
void peer_session::repick(tracked_item& item) {
    const auto& have = item.last.status.pieces;
    for (const auto piece : have.range()) {
        if (!have[piece]) continue;
        const auto priority = item.handle.piece_priority(piece);
        item.handle.piece_priority(piece, priority == lt::dont_download ? lt::default_priority : lt::dont_download);
        item.handle.piece_priority(piece, priority);
        spdlog::debug("{}: a near peer has new pieces and nothing is asked of it: libtorrent weighs its peers again",
                      item.last.status.name);
        return;
    }
}

void peer_session::defer_origin(tracked_item& item) {
    const auto now = std::chrono::steady_clock::now();
    const auto now_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
    const bool may_defer = options_.locality && item.defer_origin && options_.deference.hold_at > 0 &&
                           item.last.has_metadata && !item.last.complete;
    // About four samples a second, and one at once on news of near peers.
    if (may_defer && now - item.deference_checked < std::chrono::milliseconds(250) && !locality_->verdict_awaited(item.handle)) return;
    const auto interval = now - item.deference_checked;
    item.deference_checked = now;
    origin_outlook outlook;
    std::optional<proximity::ip_address> gateway;  // the one we follow
    std::int64_t near_rate = 0, origin_rate = 0;
    const bool sampling = may_defer && now_ms >= item.deference.origin_kept_until_ms;
    if (!sampling) item.sampled = false;
    if (sampling) {
        // Bytes per second over the last interval, from what each connection has delivered;
        // nothing at the first sample of a run of samples (no interval yet).
        const bool had_sample = item.sampled && interval < std::chrono::seconds(5);
        const double interval_s = std::chrono::duration<double>(interval).count();
        std::map<lt::tcp::endpoint, std::int64_t> delivered;
        const auto arrived = [&](const lt::peer_info& peer) -> std::int64_t {
            delivered[peer.ip] = peer.total_download;
            if (!had_sample) return 0;
            const auto before = item.delivered_at_sample.find(peer.ip);
            const std::int64_t earlier = before == item.delivered_at_sample.end() ? 0 : before->second;
            return peer.total_download > earlier ? static_cast<std::int64_t>(static_cast<double>(peer.total_download - earlier) / interval_s) : 0;
        };
        const auto wanted = item.handle.get_piece_priorities();
        const auto& have = item.last.status.pieces;
        std::vector<bool> missing(wanted.size());
        for (std::size_t piece = 0; piece < wanted.size(); ++piece) {
            const lt::piece_index_t index{static_cast<int>(piece)};
            missing[piece] = wanted[piece] != lt::dont_download && !(index < have.end_index() && have[index]);
            if (missing[piece]) ++outlook.missing;
        }
        std::vector<lt::peer_info> peers;
        item.handle.get_peer_info(peers);
        std::vector<piece_supplier> suppliers;
        std::vector<proximity::ip_address> near_downloaders;
        std::erase_if(item.passed_over, [&](const auto& entry) { return entry.second <= now; });
        const auto passed_over = [&](const proximity::ip_address& address) { return item.passed_over.contains(address); };
        const bool supernode = locality_->supernode();
        for (const auto& peer : peers) {
            const auto address = to_proximity(peer.ip.address());
            if (!address) continue;
            const bool origin = locality_->is_origin(*address);
            // An origin seeder counts once a connection to it is made: a tracker may still name
            // one that has gone (or serves over HTTP only now), and a connection being tried to
            // it is no origin in the swarm (the web seed is called in only when there is none).
            const bool connected = !(peer.flags & (lt::peer_info::connecting | lt::peer_info::handshake));
            if (origin && connected &&
                std::find(item.origin_endpoints.begin(), item.origin_endpoints.end(), peer.ip) == item.origin_endpoints.end()) {
                item.origin_endpoints.push_back(peer.ip);
            }
            // To a supernode its fellows are near: they relay to each other, so the supernodes
            // of all networks share one gateway to the origin (the lowest address).
            const bool fellow = supernode && !origin && locality_->is_fellow(*address);
            piece_supplier supplier{fellow ? peer_kind::near : classify(locality_->distance_to(*address), origin, locality_->options()),
                                    !(peer.flags & lt::peer_info::remote_choked), {}};
            // Only a nearcast peer that has unchoked us in the last 30 s can be our gateway: it
            // defers by the same rule (another client may not fetch from the origin at all), and
            // it passes on what it fetches (one with uploading switched off chokes everyone).
            if (supplier.kind == peer_kind::near && supplier.unchokes_us) item.near_unchoked_at[*address] = now;
            const std::int64_t rate = arrived(peer);
            if (supplier.kind == peer_kind::near) near_rate += rate;
            if (origin) origin_rate += rate;
            const auto unchoked = item.near_unchoked_at.find(*address);
            if (supplier.kind == peer_kind::near && unchoked != item.near_unchoked_at.end() &&
                now - unchoked->second < std::chrono::seconds(30) && !(peer.flags & lt::peer_info::seed) &&
                peer.client.starts_with("nearcast-peer") && !passed_over(*address) && !locality_->no_gateway(*address)) {
                near_downloaders.push_back(*address);
            }
            if (supplier.kind != peer_kind::near || !supplier.unchokes_us) continue;  // supplies nothing: no copy
            supplier.pieces.resize(static_cast<std::size_t>(peer.pieces.size()));
            for (std::size_t piece = 0; piece < supplier.pieces.size(); ++piece) {
                supplier.pieces[piece] = peer.pieces[lt::piece_index_t{static_cast<int>(piece)}];
            }
            suppliers.push_back(std::move(supplier));
        }
        item.delivered_at_sample = std::move(delivered);
        item.sampled = true;
        outlook.near_supply = near_supply(suppliers, missing);
        const auto self = locality_->self();
        if (self) outlook.position = place_among(*self, near_downloaders, locality_->may_be_gateway());
        if (outlook.position == gateway_position::follower) gateway = *std::min_element(near_downloaders.begin(), near_downloaders.end());
    }
    const bool was_held = item.deference.origin_held;
    const auto step = step_deference(item.deference, may_defer, now_ms, outlook, near_rate, origin_rate, options_.deference);
    if (step.gateway_too_slow && gateway) {
        spdlog::info("{}: near peers deliver {}/s while we follow {} to the origin, less than {}/s: passing it over for {} s",
                     item.last.status.name, human_bytes(step.near_rate), gateway->to_string(),
                     human_bytes(static_cast<double>(options_.deference.min_near_rate)), options_.deference.pass_over_ms / 1000);
        item.passed_over[*gateway] = now + std::chrono::milliseconds(options_.deference.pass_over_ms);
    }
    if (step.cooldown_started) {
        spdlog::info("{}: near peers deliver {}/s while the origin is left alone, less than the {}/s it needs to keep the "
                     "pace it had with the origin: the origin again for {} s", item.last.status.name, human_bytes(step.near_rate),
                     human_bytes(static_cast<double>(step.pace)), options_.deference.cooldown_ms / 1000);
        locality_->set_origin_held(item.handle, false);
        let_origin_in(item);
        // The tracker may list no origin seeder at all while it names a near seed (its answer
        // leaves the origin out for near peers): then "the origin again" is its web seed, or the
        // download would go on at the near seed's pace above the backstop's floor.
        if (item.origin_endpoints.empty()) add_web_seeds(item, "no origin seeder in the swarm");
        return;
    }
    // Near seeds too slow to rely on, and no origin seeder to go to: its web seed.
    if (step.near_below_floor && item.origin_endpoints.empty() && !item.withheld_web_seeds.empty()) {
        add_web_seeds(item, "near peers deliver " + human_bytes(step.near_rate) + "/s, less than " +
                                human_bytes(static_cast<double>(options_.deference.min_near_rate)) + "/s, and there is no origin seeder in the swarm");
    }
    // Every verdict goes to the plugin (which also marks news of near peers as weighed).
    locality_->set_origin_held(item.handle, step.hold);
    if (step.hold == was_held) return;
    if (step.hold) {
        spdlog::debug("{}: near peers hold {} of the {} pieces we lack{}; leaving the origin alone", item.last.status.name,
                      outlook.near_supply, outlook.missing, outlook.position == gateway_position::follower ? ", and one with a lower address fetches too" : "");
    } else if (!item.last.complete) {
        spdlog::debug("{}: near peers hold {} of the {} pieces we lack; the origin again", item.last.status.name,
                      outlook.near_supply, outlook.missing);
        let_origin_in(item);
    }
}

void peer_session::let_origin_in(tracked_item& item) {
    locality_->wake_origin(item.handle);
    for (const auto& where : item.origin_endpoints) item.handle.connect_peer(where);
}

void peer_session::want_every_file(const lt::torrent_handle& handle) {
    tracked_item* item = find(handle);
    const auto info = handle.torrent_file();
    if (!item || !info) return;
    handle.prioritize_files(std::vector<lt::download_priority_t>(static_cast<std::size_t>(info->num_files()), lt::default_priority));
    item->named = false;
    item->last.complete = false;
}

bool every_file_wanted_or_whole(const lt::torrent_handle& handle) {
    const auto info = handle.torrent_file();
    if (!info) return false;
    const auto& files = info->files();
    const auto states = file_states(handle, files);
    for (const auto index : files.file_range()) {
        const auto& state = states[static_cast<std::size_t>(static_cast<int>(index))];
        if (!files.pad_file_at(index) && !state.wanted && !state.whole) return false;
    }
    return true;
}

void peer_session::recheck(const lt::torrent_handle& handle) {
    tracked_item* item = find(handle);
    if (!item || !handle.torrent_file()) return;
    item->rechecking = true;
    item->parts_checked = false;
    item->named = false;
    item->last.complete = false;
    handle.force_recheck();
}

void peer_session::keep_origin(const lt::torrent_handle& handle) {
    tracked_item* item = find(handle);
    if (!item) return;
    item->defer_origin = false;
    defer_origin(*item);
}

item_status peer_session::status_of(const lt::torrent_handle& handle) {
    tracked_item* item = find(handle);
    if (!item) return {};
    // An item added since the last poll: its state now, not an empty one ("no metadata").
    if (item->last.status.handle != handle && handle.is_valid()) refresh(*item);
    return item->last;
}

std::vector<lt::torrent_handle> peer_session::handles() const {
    std::vector<lt::torrent_handle> out;
    for (const auto& item : items_) out.push_back(item.handle);
    return out;
}

}  // namespace nearcast::peer::client
