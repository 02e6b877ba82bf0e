// Input files checked before they are read, so that a directory, a missing file or an empty
// one gets a message naming it rather than a library's own words (std::bad_alloc,
// "basic_filebuf::underflow") or, worse, a silent default.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace nearcast::core {

struct input_file_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws input_file_error "<what> '<path>': <problem>" unless `path` names a regular file
// (after symlinks) that this process can open for reading, and, with `allow_empty` false, holds
// at least one byte.
void require_readable_file(const std::filesystem::path& path, const std::string& what, bool allow_empty = false);

// Makes the folder `path` (and its parents) unless it exists, or throws input_file_error
// "<what> '<path>': <problem>": a file where a folder should be, no permission, a full disk.
void require_folder(const std::filesystem::path& path, const std::string& what);

// The default proximity snapshot, the first that exists of: beside the running program as
// installed (BIN/../share/nearcast/default.ncprox, whatever the prefix), the build tree's
// (`built`, for a program run from the build tree), the compiled-in install path
// (`installed`). Nothing when none exists.
std::optional<std::filesystem::path> default_snapshot(const char* built, const char* installed);

}  // namespace nearcast::core
