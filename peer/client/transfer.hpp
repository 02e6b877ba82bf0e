// What fetch and stream share: the session set up for one item, a loop that reports progress
// and notices failure, and the summary written when the process ends.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "nearcast/peer/progress.hpp"
#include "nearcast/proximity/model.hpp"
#include "options.hpp"
#include "peer_session.hpp"

namespace nearcast::peer::client {

// Progress on stderr: a bar redrawn in place on a terminal, a log line every few seconds
// elsewhere, nothing with --quiet or --no-progress.
class progress_reporter {
public:
    explicit progress_reporter(bool quiet);
    // The rate and ETA shown are the reporter's own (a rate_meter over the verified bytes), not
    // the sample's.
    void update(progress_sample sample, bool force = false);
    void finish();  // ends the bar's line

private:
    bool quiet_;
    bool terminal_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    rate_meter meter_;
};

struct transfer_outcome {
    int exit_status = 1;
    std::string message;  // why it ended, for the log
};

class transfer {
public:
    // Loads the routing data and the item, adds it. Throws item_error or fetch_error (bad
    // input) and std::runtime_error (the session could not start).
    explicit transfer(const peer_options& options);

    peer_session& session() { return *session_; }
    lt::torrent_handle handle() const { return handle_; }
    // Runs until complete (and seeded for --seed-for), failed, stalled or stopped; `tick` is
    // called on every turn (the stream server's deadlines) and may end the run by returning false.
    transfer_outcome run(bool stop_when_complete, const std::function<bool(const item_status&)>& tick = {});
    // The JSON summary (--report): bytes by source, completion, timing.
    void write_report(const transfer_outcome& outcome) const;
    progress_sample sample(const item_status& status) const;

private:
    peer_options options_;
    proximity::model routing_;
    std::unique_ptr<peer_session> session_;
    lt::torrent_handle handle_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> completed_at_;
    item_status last_;
};

}  // namespace nearcast::peer::client
