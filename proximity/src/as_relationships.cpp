// CAIDA's AS-relationship files (serial-1 and serial-2): AS adjacencies without prefixes.
#include <algorithm>
#include <charconv>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"

namespace nearcast::proximity {

namespace {

std::optional<std::uint32_t> parse_asn(std::string_view text) {
    std::uint32_t asn = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), asn);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return asn;
}

}  // namespace

routing_data parse_as_relationships(std::string_view text, const std::string& input) {
    routing_data data;
    data.report.input = input;
    data.report.format = "as-rel";
    std::uint64_t line_number = 0;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;

        const std::size_t first_bar = line.find('|');
        const std::size_t second_bar = first_bar == std::string_view::npos ? first_bar : line.find('|', first_bar + 1);
        if (second_bar == std::string_view::npos) {
            throw input_error(input, "expected 'as1|as2|relationship', got '" + std::string(line) + "'", {}, line_number);
        }
        const auto a = parse_asn(line.substr(0, first_bar));
        const auto b = parse_asn(line.substr(first_bar + 1, second_bar - first_bar - 1));
        if (!a || !b) {
            throw input_error(input, "bad AS number in '" + std::string(line) + "'", {}, line_number);
        }
        std::string_view relationship = line.substr(second_bar + 1);
        relationship = relationship.substr(0, relationship.find('|'));
        if (relationship != "-1" && relationship != "0" && relationship != "1" && relationship != "2") {
            throw input_error(input, "bad relationship '" + std::string(relationship) + "' (expected -1, 0, 1 or 2)", {},
                              line_number);
        }
        ++data.report.records;
        if (*a == *b) continue;
        data.links.push_back({std::min(*a, *b), std::max(*a, *b)});
    }
    std::sort(data.links.begin(), data.links.end());
    data.links.erase(std::unique(data.links.begin(), data.links.end()), data.links.end());
    return data;
}

}  // namespace nearcast::proximity
