// nearcast-prox: look up addresses, measure distances, compile and inspect routing data.
#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "nearcast/core/common_options.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/options.hpp"  // unsigned values refuse a minus sign

#include "nearcast/proximity/distance.hpp"
#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/model.hpp"

namespace po = boost::program_options;
namespace prox = nearcast::proximity;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_bad_input = 2;

// A usage problem: the message goes to stderr with a pointer to --help, exit code 2.
using nearcast::core::usage_error;

const char* overview = R"(nearcast-prox: how near are two Internet addresses, from real BGP data

Usage: nearcast-prox COMMAND [OPTIONS] [ARGS]

Commands:
  lookup IP... | -              the prefix, origin AS(es) and AS name of each address
  distance A B                  the network distance between two addresses
  compile SOURCE... -o FILE     combine routing sources into one snapshot file
  stats [SOURCE...]             prefixes, ASes, links and memory of the routing data

Routing sources are MRT RIB dumps (TABLE_DUMP_V2), CAIDA pfx2as and pyasn IPASN text, MaxMind
DB files (GeoLite2-ASN layout), plain, gzip or bzip2; or one compiled snapshot. Sources are
layered in the order given: a later source only answers for addresses no earlier one covers.
Without --data, the routing data is $NEARCAST_PROX_DATA or the default snapshot installed with the tools.

Run 'nearcast-prox COMMAND --help' for a command's options; every command takes the common
-d/--data, -v/--verbose, -q/--quiet, --log-level and --version. Exit status: 0 success,
2 bad input or usage, 1 other failure.
)";

po::options_description data_option() {
    po::options_description options("Routing data");
    options.add_options()
        ("data,d", po::value<std::vector<std::string>>()->composing(),
         "routing source or snapshot (repeatable, earlier sources win)");
    return options;
}

std::vector<std::string> default_data() {
    if (const char* from_environment = std::getenv("NEARCAST_PROX_DATA"); from_environment && *from_environment) {
        return {from_environment};
    }
    if (const auto snapshot = nearcast::core::default_snapshot(NEARCAST_DEFAULT_SNAPSHOT, NEARCAST_INSTALLED_SNAPSHOT)) {
        return {snapshot->string()};
    }
    throw usage_error("no routing data: give --data SOURCE (no default snapshot was found at " +
                      std::string(NEARCAST_DEFAULT_SNAPSHOT) + ")");
}

prox::model load_model(const po::variables_map& values, std::vector<std::string> sources = {}) {
    if (sources.empty() && values.count("data")) sources = values["data"].as<std::vector<std::string>>();
    if (sources.empty()) sources = default_data();
    const auto started = std::chrono::steady_clock::now();
    prox::model routing = prox::model::load(sources);
    const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    spdlog::debug("loaded {} prefixes from {} source(s) in {:.1f} ms", routing.prefixes().size(), sources.size(),
                  elapsed.count());
    return routing;
}

prox::ip_address parse_address(const std::string& text) {
    const auto address = prox::ip_address::parse(text);
    if (!address) throw usage_error("'" + text + "' is not an IPv4 or IPv6 address");
    return *address;
}

std::string origins_text(std::span<const std::uint32_t> origins) {
    std::string text;
    for (std::uint32_t origin : origins) text += (text.empty() ? "AS" : ",AS") + std::to_string(origin);
    return text;
}

std::string describe(const prox::model& routing, prox::ip_address address) {
    const auto found = routing.prefixes().lookup(address);
    if (!found) return address.to_string() + "\t-\tno route";
    std::string line = address.to_string() + "\t" + found->prefix.to_string() + "\t" + origins_text(found->origins);
    if (const auto name = routing.as_name(found->primary_origin()); !name.empty()) line.append("\t").append(name);
    return line;
}

struct command_line {
    po::variables_map values;
    std::vector<std::string> arguments;
    bool quiet = false;
};

// Parses a command's options after the common ones; positional arguments go to `arguments`.
command_line parse_command(const std::vector<std::string>& args, const po::options_description& options,
                           const char* usage) {
    nearcast::core::common_options common("nearcast-prox", {.config_file = false});
    po::options_description shown;
    shown.add(common.description()).add(options);
    po::options_description hidden;
    hidden.add_options()("arguments", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(shown).add(hidden);
    po::positional_options_description positional;
    positional.add("arguments", -1);
    command_line parsed;
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).style(nearcast::core::command_line_style).run(), parsed.values);
        if (common.answered(parsed.values, usage, shown)) std::exit(exit_ok);
        po::notify(parsed.values);
    } catch (const po::error& error) {
        throw usage_error(error.what());
    }
    common.apply_log_level(parsed.values);
    parsed.quiet = common.quiet();
    if (parsed.values.count("arguments")) parsed.arguments = parsed.values["arguments"].as<std::vector<std::string>>();
    return parsed;
}

// Addresses from stdin, one per line ('#' comments and blank lines skipped). A bad line is
// reported with its number and the rest still answered; the exit status then says 2.
int lookup_stream(const prox::model& routing) {
    int status = exit_ok;
    std::uint64_t line_number = 0;
    for (std::string line; std::getline(std::cin, line);) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.front() == '#') continue;
        const auto address = prox::ip_address::parse(line);
        if (!address) {
            std::cerr << "nearcast-prox: stdin:" << line_number << ": '" << line << "' is not an IPv4 or IPv6 address\n";
            status = exit_bad_input;
            continue;
        }
        std::cout << describe(routing, *address) << "\n";
    }
    return status;
}

int run_lookup(const std::vector<std::string>& args) {
    const auto parsed = parse_command(args, data_option(),
                                      "Usage: nearcast-prox lookup [OPTIONS] IP...\n"
                                      "       nearcast-prox lookup [OPTIONS] -     (addresses from stdin, one a line)\n"
                                      "Prints, for each address: address, prefix, origin AS(es), AS name.\n");
    if (parsed.arguments.empty()) throw usage_error("lookup needs at least one address, or - for stdin");
    if (parsed.arguments.size() == 1 && parsed.arguments.front() == "-") return lookup_stream(load_model(parsed.values));
    std::vector<prox::ip_address> addresses;
    for (const auto& text : parsed.arguments) addresses.push_back(parse_address(text));
    const prox::model routing = load_model(parsed.values);
    for (const auto& address : addresses) std::cout << describe(routing, address) << "\n";
    return exit_ok;
}

int run_distance(const std::vector<std::string>& args) {
    po::options_description options = data_option();
    const prox::distance_options defaults;
    options.add_options()
        ("subnet-v4", po::value<unsigned>()->default_value(defaults.subnet_v4), "IPv4 subnet length for same-subnet")
        ("subnet-v6", po::value<unsigned>()->default_value(defaults.subnet_v6), "IPv6 subnet length for same-subnet")
        ("max-hops", po::value<unsigned>()->default_value(defaults.max_as_hops), "farther than this is unknown");
    const auto parsed = parse_command(args, options,
                                      "Usage: nearcast-prox distance [OPTIONS] A B\n"
                                      "Prints the nearness of two addresses (nearest first: same-subnet, same-prefix,\n"
                                      "same-as, adjacent-as, N AS hops, unknown) and its sorting cost.\n");
    if (parsed.arguments.size() != 2) throw usage_error("distance needs exactly two addresses");
    prox::distance_options chosen;
    chosen.subnet_v4 = parsed.values["subnet-v4"].as<unsigned>();
    chosen.subnet_v6 = parsed.values["subnet-v6"].as<unsigned>();
    chosen.max_as_hops = parsed.values["max-hops"].as<unsigned>();
    if (chosen.subnet_v4 > 32) throw usage_error("--subnet-v4 must be 0 to 32");
    if (chosen.subnet_v6 > 128) throw usage_error("--subnet-v6 must be 0 to 128");
    const auto a = parse_address(parsed.arguments[0]);
    const auto b = parse_address(parsed.arguments[1]);
    const prox::model routing = load_model(parsed.values);
    const auto result = prox::distance(routing, a, b, chosen);
    std::cout << describe(routing, a) << "\n" << describe(routing, b) << "\n"
              << "distance\t" << result.to_string() << "\tcost " << result.cost() << "\n";
    return exit_ok;
}

void print_summary(const prox::model& routing) {
    const auto& table = routing.prefixes();
    std::set<std::uint32_t> origins;
    for (const auto& found : table.routes()) origins.insert(found.origins.begin(), found.origins.end());
    const double memory = static_cast<double>(routing.memory_bytes());
    std::cout << "prefixes\t" << table.size() << "\t(IPv4 " << table.v4_size() << ", IPv6 " << table.v6_size() << ")\n"
              << "origin ASes\t" << origins.size() << "\n"
              << "graph ASes\t" << routing.graph().as_count() << "\n"
              << "AS links\t" << routing.graph().link_count() << "\n"
              << "AS names\t" << routing.as_name_count() << "\n"
              << "memory bytes\t" << routing.memory_bytes() << "\t(table " << table.memory_bytes() << ", "
              << (table.size() ? memory / static_cast<double>(table.size()) : 0.0) << " per prefix)\n";
}

int run_compile(const std::vector<std::string>& args) {
    po::options_description options = data_option();
    options.add_options()("output,o", po::value<std::string>(), "snapshot file to write");
    const auto parsed = parse_command(args, options,
                                      "Usage: nearcast-prox compile [OPTIONS] SOURCE... -o FILE\n"
                                      "Combines the sources, in priority order (those given with -d first), into one\n"
                                      "snapshot file.\n");
    if (!parsed.values.count("output")) throw usage_error("compile needs -o FILE");
    std::vector<std::string> sources;
    if (parsed.values.count("data")) sources = parsed.values["data"].as<std::vector<std::string>>();
    sources.insert(sources.end(), parsed.arguments.begin(), parsed.arguments.end());
    if (sources.empty()) throw usage_error("compile needs at least one source");
    const auto started = std::chrono::steady_clock::now();
    const prox::model routing = prox::model::load(sources);
    for (const auto& report : routing.reports()) {
        std::string skipped;
        for (const auto& [kind, count] : report.skipped_by_kind) skipped += ", " + std::to_string(count) + " " + kind;
        spdlog::info("{}: {} {} records{}", report.input, report.records, report.format, skipped);
    }
    const std::string output = parsed.values["output"].as<std::string>();
    routing.save_snapshot(output);
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
    spdlog::info("wrote {} ({} bytes) in {:.2f} s", output, std::filesystem::file_size(output), elapsed.count());
    if (!parsed.quiet) print_summary(routing);
    return exit_ok;
}

int run_stats(const std::vector<std::string>& args) {
    const auto parsed = parse_command(args, data_option(),
                                      "Usage: nearcast-prox stats [OPTIONS] [SOURCE...]\n"
                                      "Prints prefixes, ASes, AS links, AS names and memory of the routing data.\n");
    const auto started = std::chrono::steady_clock::now();
    const prox::model routing = load_model(parsed.values, parsed.arguments);
    const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    print_summary(routing);
    std::cout << "load ms\t" << elapsed.count() << "\n";
    return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    nearcast::core::start_logging("nearcast-prox");
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << overview;
        return args.empty() ? exit_bad_input : exit_ok;
    }
    if (args[0] == "--version") {
        std::cout << "nearcast-prox " << nearcast::core::version() << "\n";
        return exit_ok;
    }
    // The command may come after options (nearcast-prox -v lookup ...), as in the other tools:
    // the first known command word is it, and everything else goes to it.
    static const std::set<std::string> commands{"lookup", "distance", "compile", "stats"};
    auto word = std::find_if(args.begin(), args.end(), [](const std::string& arg) { return commands.count(arg) > 0; });
    if (word == args.end()) word = std::find_if(args.begin(), args.end(), [](const std::string& arg) { return !arg.starts_with("-"); });
    if (word == args.end()) word = args.begin();
    const std::string command = *word;
    std::vector<std::string> rest(args.begin(), word);
    rest.insert(rest.end(), word + 1, args.end());
    try {
        if (command == "lookup") return run_lookup(rest);
        if (command == "distance") return run_distance(rest);
        if (command == "compile") return run_compile(rest);
        if (command == "stats") return run_stats(rest);
        throw usage_error("unknown command '" + command + "'");
    } catch (const usage_error& error) {
        std::cerr << "nearcast-prox: " << error.what() << " (see nearcast-prox "
                  << (commands.count(command) ? command + " " : "") << "--help)\n";
        return exit_bad_input;
    } catch (const prox::input_error& error) {
        std::cerr << "nearcast-prox: " << error.what() << "\n";
        return exit_bad_input;
    } catch (const std::exception& error) {
        std::cerr << "nearcast-prox: " << error.what() << "\n";
        return exit_failure;
    }
}
