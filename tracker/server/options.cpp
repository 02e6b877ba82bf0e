#include "options.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>

#include "nearcast/core/common_options.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/core/options.hpp"

namespace po = boost::program_options;

namespace nearcast::tracker::server {

namespace {

constexpr const char* usage = R"(nearcast-tracker: a BitTorrent tracker that introduces each peer to its nearest peers

Usage: nearcast-tracker [OPTIONS]
  or:  nearcast-tracker token --token-secret-file FILE --subject NAME [--ttl SECONDS]

Serves BitTorrent announce and scrape over HTTP (BEP 3, 23, 7, 48) and UDP (BEP 15), plus
/stats (JSON), /metrics (Prometheus) and POST /origins (origin seeders register their
catalogue, with 'Authorization: Bearer <admin secret>'). Every option can also be set in an
INI file given with --config (option names without the leading dashes). SIGTERM or SIGINT
stops it cleanly; SIGHUP reloads the proximity data.
)";

std::optional<proximity::nearness> parse_nearness(const std::string& text) {
    for (auto kind : {proximity::nearness::same_subnet, proximity::nearness::same_prefix, proximity::nearness::same_as,
                      proximity::nearness::adjacent_as, proximity::nearness::as_hops}) {
        if (proximity::to_string(kind) == text) return kind;
    }
    return std::nullopt;
}

using core::usage_error;

}  // namespace

std::string listen_address::to_string() const {
    return address.is_v6() ? "[" + address.to_string() + "]:" + std::to_string(port)
                           : address.to_string() + ":" + std::to_string(port);
}

std::optional<listen_address> parse_listen_address(const std::string& text) {
    const auto parsed = core::parse_address_port(text);
    if (!parsed) return std::nullopt;
    const auto address = proximity::ip_address::parse(parsed->address.to_string());
    if (!address) return std::nullopt;
    return listen_address{*address, parsed->port};
}

std::string read_secret(const std::string& path, const std::string& what) {
    core::require_readable_file(path, what);  // no such file, a directory, empty: said as such
    std::ifstream file(path);
    std::string secret;
    if (!file || !std::getline(file, secret)) throw core::input_file_error(what + " '" + path + "': cannot read the secret");
    if (secret.empty()) throw core::input_file_error(what + " '" + path + "': its first line (the secret) is empty");
    if (secret.size() < 16) {
        throw core::input_file_error(what + " '" + path + "': the secret (its first line) must be at least 16 bytes, not " +
                                     std::to_string(secret.size()));
    }
    return secret;
}

parsed_command parse_command_line(int argc, char** argv) {
    parsed_command parsed;
    server_options& out = parsed.options;
    tracker_config& config = out.tracker;
    std::vector<std::string> http, udp, proxies;
    std::string origin_near;
    bool no_proximity = false;

    core::common_options common("nearcast-tracker");
    po::options_description general("General");
    general.add_options()
        ("listen-http", po::value(&http)->composing(), "HTTP address:port, repeatable; [::1]:port for IPv6 (default 127.0.0.1:6969)")
        ("listen-udp", po::value(&udp)->composing(), "UDP address:port, repeatable (default 127.0.0.1:6969)")
        ("port-file", po::value(&out.port_file), "write 'http|udp ADDR:PORT' lines here once listening (port 0 picks one)")
        ("data,d", po::value(&out.data)->composing(), "proximity routing data, repeatable (default: the default snapshot installed with the tools)");
    po::options_description swarm_options("Swarms and answers");
    swarm_options.add_options()
        ("interval", po::value(&config.interval)->default_value(config.interval), "announce interval, seconds")
        ("min-interval", po::value(&config.min_interval)->default_value(config.min_interval), "minimum announce interval")
        ("numwant-default", po::value(&config.default_numwant)->default_value(config.default_numwant), "peers per answer when the client does not say")
        ("numwant-max", po::value(&config.max_numwant)->default_value(config.max_numwant), "most peers per answer")
        ("max-swarms", po::value(&config.max_swarms)->default_value(config.max_swarms), "most swarms tracked")
        ("max-peers-per-swarm", po::value(&config.max_peers_per_swarm)->default_value(config.max_peers_per_swarm), "most peers listed per swarm")
        ("no-proximity", po::bool_switch(&no_proximity), "random peers, as other trackers give")
        ("far-share", po::value(&config.selection.far_share)->default_value(config.selection.far_share), "share of an answer given to random far peers")
        ("scan-limit", po::value(&config.selection.scan_limit)->default_value(config.selection.scan_limit), "peers ranked per answer in a huge swarm")
        ("subnet-v4", po::value(&config.selection.distance.subnet_v4)->default_value(24), "IPv4 same-subnet length")
        ("subnet-v6", po::value(&config.selection.distance.subnet_v6)->default_value(48), "IPv6 same-subnet length")
        ("max-as-hops", po::value(&config.selection.distance.max_as_hops)->default_value(6), "AS hops beyond which peers are unknown")
        ("expire-every", po::value(&out.expire_every_s)->default_value(out.expire_every_s), "seconds between expiry sweeps")
        ("max-connections", po::value(&out.max_connections)->default_value(out.max_connections), "open HTTP connections per listener; past it new ones are closed at once");
    po::options_description origin_options("Origin backstop");
    origin_options.add_options()
        ("origin-min-near-seeds", po::value(&config.origins.min_near_seeds)->default_value(config.origins.min_near_seeds), "fewer near seeds than this calls in the origin")
        ("origin-near-class", po::value(&origin_near)->default_value("adjacent-as"), "how near a seed must be to count: same-subnet, same-prefix, same-as, adjacent-as")
        ("origin-max", po::value(&config.origins.max_origins)->default_value(config.origins.max_origins), "most origins in one answer")
        ("origin-ttl", po::value(&config.origin_ttl)->default_value(config.origin_ttl), "seconds a registration lasts unless renewed")
        ("admin-secret-file", po::value(&out.admin_secret_file), "file whose first line is the bearer secret for POST /origins");
    po::options_description supernode_options("Supernodes");
    supernode_options.add_options()
        ("supernode-ratio", po::value(&out.supernode_ratio)->default_value(out.supernode_ratio), "peers per supernode in each AS")
        ("supernode-admission", po::value(&out.supernode_admission)->default_value(out.supernode_admission), "children a supernode takes on")
        ("popular-listed", po::value(&out.popular_listed)->default_value(out.popular_listed), "the items most started in its AS that a supernode's answer lists (what it may pre-fetch)")
        ("supernode-election-every", po::value(&out.supernode_election_s)->default_value(out.supernode_election_s), "seconds between elections and reachability checks")
        ("supernode-min-uptime", po::value(&out.supernode_min_uptime_s)->default_value(out.supernode_min_uptime_s), "seconds a candidate must have been reporting")
        ("supernode-min-capacity", po::value(&out.supernode_min_capacity)->default_value(out.supernode_min_capacity), "upload bytes/s a candidate must have measured")
        ("supernode-min-peers", po::value(&out.supernode_min_peers)->default_value(out.supernode_min_peers), "an AS with this many peers gets at least one supernode")
        ("supernode-split-at", po::value(&out.supernode_split_at)->default_value(out.supernode_split_at), "an AS with this many peers gets its supernodes per announced prefix (0: never)");
    po::options_description protection("Protection");
    protection.add_options()
        ("announce-rate-limit", po::value(&config.announce_rate)->default_value(config.announce_rate), "announces per second per address, 0 = off")
        ("announce-burst", po::value(&config.announce_burst)->default_value(config.announce_burst), "burst allowed per address")
        ("trusted-proxy", po::value(&proxies)->composing(), "prefix whose requests may set the ip parameter, repeatable")
        ("closed", po::bool_switch(&config.closed), "track registered content only, with an access token in the path")
        ("token-secret-file", po::value(&out.token_secret_file), "file whose first line is the access token secret")
        ("full-scrape", po::bool_switch(&config.full_scrape), "allow a scrape of every swarm");
    po::options_description token_options("Minting a token (nearcast-tracker token ...)");
    token_options.add_options()
        ("subject", po::value(&parsed.token_subject), "who the token is for")
        ("ttl", po::value(&parsed.token_ttl_s)->default_value(parsed.token_ttl_s), "seconds the token is valid");
    po::options_description all;
    all.add(common.description()).add(general).add(swarm_options).add(origin_options).add(supernode_options).add(protection).add(token_options);

    try {
        std::vector<std::string> args(argv + 1, argv + argc);
        if (!args.empty() && args.front() == "token") {
            parsed.what = parsed_command::action::mint_token;
            args.erase(args.begin());
        }
        po::variables_map values;
        const po::parsed_options given = po::command_line_parser(args).options(all).style(core::command_line_style).run();
        core::refuse_extra_arguments(po::collect_unrecognized(given.options, po::include_positional),
                                     parsed.what == parsed_command::action::mint_token ? "token" : "nearcast-tracker");
        po::store(given, values);
        if (common.answered(values, usage, all)) {
            parsed.what = parsed_command::action::exit;
            return parsed;
        }
        common.merge_config(values, all);
        po::notify(values);
        common.apply_log_level(values);

        for (const auto& text : http.empty() ? std::vector<std::string>{"127.0.0.1:6969"} : http) {
            const auto address = parse_listen_address(text);
            if (!address) throw usage_error(core::address_port_problem("--listen-http", text));
            out.http.push_back(*address);
        }
        for (const auto& text : udp.empty() ? std::vector<std::string>{"127.0.0.1:6969"} : udp) {
            const auto address = parse_listen_address(text);
            if (!address) throw usage_error(core::address_port_problem("--listen-udp", text));
            out.udp.push_back(*address);
        }
        for (const auto& text : proxies) {
            const auto prefix = proximity::ip_prefix::parse(text, true);
            if (!prefix) throw usage_error("--trusted-proxy: '" + text + "' is not a prefix such as 10.0.0.0/8");
            config.trusted_proxies.push_back(*prefix);
        }
        const auto near = parse_nearness(origin_near);
        if (!near || *near == proximity::nearness::as_hops) {
            throw usage_error("--origin-near-class: '" + origin_near + "' is not same-subnet, same-prefix, same-as or adjacent-as");
        }
        config.origins.near_enough = *near;
        config.proximity = !no_proximity;
        if (config.selection.far_share < 0 || config.selection.far_share > 1) throw usage_error("--far-share must be 0 to 1");
        if (out.supernode_ratio < 1) throw usage_error("--supernode-ratio must be at least 1");
        if (out.supernode_admission == 0) throw usage_error("--supernode-admission must be at least 1");
        if (out.supernode_election_s == 0) throw usage_error("--supernode-election-every must be at least 1");
        if (config.interval == 0) throw usage_error("--interval must be at least 1 second");
        if (config.min_interval > config.interval) throw usage_error("--min-interval must not exceed --interval");
        if (config.max_numwant == 0) throw usage_error("--numwant-max must be at least 1");
        if (config.default_numwant == 0) throw usage_error("--numwant-default must be at least 1");
        if (config.default_numwant > config.max_numwant) {
            throw usage_error("--numwant-default " + std::to_string(config.default_numwant) + " is more than --numwant-max " +
                              std::to_string(config.max_numwant) + ": an answer never holds more than the most");
        }
        if (out.max_connections == 0) throw usage_error("--max-connections must be at least 1");
        if (out.expire_every_s == 0) throw usage_error("--expire-every must be at least 1 second");
        if (config.selection.scan_limit == 0) throw usage_error("--scan-limit must be at least 1");
        if (config.max_swarms == 0) throw usage_error("--max-swarms must be at least 1");
        if (config.max_peers_per_swarm == 0) throw usage_error("--max-peers-per-swarm must be at least 1");
        if (parsed.what == parsed_command::action::mint_token && parsed.token_ttl_s == 0) {
            throw usage_error("--ttl must be at least 1 second");
        }
        // A larger one would overflow the expiry time into the past.
        if (parsed.what == parsed_command::action::mint_token && parsed.token_ttl_s > max_token_ttl_s) {
            throw usage_error("--ttl must be at most " + std::to_string(max_token_ttl_s) + " seconds (10 years), not " +
                              std::to_string(parsed.token_ttl_s));
        }
        if (config.selection.distance.subnet_v4 > 32 || config.selection.distance.subnet_v6 > 128) {
            throw usage_error("--subnet-v4 must be 0 to 32 and --subnet-v6 0 to 128");
        }
        if (config.closed && out.token_secret_file.empty()) throw usage_error("--closed needs --token-secret-file");
        if (parsed.what == parsed_command::action::mint_token &&
            (out.token_secret_file.empty() || parsed.token_subject.empty())) {
            throw usage_error("token needs --token-secret-file and --subject");
        }
        if (parsed.what == parsed_command::action::mint_token) {
            const std::string& subject = parsed.token_subject;
            const bool valid = subject.size() <= 64 && std::all_of(subject.begin(), subject.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
            });
            if (!valid) throw usage_error("--subject: '" + subject + "' must be 1 to 64 of A-Z, a-z, 0-9, '-' and '_'");
        }
    } catch (const std::exception& error) {
        parsed.what = parsed_command::action::exit;
        parsed.exit_status = common.refuse(error);
    }
    return parsed;
}

}  // namespace nearcast::tracker::server
