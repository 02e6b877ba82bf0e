// nearcast-tracker: the server shell around the tracker's policy library.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <unistd.h>

#include "http_server.hpp"
#include "nearcast/core/atomic_file.hpp"
#include "nearcast/core/common_options.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/core/stop_signals.hpp"
#include "nearcast/proximity/errors.hpp"
#include "options.hpp"
#include "udp_server.hpp"

namespace asio = boost::asio;
namespace prox = nearcast::proximity;
using namespace nearcast::tracker;
using namespace nearcast::tracker::server;
namespace core = nearcast::core;

namespace {

std::vector<std::string> data_sources(const server_options& options) {
    if (!options.data.empty()) return options.data;
    if (const auto snapshot = core::default_snapshot(NEARCAST_DEFAULT_SNAPSHOT, NEARCAST_INSTALLED_SNAPSHOT)) return {snapshot->string()};
    throw core::input_file_error("no proximity data: give --data SOURCE (no default snapshot at " +
                                 std::string(NEARCAST_DEFAULT_SNAPSHOT) + " nor at " + NEARCAST_INSTALLED_SNAPSHOT + ")");
}

// Routing data read again for a reload (SIGHUP). At start-up a source cut short is read up
// to the cut, with a warning; on a reload the tracker already has whole data, so a source cut
// short (a download still being written, a copy interrupted) is refused and the old data kept.
void refuse_cut_short(const prox::model& routing) {
    for (const prox::load_report& report : routing.reports()) {
        if (!report.cut_short) continue;
        std::string cut;
        for (const std::string& warning : report.warnings) cut += (cut.empty() ? "" : "; ") + warning;
        throw prox::input_error(report.input, "is cut short, so it is not used on a reload: " + cut);
    }
}

// `reload`: a source cut short is refused (see refuse_cut_short) before the data is announced.
std::shared_ptr<const prox::model> load_routing(const server_options& options, bool reload = false) {
    const auto sources = data_sources(options);
    const auto started = std::chrono::steady_clock::now();
    auto routing = std::make_shared<const prox::model>(prox::model::load(sources));
    if (reload) refuse_cut_short(*routing);
    spdlog::info("proximity data: {} prefixes, {} ASes in the graph, from {} in {} ms", routing->prefixes().size(),
                 routing->graph().as_count(), sources.front(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
    return routing;
}

// The model as a compiled snapshot, for peers: the file itself when it is one, else compiled.
std::shared_ptr<const std::string> snapshot_bytes(const prox::model& routing, const server_options& options) {
    const auto sources = data_sources(options);
    std::string path = sources.front();
    std::filesystem::path compiled;
    if (sources.size() != 1 || !std::filesystem::is_regular_file(path) || [&] {
            std::ifstream file(path, std::ios::binary);
            std::string head(16, '\0');
            file.read(head.data(), static_cast<std::streamsize>(head.size()));
            return !prox::model::is_snapshot(std::string_view(head.data(), static_cast<std::size_t>(file.gcount())));
        }()) {
        compiled = std::filesystem::temp_directory_path() / ("nearcast-tracker-" + std::to_string(::getpid()) + ".ncprox");
        routing.save_snapshot(compiled.string());
        path = compiled.string();
    }
    std::ifstream file(path, std::ios::binary);
    auto bytes = std::make_shared<std::string>((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!compiled.empty()) std::filesystem::remove(compiled);
    return bytes;
}

asio::ip::address asio_address(const prox::ip_address& address) {
    return asio::ip::make_address(address.to_string());
}

class expiry_timer {
public:
    expiry_timer(asio::io_context& io, tracker_service& service, std::uint32_t every_s)
        : timer_(io), service_(service), every_(std::chrono::seconds(std::max<std::uint32_t>(every_s, 1))) {}
    void start() {
        timer_.expires_after(every_);
        timer_.async_wait([this](boost::system::error_code error) {
            if (error) return;
            service_.expire(wall_clock_ms());
            start();
        });
    }
    void stop() { timer_.cancel(); }

private:
    asio::steady_timer timer_;
    tracker_service& service_;
    std::chrono::seconds every_;
};

// The tracker's own check of a supernode candidate: a TCP connection to the BitTorrent port it
// announced, from the outside, within 3 s. Runs on the service's thread.
void check_reachability(asio::io_context& io, tracker_service& service, const endpoint& where) {
    auto socket = std::make_shared<asio::ip::tcp::socket>(io);
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::seconds(3));
    const asio::ip::tcp::endpoint target(asio_address(where.address), where.port);
    timer->async_wait([socket](boost::system::error_code error) {
        if (error) return;  // the connection finished first
        boost::system::error_code ignored;
        socket->close(ignored);
    });
    socket->async_connect(target, [&service, socket, timer, where](boost::system::error_code error) {
        timer->cancel();
        boost::system::error_code ignored;
        socket->close(ignored);
        service.supernode_reachability(where, !error, wall_clock_ms());
    });
}

class supernode_timer {
public:
    supernode_timer(asio::io_context& io, tracker_service& service, std::uint32_t every_s)
        : io_(io), timer_(io), service_(service), every_(std::chrono::seconds(std::max<std::uint32_t>(every_s, 1))) {}
    void start() {
        run_once();
        timer_.expires_after(every_);
        timer_.async_wait([this](boost::system::error_code error) {
            if (!error) start();
        });
    }
    void stop() { timer_.cancel(); }

private:
    void run_once() {
        const auto due = service_.supernode_tick(wall_clock_ms());
        // A bounded number of checks at a time; the rest are due again next round.
        for (std::size_t i = 0; i < due.size() && i < 256; ++i) check_reachability(io_, service_, due[i]);
    }
    asio::io_context& io_;
    asio::steady_timer timer_;
    tracker_service& service_;
    std::chrono::seconds every_;
};

int serve(const server_options& options) {
    auto routing = load_routing(options);
    tracker_service service(options, routing);
    service.set_snapshot(snapshot_bytes(*routing, options));
    asio::io_context io(1);

    std::vector<std::shared_ptr<http_listener>> http;
    std::vector<std::shared_ptr<udp_listener>> udp;
    std::string ports;
    for (const auto& where : options.http) {
        http.push_back(std::make_shared<http_listener>(io, asio::ip::tcp::endpoint(asio_address(where.address), where.port),
                                                       service, options.max_connections));
        listen_address bound{where.address, http.back()->local_endpoint().port()};
        ports += "http " + bound.to_string() + "\n";
        spdlog::info("listening http {}", bound.to_string());
    }
    for (const auto& where : options.udp) {
        udp.push_back(std::make_shared<udp_listener>(io, asio::ip::udp::endpoint(asio_address(where.address), where.port), service));
        listen_address bound{where.address, udp.back()->local_endpoint().port()};
        ports += "udp " + bound.to_string() + "\n";
        spdlog::info("listening udp {}", bound.to_string());
    }
    for (auto& listener : http) listener->start();
    for (auto& listener : udp) listener->start();
    if (!options.port_file.empty()) {
        // Written whole, then renamed: a reader never sees half the ports.
        core::write_file_atomically(options.port_file, ports);
    }

    expiry_timer expiry(io, service, options.expire_every_s);
    expiry.start();
    supernode_timer supernode_rounds(io, service, options.supernode_election_s);
    supernode_rounds.start();

    core::stop_signals stop_signals(io);
    stop_signals.on_stop([&](int) {
        for (auto& listener : http) listener->stop();
        for (auto& listener : udp) listener->stop();
        expiry.stop();
        supernode_rounds.stop();
        io.stop();
    });
    asio::signal_set reload_signal(io, SIGHUP);
    std::function<void()> wait_for_reload = [&] {
        reload_signal.async_wait([&](boost::system::error_code error, int) {
            if (error) return;
            try {
                auto reloaded = load_routing(options, true);
                service.set_snapshot(snapshot_bytes(*reloaded, options));
                service.set_routing(std::move(reloaded));
                spdlog::info("proximity data reloaded");
            } catch (const std::exception& failure) {
                spdlog::error("reload failed, keeping the old proximity data: {}", failure.what());
            }
            wait_for_reload();
        });
    };
    wait_for_reload();

    io.run();
    const auto stats = service.state().stats(wall_clock_ms());
    spdlog::info("stopped: {} announces answered, {} swarms and {} peers dropped (they rebuild as peers re-announce)",
                 stats.announces, stats.swarms, stats.peers);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    core::start_logging("nearcast-tracker");
    const parsed_command command = parse_command_line(argc, argv);
    if (command.what == parsed_command::action::exit) return command.exit_status;
    try {
        // Checked here, named by their options, before anything starts (exit status 2).
        if (!command.options.token_secret_file.empty()) read_secret(command.options.token_secret_file, "--token-secret-file");
        if (!command.options.admin_secret_file.empty()) read_secret(command.options.admin_secret_file, "--admin-secret-file");
        if (command.what == parsed_command::action::mint_token) {
            const access_tokens tokens(read_secret(command.options.token_secret_file, "--token-secret-file"));
            std::cout << tokens.issue(command.token_subject, wall_clock_ms() / 1000 + command.token_ttl_s) << "\n";
            return 0;
        }
        return serve(command.options);
    } catch (const prox::input_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const core::listen_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const core::input_file_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const core::output_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const std::exception& error) {
        spdlog::error("{}", error.what());
        return 1;
    }
}
