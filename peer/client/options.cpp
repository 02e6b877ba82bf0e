#include "options.hpp"

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include "nearcast/core/common_options.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/core/options.hpp"
#include "nearcast/peer/item_source.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

namespace po = boost::program_options;

namespace nearcast::peer::client {

namespace {

constexpr const char* usage = R"(nearcast-peer: fetch and stream content from the nearest peers

Usage: nearcast-peer fetch|stream ITEM [OPTIONS]
   or:  nearcast-peer daemon [OPTIONS]
   or:  nearcast-peer ui [--no-open] [--cache CACHE]
   or:  nearcast-peer list|status|pause|resume|remove|limits|open [ID...|ITEM] [OPTIONS]

Commands:
  fetch ITEM            download ITEM into --output with a progress bar; exits 0 only when every
                        piece is verified; run it again after a crash and it resumes
  stream ITEM           download ITEM and serve it at once on a local HTTP URL (printed on
                        stdout) that a media player can open; byte ranges and seeks wait for
                        their pieces instead of failing
  daemon                a long-running service: a cache folder under a disk quota (least
                        recently used items go first), seeding what it holds, upload limits
                        and a monthly cap, and a control API on 127.0.0.1 with a token that
                        fetch and stream use when the daemon runs (see --no-daemon)
  ui                    the running daemon's web interface: prints a login link that works
                        once, within a minute, and opens it in the browser (see --no-open)

The remote drives a running daemon (the token is read from CACHE/control.json):
  list                  the daemon's items: progress, size, rate, ETA, state, name
  status ID             one item in full
  pause ID...           pauses items; resume ID... resumes them
  remove ID...          removes items and their files (--keep-data keeps the files)
  limits                shows the limits; --upload-limit-kb, --download-limit-kb,
                        --monthly-cap-mb, --uploading on|off and --reset change them
  open ITEM             hands ITEM to the daemon, starting one when none runs (the desktop's
                        handler of magnet links and .torrent files)
Each takes --json for scripts. ID is an item's info hash, an unambiguous start of one (any length,
either case), or its name.

ITEM is a .torrent file, a magnet link, or the http(s) URL of a .torrent.

Traffic stays near: peers are ranked by network distance from real BGP data (same subnet,
prefix, AS, adjacent AS); far peers get few connections and a rate limit; peer exchange is off.
Every option can also be set in an INI file given with --config (names without the dashes);
without --config, ~/.config/nearcast/peer.conf ($XDG_CONFIG_HOME) is read when it exists.
SIGTERM or SIGINT stops cleanly; a later run resumes without downloading verified pieces again.
)";

constexpr const char* fetch_usage = R"(Usage: nearcast-peer fetch ITEM [-o DIR] [OPTIONS]

Downloads ITEM (a .torrent file, a magnet link or the http(s) URL of a .torrent) into DIR with a
progress bar, from the nearest peers first. Files are NAME.part until every piece is verified;
exit 0 only then. Stopped or killed, a later run resumes without downloading verified pieces
again. When a daemon runs for the cache, it fetches and the checked copy lands in DIR
(--no-daemon works alone).
)";

constexpr const char* stream_usage = R"(Usage: nearcast-peer stream ITEM [OPTIONS]

Downloads ITEM and serves it at once on a local HTTP URL, printed on stdout once the head of
the file is here, for a media player or a browser. Byte ranges and seeks wait for their pieces
instead of failing. When a daemon runs for the cache, the daemon streams it (--no-daemon
works alone).
)";

constexpr const char* daemon_usage = R"(Usage: nearcast-peer daemon [OPTIONS]

A long-running service: a cache folder under a disk quota (least recently used items go
first), seeding what it holds, upload limits and a monthly cap, a control API and a web
interface on 127.0.0.1 with a token (CACHE/control.json) that fetch, stream and the remote use.
With --supernode-tracker it offers itself as its network's supernode.
)";

using core::usage_error;

struct remote_command_help {
    const char* usage;
    std::vector<const char*> options;  // beyond the common ones, --cache and --json
};

// Each command of the remote, with the help `nearcast-peer COMMAND --help` prints and the
// options it takes.
const std::map<std::string, remote_command_help>& remote_commands() {
    static const std::map<std::string, remote_command_help> commands{
        {"list", {R"(Usage: nearcast-peer list [--json] [--cache DIR]

The items of the daemon that runs for the cache: an id (the start of the info hash), progress,
size, download rate, ETA, state and name, one line each, then the totals. --json prints the
daemon's own description of every item.
)", {}}},
        {"status", {R"(Usage: nearcast-peer status ID [--json] [--cache DIR]

One item of the running daemon in full: state, progress, rate, ETA, peers, bytes from near
peers, far peers and the origin, where its files are, its stream URL. ID is the item's info
hash, an unambiguous start of one (any length, either case), or its name.
)", {}}},
        {"pause", {R"(Usage: nearcast-peer pause ID... [--json] [--cache DIR]

Pauses the items: nothing is downloaded or uploaded for them until `resume`.
)", {}}},
        {"resume", {R"(Usage: nearcast-peer resume ID... [--json] [--cache DIR]

Resumes paused items.
)", {}}},
        {"remove", {R"(Usage: nearcast-peer remove ID... [--keep-data] [--json] [--cache DIR]

Removes the items from the daemon, and their files from its cache unless --keep-data is given.
)", {"keep-data"}}},
        {"limits", {R"(Usage: nearcast-peer limits [--upload-limit-kb N] [--download-limit-kb N]
                            [--monthly-cap-mb N] [--uploading on|off] [--reset] [--json]

Shows the daemon's limits and what it uploaded this month; with options, changes them first
(0 means none). The daemon keeps what is changed here across restarts; --reset goes back to
the limits of its command line and config file.
)", {"upload-limit-kb", "download-limit-kb", "monthly-cap-mb", "uploading", "reset"}}},
        {"open", {R"(Usage: nearcast-peer open [ITEM] [--json] [--no-open] [--cache DIR] [-c FILE]

Hands ITEM (a .torrent file, a file:// URL of one, a magnet link or an http(s) URL of a
.torrent) to the daemon that runs for the cache, and starts one (`nearcast-peer daemon`, with
the same --cache and --config, its log in CACHE/daemon.log) when none runs. Without ITEM it
opens the daemon's web interface, as `ui` does. This is what the desktop runs for a magnet
link, a .torrent file, or the nearcast entry of its menu.
)", {"no-open"}}},
        {"ui", {R"(Usage: nearcast-peer ui [--no-open] [--cache DIR]

The running daemon's web interface: prints a login link that works once, within a minute, and
opens it in the browser when there is a display (--no-open: only print it). The control token
never goes into a URL.
)", {"no-open"}}},
    };
    return commands;
}

// The flags that were given on the command line itself (not from a config file, not defaults).
// The commands that run in this process (not through the daemon), each with its own --help.
bool runs_here(const std::string& command) { return command == "fetch" || command == "stream" || command == "daemon"; }

std::vector<std::string> given_flags(const po::variables_map& values) {
    std::vector<std::string> out;
    for (const auto& [name, value] : values) {
        if (!value.defaulted() && name != "arguments") out.push_back(name);
    }
    return out;
}

proximity::nearness parse_nearness(const std::string& text) {
    using proximity::nearness;
    if (text == "same-subnet") return nearness::same_subnet;
    if (text == "same-prefix") return nearness::same_prefix;
    if (text == "same-as") return nearness::same_as;
    if (text == "adjacent-as") return nearness::adjacent_as;
    throw usage_error("--near: '" + text + "' is not same-subnet, same-prefix, same-as or adjacent-as");
}

// An old name of a flag, still read (from a config file too) with a warning: --bind for
// --listen-bittorrent, --control for --listen-control, as the seeder and tracker name theirs.
void take_old_name(const po::variables_map& values, const std::string& old_name, const std::string& name, const std::string& given,
                   std::string& target) {
    if (!values.count(old_name)) return;
    if (!values[name].defaulted()) throw usage_error("--" + old_name + " is the old name of --" + name + ": give only --" + name);
    spdlog::warn("--{} is deprecated: it is --{} now", old_name, name);
    target = given;
}

std::int64_t kilobytes(double value, const char* option) {
    if (value < 0) throw usage_error(std::string(option) + " must not be negative");
    return static_cast<std::int64_t>(value * 1000);
}

}  // namespace

boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& text, const std::string& option) {
    const auto parsed = core::parse_address_port(text);
    if (!parsed) throw item_error(core::address_port_problem(option, text));
    return {parsed->address, parsed->port};
}

std::string endpoint_text(const boost::asio::ip::address& address, std::uint16_t port) {
    return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" + std::to_string(port);
}

std::filesystem::path default_config_file() {
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "nearcast" / "peer.conf";
    if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".config" / "nearcast" / "peer.conf";
    return {};
}

std::filesystem::path default_cache_folder() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "nearcast";
    if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "nearcast";
    return "nearcast-cache";
}

parsed_command parse_command_line(int argc, char** argv) {
    parsed_command parsed;
    peer_options& out = parsed.options;
    std::string output, near = "same-as", web_seeds = "backstop", old_bind, old_control;
    std::vector<std::string> positional;
    double upload_kb = 0, download_kb = 0, far_upload_kb = 100, far_download_kb = 0, window_mb = 16;
    double defer_min_near_kb = static_cast<double>(out.deference.min_near_rate) / 1000;
    double defer_floor_s = static_cast<double>(out.deference.unproven_judge_ms) / 1000;
    bool no_locality = false;

    core::common_options common("nearcast-peer", {.config_file = true, .progress = true});
    po::options_description general("General");
    general.add_options()
        ("output,o", po::value(&output)->default_value(out.output.string()), "folder the content is written to (with a daemon running and no -o, it stays in the daemon's cache: status shows where)")
        ("report", po::value(&out.report_file), "write a JSON summary here on exit: bytes from near, far and origin, completion, seconds")
        ("seed-for", po::value(&out.seed_for_s)->default_value(out.seed_for_s), "fetch: seconds to keep seeding once complete")
        ("stall-timeout", po::value(&out.stall_timeout_s)->default_value(out.stall_timeout_s), "give up after this many seconds in which no byte arrives (and no metadata, for a magnet link), whether or not trackers answer");
    po::options_description network("Network");
    network.add_options()
        ("listen-bittorrent", po::value(&out.listen_bittorrent)->default_value(out.listen_bittorrent), "BitTorrent address:port; connections leave from this address (given none, a fetch, a stream or a daemon takes a free port when this one is taken)")
        ("bind", po::value(&old_bind), "deprecated: the old name of --listen-bittorrent")
        ("public-ip", po::value(&out.public_ip), "the address other networks see, when --listen-bittorrent is a wildcard (default: what the tracker reports)")
        ("port-file", po::value(&out.port_file), "write 'bittorrent ADDR:PORT' here once listening, and 'http ADDR:PORT' (stream) or 'control ADDR:PORT' (daemon)")
        ("dht", po::bool_switch(&out.dht), "use the Mainline DHT as well as the trackers")
        ("upload-limit-kb", po::value(&upload_kb)->default_value(0), "upload limit in kB/s, 0 = none")
        ("download-limit-kb", po::value(&download_kb)->default_value(0), "download limit in kB/s, 0 = none");
    po::options_description locality("Locality");
    locality.add_options()
        ("data,d", po::value(&out.data), "proximity snapshot (or routing files) to rank peers with, or a tracker's http(s)://HOST/proximity.ncprox (default: $NEARCAST_PROX_DATA or the default snapshot installed with the tools)")
        ("near", po::value(&near)->default_value(near), "what counts as near: same-subnet, same-prefix, same-as, adjacent-as")
        ("max-far", po::value(&out.locality_rules.max_far_connections)->default_value(out.locality_rules.max_far_connections), "far connections kept while near peers are connected")
        ("far-upload-limit-kb", po::value(&far_upload_kb)->default_value(far_upload_kb), "upload to all far peers together, kB/s, 0 = none")
        ("far-download-limit-kb", po::value(&far_download_kb)->default_value(far_download_kb), "download from all far peers together, kB/s, 0 = none")
        ("web-seeds", po::value(&web_seeds)->default_value(web_seeds), "the origin's HTTP web seeds: backstop (only when BitTorrent delivers too little), always, never")
        ("origin", po::value(&out.origins)->composing(), "address of an origin seeder (never rate-limited), repeatable; web-seed hosts are origins already")
        ("defer-origin-at", po::value(&out.deference.hold_at)->default_value(out.deference.hold_at), "origin deference: leave the origin to the network's gateway (the near nearcast peer with the lowest address still downloading) and, with no near downloader, leave the origin alone while near seeds that proved themselves beside it hold this many pieces we lack, until they hold a quarter of it (0: never defer; streams never do)")
        ("defer-min-near-kb", po::value(&defer_min_near_kb)->default_value(defer_min_near_kb), "origin deference: near seeds must deliver at least this many kB/s, and at least what the origin delivers beside them, over half a second before the origin is left alone; then they must keep 95% of the pace both made, or the origin is let in for 20 s")
        ("defer-floor-s", po::value(&defer_floor_s)->default_value(defer_floor_s), "origin deference: a follower (or a gateway whose near peers hold all it lacks) must get --defer-min-near-kb from near peers, averaged over this many seconds once they hold something it lacks; a follower that falls behind passes its gateway over for 2 minutes, anyone else lets the origin in for 20 s (0: not judged)")
        ("no-locality", po::bool_switch(&no_locality), "plain BitTorrent: no ranking, no far limits (for comparison)");
    po::options_description stream("Stream");
    stream.add_options()
        ("file", po::value(&out.file_index)->default_value(-1), "the file of a multi-file torrent to stream, from 0 (default: the largest)")
        ("listen-http", po::value(&out.listen_http)->default_value(out.listen_http), "address:port of the local HTTP server (port 0: any free port)")
        ("window-mb", po::value(&window_mb)->default_value(window_mb), "how far ahead of the play position pieces get deadlines, MB");
    std::string cache;
    double quota_mb = 10'000, monthly_cap_mb = 0;
    bool no_upload = false, no_daemon = false, no_open = false;
    po::options_description daemon("Daemon");
    daemon.add_options()
        ("cache", po::value(&cache), "the daemon's folder: content/, torrents/, index.json, control.json (default: $XDG_CACHE_HOME/nearcast or ~/.cache/nearcast)")
        ("quota-mb", po::value(&quota_mb)->default_value(quota_mb), "disk quota of the cache in MB; the least recently used items are removed to stay under it")
        ("monthly-cap-mb", po::value(&monthly_cap_mb)->default_value(0), "upload at most this many MB a calendar month (UTC), 0 = no cap")
        ("no-upload", po::bool_switch(&no_upload), "upload nothing (the switch; the control API turns it back on)")
        ("listen-control", po::value(&out.listen_control)->default_value(out.listen_control), "address:port of the control API, on loopback (port 0: any free port, written to CACHE/control.json); limits it changes are kept in CACHE/index.json and win over these flags at the next start")
        ("control", po::value(&old_control), "deprecated: the old name of --listen-control")
        ("no-daemon", po::bool_switch(&no_daemon), "fetch and stream: work alone even when a daemon runs")
        ("no-open", po::bool_switch(&no_open), "ui: print the login link, do not open a browser");
    double origin_trickle_kb = 64;
    po::options_description supernode("Supernode (daemon)");
    supernode.add_options()
        ("supernode-tracker", po::value(&out.supernode_tracker), "offer this daemon as a supernode to the tracker at this URL (http://HOST:PORT): it reports its measured upload, and once elected pre-fetches what is popular in its AS and serves its neighbourhood")
        ("tracker-token", po::value(&out.tracker_token), "the access token of a closed --supernode-tracker (nearcast-tracker token ...)")
        ("admin-secret-file", po::value(&out.admin_secret_file), "an operator's server: register with the tracker's admin secret (a larger admission limit)")
        ("prefetch-items", po::value(&out.prefetch_items)->default_value(out.prefetch_items), "popular items a supernode pre-fetches at most")
        ("prefetch-min-requests", po::value(&out.prefetch_min_requests)->default_value(out.prefetch_min_requests), "a supernode pre-fetches only items requested at least this often in its AS (the tracker's count)")
        ("origin-trickle-kb", po::value(&origin_trickle_kb)->default_value(origin_trickle_kb), "a supernode's download from the origin while fellow supernodes can relay the items, kB/s");
    std::string uploading_switch;
    bool json = false, keep_data = false, reset = false;
    po::options_description remote("Remote (list, status, pause, resume, remove, limits, open)");
    remote.add_options()
        ("json", po::bool_switch(&json), "print the daemon's JSON, for scripts")
        ("keep-data", po::bool_switch(&keep_data), "remove: keep the item's files on disk")
        ("uploading", po::value(&uploading_switch), "limits: on or off")
        ("reset", po::bool_switch(&reset), "limits: back to the daemon's configured limits");
    po::options_description hidden;
    hidden.add_options()("arguments", po::value(&positional)->composing());
    po::positional_options_description positions;
    positions.add("arguments", -1);
    po::options_description visible;
    visible.add(common.description()).add(general).add(network).add(locality).add(stream).add(daemon).add(supernode).add(remote);
    po::options_description all;
    all.add(visible).add(hidden);
    // A remote command's help shows its own options, --cache and --json, then the common ones.
    const auto remote_options_of = [&](const remote_command_help& command) {
        po::options_description own("Options");
        std::vector<std::string> names(command.options.begin(), command.options.end());
        names.insert(names.end(), {"cache", "json"});
        for (const auto& name : names) {
            for (const auto& option : all.options()) {
                if (option->long_name() == name) own.add(option);
            }
        }
        po::options_description shown;
        shown.add(own).add(common.description());
        return shown;
    };
    // limits --help: the limits it changes have no default there (one not given stays as it is).
    po::options_description limit_changes("Limits (each one given is changed; the others stay)");
    limit_changes.add_options()
        ("upload-limit-kb", po::value<double>(), "upload limit in kB/s, 0 = none")
        ("download-limit-kb", po::value<double>(), "download limit in kB/s, 0 = none")
        ("monthly-cap-mb", po::value<double>(), "upload at most this many MB a calendar month (UTC), 0 = no cap")
        ("uploading", po::value<std::string>(), "on or off")
        ("reset", "back to the daemon's configured limits");
    const auto limits_options = [&] {
        po::options_description own("Options");
        for (const auto& option : all.options()) {
            if (option->long_name() == "cache" || option->long_name() == "json") own.add(option);
        }
        po::options_description shown;
        shown.add(limit_changes).add(own).add(common.description());
        return shown;
    };
    // fetch, stream and daemon --help: the options each one uses.
    const auto options_named = [&](const char* title, std::initializer_list<const char*> names) {
        po::options_description own(title);
        for (const auto* name : names) {
            for (const auto& option : all.options()) {
                if (option->long_name() == name) own.add(option);
            }
        }
        return own;
    };
    const auto fetch_options = [&](bool streams) {
        po::options_description shown;
        shown.add(general).add(network).add(locality);
        if (streams) shown.add(stream);
        shown.add(options_named("Daemon", {"cache", "no-daemon"})).add(common.description());
        return shown;
    };
    const auto daemon_options = [&] {
        po::options_description shown;
        shown.add(daemon).add(options_named("Network", {"listen-bittorrent", "public-ip", "port-file", "dht", "upload-limit-kb", "download-limit-kb"}))
            .add(locality).add(options_named("Stream", {"listen-http", "window-mb"})).add(supernode).add(common.description());
        return shown;
    };

    std::string refused_in;  // the command whose --help a refusal points to
    try {
        po::variables_map values;
        po::store(po::command_line_parser(argc, argv).options(all).positional(positions).style(core::command_line_style).run(), values);
        if (argc < 2) {
            common.print_help(usage, visible);
            parsed.exit_status = 2;
            return parsed;
        }
        // The command word, before notify() fills `positional`.
        const auto words = values.count("arguments") ? values["arguments"].as<std::vector<std::string>>() : std::vector<std::string>{};
        const std::string command = words.empty() ? "" : words.front();
        refused_in = command;
        const auto remote_found = remote_commands().find(command);
        const remote_command_help* remote_command = remote_found == remote_commands().end() ? nullptr : &remote_found->second;
        if (command == "limits" && common.answered(values, remote_command->usage, limits_options())) return parsed;
        if (remote_command && common.answered(values, remote_command->usage, remote_options_of(*remote_command))) return parsed;
        if (command == "fetch" && common.answered(values, fetch_usage, fetch_options(false))) return parsed;
        if (command == "stream" && common.answered(values, stream_usage, fetch_options(true))) return parsed;
        if (command == "daemon" && common.answered(values, daemon_usage, daemon_options())) return parsed;
        if (common.answered(values, usage, visible)) return parsed;
        const std::vector<std::string> on_command_line = given_flags(values);
        out.command_line_flags = on_command_line;
        if (remote_command) {
            // A remote command takes its own options and the common ones; anything else would
            // be dropped in silence (the daemon's settings are the daemon's).
            static const std::set<std::string> everywhere{"config", "verbose", "quiet", "log-level", "no-progress", "cache", "json"};
            for (const auto& flag : on_command_line) {
                const bool own = std::find_if(remote_command->options.begin(), remote_command->options.end(),
                                              [&](const char* name) { return flag == name; }) != remote_command->options.end();
                if (!own && !everywhere.count(flag)) throw usage_error(command + " does not take --" + flag);
            }
        } else {
            // And the remote's own options mean nothing to fetch, stream or daemon.
            for (const char* flag : {"json", "keep-data", "uploading", "reset", "no-open"}) {
                if (std::find(on_command_line.begin(), on_command_line.end(), flag) != on_command_line.end()) {
                    throw usage_error((command.empty() ? std::string("this command") : command) + " does not take --" + flag +
                                      " (an option of the remote: list, status, pause, resume, remove, limits, open, ui)");
                }
            }
            // Nor does an option that its --help does not list (stream's --file to a fetch, -o
            // to the daemon, whose items live in its cache): it would be dropped in silence.
            if (runs_here(command)) {
                const auto own = command == "daemon" ? daemon_options() : fetch_options(command == "stream");
                for (const auto& flag : on_command_line) {
                    if (flag == "bind" || flag == "control" || own.find_nothrow(flag, false)) continue;  // old names too
                    throw usage_error(command + " does not take --" + flag);
                }
            }
        }
        common.merge_config(values, visible);
        if (!values.count("config")) {
            // The user's own settings, read by every command unless -c names another file.
            if (const auto file = default_config_file(); !file.empty() && std::filesystem::exists(file)) {
                core::merge_config_file(file.string(), visible, values);
            }
        }
        po::notify(values);
        common.apply_log_level(values);
        out.no_progress = !common.show_progress();
        take_old_name(values, "bind", "listen-bittorrent", old_bind, out.listen_bittorrent);
        out.listen_bittorrent_given = !values["listen-bittorrent"].defaulted() || values.count("bind") > 0;
        take_old_name(values, "control", "listen-control", old_control, out.listen_control);
        if (positional.empty()) throw usage_error("no command: fetch, stream, daemon, ui, or a remote command (list, status, ...)");
        if (command == "fetch") parsed.what = parsed_command::action::fetch;
        else if (command == "stream") parsed.what = parsed_command::action::stream;
        else if (command == "daemon") parsed.what = parsed_command::action::daemon;
        else if (command == "ui") parsed.what = parsed_command::action::ui;
        else if (remote_command) parsed.what = parsed_command::action::remote;
        else throw usage_error("unknown command '" + command + "': fetch, stream, daemon, ui, list, status, pause, resume, remove, limits or open");
        if (parsed.what == parsed_command::action::remote) {
            remote_options& asked = parsed.remote;
            asked.command = command;
            asked.items.assign(positional.begin() + 1, positional.end());
            asked.json = json;
            asked.keep_data = keep_data;
            const bool takes_ids = command == "status" || command == "pause" || command == "resume" || command == "remove";
            if ((command == "list" || command == "limits") && !asked.items.empty()) {
                throw usage_error(command + " takes no ID, got '" + asked.items.front() + "'");
            }
            if (command == "status" && asked.items.size() != 1) throw usage_error("status takes one ID (nearcast-peer list shows them)");
            if (takes_ids && asked.items.empty()) throw usage_error(command + " takes one or more IDs (nearcast-peer list shows them)");
            if (command == "open" && asked.items.size() > 1) {
                throw usage_error("open takes one ITEM (a .torrent file, a magnet link or an http(s) URL), or none for the web interface");
            }
            if (command == "limits") {
                // Only what this command line asks for: a config file's limits are the daemon's settings.
                const auto asked_for = [&](const char* flag) {
                    return std::find(on_command_line.begin(), on_command_line.end(), flag) != on_command_line.end();
                };
                const auto number = [](double value) {
                    std::ostringstream text;
                    text << std::setprecision(15) << value;
                    return text.str();
                };
                if (asked_for("upload-limit-kb")) asked.limits.emplace_back("upload_kb", number(upload_kb));
                if (asked_for("download-limit-kb")) asked.limits.emplace_back("download_kb", number(download_kb));
                if (asked_for("monthly-cap-mb")) asked.limits.emplace_back("monthly_cap_mb", number(monthly_cap_mb));
                if (asked_for("uploading")) {
                    if (uploading_switch != "on" && uploading_switch != "off") {
                        throw usage_error("--uploading: '" + uploading_switch + "' is not on or off");
                    }
                    asked.limits.emplace_back("uploading", uploading_switch);
                }
                if (reset) asked.limits.emplace_back("reset", "1");
            }
            if (values.count("config")) asked.daemon_arguments = {"--config", values["config"].as<std::string>()};
        } else if (parsed.what == parsed_command::action::daemon || parsed.what == parsed_command::action::ui) {
            if (positional.size() != 1) throw usage_error(command + " takes no ITEM, got '" + positional[1] + "'");
        } else {
            if (positional.size() != 2) throw usage_error(command + " takes one ITEM: a .torrent file, a magnet link or an http(s) URL");
            out.item = positional[1];
        }
        for (const auto& [text, option] : {std::pair{out.listen_bittorrent, "--listen-bittorrent"}, std::pair{out.listen_http, "--listen-http"},
                                           std::pair{out.listen_control, "--listen-control"}}) {
            try {
                parse_endpoint(text, option);
            } catch (const item_error& error) {
                throw usage_error(error.what());
            }
        }
        out.cache = cache.empty() ? default_cache_folder() : std::filesystem::path(cache);
        out.use_daemon = !no_daemon;
        out.open_browser = !no_open;
        if (quota_mb <= 0) throw usage_error("--quota-mb must be positive");
        if (monthly_cap_mb < 0) throw usage_error("--monthly-cap-mb must not be negative");
        out.quota_bytes = static_cast<std::uint64_t>(quota_mb * 1e6);
        out.monthly_cap_bytes = static_cast<std::uint64_t>(monthly_cap_mb * 1e6);
        out.uploading = !no_upload;
        out.output = output;
        out.locality = !no_locality;
        out.deference.release_at = out.deference.hold_at / 4;
        out.locality_rules.near_up_to = parse_nearness(near);
        if (web_seeds == "backstop") out.backstop.web_seeds = backstop_options::mode::backstop;
        else if (web_seeds == "always") out.backstop.web_seeds = backstop_options::mode::always;
        else if (web_seeds == "never") out.backstop.web_seeds = backstop_options::mode::never;
        else throw usage_error("--web-seeds: '" + web_seeds + "' is not backstop, always or never");
        out.upload_limit = kilobytes(upload_kb, "--upload-limit-kb");
        out.download_limit = kilobytes(download_kb, "--download-limit-kb");
        out.far_upload_limit = kilobytes(far_upload_kb, "--far-upload-limit-kb");
        out.far_download_limit = kilobytes(far_download_kb, "--far-download-limit-kb");
        out.deference.min_near_rate = kilobytes(defer_min_near_kb, "--defer-min-near-kb");
        if (!(defer_floor_s >= 0) || defer_floor_s > 600) throw usage_error("--defer-floor-s must be between 0 and 600 seconds");
        out.deference.unproven_judge_ms = static_cast<std::uint32_t>(defer_floor_s * 1000);
        if (!out.report_file.empty()) {
            // Said now, not after the download: a script relies on the report it asked for.
            const std::filesystem::path report(out.report_file);
            const std::filesystem::path folder = report.parent_path().empty() ? std::filesystem::path(".") : report.parent_path();
            std::error_code error;
            if (!std::filesystem::is_directory(folder, error)) {
                throw usage_error("--report: '" + out.report_file + "': its folder " + folder.string() + " does not exist");
            }
            if (std::filesystem::is_directory(report, error)) throw usage_error("--report: '" + out.report_file + "' is a folder");
        }
        if (window_mb <= 0) throw usage_error("--window-mb must be positive");
        out.window.ahead_bytes = static_cast<std::int64_t>(window_mb * 1e6);
        if (out.file_index < -1) throw usage_error("--file must be 0 or more");
        if (out.stall_timeout_s == 0) throw usage_error("--stall-timeout must be at least 1 second");
        if (!out.supernode_tracker.empty() && !out.supernode_tracker.starts_with("http://") &&
            !out.supernode_tracker.starts_with("https://")) {
            throw usage_error("--supernode-tracker: '" + out.supernode_tracker + "' is not an http(s):// URL");
        }
        while (out.supernode_tracker.ends_with("/")) out.supernode_tracker.pop_back();
        if (out.supernode_tracker.ends_with("/announce")) out.supernode_tracker.resize(out.supernode_tracker.size() - 9);
        if (!out.admin_secret_file.empty() && out.supernode_tracker.empty()) throw usage_error("--admin-secret-file needs --supernode-tracker");
        if (!out.tracker_token.empty() && out.supernode_tracker.empty()) throw usage_error("--tracker-token needs --supernode-tracker");
        if (out.tracker_token.find_first_of("/?&# ") != std::string::npos) {
            throw usage_error("--tracker-token: '" + out.tracker_token + "' is not a token (no /, ?, &, # or space)");
        }
        out.origin_trickle = kilobytes(origin_trickle_kb, "--origin-trickle-kb");
        if (out.origin_trickle == 0) throw usage_error("--origin-trickle-kb must be positive: the origin is the floor");
    } catch (const std::exception& error) {
        parsed.what = parsed_command::action::exit;
        parsed.exit_status = common.refuse(error, remote_commands().count(refused_in) || runs_here(refused_in) ? refused_in : "");
    }
    return parsed;
}

}  // namespace nearcast::peer::client
