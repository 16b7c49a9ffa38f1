#include "db/sqlite_stmt.h"

#include <climits>
#include <utility>

namespace scsipub::db::sqlite {

// --- Connection ---------------------------------------------------------------

Result<Connection> Connection::open(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);  // a handle is returned even on most failures
    return fail("cannot open " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  return Connection(db);
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

Connection::~Connection() {
  // Every statement is finalized before the connection goes (owners declare
  // the connection first), so a plain close succeeds.
  sqlite3_close(db_);
}

std::string Connection::errmsg() const { return db_ ? sqlite3_errmsg(db_) : "no connection"; }

Status Connection::exec(std::string_view sql) {
  const std::string owned(sql);  // sqlite3_exec wants a NUL-terminated string
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return fail(msg);
  }
  return ok_status();
}

int64_t Connection::changes() const { return sqlite3_changes64(db_); }

// --- Statement ----------------------------------------------------------------

Result<Statement> Statement::prepare(const Connection& conn, std::string_view sql) {
  if (sql.size() > static_cast<std::size_t>(INT_MAX)) return fail("SQL too long");
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(conn.get(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return fail("prepare failed: " + conn.errmsg() + " in: " + std::string(sql));
  }
  return Statement(stmt, conn.get());
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      bind_error_(std::move(other.bind_error_)),
      last_rc_(other.last_rc_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = other.db_;
    bind_error_ = std::move(other.bind_error_);
    last_rc_ = other.last_rc_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::note_bind(int rc, int index) {
  if (rc != SQLITE_OK && bind_error_.empty()) {
    bind_error_ = "bind of parameter " + std::to_string(index) + " failed: " + sqlite3_errstr(rc);
  }
}

Statement& Statement::bind(int index, std::string_view text) {
  note_bind(
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  note_bind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind_optional(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind_null(index);
}

Statement& Statement::bind_optional(int index, const std::optional<int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  note_bind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Result<bool> Statement::step() {
  if (!bind_error_.empty()) return fail(bind_error_);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  last_rc_ = sqlite3_extended_errcode(db_);
  return fail(sqlite3_errmsg(db_));
}

Status Statement::run() {
  auto r = step();
  if (!r) return fail(r.error().message);
  if (*r) return fail("statement unexpectedly returned rows");
  return ok_status();
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  const int n = sqlite3_column_bytes(stmt_, column);  // after _text, per the docs
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::optional<int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_.clear();
  last_rc_ = 0;
}

// --- Transaction ----------------------------------------------------------------

Result<Transaction> Transaction::begin(Connection& conn, Mode mode) {
  auto st = conn.exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  if (!st) return fail("begin transaction: " + st.error().message);
  return Transaction(conn);
}

Transaction::~Transaction() {
  if (conn_ != nullptr) (void)conn_->exec("ROLLBACK");
}

Status Transaction::commit() {
  if (conn_ == nullptr) return fail("transaction already finished");
  auto st = conn_->exec("COMMIT");
  if (!st) return fail("commit: " + st.error().message);  // destructor rolls back
  conn_ = nullptr;
  return ok_status();
}

}  // namespace scsipub::db::sqlite
