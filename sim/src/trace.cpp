#include "nearcast/sim/trace.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "nearcast/proximity/address.hpp"

namespace nearcast::sim {
namespace {

double number_at(const std::string& text, const std::string& where, const char* what) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
        throw scenario_error(where + ": " + what + " must be a number of 0 or more, not '" + text + "'");
    }
    return value;
}

session_trace::endpoint endpoint_at(const std::string& text, const std::string& where) {
    const auto colon = text.rfind(':');
    const auto address = proximity::ip_address::parse(text.substr(0, colon == std::string::npos ? 0 : colon));
    std::uint32_t port = 0;
    const std::string digits = colon == std::string::npos ? "" : text.substr(colon + 1);
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (!address || !address->is_v4() || error != std::errc() || end != digits.data() + digits.size() || port == 0 ||
        port > 65535) {
        throw scenario_error(where + ": expected an IPv4 ADDRESS:PORT, not '" + text + "'");
    }
    return {address->v4_bits(), static_cast<std::uint16_t>(port), where};
}

}  // namespace

session_trace load_trace(const std::string& path, double duration_s) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) throw scenario_error("workload.trace: '" + path + "' is a folder, not a trace");
    std::ifstream in(path);
    if (!in) {
        throw scenario_error("workload.trace: cannot read '" + path + "': " + std::strerror(errno) +
                             " (a relative path is taken from the folder nearcast-sim runs in)");
    }
    session_trace trace;
    std::set<std::uint64_t> endpoints;
    const auto claim = [&](const session_trace::endpoint& at) {
        if (!endpoints.insert((std::uint64_t{at.address} << 16) | at.port).second) {
            throw scenario_error(at.where + ": the endpoint " + proximity::ip_address::v4(at.address).to_string() + ":" +
                                 std::to_string(at.port) + " is used twice (each daemon and session is a peer of its own)");
        }
    };
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
        std::istringstream fields(line);
        std::vector<std::string> words;
        for (std::string word; fields >> word;) words.push_back(word);
        if (words.empty()) continue;
        const std::string where = path + ":" + std::to_string(number);
        if (words[0] == "item" && words.size() == 3) {
            if (words[1] != std::to_string(trace.item_bytes.size())) {
                throw scenario_error(where + ": items are numbered 0, 1, 2, ... in order; expected " +
                                     std::to_string(trace.item_bytes.size()) + ", not '" + words[1] + "'");
            }
            const double bytes = number_at(words[2], where, "BYTES");
            if (bytes < 1) throw scenario_error(where + ": an item holds at least one byte");
            trace.item_bytes.push_back(bytes);
        } else if (words[0] == "daemon" && words.size() == 2) {
            trace.daemons.push_back(endpoint_at(words[1], where));
            claim(trace.daemons.back());
        } else if (words[0] == "session" && words.size() == 6) {
            session_trace::arrival arrival;
            arrival.at_s = number_at(words[1], where, "AT_S");
            if (arrival.at_s >= duration_s) {
                throw scenario_error(where + ": the session starts at " + words[1] + " s, after the run's end (" +
                                     std::to_string(duration_s) + " s, run.duration_h)");
            }
            arrival.peer = endpoint_at(words[2], where);
            claim(arrival.peer);
            const double item = number_at(words[3], where, "ITEM");
            if (item != std::floor(item) || item >= static_cast<double>(trace.item_bytes.size())) {
                throw scenario_error(where + ": no item '" + words[3] + "' listed above");
            }
            arrival.item = static_cast<std::uint32_t>(item);
            if (words[4] != "download" && words[4] != "stream") {
                throw scenario_error(where + ": KIND is download or stream, not '" + words[4] + "'");
            }
            arrival.stream = words[4] == "stream";
            arrival.linger_s = number_at(words[5], where, "LINGER_S");
            trace.sessions.push_back(std::move(arrival));
        } else {
            throw scenario_error(where + ": expected 'item INDEX BYTES', 'daemon ADDRESS:PORT' or "
                                         "'session AT_S ADDRESS:PORT ITEM KIND LINGER_S', not '" + line + "'");
        }
    }
    if (in.bad()) throw scenario_error("workload.trace: reading '" + path + "' failed");
    if (trace.item_bytes.empty() || trace.sessions.empty()) {
        throw scenario_error("workload.trace: '" + path + "' lists " + (trace.item_bytes.empty() ? "no item" : "no session"));
    }
    return trace;
}

void apply_trace(scenario& config, const session_trace& trace) {
    config.peers = trace.daemons.size() + trace.sessions.size();
    config.items = static_cast<std::uint32_t>(trace.item_bytes.size());
}

}  // namespace nearcast::sim
