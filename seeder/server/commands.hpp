// The commands of nearcast-seeder; each returns the process's exit status.
#pragma once

#include <string>

#include "nearcast/seeder/catalogue.hpp"
#include "options.hpp"

namespace nearcast::seeder::server {

int publish_command(const seeder_options& options);
int list_command(const seeder_options& options);
int info_command(const seeder_options& options, const std::vector<std::string>& items);
int remove_command(const seeder_options& options, const std::vector<std::string>& items);
int serve_command(const seeder_options& options);
int replicate_command(const seeder_options& options, const std::vector<std::string>& hashes);

// Hashes one path into a torrent, adds it to the catalogue in one transaction and writes its
// .torrent; shared by publish and the watch folder. Throws publish_error or catalogue_error.
catalogue_item publish_one(catalogue& store, const seeder_options& options, const std::string& path, bool show_progress);

}  // namespace nearcast::seeder::server
