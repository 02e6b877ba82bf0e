#include "nearcast/peer/item_source.hpp"

#include "nearcast/core/byte_ranges.hpp"

#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/torrent_info.hpp>

#include <filesystem>
#include <cctype>
#include <cstring>
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

std::string local_path(const std::string& item) {
    if (!item.starts_with("file://")) return item;
    // file:///home/a/x%20y.torrent or file://localhost/home/...: what a desktop hands over for %u.
    std::string rest = item.substr(7);
    if (rest.starts_with("localhost/")) rest = rest.substr(9);
    if (!rest.starts_with("/")) throw item_error(item + ": a file:// URL of another host, not a file here");
    // Each segment decoded on its own: an encoded '/' or NUL is no file name.
    std::string out;
    for (std::size_t at = 1; at <= rest.size();) {
        const std::size_t slash = std::min(rest.find('/', at), rest.size());
        const auto segment = core::percent_decode_segment(std::string_view(rest).substr(at, slash - at));
        if (!segment) throw item_error(item + ": a file:// URL with a bad %-escape, an encoded '/' or a NUL in it");
        out += "/" + *segment;
        at = slash + 1;
    }
    return out;
}

std::string read_torrent_file(const std::string& item) {
    const std::string path = local_path(item);
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) throw item_error(path + ": is a directory, not a .torrent file");
    if (!std::filesystem::exists(path, error)) {
        throw item_error(path + ": no such file (and not a magnet link or an http(s) URL)");
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) throw item_error(path + ": cannot open: " + std::strerror(errno));
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
