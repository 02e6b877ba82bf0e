#include "nearcast/core/input_files.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace nearcast::core {

void require_readable_file(const std::filesystem::path& path, const std::string& what, bool allow_empty) {
    const auto refuse = [&](const std::string& problem) {
        throw input_file_error(what + " '" + path.string() + "': " + problem);
    };
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    if (error || !std::filesystem::exists(status)) {
        refuse(error && error != std::errc::no_such_file_or_directory ? error.message() : "no such file");
    }
    if (std::filesystem::is_directory(status)) refuse("is a directory, not a file");
    if (!std::filesystem::is_regular_file(status)) refuse("is not a regular file");
    std::ifstream file(path, std::ios::binary);
    if (!file) refuse(std::string("cannot be opened: ") + std::strerror(errno));
    if (!allow_empty && std::filesystem::file_size(path, error) == 0 && !error) refuse("is empty");
}

void require_folder(const std::filesystem::path& path, const std::string& what) {
    const auto refuse = [&](const std::string& problem) {
        throw input_file_error(what + " '" + path.string() + "': " + problem);
    };
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) return;
    // The first part of the path that exists and is not a folder is what is in the way.
    for (auto part = path; !part.empty() && part != part.parent_path(); part = part.parent_path()) {
        if (std::filesystem::exists(part, error) && !std::filesystem::is_directory(part, error)) {
            refuse(part == path ? "is a file, not a folder" : part.string() + " is a file, not a folder");
        }
    }
    std::filesystem::create_directories(path, error);
    if (error) refuse("cannot be made: " + error.message());
}

std::optional<std::filesystem::path> default_snapshot(const char* built, const char* installed) {
    namespace fs = std::filesystem;
    std::error_code error;
    std::vector<fs::path> candidates;
    if (const fs::path program = fs::read_symlink("/proc/self/exe", error); !error) {
        candidates.push_back(program.parent_path().parent_path() / "share" / "nearcast" / "default.ncprox");
    }
    candidates.emplace_back(built);
    candidates.emplace_back(installed);
    for (const auto& candidate : candidates) {
        if (fs::is_regular_file(candidate, error)) return candidate;
    }
    return std::nullopt;
}

}  // namespace nearcast::core
