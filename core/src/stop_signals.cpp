#include "nearcast/core/stop_signals.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>

namespace nearcast::core {

namespace {

std::atomic<int> received{0};
static_assert(std::atomic<int>::is_always_lock_free, "set from a signal handler");

}  // namespace

stop_signals::stop_signals(boost::asio::io_context& io) : signals_(io, SIGTERM, SIGINT) {}

void stop_signals::on_stop(std::function<void(int signal)> stop) {
    signals_.async_wait([stop = std::move(stop)](boost::system::error_code error, int signal) {
        if (error) return;  // cancelled: the loop ended another way
        spdlog::info("signal {}: stopping", signal);
        stop(signal);
    });
}

void catch_stop_signals() {
    // No SA_RESTART: a blocking call returns early with EINTR and its loop sees the flag.
    struct sigaction action {};
    action.sa_handler = [](int signal) { received = signal; };
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() { return received.load() != 0; }

int stop_signal() { return received.load(); }

}  // namespace nearcast::core
