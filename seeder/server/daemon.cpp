// nearcast-seeder serve: the catalogue seeded over BitTorrent and HTTP, registered with the
// trackers, kept in step with the catalogue file, stopped cleanly with its resume data saved.
//
// One thread runs the io_context: the web server, the timers and libtorrent's alerts. Work
// that blocks - hashing a file dropped in the watch folder, talking to a tracker - runs on a
// helper thread whose result the io thread picks up; the catalogue is shared only through
// SQLite (each thread has its own connection).
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "fellows.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/atomic_file.hpp"
#include "nearcast/core/stop_signals.hpp"
#include "nearcast/seeder/piece_verifier.hpp"
#include "nearcast/seeder/replication.hpp"
#include "seeding_session.hpp"
#include "tracker_client.hpp"
#include "web_server.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace nearcast::seeder::server {

namespace {

std::string read_first_line(const std::string& path) {
    std::ifstream file(path);
    std::string line;
    core::require_readable_file(path, "--admin-secret-file");
    if (!file || !std::getline(file, line) || line.empty()) {
        throw core::input_file_error("--admin-secret-file '" + path + "': its first line is empty");
    }
    return line;
}

// A timer that calls `work` every `every` until the io_context stops.
class repeating_timer {
public:
    repeating_timer(asio::io_context& io, std::chrono::milliseconds every, std::function<void()> work)
        : timer_(io), every_(every), work_(std::move(work)) {
        arm();
    }
    void cancel() { timer_.cancel(); }

private:
    void arm() {
        timer_.expires_after(every_);
        timer_.async_wait([this](boost::system::error_code error) {
            if (error) return;
            work_();
            arm();
        });
    }
    asio::steady_timer timer_;
    std::chrono::milliseconds every_;
    std::function<void()> work_;
};

// What one look at the fellows found.
struct replication_round {
    std::vector<fellow_view> fellows;
    std::vector<catalogue_item> replicas;  // to add, not yet complete
    std::vector<std::string> log;
};

class seeder_daemon {
public:
    explicit seeder_daemon(const seeder_options& options)
        : options_(options),
          store_(options.catalogue_file()),
          session_(options),
          web_(io_, asio::ip::tcp::endpoint(asio::ip::make_address(options.http.host), options.http.port),
               routes()) {
        if (!options.admin_secret_file.empty()) admin_secret_ = read_first_line(options.admin_secret_file);
        if (admin_secret_.empty() && !options.tracker_admins.empty()) {
            spdlog::info("no --admin-secret-file: not registering with the trackers as an origin");
        }
    }

    int run() {
        const auto started = std::chrono::steady_clock::now();
        sync_with_catalogue();
        spdlog::info("{} {} items from {} (loaded in {} ms)", options_.bittorrent_enabled ? "seeding" : "serving over HTTP only",
                     roots_.size(), options_.catalogue_file().string(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
        if (options_.bittorrent_enabled) {
            if (const auto problem = session_.wait_until_listening(10s)) {
                spdlog::error("cannot listen for BitTorrent on {}", *problem);
                return 2;
            }
        }
        web_.start();
        if (options_.bittorrent_enabled) {
            bittorrent_endpoint_ = host_port{options_.bittorrent.host, session_.listen_port()}.to_string();
            spdlog::info("listening bittorrent {}", bittorrent_endpoint_);
        }
        const std::string http_endpoint = host_port{options_.http.host, web_.local_endpoint().port()}.to_string();
        spdlog::info("listening http {}", http_endpoint);
        // Torrents published from here (the watch folder) name the port the web seed really has,
        // not the 0 of --listen-http ADDRESS:0.
        if (options_.web_seed_is_own) options_.web_seeds = {"http://" + http_endpoint};
        write_port_file();

        core::stop_signals stop_signals(io_);
        stop_signals.on_stop([this](int) { io_.stop(); });
        repeating_timer alerts(io_, 250ms, [this] {
            session_.poll();
            take_finished();
        });
        repeating_timer replication(io_, std::chrono::seconds(options_.replicate_every_s), [this] { look_for_replicas(); });
        repeating_timer swarms(io_, std::chrono::seconds(options_.register_every_s), [this] { look_at_swarms(); });
        repeating_timer catalogue_changes(io_, 1s, [this] {
            if (store_.change_counter() != seen_change_) sync_with_catalogue();
            collect_finished_work();
        });
        repeating_timer counters(io_, 10s, [this] { flush_counters(); });
        repeating_timer registration(io_, std::chrono::seconds(options_.register_every_s), [this] { register_with_trackers(); });
        repeating_timer periodic_resume(io_, 300s, [this] { store_.save_resume(session_.save_resume(10s, true)); });
        std::optional<repeating_timer> watch;
        if (!options_.watch_dir.empty()) {
            spdlog::info("watching {} for new content", options_.watch_dir);
            watch.emplace(io_, 2s, [this] { scan_watch_folder(); });
        }
        register_with_trackers();
        look_for_replicas();
        io_.run();

        web_.stop();
        flush_counters();
        const auto resume = session_.save_resume(30s, false);  // all of it: the next start must not re-hash
        store_.save_resume(resume);
        spdlog::info("stopped: resume data of {} of {} items saved; {} served over HTTP and {} over BitTorrent this run",
                     resume.size(), session_.size(), total_http_, session_.counters().uploaded_payload);
        return 0;
    }

private:
    web_routes routes() {
        web_routes routes;
        routes.item_root = [this](std::string_view hash) -> std::optional<fs::path> {
            const auto found = roots_.find(std::string(hash));
            // A replica still being fetched has holes: it is not served until whole.
            if (found == roots_.end() || !found->second.complete) return std::nullopt;
            return found->second.save_path;
        };
        routes.served = [this](std::string_view hash, std::uint64_t bytes) {
            const auto found = roots_.find(std::string(hash));
            if (found == roots_.end()) return;
            http_served_[found->second.id] += bytes;
            total_http_ += bytes;
        };
        routes.lists_file = [this](std::string_view hash, const fs::path& relative) {
            const piece_verifier* verifier = verifier_of(std::string(hash));
            return verifier && verifier->lists(relative);
        };
        routes.verify = [this](std::string_view hash, const fs::path& relative, std::uint64_t first, std::uint64_t last) {
            return verify_before_serving(std::string(hash), relative, first, last);
        };
        routes.other = [this](std::string_view method, std::string_view target) -> std::optional<simple_answer> {
            const std::string_view path = target.substr(0, target.find('?'));
            if (method != "GET" && method != "HEAD") return std::nullopt;
            if (path == "/stats") return simple_answer{200, "application/json", stats_json()};
            if (path == "/metrics") return simple_answer{200, "text/plain; version=0.0.4", metrics_text()};
            if (path == "/catalogue") {
                return simple_answer{200, "application/json", catalogue_json(options_.name, bittorrent_endpoint_, store_.all())};
            }
            if (path.starts_with("/torrents/")) {
                const std::string hash(path.substr(10));
                const auto item = hash.size() == 40 ? store_.find(hash) : std::nullopt;
                if (!item) return simple_answer{404, "text/plain", "no item " + hash + " here\n"};
                return simple_answer{200, "application/x-bittorrent", std::string(item->torrent.begin(), item->torrent.end())};
            }
            return std::nullopt;
        };
        return routes;
    }

    // The item's verifier, made on first use; null for an item the catalogue does not hold.
    piece_verifier* verifier_of(const std::string& hash) {
        auto found = verifiers_.find(hash);
        if (found == verifiers_.end()) {
            const auto item = store_.find(hash);
            const auto root = roots_.find(hash);
            if (!item || root == roots_.end()) return nullptr;
            lt::error_code error;
            auto info = std::make_shared<const lt::torrent_info>(item->torrent, error, lt::from_span);
            if (error) return nullptr;
            found = verifiers_.emplace(hash, std::make_unique<piece_verifier>(std::move(info), root->second.save_path)).first;
        }
        return found->second.get();
    }

    bool verify_before_serving(const std::string& hash, const fs::path& relative, std::uint64_t first, std::uint64_t last) {
        piece_verifier* verifier = verifier_of(hash);
        if (!verifier) return false;
        const verify_result result = verifier->verify(relative, first, last);
        if (result.whole) return true;
        ++http_hash_failures_;
        spdlog::error("{} ({}): piece(s) {} on disk fail their hash check; not serving them over HTTP, repairing the item",
                      relative.string(), hash, fmt::join(result.bad_pieces, ", "));
        session_.repair(hash, fellow_sources());
        return false;
    }

    // Seeds what the catalogue holds and stops seeding what it no longer holds.
    void sync_with_catalogue() {
        seen_change_ = store_.change_counter();
        std::set<std::string> listed;
        std::vector<catalogue_item> fresh;
        for (auto& item : store_.all(with_blobs::no)) {
            listed.insert(item.v1_hex);
            if (!roots_.count(item.v1_hex)) fresh.push_back(std::move(item));
        }
        // Many new items (a start): one query with the torrents beats one query each.
        if (fresh.size() > 64 && options_.bittorrent_enabled) {
            fresh = store_.all(with_blobs::yes);
            std::erase_if(fresh, [this](const catalogue_item& item) { return roots_.count(item.v1_hex) != 0; });
        }
        const auto sources = fellow_sources();
        for (auto& item : fresh) {
            known_paths_.insert((item.save_path / item.name).string());
            roots_[item.v1_hex] = {item.id, item.save_path, item.complete};
            hash_of_id_[item.id] = item.v1_hex;
            if (options_.bittorrent_enabled) {
                if (item.torrent.empty()) {
                    auto whole = store_.find(std::to_string(item.id), with_blobs::yes);
                    if (!whole) continue;  // removed since the listing: the next sync drops it
                    item = std::move(*whole);
                }
                session_.add(item, item.complete ? std::vector<lt::tcp::endpoint>{} : sources);
            }
            if (started_) spdlog::info("now seeding {} ({})", item.name, item.v1_hex);
            registered_stale_ = true;
        }
        for (auto at = roots_.begin(); at != roots_.end();) {
            if (listed.count(at->first)) {
                ++at;
                continue;
            }
            const std::string hash = at->first;
            hash_of_id_.erase(at->second.id);
            at = roots_.erase(at);
            verifiers_.erase(hash);
            session_.remove(hash);
            spdlog::info("no longer seeding {}: removed from the catalogue", hash);
            registered_stale_ = true;
        }
        if (started_ && registered_stale_) register_with_trackers();
        started_ = true;
    }

    void flush_counters() {
        auto uploaded = session_.take_uploaded();
        for (const auto& [id, bytes] : http_served_) store_.add_served(id, bytes, 0);
        for (const auto& [id, bytes] : uploaded) store_.add_served(id, 0, bytes);
        http_served_.clear();
    }

    void register_with_trackers() {
        // An origin is a BitTorrent endpoint; without one, or without the secret, there is nothing to say.
        if (options_.tracker_admins.empty() || admin_secret_.empty() || bittorrent_endpoint_.empty() ||
            registration_.valid()) {
            return;
        }
        registered_stale_ = false;
        auto items = store_.all(with_blobs::no);
        std::erase_if(items, [](const catalogue_item& item) { return !item.complete; });
        const std::string body =
            registration_body(options_.name, bittorrent_endpoint_, items, total_http_ + session_.counters().uploaded_payload);
        registration_ = std::async(std::launch::async, [admins = options_.tracker_admins, body, secret = admin_secret_] {
            std::string outcome;
            for (const auto& admin : admins) {
                try {
                    const auto reply = http_request("POST", admin, "/origins", body, secret, 5s);
                    outcome += (reply.status == 200 ? "registered with " : "refused by ") + admin +
                               (reply.status == 200 ? "" : " (" + std::to_string(reply.status) + " " + reply.body + ")") + "; ";
                } catch (const std::exception& error) {
                    outcome += std::string("cannot register: ") + error.what() + "; ";
                }
            }
            return outcome;
        });
    }

    void scan_watch_folder() {
        if (publishing_.valid()) return;  // one at a time; the rest waits for the next scan
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(options_.watch_dir, error)) {
            const std::string path = entry.path().string();
            if (entry.path().filename().string().starts_with(".") || watched_.count(path) || known_paths_.count(path)) {
                continue;
            }
            // Wait until a file has not changed for two seconds: it may still be being copied.
            const auto written = fs::last_write_time(entry.path(), error);
            if (error || fs::file_time_type::clock::now() - written < 2s) continue;
            watched_.insert(path);
            publishing_ = std::async(std::launch::async, [options = options_, path] {
                catalogue own(options.catalogue_file());
                try {
                    const auto item = publish_one(own, options, path, false);
                    return "published " + path + " from the watch folder as item " + std::to_string(item.id);
                } catch (const std::exception& failure) {
                    return std::string("watch folder: ") + failure.what();
                }
            });
            return;
        }
    }

    void collect_finished_work() {
        if (registration_.valid() && registration_.wait_for(0s) == std::future_status::ready) {
            const std::string outcome = registration_.get();
            (outcome.find("cannot") != std::string::npos || outcome.find("refused") != std::string::npos
                 ? spdlog::warn("{}", outcome)
                 : spdlog::debug("{}", outcome));
            if (registered_stale_) register_with_trackers();
        }
        if (publishing_.valid() && publishing_.wait_for(0s) == std::future_status::ready) {
            spdlog::info("{}", publishing_.get());
        }
        if (replication_.valid() && replication_.wait_for(0s) == std::future_status::ready) take_replicas(replication_.get());
        if (scraping_.valid() && scraping_.wait_for(0s) == std::future_status::ready) apply_budget(scraping_.get());
    }

    void write_port_file() {
        if (options_.port_file.empty()) return;
        std::string ports;
        if (!bittorrent_endpoint_.empty()) ports += "bittorrent " + bittorrent_endpoint_ + "\n";
        ports += "http " + host_port{options_.http.host, web_.local_endpoint().port()}.to_string() + "\n";
        core::write_file_atomically(options_.port_file, ports);
    }

    std::string stats_json() const {
        const auto counters = session_.counters();
        const nlohmann::json document{
            {"name", options_.name},
            {"items", store_.size()},
            {"seeding", counters.torrents},
            {"added", counters.added},
            {"peers", counters.peers},
            {"upload_rate_bytes_per_s", counters.upload_rate},
            {"served_http_bytes", total_http_},
            {"served_bittorrent_bytes", counters.uploaded_payload},
            {"fetched_bittorrent_bytes", counters.downloaded_payload},
            {"hash_failures", counters.hash_failures + http_hash_failures_},
            {"repairs", counters.repairs},
            {"self_serving_swarms", last_plan_.first},
            {"long_tail_swarms", last_plan_.second},
            {"started_from_resume", counters.started_from_resume},
            {"started_in_seed_mode", counters.started_in_seed_mode},
            {"checking", counters.checking},
        };
        return document.dump(2) + "\n";
    }

    std::string metrics_text() const {
        const auto counters = session_.counters();
        std::ostringstream out;
        const auto metric = [&](const char* name, const char* type, const char* help, auto value) {
            out << "# HELP nearcast_seeder_" << name << " " << help << "\n# TYPE nearcast_seeder_" << name << " " << type
                << "\nnearcast_seeder_" << name << " " << value << "\n";
        };
        metric("items", "gauge", "Items in the catalogue.", store_.size());
        metric("seeding", "gauge", "Items being seeded.", counters.torrents);
        metric("peers", "gauge", "Connected peers.", counters.peers);
        metric("served_http_bytes_total", "counter", "Payload bytes served over HTTP.", total_http_);
        metric("served_bittorrent_bytes_total", "counter", "Payload bytes uploaded over BitTorrent.", counters.uploaded_payload);
        metric("fetched_bittorrent_bytes_total", "counter", "Payload bytes downloaded over BitTorrent (replicas, repairs).",
               counters.downloaded_payload);
        metric("hash_failures_total", "counter", "Pieces found corrupt on disk.", counters.hash_failures + http_hash_failures_);
        metric("repairs_total", "counter", "Items made whole again after a hash failure.", counters.repairs);
        return out.str();
    }

    struct item_root {
        std::int64_t id = 0;
        fs::path save_path;
        bool complete = true;
    };

    // The BitTorrent endpoints of the fellows, as they last said at /catalogue.
    std::vector<lt::tcp::endpoint> fellow_sources() const {
        std::vector<lt::tcp::endpoint> sources;
        for (const auto& fellow : fellows_) {
            if (fellow.bittorrent.empty()) continue;
            try {
                const host_port where = parse_host_port(fellow.bittorrent, fellow.name);
                sources.emplace_back(asio::ip::make_address(where.host), where.port);
            } catch (const std::exception&) {
                spdlog::debug("fellow {} gave a bad BitTorrent endpoint '{}'", fellow.name, fellow.bittorrent);
            }
        }
        return sources;
    }

    // Looks at what the fellows hold (on a helper thread) and fetches the replicas this seeder
    // is a home of; the torrents come back to the io thread, which adds them.
    void look_for_replicas() {
        if (options_.fellows.empty() || replication_.valid()) return;
        std::set<std::string> held;
        for (const auto& [hash, root] : roots_) held.insert(hash);
        replication_ = std::async(std::launch::async, [options = options_, held] {
            replication_round round;
            round.fellows = look_at_fellows(options.fellows, 3s);
            std::vector<seeder_holdings> holdings;
            for (const auto& fellow : round.fellows) {
                if (!fellow.reachable) {
                    round.log.push_back("fellow " + fellow.name + " unreachable: " + fellow.problem);
                    continue;
                }
                holdings.push_back({fellow.name, fellow.complete});
            }
            for (const auto& fetch : replicas_to_fetch(options.name, held, holdings, options.replicas)) {
                std::vector<fellow_view> sources;
                for (const auto& name : fetch.sources) {
                    for (const auto& fellow : round.fellows) {
                        if (fellow.name == name) sources.push_back(fellow);
                    }
                }
                try {
                    round.replicas.push_back(replica_item(fetch.v1_hex, sources, options.content_dir(), options.name));
                } catch (const std::exception& error) {
                    round.log.push_back(error.what());
                }
            }
            return round;
        });
    }

    void take_replicas(replication_round round) {
        fellows_ = std::move(round.fellows);
        for (const auto& line : round.log) spdlog::warn("{}", line);
        for (auto& item : round.replicas) {
            try {
                fs::create_directories(item.save_path);
                item.id = store_.add(item);
                spdlog::info("fetching a replica of {} ({}, {} bytes) from the fellow seeders", item.name, item.v1_hex,
                             item.total_size);
            } catch (const std::exception& error) {
                spdlog::warn("replica of {}: {}", item.v1_hex, error.what());
            }
        }
        if (!round.replicas.empty()) sync_with_catalogue();
    }

    // Asks the trackers how many seeds each complete item's swarm has (on a helper thread);
    // the io thread turns the counts into the long-tail-first upload plan.
    void look_at_swarms() {
        if (options_.tracker_admins.empty() || !options_.bittorrent_enabled || scraping_.valid()) return;
        std::vector<std::string> hashes;
        for (const auto& [hash, root] : roots_) {
            if (root.complete) hashes.push_back(hash);
        }
        scraping_ = std::async(std::launch::async, [admins = options_.tracker_admins, hashes] {
            std::map<std::string, swarm_count> counts;
            for (const auto& admin : admins) {
                try {
                    for (const auto& [hash, count] : scrape(admin, hashes, 5s)) {
                        auto& best = counts[hash];
                        best.seeds = std::max(best.seeds, count.seeds);
                        best.leechers = std::max(best.leechers, count.leechers);
                    }
                } catch (const std::exception& error) {
                    spdlog::debug("scrape: {}", error.what());
                }
            }
            return counts;
        });
    }

    void apply_budget(const std::map<std::string, swarm_count>& counts) {
        std::vector<swarm_sources> swarms;
        for (const auto& [hash, root] : roots_) {
            if (!root.complete) continue;
            const auto found = counts.find(hash);
            if (found == counts.end()) {
                swarms.push_back({root.id, 0, 0, false});
                continue;
            }
            // The origins that hold it: this one and the fellows that said so.
            std::uint32_t origins = 1;
            for (const auto& fellow : fellows_) origins += fellow.complete.count(hash) ? 1 : 0;
            swarms.push_back({root.id, found->second.seeds, found->second.leechers, true, origins});
        }
        const upload_plan plan = plan_upload(options_.budget, swarms);
        session_.apply(plan);
        last_plan_ = {plan.self_serving, plan.long_tail};
        if (plan.self_serving > 0) {
            spdlog::debug("upload budget: {} swarms serve themselves and share a slice, {} long-tail swarms get the rest",
                          plan.self_serving, plan.long_tail);
        }
    }

    // Finished replicas and repaired items: whole, so served and registered.
    void take_finished() {
        for (const std::int64_t id : session_.take_finished()) {
            const auto hash = hash_of_id_.find(id);
            if (hash == hash_of_id_.end()) continue;
            auto& root = roots_[hash->second];
            if (root.complete) continue;  // a seed's finish, or a repair: nothing changes here
            store_.set_complete(id);
            root.complete = true;
            spdlog::info("replica of {} is whole: serving it", hash->second);
            registered_stale_ = true;
        }
    }

    seeder_options options_;
    asio::io_context io_{1};
    catalogue store_;
    seeding_session session_;
    web_server web_;
    std::string admin_secret_;
    std::string bittorrent_endpoint_;
    std::map<std::string, item_root> roots_;  // v1 hex -> where its content is
    std::map<std::int64_t, std::string> hash_of_id_;
    std::map<std::int64_t, std::uint64_t> http_served_;
    std::uint64_t total_http_ = 0;
    std::uint64_t http_hash_failures_ = 0;
    std::map<std::string, std::unique_ptr<piece_verifier>> verifiers_;  // by v1 hex, made on first use
    std::uint64_t seen_change_ = 0;
    bool started_ = false;
    bool registered_stale_ = true;
    std::future<std::string> registration_;
    std::future<std::string> publishing_;
    std::future<replication_round> replication_;
    std::future<std::map<std::string, swarm_count>> scraping_;
    std::pair<std::size_t, std::size_t> last_plan_{0, 0};  // self-serving, long-tail swarms
    std::vector<fellow_view> fellows_;
    std::set<std::string> watched_;      // watch folder entries taken, published or not
    std::set<std::string> known_paths_;  // content paths of catalogue items
};

}  // namespace

int serve_command(const seeder_options& options) {
    core::require_folder(options.data_dir, "--data-dir");
    seeder_daemon daemon(options);
    return daemon.run();
}

}  // namespace nearcast::seeder::server
