#include "nearcast/sim/report.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nearcast::sim {

namespace {

std::string fixed(double value, int decimals = 4) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

nlohmann::ordered_json percentiles_json(const percentiles& p) {
    return {{"count", p.count}, {"mean", p.mean}, {"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"max", p.max}};
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error(path.string() + ": cannot write: " + std::strerror(errno));
}

// A figure against the anchor, or "" (CSV) / null (JSON) where there is none.
std::string csv_figure(const std::optional<double>& value) { return value ? fixed(*value) : std::string(); }

nlohmann::ordered_json json_figure(const std::optional<double>& value) {
    return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

std::optional<versus_cdn> against_anchor(const run_summary& run, const strategy_result& r) {
    const strategy_result* cdn = anchor_of(run);
    if (!cdn) return std::nullopt;
    return compare_with_cdn(r, *cdn);
}

std::string results_csv(const run_summary& run) {
    std::ostringstream out;
    out << "strategy,origin_savings_vs_cdn,transit_ratio_total,transit_ratio_worst_as,worst_asn,download_p90_ratio_vs_cdn,"
           "stall_ratio_vs_cdn,peer_share_of_received,inter_as_share,peer_inter_as_share,origin_gb,peer_intra_gb,peer_inter_gb,"
           "supernode_gb,downloads_completed,streams_completed,aborted,unfinished,download_p50_s,download_p90_s,"
           "download_p99_s,startup_p50_s,startup_p90_s,stall_ratio,streams_with_stall,supernodes,"
           "max_children_over_limit,prefetch_waste_share,events\n";
    for (const auto& r : run.results) {
        const auto against = against_anchor(run, r);
        out << to_string(r.which) << ',';
        if (against) {
            out << fixed(against->origin_savings) << ',' << fixed(against->transit_ratio_total) << ','
                << fixed(against->transit_ratio_worst_as) << ',' << against->worst_asn << ','
                << csv_figure(against->download_p90_ratio) << ',' << csv_figure(against->stall_ratio) << ',';
        } else {
            out << ",,,,,,";
        }
        out << fixed(r.peer_share_of_received()) << ',' << fixed(r.inter_as_share()) << ','
            << fixed(r.peer_inter_as_share()) << ',' << fixed(r.origin_bytes / 1e9, 3) << ','
            << fixed(r.peer_intra_bytes / 1e9, 3) << ',' << fixed(r.peer_inter_bytes / 1e9, 3) << ','
            << fixed(r.supernode_bytes / 1e9, 3) << ',' << r.downloads_completed << ',' << r.streams_completed << ','
            << r.sessions_aborted << ',' << r.sessions_unfinished << ',' << fixed(r.download_time_s.p50, 2) << ','
            << fixed(r.download_time_s.p90, 2) << ',' << fixed(r.download_time_s.p99, 2) << ','
            << fixed(r.startup_delay_s.p50, 2) << ',' << fixed(r.startup_delay_s.p90, 2) << ','
            << fixed(r.stall_ratio) << ',' << fixed(r.streams_with_stall) << ',' << r.supernodes_peak << ','
            << fixed(r.max_children_over_limit) << ',' << fixed(r.prefetch_waste_share()) << ',' << r.events << '\n';
    }
    return out.str();
}

std::string series_csv(const run_summary& run) {
    std::ostringstream out;
    out << "strategy,hour,origin_mbps,peer_intra_mbps,peer_inter_mbps,downloading\n";
    for (const auto& r : run.results) {
        for (std::size_t b = 0; b < r.series.size(); ++b) {
            const auto& bucket = r.series[b];
            const double to_mbps = 8 / 1e6 / r.bucket_s;
            out << to_string(r.which) << ',' << fixed(static_cast<double>(b) * r.bucket_s / 3600, 3) << ','
                << fixed(bucket.origin_bytes * to_mbps, 3) << ',' << fixed(bucket.peer_intra_bytes * to_mbps, 3) << ','
                << fixed(bucket.peer_inter_bytes * to_mbps, 3) << ',' << bucket.active_sessions << '\n';
        }
    }
    return out.str();
}

std::string per_as_csv(const run_summary& run) {
    std::ostringstream out;
    out << "strategy,asn,peers,intra_gb,transit_in_gb,transit_out_gb,first_request_gb\n";
    for (const auto& r : run.results) {
        for (const auto& as : r.per_as) {
            out << to_string(r.which) << ',' << as.asn << ',' << as.peers << ',' << fixed(as.intra_bytes / 1e9, 3) << ','
                << fixed(as.transit_in_bytes / 1e9, 3) << ',' << fixed(as.transit_out_bytes / 1e9, 3) << ','
                << fixed(as.first_request_bytes / 1e9, 3) << '\n';
        }
    }
    return out.str();
}

std::string html_escape(const std::string& text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string report_html(const scenario& config, const run_summary& run, bool plots) {
    std::ostringstream out;
    out << "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>nearcast-sim report</title>\n"
           "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
           "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px;text-align:right}"
           "th{background:#eee}td:first-child{text-align:left}img{max-width:100%}</style></head><body>\n";
    out << "<h1>nearcast-sim: " << run.peers << " peers, " << config.items << " items, "
        << fixed(config.duration_h, 1) << " simulated hours</h1>\n";
    out << "<p>Topology: " << html_escape(run.topology) << " (" << run.ases << " ASes with peers). Seed "
        << config.seed << ".</p>\n";
    if (anchor_of(run)) {
        out << "<h2>Against a CDN on the same arrivals</h2>\n<p>Each strategy against <code>origin_only</code> (every "
               "peer fetches from the origin) on the same scenario and seed. Transit is what entered the access ASes "
               "from outside them (the origin and other ASes' peers): above 1, an ISP carries more than with a "
               "CDN. Its floor is what no policy can beat on these arrivals: every item entering each AS once, at "
               "its first request there.</p>\n<table><tr><th>strategy</th><th>origin savings</th><th>transit, all ASes "
               "(floor)</th><th>transit, worst AS (floor)</th><th>download p90</th><th>stall ratio</th></tr>\n";
        const auto times = [](const std::optional<double>& value) { return value ? "&times;" + fixed(*value, 2) : std::string("n/a"); };
        for (const auto& r : run.results) {
            if (&r == anchor_of(run)) continue;
            const auto against = compare_with_cdn(r, *anchor_of(run));
            out << "<tr><td>" << to_string(r.which) << "</td><td>" << fixed(100 * against.origin_savings, 1) << "%</td><td>&times;"
                << fixed(against.transit_ratio_total, 2) << " (&times;" << fixed(against.transit_floor_total, 2)
                << ")</td><td>&times;" << fixed(against.transit_ratio_worst_as, 2) << " (AS" << against.worst_asn
                << "; &times;" << fixed(against.transit_floor_worst_as, 2) << ")</td><td>" << times(against.download_p90_ratio) << "</td><td>"
                << times(against.stall_ratio) << "</td></tr>\n";
        }
        out << "</table>\n";
    } else {
        out << "<p>No <code>origin_only</code> run (run.anchor=false): nothing here says what the origin saved.</p>\n";
    }
    out << "<h2>Per strategy</h2>\n<table><tr><th>strategy</th><th>share of received bytes not from the origin "
           "(cache fills included)</th><th>inter-AS share</th>"
           "<th>origin GB</th><th>peer GB (intra / inter)</th><th>downloads done</th><th>download p50 / p90 s</th>"
           "<th>stream start p50 / p90 s</th><th>stall ratio</th><th>supernodes</th>"
           "<th>cache fills GB (never read by a child)</th></tr>\n";
    for (const auto& r : run.results) {
        out << "<tr><td>" << to_string(r.which) << "</td><td>" << fixed(100 * r.peer_share_of_received(), 1) << "%</td><td>"
            << fixed(100 * r.inter_as_share(), 1) << "%</td><td>" << fixed(r.origin_bytes / 1e9, 1) << "</td><td>"
            << fixed(r.peer_intra_bytes / 1e9, 1) << " / " << fixed(r.peer_inter_bytes / 1e9, 1) << "</td><td>"
            << r.downloads_completed << "</td><td>" << fixed(r.download_time_s.p50, 1) << " / "
            << fixed(r.download_time_s.p90, 1) << "</td><td>" << fixed(r.startup_delay_s.p50, 2) << " / "
            << fixed(r.startup_delay_s.p90, 2) << "</td><td>" << fixed(100 * r.stall_ratio, 2) << "%</td><td>"
            << r.supernodes_peak << "</td><td>" << fixed(r.cache_fill_bytes / 1e9, 1) << " ("
            << fixed(100 * r.prefetch_waste_share(), 1) << "%)</td></tr>\n";
    }
    out << "</table>\n";
    if (plots) {
        out << "<h2>Origin upload over the day</h2><img src=\"origin.svg\" alt=\"origin upload per strategy\">\n";
        out << "<h2>Where the bytes came from</h2><img src=\"sources.svg\" alt=\"bytes by source per strategy\">\n";
    } else {
        out << "<p>(gnuplot was not found: no plots were drawn; the CSV files hold the data.)</p>\n";
    }
    bool any_fault = false;
    for (const auto& r : run.results) any_fault |= !r.faults.empty();
    if (any_fault) {
        out << "<h2>Faults</h2>\n<table><tr><th>strategy</th><th>fault</th><th>removed</th><th>sessions cut</th>"
               "<th>orphans</th><th>re-homed</th><th>longest re-home s</th><th>origin Mbit/s before / after</th></tr>\n";
        for (const auto& r : run.results) {
            for (const auto& f : r.faults) {
                out << "<tr><td>" << to_string(r.which) << "</td><td>" << html_escape(f.what) << "</td><td>" << f.removed
                    << "</td><td>" << f.sessions_interrupted << "</td><td>" << f.orphans << "</td><td>" << f.rehomed
                    << "</td><td>" << fixed(f.max_rehome_s, 1) << "</td><td>" << fixed(f.origin_mbps_before, 1) << " / "
                    << fixed(f.origin_mbps_after, 1) << "</td></tr>\n";
            }
        }
        out << "</table>\n";
    }
    out << "<p>Data: <a href=\"results.json\">results.json</a>, <a href=\"results.csv\">results.csv</a>, "
           "<a href=\"series.csv\">series.csv</a>, <a href=\"per_as.csv\">per_as.csv</a>.</p>\n</body></html>\n";
    return out.str();
}

}  // namespace

const strategy_result* anchor_of(const run_summary& run) {
    for (const auto& r : run.results) {
        if (r.which == strategy::origin_only) return &r;
    }
    return nullptr;
}

std::string results_json(const scenario& config, const run_summary& run) {
    nlohmann::ordered_json document;
    document["scenario"] = describe(config);
    document["topology"] = run.topology;
    document["peers"] = run.peers;
    document["ases"] = run.ases;
    for (const auto& r : run.results) {
        nlohmann::ordered_json entry;
        entry["strategy"] = to_string(r.which);
        if (const auto against = against_anchor(run, r)) {
            entry["versus_origin_only"] = {{"origin_savings", against->origin_savings},
                                           {"transit_ratio_total", against->transit_ratio_total},
                                           {"transit_ratio_worst_as", against->transit_ratio_worst_as},
                                           {"worst_asn", against->worst_asn},
                                           {"transit_floor_total", against->transit_floor_total},
                                           {"transit_floor_worst_as", against->transit_floor_worst_as},
                                           {"download_p90_ratio", json_figure(against->download_p90_ratio)},
                                           {"stall_ratio", json_figure(against->stall_ratio)}};
        } else {
            entry["versus_origin_only"] = nullptr;
        }
        entry["peer_share_of_received"] = r.peer_share_of_received();
        entry["inter_as_share"] = r.inter_as_share();
        entry["peer_inter_as_share"] = r.peer_inter_as_share();
        entry["bytes"] = {{"origin", r.origin_bytes}, {"peer_intra", r.peer_intra_bytes},
                          {"peer_inter", r.peer_inter_bytes}, {"from_supernodes", r.supernode_bytes},
                          {"sent", r.bytes_sent}, {"received", r.bytes_received}};
        entry["sessions"] = {{"arrivals", r.arrivals}, {"skipped", r.arrivals_skipped},
                             {"downloads_completed", r.downloads_completed}, {"streams_completed", r.streams_completed},
                             {"aborted", r.sessions_aborted}, {"unfinished", r.sessions_unfinished},
                             {"completed_short", r.completed_short}, {"web_seeded", r.sessions_web_seeded}};
        entry["download_time_s"] = percentiles_json(r.download_time_s);
        entry["startup_delay_s"] = percentiles_json(r.startup_delay_s);
        entry["stall_ratio"] = r.stall_ratio;
        entry["streams_with_stall"] = r.streams_with_stall;
        entry["supernodes"] = {{"elected", r.supernodes_elected}, {"peak", r.supernodes_peak},
                               {"cache_fill_bytes", r.cache_fill_bytes}, {"cache_fill_unread_bytes", r.cache_fill_unread_bytes},
                               {"prefetch_waste_share", r.prefetch_waste_share()},
                               {"max_children_over_limit", r.max_children_over_limit},
                               {"upload_gb", percentiles_json(r.supernode_upload_gb)},
                               {"children", percentiles_json(r.supernode_children)}};
        nlohmann::ordered_json faults = nlohmann::ordered_json::array();
        for (const auto& f : r.faults) {
            faults.push_back({{"what", f.what}, {"removed", f.removed}, {"sessions_interrupted", f.sessions_interrupted},
                              {"orphans", f.orphans}, {"rehomed", f.rehomed}, {"finished_first", f.finished_first},
                              {"left_to_origin", f.left_to_origin}, {"max_rehome_s", f.max_rehome_s},
                              {"origin_mbps_before", f.origin_mbps_before}, {"origin_mbps_after", f.origin_mbps_after}});
        }
        entry["faults"] = faults;
        entry["events"] = r.events;
        entry["flow_ticks"] = r.flow_ticks;
        entry["peak_concurrent_sessions"] = r.peak_concurrent_sessions;
        document["results"].push_back(entry);
    }
    return document.dump(2) + "\n";
}

bool draw_plots(const std::string& folder, const run_summary& run) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) return false;
    const std::filesystem::path dir(folder);
    std::ostringstream script;
    script << "set terminal svg size 1000,420 dynamic font 'sans,11'\nset termoption noenhanced\n"
              "set datafile separator ','\n"
              "set key outside right\nset grid\nset xlabel 'simulated hour'\n";
    script << "set output '" << (dir / "origin.svg").string() << "'\nset ylabel 'origin upload, Mbit/s'\nplot ";
    for (std::size_t i = 0; i < run.results.size(); ++i) {
        const auto name = to_string(run.results[i].which);
        script << (i ? ", " : "") << "'" << (dir / "series.csv").string() << "' using 2:(stringcolumn(1) eq '" << name
               << "' ? $3 : NaN) with lines lw 2 title '" << name << "'";
    }
    script << "\nunset xlabel\nset output '" << (dir / "sources.svg").string()
           << "'\nset ylabel 'GB'\nset style data histograms\nset style histogram rowstacked\n"
              "set style fill solid 0.8 border -1\nset boxwidth 0.7\nset datafile separator ','\n"
              "plot '" << (dir / "results.csv").string()
           << "' every ::1 using 11:xtic(1) title 'origin', '' every ::1 using 12 title 'peers, same AS', "
              "'' every ::1 using 13 title 'peers, other AS'\n";
    const auto script_path = dir / "plots.gnuplot";
    write_file(script_path, script.str());
    const std::string command = "gnuplot '" + script_path.string() + "' 2>/dev/null";
    return std::system(command.c_str()) == 0;
}

std::vector<std::string> write_results(const std::string& folder, const scenario& config, const run_summary& run) {
    const std::filesystem::path dir(folder);
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) throw std::runtime_error(folder + ": cannot create the output folder: " + error.message());
    // Everything is written into a staging folder first and moved into place only once all of it
    // is whole: a full disk or an error in the middle leaves the folder as it was.
    const std::filesystem::path staging = dir / (".partial-" + std::to_string(::getpid()));
    std::filesystem::remove_all(staging, error);
    std::filesystem::create_directories(staging, error);
    if (error) throw std::runtime_error(folder + ": cannot write into the output folder: " + error.message());
    bool plots = false;
    try {
        write_file(staging / "results.json", results_json(config, run));
        write_file(staging / "results.csv", results_csv(run));
        write_file(staging / "series.csv", series_csv(run));
        write_file(staging / "per_as.csv", per_as_csv(run));
        plots = draw_plots(staging.string(), run);
        write_file(staging / "report.html", report_html(config, run, plots));
    } catch (const std::exception& failure) {
        std::filesystem::remove_all(staging, error);
        throw std::runtime_error(std::string(failure.what()) + " (nothing was written to " + folder + ")");
    }
    // The plot script names staging paths: it served its purpose and does not move.
    std::filesystem::remove(staging / "plots.gnuplot", error);
    for (const auto& entry : std::filesystem::directory_iterator(staging)) {
        std::filesystem::rename(entry.path(), dir / entry.path().filename(), error);
        if (error) {
            std::filesystem::remove_all(staging, error);
            throw std::runtime_error(folder + ": cannot move " + entry.path().filename().string() +
                                     " into place: " + error.message() + " (some results may be of the previous run)");
        }
    }
    std::filesystem::remove(staging, error);
    std::vector<std::string> written = {"results.json", "results.csv", "series.csv", "per_as.csv", "report.html"};
    if (plots) {
        written.push_back("origin.svg");
        written.push_back("sources.svg");
    }
    return written;
}

}  // namespace nearcast::sim
