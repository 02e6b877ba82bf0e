// nearcast-seeder's settings: a command, flags and an INI config file (Boost.Program_options).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nearcast/seeder/upload_budget.hpp"

namespace nearcast::seeder::server {

struct host_port {
    std::string host;  // an address: 127.0.0.1 or ::1 (no brackets)
    std::uint16_t port = 0;
    std::string to_string() const;  // [::1]:80 for IPv6
};

struct seeder_options {
    std::filesystem::path data_dir = "nearcast-seeder-data";  // catalogue.db, torrents/, content/
    std::string name;                                          // this seeder, to trackers and fellows
    std::vector<std::string> trackers;       // announce URLs written into torrents (the ring picks two)
    std::vector<std::string> tracker_admins; // HTTP bases for POST /origins; default: from HTTP trackers
    std::string admin_secret_file;           // bearer secret for POST /origins
    std::vector<std::string> web_seeds;      // HTTP bases of every seeder; default: this one's
    host_port bittorrent{"127.0.0.1", 6881};
    host_port http{"127.0.0.1", 8080};
    std::string port_file;                   // written once listening: "bittorrent|http ADDR:PORT"
    bool dht = false;
    bool bittorrent_enabled = true;          // false: HTTP web seed only, no BitTorrent at all
    bool web_seed_is_own = false;            // web_seeds is this seeder's own base (no --web-seed given)
    upload_budget_config budget;
    std::uint32_t register_every_s = 60;
    std::string watch_dir;                   // files and folders dropped here are published
    std::vector<std::pair<std::string, std::string>> fellows;  // name, HTTP base of each fellow seeder
    std::size_t replicas = 2;                // every item on this many seeders
    std::uint32_t replicate_every_s = 30;

    // publish
    std::vector<std::string> paths;
    bool hybrid = false;  // publish hybrid v1+v2 torrents (default: v1, which every client reads)
    int piece_kib = 0;

    std::filesystem::path catalogue_file() const { return data_dir / "catalogue.db"; }
    std::filesystem::path torrent_dir() const { return data_dir / "torrents"; }
    std::filesystem::path content_dir() const { return data_dir / "content"; }  // replicas land here
};

struct parsed_command {
    enum class action { serve, publish, list, info, remove, replicate, exit } what = action::exit;
    seeder_options options;
    int exit_status = 0;
    std::vector<std::string> items;  // for info and remove: ids, hashes or names
};

// Parses argv and sets the log level; prints help, the version and usage errors itself (usage
// errors: exit status 2).
parsed_command parse_command_line(int argc, char** argv);

host_port parse_host_port(const std::string& text, const std::string& option);

}  // namespace nearcast::seeder::server
