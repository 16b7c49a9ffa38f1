#include "db/pg_conn.h"

#include <charconv>
#include <utility>

namespace scsipub::db::pg {
namespace {

// libpq messages end with a newline; drop it so they compose into one line.
std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

Result<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return fail("not an integer: '" + std::string(s) + "'");
  }
  return v;
}

}  // namespace

Result<int64_t> Res::int64(int row, int col) const {
  if (is_null(row, col)) return fail("unexpected NULL");
  return parse_int(std::string_view(PQgetvalue(r_, row, col),
                                    static_cast<std::size_t>(PQgetlength(r_, row, col))));
}

Result<std::optional<int64_t>> Res::optional_int64(int row, int col) const {
  if (is_null(row, col)) return std::optional<int64_t>();
  auto v = int64(row, col);
  if (!v) return fail(v.error().message);
  return std::optional<int64_t>(*v);
}

int64_t Res::affected() const {
  auto v = parse_int(PQcmdTuples(r_));
  return v ? *v : 0;
}

Conn& Conn::operator=(Conn&& o) noexcept {
  if (this != &o) {
    if (c_) PQfinish(c_);
    c_ = o.c_;
    commits_sent_ = o.commits_sent_;
    o.c_ = nullptr;
  }
  return *this;
}

Conn::~Conn() {
  if (c_) PQfinish(c_);
}

Result<Conn> Conn::connect(const std::string& conninfo) {
  Conn c(PQconnectdb(conninfo.c_str()));
  if (!c.c_) return fail("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(c.c_) != CONNECTION_OK) {
    return fail("cannot connect to PostgreSQL: " + c.errmsg());
  }
  // NOTICEs (e.g. "drop cascades to ...") are not errors; libpq would print
  // them to stderr. Errors reach the caller through the results. Kept by PQreset.
  PQsetNoticeProcessor(c.c_, [](void*, const char*) {}, nullptr);
  return c;
}

void Conn::poll() {
  // libpq keeps its socket non-blocking, so this never waits. A server that
  // ended the session sent a FATAL message and then EOF: one call reads the
  // message, a later one sees the EOF and marks the connection bad.
  for (int i = 0; i < 3 && c_ && PQstatus(c_) == CONNECTION_OK; ++i) {
    if (PQconsumeInput(c_) == 0) break;
  }
}

Status Conn::reset() {
  if (!c_) return fail("no connection");
  PQreset(c_);
  if (PQstatus(c_) != CONNECTION_OK) return fail("cannot reconnect to PostgreSQL: " + errmsg());
  return ok_status();
}

std::string Conn::errmsg() const { return trimmed(c_ ? PQerrorMessage(c_) : nullptr); }

Result<Res> Conn::exec(std::string_view sql, const std::vector<Param>& params, QueryError* error) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  const std::string query(sql);
  Res r(PQexecParams(c_, query.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                     nullptr, nullptr, 0));
  const auto status = r.get() ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
  std::string msg = r.get() ? trimmed(PQresultErrorMessage(r.get())) : std::string();
  if (msg.empty()) msg = errmsg();
  if (error) {
    const char* state = r.get() ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    error->message = msg;
    error->sqlstate = state ? state : "";
  }
  return fail(msg);
}

Status Conn::exec_script(std::string_view sql) {
  const std::string query(sql);
  Res r(PQexec(c_, query.c_str()));
  const auto status = r.get() ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return ok_status();
  std::string msg = r.get() ? trimmed(PQresultErrorMessage(r.get())) : std::string();
  return fail(msg.empty() ? errmsg() : msg);
}

Result<Transaction> Transaction::begin(Conn& conn, std::string_view begin_sql) {
  if (auto st = conn.exec_script(begin_sql); !st) return fail("BEGIN: " + st.error().message);
  return Transaction(&conn);
}

Transaction::~Transaction() {
  // Best effort: on a dropped connection the server discards the transaction.
  if (conn_ && conn_->healthy()) (void)conn_->exec_script("ROLLBACK");
}

Status Transaction::commit() {
  Conn* c = std::exchange(conn_, nullptr);
  if (!c) return fail("transaction already finished");
  c->note_commit_sent();
  auto r = c->exec("COMMIT");
  if (!r) return fail("COMMIT: " + r.error().message);
  // COMMIT of a failed transaction "succeeds" with the tag ROLLBACK.
  if (std::string_view(PQcmdStatus(r->get())) != "COMMIT") {
    return fail("COMMIT: the transaction was rolled back");
  }
  return ok_status();
}

}  // namespace scsipub::db::pg
