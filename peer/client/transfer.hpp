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

// What a daemon did for a fetch -o DIR before this transfer checks its copy: the item as the
// user named it, the bytes the daemon downloaded for it and when the command began. The
// summary line and --report count them, so the command reports the whole fetch.
struct daemon_share {
    std::string item;
    bytes_by_source downloaded;
    std::chrono::steady_clock::time_point started;
};

// A file under an item's final name in `folder` that is not the item's at all (none of the
// pieces sampled from where the item has it match their hashes: another item's file of the
// same name, or the user's own) is moved aside to NAME.1 (the first free number) and said, so
// fetching the item never overwrites it. A copy of the item cut short or damaged in places
// matches somewhere and stays, to be checked and mended. Items without v1 piece hashes, and
// files no whole piece lies in, are left alone.
void keep_other_files(const lt::torrent_info& item, const std::filesystem::path& folder);
// -o DIR made (with its parents) before anything is fetched; throws item_error naming it.
void make_output_folder(const std::filesystem::path& folder);

struct transfer_outcome {
    int exit_status = 1;
    std::string message;  // why it ended, for the log
};

class transfer {
public:
    // Loads the routing data and the item, adds it. Throws item_error or fetch_error (bad
    // input) and std::runtime_error (the session could not start).
    explicit transfer(const peer_options& options);
    explicit transfer(const peer_options& options, std::optional<daemon_share> earlier);

    peer_session& session() { return *session_; }
    lt::torrent_handle handle() const { return handle_; }
    // Runs until complete (and seeded for --seed-for), failed, stalled or stopped; `tick` is
    // called on every turn (the stream server's deadlines) and may end the run by returning false.
    transfer_outcome run(bool stop_when_complete, const std::function<bool(const item_status&)>& tick = {});
    // The JSON summary (--report): bytes by source, completion, timing.
    void write_report(const transfer_outcome& outcome) const;
    progress_sample sample(const item_status& status) const;

private:
    bytes_by_source downloaded() const;  // this run's, with the daemon's share if any

    peer_options options_;
    proximity::model routing_;
    std::unique_ptr<peer_session> session_;
    lt::torrent_handle handle_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> completed_at_;
    item_status last_;
    std::optional<daemon_share> earlier_;
};

}  // namespace nearcast::peer::client
