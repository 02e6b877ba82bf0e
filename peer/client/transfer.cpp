#include "transfer.hpp"

#include <libtorrent/hasher.hpp>
#include <libtorrent/torrent_info.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "http_fetch.hpp"
#include "nearcast/core/atomic_file.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/core/stop_signals.hpp"
#include "nearcast/peer/item_source.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace nearcast::peer::client {

progress_reporter::progress_reporter(bool quiet) : quiet_(quiet), terminal_(isatty(STDERR_FILENO) == 1) {}

void progress_reporter::update(progress_sample sample, bool force) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    // Hashing what is on disk is not download speed: the meter starts after it.
    // Nor is a pause: the meter starts again at the resume.
    if (sample.checking || sample.fetching_metadata || sample.paused) meter_ = rate_meter();
    else meter_.add(std::chrono::duration<double>(now - started_).count(), sample.done);
    sample.rate = static_cast<std::int64_t>(meter_.rate());
    sample.eta_s = meter_.eta(sample.wanted);
    const auto every = terminal_ ? 250ms : 5s;
    if (!force && now - last_ < every) return;
    last_ = now;
    if (terminal_) {
        winsize size{};
        const unsigned width = ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 100;
        const std::string line = progress_bar(sample, width - 1);
        std::cerr << "\r" << line << std::string(width - 1 - std::min<std::size_t>(line.size(), width - 1), ' ') << std::flush;
        drawn_ = true;
    } else {
        spdlog::info("{}", progress_line(sample));
    }
}

void progress_reporter::finish() {
    if (drawn_) std::cerr << "\n";
    drawn_ = false;
}

namespace {

// Whether some of the whole pieces that lie in file `index` match their hashes in `path` (at
// most `samples` of them, spread over the file). Empty: no whole piece lies in the file.
std::optional<bool> holds_some_piece(const lt::torrent_info& item, lt::file_index_t index, const fs::path& path) {
    const auto& files = item.orig_files();
    const std::int64_t offset = files.file_offset(index), size = files.file_size(index), length = item.piece_length();
    const std::int64_t first = (offset + length - 1) / length, end = (offset + size) / length;
    if (first >= end) return std::nullopt;
    constexpr std::int64_t samples = 4;
    std::ifstream file(path, std::ios::binary);
    std::vector<char> bytes;
    const std::int64_t step = std::max<std::int64_t>(1, (end - first) / samples);
    for (std::int64_t piece = first; piece < end; piece += step) {
        const lt::piece_index_t at{static_cast<int>(piece)};
        bytes.resize(static_cast<std::size_t>(item.piece_size(at)));
        file.clear();
        file.seekg(piece * length - offset);
        if (!file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) continue;
        if (lt::hasher(bytes.data(), static_cast<int>(bytes.size())).final() == item.hash_for_piece(at)) return true;
    }
    return false;
}

}  // namespace

void make_output_folder(const fs::path& folder) {
    std::error_code error;
    fs::create_directories(folder, error);
    if (error) throw item_error(folder.string() + ": cannot create the output folder: " + error.message());
    // A folder that is there but takes no files (read-only, immutable, another user's) is said
    // now, not after the whole item has downloaded.
    const fs::path probe = folder / (".nearcast-write-check-" + std::to_string(::getpid()));
    const int written = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (written < 0) throw item_error(folder.string() + ": cannot write in the output folder: " + std::strerror(errno));
    ::close(written);
    fs::remove(probe, error);
}

void keep_other_files(const lt::torrent_info& item, const fs::path& folder) {
    if (!item.info_hashes().has_v1()) return;
    const auto& files = item.orig_files();
    for (const auto index : files.file_range()) {
        if (files.pad_file_at(index)) continue;
        const fs::path path = folder / files.file_path(index);
        std::error_code error;
        if (!fs::is_regular_file(path, error) || fs::file_size(path, error) == 0 || error) continue;
        if (holds_some_piece(item, index, path).value_or(true)) continue;
        fs::path aside;
        for (int n = 1;; ++n) {
            aside = path.string() + "." + std::to_string(n);
            if (!fs::exists(aside, error)) break;
        }
        fs::rename(path, aside, error);
        if (error) {
            throw item_error(path.string() + " is another file than " + item.name() + "'s " + files.file_path(index) +
                             " and cannot be moved aside to " + aside.string() + ": " + error.message() + "; move it yourself");
        }
        spdlog::warn("{} was another file of that name (none of the pieces of {} checked in it match): kept as {}", path.string(),
                     item.name(), aside.string());
    }
}

lt::add_torrent_params resolve_item(const std::string& item) {
    switch (kind_of(item)) {
        case item_kind::magnet: return params_from_magnet(item);
        case item_kind::url: return params_from_torrent(http_get(item, 30s, 64 * 1024 * 1024), item);
        case item_kind::torrent_file: break;
    }
    return params_from_torrent_file(item);
}

transfer::transfer(const peer_options& options) : transfer(options, std::nullopt) {}

transfer::transfer(const peer_options& options, std::optional<daemon_share> earlier) : options_(options), earlier_(std::move(earlier)) {
    if (earlier_) started_ = earlier_->started;
    lt::add_torrent_params params = resolve_item(options.item);
    routing_ = load_routing(options.data);
    make_output_folder(options.output);
    if (params.ti) keep_other_files(*params.ti, options.output);
    session_ = std::make_unique<peer_session>(options_, routing_);
    handle_ = session_->add(std::move(params));
    if (!options.port_file.empty()) {
        // The listener binds asynchronously: wait briefly for its port.
        for (int i = 0; i < 100 && session_->session().listen_port() == 0; ++i) std::this_thread::sleep_for(20ms);
        core::write_file_atomically(options.port_file, "bittorrent " + session_->listen_endpoint() + "\n");
    }
}

progress_sample transfer::sample(const item_status& status) const {
    progress_sample out;
    out.name = status.status.name.empty() ? options_.item : status.status.name;
    out.done = status.status.total_wanted_done;
    out.wanted = status.status.total_wanted;
    out.rate = status.status.download_payload_rate;
    out.peers = status.status.num_peers;
    out.sources = session_->locality().counters.downloaded();
    out.checking = status.status.state == lt::torrent_status::checking_files ||
                   status.status.state == lt::torrent_status::checking_resume_data;
    out.fetching_metadata = !status.has_metadata;
    return out;
}

transfer_outcome transfer::run(bool stop_when_complete, const std::function<bool(const item_status&)>& tick) {
    progress_reporter reporter(options_.no_progress);
    std::int64_t last_bytes = -1;
    auto last_byte_at = std::chrono::steady_clock::now();
    transfer_outcome outcome;
    // A fast download raises alerts by the thousand a second; asking libtorrent for the status
    // after each one kept a core busy, the core the download and the stream server share.
    constexpr auto min_poll_spacing = 10ms;
    auto last_poll = std::chrono::steady_clock::now() - min_poll_spacing;
    for (;;) {
        // A quiet session is polled every 25 ms, and news of near peers (which comes with a
        // tracker's answer, an alert) at once, not after the spacing below: the poll dials
        // them and takes the first verdict.
        session_->session().wait_for_alert(25ms);
        const auto since = std::chrono::steady_clock::now() - last_poll;
        if (since < min_poll_spacing && !session_->locality().news_pending()) std::this_thread::sleep_for(min_poll_spacing - since);
        last_poll = std::chrono::steady_clock::now();
        last_ = session_->poll();
        const auto now = std::chrono::steady_clock::now();
        const std::string name = last_.status.name.empty() ? options_.item : last_.status.name;
        if (core::stop_requested()) {
            outcome = {last_.complete ? 0 : 1, last_.complete ? "stopped, complete" : "stopped before the end; run again to resume"};
            break;
        }
        if (!last_.error.empty()) {
            outcome = {1, name + ": " + last_.error};
            break;
        }
        const std::int64_t bytes = last_.status.total_payload_download + last_.status.total_wanted_done;
        if (bytes != last_bytes || last_.complete) {
            last_bytes = bytes;
            last_byte_at = now;
        }
        const bool checking = last_.status.state == lt::torrent_status::checking_files ||
                              last_.status.state == lt::torrent_status::checking_resume_data;
        if (!checking && now - last_byte_at > std::chrono::seconds(options_.stall_timeout_s)) {
            outcome = {1, name + ": no byte in " + std::to_string(options_.stall_timeout_s) + " s; " +
                              (last_.tracker_answered ? "the trackers answer but no peer sends anything"
                               : last_.tracker_problem.empty() ? "no tracker has answered and no peer was found"
                                                               : "no tracker answered (" + last_.tracker_problem + ")")};
            break;
        }
        if (last_.complete && !completed_at_) {
            completed_at_ = now;
            reporter.update(sample(last_), true);
            reporter.finish();
            const auto from = downloaded();
            spdlog::info("{}: complete, every piece verified, in {:.1f} s (near {}, far {}, origin {})", name,
                         std::chrono::duration<double>(now - started_).count(), human_bytes(static_cast<double>(from.near)),
                         human_bytes(static_cast<double>(from.far)), human_bytes(static_cast<double>(from.origin)));
        }
        if (tick && !tick(last_)) {
            outcome = {last_.complete ? 0 : 1, "stopped"};
            break;
        }
        if (completed_at_ && stop_when_complete && now - *completed_at_ >= std::chrono::seconds(options_.seed_for_s)) {
            outcome = {0, ""};  // the "complete" line was written when it completed
            break;
        }
        if (!completed_at_) reporter.update(sample(last_));
    }
    reporter.finish();
    session_->leave_swarm(std::chrono::milliseconds(1500));
    // Exit 0 means every piece verified, never less.
    if (outcome.exit_status == 0 && !last_.complete) outcome = {1, outcome.message + " (incomplete)"};
    write_report(outcome);
    return outcome;
}

bytes_by_source transfer::downloaded() const {
    auto down = session_->locality().counters.downloaded();
    if (earlier_) down += earlier_->downloaded;
    return down;
}

void transfer::write_report(const transfer_outcome& outcome) const {
    if (options_.report_file.empty()) return;
    const auto& counters = session_->locality().counters;
    const auto down = downloaded();
    const auto up = counters.uploaded();
    const auto seconds = [&](std::chrono::steady_clock::time_point at) { return std::chrono::duration<double>(at - started_).count(); };
    nlohmann::json report = {
        {"item", earlier_ ? earlier_->item : options_.item},
        {"name", last_.status.name},
        {"complete", last_.complete},
        {"exit_status", outcome.exit_status},
        {"message", outcome.message},
        {"bytes_wanted", last_.status.total_wanted},
        {"bytes_verified", last_.status.total_wanted_done},
        {"payload_downloaded_this_run", last_.status.total_payload_download},
        {"downloaded", {{"near", down.near}, {"far", down.far}, {"origin", down.origin}}},
        {"uploaded", {{"near", up.near}, {"far", up.far}, {"origin", up.origin}}},
        {"downloaded_by_as", session_->locality().downloaded_by_as_text()},
        {"far_connections_closed", counters.far_closed.load()},
        {"locality", options_.locality},
        {"self", session_->locality().self() ? session_->locality().self()->to_string() : ""},
        {"seconds_to_complete", completed_at_ ? nlohmann::json(seconds(*completed_at_)) : nlohmann::json(nullptr)},
        {"seconds", seconds(std::chrono::steady_clock::now())},
    };
    if (earlier_) {
        report["through_daemon"] = {{"downloaded", {{"near", earlier_->downloaded.near}, {"far", earlier_->downloaded.far},
                                                    {"origin", earlier_->downloaded.origin}}}};
    }
    try {
        core::write_file_atomically(options_.report_file, report.dump(2) + "\n");
    } catch (const std::runtime_error& failure) {
        spdlog::warn("{}", failure.what());
    }
}

}  // namespace nearcast::peer::client
