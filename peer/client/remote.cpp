// nearcast-peer's remote: list, status, pause, resume, remove, limits and open drive the daemon
// that runs for a cache through its control API, with the token from CACHE/control.json, as
// transmission-remote drives transmission-daemon.
#include "remote.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string_view>
#include <thread>

#include "commands.hpp"
#include "control_api.hpp"
#include "http_fetch.hpp"
#include "nearcast/core/stop_signals.hpp"
#include "nearcast/peer/item_source.hpp"
#include "nearcast/peer/progress.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace nearcast::peer::client {

daemon_address running_daemon(const peer_options& options) {
    if (auto daemon = find_daemon(options.cache)) return *daemon;
    throw std::runtime_error("no daemon runs for the cache " + options.cache.string() + " (nothing answers at " +
                             (options.cache / "control.json").string() + "): start one with `nearcast-peer daemon" +
                             (options.cache == default_cache_folder() ? "" : " --cache " + options.cache.string()) + "`");
}

namespace {

// The start of an info hash that `list` shows, and that `status` and the others accept.
constexpr std::size_t short_id = 8;

json daemon_status(const daemon_address& daemon) { return json::parse(call_daemon(daemon, "GET", "/status")); }

// An item by its whole info hash, an unambiguous start of one (any length, in either case), or
// its exact name. Throws item_error (exit 2) naming what was asked when none or several match.
json find_item(const json& status, const std::string& asked) {
    std::string lower = asked;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::vector<json> matches;
    for (const auto& item : status.at("items")) {
        const std::string id = item.at("id");
        if (id == lower) return item;
        if (item.at("name") == asked || (!lower.empty() && id.starts_with(lower))) matches.push_back(item);
    }
    if (matches.size() == 1) return matches.front();
    if (matches.empty()) throw item_error("no item '" + asked + "' in the daemon: no info hash starts with it and no item has that name (nearcast-peer list shows them)");
    std::string which;
    for (const auto& item : matches) which += " " + item.at("id").get<std::string>().substr(0, short_id);
    throw item_error("'" + asked + "' names " + std::to_string(matches.size()) + " items (" + which.substr(1) +
                     ": by name or by the start of the info hash): give more of the id");
}

double eta_of(const json& item) {
    if (item.contains("eta")) return item.at("eta").get<double>();
    const double rate = item.value("rate", 0.0);
    const double left = item.value("bytes_wanted", 0.0) - item.value("bytes_done", 0.0);
    return rate > 0 ? left / rate : -1.0;
}

std::string percent_of(const json& item) {
    const double wanted = item.value("bytes_wanted", 0.0);
    char text[16];
    std::snprintf(text, sizeof text, "%.1f%%", percent_shown(item.value("bytes_done", 0.0), wanted));
    return text;
}

int list_items(const daemon_address& daemon, bool as_json) {
    const json status = daemon_status(daemon);
    if (as_json) {
        std::cout << status.at("items").dump(2) << "\n";
        return 0;
    }
    std::printf("%-8s  %6s  %9s  %11s  %8s  %-11s  %s\n", "ID", "DONE", "SIZE", "RATE", "ETA", "STATE", "NAME");
    double size = 0, rate = 0;
    for (const auto& item : status.at("items")) {
        const std::string id = item.at("id");
        const bool complete = item.at("complete").get<bool>();
        size += item.value("bytes_wanted", 0.0);
        rate += item.value("rate", 0.0);
        std::printf("%-8s  %6s  %9s  %11s  %8s  %-11s  %s\n", id.substr(0, short_id).c_str(), percent_of(item).c_str(),
                    human_bytes(item.value("bytes_wanted", 0.0)).c_str(),
                    (human_bytes(item.value("rate", 0.0)) + "/s").c_str(), complete ? "done" : human_duration(eta_of(item)).c_str(),
                    item.at("state").get<std::string>().c_str(), item.at("name").get<std::string>().c_str());
    }
    const double other = status.value("other_bytes", 0.0);
    std::printf("%zu %s, %s in all, %s/s; cache %s of %s%s; uploaded this month %s%s\n", status.at("items").size(),
                status.at("items").size() == 1 ? "item" : "items",
                human_bytes(size).c_str(), human_bytes(rate).c_str(), human_bytes(status.value("cache_bytes", 0.0)).c_str(),
                human_bytes(status.value("quota", 0.0)).c_str(),
                other > 0 ? (" (" + human_bytes(other) + " in files of no item: kept by remove --keep-data, or put there by hand)").c_str() : "",
                human_bytes(status.value("uploaded_this_month", 0.0)).c_str(),
                status.value("monthly_cap", 0.0) > 0 ? (" of " + human_bytes(status.value("monthly_cap", 0.0)) + " allowed").c_str() : "");
    return 0;
}

int show_item(const daemon_address& daemon, const std::string& asked, bool as_json) {
    const json item = find_item(daemon_status(daemon), asked);
    if (as_json) {
        std::cout << item.dump(2) << "\n";
        return 0;
    }
    const auto line = [](const char* what, const std::string& value) { std::printf("%-10s %s\n", what, value.c_str()); };
    line("Name:", item.at("name"));
    line("Id:", item.at("id"));
    line("State:", item.at("state").get<std::string>() + (item.at("complete").get<bool>() ? ", every piece verified when last checked (a fetch checks again)" : ""));
    line("Progress:", percent_of(item) + " (" + human_bytes(item.value("bytes_done", 0.0)) + " of " +
                          human_bytes(item.value("bytes_wanted", 0.0)) + ")");
    line("Rate:", human_bytes(item.value("rate", 0.0)) + "/s");
    line("ETA:", item.at("complete").get<bool>() ? std::string("done") : human_duration(eta_of(item)));
    line("Peers:", std::to_string(item.value("peers", 0)));
    if (item.contains("sources")) {
        const auto& from = item.at("sources");
        line("From:", "near peers " + human_bytes(from.value("near", 0.0)) + ", far peers " + human_bytes(from.value("far", 0.0)) +
                          ", origin " + human_bytes(from.value("origin", 0.0)));
    }
    line("Path:", item.at("path"));
    if (!item.value("stream", std::string()).empty()) line("Stream:", item.at("stream"));
    if (!item.value("error", std::string()).empty()) line("Error:", item.at("error"));
    return 0;
}

// pause, resume, remove: each asked item is found first, so that a typo changes nothing.
int change_items(const daemon_address& daemon, const remote_options& remote) {
    const json status = daemon_status(daemon);
    std::vector<json> items;
    for (const auto& asked : remote.items) items.push_back(find_item(status, asked));
    json answers = json::array();
    for (const auto& item : items) {
        const std::string id = item.at("id");
        std::string target = "/" + remote.command + "?id=" + id;
        if (remote.command == "remove") target += remote.keep_data ? "&data=keep" : "&data=delete";
        answers.push_back(json::parse(call_daemon(daemon, "POST", target)));
        if (!remote.json) {
            const char* done = remote.command == "pause" ? "paused" : remote.command == "resume" ? "resumed"
                               : remote.keep_data ? "removed (its files are kept)" : "removed with its files";
            std::printf("%s %s (%s)\n", done, item.at("name").get<std::string>().c_str(), id.substr(0, short_id).c_str());
        }
    }
    if (remote.json) std::cout << answers.dump(2) << "\n";
    return 0;
}

int limits(const daemon_address& daemon, const remote_options& remote) {
    std::string query;
    for (const auto& [name, value] : remote.limits) query += (query.empty() ? "?" : "&") + name + "=" + percent_encode(value);
    // POST /limits with nothing to change only answers with the limits; GET /status has the rest.
    const json answer = json::parse(call_daemon(daemon, "POST", "/limits" + query));
    const json status = daemon_status(daemon);
    if (remote.json) {
        json out = answer;
        out["uploaded_this_month"] = status.value("uploaded_this_month", 0);
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    const auto rate = [](const json& value) {
        const double bytes = value.get<double>();
        return bytes > 0 ? human_bytes(bytes) + "/s" : std::string("none");
    };
    std::printf("%-22s %s\n", "Uploading:", answer.at("uploading").get<bool>() ? "on" : "off (switched off)");
    std::printf("%-22s %s\n", "Upload limit:", rate(answer.at("upload_limit")).c_str());
    std::printf("%-22s %s\n", "Download limit:", rate(answer.at("download_limit")).c_str());
    const double cap = answer.at("monthly_cap").get<double>();
    std::printf("%-22s %s\n", "Monthly cap:", cap > 0 ? human_bytes(cap).c_str() : "none");
    std::printf("%-22s %s\n", "Uploaded this month:", human_bytes(status.value("uploaded_this_month", 0.0)).c_str());
    const auto now = answer.at("upload_now").get<std::int64_t>();
    std::printf("%-22s %s\n", "Upload now:", now == 0 ? "none" : now < 0 ? "unlimited" : (human_bytes(static_cast<double>(now)) + "/s").c_str());
    return 0;
}

// The last error a log says from byte `from` on, as ": WHAT" (empty when it says none): why a
// daemon stopped (the log is appended to, run after run: an earlier run's error is not this one's).
static std::string last_error_of(const fs::path& log, std::uintmax_t from) {
    std::ifstream in(log);
    in.seekg(static_cast<std::streamoff>(from));
    std::string line, last;
    while (std::getline(in, line)) {
        for (const std::string_view level : {" error ", " critical "}) {
            if (const auto at = line.find(level); at != std::string::npos) last = line.substr(at + level.size());
        }
    }
    return last.empty() ? std::string() : ": " + last;
}

// Starts `nearcast-peer daemon` for the cache in the background, its log in CACHE/daemon.log,
// and waits until it answers (at most 20 s).
daemon_address start_daemon(const peer_options& options, const remote_options& remote) {
    std::error_code error;
    fs::create_directories(options.cache, error);
    if (error) throw item_error("--cache " + options.cache.string() + ": cannot create it: " + error.message());
    const fs::path log = options.cache / "daemon.log";
    std::error_code no_log;
    const std::uintmax_t log_before = fs::exists(log, no_log) ? fs::file_size(log, no_log) : 0;
    std::vector<std::string> arguments{"nearcast-peer", "daemon", "--cache", options.cache.string(), "--no-progress"};
    arguments.insert(arguments.end(), remote.daemon_arguments.begin(), remote.daemon_arguments.end());
    const pid_t child = ::fork();
    if (child < 0) throw std::runtime_error("cannot start a daemon: fork failed");
    if (child == 0) {
        ::setsid();
        const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (null >= 0) ::dup2(null, STDIN_FILENO);
        if (out >= 0) ::dup2(out, STDOUT_FILENO), ::dup2(out, STDERR_FILENO);
        std::vector<char*> argv;
        for (auto& argument : arguments) argv.push_back(argument.data());
        argv.push_back(nullptr);
        ::execv("/proc/self/exe", argv.data());
        ::_exit(127);
    }
    spdlog::info("no daemon ran for {}: started one (pid {}), its log in {}", options.cache.string(), child, log.string());
    for (int waited = 0; waited < 200; ++waited) {
        if (auto daemon = find_daemon(options.cache)) return *daemon;
        int child_status = 0;
        if (::waitpid(child, &child_status, WNOHANG) == child) {
            const std::string why = "the daemon started for " + options.cache.string() + " stopped at once" + last_error_of(log, log_before) +
                                    "; its log is " + log.string();
            // Its status 2 is a setting or input of the user's (a port in use, a bad config): so is ours.
            if (WIFEXITED(child_status) && WEXITSTATUS(child_status) == 2) throw item_error(why);
            throw std::runtime_error(why);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("the daemon started for " + options.cache.string() + " did not answer in 20 s; its log is " + log.string());
}

int open_item(const peer_options& options, const remote_options& remote) {
    if (remote.items.empty()) {
        // The desktop menu's entry: the web interface, with a daemon started first if need be.
        if (!find_daemon(options.cache)) start_daemon(options, remote);
        return ui_command(options);
    }
    const std::string& item = remote.items.front();
    // Read here, before any daemon is started: a bad item is the user's error, shown at once.
    const std::string body = item_for_daemon(item);
    const auto existing = find_daemon(options.cache);
    const daemon_address daemon = existing ? *existing : start_daemon(options, remote);
    const json added = json::parse(call_daemon(daemon, "POST", "/fetch", body));
    if (remote.json) {
        std::cout << added.dump(2) << "\n";
    } else {
        std::printf("%s %s: the daemon at %s %s\n", added.value("added", false) ? "added" : "already held:",
                    added.at("id").get<std::string>().substr(0, short_id).c_str(), daemon.url.c_str(),
                    added.value("added", false) ? "fetches it" : "has it");
    }
    return 0;
}

}  // namespace

int remote_command(const peer_options& options, const remote_options& remote) {
    if (remote.command == "open") return open_item(options, remote);
    const daemon_address daemon = running_daemon(options);
    if (remote.command == "list") return list_items(daemon, remote.json);
    if (remote.command == "status") return show_item(daemon, remote.items.front(), remote.json);
    if (remote.command == "limits") return limits(daemon, remote);
    return change_items(daemon, remote);
}

}  // namespace nearcast::peer::client
