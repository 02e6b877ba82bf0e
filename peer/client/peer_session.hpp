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
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "locality_plugin.hpp"
#include "nearcast/proximity/model.hpp"
#include "options.hpp"

namespace nearcast::peer::client {

// The model the client ranks with: --data (a file or a tracker's URL), $NEARCAST_PROX_DATA,
// or the embedded default snapshot.
proximity::model load_routing(const std::string& data);

// Whether every file of an item is wanted, or whole already: a stream asks for the file it
// plays alone, and an item with a file left out and not whole is not complete, however whole
// the others are.
bool every_file_wanted_or_whole(const lt::torrent_handle& handle);

// What an item's file is called on disk until every piece of it is verified: NAME.part.
inline constexpr std::string_view part_suffix = ".part";

struct item_status {
    lt::torrent_status status;
    bool has_metadata = false;
    bool complete = false;          // every wanted piece verified, and every wanted file under its final name
    std::string error;              // fatal: a file error, a torrent error
    bool tracker_answered = false;  // some tracker gave a reply
    std::string tracker_problem;    // the last tracker error, for the stall message
};

class peer_session {
public:
    peer_session(const peer_options& options, const proximity::model& routing);
    ~peer_session();

    // Adds an item, downloading into `save_path` (options.output by default). A magnet link's
    // metadata is kept in SAVE_PATH/.nearcast/ once received, so a second run needs no
    // metadata exchange. The first item added is the primary one poll() reports on.
    lt::torrent_handle add(lt::add_torrent_params params, const std::filesystem::path& save_path);
    lt::torrent_handle add(lt::add_torrent_params params);
    void remove(const lt::torrent_handle& handle, bool delete_files);
    // Handles alerts and refreshes every item; call a few times a second. Returns the primary
    // item's state.
    item_status poll();
    item_status status_of(const lt::torrent_handle& handle);
    std::vector<lt::torrent_handle> handles() const;
    locality_state& locality() { return *locality_; }
    const locality_state& locality() const { return *locality_; }
    lt::session& session() { return session_; }
    // The origin's peer class: a supernode holds it back while a fellow can relay.
    lt::peer_class_t origin_class() const { return origin_class_; }
    // A stream needs its next pieces now, from whoever has them: its origin connections are
    // never closed for near peers (origin_deference).
    void keep_origin(const lt::torrent_handle& handle);
    // Wants every file of the item (a stream asks for the file it plays alone): it is not
    // complete until the files left out are verified and named too.
    void want_every_file(const lt::torrent_handle& handle);
    // Every piece on disk hashed again (files can be changed behind libtorrent's back): the
    // item is not complete until the check is over, and a file found damaged is NAME.part
    // again until its pieces are fetched and verified.
    void recheck(const lt::torrent_handle& handle);
    // The fellow supernodes of a supernode: in the near class, whatever their AS.
    void set_fellows(std::vector<proximity::ip_address> fellows);
    lt::torrent_handle handle() const { return handle_; }
    // Says goodbye to the trackers (a `stopped` announce) once no announce is in flight, at
    // most `deadline`: a peer that leaves must not stay listed as a seed nobody can reach.
    // The session is closed afterwards: poll() only returns the last state.
    void leave_swarm(std::chrono::milliseconds deadline);
    // "ADDR:PORT" of the BitTorrent listener, once listening.
    std::string listen_endpoint() const;

private:
    struct tracked_item {
        tracked_item(backstop web_seed_rule, std::filesystem::path path) : rule(web_seed_rule), save_path(std::move(path)) {}
        lt::torrent_handle handle;
        item_status last;
        // The origin's web seeds, held back until the backstop rule calls them in.
        std::vector<std::string> withheld_web_seeds;
        backstop rule;
        std::filesystem::path save_path;
        int announces_in_flight = 0;
        bool completed_announced = false;
        // origin_deference: whether the origin's connections are closed for now, where the
        // origin was reached (to connect again), and when near supply was last counted.
        bool defer_origin = true;
        deference_state deference;  // whether the origin is held off now, its timers (ranking.hpp)
        std::vector<lt::tcp::endpoint> origin_endpoints;
        // When each near peer last unchoked us: a gateway candidate is one that passes on what
        // it fetches, and libtorrent rotates its unchokes every 15-30 s.
        std::map<proximity::ip_address, std::chrono::steady_clock::time_point> near_unchoked_at;
        // Gateways that passed on too little to their followers, and until when they are passed over.
        std::map<proximity::ip_address, std::chrono::steady_clock::time_point> passed_over;
        std::chrono::steady_clock::time_point deference_checked{};
        // Payload bytes each connection had delivered at the last sample: the rates deference
        // weighs are what arrived between two samples, not libtorrent's averages over seconds.
        std::map<lt::tcp::endpoint, std::int64_t> delivered_at_sample;
        bool sampled = false;
        // Files still named NAME.part that a rename back to NAME is under way for; `named` once
        // every wanted file has its final name.
        std::set<lt::file_index_t> renaming;
        bool named = false;
        // The first check of what is on disk is done and its unverified files are NAME.part.
        bool parts_checked = false;
        // A check asked for by recheck() is under way (until libtorrent's torrent_checked_alert).
        bool rechecking = false;
    };
    // NAME.part until verified: the files of a finished item get their final names back.
    bool give_final_names(tracked_item& item);
    // After the first check of what is on disk: a file under its final name that the check did
    // not find whole (cut short, damaged, deleted) is NAME.part again until verified.
    void take_final_names_back(tracked_item& item);
    // Has libtorrent pick blocks again (locality_state::ask_repick).
    void repick(tracked_item& item);
    // Counts what near peers hold that the item still lacks and closes or reopens the origin.
    void defer_origin(tracked_item& item);
    // Lets the origin in again on purpose: its waiting unchoke is heard at once, its closed
    // connections are made again.
    void let_origin_in(tracked_item& item);
    void apply_peer_classes();
    // Returns once the BitTorrent port listens; throws core::listen_error naming it otherwise.
    void wait_until_listening();
    // The hosts of the item's web seeds are origin seeders: their BitTorrent side is origin too.
    void add_origin_hosts(const lt::torrent_info& info);
    tracked_item* find(const lt::torrent_handle& handle);
    void handle_alert(lt::alert* alert);
    void refresh(tracked_item& item);
    void remember_metadata(tracked_item& item);
    // Adds the item's withheld web seeds (the origin over HTTP), saying why.
    void add_web_seeds(tracked_item& item, const std::string& why);
    void call_in_web_seeds(tracked_item& item);

    peer_options options_;
    const proximity::model& routing_;
    std::shared_ptr<locality_state> locality_;
    lt::session session_;
    lt::torrent_handle handle_;  // the primary item
    std::vector<tracked_item> items_;
    lt::peer_class_t near_class_{}, far_class_{}, origin_class_{};
    std::vector<proximity::ip_address> fellows_;
    std::string session_error_;  // the listener could not bind
    std::unique_ptr<std::ofstream> wire_log_;  // NEARCAST_WIRE_LOG's file, when it names one
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    bool left_ = false;
};

std::filesystem::path metadata_file(const std::filesystem::path& output, const lt::info_hash_t& hashes);

}  // namespace nearcast::peer::client
