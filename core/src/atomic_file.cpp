#include "nearcast/core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nearcast::core {

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes, unsigned permissions) {
    // A fresh name each time, created exclusively and never through a symlink: nobody can have
    // planted the temporary (port files often live in /tmp).
    std::filesystem::path temporary;
    const auto fail = [&](const std::string& what, int error) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw output_error(path.string() + ": " + what + ": " + std::strerror(error));
    };
    std::string pattern = path.string() + ".tmp.XXXXXX";
    const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);  // O_CREAT | O_EXCL, mode 0600
    if (fd < 0) {
        const int error = errno;
        throw output_error(path.string() + ": cannot create a temporary file beside it: " + std::strerror(error));
    }
    temporary = pattern;
    if (::fchmod(fd, static_cast<mode_t>(permissions)) != 0) {
        const int error = errno;
        ::close(fd);
        fail("cannot set the permissions of " + temporary.filename().string(), error);
    }
    for (std::size_t written = 0; written < bytes.size();) {
        const ssize_t step = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (step < 0 && errno == EINTR) continue;
        if (step <= 0) {
            const int error = step < 0 ? errno : ENOSPC;
            ::close(fd);
            fail("cannot write", error);
        }
        written += static_cast<std::size_t>(step);
    }
    if (::fsync(fd) != 0) {
        const int error = errno;
        ::close(fd);
        fail("cannot write", error);
    }
    if (::close(fd) != 0) fail("cannot write", errno);
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) fail("cannot replace", error.value());
}

}  // namespace nearcast::core
