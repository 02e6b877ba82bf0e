#include "nearcast/seeder/torrent_maker.hpp"

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/magnet_uri.hpp>
#include <libtorrent/torrent_info.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "nearcast/core/atomic_file.hpp"
#include "nearcast/core/sharding.hpp"

namespace lt = libtorrent;
namespace fs = std::filesystem;

namespace nearcast::seeder {

namespace {


std::vector<char> bencoded(const lt::entry& torrent) {
    std::vector<char> bytes;
    lt::bencode(std::back_inserter(bytes), torrent);
    return bytes;
}

// Trackers and web seeds sit outside the info dictionary, so adding them keeps the hashes.
void add_locations(lt::entry& torrent, const std::string& v1_hex, const lt::sha1_hash& v1,
                   const torrent_options& options) {
    if (!options.trackers.empty()) {
        core::info_hash hash{};
        std::copy(v1.begin(), v1.end(), hash.begin());
        const auto tiers = core::tracker_ring(options.trackers).announce_tiers(hash, options.tracker_tiers);
        torrent["announce"] = tiers.front().front();
        lt::entry::list_type announce_list;
        for (const auto& tier : tiers) {
            lt::entry::list_type urls;
            for (const auto& url : tier) urls.emplace_back(url);
            announce_list.emplace_back(std::move(urls));
        }
        torrent["announce-list"] = std::move(announce_list);
    }
    if (!options.web_seed_bases.empty()) {
        lt::entry::list_type urls;
        for (const auto& base : options.web_seed_bases) urls.emplace_back(web_seed_url(base, v1_hex));
        torrent["url-list"] = std::move(urls);
    }
}

}  // namespace

std::string hex_string(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out += digits[byte >> 4];
        out += digits[byte & 15];
    }
    return out;
}

std::string web_seed_url(const std::string& base, const std::string& v1_hex) {
    std::string url = base;
    while (!url.empty() && url.back() == '/') url.pop_back();
    // The trailing slash makes clients append the torrent name (BEP 19).
    return url + "/items/" + v1_hex + "/";
}

catalogue_item make_torrent(const fs::path& content, const torrent_options& options,
                            const std::function<void(int, int)>& progress) {
    std::error_code error;
    fs::path path = fs::weakly_canonical(fs::absolute(content, error), error);
    if (error || !fs::exists(path, error)) throw publish_error(content.string() + ": no such file or folder");
    if (!fs::is_regular_file(path) && !fs::is_directory(path)) {
        throw publish_error(content.string() + ": not a regular file or a folder");
    }
    if (path.filename().empty()) throw publish_error(content.string() + ": cannot publish a filesystem root");

    lt::file_storage files;
    lt::add_files(files, path.string());
    if (files.num_files() == 0) throw publish_error(content.string() + ": holds no files to publish");
    if (options.piece_length != 0 &&
        (options.piece_length < 16 * 1024 || (options.piece_length & (options.piece_length - 1)) != 0)) {
        throw publish_error("the piece length must be a power of two of at least 16 KiB, not " +
                            std::to_string(options.piece_length));
    }
    lt::create_torrent maker(files, options.piece_length, options.hybrid ? lt::create_flags_t{} : lt::create_torrent::v1_only);
    maker.set_creator(options.creator.c_str());
    if (!options.comment.empty()) maker.set_comment(options.comment.c_str());
    const int pieces = maker.num_pieces();
    int hashed = 0;
    lt::error_code hash_error;
    lt::set_piece_hashes(
        maker, path.parent_path().string(),
        [&](lt::piece_index_t) {
            if (progress) progress(++hashed, pieces);
        },
        hash_error);
    if (hash_error) throw publish_error(content.string() + ": cannot hash it: " + hash_error.message());

    lt::entry torrent = maker.generate();
    const std::vector<char> plain = bencoded(torrent);
    const lt::info_hash_t hashes = lt::torrent_info(plain, lt::from_span).info_hashes();

    const std::string v1_hex = hex_string({hashes.v1.data(), hashes.v1.size()});
    add_locations(torrent, v1_hex, hashes.v1, options);
    return item_from_torrent(bencoded(torrent), path.parent_path());
}

catalogue_item item_from_torrent(std::vector<char> torrent, const fs::path& save_path) {
    lt::error_code error;
    const lt::torrent_info info(torrent, error, lt::from_span);
    if (error) throw publish_error("not a torrent: " + error.message());
    const lt::info_hash_t hashes = info.info_hashes();
    catalogue_item item;
    item.v1_hex = hex_string({hashes.v1.data(), hashes.v1.size()});
    if (hashes.has_v2()) item.v2_hex = hex_string({hashes.v2.data(), hashes.v2.size()});
    item.name = info.name();
    item.save_path = save_path;
    item.total_size = static_cast<std::uint64_t>(info.total_size());
    item.file_count = static_cast<std::uint64_t>(info.num_files());
    item.piece_length = static_cast<std::uint32_t>(info.piece_length());
    item.magnet = lt::make_magnet_uri(info);
    item.torrent = std::move(torrent);
    item.published_at = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return item;
}

void write_file_atomically(const fs::path& file, const std::vector<char>& bytes) {
    try {
        core::write_file_atomically(file, std::string_view(bytes.data(), bytes.size()));
    } catch (const core::output_error& error) {
        throw publish_error(error.what());
    }
}

}  // namespace nearcast::seeder
