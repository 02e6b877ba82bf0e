#include "seeding_session.hpp"

#include "nearcast/seeder/torrent_maker.hpp"

#include <libtorrent/alert_types.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session_stats.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace nearcast::seeder::server {

namespace {

std::string hex_of(const lt::sha1_hash& hash) { return hex_string({hash.data(), hash.size()}); }

lt::settings_pack settings_for(const seeder_options& options) {
    lt::settings_pack pack;
    // With BitTorrent off the session listens nowhere and is given no torrents.
    pack.set_str(lt::settings_pack::listen_interfaces, options.bittorrent_enabled ? options.bittorrent.to_string() : "");
    // Connections leave from the listening address: where the tracker and peers see us.
    pack.set_str(lt::settings_pack::outgoing_interfaces, options.bittorrent.host);
    pack.set_str(lt::settings_pack::user_agent, "nearcast-seeder/0.1");
    pack.set_bool(lt::settings_pack::enable_dht, options.dht);
    pack.set_bool(lt::settings_pack::enable_lsd, false);
    pack.set_bool(lt::settings_pack::enable_upnp, false);
    pack.set_bool(lt::settings_pack::enable_natpmp, false);
    // What a seeder fetches (replicas, repairs from its fellows) comes over TCP. Over uTP a busy
    // seeder's UDP socket drops datagrams when its receive buffer fills (500-780 per replica
    // round on loopback, /proc/net/snmp RcvbufErrors); libtorrent 2.0.8's uTP then times the
    // connection out on the sending side only, and the fetching side waited on 34 outstanding
    // requests for the rest of the run (tests/peer/locality_swarm.sh: "origin-b did not fetch
    // its replicas"). Incoming uTP stays on for the clients that prefer it.
    pack.set_bool(lt::settings_pack::enable_outgoing_utp, false);
    pack.set_int(lt::settings_pack::alert_mask, lt::alert_category::error | lt::alert_category::status |
                                                    lt::alert_category::storage | lt::alert_category::performance_warning);
    // A catalogue server: nothing queued, many peers, many open files.
    pack.set_int(lt::settings_pack::active_downloads, -1);
    pack.set_int(lt::settings_pack::active_seeds, -1);
    pack.set_int(lt::settings_pack::active_limit, -1);
    pack.set_int(lt::settings_pack::connections_limit, 10'000);
    pack.set_int(lt::settings_pack::unchoke_slots_limit, 64);
    pack.set_int(lt::settings_pack::file_pool_size, 512);
    pack.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
    pack.set_int(lt::settings_pack::send_buffer_watermark, 4 * 1024 * 1024);
    pack.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(std::min<std::int64_t>(options.budget.upload_limit, INT32_MAX)));
    pack.set_int(lt::settings_pack::alert_queue_size, 100'000);
    // The port asked for or none: libtorrent would otherwise try the next ten ports, then any, and the
    // seeder would serve on one that no config, port file or tracker registration names.
    pack.set_int(lt::settings_pack::max_retry_port_bind, 0);
    pack.set_bool(lt::settings_pack::listen_system_port_fallback, false);
    return pack;
}

}  // namespace

seeding_session::seeding_session(const seeder_options& options)
    : session_(lt::session_params(settings_for(options))), sent_payload_metric_(lt::find_metric_idx("net.sent_payload_bytes")),
      received_payload_metric_(lt::find_metric_idx("net.recv_payload_bytes")) {
    if (sent_payload_metric_ < 0) spdlog::warn("libtorrent has no net.sent_payload_bytes metric; counting upload per torrent only");
    // The upload budget holds for every peer: libtorrent's default filter puts loopback and LAN
    // addresses in its "local" class, which no rate limit applies to, and the emulated Internet
    // (and a LAN full of clients) would then escape the budget.
    const std::uint32_t global = std::uint32_t{1} << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
    lt::ip_filter every_address;
    every_address.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
    every_address.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
    session_.set_peer_class_filter(every_address);
}

void seeding_session::add(const catalogue_item& item, const std::vector<lt::tcp::endpoint>& sources) {
    if (torrents_.count(item.v1_hex)) return;
    lt::add_torrent_params params;
    bool resumed = false;
    if (!item.resume.empty()) {
        lt::error_code error;
        params = lt::read_resume_data(item.resume, error);
        if (error) {
            spdlog::warn("{} ({}): resume data unreadable ({}); seeding it in seed mode instead", item.name, item.v1_hex,
                         error.message());
            params = {};
        } else {
            resumed = true;
        }
    }
    lt::error_code error;
    auto info = std::make_shared<lt::torrent_info>(item.torrent, error, lt::from_span);
    if (error) {
        spdlog::error("{} ({}): the catalogue's torrent is unreadable: {}; not seeding it", item.name, item.v1_hex,
                      error.message());
        return;
    }
    // A replica comes from the fellows over BitTorrent, not from the web seeds in its torrent.
    if (!item.complete) info->set_web_seeds({});
    params.ti = std::move(info);
    params.save_path = item.save_path.string();
    params.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
    if (item.complete) {
        // Seed mode each start: libtorrent hashes each piece when it is first asked for, so a
        // copy damaged on disk since the last run is caught and repaired, and start-up hashes nothing.
        params.flags |= lt::torrent_flags::seed_mode;
        params.have_pieces.clear();
        params.verified_pieces.clear();
    } else {
        params.flags &= ~lt::torrent_flags::seed_mode;
        params.peers.insert(params.peers.end(), sources.begin(), sources.end());
    }
    ++(resumed ? counters_.started_from_resume : counters_.started_in_seed_mode);
    session_.async_add_torrent(std::move(params));
    torrents_[item.v1_hex] = {item.id, {}, 0};
}

void seeding_session::remove(const std::string& v1_hex) {
    const auto found = torrents_.find(v1_hex);
    if (found == torrents_.end()) return;
    if (found->second.handle.is_valid()) {
        // What it uploaded since its last state update would go with it.
        tally_upload(found->second, found->second.handle.status(lt::status_flags_t{}).total_payload_upload);
        session_.remove_torrent(found->second.handle);
    }
    torrents_.erase(found);
}

void seeding_session::tally_upload(seeded_torrent& torrent, std::int64_t total_payload_upload) {
    // A smaller total than last time: libtorrent restarted the torrent's counter (it was
    // paused and resumed); all of it was uploaded since.
    const std::int64_t delta =
        total_payload_upload >= torrent.last_uploaded ? total_payload_upload - torrent.last_uploaded : total_payload_upload;
    torrent.last_uploaded = total_payload_upload;
    if (delta <= 0) return;
    uploaded_[torrent.item_id] += static_cast<std::uint64_t>(delta);
    tallied_upload_ += static_cast<std::uint64_t>(delta);
    if (sent_payload_metric_ < 0) counters_.uploaded_payload = tallied_upload_;
}

void seeding_session::repair(const std::string& v1_hex, const std::vector<lt::tcp::endpoint>& sources) {
    const auto found = torrents_.find(v1_hex);
    if (found == torrents_.end() || !found->second.handle.is_valid() || found->second.damaged) return;
    found->second.damaged = true;
    found->second.handle.force_recheck();
    for (const auto& source : sources) found->second.handle.connect_peer(source);
}

void seeding_session::handle_alert(lt::alert* alert, std::vector<std::pair<std::int64_t, std::vector<char>>>* resume,
                                   std::size_t* resume_outstanding) {
    if (auto* added = lt::alert_cast<lt::add_torrent_alert>(alert)) {
        const std::string hash = hex_of(added->params.ti ? added->params.ti->info_hashes().v1 : added->params.info_hashes.v1);
        if (added->error) {
            spdlog::error("cannot seed {}: {}", hash, added->error.message());
            torrents_.erase(hash);
        } else if (auto found = torrents_.find(hash); found != torrents_.end()) {
            found->second.handle = added->handle;

        } else {
            session_.remove_torrent(added->handle);  // removed before libtorrent had added it
        }
    } else if (auto* finished = lt::alert_cast<lt::torrent_finished_alert>(alert)) {
        const auto found = torrents_.find(hex_of(finished->handle.info_hashes().v1));
        if (found != torrents_.end()) {
            if (found->second.damaged) {
                ++counters_.repairs;
                spdlog::info("{}: repaired, every piece is whole again", finished->torrent_name());
            }
            found->second.damaged = false;
            finished_.push_back(found->second.item_id);
        }
    } else if (auto* changed = lt::alert_cast<lt::state_changed_alert>(alert)) {
        // A seed-mode piece that fails its check when a peer asks for it makes libtorrent leave
        // seed mode and check the files again, with no hash_failed_alert: a whole item going
        // back to checking or downloading is that failure, and its next finish is the repair.
        const auto found = torrents_.find(hex_of(changed->handle.info_hashes().v1));
        const auto whole = [](lt::torrent_status::state_t state) {
            return state == lt::torrent_status::seeding || state == lt::torrent_status::finished;
        };
        if (found != torrents_.end() && whole(changed->prev_state) && !whole(changed->state) &&
            !found->second.damaged) {
            found->second.damaged = true;
            ++counters_.hash_failures;
            spdlog::error("{}: a piece on disk failed its check when a peer asked for it; no longer serving it, "
                          "repairing it from peers", changed->torrent_name());
        }
    } else if (auto* failed = lt::alert_cast<lt::hash_failed_alert>(alert)) {
        ++counters_.hash_failures;
        if (auto found = torrents_.find(hex_of(failed->handle.info_hashes().v1)); found != torrents_.end()) {
            found->second.damaged = true;
        }
        spdlog::error("{}: piece {} on disk fails its hash check; no longer serving it, repairing it from peers",
                      failed->torrent_name(), static_cast<int>(failed->piece_index));
    } else if (auto* saved = lt::alert_cast<lt::save_resume_data_alert>(alert)) {
        const auto found = torrents_.find(hex_of(saved->params.info_hashes.v1));
        if (resume && found != torrents_.end()) resume->emplace_back(found->second.item_id, lt::write_resume_data_buf(saved->params));
        if (resume_outstanding && *resume_outstanding > 0) --*resume_outstanding;
    } else if (auto* not_saved = lt::alert_cast<lt::save_resume_data_failed_alert>(alert)) {
        if (not_saved->error != lt::errors::resume_data_not_modified) {
            spdlog::warn("{}: resume data not saved: {}", not_saved->torrent_name(), not_saved->error.message());
        }
        if (resume_outstanding && *resume_outstanding > 0) --*resume_outstanding;
    } else if (auto* updates = lt::alert_cast<lt::state_update_alert>(alert)) {
        for (const auto& status : updates->status) {
            const auto found = torrents_.find(hex_of(status.info_hashes.v1));
            if (found == torrents_.end()) continue;
            found->second.peers = status.num_peers;
            found->second.upload_rate = status.upload_payload_rate;
            found->second.checking = status.state == lt::torrent_status::checking_files ||
                                     status.state == lt::torrent_status::checking_resume_data;
            tally_upload(found->second, status.total_payload_upload);
        }
    } else if (auto* stats = lt::alert_cast<lt::session_stats_alert>(alert)) {
        const auto values = stats->counters();
        if (sent_payload_metric_ >= 0 && sent_payload_metric_ < static_cast<int>(values.size())) {
            const std::int64_t sent = values[static_cast<std::size_t>(sent_payload_metric_)];
            if (sent > 0) counters_.uploaded_payload = std::max(counters_.uploaded_payload, static_cast<std::uint64_t>(sent));
        }
        if (received_payload_metric_ >= 0 && received_payload_metric_ < static_cast<int>(values.size())) {
            const std::int64_t received = values[static_cast<std::size_t>(received_payload_metric_)];
            if (received > 0) counters_.downloaded_payload = static_cast<std::uint64_t>(received);
        }
    } else if (lt::alert_cast<lt::file_error_alert>(alert) || lt::alert_cast<lt::torrent_error_alert>(alert) ||
               lt::alert_cast<lt::listen_failed_alert>(alert)) {
        spdlog::error("{}", alert->message());
    } else if (lt::alert_cast<lt::performance_alert>(alert)) {
        spdlog::debug("{}", alert->message());
    }
}

void seeding_session::poll() {
    session_.post_torrent_updates();
    if (sent_payload_metric_ >= 0 || received_payload_metric_ >= 0) session_.post_session_stats();
    std::vector<lt::alert*> alerts;
    session_.pop_alerts(&alerts);
    for (auto* alert : alerts) handle_alert(alert, nullptr, nullptr);
}

std::map<std::int64_t, std::uint64_t> seeding_session::take_uploaded() {
    // libtorrent posts a torrent's status only when it deems it changed: bytes sent just before
    // its last peer left can stay unposted until the torrent is busy again. When the session
    // counted more than the torrents reported, ask the torrents that were busy at their last
    // update (a few; a blocking call each).
    if (sent_payload_metric_ >= 0 && counters_.uploaded_payload > tallied_upload_) {
        const std::uint64_t before = tallied_upload_;
        for (auto& [hash, torrent] : torrents_) {
            if (!torrent.handle.is_valid() || (torrent.peers == 0 && torrent.upload_rate == 0)) continue;
            const lt::torrent_status status = torrent.handle.status(lt::status_flags_t{});
            torrent.peers = status.num_peers;
            torrent.upload_rate = status.upload_payload_rate;
            tally_upload(torrent, status.total_payload_upload);
        }
        spdlog::debug("upload: the session counted {} payload bytes, the torrents' state updates {}; asked the busy "
                      "torrents: {} more", counters_.uploaded_payload, before, tallied_upload_ - before);
    }
    return std::exchange(uploaded_, {});
}

std::vector<std::int64_t> seeding_session::take_finished() { return std::exchange(finished_, {}); }

void seeding_session::apply(const upload_plan& plan) {
    std::map<std::int64_t, std::int64_t> limits;
    for (const auto& swarm : plan.swarms) limits[swarm.item_id] = swarm.upload_limit;
    for (auto& [hash, torrent] : torrents_) {
        if (!torrent.handle.is_valid()) continue;
        const auto found = limits.find(torrent.item_id);
        const std::int64_t limit = found == limits.end() ? 0 : found->second;
        // A per-torrent limit is libtorrent's peer class for that torrent.
        torrent.handle.set_upload_limit(static_cast<int>(std::min<std::int64_t>(limit, INT32_MAX)));
    }
    lt::settings_pack pack;
    pack.set_int(lt::settings_pack::upload_rate_limit, static_cast<int>(std::min<std::int64_t>(plan.session_limit, INT32_MAX)));
    session_.apply_settings(pack);
}

session_counters seeding_session::counters() const {
    session_counters out = counters_;
    out.torrents = torrents_.size();
    for (const auto& [hash, torrent] : torrents_) {
        if (!torrent.handle.is_valid()) continue;
        ++out.added;
        out.peers += static_cast<std::size_t>(torrent.peers);
        out.upload_rate += torrent.upload_rate;
        if (torrent.checking) ++out.checking;
    }
    return out;
}

std::uint16_t seeding_session::listen_port() const { return session_.listen_port(); }

std::optional<std::string> seeding_session::wait_until_listening(std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        session_.wait_for_alert(std::chrono::milliseconds(50));
        std::vector<lt::alert*> alerts;
        session_.pop_alerts(&alerts);
        std::optional<std::string> problem;
        bool listening = false;
        // Every alert of the batch is handled: torrents added meanwhile need their handles.
        for (auto* alert : alerts) {
            if (auto* failed = lt::alert_cast<lt::listen_failed_alert>(alert); failed && !problem) {
                const bool utp = failed->socket_type == lt::socket_type_t::utp;
                problem = failed->address.to_string() + ":" + std::to_string(failed->port) +
                          (utp ? " (uTP over UDP)" : " (TCP)") + ": " + failed->error.message();
            } else if (auto* succeeded = lt::alert_cast<lt::listen_succeeded_alert>(alert)) {
                listening = listening || succeeded->socket_type == lt::socket_type_t::tcp;
            } else {
                handle_alert(alert, nullptr, nullptr);
            }
        }
        if (problem) return problem;
        if (listening) return std::nullopt;
    }
    return "no answer from libtorrent within " + std::to_string(deadline.count()) + " ms";
}

std::vector<std::pair<std::int64_t, std::vector<char>>> seeding_session::save_resume(std::chrono::milliseconds deadline,
                                                                                    bool only_if_modified) {
    std::vector<std::pair<std::int64_t, std::vector<char>>> resume;
    const auto until = std::chrono::steady_clock::now() + deadline;
    // Torrents still being added have no handle yet: wait for them (a stop right after a start).
    const auto unadded = [this] {
        return std::count_if(torrents_.begin(), torrents_.end(), [](const auto& entry) { return !entry.second.handle.is_valid(); });
    };
    while (unadded() > 0 && std::chrono::steady_clock::now() < until) {
        session_.wait_for_alert(std::chrono::milliseconds(100));
        std::vector<lt::alert*> alerts;
        session_.pop_alerts(&alerts);
        for (auto* alert : alerts) handle_alert(alert, nullptr, nullptr);
    }
    std::size_t outstanding = 0;
    for (auto& [hash, torrent] : torrents_) {
        if (!torrent.handle.is_valid()) continue;
        torrent.handle.save_resume_data(lt::torrent_handle::flush_disk_cache |
                                        (only_if_modified ? lt::torrent_handle::only_if_modified : lt::resume_data_flags_t{}));
        ++outstanding;
    }
    while (outstanding > 0 && std::chrono::steady_clock::now() < until) {
        session_.wait_for_alert(std::chrono::milliseconds(100));
        std::vector<lt::alert*> alerts;
        session_.pop_alerts(&alerts);
        for (auto* alert : alerts) handle_alert(alert, &resume, &outstanding);
    }
    if (outstanding > 0) spdlog::warn("{} torrents gave no resume data in time; they start in seed mode next time", outstanding);
    return resume;
}

}  // namespace nearcast::seeder::server
