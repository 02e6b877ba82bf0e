// Scratch folders and files of random bytes for the seeder's tests.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace nearcast::testing {

// A fresh folder under the temporary directory, removed with the test.
struct scratch_folder {
    std::filesystem::path path;
    explicit scratch_folder(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("nearcast-seeder-" + std::to_string(::getpid()) + "-" + name)) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~scratch_folder() { std::filesystem::remove_all(path); }
};

// `size` bytes drawn from a generator seeded with `seed`: the same file for the same seed.
inline void write_random_file(const std::filesystem::path& file, std::size_t size, std::uint64_t seed = 1) {
    std::mt19937_64 random(seed ^ size);
    std::ofstream out(file, std::ios::binary);
    std::vector<std::uint64_t> block(1 << 16);
    for (std::size_t written = 0; written < size;) {
        for (auto& word : block) word = random();
        const std::size_t now = std::min(size - written, block.size() * sizeof(std::uint64_t));
        out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(now));
        written += now;
    }
}

}  // namespace nearcast::testing
