#include "nearcast/core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace nearcast::core {

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes, unsigned permissions) {
    const std::filesystem::path temporary = path.string() + ".tmp." + std::to_string(::getpid());
    const auto fail = [&](const std::string& what, int error) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw output_error(path.string() + ": " + what + ": " + std::strerror(error));
    };
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(permissions));
    if (fd < 0) fail("cannot create " + temporary.filename().string(), errno);
    if (::fchmod(fd, static_cast<mode_t>(permissions)) != 0) {  // the umask must not widen or narrow it
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
