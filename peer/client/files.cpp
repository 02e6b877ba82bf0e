#include "files.hpp"

#include "nearcast/core/atomic_file.hpp"

namespace nearcast::peer::client {

void write_file_atomically(const std::filesystem::path& path, const std::string& text, bool private_to_user) {
    core::write_file_atomically(path, text, private_to_user ? 0600 : 0644);
}

}  // namespace nearcast::peer::client
