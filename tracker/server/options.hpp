// nearcast-tracker's settings: flags and an INI config file, through Boost.Program_options.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nearcast/tracker/tracker_state.hpp"

namespace nearcast::tracker::server {

struct listen_address {
    proximity::ip_address address;
    std::uint16_t port = 0;
    std::string to_string() const;
};

struct server_options {
    std::vector<listen_address> http;
    std::vector<listen_address> udp;
    std::string port_file;                // written once listening: "http ADDR:PORT" lines
    std::vector<std::string> data;        // proximity sources or one snapshot
    tracker_config tracker;
    std::string token_secret_file;        // closed mode's HMAC secret
    std::string admin_secret_file;        // bearer secret for origin registration
    std::uint32_t expire_every_s = 30;
    std::size_t max_connections = 10'000;  // open HTTP connections, all listeners each
    // Supernodes: the election's ratio and admission limit, how often it runs.
    double supernode_ratio = 300;
    std::uint32_t supernode_admission = 50;
    std::uint32_t popular_listed = 20;  // items of its AS a supernode's answer lists (what it may pre-fetch)
    std::uint32_t supernode_election_s = 60;
    double supernode_min_uptime_s = 3600;
    double supernode_min_capacity = 256 * 1024;
    std::uint32_t supernode_min_peers = 20;
    std::uint64_t supernode_split_at = 5000;  // an AS with this many peers is served per prefix
};

// What the command line asked for.
struct parsed_command {
    enum class action { serve, mint_token, exit } what = action::serve;
    server_options options;
    int exit_status = 0;                  // for action::exit (--help, bad usage)
    std::string token_subject;            // for mint_token
    std::uint64_t token_ttl_s = 86400;
};

// Parses argv and sets the log level; prints help, the version or usage errors itself. Usage
// errors exit with status 2.
parsed_command parse_command_line(int argc, char** argv);

std::optional<listen_address> parse_listen_address(const std::string& text);
// The first line of a secret file, at least 16 bytes; throws core::input_file_error naming
// `what` (the option, e.g. "--admin-secret-file") and the file, and saying what is wrong: no
// such file, a directory, empty, or too short.
std::string read_secret(const std::string& path, const std::string& what = "secret file");

// The longest --ttl a minted token may have: 10 years.
inline constexpr std::uint64_t max_token_ttl_s = 10ull * 366 * 86400;

}  // namespace nearcast::tracker::server
