#include "options.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "nearcast/core/common_options.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/core/options.hpp"

namespace po = boost::program_options;

namespace nearcast::seeder::server {

namespace {

constexpr const char* usage = R"(nearcast-seeder: an origin seeder that holds a whole catalogue and serves the long tail

Usage: nearcast-seeder COMMAND [OPTIONS]

Commands:
  serve                 seed every item of the catalogue over BitTorrent and HTTP (web seed)
  publish PATH...       hash files or folders into torrents, add them to the catalogue, write
                        DATA_DIR/torrents/NAME.torrent and print the magnet link; a running
                        'serve' picks them up within seconds
  list                  the items of the catalogue, one a line
  info ITEM...          everything about items (ITEM: id, v1 or v2 hash, or name)
  remove ITEM...        remove items from the catalogue (their files stay on disk)
  replicate HASH...     fetch items (v1 hashes) from the fellow seeders: their torrent over
                        HTTP, their content over BitTorrent by 'serve'; 'serve' also does this
                        by itself for the items whose homes it is (see --replicas)

Every option can also be set in an INI file given with --config (names without the dashes).
SIGTERM or SIGINT stops 'serve' cleanly, saving resume data so the next start needs no re-hash.
)";

using core::usage_error;

// The help of one command: its usage line and what it does.
std::string help_of(const std::string& command) {
    static const std::map<std::string, std::string> commands{
        {"serve", "Usage: nearcast-seeder serve [OPTIONS]\n\nSeeds every item of the catalogue over BitTorrent and over HTTP as a web seed (BEP 19),\n"
                  "registers with the trackers, publishes what appears in --watch, keeps --replicas copies among\n"
                  "the fellow seeders, and shares --upload-limit-mb with the long tail first.\n"},
        {"publish", "Usage: nearcast-seeder publish PATH... [OPTIONS]\n\nHashes files or folders into torrents, adds them to the catalogue, writes\n"
                    "DATA_DIR/torrents/NAME.torrent and prints one tab-separated line per item: id, v1 hash, name,\n"
                    "torrent file, magnet link. A running 'serve' on the same --data-dir picks them up within seconds.\n"},
        {"list", "Usage: nearcast-seeder list [OPTIONS]\n\nThe items of the catalogue in --data-dir, one a line.\n"},
        {"info", "Usage: nearcast-seeder info ITEM... [OPTIONS]\n\nEverything about items (ITEM: id, v1 or v2 hash, or name).\n"},
        {"remove", "Usage: nearcast-seeder remove ITEM... [OPTIONS]\n\nRemoves items from the catalogue; their files stay on disk.\n"},
        {"replicate", "Usage: nearcast-seeder replicate HASH... [OPTIONS]\n\nFetches items (v1 hashes) from the fellow seeders: their torrent over HTTP, their content\n"
                      "over BitTorrent by 'serve'.\n"},
    };
    const auto found = commands.find(command);
    return found == commands.end() ? std::string() : found->second;
}

std::string default_name() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "nearcast-seeder";
    return host;
}

// "http://host:port/announce" -> "http://host:port": where a tracker takes POST /origins.
std::string admin_base_of(const std::string& announce) {
    if (!announce.starts_with("http://") && !announce.starts_with("https://")) return {};
    const std::size_t path = announce.find('/', announce.find("://") + 3);
    return path == std::string::npos ? announce : announce.substr(0, path);
}

}  // namespace

std::string host_port::to_string() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

host_port parse_host_port(const std::string& text, const std::string& option) {
    const auto parsed = core::parse_address_port(text);
    if (!parsed) throw usage_error(core::address_port_problem(option, text));
    return {parsed->address.to_string(), parsed->port};
}

parsed_command parse_command_line(int argc, char** argv) {
    parsed_command parsed;
    seeder_options& out = parsed.options;
    std::string bittorrent, http, data_dir;
    std::vector<std::string> positional;
    double upload_limit_mb = 0;
    bool v1_only = false;
    bool no_bittorrent = false;
    std::vector<std::string> fellows;

    core::common_options common("nearcast-seeder");
    po::options_description general("General");
    general.add_options()
        // No -d: that is proximity routing data in the other tools.
        ("data-dir", po::value(&data_dir)->default_value(out.data_dir.string()), "catalogue.db, torrents/ and replicated content/ live here")
        ("name", po::value(&out.name), "this seeder's name, as trackers and fellow seeders know it (default: the host name)");
    po::options_description network("Network");
    network.add_options()
        ("listen-bittorrent", po::value(&bittorrent)->default_value(out.bittorrent.to_string()), "BitTorrent address:port; also the address connections leave from")
        ("listen-http", po::value(&http)->default_value(out.http.to_string()), "HTTP address:port: web seed, /stats, /metrics")
        ("port-file", po::value(&out.port_file), "write 'bittorrent|http ADDR:PORT' lines here once listening")
        ("dht", po::bool_switch(&out.dht), "join the Mainline DHT as well (off: trackers list every seeder)")
        ("no-bittorrent", po::bool_switch(&no_bittorrent), "serve over HTTP only: no BitTorrent port, no announces (a pure web seed)");
    po::options_description content("Content and trackers");
    content.add_options()
        ("tracker", po::value(&out.trackers)->composing(), "tracker announce URL, repeatable; each torrent gets its two owners as BEP 12 tiers")
        ("tracker-admin", po::value(&out.tracker_admins)->composing(), "tracker HTTP base for origin registration, repeatable (default: from the HTTP trackers)")
        ("admin-secret-file", po::value(&out.admin_secret_file), "file whose first line is the trackers' admin secret")
        ("register-every", po::value(&out.register_every_s)->default_value(out.register_every_s), "seconds between registrations with the trackers")
        ("web-seed", po::value(&out.web_seeds)->composing(), "HTTP base of a seeder for BEP 19 web seeds, repeatable (default: this seeder's)")
        ("watch", po::value(&out.watch_dir), "folder whose new files and folders are published (with serve)")
        ("fellow", po::value(&fellows)->composing(), "a fellow seeder as NAME=http://ADDRESS:PORT, repeatable")
        ("replicas", po::value(&out.replicas)->default_value(out.replicas), "every item is kept on this many seeders (with serve)")
        ("replicate-every", po::value(&out.replicate_every_s)->default_value(out.replicate_every_s), "seconds between looks at what the fellows hold")
        ("hybrid", po::bool_switch(&out.hybrid), "publish hybrid v1+v2 torrents (BEP 52; aria2c 1.36 and Transmission 3.00 cannot use them)")
        ("v1-only", po::bool_switch(&v1_only), "publish v1 torrents: the default, kept for old scripts")
        ("piece-kib", po::value(&out.piece_kib)->default_value(0), "piece size in KiB, a power of two >= 16 (default: libtorrent's choice)");
    po::options_description budget("Upload budget (long tail first)");
    budget.add_options()
        ("upload-limit-mb", po::value(&upload_limit_mb)->default_value(0), "upload budget in MB/s for the whole seeder, 0 = none")
        ("self-serving-seeds", po::value(&out.budget.self_serving_seeds)->default_value(out.budget.self_serving_seeds), "a swarm with this many other seeds serves itself")
        ("self-serving-share", po::value(&out.budget.self_serving_share)->default_value(out.budget.self_serving_share), "share of the budget for all self-serving swarms");
    po::options_description hidden;
    hidden.add_options()("arguments", po::value(&positional)->composing());
    po::positional_options_description positions;
    positions.add("arguments", -1);
    po::options_description visible;
    visible.add(common.description()).add(general).add(network).add(content).add(budget);
    po::options_description all;
    all.add(visible).add(hidden);

    try {
        po::variables_map values;
        po::store(po::command_line_parser(argc, argv).options(all).positional(positions).style(core::command_line_style).run(), values);
        if (argc < 2) {
            common.print_help(usage, visible);
            parsed.exit_status = 2;
            return parsed;
        }
        // COMMAND --help: what the command does, then the options (all of them: most commands
        // read the catalogue, the trackers and the network settings alike).
        const auto words = values.count("arguments") ? values["arguments"].as<std::vector<std::string>>() : std::vector<std::string>{};
        const std::string command_help = words.empty() ? std::string() : help_of(words.front());
        if (common.answered(values, command_help.empty() ? std::string(usage) : command_help, visible)) return parsed;
        common.merge_config(values, visible);
        po::notify(values);
        common.apply_log_level(values);
        if (positional.empty()) throw usage_error("no command: serve, publish, list, info, remove or replicate");
        const std::string command = positional.front();
        parsed.items.assign(positional.begin() + 1, positional.end());
        if (command == "serve") parsed.what = parsed_command::action::serve;
        else if (command == "publish") parsed.what = parsed_command::action::publish;
        else if (command == "list") parsed.what = parsed_command::action::list;
        else if (command == "info") parsed.what = parsed_command::action::info;
        else if (command == "remove") parsed.what = parsed_command::action::remove;
        else if (command == "replicate") parsed.what = parsed_command::action::replicate;
        else throw usage_error("unknown command '" + command + "': serve, publish, list, info, remove or replicate");
        const bool takes_items = parsed.what == parsed_command::action::publish ||
                                 parsed.what == parsed_command::action::info || parsed.what == parsed_command::action::remove ||
                                 parsed.what == parsed_command::action::replicate;
        if (takes_items && parsed.items.empty()) throw usage_error(command + " needs at least one argument");
        if (!takes_items && !parsed.items.empty()) throw usage_error(command + " takes no arguments, got '" + parsed.items.front() + "'");
        if (parsed.what == parsed_command::action::publish) out.paths = parsed.items;

        out.data_dir = data_dir;
        out.bittorrent_enabled = !no_bittorrent;
        out.bittorrent = parse_host_port(bittorrent, "--listen-bittorrent");
        out.http = parse_host_port(http, "--listen-http");
        if (out.name.empty()) out.name = default_name();
        if (out.web_seeds.empty()) {
            out.web_seeds.push_back("http://" + out.http.to_string());
            out.web_seed_is_own = true;
        }
        if (out.tracker_admins.empty()) {
            for (const auto& tracker : out.trackers) {
                if (auto base = admin_base_of(tracker); !base.empty()) out.tracker_admins.push_back(base);
            }
        }
        for (const auto& base : out.web_seeds) {
            const bool http_scheme = base.starts_with("http://") || base.starts_with("https://");
            const std::size_t host_at = base.find("://") + 3;
            if (!http_scheme || host_at >= base.size() || base[host_at] == '/') {
                throw usage_error("--web-seed: '" + base + "' is not an http:// or https:// base such as http://127.0.0.1:8080");
            }
        }
        if (!out.watch_dir.empty() && parsed.what == parsed_command::action::serve) {
            std::error_code error;
            if (!std::filesystem::is_directory(out.watch_dir, error)) {
                throw usage_error("--watch: '" + out.watch_dir + "' is not a directory");
            }
        }
        for (const auto& tracker : out.trackers) {
            if (!tracker.starts_with("http://") && !tracker.starts_with("https://") && !tracker.starts_with("udp://")) {
                throw usage_error("--tracker: '" + tracker + "' is not an http://, https:// or udp:// announce URL");
            }
        }
        if (out.hybrid && v1_only) throw usage_error("--hybrid and --v1-only contradict each other: give one");
        if (upload_limit_mb < 0) throw usage_error("--upload-limit-mb must not be negative");
        out.budget.upload_limit = static_cast<std::int64_t>(upload_limit_mb * 1e6);
        if (out.budget.self_serving_share < 0 || out.budget.self_serving_share > 1) {
            throw usage_error("--self-serving-share must be 0 to 1");
        }
        if (out.piece_kib < 0) throw usage_error("--piece-kib must not be negative");
        if (out.register_every_s == 0) throw usage_error("--register-every must be at least 1 second");
        if (out.replicate_every_s == 0) throw usage_error("--replicate-every must be at least 1 second");
        if (out.replicas == 0) throw usage_error("--replicas must be at least 1");
        for (const auto& fellow : fellows) {
            const std::size_t equals = fellow.find('=');
            if (equals == std::string::npos || equals == 0 || fellow.compare(equals + 1, 7, "http://") != 0) {
                throw usage_error("--fellow: '" + fellow + "' is not NAME=http://ADDRESS:PORT");
            }
            out.fellows.emplace_back(fellow.substr(0, equals), fellow.substr(equals + 1));
        }
        if (parsed.what == parsed_command::action::replicate && out.fellows.empty()) {
            throw usage_error("replicate needs at least one --fellow to fetch from");
        }
    } catch (const std::exception& error) {
        parsed.what = parsed_command::action::exit;
        parsed.exit_status = common.refuse(error);
    }
    return parsed;
}

}  // namespace nearcast::seeder::server
