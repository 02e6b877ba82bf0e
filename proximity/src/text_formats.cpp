// The two text tables of prefix -> origin AS: CAIDA pfx2as and pyasn IPASN.
//
// A full table is half a million lines and the whole proximity build has a budget of one
// second, so lines are cut by hand with memchr and std::from_chars: no streams, no regex and
// no std::string per line. Strings are only built on the error path.
//
// Both formats take blank lines, CRLF line ends and comment lines (';' as in pyasn, '#' as
// format detection allows), and both take several origins joined by '_' or ','.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

#include "nearcast/proximity/errors.hpp"
#include "nearcast/proximity/loaders.hpp"

namespace nearcast::proximity {

namespace {

// A field quoted for an error message: cut short, and with unprintable bytes spelled out, so
// that a binary file fed by mistake still gives a readable one-line message.
std::string quoted(std::string_view field) {
    constexpr std::size_t longest = 60;
    std::string text = "\"";
    for (const char c : field.substr(0, longest)) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
            text += c;
        } else {
            static constexpr char hex[] = "0123456789abcdef";
            text += "\\x";
            text += hex[byte >> 4];
            text += hex[byte & 0xf];
        }
    }
    if (field.size() > longest) text += "...";
    return text + "\"";
}

// Drops every route whose prefix an earlier route has, keeping the order of the rest, and
// returns how many went. Sorting copies of the keys beats a hash set here: the keys are read in
// order, where a hash set of half a million prefixes misses the cache on nearly every insert.
std::uint64_t drop_repeated_prefixes(std::vector<route>& routes) {
    // 32 bytes where an ip_prefix and an index would take 64: the sort moves half as much.
    struct keyed_prefix {
        uint128 bits;
        std::uint32_t family_and_length;
        std::size_t index;
        auto operator<=>(const keyed_prefix&) const = default;
        bool same_prefix(const keyed_prefix& other) const {
            return bits == other.bits && family_and_length == other.family_and_length;
        }
    };
    std::vector<keyed_prefix> keys;
    keys.reserve(routes.size());
    for (std::size_t index = 0; index < routes.size(); ++index) {
        const ip_prefix& prefix = routes[index].prefix;
        const auto family = static_cast<std::uint32_t>(prefix.network.family());
        keys.push_back({prefix.network.v6_bits(), (family << 8) | prefix.length, index});
    }
    std::sort(keys.begin(), keys.end());
    std::vector<bool> repeated(routes.size());
    std::uint64_t count = 0;
    for (std::size_t at = 1; at < keys.size(); ++at) {
        if (!keys[at].same_prefix(keys[at - 1])) continue;
        repeated[keys[at].index] = true;
        ++count;
    }
    std::size_t kept = 0;
    for (std::size_t index = 0; index < routes.size(); ++index) {
        if (repeated[index]) continue;
        if (kept != index) routes[kept] = std::move(routes[index]);
        ++kept;
    }
    routes.resize(kept);
    return count;
}

// Reads the fields of one line and throws, naming the input and the line, at the first bad one.
class line_reader {
public:
    line_reader(const std::string& input, std::string_view line, std::uint64_t number)
        : input_(input), rest_(line), number_(number) {}

    [[noreturn]] void fail(const std::string& problem) const {
        throw input_error(input_, problem, std::nullopt, number_);
    }

    // The next tab-separated field; `what` names it in the error when the line has run out.
    std::string_view field(const char* what) {
        if (at_end_) fail(std::string("missing the ") + what);
        const std::size_t tab = rest_.find('\t');
        const std::string_view text = rest_.substr(0, tab);
        if (tab == std::string_view::npos) {
            at_end_ = true;
        } else {
            rest_.remove_prefix(tab + 1);
        }
        return text;
    }

    void expect_end() const {
        if (!at_end_) fail("unexpected extra field " + quoted(rest_) + " at the end of the line");
    }

    struct parsed_address {
        ip_address address;
        bool mapped;  // written as IPv4-mapped IPv6 (::ffff:a.b.c.d), parsed as IPv4
    };

    parsed_address address(std::string_view text) const {
        const auto address = ip_address::parse(text);
        if (!address) fail("bad IPv4 or IPv6 address " + quoted(text));
        return {*address, address->is_v4() && text.find(':') != std::string_view::npos};
    }

    // The address and a decimal length, host bits clear. An IPv4-mapped prefix
    // (::ffff:a.b.c.d/len) becomes the IPv4 prefix it maps, as ip_prefix::parse does.
    ip_prefix prefix(parsed_address parsed, std::string_view address_text, std::string_view length_text) const {
        unsigned length = 0;
        const char* end = length_text.data() + length_text.size();
        const auto [stop, error] = std::from_chars(length_text.data(), end, length);
        if (length_text.empty() || error != std::errc() || stop != end) {
            fail("bad prefix length " + quoted(length_text));
        }
        if (parsed.mapped) {
            if (length < 96 || length > 128) {
                fail("prefix length " + quoted(length_text) + " does not fit the IPv4-mapped address " +
                     quoted(address_text) + " (96 to 128)");
            }
            length -= 96;
        }
        const ip_address address = parsed.address;
        if (length > address.width()) {
            fail("prefix length " + quoted(length_text) + " is past " + std::to_string(address.width()) +
                 ", the width of an " + (address.is_v4() ? "IPv4" : "IPv6") + " address");
        }
        const ip_prefix result = ip_prefix::of(address, length);
        if (result.network != address) {
            fail("host bits set in " + quoted(std::string(address_text) + "/" + std::string(length_text)) +
                 " (the network is " + result.to_string() + ")");
        }
        return result;
    }

    // One AS number, or several joined by '_' (multi-origin) or ',' (AS set): all of them in the
    // order given, each once.
    void origins(std::string_view text, std::vector<std::uint32_t>& into) const {
        const char* at = text.data();
        const char* end = text.data() + text.size();
        while (true) {
            const char* stop = std::find_if(at, end, [](char c) { return c == '_' || c == ','; });
            const std::string_view number(at, static_cast<std::size_t>(stop - at));
            std::uint32_t asn = 0;
            const auto [parsed_to, error] = std::from_chars(at, stop, asn);
            if (error == std::errc::result_out_of_range && parsed_to == stop) {
                fail("AS number " + quoted(number) + " is out of range (at most 4294967295)");
            }
            if (number.empty() || error != std::errc() || parsed_to != stop) {
                fail(text.size() == number.size() ? "bad AS number " + quoted(number)
                                                  : "bad AS number " + quoted(number) + " in " + quoted(text));
            }
            if (std::find(into.begin(), into.end(), asn) == into.end()) into.push_back(asn);
            if (stop == end) return;
            at = stop + 1;
        }
    }

private:
    const std::string& input_;
    std::string_view rest_;
    std::uint64_t number_;
    bool at_end_ = false;
};

bool is_blank_or_comment(std::string_view line) {
    if (line.empty() || line[0] == ';' || line[0] == '#') return true;
    return line.find_first_not_of(" \t") == std::string_view::npos;
}

// Calls parse_line(reader, route&) for every data line, and keeps the first route of each prefix.
template <class ParseLine>
routing_data parse_table(std::string_view text, const std::string& input, const char* format,
                         ParseLine parse_line) {
    routing_data data;
    data.report.input = input;
    data.report.format = format;
    const std::size_t line_count = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    data.routes.reserve(line_count);
    // Real tables are sorted, and while every prefix sorts after the one before none can be a
    // repeat, so the search for repeats runs only when the order breaks.
    bool in_order = true;
    std::uint64_t number = 0;
    for (std::size_t at = 0; at < text.size();) {
        const void* newline = std::memchr(text.data() + at, '\n', text.size() - at);
        const std::size_t end =
            newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) : text.size();
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (is_blank_or_comment(line)) continue;

        line_reader reader(input, line, number);
        route& added = data.routes.emplace_back();
        parse_line(reader, added);
        reader.expect_end();
        const std::size_t count = data.routes.size();
        if (in_order && count > 1) in_order = data.routes[count - 2].prefix < added.prefix;
    }

    const std::uint64_t duplicates = in_order ? 0 : drop_repeated_prefixes(data.routes);
    data.report.records = data.routes.size();
    if (duplicates > 0) {
        data.report.skipped = duplicates;
        data.report.skipped_by_kind["duplicate prefix"] = duplicates;
    }
    return data;
}

}  // namespace

// Each field is checked as it is read, so that a line split by something other than tabs
// is reported as the bad field it is, not as missing the rest.
routing_data parse_pfx2as(std::string_view text, const std::string& input) {
    return parse_table(text, input, "pfx2as", [](line_reader& reader, route& added) {
        const std::string_view address_text = reader.field("prefix");
        const auto address = reader.address(address_text);
        const std::string_view length_text = reader.field("prefix length (second field)");
        added.prefix = reader.prefix(address, address_text, length_text);
        reader.origins(reader.field("AS number (third field)"), added.origins);
    });
}

routing_data parse_ipasn(std::string_view text, const std::string& input) {
    return parse_table(text, input, "ipasn", [](line_reader& reader, route& added) {
        const std::string_view prefix = reader.field("prefix");
        const std::size_t slash = prefix.find('/');
        const std::string_view address_text = prefix.substr(0, slash);
        const auto address = reader.address(address_text);
        if (slash == std::string_view::npos) reader.fail("prefix " + quoted(prefix) + " has no /length");
        added.prefix = reader.prefix(address, address_text, prefix.substr(slash + 1));
        reader.origins(reader.field("AS number (second field)"), added.origins);
    });
}

}  // namespace nearcast::proximity
