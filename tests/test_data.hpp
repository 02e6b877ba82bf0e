// Where tests find the shared real data. A missing file fails the test with its name.
#pragma once

#include <filesystem>
#include <string>

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

}  // namespace nearcast::testing
