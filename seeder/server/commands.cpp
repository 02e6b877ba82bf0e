#include "commands.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "fellows.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/seeder/torrent_maker.hpp"

namespace fs = std::filesystem;

namespace nearcast::seeder::server {

namespace {

// A torrent file name from an item name: no path separators, nothing hidden.
std::string torrent_file_name(const catalogue_item& item) {
    std::string name = item.name;
    for (char& c : name) {
        if (c == '/' || c == '\\' || c == '\0') c = '_';
    }
    if (name.empty() || name.front() == '.') name = "_" + name;
    return name + "." + item.v1_hex.substr(0, 8) + ".torrent";
}

std::string human_bytes(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return text;
}

// Each ITEM argument must name an item; the first that does not is an error (exit 2).
std::vector<catalogue_item> find_all(const catalogue& store, const std::vector<std::string>& keys) {
    std::vector<catalogue_item> found;
    for (const auto& key : keys) {
        auto item = store.find(key);
        if (!item) throw catalogue_error(store.file().string() + ": no item '" + key + "' (give an id, a hash or a name)");
        found.push_back(std::move(*item));
    }
    return found;
}

}  // namespace

catalogue_item publish_one(catalogue& store, const seeder_options& options, const std::string& path, bool show_progress) {
    torrent_options making;
    making.hybrid = options.hybrid;
    making.trackers = options.trackers;
    making.web_seed_bases = options.web_seeds;
    making.piece_length = options.piece_kib * 1024;
    int shown = -1;
    catalogue_item item = make_torrent(path, making, [&](int done, int all) {
        if (!show_progress || all == 0) return;
        const int percent = done * 100 / all;
        if (percent == shown) return;
        shown = percent;
        std::fprintf(stderr, "\rhashing %s: %3d%% (%d of %d pieces)", path.c_str(), percent, done, all);
        if (done == all) std::fputc('\n', stderr);
    });
    item.holders.push_back(options.name);
    item.id = store.add(item);
    fs::create_directories(options.torrent_dir());
    write_file_atomically(options.torrent_dir() / torrent_file_name(item), item.torrent);
    return item;
}

int publish_command(const seeder_options& options) {
    core::require_folder(options.data_dir, "--data-dir");
    catalogue store(options.catalogue_file());
    const bool progress = ::isatty(STDERR_FILENO);
    int failures = 0;
    for (const auto& path : options.paths) {
        try {
            const catalogue_item item = publish_one(store, options, path, progress);
            std::cout << item.id << "\t" << item.v1_hex << "\t" << item.name << "\t"
                      << (options.torrent_dir() / torrent_file_name(item)).string() << "\t" << item.magnet << "\n";
            spdlog::info("published {} as item {} ({}, {} file(s), {})", item.name, item.id, item.v1_hex, item.file_count,
                         human_bytes(item.total_size));
        } catch (const std::exception& error) {
            // One bad path does not stop the others; the exit status says something failed.
            spdlog::error("{}", error.what());
            ++failures;
        }
    }
    return failures == 0 ? 0 : 2;
}

int list_command(const seeder_options& options) {
    const catalogue store(options.catalogue_file());
    for (const auto& item : store.all()) {
        std::cout << item.id << "\t" << item.v1_hex << "\t" << human_bytes(item.total_size) << "\t" << item.name << "\n";
    }
    return 0;
}

int info_command(const seeder_options& options, const std::vector<std::string>& items) {
    const catalogue store(options.catalogue_file());
    for (const auto& item : find_all(store, items)) {
        std::cout << "id:              " << item.id << "\n"
                  << "name:            " << item.name << "\n"
                  << "path:            " << (item.save_path / item.name).string() << "\n"
                  << "size:            " << item.total_size << " bytes (" << human_bytes(item.total_size) << ") in "
                  << item.file_count << " file(s), pieces of " << item.piece_length << " bytes\n"
                  << "v1 info hash:    " << item.v1_hex << "\n"
                  << "v2 info hash:    " << (item.v2_hex.empty() ? "(v1-only torrent)" : item.v2_hex) << "\n"
                  << "magnet:          " << item.magnet << "\n"
                  << "published:       " << item.published_at << " (seconds since 1970)\n"
                  << "served, HTTP:    " << item.served_http << " bytes\n"
                  << "served, BT:      " << item.served_bittorrent << " bytes\n"
                  << "resume data:     " << (item.resume.empty() ? "none yet" : std::to_string(item.resume.size()) + " bytes")
                  << "\n";
        std::cout << "held by:        ";
        for (const auto& holder : item.holders) std::cout << " " << holder;
        std::cout << "\n\n";
    }
    return 0;
}

int remove_command(const seeder_options& options, const std::vector<std::string>& items) {
    catalogue store(options.catalogue_file());
    for (const auto& item : find_all(store, items)) {
        store.remove(item.id);
        std::error_code ignored;
        fs::remove(options.torrent_dir() / torrent_file_name(item), ignored);
        std::cout << "removed " << item.id << "\t" << item.v1_hex << "\t" << item.name << "\n";
    }
    return 0;
}

}  // namespace nearcast::seeder::server

namespace nearcast::seeder::server {

int replicate_command(const seeder_options& options, const std::vector<std::string>& hashes) {
    core::require_folder(options.content_dir(), "--data-dir");
    catalogue store(options.catalogue_file());
    const auto fellows = look_at_fellows(options.fellows, std::chrono::seconds(5));
    for (const auto& fellow : fellows) {
        if (!fellow.reachable) spdlog::warn("fellow {} ({}) unreachable: {}", fellow.name, fellow.base, fellow.problem);
    }
    int failures = 0;
    for (const auto& hash : hashes) {
        try {
            if (hash.size() != 40 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
                throw std::runtime_error("'" + hash + "' is not a v1 info hash (40 lowercase hex digits)");
            }
            // Fellows that hold it whole first; then any other that answers.
            std::vector<fellow_view> sources;
            for (const auto& fellow : fellows) if (fellow.complete.count(hash)) sources.push_back(fellow);
            for (const auto& fellow : fellows) if (!fellow.complete.count(hash)) sources.push_back(fellow);
            catalogue_item item = replica_item(hash, sources, options.content_dir(), options.name);
            item.id = store.add(item);
            std::cout << item.id << "\t" << item.v1_hex << "\t" << item.name << "\tto fetch\n";
            spdlog::info("{} ({}) added as item {}: 'serve' fetches it from the fellows over BitTorrent", item.name,
                         item.v1_hex, item.id);
        } catch (const std::exception& error) {
            spdlog::error("replicate {}: {}", hash, error.what());
            ++failures;
        }
    }
    return failures == 0 ? 0 : 2;
}

}  // namespace nearcast::seeder::server
