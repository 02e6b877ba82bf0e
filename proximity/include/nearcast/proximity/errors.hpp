// The one error type of the proximity library: bad input, named.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace nearcast::proximity {

// Thrown for any input the library refuses: an unreadable, corrupt, truncated or foreign file,
// or a bad line. The message names the input and, where there is one, the byte offset or line.
class input_error : public std::runtime_error {
public:
    input_error(std::string input, std::string problem, std::optional<std::uint64_t> offset = {},
                std::optional<std::uint64_t> line = {});

    const std::string& input() const { return input_; }
    const std::string& problem() const { return problem_; }
    std::optional<std::uint64_t> offset() const { return offset_; }
    std::optional<std::uint64_t> line() const { return line_; }

private:
    std::string input_;
    std::string problem_;
    std::optional<std::uint64_t> offset_;
    std::optional<std::uint64_t> line_;
};

}  // namespace nearcast::proximity
