// What the user asked for: a .torrent file, a magnet link, or the HTTP(S) URL of a .torrent.
// Each is read into libtorrent's add_torrent_params here, with an error that names the input
// and what is wrong with it; nothing is downloaded yet.
#pragma once

#include <libtorrent/add_torrent_params.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace nearcast::peer {

struct item_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class item_kind { torrent_file, magnet, url };
item_kind kind_of(std::string_view item);

// A .torrent file's bytes, from a file or a URL: `origin` names them in errors.
lt::add_torrent_params params_from_torrent(std::string_view bytes, const std::string& origin);
// A file:// URL (what a desktop hands over for a local file) as the path it names, decoded;
// anything else as it is. item_error for another host's file:// URL.
std::string local_path(const std::string& item);
// The bytes of a .torrent file (a path or a file:// URL); item_error naming it for a directory,
// a missing file or one that cannot be read.
std::string read_torrent_file(const std::string& path);
lt::add_torrent_params params_from_torrent_file(const std::string& path);
lt::add_torrent_params params_from_magnet(const std::string& uri);

// How the client names an item (files, the daemon's cache): its v1 info hash in hex, or its
// v2 hash for a v2-only torrent.
std::string item_id(const lt::info_hash_t& hashes);

}  // namespace nearcast::peer
