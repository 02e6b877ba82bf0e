// What a run leaves behind: results.json and results.csv (one row per strategy, each with its
// figures against origin_only on the same arrivals, economics.hpp), series.csv
// (origin and peer traffic over time), per_as.csv, and report.html with plots drawn by
// gnuplot. Everything here depends only on the scenario and the results, never on the wall
// clock, so the same scenario and seed give byte-identical files.
#pragma once

#include <string>
#include <vector>

#include "nearcast/sim/economics.hpp"
#include "nearcast/sim/scenario.hpp"
#include "nearcast/sim/simulation.hpp"

namespace nearcast::sim {

struct run_summary {
    std::string topology;
    std::uint64_t peers = 0;
    std::uint32_t ases = 0;
    std::vector<strategy_result> results;
};

// The run's origin_only result, the anchor of the savings figures; nullptr when it did not run.
const strategy_result* anchor_of(const run_summary& run);

// Writes the files into `folder` (created if missing); throws std::runtime_error naming the
// file that could not be written. Returns the names written.
std::vector<std::string> write_results(const std::string& folder, const scenario& config, const run_summary& run);

// The JSON text of results.json.
std::string results_json(const scenario& config, const run_summary& run);

// Draws the plots with gnuplot into `folder` (SVG); false when gnuplot is missing or failed.
bool draw_plots(const std::string& folder, const run_summary& run);

}  // namespace nearcast::sim
