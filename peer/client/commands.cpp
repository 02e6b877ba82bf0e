#include "commands.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <libtorrent/torrent_info.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "control_api.hpp"
#include "http_fetch.hpp"
#include "nearcast/core/atomic_file.hpp"
#include "nearcast/core/stop_signals.hpp"
#include "nearcast/peer/item_source.hpp"
#include "stream_server.hpp"
#include "transfer.hpp"

namespace fs = std::filesystem;

namespace nearcast::peer::client {

std::string item_for_daemon(const std::string& item) {
    switch (kind_of(item)) {
        case item_kind::magnet: params_from_magnet(item); return item;
        case item_kind::url: {
            std::string bytes = http_get(item, std::chrono::seconds(30), 64 * 1024 * 1024);
            params_from_torrent(bytes, item);
            return bytes;
        }
        case item_kind::torrent_file: break;
    }
    std::string bytes = read_torrent_file(item);
    params_from_torrent(bytes, item);
    return bytes;
}

namespace {

nlohmann::json item_status_from(const daemon_address& daemon, const std::string& id) {
    const auto status = nlohmann::json::parse(call_daemon(daemon, "GET", "/status"));
    for (const auto& item : status.at("items")) {
        if (item.at("id") == id) return item;
    }
    throw std::runtime_error("the daemon no longer holds " + id + " (removed, or evicted under its quota)");
}

// The bytes a daemon's /status says it downloaded for an item, by source.
bytes_by_source sources_of(const nlohmann::json& item) {
    const auto sources = item.find("sources");
    if (sources == item.end()) return {};
    return {sources->value("near", std::uint64_t{0}), sources->value("far", std::uint64_t{0}), sources->value("origin", std::uint64_t{0})};
}

// -o DIR through a daemon: the daemon fetches into its cache (and seeds from there); the
// finished files are copied into DIR as NAME.part and checked here piece by piece, as a fetch
// without a daemon checks what it finds on disk, before they get their final names. A piece
// the copy got wrong is fetched again like any other.
int deliver_to_output(const peer_options& options, const nlohmann::json& item, const std::string& id,
                      std::chrono::steady_clock::time_point started, const bytes_by_source& at_start) {
    const fs::path torrent = options.cache / "torrents" / (id + ".torrent");
    // A magnet's metadata is kept by the daemon within a tick of its arrival; an item done
    // within that tick may be reported before it is on disk.
    std::error_code missing;
    for (int wait = 0; wait < 50 && !fs::exists(torrent, missing); ++wait) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!fs::exists(torrent, missing)) {
        throw std::runtime_error("the daemon holds " + id + " complete but has not kept its metadata in " + torrent.string() +
                                 " (see its log)");
    }
    const auto params = params_from_torrent_file(torrent.string());
    const fs::path held = fs::path(item.at("path").get<std::string>()).parent_path();
    const auto& files = params.ti->orig_files();
    make_output_folder(options.output);
    keep_other_files(*params.ti, options.output);
    std::error_code error;
    for (const auto index : files.file_range()) {
        if (files.pad_file_at(index)) continue;
        // The cache's copy is verified: it goes in as NAME.part even where DIR already holds a
        // NAME (a damaged copy of the item; another file was moved aside above), and replaces
        // it once checked here.
        const fs::path target = options.output / files.file_path(index);
        const fs::path part = target.string() + ".part";
        fs::create_directories(part.parent_path(), error);
        if (!error) fs::copy_file(held / files.file_path(index), part, fs::copy_options::overwrite_existing, error);
        if (error) {
            throw std::runtime_error("cannot copy " + (held / files.file_path(index)).string() + " to " + part.string() + ": " +
                                     error.message());
        }
    }
    spdlog::info("copied {} from the daemon's cache into {}; checking every piece there", item.at("name").get<std::string>(),
                 options.output.string());
    peer_options alone = options;
    alone.item = torrent.string();
    alone.use_daemon = false;
    // The daemon holds the usual port: any free one on the same address will do.
    alone.listen_bittorrent = endpoint_text(parse_endpoint(options.listen_bittorrent, "--listen-bittorrent").address(), 0);
    // The summary and --report tell the whole fetch: what the daemon downloaded for it (its
    // bytes by source) and the time since this command began, with the item as it was named.
    const daemon_share share{options.item, sources_of(item).since(at_start), started};
    transfer job(alone, share);
    const transfer_outcome outcome = job.run(true);
    if (outcome.exit_status != 0) spdlog::error("{}", outcome.message);
    return outcome.exit_status;
}

int fetch_through_daemon(const peer_options& options, const daemon_address& daemon) {
    // The daemon fetches into its cache with its own settings: say what of this command line
    // it does not use, rather than drop it in silence. With -o the files are then copied there
    // and checked by this command, which also writes --report and seeds for --seed-for.
    const peer_options defaults;
    const bool to_output = options.output != defaults.output;
    std::vector<std::string> unused;
    // Only what this command line says: a config file's settings are meant for the daemon too.
    const auto given = [&](const char* flag) {
        return std::find(options.command_line_flags.begin(), options.command_line_flags.end(), flag) != options.command_line_flags.end();
    };
    if (!to_output && given("report")) unused.push_back("--report (give -o DIR to have one)");
    if (!to_output && given("seed-for")) unused.push_back("--seed-for");
    if (!to_output && given("stall-timeout")) unused.push_back("--stall-timeout");
    if (given("no-locality")) unused.push_back("--no-locality");
    if (given("upload-limit-kb") || given("download-limit-kb")) {
        unused.push_back("--upload-limit-kb/--download-limit-kb (set them with the daemon's /limits)");
    }
    if (!unused.empty()) {
        std::string list;
        for (const auto& flag : unused) list += (list.empty() ? "" : ", ") + flag;
        spdlog::warn("a daemon runs for this cache and fetches into it with its own settings: {} not used here "
                     "(--no-daemon fetches alone)", list);
    }
    // A folder that cannot be made fails now, not after the download; one made here goes
    // again if the daemon refuses the item.
    std::error_code ignored;
    const bool made_here = to_output && !fs::exists(options.output, ignored);
    if (to_output) make_output_folder(options.output);
    const auto started = std::chrono::steady_clock::now();
    nlohmann::json added;
    try {
        added = nlohmann::json::parse(call_daemon(daemon, "POST", "/fetch", item_for_daemon(options.item)));
    } catch (const daemon_refusal& refused) {
        if (made_here) fs::remove(options.output, ignored);  // only if still empty
        // The daemon's cache cannot take it (quota, room): the user's own folder may.
        throw daemon_refusal(std::string(refused.what()) + "; --no-daemon -o DIR fetches it without the daemon's cache");
    }
    const std::string id = added.at("id");
    spdlog::info("a daemon runs ({}): it fetches {} into its cache{}", daemon.url, id,
                 to_output ? ", then it is copied into " + options.output.string() + " and checked there" : "");
    progress_reporter reporter(options.no_progress);
    // What the daemon had downloaded for it before this command: nothing when this command
    // added it, else what its first status says (it may hold it already, or be fetching it).
    std::optional<bytes_by_source> at_start;
    if (added.value("added", false)) at_start = bytes_by_source{};
    for (;;) {
        nlohmann::json item;
        try {
            item = item_status_from(daemon, id);
            if (!at_start) at_start = sources_of(item);
        } catch (const daemon_refusal&) {
            throw;
        } catch (const fetch_error& error) {
            // Not bad input: the daemon went away (stopped, crashed) while it fetched.
            reporter.finish();
            spdlog::error("the daemon stopped answering while it fetched {}: {}", id, error.what());
            return 1;
        }
        if (item.at("complete").get<bool>()) {
            reporter.finish();
            if (to_output) return deliver_to_output(options, item, id, started, at_start.value_or(bytes_by_source{}));
            spdlog::info("{}: complete, every piece verified: {}", item.at("name").get<std::string>(), item.at("path").get<std::string>());
            return 0;
        }
        if (!item.at("error").get<std::string>().empty()) {
            reporter.finish();
            spdlog::error("{}: {}", item.at("name").get<std::string>(), item.at("error").get<std::string>());
            return 1;
        }
        if (core::stop_requested()) {
            reporter.finish();
            spdlog::info("stopped watching; the daemon goes on fetching {}", id);
            return 1;
        }
        progress_sample sample;
        sample.name = item.at("name");
        sample.done = item.at("bytes_done");
        sample.wanted = item.at("bytes_wanted");
        sample.rate = item.at("rate");
        sample.peers = item.at("peers");
        // This fetch's bytes, as its last line says: not what the daemon fetched for it before
        // (an item fetched again after a repair would show more than its size).
        sample.sources = sources_of(item).since(at_start.value_or(bytes_by_source{}));
        sample.fetching_metadata = item.at("state") == "metadata";
        sample.checking = item.at("state") == "checking";
        sample.paused = item.at("state") == "paused";
        reporter.update(sample);
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
}

int stream_through_daemon(const peer_options& options, const daemon_address& daemon) {
    const auto added = nlohmann::json::parse(call_daemon(daemon, "POST", "/fetch?for=stream", item_for_daemon(options.item)));
    const std::string id = added.at("id");
    const std::string target = "/stream?id=" + id + "&file=" + std::to_string(options.file_index);
    const auto started = std::chrono::steady_clock::now();
    const auto until = started + std::chrono::seconds(options.stall_timeout_s);
    for (;;) {
        try {
            // As without a daemon: the URL once the head of the file is here, or after 5 s.
            const auto answer = nlohmann::json::parse(call_daemon(daemon, "POST", target));
            if (answer.at("ready").get<bool>() || std::chrono::steady_clock::now() - started > std::chrono::seconds(5)) {
                std::cout << answer.at("url").get<std::string>() << std::endl;
                spdlog::info("the daemon ({}) streams {} at {}; SIGINT or SIGTERM ends this command, not the stream",
                             daemon.url, id, answer.at("url").get<std::string>());
                break;
            }
        } catch (const daemon_refusal& error) {
            if (std::string(error.what()).find("no metadata yet") == std::string::npos) throw;  // 409: ask again
        }
        if (core::stop_requested()) return 1;
        if (std::chrono::steady_clock::now() > until) {
            spdlog::error("{}: no metadata in {} s", options.item, options.stall_timeout_s);
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    while (!core::stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return 0;
}

}  // namespace

int fetch_command(const peer_options& options) {
    if (options.use_daemon) {
        if (const auto daemon = find_daemon(options.cache)) return fetch_through_daemon(options, *daemon);
    }
    transfer job(options);
    spdlog::info("fetching {} into {}", options.item, options.output.string());
    const transfer_outcome outcome = job.run(true);
    if (outcome.exit_status != 0) spdlog::error("{}", outcome.message);
    else if (!outcome.message.empty()) spdlog::info("{}", outcome.message);
    return outcome.exit_status;
}

int stream_command(const peer_options& options) {
    if (options.use_daemon) {
        if (const auto daemon = find_daemon(options.cache)) return stream_through_daemon(options, *daemon);
    }
    const auto listen = parse_endpoint(options.listen_http, "--listen-http");
    // The pieces under the play position are wanted now, from whoever has them: a stream
    // never leaves the origin to its near peers.
    peer_options streaming = options;
    streaming.deference.hold_at = 0;
    transfer job(streaming);
    boost::asio::io_context io;
    std::unique_ptr<stream_server> server;
    std::thread io_thread;
    auto guard = boost::asio::make_work_guard(io);
    const auto started = std::chrono::steady_clock::now();
    // The URL is printed once the head of the file is verified (or after a few seconds): a
    // player started on it plays at once, from disk.
    std::optional<std::chrono::steady_clock::time_point> listening_since;
    bool announced = false;
    const transfer_outcome outcome = job.run(false, [&](const item_status& status) {
        if (!server) {
            if (!status.has_metadata) return true;
            server = std::make_unique<stream_server>(io, listen, choose_file(job.handle(), options.output, options.file_index), options.window);
            server->start();
            io_thread = std::thread([&io] { io.run(); });
            listening_since = std::chrono::steady_clock::now();
        }
        server->update_pieces(status.status.pieces);
        if (announced) return true;
        const bool head_ready = server->head_ready();
        if (!head_ready && std::chrono::steady_clock::now() - *listening_since < std::chrono::seconds(5)) return true;
        announced = true;
        std::cout << server->url() << std::endl;
        spdlog::info("streaming at {} ({:.2f} s after start{}); open it in mpv, VLC or a browser", server->url(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                     head_ready ? ", the head of the file is here" : ", the head of the file is still on its way");
        if (!options.port_file.empty()) {
            const auto where = server->local_endpoint();
            core::write_file_atomically(options.port_file, "bittorrent " + job.session().listen_endpoint() + "\nhttp " +
                                                         endpoint_text(where.address(), where.port()) + "\n");
        }
        return true;
    });
    if (server) {
        const auto& counters = server->counters();
        spdlog::info("stream: {} requests, {} served, {} waits for pieces, {} seeks", counters.requests.load(),
                     human_bytes(static_cast<double>(counters.bytes_served.load())), counters.waits.load(), counters.seeks.load());
        server->stop();
    }
    guard.reset();
    io.stop();
    if (io_thread.joinable()) io_thread.join();
    if (outcome.exit_status == 0) spdlog::info("{}", outcome.message);
    else spdlog::error("{}", outcome.message);
    return outcome.exit_status;
}

}  // namespace nearcast::peer::client
