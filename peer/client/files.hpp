// Files other programs read while we run (port files, reports, the daemon's index and control
// file): written whole to a temporary, then renamed, so a reader never sees half of one.
#pragma once

#include <filesystem>
#include <string>

namespace nearcast::peer::client {

// Throws std::runtime_error naming the file when it cannot be written. `private_to_user`
// makes it readable by its owner only (the daemon's token).
void write_file_atomically(const std::filesystem::path& path, const std::string& text, bool private_to_user = false);

}  // namespace nearcast::peer::client
