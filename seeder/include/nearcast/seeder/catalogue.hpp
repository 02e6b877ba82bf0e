// The seeder's catalogue: every item it holds, in one SQLite database.
//
// The catalogue is the seeder's durable state (soft state lives in the tracker). It is an
// SQLite file in WAL mode: an item appears whole in one transaction or not at all, so a
// seeder killed in the middle of a publish has no half item and loses none it had. Several
// processes may open it at once (`nearcast-seeder publish` while the daemon serves); the
// daemon notices changes through `change_counter()`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace nearcast::seeder {

// A catalogue that cannot be opened, read or written; the message names the file.
struct catalogue_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct catalogue_item {
    std::int64_t id = 0;                 // assigned by the catalogue
    std::string name;                    // the torrent's name: a file or folder in save_path
    std::filesystem::path save_path;     // the directory that holds it
    std::uint64_t total_size = 0;
    std::uint64_t file_count = 1;
    std::uint32_t piece_length = 0;
    std::string v1_hex;                  // 40 lowercase hex digits
    std::string v2_hex;                  // 64 lowercase hex digits; empty for a v1-only torrent
    std::vector<char> torrent;           // the whole bencoded .torrent
    std::string magnet;
    std::vector<char> resume;            // libtorrent resume data; empty until first saved
    std::int64_t published_at = 0;       // seconds since the epoch
    std::uint64_t served_http = 0;       // payload bytes served over HTTP
    std::uint64_t served_bittorrent = 0; // payload bytes uploaded over BitTorrent
    std::vector<std::string> holders;    // fellow seeders known to hold it (their names)
    bool complete = true;                // false while a replica is still being fetched
};

// What to load: listing thousands of items should not drag every torrent blob along.
enum class with_blobs : bool { no = false, yes = true };

class catalogue {
public:
    // Opens or creates the catalogue at `file`; refuses a file that is not one of ours.
    explicit catalogue(const std::filesystem::path& file);
    ~catalogue();
    catalogue(const catalogue&) = delete;
    catalogue& operator=(const catalogue&) = delete;

    // Adds an item in one transaction and returns its id. An item with the same v1 hash is
    // refused with a catalogue_error that names it.
    std::int64_t add(const catalogue_item& item);
    // By id, v1 hash (40 hex), v2 hash (64 hex) or name. A name that several items share is a
    // catalogue_error listing their ids: never one of them picked for the caller.
    std::optional<catalogue_item> find(const std::string& key, with_blobs blobs = with_blobs::yes) const;
    std::vector<catalogue_item> all(with_blobs blobs = with_blobs::no) const;
    std::size_t size() const;
    // Removes the item with this id; false when there was none.
    bool remove(std::int64_t id);

    // Resume data of many items in one transaction (a seeder stopping saves them all).
    void save_resume(const std::vector<std::pair<std::int64_t, std::vector<char>>>& resume);
    // Adds to the bytes-served counters.
    void add_served(std::int64_t id, std::uint64_t http_bytes, std::uint64_t bittorrent_bytes);
    // A replica fetched whole: it may now be served over HTTP and registered as an origin.
    void set_complete(std::int64_t id);

    // Changes whenever another connection commits a change: cheap to poll.
    std::uint64_t change_counter() const;
    const std::filesystem::path& file() const { return file_; }

private:
    void execute(const char* sql) const;
    [[noreturn]] void fail(const std::string& what) const;
    // Rethrows with the file's name in front, unless it is there already.
    [[noreturn]] void rethrow_named(const catalogue_error& error) const;

    std::filesystem::path file_;
    sqlite3* db_ = nullptr;
};

}  // namespace nearcast::seeder
