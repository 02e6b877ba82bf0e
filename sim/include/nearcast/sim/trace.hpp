// A workload given as it happened instead of drawn: the items with their sizes, the always-on
// daemons, and every session with its time, peer, item and kind. The demo writes one
// (demo/demo.py sim-trace) so that the simulator can replay the demo's arrivals and be
// compared with the real system on the same work (demo/calibrate.sh).
//
// The file is tab- or space-separated text, one record per line, '#' starts a comment:
//   item     INDEX BYTES                         indexes 0, 1, 2, ... in order
//   daemon   ADDRESS:PORT                        a supernode candidate, up from the start
//   session  AT_S ADDRESS:PORT ITEM KIND LINGER_S
//            KIND download or stream; LINGER_S: seconds it seeds after completing
// A session's ADDRESS:PORT is a peer of its own (one session at a time per peer, as in the
// engine); an address says where the peer is, through the scenario's routing data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nearcast/sim/scenario.hpp"

namespace nearcast::sim {

struct session_trace {
    struct endpoint {
        std::uint32_t address = 0;  // IPv4
        std::uint16_t port = 0;
        std::string where;          // FILE:LINE, for messages
    };
    struct arrival {
        double at_s = 0;
        endpoint peer;
        std::uint32_t item = 0;
        bool stream = false;
        double linger_s = 0;
    };
    std::vector<double> item_bytes;
    std::vector<endpoint> daemons;
    std::vector<arrival> sessions;  // in the order of the file; times need not be sorted
};

// Reads a trace; throws scenario_error naming the file and line of anything wrong (an unknown
// record, a bad number or address, an item out of order or unknown, a duplicate endpoint, a
// session outside the run) and the file itself when it is missing, a folder or empty.
session_trace load_trace(const std::string& path, double duration_s);

// The scenario the trace implies: workload.peers becomes its number of distinct endpoints and
// workload.items its items.
void apply_trace(scenario& config, const session_trace& trace);

}  // namespace nearcast::sim
