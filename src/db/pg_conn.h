#pragma once
// Thin RAII wrappers over libpq for the PostgreSQL MetaStore: a connection, a
// query result, and parameterized execution (PQexecParams, text format).
// Values always travel as parameters, never spliced into SQL.
#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scsipub::db::pg {

// One query parameter in text format; std::nullopt is SQL NULL.
class Param {
 public:
  Param(std::string_view s) : value_(std::string(s)) {}          // NOLINT(implicit)
  Param(const std::string& s) : value_(s) {}                     // NOLINT(implicit)
  Param(const char* s) : value_(std::string(s)) {}               // NOLINT(implicit)
  Param(int64_t v) : value_(std::to_string(v)) {}                // NOLINT(implicit)
  Param(std::optional<std::string> s) : value_(std::move(s)) {}  // NOLINT(implicit)
  Param(std::optional<int64_t> v) {                              // NOLINT(implicit)
    if (v) value_ = std::to_string(*v);
  }

  const char* c_str() const { return value_ ? value_->c_str() : nullptr; }

 private:
  std::optional<std::string> value_;
};

class Res {
 public:
  Res() = default;
  explicit Res(PGresult* r) : r_(r) {}
  Res(Res&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Res& operator=(Res&& o) noexcept {
    if (this != &o) {
      if (r_) PQclear(r_);
      r_ = o.r_;
      o.r_ = nullptr;
    }
    return *this;
  }
  Res(const Res&) = delete;
  Res& operator=(const Res&) = delete;
  ~Res() {
    if (r_) PQclear(r_);
  }

  PGresult* get() const { return r_; }
  int rows() const { return PQntuples(r_); }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col),
                       static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  std::optional<std::string> optional_text(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return text(row, col);
  }
  // Parses an integer column; fails on NULL or garbage.
  Result<int64_t> int64(int row, int col) const;
  Result<std::optional<int64_t>> optional_int64(int row, int col) const;
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  PGresult* r_ = nullptr;
};

// A failed statement: the message and the SQLSTATE (e.g. "23505").
struct QueryError {
  std::string message;
  std::string sqlstate;
};

class Conn {
 public:
  Conn() = default;
  Conn(Conn&& o) noexcept : c_(o.c_), commits_sent_(o.commits_sent_) { o.c_ = nullptr; }
  Conn& operator=(Conn&& o) noexcept;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn();

  // `conninfo` is a postgresql:// URL or a key=value string.
  static Result<Conn> connect(const std::string& conninfo);

  PGconn* get() const { return c_; }
  bool healthy() const { return c_ != nullptr && PQstatus(c_) == CONNECTION_OK; }
  // Reads whatever the server sent while the connection was idle, so that a
  // connection the server closed shows up as unhealthy before the next query.
  void poll();
  // Re-establishes a dropped connection with the same parameters.
  Status reset();

  // Runs one statement with parameters ($1, $2, ...). Fails unless the server
  // reports success; `error` (if given) receives the SQLSTATE on failure.
  Result<Res> exec(std::string_view sql, const std::vector<Param>& params = {},
                   QueryError* error = nullptr);
  // Runs one or more statements without parameters (DDL, BEGIN/COMMIT).
  Status exec_script(std::string_view sql);

  std::string errmsg() const;

  // How many COMMITs were sent on this connection. A call that failed on a
  // dropped connection without sending one changed nothing and can be rerun.
  uint64_t commits_sent() const { return commits_sent_; }
  void note_commit_sent() { ++commits_sent_; }

 private:
  explicit Conn(PGconn* c) : c_(c) {}
  PGconn* c_ = nullptr;
  uint64_t commits_sent_ = 0;
};

// BEGIN on construction; ROLLBACK on destruction unless committed.
class Transaction {
 public:
  // `begin_sql` picks the mode, e.g. "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY".
  static Result<Transaction> begin(Conn& conn, std::string_view begin_sql = "BEGIN");
  Transaction(Transaction&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status commit();

 private:
  explicit Transaction(Conn* conn) : conn_(conn) {}
  Conn* conn_;
};

}  // namespace scsipub::db::pg
