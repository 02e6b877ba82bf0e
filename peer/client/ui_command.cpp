// nearcast-peer ui: logs a browser into the running daemon's web interface without putting the
// control token in a URL (which a browser keeps in its history and shows to its extensions).
// The token, read from CACHE/control.json, buys a login code that works once, within a minute;
// the link with the code is printed and opened with xdg-open when there is a display.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <spawn.h>

#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "control_api.hpp"
#include "remote.hpp"

extern char** environ;

namespace nearcast::peer::client {

namespace {

bool has_display() {
    for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY"}) {
        if (const char* value = std::getenv(name); value && *value) return true;
    }
    return false;
}

// xdg-open, without a shell between: the URL is one argument whatever it holds.
bool open_in_browser(const std::string& url) {
    std::string program = "xdg-open";
    char* arguments[] = {program.data(), const_cast<char*>(url.c_str()), nullptr};
    pid_t child = 0;
    return posix_spawnp(&child, program.c_str(), nullptr, nullptr, arguments, environ) == 0;
}

}  // namespace

int ui_command(const peer_options& options) {
    const auto answer = nlohmann::json::parse(call_daemon(running_daemon(options), "POST", "/login-code"));
    const std::string url = answer.at("url").get<std::string>();
    std::cout << url << std::endl;
    if (!options.open_browser) return 0;
    if (!has_display()) {
        spdlog::info("no display: open the link above in a browser on this machine within a minute (it works once)");
    } else if (!open_in_browser(url)) {
        spdlog::warn("cannot run xdg-open: open the link above in a browser within a minute (it works once)");
    }
    return 0;
}

}  // namespace nearcast::peer::client
