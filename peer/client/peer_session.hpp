// The peer's libtorrent session: one item at a time for fetch and stream, with the locality
// plugin, peer classes that put near, far and origin peers under their own limits, and PEX
// left out (it would hand us peers around the ranking).
//
// libtorrent puts loopback and LAN addresses in its "local" peer class, which ignores rate
// limits; the emulated Internet lives on 127.0.0.0/8, so the class filter is replaced whole:
// every address is in the global class plus one of ours.
#pragma once

#include <libtorrent/session.hpp>
#include <libtorrent/torrent_handle.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "locality_plugin.hpp"
#include "nearcast/proximity/model.hpp"
#include "options.hpp"

namespace nearcast::peer::client {

// The model the client ranks with: --data (a file or a tracker's URL), $NEARCAST_PROX_DATA,
// or the embedded default snapshot.
proximity::model load_routing(const std::string& data);

struct item_status {
    lt::torrent_status status;
    bool has_metadata = false;
    bool complete = false;          // every wanted piece verified
    std::string error;              // fatal: a file error, a torrent error
    bool tracker_answered = false;  // some tracker gave a reply
    std::string tracker_problem;    // the last tracker error, for the stall message
};

class peer_session {
public:
    peer_session(const peer_options& options, const proximity::model& routing);
    ~peer_session();

    // Adds the item (downloading into options.output). A magnet link's metadata is kept in
    // OUTPUT/.nearcast/ once received, so a second run needs no metadata exchange.
    lt::torrent_handle add(lt::add_torrent_params params);
    // Handles alerts; call a few times a second. Returns the item's state.
    item_status poll();
    locality_state& locality() { return *locality_; }
    lt::session& session() { return session_; }
    lt::torrent_handle handle() const { return handle_; }
    // Says goodbye to the trackers (a `stopped` announce) and waits for their answer, at most
    // `deadline`: a peer that leaves must not stay listed as a seed that cannot be reached.
    // The session is closed afterwards: poll() only returns the last state.
    void leave_swarm(std::chrono::milliseconds deadline);
    // "ADDR:PORT" of the BitTorrent listener, once listening.
    std::string listen_endpoint() const;

private:
    void apply_peer_classes();
    void remember_metadata();
    void call_in_web_seeds();
    // The hosts of the item's web seeds are origin seeders: their BitTorrent side is origin too.
    void add_origin_hosts(const lt::torrent_info& info);

    peer_options options_;
    const proximity::model& routing_;
    std::shared_ptr<locality_state> locality_;
    lt::session session_;
    lt::torrent_handle handle_;
    lt::peer_class_t near_class_{}, far_class_{}, origin_class_{};
    item_status last_;
    // The origin's web seeds, held back until the backstop rule calls them in.
    std::vector<std::string> withheld_web_seeds_;
    backstop backstop_;
    int announces_in_flight_ = 0;
    bool left_ = false;
    bool completed_announced_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

std::filesystem::path metadata_file(const std::filesystem::path& output, const lt::info_hash_t& hashes);

}  // namespace nearcast::peer::client
