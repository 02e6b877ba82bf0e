#include "nearcast/sim/scenario.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
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
        t["workload.trace"] = text(&scenario::trace);
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
        t["peer.defer_origin_at"] = number(&scenario::defer_origin_at);
        t["origin.seeders"] = number(&scenario::seeders);
        t["origin.capacity_mbps"] = number(&scenario::seeder_capacity_mbps);
        t["topology.transit_capacity_mbps"] = number(&scenario::transit_capacity_mbps);
        t["supernodes.peers_per_supernode"] = number(&scenario::peers_per_supernode);
        t["supernodes.admission_limit"] = number(&scenario::admission_limit);
        t["supernodes.cache_gb"] = number(&scenario::supernode_cache_gb);
        t["supernodes.election_interval_s"] = number(&scenario::election_interval_s);
        t["supernodes.min_group_peers"] = number(&scenario::supernode_min_group_peers);
        t["supernodes.prefetch_items"] = number(&scenario::prefetch_items);
        t["supernodes.prefetch_min_requests"] = number(&scenario::prefetch_min_requests);
        t["supernodes.popular_listed"] = number(&scenario::popular_listed);
        t["run.anchor_capacity_mbps"] = number(&scenario::anchor_capacity_mbps);
        t["supernodes.min_uptime_s"] = number(&scenario::supernode_min_uptime_s);
        t["supernodes.min_capacity_bytes_per_s"] = number(&scenario::supernode_min_capacity_bytes_per_s);
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
                for (const auto value : s.strategies) (out += out.empty() ? "" : ",") += to_string(value);
                return out;
            }};
        t["run.anchor"] = {
            [](scenario& s, const std::string& value) {
                if (value != "true" && value != "false") throw std::invalid_argument("must be true or false, not '" + value + "'");
                s.anchor = value == "true";
            },
            [](const scenario& s) { return std::string(s.anchor ? "true" : "false"); }};
        t["faults.list"] = {
            [](scenario& s, const std::string& value) {
                std::vector<fault> parsed;
                for (const auto& entry : split(value, ',')) parsed.push_back(parse_fault(entry));
                s.faults = parsed;
            },
            [](const scenario& s) {
                std::string out;
                for (const auto& f : s.faults) (out += out.empty() ? "" : ",") += fault_text(f);
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
        for (const auto& element : value) (out += out.empty() ? "" : ",") += json_scalar_text(element);
        return out;
    }
    throw std::invalid_argument("expected a string, a number or a list, found " + std::string(value.type_name()));
}

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t\r\n") + 1 - first);
}

// Remembers the line of each key in one file, and refuses a key set again.
class key_lines {
public:
    explicit key_lines(std::string path) : path_(std::move(path)) {}
    void add(const std::string& key, std::size_t line) {
        const auto [earlier, fresh] = lines_.emplace(key, line);
        if (!fresh) {
            throw scenario_error(where(line) + "'" + key + "' is set again (first on line " +
                                 std::to_string(earlier->second) + ")");
        }
    }
    std::string origin(const std::string& key) const {
        const auto found = lines_.find(key);
        return found == lines_.end() ? path_ : path_ + ":" + std::to_string(found->second);
    }
    std::string where(std::size_t line) const { return path_ + ":" + std::to_string(line) + ": "; }

private:
    std::string path_;
    std::map<std::string, std::size_t> lines_;
};

// Counts the line breaks the JSON parser has read past. nlohmann reports a key once it has read
// its closing quote, and a JSON string holds no raw line break, so the count is the key's line.
struct line_counting_iterator {
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    const char* at = nullptr;
    std::size_t* line = nullptr;

    reference operator*() const { return *at; }
    line_counting_iterator& operator++() {
        if (*at == '\n') ++*line;
        ++at;
        return *this;
    }
    line_counting_iterator operator++(int) {
        auto before = *this;
        ++*this;
        return before;
    }
    bool operator==(const line_counting_iterator& other) const { return at == other.at; }
};

// Parses a JSON scenario, noting the line of each section and of each "section.name" key, and
// refusing a key set twice in one object (nlohmann would keep the last).
nlohmann::json parse_json(const std::string& path, const std::string& text, key_lines& lines) {
    std::size_t line = 1;
    std::vector<std::map<std::string, std::size_t>> objects;  // the keys of each open object
    std::string section;
    const auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using event_type = nlohmann::json::parse_event_t;
        if (event == event_type::object_start) objects.emplace_back();
        if (event == event_type::object_end && !objects.empty()) objects.pop_back();
        if (event == event_type::key && !objects.empty()) {
            const std::string name = parsed.get<std::string>();
            if (depth == 1) section = name;
            const std::string key = depth == 2 ? section + "." + name : name;
            const auto [earlier, fresh] = objects.back().emplace(name, line);
            if (!fresh) {
                throw scenario_error(lines.where(line) + "'" + key + "' is set again (first on line " +
                                     std::to_string(earlier->second) + ")");
            }
            if (depth == 1 || depth == 2) lines.add(key, line);
        }
        return true;
    };
    try {
        return nlohmann::json::parse(line_counting_iterator{text.data(), &line},
                                     line_counting_iterator{text.data() + text.size(), &line}, callback);
    } catch (const nlohmann::json::exception& error) {  // a syntax error, or a number too large for a double
        throw scenario_error(path + ": not valid JSON: " + error.what());
    }
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
    target.origins[key] = origin;
}

scenario load_scenario(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw scenario_error(path + ": cannot open the scenario file");
    std::ostringstream contents;
    contents << in.rdbuf();
    if (in.bad()) throw scenario_error(path + ": read error");
    const std::string text = contents.str();
    scenario loaded;
    key_lines lines(path);
    const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
    if (json) {
        const nlohmann::json document = parse_json(path, text, lines);
        if (!document.is_object()) throw scenario_error(path + ": the scenario must be a JSON object of sections");
        for (const auto& [section, values] : document.items()) {
            if (!values.is_object()) throw scenario_error(lines.origin(section) + ": section '" + section + "' must be an object");
            for (const auto& [name, value] : values.items()) {
                const std::string key = section + "." + name;
                try {
                    set_value(loaded, key, json_scalar_text(value), lines.origin(key));
                } catch (const std::invalid_argument& error) {
                    throw scenario_error(lines.origin(key) + ": " + key + ": " + error.what());
                }
            }
        }
    } else {
        // INI as Boost's config files read it: '#' starts a comment, [section] prefixes the
        // names that follow, NAME = VALUE; here with the line of each key kept.
        std::istringstream file(text);
        std::string line, prefix;
        for (std::size_t number = 1; std::getline(file, line); ++number) {
            line = trimmed(line.substr(0, line.find('#')));
            if (line.empty()) continue;
            if (line.front() == '[' && line.back() == ']') {
                prefix = trimmed(line.substr(1, line.size() - 2));
                if (!prefix.empty() && prefix.back() != '.') prefix += '.';
                continue;
            }
            const auto equals = line.find('=');
            if (equals == std::string::npos) {
                throw scenario_error(lines.where(number) + "'" + line + "' is not KEY = VALUE or a [section]");
            }
            const std::string name = trimmed(line.substr(0, equals));
            if (name.empty()) throw scenario_error(lines.where(number) + "'" + line + "' names no key");
            const std::string key = prefix + name;
            lines.add(key, number);
            set_value(loaded, key, trimmed(line.substr(equals + 1)), lines.origin(key));
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
    // Names where `key` was set (the file and line, or --set), or "scenario" for a default.
    const auto fail = [&value](const std::string& key, const std::string& why) {
        const auto found = value.origins.find(key);
        throw scenario_error((found == value.origins.end() ? std::string("scenario") : found->second) + ": " + key + " " + why);
    };
    const auto set_here = [&value](const std::string& key) { return value.origins.count(key) > 0; };
    if (value.peers == 0) fail("workload.peers", "must be at least 1");
    if (value.peers > max_peers) fail("workload.peers", "must be at most " + std::to_string(max_peers));
    if (value.items == 0) fail("workload.items", "must be at least 1");
    if (value.items > max_items) fail("workload.items", "must be at most " + std::to_string(max_items));
    if (value.duration_h <= 0) fail("run.duration_h", "must be above 0");
    if (value.duration_h > max_duration_h) {
        fail("run.duration_h", "must be at most " + format_number(max_duration_h) + " (ten years)");
    }
    if (value.tick_s <= 0 || value.tick_s > 60) fail("run.tick_s", "must be in (0, 60]");
    if (value.item_size_mb <= 0) fail("workload.item_size_mb", "must be above 0");
    if (value.item_size_spread < 0 || value.item_size_spread >= 1) fail("workload.item_size_spread", "must be in [0, 1)");
    if (value.zipf_exponent < 0) fail("workload.zipf_exponent", "must be 0 or more");
    for (const auto& [key, share] : {std::pair{"workload.stream_share", value.stream_share},
                                     {"workload.daemon_share", value.daemon_share},
                                     {"workload.reachable_share", value.reachable_share},
                                     {"workload.daily_cycle", value.daily_cycle}}) {
        if (share < 0 || share > 1) fail(key, "must be in [0, 1]");
    }
    if (value.classes.empty()) fail("workload.classes", "must name at least one capacity class");
    double total = 0;
    for (const auto& c : value.classes) {
        if (c.share < 0 || c.upload_mbps < 0 || c.download_mbps <= 0) {
            fail("workload.classes", "has a class '" + c.name + "' that is negative or has no download");
        }
        total += c.share;
    }
    if (total <= 0) fail("workload.classes", "has shares that add up to 0");
    if (value.seeders == 0) fail("origin.seeders", "must be at least 1: the origin is the floor");
    if (value.seeders > max_seeders) fail("origin.seeders", "must be at most " + std::to_string(max_seeders));
    if (value.seeder_capacity_mbps <= 0) fail("origin.capacity_mbps", "must be above 0");
    if (!(value.anchor_capacity_mbps >= 0)) fail("run.anchor_capacity_mbps", "must be 0 (the origin's capacity) or more");
    if (value.max_connections == 0) fail("peer.max_connections", "must be at least 1");
    if (value.numwant == 0) fail("peer.numwant", "must be at least 1");
    if (value.announce_interval_s <= 0) fail("peer.announce_interval_s", "must be above 0");
    if (value.election_interval_s <= 0) fail("supernodes.election_interval_s", "must be above 0");
    if (!(value.supernode_min_uptime_s >= 0)) fail("supernodes.min_uptime_s", "must be 0 or more");
    if (!(value.supernode_min_capacity_bytes_per_s >= 0)) fail("supernodes.min_capacity_bytes_per_s", "must be 0 or more");
    if (!value.trace.empty() && value.flash_crowd > 0) {
        fail("workload.flash_crowd", "cannot be used with workload.trace: the trace lists every session");
    }
    if (!value.trace.empty() && value.patience_s > 0) {
        fail("workload.patience_s", "cannot be used with workload.trace: a traced session runs until it completes");
    }
    if (value.peers_per_supernode < 1) fail("supernodes.peers_per_supernode", "must be at least 1");
    if (value.admission_limit == 0) fail("supernodes.admission_limit", "must be at least 1");
    if (value.play_rate_kbps <= 0) fail("workload.play_rate_kbps", "must be above 0");
    if (value.strategies.empty()) fail("run.strategies", "names no strategy");
    if (value.as_count == 0) fail("topology.as_count", "must be at least 1");
    if (value.flash_crowd > value.peers) {
        if (set_here("workload.flash_crowd") || !set_here("workload.peers")) {
            fail("workload.flash_crowd", "is larger than workload.peers (" + std::to_string(value.peers) + ")");
        }
        fail("workload.peers", "is smaller than workload.flash_crowd (" + std::to_string(value.flash_crowd) + ")");
    }
    for (const auto& f : value.faults) {
        if (f.at_h < 0 || f.at_h > value.duration_h) {
            fail("faults.list", "has a fault whose hour lies outside the run (0 to run.duration_h): " + fault_text(f));
        }
    }
}

}  // namespace nearcast::sim
