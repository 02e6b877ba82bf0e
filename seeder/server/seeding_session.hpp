// The seeder's libtorrent session: the whole catalogue seeded at once.
//
// A catalogue server is not a desktop client: thousands of torrents, none auto-managed (none
// is ever queued), many connections and open files, several connections per address (the
// emulated Internet puts many peers on one machine). A torrent added for the first time is in
// seed mode - the content was just hashed by publish - so libtorrent checks each piece the
// first time a peer asks for it; later starts use the resume data kept in the catalogue, so
// nothing is re-hashed.
#pragma once

#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nearcast/seeder/catalogue.hpp"
#include "nearcast/seeder/upload_budget.hpp"
#include "options.hpp"

namespace nearcast::seeder::server {

struct session_counters {
    std::size_t torrents = 0;
    std::size_t added = 0;               // torrents libtorrent has taken (the rest are being added)
    std::size_t peers = 0;
    std::int64_t upload_rate = 0;        // bytes/s, payload
    std::uint64_t hash_failures = 0;     // pieces found corrupt on disk since start
    std::uint64_t repairs = 0;           // items made whole again after a hash failure
    // Bytes, since start: libtorrent's session-wide payload counters. libtorrent counts a sent
    // byte when its socket write completes; the last write to a peer that hangs up as soon as it
    // has everything (a finished download, seed-to-seed) can go uncounted, so `uploaded_payload`
    // may fall short of what a peer received by up to the send buffer. Received bytes are
    // counted as they are read: a replica fetched whole counts in full.
    std::uint64_t uploaded_payload = 0;
    std::uint64_t downloaded_payload = 0;
    std::size_t started_from_resume = 0; // torrents started from resume data: nothing re-hashed
    std::size_t started_in_seed_mode = 0;// first starts: pieces checked as they are first served
    std::size_t checking = 0;            // torrents libtorrent is checking against the disk now
};

class seeding_session {
public:
    explicit seeding_session(const seeder_options& options);

    // Starts seeding an item (asynchronously); an item already seeded is left alone. A complete
    // item starts in seed mode every time (pieces checked the first time each is served, nothing
    // hashed at start); an incomplete one (a replica being fetched) downloads, from `sources`
    // first (fellow seeders' BitTorrent endpoints) and from whoever the trackers name.
    void add(const catalogue_item& item, const std::vector<lt::tcp::endpoint>& sources = {});
    void remove(const std::string& v1_hex);
    // A piece of this item failed its check outside libtorrent (the web seed): libtorrent
    // checks the whole item again and fetches what is bad from `sources` and the swarm.
    void repair(const std::string& v1_hex, const std::vector<lt::tcp::endpoint>& sources);
    std::size_t size() const { return torrents_.size(); }

    // Handles libtorrent's alerts: logs what happened, counts hash failures, collects upload
    // per item and the session's total. Call it often (a few times a second).
    void poll();
    // Items that became whole since the last call: finished replicas and repaired items.
    std::vector<std::int64_t> take_finished();
    // Payload bytes uploaded per item id since the last call. Torrents whose last bytes
    // libtorrent has not reported in a state update yet (it only reports torrents it deems
    // changed) are asked directly first, so what is taken matches the session's total.
    std::map<std::int64_t, std::uint64_t> take_uploaded();
    // Applies the long-tail budget.
    void apply(const upload_plan& plan);
    session_counters counters() const;
    // The bound BitTorrent port (the one asked for, or the one picked for port 0).
    std::uint16_t listen_port() const;
    // Waits until the BitTorrent port listens; what went wrong otherwise (address, protocol, why).
    std::optional<std::string> wait_until_listening(std::chrono::milliseconds deadline);

    // Asks every torrent for its resume data and waits for all of it (or the deadline).
    std::vector<std::pair<std::int64_t, std::vector<char>>> save_resume(std::chrono::milliseconds deadline,
                                                                        bool only_if_modified);

private:
    struct seeded_torrent {
        std::int64_t item_id = 0;
        lt::torrent_handle handle;
        // libtorrent's total_payload_upload at the last look; it restarts from 0 when the
        // torrent is paused and resumed (a recheck, an error), so a smaller value is all new.
        std::int64_t last_uploaded = 0;
        // From libtorrent's last state update: no blocking status() call per torrent per /stats.
        int peers = 0;
        int upload_rate = 0;
        bool checking = false;
        bool damaged = false;  // a piece failed its check; whole again when libtorrent finishes it
    };
    // Counts what a torrent uploaded since the last look at its total_payload_upload.
    void tally_upload(seeded_torrent& torrent, std::int64_t total_payload_upload);
    void handle_alert(lt::alert* alert, std::vector<std::pair<std::int64_t, std::vector<char>>>* resume,
                      std::size_t* resume_outstanding);

    lt::session session_;
    std::map<std::string, seeded_torrent> torrents_;  // by v1 hex
    std::map<std::int64_t, std::uint64_t> uploaded_;  // since take_uploaded
    std::vector<std::int64_t> finished_;              // since take_finished
    session_counters counters_;
    // The session's "net.sent_payload_bytes" counter: every payload byte the moment it is
    // sent, whether or not a torrent's status has been posted since, and unaffected by a
    // torrent being paused, rechecked or removed.
    int sent_payload_metric_ = -1;
    int received_payload_metric_ = -1;
    std::uint64_t tallied_upload_ = 0;  // the sum of the per-item deltas, for comparison
};

}  // namespace nearcast::seeder::server
