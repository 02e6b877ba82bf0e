// libFuzzer target for nearcast-sim's scenario files (JSON or INI, load_scenario) and its
// `--set key=value` overrides. The first byte picks: 0 an INI file, 1 a JSON file (written under
// /tmp, as load_scenario reads a path), 2 one override on the defaults. Promises checked: only
// scenario_error is thrown; a scenario accepted has finite numbers; what describe() prints
// reads back as the same scenario; a whole number given for a key reads back as itself (not
// wrapped to fit its type); and a synthetic topology built from it places peers with weights
// that add up to 1.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>

#include "nearcast/sim/scenario.hpp"
#include "nearcast/sim/topology.hpp"

using namespace nearcast::sim;

namespace {

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "fuzz_scenario: %s\n", what);
        std::abort();
    }
}

const std::string& scratch_folder() {
    static const std::string path = [] {
        char folder[] = "/tmp/nearcast-fuzz-scenario-XXXXXX";
        check(::mkdtemp(folder) != nullptr, "cannot make a folder under /tmp");
        static const std::string kept = folder;
        std::atexit([] { std::filesystem::remove_all(kept); });
        return kept;
    }();
    return path;
}

void check_finite(const scenario& value) {
    for (const double number :
         {value.duration_h, value.tick_s, value.zipf_exponent, value.item_size_mb, value.item_size_spread,
          value.sessions_per_peer, value.daily_cycle, value.stream_share, value.play_rate_kbps, value.startup_buffer_s,
          value.seed_time_s, value.patience_s, value.daemon_share, value.reachable_share, value.announce_interval_s,
          value.far_rate_limit_kbps, value.seeder_capacity_mbps, value.transit_capacity_mbps, value.peers_per_supernode,
          value.supernode_cache_gb, value.election_interval_s}) {
        check(std::isfinite(number), "a scenario with a number that is not finite was accepted");
    }
    for (const capacity_class& each : value.classes) {
        check(std::isfinite(each.share) && std::isfinite(each.upload_mbps) && std::isfinite(each.download_mbps),
              "a capacity class with a number that is not finite was accepted");
    }
    for (const fault& each : value.faults) {
        check(std::isfinite(each.at_h) && std::isfinite(each.share), "a fault with a number that is not finite was accepted");
    }
}

// Every "key = value" line describe() prints, set again, gives the same scenario. (The two free
// text keys are left out: describe's INI form does not quote them.)
void check_describe_reads_back(const scenario& value) {
    const std::string described = describe(value);
    // Free text with a line break in it (a class name, a topology) does not fit on one line.
    const auto breaks_line = [](const std::string& text) { return text.find_first_of("\r\n") != std::string::npos; };
    if (breaks_line(value.topology) || breaks_line(value.placement)) return;
    for (const capacity_class& each : value.classes) {
        if (breaks_line(each.name)) return;
    }
    scenario again;
    std::size_t at = 0;
    while (at < described.size()) {
        const std::size_t end = described.find('\n', at);
        const std::string line = described.substr(at, end - at);
        at = end + 1;
        const std::size_t equals = line.find(" = ");
        const std::string key = line.substr(0, equals);
        if (key == "topology.source" || key == "topology.placement") continue;
        try {
            set_value(again, key, line.substr(equals + 3), "describe()");
        } catch (const scenario_error& error) {
            std::fprintf(stderr, "%s\n", error.what());
            check(false, "a value describe() printed does not read back");
        }
    }
    again.topology = value.topology;
    again.placement = value.placement;
    check(describe(again) == described, "describe() printed a scenario that reads back as another");
}

void check_topology(const scenario& value) {
    if (value.topology != "synthetic" || value.as_count > 64) return;  // real files are not read here
    try {
        const topology world = build_topology(value);
        double total = 0;
        for (const placed_as& as : world.ases) {
            check(std::isfinite(as.weight) && as.weight >= 0, "a peer placement weight is negative or not finite");
            total += as.weight;
        }
        check(world.ases.empty() || std::abs(total - 1) < 1e-9, "peer placement weights do not add up to 1");
        std::mt19937_64 random(1);
        for (std::size_t i = 0; i < world.ases.size(); ++i) (void)address_in(world, i, random);
    } catch (const scenario_error&) {
    }
}

void accepted(const scenario& value) {
    check_finite(value);
    check_describe_reads_back(value);
    check_topology(value);
}

void from_file(std::string_view text, bool json) {
    const std::string path = scratch_folder() + (json ? "/fuzz.json" : "/fuzz.ini");
    {
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    scenario loaded;
    try {
        loaded = load_scenario(path);
    } catch (const scenario_error&) {
        return;
    }
    accepted(loaded);
}

void override_one(const std::string& assignment) {
    scenario value;
    try {
        apply_override(value, assignment);
        validate(value);
    } catch (const scenario_error&) {
        return;
    }
    // A whole number short enough to print exactly (12 digits) reads back as itself.
    const std::size_t equals = assignment.find('=');
    const std::string key = assignment.substr(0, equals), given = assignment.substr(equals + 1);
    const std::size_t first = given.find_first_not_of('0');
    const std::string digits = first == std::string::npos ? "0" : given.substr(first);
    if (!given.empty() && given.find_first_not_of("0123456789") == std::string::npos && digits.size() <= 12) {
        const std::string described = describe(value);
        const std::size_t line = described.find(key + " = ");
        if (line != std::string::npos) {
            const std::size_t start = line + key.size() + 3;
            const std::string shown = described.substr(start, described.find('\n', start) - start);
            check(shown == digits || shown == given, "a whole number was read as another number");
        }
    }
    accepted(value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: from_file(rest, false); break;
        case 1: from_file(rest, true); break;
        default: override_one(std::string(rest)); break;
    }
    return 0;
}
