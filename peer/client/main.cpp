#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "http_fetch.hpp"
#include "nearcast/core/common_options.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/core/stop_signals.hpp"
#include "nearcast/peer/item_source.hpp"
#include "nearcast/proximity/errors.hpp"
#include "options.hpp"
#include "remote.hpp"

using namespace nearcast::peer;
using namespace nearcast::peer::client;

int main(int argc, char** argv) {
    nearcast::core::start_logging("nearcast-peer");
    const parsed_command command = parse_command_line(argc, argv);
    if (command.what == parsed_command::action::exit) return command.exit_status;
    nearcast::core::catch_stop_signals();
    try {
        switch (command.what) {
            case parsed_command::action::fetch: return fetch_command(command.options);
            case parsed_command::action::stream: return stream_command(command.options);
            case parsed_command::action::daemon: return daemon_command(command.options);
            case parsed_command::action::ui: return ui_command(command.options);
            case parsed_command::action::remote: return remote_command(command.options, command.remote);
            case parsed_command::action::exit: break;
        }
    } catch (const item_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const nearcast::proximity::input_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const nearcast::core::input_file_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const nearcast::core::listen_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const fetch_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const std::exception& error) {
        spdlog::error("{}", error.what());
        return 1;
    }
    return 0;
}
