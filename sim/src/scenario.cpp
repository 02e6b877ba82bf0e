#include "nearcast/sim/scenario.hpp"

#include <boost/program_options/parsers.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

namespace nearcast::sim {

namespace {

std::string format_number(double value) {
    std::ostringstream out;
    out.precision(12);
    out << value;
    return out.str();
}

double parse_double(const std::string& text) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc() || stop != end) throw std::invalid_argument("not a number: '" + text + "'");
    // from_chars reads "nan" and "inf", which every check of a value would let through.
    if (!std::isfinite(value)) throw std::invalid_argument("not a finite number: '" + text + "'");
    return value;
}

std::uint64_t parse_unsigned(const std::string& text) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc() || stop != end) throw std::invalid_argument("not a whole number >= 0: '" + text + "'");
    return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) {
        part.erase(0, part.find_first_not_of(" \t"));
        part.erase(part.find_last_not_of(" \t") + 1);
        if (!part.empty()) parts.push_back(part);
    }
    return parts;
}

const std::map<std::string, strategy>& strategy_names() {
    static const std::map<std::string, strategy> names = {
        {"origin_only", strategy::origin_only}, {"random", strategy::random},
        {"prefix", strategy::prefix},           {"as", strategy::as},
        {"as_adjacent", strategy::as_adjacent}, {"nearcast", strategy::nearcast}};
    return names;
}

std::string fault_text(const fault& value) {
    switch (value.kind) {
    case fault_kind::supernodes: return "supernodes:" + format_number(value.at_h) + ":" + format_number(value.share);
    case fault_kind::seeders: return "seeders:" + format_number(value.at_h) + ":" + format_number(value.share);
    case fault_kind::as: return "as:" + format_number(value.at_h) + ":" + std::to_string(value.asn);
    }
    return {};
}

fault parse_fault(const std::string& text) {
    const auto parts = split(text, ':');
    if (parts.size() != 3) throw std::invalid_argument("a fault is KIND:HOUR:SHARE or as:HOUR:ASN, not '" + text + "'");
    fault parsed;
    parsed.at_h = parse_double(parts[1]);
    if (parts[0] == "supernodes" || parts[0] == "seeders") {
        parsed.kind = parts[0] == "seeders" ? fault_kind::seeders : fault_kind::supernodes;
        parsed.share = parse_double(parts[2]);
        if (parsed.share < 0 || parsed.share > 1) throw std::invalid_argument("a fault's share is 0..1: '" + text + "'");
    } else if (parts[0] == "as") {
        parsed.kind = fault_kind::as;
        const std::uint64_t asn = parse_unsigned(parts[2]);
        if (asn > std::numeric_limits<std::uint32_t>::max()) throw std::invalid_argument("an AS number is 32 bits: '" + text + "'");
        parsed.asn = static_cast<std::uint32_t>(asn);
    } else {
        throw std::invalid_argument("unknown fault kind '" + parts[0] + "' (supernodes, seeders or as)");
    }
    return parsed;
}

struct field {
    std::function<void(scenario&, const std::string&)> set;
    std::function<std::string(const scenario&)> get;
};

template <class T>
field number(T scenario::*member) {
    return {[member](scenario& s, const std::string& text) {
                if constexpr (std::is_floating_point_v<T>) {
                    s.*member = static_cast<T>(parse_double(text));
                } else {
                    const std::uint64_t value = parse_unsigned(text);
                    if (value > std::numeric_limits<T>::max()) {
                        throw std::invalid_argument("too large: '" + text + "' (at most " +
                                                    std::to_string(std::numeric_limits<T>::max()) + ")");
                    }
                    s.*member = static_cast<T>(value);
                }
            },
            [member](const scenario& s) {
                if constexpr (std::is_floating_point_v<T>) return format_number(s.*member);
                else return std::to_string(s.*member);
            }};
}

field text(std::string scenario::*member) {
    return {[member](scenario& s, const std::string& value) { s.*member = value; },
            [member](const scenario& s) { return s.*member; }};
}

const std::map<std::string, field>& fields() {
    static const std::map<std::string, field> table = [] {
        std::map<std::string, field> t;
        t["run.seed"] = number(&scenario::seed);
        t["run.duration_h"] = number(&scenario::duration_h);
        t["run.tick_s"] = number(&scenario::tick_s);
        t["topology.source"] = text(&scenario::topology);
        t["topology.as_count"] = number(&scenario::as_count);
        t["topology.placement"] = text(&scenario::placement);
        t["workload.peers"] = number(&scenario::peers);
        t["workload.items"] = number(&scenario::items);
        t["workload.zipf_exponent"] = number(&scenario::zipf_exponent);
        t["workload.item_size_mb"] = number(&scenario::item_size_mb);
        t["workload.item_size_spread"] = number(&scenario::item_size_spread);
        t["workload.sessions_per_peer"] = number(&scenario::sessions_per_peer);
        t["workload.daily_cycle"] = number(&scenario::daily_cycle);
        t["workload.stream_share"] = number(&scenario::stream_share);
        t["workload.play_rate_kbps"] = number(&scenario::play_rate_kbps);
        t["workload.startup_buffer_s"] = number(&scenario::startup_buffer_s);
        t["workload.seed_time_s"] = number(&scenario::seed_time_s);
        t["workload.patience_s"] = number(&scenario::patience_s);
        t["workload.flash_crowd"] = number(&scenario::flash_crowd);
        t["workload.daemon_share"] = number(&scenario::daemon_share);
        t["workload.reachable_share"] = number(&scenario::reachable_share);
        t["workload.classes"] = {
            [](scenario& s, const std::string& value) {
                std::vector<capacity_class> classes;
                for (const auto& entry : split(value, ',')) {
                    const auto parts = split(entry, ':');
                    if (parts.size() != 4) {
                        throw std::invalid_argument("a class is NAME:SHARE:UP_MBPS:DOWN_MBPS, not '" + entry + "'");
                    }
                    classes.push_back({parts[0], parse_double(parts[1]), parse_double(parts[2]), parse_double(parts[3])});
                }
                s.classes = classes;
            },
            [](const scenario& s) {
                std::string out;
                for (const auto& c : s.classes) {
                    if (!out.empty()) out += ",";
                    out += c.name + ":" + format_number(c.share) + ":" + format_number(c.upload_mbps) + ":" +
                           format_number(c.download_mbps);
                }
                return out;
            }};
        t["peer.max_connections"] = number(&scenario::max_connections);
        t["peer.numwant"] = number(&scenario::numwant);
        t["peer.announce_interval_s"] = number(&scenario::announce_interval_s);
        t["peer.far_rate_limit_kbps"] = number(&scenario::far_rate_limit_kbps);
        t["origin.seeders"] = number(&scenario::seeders);
        t["origin.capacity_mbps"] = number(&scenario::seeder_capacity_mbps);
        t["topology.transit_capacity_mbps"] = number(&scenario::transit_capacity_mbps);
        t["supernodes.peers_per_supernode"] = number(&scenario::peers_per_supernode);
        t["supernodes.admission_limit"] = number(&scenario::admission_limit);
        t["supernodes.cache_gb"] = number(&scenario::supernode_cache_gb);
        t["supernodes.election_interval_s"] = number(&scenario::election_interval_s);
        t["run.strategies"] = {
            [](scenario& s, const std::string& value) {
                std::vector<strategy> chosen;
                for (const auto& name : split(value, ',')) {
                    const auto found = strategy_names().find(name);
                    if (found == strategy_names().end()) {
                        throw std::invalid_argument("unknown strategy '" + name +
                                                    "' (origin_only, random, prefix, as, as_adjacent, nearcast)");
                    }
                    chosen.push_back(found->second);
                }
                s.strategies = chosen;
            },
            [](const scenario& s) {
                std::string out;
                for (const auto value : s.strategies) out += (out.empty() ? "" : ",") + to_string(value);
                return out;
            }};
        t["faults.list"] = {
            [](scenario& s, const std::string& value) {
                std::vector<fault> parsed;
                for (const auto& entry : split(value, ',')) parsed.push_back(parse_fault(entry));
                s.faults = parsed;
            },
            [](const scenario& s) {
                std::string out;
                for (const auto& f : s.faults) out += (out.empty() ? "" : ",") + fault_text(f);
                return out;
            }};
        return t;
    }();
    return table;
}

std::string json_scalar_text(const nlohmann::json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
    if (value.is_number()) return format_number(value.get<double>());
    if (value.is_array()) {
        std::string out;
        for (const auto& element : value) out += (out.empty() ? "" : ",") + json_scalar_text(element);
        return out;
    }
    throw std::invalid_argument("expected a string, a number or a list, found " + std::string(value.type_name()));
}

}  // namespace

std::string to_string(strategy value) {
    for (const auto& [name, known] : strategy_names()) {
        if (known == value) return name;
    }
    return "unknown";
}

void set_value(scenario& target, const std::string& key, const std::string& value, const std::string& origin) {
    const auto found = fields().find(key);
    if (found == fields().end()) throw scenario_error(origin + ": unknown key '" + key + "' (nearcast-sim --keys lists them)");
    try {
        found->second.set(target, value);
    } catch (const std::invalid_argument& error) {
        throw scenario_error(origin + ": " + key + ": " + error.what());
    }
}

scenario load_scenario(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw scenario_error(path + ": cannot open the scenario file");
    scenario loaded;
    const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
    if (json) {
        nlohmann::json document;
        try {
            document = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& error) {  // a syntax error, or a number too large for a double
            throw scenario_error(path + ": not valid JSON: " + error.what());
        }
        if (!document.is_object()) throw scenario_error(path + ": the scenario must be a JSON object of sections");
        for (const auto& [section, values] : document.items()) {
            if (!values.is_object()) throw scenario_error(path + ": section '" + section + "' must be an object");
            for (const auto& [name, value] : values.items()) {
                const std::string key = section + "." + name;
                try {
                    set_value(loaded, key, json_scalar_text(value), path);
                } catch (const std::invalid_argument& error) {
                    throw scenario_error(path + ": " + key + ": " + error.what());
                }
            }
        }
    } else {
        try {
            const auto parsed = boost::program_options::parse_config_file(in, {}, true);
            for (const auto& option : parsed.options) {
                if (option.value.empty()) throw scenario_error(path + ": " + option.string_key + " has no value");
                set_value(loaded, option.string_key, option.value.front(), path);
            }
        } catch (const boost::program_options::error& error) {
            throw scenario_error(path + ": not a valid INI file: " + error.what());
        }
    }
    validate(loaded);
    return loaded;
}

void apply_override(scenario& target, const std::string& assignment) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
        throw scenario_error("--set " + assignment + ": expected KEY=VALUE, e.g. workload.peers=100000");
    }
    set_value(target, assignment.substr(0, equals), assignment.substr(equals + 1), "--set " + assignment);
}

std::string describe(const scenario& value) {
    std::string out;
    for (const auto& [key, access] : fields()) out += key + " = " + access.get(value) + "\n";
    return out;
}

void validate(const scenario& value) {
    const auto fail = [](const std::string& why) { throw scenario_error("scenario: " + why); };
    if (value.peers == 0) fail("workload.peers must be at least 1");
    if (value.items == 0) fail("workload.items must be at least 1");
    if (value.duration_h <= 0) fail("run.duration_h must be above 0");
    if (value.tick_s <= 0 || value.tick_s > 60) fail("run.tick_s must be in (0, 60]");
    if (value.item_size_mb <= 0) fail("workload.item_size_mb must be above 0");
    if (value.item_size_spread < 0 || value.item_size_spread >= 1) fail("workload.item_size_spread must be in [0, 1)");
    if (value.zipf_exponent < 0) fail("workload.zipf_exponent must be 0 or more");
    for (const double share : {value.stream_share, value.daemon_share, value.reachable_share, value.daily_cycle}) {
        if (share < 0 || share > 1) fail("shares (stream, daemon, reachable, daily_cycle) must be in [0, 1]");
    }
    if (value.classes.empty()) fail("workload.classes must name at least one capacity class");
    double total = 0;
    for (const auto& c : value.classes) {
        if (c.share < 0 || c.upload_mbps < 0 || c.download_mbps <= 0) fail("capacity class '" + c.name + "' is negative or has no download");
        total += c.share;
    }
    if (total <= 0) fail("the capacity classes' shares add up to 0");
    if (value.seeders == 0) fail("origin.seeders must be at least 1: the origin is the floor");
    if (value.seeder_capacity_mbps <= 0) fail("origin.capacity_mbps must be above 0");
    if (value.max_connections == 0 || value.numwant == 0) fail("peer.max_connections and peer.numwant must be at least 1");
    if (value.announce_interval_s <= 0) fail("peer.announce_interval_s must be above 0");
    if (value.election_interval_s <= 0) fail("supernodes.election_interval_s must be above 0");
    if (value.peers_per_supernode < 1 || value.admission_limit == 0) {
        fail("supernodes.peers_per_supernode and supernodes.admission_limit must be at least 1");
    }
    if (value.play_rate_kbps <= 0) fail("workload.play_rate_kbps must be above 0");
    if (value.strategies.empty()) fail("run.strategies names no strategy");
    if (value.as_count == 0) fail("topology.as_count must be at least 1");
    if (value.flash_crowd > value.peers) fail("workload.flash_crowd is larger than workload.peers");
    for (const auto& f : value.faults) {
        if (f.at_h < 0 || f.at_h > value.duration_h) fail("a fault's hour lies outside the run: " + fault_text(f));
    }
}

}  // namespace nearcast::sim
