// Combining routing sources into one model.
#include "nearcast/proximity/model.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"

namespace nearcast::proximity {

namespace {

// Keeps the routes of `lower` that no route of `kept` covers (a prefix of equal or shorter
// length containing it). Prefixes are nested or disjoint, so a sweep in (network, length)
// order with a stack of the `kept` prefixes open at the current point answers each in O(1).
void add_uncovered(std::vector<route>& kept, std::vector<route>&& lower) {
    struct item {
        const ip_prefix* prefix;
        std::size_t lower_index;  // SIZE_MAX for a kept route
    };
    constexpr std::size_t from_kept = static_cast<std::size_t>(-1);
    std::vector<item> items;
    items.reserve(kept.size() + lower.size());
    for (const route& r : kept) items.push_back({&r.prefix, from_kept});
    for (std::size_t i = 0; i < lower.size(); ++i) items.push_back({&lower[i].prefix, i});
    // For the same prefix the kept one comes first, so it covers its twin.
    std::sort(items.begin(), items.end(), [](const item& a, const item& b) {
        if (*a.prefix != *b.prefix) return *a.prefix < *b.prefix;
        return (a.lower_index == from_kept) > (b.lower_index == from_kept);
    });

    std::vector<const ip_prefix*> open;
    std::vector<std::size_t> accepted;
    for (const item& current : items) {
        while (!open.empty() && !open.back()->contains(current.prefix->network)) open.pop_back();
        if (current.lower_index == from_kept) {
            open.push_back(current.prefix);
        } else if (open.empty()) {
            accepted.push_back(current.lower_index);
        }
    }
    for (std::size_t index : accepted) kept.push_back(std::move(lower[index]));
}

// ": skipped 12 records (MRT type 16 subtype 4: 12)", or nothing when nothing was skipped.
std::string skipped_summary(const load_report& report) {
    if (report.skipped == 0) return {};
    std::string kinds;
    for (const auto& [kind, count] : report.skipped_by_kind) {
        kinds += (kinds.empty() ? "" : ", ") + kind + ": " + std::to_string(count);
    }
    return ": skipped " + std::to_string(report.skipped) + " records (" + kinds + ")";
}

}  // namespace

model model::combine(std::vector<routing_data> sources) {
    model combined;
    std::vector<route> routes;
    std::vector<as_link> links;
    std::map<std::uint32_t, std::string> names;
    for (routing_data& source : sources) {
        // A default route (0.0.0.0/0, ::/0) says nothing about where an address is, and would
        // make any two addresses share a prefix.
        const auto defaults = std::erase_if(source.routes, [](const route& r) { return r.prefix.length == 0; });
        if (defaults) spdlog::debug("{}: ignored {} default route(s)", source.report.input, defaults);
        const std::size_t before = routes.size();
        const std::size_t offered = source.routes.size();
        if (routes.empty()) {
            routes = std::move(source.routes);
        } else {
            add_uncovered(routes, std::move(source.routes));
        }
        if (routes.size() - before < offered) {
            spdlog::info("{}: {} of {} prefixes used; the rest are covered by earlier sources", source.report.input,
                         routes.size() - before, offered);
        }
        links.insert(links.end(), source.links.begin(), source.links.end());
        names.merge(source.as_names);  // keeps the earlier source's name for an AS
        combined.reports_.push_back(std::move(source.report));
    }
    combined.prefixes_ = prefix_table(routes);
    combined.graph_ = as_graph(links);
    combined.set_names(names);
    return combined;
}

model model::load(const std::vector<std::string>& paths) {
    std::vector<routing_data> sources;
    for (const std::string& path : paths) {
        std::vector<std::string> warnings;
        const std::string bytes = read_input(path, &warnings);
        if (is_snapshot(bytes)) {
            if (paths.size() == 1) return parse_snapshot(bytes, path);
            throw input_error(path, "a snapshot cannot be combined with other sources; give it alone");
        }
        sources.push_back(parse_source(bytes, path));
        routing_data& parsed = sources.back();
        parsed.report.warnings.insert(parsed.report.warnings.begin(), warnings.begin(), warnings.end());
        if (!warnings.empty()) parsed.report.cut_short = true;  // read_input warns only of a cut
        for (const std::string& warning : parsed.report.warnings) spdlog::warn("{}: {}", path, warning);
        if (parsed.routes.empty() && parsed.links.empty()) {
            throw input_error(path, "holds no prefix and no AS link" + skipped_summary(parsed.report));
        }
    }
    model combined = combine(std::move(sources));
    if (combined.prefixes().size() == 0) {
        std::string inputs;
        for (const std::string& path : paths) inputs += (inputs.empty() ? "" : ", ") + path;
        throw input_error(inputs, "no source holds a prefix: a routing model needs at least one (AS links alone place no address)");
    }
    return combined;
}

void model::set_names(const std::map<std::uint32_t, std::string>& names) {
    name_asns_.clear();
    name_offsets_.assign(1, 0);
    name_text_.clear();
    for (const auto& [asn, name] : names) {
        name_asns_.push_back(asn);
        name_text_ += name;
        name_offsets_.push_back(static_cast<std::uint32_t>(name_text_.size()));
    }
}

std::string_view model::as_name(std::uint32_t asn) const {
    const auto at = std::lower_bound(name_asns_.begin(), name_asns_.end(), asn);
    if (at == name_asns_.end() || *at != asn) return {};
    const auto index = static_cast<std::size_t>(at - name_asns_.begin());
    return std::string_view(name_text_).substr(name_offsets_[index], name_offsets_[index + 1] - name_offsets_[index]);
}

std::size_t model::memory_bytes() const {
    return prefixes_.memory_bytes() + graph_.memory_bytes() +
           (name_asns_.size() + name_offsets_.size()) * sizeof(std::uint32_t) + name_text_.size();
}

}  // namespace nearcast::proximity
