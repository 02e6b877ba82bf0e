#include "seeder_swarm.hpp"

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>

#include <memory>
#include <thread>

namespace nearcast::bench {

namespace {

using swarm_clock = std::chrono::steady_clock;

std::string downloader_address(unsigned index) { return "127.40.0." + std::to_string(index + 1); }

lt::session_params downloader_params(unsigned index) {
    lt::settings_pack pack;
    pack.set_str(lt::settings_pack::listen_interfaces, downloader_address(index) + ":0");
    pack.set_str(lt::settings_pack::outgoing_interfaces, downloader_address(index));
    pack.set_str(lt::settings_pack::user_agent, "nearcast-bench-seeder");
    pack.set_bool(lt::settings_pack::enable_dht, false);
    pack.set_bool(lt::settings_pack::enable_lsd, false);
    pack.set_bool(lt::settings_pack::enable_upnp, false);
    pack.set_bool(lt::settings_pack::enable_natpmp, false);
    pack.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
    // Only the connection to the seeder: none from fellow downloaders, and over TCP, as the
    // seeder's own peers mostly are.
    pack.set_bool(lt::settings_pack::enable_incoming_tcp, false);
    pack.set_bool(lt::settings_pack::enable_incoming_utp, false);
    pack.set_bool(lt::settings_pack::enable_outgoing_utp, false);
    pack.set_int(lt::settings_pack::alert_mask, lt::alert_category::error);
    lt::session_params params(std::move(pack));
    params.extensions.clear();  // no ut_pex: the seeder's PEX must not introduce them to each other
    return params;
}

struct downloader {
    std::unique_ptr<lt::session> session;
    lt::torrent_handle handle;
    bool done = false;
    std::string first_error;
};

void note_errors(downloader& one) {
    std::vector<lt::alert*> alerts;
    one.session->pop_alerts(&alerts);
    for (const auto* alert : alerts)
        if (one.first_error.empty()) one.first_error = alert->message();
}

}  // namespace

swarm_result download_from_seeder(const swarm_plan& plan) {
    swarm_result result;
    lt::error_code error;
    const auto info = std::make_shared<lt::torrent_info>(plan.torrent, error, lt::from_span);
    if (error) {
        result.failure = "the torrent is unreadable: " + error.message();
        return result;
    }
    result.bytes_each = static_cast<std::uint64_t>(info->total_size());
    const lt::tcp::endpoint seeder(lt::make_address(plan.seeder_address, error), plan.seeder_port);
    if (error) {
        result.failure = "bad seeder address " + plan.seeder_address;
        return result;
    }

    std::vector<downloader> downloaders(plan.downloaders);
    try {
        for (unsigned i = 0; i < plan.downloaders; ++i) {
            downloader& one = downloaders[i];
            one.session = std::make_unique<lt::session>(downloader_params(i));
            lt::add_torrent_params params;
            params.ti = info;
            params.save_path = (plan.work_directory / ("download-" + std::to_string(i + 1))).string();
            params.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
            one.handle = one.session->add_torrent(std::move(params));
        }
    } catch (const std::exception& failure) {
        result.failure = std::string("cannot start a downloader: ") + failure.what();
    }

    const auto started = swarm_clock::now();
    const auto deadline = started + plan.limit;
    auto next_connect = started;
    while (result.failure.empty() && result.finished < plan.downloaders && swarm_clock::now() < deadline) {
        const auto now = swarm_clock::now();
        const bool connect_now = now >= next_connect;
        if (connect_now) next_connect = now + std::chrono::seconds(1);
        for (auto& one : downloaders) {
            if (one.done) continue;
            const lt::torrent_status status = one.handle.status();
            if (status.is_seeding) {
                one.done = true;
                ++result.finished;
                result.finished_after.push_back(std::chrono::duration<double>(now - started).count());
                continue;
            }
            // Once a second: a downloader without a connection (refused while it was still
            // checking its empty files, say) is given the seeder again.
            if (connect_now && status.num_peers == 0) one.handle.connect_peer(seeder);
            note_errors(one);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (result.finished == plan.downloaders) {
        result.seconds = result.finished_after.back();
    } else if (result.failure.empty()) {
        result.failure = std::to_string(result.finished) + " of " + std::to_string(plan.downloaders) + " downloaders finished within " +
                         std::to_string(plan.limit.count()) + " s";
        for (std::size_t i = 0; i < downloaders.size(); ++i) {
            if (downloaders[i].done || !downloaders[i].handle.is_valid()) continue;
            const auto status = downloaders[i].handle.status();
            result.failure += "; downloader " + std::to_string(i + 1) + " at " + std::to_string(static_cast<int>(status.progress * 100)) +
                              "% with " + std::to_string(status.num_peers) + " peers" +
                              (downloaders[i].first_error.empty() ? "" : " (" + downloaders[i].first_error + ")");
        }
    }
    // Stop every session at once rather than one after another.
    std::vector<lt::session_proxy> stopping;
    for (auto& one : downloaders)
        if (one.session) stopping.push_back(one.session->abort());
    downloaders.clear();
    return result;
}

}  // namespace nearcast::bench
