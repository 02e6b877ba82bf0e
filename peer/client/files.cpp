#include "files.hpp"

#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

namespace nearcast::peer::client {

void write_file_atomically(const std::filesystem::path& path, const std::string& text, bool private_to_user) {
    const std::filesystem::path temporary = path.string() + ".tmp";
    {
        std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
        if (private_to_user) ::chmod(temporary.c_str(), 0600);
        file << text;
        if (!file) throw std::runtime_error(temporary.string() + ": cannot write");
    }
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) throw std::runtime_error(path.string() + ": cannot write: " + error.message());
}

}  // namespace nearcast::peer::client
