// Where tests find the shared real data. A missing file fails the test with its name.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace nearcast::testing {

// The path of `relative` under ../shared/data; fails the calling test if the file is missing.
inline std::string shared_data(const std::string& relative) {
    const std::filesystem::path path = std::filesystem::path(NEARCAST_SHARED_DATA_DIR) / relative;
    if (!std::filesystem::exists(path)) FAIL("required test data file is missing: " << path.string());
    return path.string();
}

inline std::string source_file(const std::string& relative) {
    return (std::filesystem::path(NEARCAST_SOURCE_DIR) / relative).string();
}

// The rows of a tab-separated vectors file, without blank and '#' lines; a trailing tab
// gives a trailing empty field.
inline std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
    std::ifstream file(path);
    REQUIRE(file);
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(file, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        std::stringstream split(line);
        for (std::string field; std::getline(split, field, '\t');) fields.push_back(field);
        if (line.back() == '\t') fields.emplace_back();
        rows.push_back(fields);
    }
    return rows;
}

}  // namespace nearcast::testing
