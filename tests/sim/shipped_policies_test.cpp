// The simulator runs what ships: every decision function of the policy libraries that the
// tracker, the seeder, the daemon and the peer call is either called by the simulator's engine
// (sim/src/) or listed below with the reason the fluid model has no use for it. A decision added
// to a policy header and left out of the simulator fails here, and so does an exemption for a
// function the simulator has come to call.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

const std::string source = NEARCAST_SOURCE_DIR;

// The headers of the policy libraries: the decisions the real components take.
const std::map<std::string, std::string> policy_headers = {
    {"peer/include/nearcast/peer/ranking.hpp", "peer"},
    {"peer/include/nearcast/peer/supernode_role.hpp", "peer"},
    {"peer/include/nearcast/peer/cache_policy.hpp", "peer"},
    {"tracker/include/nearcast/tracker/selection.hpp", "tracker"},
    {"tracker/include/nearcast/tracker/supernodes.hpp", "tracker"},
    {"seeder/include/nearcast/seeder/upload_budget.hpp", "seeder"},
};

// Declared there, not called by the simulator, and why.
const std::map<std::string, std::string> not_simulated = {
    {"peer::to_string", "a name for logs, no decision"},
    {"peer::near_prefixes", "the shell's libtorrent peer-class filter; the simulator classifies each flow with peer::classify"},
    {"peer::pace_to_keep", "called by peer::step_deference"},
    {"peer::near_proven", "called by peer::step_deference"},
    {"peer::hold_off_origin", "called by peer::step_deference"},
    {"peer::near_supply", "counts piece bitmaps, which the fluid model has not; the simulator counts the same supply from "
                          "the shares of the item its near sources hold (policies.cpp)"},
    {"peer::may_be_gateway", "judges the limits a user sets; no scenario sets one (a simulated peer's upload is its link, "
                             "whose slowness the follower floor in peer::step_deference judges)"},
    {"peer::upload_rate_now", "the user's monthly upload cap: no scenario sets one (every daemon uploads at its class's rate)"},
    {"peer::unchoke_slots", "libtorrent's unchoke slots; the fluid model shares rates max-min instead"},
    {"peer::parse_limit_change", "the control API's parser, no decision"},
    {"peer::merge", "the control API's limits, no decision"},
    {"peer::month_of", "the calendar month of the monthly cap, no decision"},
    {"tracker::supernode_score", "called by tracker::elect_supernodes"},
    {"tracker::supernode_target", "called by tracker::elect_supernodes"},
    {"seeder::serves_itself", "called by seeder::plan_upload"},
    // Classes that keep a policy's state.
    {"peer::locator", "places addresses for the shell; the simulator places each pair with tracker::record_distance"},
    {"peer::capacity_meter", "the daemon measures its own upload; the simulator knows each peer's capacity class"},
    {"peer::child_admission", "the daemon counts the children that connect; the simulator counts those the tracker "
                              "assigns and refuses every other connection to a supernode (swarming.cpp)"},
};

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("the simulator calls every shipped policy decision, or says why the fluid model has no use for it") {
    // Free functions declared at namespace scope (not indented) in the policy headers, and the
    // classes that keep a policy's state (peer::backstop, ...).
    std::set<std::string> declared;
    const std::regex declaration(R"(^[A-Za-z_][\w:<>, ]*[\s*&]+(\w+)\()");
    const std::regex class_declaration(R"(^class (\w+) \{)");
    for (const auto& [header, space] : policy_headers) {
        std::istringstream lines(read(source + "/" + header));
        std::string line;
        while (std::getline(lines, line)) {
            std::smatch match;
            if (std::regex_search(line, match, class_declaration)) {
                declared.insert(space + "::" + match[1].str());
            } else if (!line.starts_with("struct") && !line.starts_with("class") && !line.starts_with("enum") &&
                       !line.starts_with("using") && !line.starts_with("namespace") && !line.starts_with("return") &&
                       std::regex_search(line, match, declaration)) {
                declared.insert(space + "::" + match[1].str());
            }
        }
    }
    // The ones every run must have found: the list above is not vacuous.
    for (const char* known : {"peer::backstop", "peer::prefetch_plan", "peer::hold_origin_back", "peer::step_deference", "tracker::select_peers",
                              "tracker::elect_supernodes", "tracker::credited_capacity", "seeder::plan_upload"}) {
        CHECK(declared.count(known) == 1);
    }

    std::string simulator;
    for (const auto& entry : std::filesystem::directory_iterator(source + "/sim/src")) simulator += read(entry.path());
    std::set<std::string> called;
    // A call (of a template too: peer::hold_origin_back<std::uint32_t>(...)), or a class used by
    // name (peer::backstop backstop{...}, tracker::hop_cache hops_).
    const std::regex call(R"(\b(peer|tracker|seeder)::(\w+)(\(|<| \w))");
    for (auto at = std::sregex_iterator(simulator.begin(), simulator.end(), call); at != std::sregex_iterator(); ++at) {
        called.insert((*at)[1].str() + "::" + (*at)[2].str());
    }

    for (const auto& decision : declared) {
        INFO(decision << (called.count(decision) ? ": called by the simulator" : ": not called by the simulator"));
        CHECK((called.count(decision) == 1) != (not_simulated.count(decision) == 1));
    }
    for (const auto& [exempt, why] : not_simulated) {
        INFO(exempt << " is exempt (" << why << ") but is no longer declared in a policy header");
        CHECK(declared.count(exempt) == 1);
    }
}
