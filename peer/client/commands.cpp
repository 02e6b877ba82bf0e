#include "commands.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <libtorrent/torrent_info.hpp>

#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "nearcast/peer/item_source.hpp"
#include "stream_server.hpp"
#include "transfer.hpp"

namespace nearcast::peer::client {

std::atomic<bool> stop_requested{false};

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = [](int) { stop_requested = true; };
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

boost::asio::ip::tcp::endpoint parse_listen(const std::string& text) {
    const std::size_t colon = text.rfind(':');
    boost::system::error_code error;
    std::string host = colon == std::string::npos ? "" : text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    const auto address = boost::asio::ip::make_address(host, error);
    int port = -1;
    try {
        port = std::stoi(text.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (colon == std::string::npos || error || port < 0 || port > 65535) {
        throw item_error("--listen-http: '" + text + "' is not ADDRESS:PORT");
    }
    return {address, static_cast<std::uint16_t>(port)};
}

int fetch_command(const peer_options& options) {
    transfer job(options);
    spdlog::info("fetching {} into {}", options.item, options.output.string());
    const transfer_outcome outcome = job.run(true);
    if (outcome.exit_status == 0) spdlog::info("{}", outcome.message);
    else spdlog::error("{}", outcome.message);
    return outcome.exit_status;
}

}  // namespace nearcast::peer::client

namespace nearcast::peer::client {

namespace {

// The file to stream: --file N, or the largest. Other files of the item are not downloaded.
streamed_file choose_file(const lt::torrent_handle& handle, const peer_options& options) {
    const auto info = handle.torrent_file();
    const auto& files = info->files();
    int index = options.file_index;
    if (index >= files.num_files()) {
        throw item_error("--file " + std::to_string(index) + ": " + info->name() + " has " +
                         std::to_string(files.num_files()) + " file(s), numbered from 0");
    }
    if (index < 0) {
        index = 0;
        for (const auto file : files.file_range()) {
            if (!files.pad_file_at(file) && files.file_size(file) > files.file_size(lt::file_index_t(index))) index = static_cast<int>(file);
        }
    }
    std::vector<lt::download_priority_t> priorities(static_cast<std::size_t>(files.num_files()), lt::dont_download);
    priorities[static_cast<std::size_t>(index)] = lt::default_priority;
    handle.prioritize_files(priorities);
    const lt::file_index_t chosen(index);
    streamed_file out;
    out.handle = handle;
    out.path = options.output / files.file_path(chosen);
    out.name = std::string(files.file_name(chosen));
    out.offset = files.file_offset(chosen);
    out.size = files.file_size(chosen);
    out.geometry = {info->piece_length(), files.total_size()};
    return out;
}

}  // namespace

int stream_command(const peer_options& options) {
    const auto listen = parse_listen(options.listen_http);
    transfer job(options);
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
            server = std::make_unique<stream_server>(io, listen, choose_file(job.handle(), options), options.window);
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
            std::ofstream file(options.port_file, std::ios::app);
            const auto where = server->local_endpoint();
            file << "http " << where.address().to_string() << ":" << where.port() << "\n";
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
