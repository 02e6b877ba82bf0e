// nearcast-peer's settings: a command, flags and an INI config file (Boost.Program_options).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nearcast/peer/ranking.hpp"
#include "nearcast/peer/stream_window.hpp"

namespace nearcast::peer::client {

struct peer_options {
    std::string item;                          // .torrent path, magnet link or http(s) URL
    std::filesystem::path output = ".";        // where content is written
    std::string listen_bittorrent = "0.0.0.0:6881";  // BitTorrent address:port; also where connections leave from
    bool listen_bittorrent_given = false;      // on the command line or in a config file, not the default
    std::string public_ip;                     // the address the Internet sees, when bound to the wildcard
    std::string data;                          // proximity snapshot or routing files; http(s) URL of a tracker's snapshot
    bool locality = true;                      // false: plain BitTorrent (the control run)
    locality_options locality_rules;
    backstop_options backstop;                 // when the origin's web seeds are used
    origin_deference deference;                // when a downloader leaves the origin to its near peers
    std::int64_t upload_limit = 0;             // bytes/s, 0 = none
    std::int64_t download_limit = 0;
    std::int64_t far_upload_limit = 100'000;   // bytes/s for all far peers together
    std::int64_t far_download_limit = 0;
    std::vector<std::string> origins;          // addresses of origin seeders, beyond web-seed hosts
    bool dht = false;
    std::uint32_t seed_for_s = 0;              // after completion, seed this long
    std::uint32_t stall_timeout_s = 120;       // no byte and no working tracker this long: give up
    std::string report_file;                   // JSON summary written on exit
    std::string port_file;                     // "bittorrent ADDR:PORT" (and "http ..." for stream)
    bool no_progress = false;                  // no progress bar or lines (-q, --no-progress)
    std::vector<std::string> command_line_flags;  // the long names given on the command line itself
    // stream
    int file_index = -1;                       // -1: the largest file
    std::string listen_http = "127.0.0.1:0";
    window_options window;
    // daemon, and fetch and stream when a daemon runs
    std::filesystem::path cache;               // the daemon's folder: content, torrents, index, control file
    bool use_daemon = true;                    // fetch/stream: hand the item to a running daemon
    std::uint64_t quota_bytes = 10'000'000'000;
    std::uint64_t monthly_cap_bytes = 0;       // 0: none
    bool uploading = true;
    std::string listen_control = "127.0.0.1:0";  // the daemon's control API
    bool open_browser = true;                  // ui: open the login link with xdg-open
    // the supernode role (daemon)
    std::string supernode_tracker;             // tracker's base URL: offer to serve the neighbourhood
    std::string tracker_token;                 // a closed tracker's access token, for /supernode and /announce
    std::string admin_secret_file;             // an operator's server: registers with the tracker's admin secret
    std::uint32_t prefetch_items = 10;         // popular items a supernode pre-fetches at most
    std::uint32_t prefetch_min_requests = 1;   // ... and only those asked for this often in its AS
    std::int64_t origin_trickle = 64'000;      // bytes/s from the origin while fellow supernodes can relay
};

// "127.0.0.1:6881" or "[::1]:0" -> an endpoint; throws item_error naming the option.
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& text, const std::string& option);
// The other way round: "[::1]:80" for IPv6.
std::string endpoint_text(const boost::asio::ip::address& address, std::uint16_t port);

// $XDG_CACHE_HOME/nearcast, or ~/.cache/nearcast, or ./nearcast-cache.
std::filesystem::path default_cache_folder();

// The commands that drive a running daemon, as transmission-remote drives its daemon.
struct remote_options {
    std::string command;                 // list, status, pause, resume, remove, limits, open
    std::vector<std::string> items;      // ids (a whole info hash, an unambiguous prefix of one, or a name); open: the ITEM
    bool json = false;                   // the daemon's JSON instead of text, for scripts
    bool keep_data = false;              // remove: forget the item, keep its files
    std::vector<std::pair<std::string, std::string>> limits;  // limits: the /limits parameters to change
    std::vector<std::string> daemon_arguments;                // open: how to start a daemon when none runs
};

// $XDG_CONFIG_HOME/nearcast/peer.conf, or ~/.config/nearcast/peer.conf: read by every command
// when it exists and no -c is given.
std::filesystem::path default_config_file();

struct parsed_command {
    enum class action { fetch, stream, daemon, remote, ui, exit } what = action::exit;
    peer_options options;
    remote_options remote;
    int exit_status = 0;
};

// Parses argv and sets the log level; prints help, the version and usage errors itself (usage
// errors: exit status 2).
parsed_command parse_command_line(int argc, char** argv);

}  // namespace nearcast::peer::client
