// SIGTERM and SIGINT stop every nearcast tool gracefully, the same way: a server's Asio loop
// gets a callback, a tool with a loop of its own polls a flag. Either way the tool finishes its
// work (resume data, reports, "stopped" lines) instead of dying mid-write.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <functional>

namespace nearcast::core {

// For a tool built on an io_context: catches SIGTERM and SIGINT from construction on; once one
// arrives it logs "signal N: stopping" and calls the function given to on_stop, once.
class stop_signals {
public:
    explicit stop_signals(boost::asio::io_context& io);
    void on_stop(std::function<void(int signal)> stop);

private:
    boost::asio::signal_set signals_;
};

// For a tool with a loop of its own: from here on SIGTERM and SIGINT only set a flag
// (stop_requested) and record which signal it was (stop_signal: 0 before one arrives).
void catch_stop_signals();
bool stop_requested();
int stop_signal();

}  // namespace nearcast::core
