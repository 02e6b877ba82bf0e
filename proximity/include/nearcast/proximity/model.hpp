// The whole proximity model: prefixes with origins, the AS graph and AS names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nearcast/proximity/as_graph.hpp"
#include "nearcast/proximity/loaders.hpp"
#include "nearcast/proximity/prefix_table.hpp"

namespace nearcast::proximity {

class model {
public:
    model() = default;

    // Layers sources in order: a source's prefix is used only where no earlier source has a
    // prefix covering it, so BGP data given first wins and a MaxMind DB given last fills the
    // gaps. AS links and names are the union (an earlier source's name wins). Default routes
    // are left out.
    static model combine(std::vector<routing_data> sources);

    // Loads each path (any loader format, detected) and combines them; a single snapshot
    // path loads the snapshot.
    static model load(const std::vector<std::string>& paths);

    // The compiled snapshot: one file, versioned and checksummed, loaded without rebuilding.
    void save_snapshot(const std::string& path) const;
    static model load_snapshot(const std::string& path);
    static model parse_snapshot(std::string_view bytes, const std::string& input);
    static bool is_snapshot(std::string_view first_bytes);

    const prefix_table& prefixes() const { return prefixes_; }
    const as_graph& graph() const { return graph_; }
    // The AS's organisation name, empty when unknown.
    std::string_view as_name(std::uint32_t asn) const;
    std::size_t as_name_count() const { return name_asns_.size(); }
    std::size_t memory_bytes() const;
    // What the loaders reported (empty for a snapshot).
    const std::vector<load_report>& reports() const { return reports_; }

private:
    friend struct snapshot_access;
    void set_names(const std::map<std::uint32_t, std::string>& names);
    prefix_table prefixes_;
    as_graph graph_;
    std::vector<std::uint32_t> name_asns_;     // sorted
    std::vector<std::uint32_t> name_offsets_;  // name_asns_.size() + 1, into name_text_
    std::string name_text_;
    std::vector<load_report> reports_;
};

}  // namespace nearcast::proximity
