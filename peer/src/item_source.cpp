#include "nearcast/peer/item_source.hpp"

#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/torrent_info.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace nearcast::peer {

item_kind kind_of(std::string_view item) {
    if (item.starts_with("magnet:")) return item_kind::magnet;
    if (item.starts_with("http://") || item.starts_with("https://")) return item_kind::url;
    return item_kind::torrent_file;
}

lt::add_torrent_params params_from_torrent(std::string_view bytes, const std::string& origin) {
    if (bytes.empty()) throw item_error(origin + ": empty, not a .torrent file");
    if (bytes.front() != 'd') throw item_error(origin + ": not a .torrent file (a torrent is a bencoded dictionary)");
    lt::error_code error;
    auto info = std::make_shared<lt::torrent_info>(lt::span<const char>(bytes.data(), static_cast<std::ptrdiff_t>(bytes.size())),
                                                   error, lt::from_span);
    if (error) throw item_error(origin + ": not a valid .torrent file: " + error.message());
    lt::add_torrent_params params;
    params.ti = std::move(info);
    return params;
}

std::string read_torrent_file(const std::string& path) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) throw item_error(path + ": is a directory, not a .torrent file");
    std::ifstream file(path, std::ios::binary);
    if (!file) throw item_error(path + ": cannot open (not a file, a magnet link or an http(s) URL)");
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (file.bad()) throw item_error(path + ": read error");
    return bytes;
}

lt::add_torrent_params params_from_torrent_file(const std::string& path) {
    return params_from_torrent(read_torrent_file(path), path);
}

lt::add_torrent_params params_from_magnet(const std::string& uri) {
    lt::error_code error;
    lt::add_torrent_params params = lt::parse_magnet_uri(uri, error);
    if (error) throw item_error("bad magnet link '" + uri + "': " + error.message());
    if (!params.info_hashes.has_v1() && !params.info_hashes.has_v2()) {
        throw item_error("bad magnet link '" + uri + "': no xt=urn:btih: or urn:btmh: info hash");
    }
    return params;
}

std::string item_id(const lt::info_hash_t& hashes) {
    std::ostringstream hex;
    if (hashes.has_v1()) hex << hashes.v1;
    else hex << hashes.v2;
    return hex.str();
}

}  // namespace nearcast::peer
