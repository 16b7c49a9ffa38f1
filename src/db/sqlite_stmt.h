#pragma once
// Small RAII wrappers over the SQLite C API, internal to the SQLite MetaStore:
// a connection, a prepared statement, a lease that resets a cached statement,
// and a transaction that rolls back unless committed.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace scsipub::db::sqlite {

class Connection {
 public:
  // flags: SQLITE_OPEN_* bits.
  static Result<Connection> open(const std::string& path, int flags);

  Connection(Connection&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  sqlite3* get() const { return db_; }
  std::string errmsg() const;
  // Runs one or more statements that return no rows of interest.
  Status exec(std::string_view sql);
  int64_t changes() const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  static Result<Statement> prepare(const Connection& conn, std::string_view sql);

  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds are 1-based, as in SQL. A failed bind is remembered and reported by
  // the next step(), so call sites can chain them.
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind_optional(int index, const std::optional<std::string>& text);
  Statement& bind_optional(int index, const std::optional<int64_t>& value);
  Statement& bind_null(int index);

  // true: a row is available; false: the statement is done.
  Result<bool> step();
  // Steps a statement that must not return rows (INSERT/UPDATE/DELETE).
  Status run();
  // SQLite extended result code of the last failed step (0 if none).
  int last_error_code() const { return last_rc_; }

  bool is_null(int column) const;
  int64_t int64(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::optional<int64_t> optional_int64(int column) const;

  // Back to the start with no bindings; releases any read snapshot it held.
  void reset();

 private:
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  void note_bind(int rc, int index);

  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  std::string bind_error_;
  int last_rc_ = 0;
};

// Borrows a cached statement and resets it when the borrow ends.
class StatementLease {
 public:
  explicit StatementLease(Statement& stmt) : stmt_(&stmt) {}
  StatementLease(const StatementLease&) = delete;
  StatementLease& operator=(const StatementLease&) = delete;
  ~StatementLease() { stmt_->reset(); }
  Statement* operator->() const { return stmt_; }
  Statement& operator*() const { return *stmt_; }

 private:
  Statement* stmt_;
};

class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  // kImmediate takes the write lock at once (use it for any write, so that two
  // writers never deadlock upgrading read locks).
  static Result<Transaction> begin(Connection& conn, Mode mode);

  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();  // rolls back unless committed

  Status commit();

 private:
  explicit Transaction(Connection& conn) : conn_(&conn) {}
  Connection* conn_;
};

}  // namespace scsipub::db::sqlite
