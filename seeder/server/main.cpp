#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "nearcast/core/atomic_file.hpp"
#include "nearcast/core/common_options.hpp"
#include "nearcast/core/input_files.hpp"
#include "nearcast/core/listening.hpp"
#include "nearcast/seeder/torrent_maker.hpp"
#include "options.hpp"

using namespace nearcast::seeder;
using namespace nearcast::seeder::server;

int main(int argc, char** argv) {
    nearcast::core::start_logging("nearcast-seeder");
    const parsed_command command = parse_command_line(argc, argv);
    if (command.what == parsed_command::action::exit) return command.exit_status;
    try {
        switch (command.what) {
            case parsed_command::action::serve: return serve_command(command.options);
            case parsed_command::action::publish: return publish_command(command.options);
            case parsed_command::action::list: return list_command(command.options);
            case parsed_command::action::info: return info_command(command.options, command.items);
            case parsed_command::action::remove: return remove_command(command.options, command.items);
            case parsed_command::action::replicate: return replicate_command(command.options, command.items);
            case parsed_command::action::exit: break;
        }
    } catch (const catalogue_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const publish_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const nearcast::core::input_file_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const nearcast::core::listen_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const nearcast::core::output_error& error) {
        spdlog::error("{}", error.what());
        return 2;
    } catch (const std::exception& error) {
        spdlog::error("{}", error.what());
        return 1;
    }
    return 0;
}
