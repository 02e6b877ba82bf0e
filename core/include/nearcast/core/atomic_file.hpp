// Output files written whole or not at all: a full disk, a read-only folder or a crash in the
// middle leaves the old file (or none), never a truncated one.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace nearcast::core {

struct output_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Writes `bytes` into a temporary file beside `path`, flushes it to disk and renames it over
// `path`. On any failure the temporary is removed and an output_error names `path` and the
// reason ("No space left on device").
// `permissions` are the new file's (0600 for a file holding a secret).
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes, unsigned permissions = 0644);

}  // namespace nearcast::core
