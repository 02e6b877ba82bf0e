#include "nearcast/seeder/catalogue.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <charconv>

namespace nearcast::seeder {

namespace {

// Bumped when the schema changes; a catalogue of another version is refused, not guessed at.
constexpr int schema_version = 1;

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS items (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  save_path TEXT NOT NULL,
  total_size INTEGER NOT NULL,
  file_count INTEGER NOT NULL,
  piece_length INTEGER NOT NULL,
  v1_hash TEXT NOT NULL UNIQUE,
  v2_hash TEXT,
  torrent BLOB NOT NULL,
  magnet TEXT NOT NULL,
  resume BLOB,
  published_at INTEGER NOT NULL,
  served_http INTEGER NOT NULL DEFAULT 0,
  served_bittorrent INTEGER NOT NULL DEFAULT 0,
  complete INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS items_by_v2 ON items (v2_hash);
CREATE INDEX IF NOT EXISTS items_by_name ON items (name);
CREATE TABLE IF NOT EXISTS holders (
  item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
  seeder TEXT NOT NULL,
  PRIMARY KEY (item_id, seeder)
);
)";

// One prepared statement, finalized on every path out.
class statement {
public:
    statement(sqlite3* db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &handle_, nullptr) != SQLITE_OK) {
            throw catalogue_error(std::string("cannot prepare a catalogue query: ") + sqlite3_errmsg(db));
        }
    }
    ~statement() { sqlite3_finalize(handle_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    statement& bind(int index, std::int64_t value) {
        check(sqlite3_bind_int64(handle_, index, value));
        return *this;
    }
    statement& bind(int index, const std::string& text) {
        check(sqlite3_bind_text(handle_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
        return *this;
    }
    statement& bind_blob(int index, const std::vector<char>& bytes) {
        // An empty vector is stored as NULL, which reads back as empty.
        check(bytes.empty() ? sqlite3_bind_null(handle_, index)
                            : sqlite3_bind_blob(handle_, index, bytes.data(), static_cast<int>(bytes.size()),
                                                SQLITE_TRANSIENT));
        return *this;
    }
    statement& bind_or_null(int index, const std::string& text) {
        if (text.empty()) {
            check(sqlite3_bind_null(handle_, index));
            return *this;
        }
        return bind(index, text);
    }
    // True while there is a row to read.
    bool step() {
        const int result = sqlite3_step(handle_);
        if (result == SQLITE_ROW) return true;
        if (result == SQLITE_DONE) return false;
        throw catalogue_error(std::string("catalogue query failed: ") + sqlite3_errmsg(db_));
    }
    void reset() {
        sqlite3_reset(handle_);
        sqlite3_clear_bindings(handle_);
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(handle_, column); }
    std::string text(int column) const {
        const auto* bytes = sqlite3_column_text(handle_, column);
        return bytes ? std::string(reinterpret_cast<const char*>(bytes), sqlite3_column_bytes(handle_, column)) : std::string();
    }
    std::vector<char> blob(int column) const {
        const auto* bytes = static_cast<const char*>(sqlite3_column_blob(handle_, column));
        return bytes ? std::vector<char>(bytes, bytes + sqlite3_column_bytes(handle_, column)) : std::vector<char>();
    }

private:
    void check(int result) const {
        if (result != SQLITE_OK) throw catalogue_error(std::string("catalogue bind failed: ") + sqlite3_errmsg(db_));
    }
    sqlite3* db_;
    sqlite3_stmt* handle_ = nullptr;
};

// A transaction that rolls back unless committed.
class transaction {
public:
    explicit transaction(sqlite3* db) : db_(db) { run("BEGIN IMMEDIATE"); }
    ~transaction() {
        if (!committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit() {
        run("COMMIT");
        committed_ = true;
    }

private:
    void run(const char* sql) {
        if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
            throw catalogue_error(std::string(sql) + " failed: " + sqlite3_errmsg(db_));
        }
    }
    sqlite3* db_;
    bool committed_ = false;
};

constexpr const char* item_columns =
    "id, name, save_path, total_size, file_count, piece_length, v1_hash, v2_hash, magnet, published_at, "
    "served_http, served_bittorrent, complete";
constexpr const char* blob_columns = ", torrent, resume";

catalogue_item read_item(const statement& row, with_blobs blobs) {
    catalogue_item item;
    item.id = row.integer(0);
    item.name = row.text(1);
    item.save_path = row.text(2);
    item.total_size = static_cast<std::uint64_t>(row.integer(3));
    item.file_count = static_cast<std::uint64_t>(row.integer(4));
    item.piece_length = static_cast<std::uint32_t>(row.integer(5));
    item.v1_hex = row.text(6);
    item.v2_hex = row.text(7);
    item.magnet = row.text(8);
    item.published_at = row.integer(9);
    item.served_http = static_cast<std::uint64_t>(row.integer(10));
    item.served_bittorrent = static_cast<std::uint64_t>(row.integer(11));
    item.complete = row.integer(12) != 0;
    if (blobs == with_blobs::yes) {
        item.torrent = row.blob(13);
        item.resume = row.blob(14);
    }
    return item;
}

std::string select_items(with_blobs blobs, const char* where) {
    return std::string("SELECT ") + item_columns + (blobs == with_blobs::yes ? blob_columns : "") + " FROM items " + where;
}

bool all_hex(const std::string& text) {
    return text.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return text;
}

}  // namespace

catalogue::catalogue(const std::filesystem::path& file) : file_(file) {
    if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        // SQLite's words ("unable to open database file") do not say what to do about it.
        std::error_code error;
        const auto folder = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
        std::string why;
        if (std::filesystem::is_directory(file, error)) {
            why = "it is a directory; give --data-dir the folder that holds catalogue.db";
        } else if (!std::filesystem::exists(folder, error)) {
            why = "its folder " + folder.string() + " does not exist";
        } else if (!std::filesystem::is_directory(folder, error)) {
            why = folder.string() + " is not a folder";
        } else if (::access(folder.c_str(), W_OK) != 0) {
            why = "this user may not write in " + folder.string();
        } else {
            why = message;
        }
        throw catalogue_error(file.string() + ": cannot open the catalogue: " + why);
    }
    try {
        // Another process (a publish beside the daemon) may hold the write lock for a moment.
        sqlite3_busy_timeout(db_, 10'000);
        std::int64_t found = 0, other_tables = 0;
        {
            // Finalized before the pragmas below: an open statement would hold a read transaction.
            statement version(db_, "PRAGMA user_version");
            version.step();
            found = version.integer(0);
            statement tables(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT IN ('items', 'holders')");
            tables.step();
            other_tables = tables.integer(0);
        }
        if (found != 0 && found != schema_version) {
            fail("catalogue schema version " + std::to_string(found) + ", this nearcast-seeder reads version " +
                 std::to_string(schema_version));
        }
        if (found == 0 && other_tables != 0) fail("this SQLite file holds other tables: it is not a nearcast catalogue");
        execute("PRAGMA journal_mode = WAL");
        // NORMAL in WAL mode survives a crash of the process; only a power cut can lose the last commits.
        execute("PRAGMA synchronous = NORMAL");
        execute("PRAGMA foreign_keys = ON");
        execute(schema);
        execute(("PRAGMA user_version = " + std::to_string(schema_version)).c_str());
    } catch (const catalogue_error& error) {
        sqlite3_close(db_);
        db_ = nullptr;
        rethrow_named(error);
    }
}

catalogue::~catalogue() { sqlite3_close(db_); }

void catalogue::execute(const char* sql) const {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        const std::string text = message ? message : sqlite3_errmsg(db_);
        sqlite3_free(message);
        fail(text);
    }
}

void catalogue::fail(const std::string& what) const { throw catalogue_error(file_.string() + ": " + what); }

void catalogue::rethrow_named(const catalogue_error& error) const {
    const std::string message = error.what();
    if (message.starts_with(file_.string() + ": ")) throw error;
    fail(message);
}

std::int64_t catalogue::add(const catalogue_item& item) {
    try {
        transaction writing(db_);
        {
            statement exists(db_, "SELECT name FROM items WHERE v1_hash = ?");
            exists.bind(1, item.v1_hex);
            if (exists.step()) {
                fail("item " + item.v1_hex + " is already in the catalogue, as '" + exists.text(0) + "'");
            }
        }
        statement insert(db_,
                         "INSERT INTO items (name, save_path, total_size, file_count, piece_length, v1_hash, v2_hash, "
                         "torrent, magnet, resume, published_at, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        insert.bind(1, item.name)
            .bind(2, item.save_path.string())
            .bind(3, static_cast<std::int64_t>(item.total_size))
            .bind(4, static_cast<std::int64_t>(item.file_count))
            .bind(5, static_cast<std::int64_t>(item.piece_length))
            .bind(6, item.v1_hex)
            .bind_or_null(7, item.v2_hex)
            .bind_blob(8, item.torrent)
            .bind(9, item.magnet)
            .bind_blob(10, item.resume)
            .bind(11, item.published_at)
            .bind(12, std::int64_t{item.complete});
        insert.step();
        const std::int64_t id = sqlite3_last_insert_rowid(db_);
        statement holder(db_, "INSERT OR IGNORE INTO holders (item_id, seeder) VALUES (?, ?)");
        for (const auto& name : item.holders) {
            holder.bind(1, id).bind(2, name).step();
            holder.reset();
        }
        writing.commit();
        return id;
    } catch (const catalogue_error& error) {
        rethrow_named(error);
    }
}

std::optional<catalogue_item> catalogue::find(const std::string& key, with_blobs blobs) const {
    std::int64_t id = 0;
    const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), id);
    const bool numeric = error == std::errc() && end == key.data() + key.size();
    const char* where = numeric                                   ? "WHERE id = ?"
                        : key.size() == 40 && all_hex(key)        ? "WHERE v1_hash = ?"
                        : key.size() == 64 && all_hex(key)        ? "WHERE v2_hash = ?"
                                                                  : "WHERE name = ? ORDER BY id LIMIT 1";
    if (!numeric && !(all_hex(key) && (key.size() == 40 || key.size() == 64))) {
        // A name two items share names neither: the caller must say which.
        statement same_name(db_, "SELECT id FROM items WHERE name = ? ORDER BY id");
        same_name.bind(1, key);
        std::vector<std::int64_t> ids;
        while (same_name.step()) ids.push_back(same_name.integer(0));
        if (ids.size() > 1) {
            std::string listed;
            for (const std::int64_t each : ids) listed += (listed.empty() ? "" : ", ") + std::to_string(each);
            throw catalogue_error("'" + key + "' is the name of " + std::to_string(ids.size()) + " items (ids " + listed +
                                  "): give the id or the info hash of the one you mean");
        }
    }
    statement query(db_, select_items(blobs, where).c_str());
    if (numeric) query.bind(1, id);
    else query.bind(1, all_hex(key) && (key.size() == 40 || key.size() == 64) ? lower(key) : key);
    if (!query.step()) return std::nullopt;
    catalogue_item item = read_item(query, blobs);
    statement holders(db_, "SELECT seeder FROM holders WHERE item_id = ? ORDER BY seeder");
    holders.bind(1, item.id);
    while (holders.step()) item.holders.push_back(holders.text(0));
    return item;
}

std::vector<catalogue_item> catalogue::all(with_blobs blobs) const {
    std::vector<catalogue_item> items;
    statement query(db_, select_items(blobs, "ORDER BY id").c_str());
    while (query.step()) items.push_back(read_item(query, blobs));
    statement holders(db_, "SELECT item_id, seeder FROM holders ORDER BY item_id, seeder");
    std::size_t at = 0;
    while (holders.step()) {
        const std::int64_t id = holders.integer(0);
        while (at < items.size() && items[at].id < id) ++at;
        if (at < items.size() && items[at].id == id) items[at].holders.push_back(holders.text(1));
    }
    return items;
}

std::size_t catalogue::size() const {
    statement count(db_, "SELECT count(*) FROM items");
    count.step();
    return static_cast<std::size_t>(count.integer(0));
}

bool catalogue::remove(std::int64_t id) {
    statement erase(db_, "DELETE FROM items WHERE id = ?");
    erase.bind(1, id).step();
    return sqlite3_changes(db_) > 0;
}

void catalogue::save_resume(const std::vector<std::pair<std::int64_t, std::vector<char>>>& resume) {
    transaction writing(db_);
    statement update(db_, "UPDATE items SET resume = ? WHERE id = ?");
    for (const auto& [id, bytes] : resume) {
        update.bind_blob(1, bytes).bind(2, id).step();
        update.reset();
    }
    writing.commit();
}

void catalogue::add_served(std::int64_t id, std::uint64_t http_bytes, std::uint64_t bittorrent_bytes) {
    statement update(db_, "UPDATE items SET served_http = served_http + ?, served_bittorrent = served_bittorrent + ? WHERE id = ?");
    update.bind(1, static_cast<std::int64_t>(http_bytes)).bind(2, static_cast<std::int64_t>(bittorrent_bytes)).bind(3, id).step();
}

void catalogue::set_complete(std::int64_t id) {
    statement update(db_, "UPDATE items SET complete = 1 WHERE id = ?");
    update.bind(1, id).step();
}

std::uint64_t catalogue::change_counter() const {
    statement version(db_, "PRAGMA data_version");
    version.step();
    return static_cast<std::uint64_t>(version.integer(0));
}

}  // namespace nearcast::seeder
