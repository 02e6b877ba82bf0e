#include "nearcast/proximity/errors.hpp"

namespace nearcast::proximity {

namespace {
std::string describe(const std::string& input, const std::string& problem, std::optional<std::uint64_t> offset,
                     std::optional<std::uint64_t> line) {
    std::string text = input;
    if (line) text += ":" + std::to_string(*line);
    if (offset) text += " (byte offset " + std::to_string(*offset) + ")";
    return text + ": " + problem;
}
}  // namespace

input_error::input_error(std::string input, std::string problem, std::optional<std::uint64_t> offset,
                         std::optional<std::uint64_t> line)
    : std::runtime_error(describe(input, problem, offset, line)),
      input_(std::move(input)),
      problem_(std::move(problem)),
      offset_(offset),
      line_(line) {}

}  // namespace nearcast::proximity
