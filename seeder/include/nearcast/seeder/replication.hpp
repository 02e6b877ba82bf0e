// Which seeder holds which item: every item on at least `replicas` seeders, with no coordinator.
//
// Each seeder ranks the seeders it can reach (itself included) for an item by a hash of
// (seeder name, item hash) - rendezvous hashing - and the top `replicas` are the item's
// homes. Every seeder computes the same homes from the same view, so when a home lacks an
// item it fetches it, and nobody else does; when a seeder is down the next in rank steps in,
// and adding a seeder moves only the items it now wins. Pure code: the daemon feeds it what
// fellows said at /catalogue, and the simulator can call it too.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace nearcast::seeder {

// What one seeder holds whole, by v1 hash (40 hex).
struct seeder_holdings {
    std::string name;
    std::set<std::string> complete;
};

struct replica_fetch {
    std::string v1_hex;
    std::vector<std::string> sources;  // seeders that hold it whole, best first
};

// The score of a seeder for an item: the higher, the more it is the item's home.
std::uint64_t home_score(const std::string& seeder, const std::string& v1_hex);

// The homes of an item among these seeders, best first, at most `replicas`.
std::vector<std::string> homes_of(const std::string& v1_hex, const std::vector<std::string>& seeders, std::size_t replicas);

// What `self` should fetch: items someone reachable holds whole, whose homes include `self`,
// and that `self` neither holds nor is fetching (`held` lists both).
std::vector<replica_fetch> replicas_to_fetch(const std::string& self, const std::set<std::string>& held,
                                             const std::vector<seeder_holdings>& fellows, std::size_t replicas);

}  // namespace nearcast::seeder
