// The commands of nearcast-peer: fetch, stream, daemon and ui. Each returns the process exit status:
// 0 done, 1 the download failed or was stopped, 2 bad input (an unreadable item, bad options).
#pragma once

#include <libtorrent/add_torrent_params.hpp>

#include <string>

#include "options.hpp"

namespace nearcast::peer::client {

// A .torrent path, a magnet link, or an http(s) URL of a .torrent, read into add_torrent_params.
// Throws item_error or fetch_error with a message that names the item.
lt::add_torrent_params resolve_item(const std::string& item);

// What a daemon is sent for an item: the .torrent bytes (read here, so that a path or URL
// means what it means to the user), or the magnet link itself. Throws as resolve_item does.
std::string item_for_daemon(const std::string& item);

int fetch_command(const peer_options& options);
int daemon_command(const peer_options& options);
int stream_command(const peer_options& options);
// The running daemon's web interface: a one-time login link, printed and opened in a browser.
int ui_command(const peer_options& options);

}  // namespace nearcast::peer::client
