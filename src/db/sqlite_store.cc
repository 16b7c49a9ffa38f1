#include "db/sqlite_store.h"
#include "db/sqlite_store_impl.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "db/check_macros.h"
#include "db/sqlite_stmt.h"

namespace scsipub::db {

#define SCSIPUB_DISK_SELECT                                                                      \
  "SELECT id, account_id, chap_user, chap_secret, mutual_secret, write_limit, created, expires " \
  "FROM disks "

// ------------------------------------------------------------------------------

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& data_dir,
                                                       const SqliteOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir, ec)) {
    return fail("metadata store: data directory " + data_dir.string() + " does not exist");
  }
  return open_file(data_dir / kFileName, options);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open_file(const std::filesystem::path& file,
                                                            const SqliteOptions& options) {
  const std::string what = "metadata store " + file.string();
  if (options.migrate_to < 0 || options.migrate_to > kLatestSchemaVersion) {
    return fail(what + ": migrate_to out of range");
  }
  SCSIPUB_DB_ASSIGN(conn,
                    Connection::open(file.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                        SQLITE_OPEN_NOMUTEX),
                    what);
  auto impl = std::make_unique<Impl>(std::move(conn), file.string());
  SCSIPUB_DB_CHECK(impl->configure(options), what);
  SCSIPUB_DB_CHECK(impl->migrate(options.migrate_to), what);
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

int SqliteStore::schema_version_at_open() const { return impl_->version_at_open; }

Result<int> SqliteStore::schema_version() {
  std::lock_guard lock(impl_->mu);
  return impl_->checked_version();
}

// --- accounts -------------------------------------------------------------------

Status SqliteStore::create_account(const Account& a) {
  SCSIPUB_DB_CHECK(validate(a), std::string("create account"));
  std::lock_guard lock(impl_->mu);
  auto& m = *impl_;
  const std::string what = "create account " + q(a.id);
  SCSIPUB_DB_ASSIGN(s_ptr,
                    m.statement("INSERT INTO accounts (id, tier, token_hash, created) "
                                "VALUES (?, ?, ?, ?)"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, a.id).bind(2, a.tier).bind(3, a.token_hash).bind(4, to_db(a.created));
  if (auto st = s->run(); !st) {
    if (is_constraint(s->last_error_code())) return fail(what + ": id or token already in use");
    return fail(what + ": " + st.error().message);
  }
  return ok_status();
}

Result<std::optional<Account>> SqliteStore::get_account(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->one_account("SELECT id, tier, token_hash, created FROM accounts WHERE id = ?", id,
                            "get account " + q(id));
}

Result<std::optional<Account>> SqliteStore::get_account_by_token_hash(std::string_view token_hash) {
  std::lock_guard lock(impl_->mu);
  return impl_->one_account(
      "SELECT id, tier, token_hash, created FROM accounts WHERE token_hash = ?", token_hash,
      "get account by token");
}

Result<std::vector<Account>> SqliteStore::list_accounts() {
  std::lock_guard lock(impl_->mu);
  const std::string what = "list accounts";
  SCSIPUB_DB_ASSIGN(s_ptr,
                    impl_->statement("SELECT id, tier, token_hash, created FROM accounts "
                                     "ORDER BY id"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  std::vector<Account> out;
  for (;;) {
    SCSIPUB_DB_ASSIGN(row, s->step(), what);
    if (!row) break;
    out.push_back(read_account(*s));
  }
  return out;
}

Result<bool> SqliteStore::delete_account(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->delete_account_where("SELECT COUNT(*) FROM disks WHERE account_id = ?",
                                     "DELETE FROM accounts WHERE id = ?", id,
                                     "delete account " + q(id));
}

Result<bool> SqliteStore::delete_account_by_token_hash(std::string_view token_hash) {
  std::lock_guard lock(impl_->mu);
  return impl_->delete_account_where(

      "SELECT COUNT(*) FROM disks WHERE account_id IN "
      "(SELECT id FROM accounts WHERE token_hash = ?)",
      "DELETE FROM accounts WHERE token_hash = ?", token_hash, "delete account by token");
}

// --- disks ------------------------------------------------------------------------

Status SqliteStore::create_disk(const Disk& d) {
  SCSIPUB_DB_CHECK(validate(d), std::string("create disk"));
  std::lock_guard lock(impl_->mu);
  auto& m = *impl_;
  const std::string what = "create disk " + q(d.id);
  SCSIPUB_DB_ASSIGN(tx, Transaction::begin(m.conn, Transaction::Mode::kImmediate), what);
  {
    SCSIPUB_DB_ASSIGN(s_ptr, m.statement("SELECT COUNT(*) FROM accounts WHERE id = ?"), what);
    sqlite::StatementLease s(*s_ptr);
    s->bind(1, d.account_id);
    SCSIPUB_DB_ASSIGN(row, s->step(), what);
    if (!row || s->int64(0) == 0) return fail(what + ": no account " + q(d.account_id));
  }
  {
    SCSIPUB_DB_ASSIGN(s_ptr,
                      m.statement("INSERT INTO disks (id, account_id, chap_user, chap_secret, "
                                  "mutual_secret, write_limit, created, expires) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                      what);
    sqlite::StatementLease s(*s_ptr);
    std::optional<int64_t> expires;
    if (d.expires) expires = to_db(*d.expires);
    s->bind(1, d.id)
        .bind(2, d.account_id)
        .bind(3, d.chap_user)
        .bind(4, d.chap_secret)
        .bind_optional(5, d.mutual_secret)
        .bind(6, static_cast<int64_t>(d.write_limit))
        .bind(7, to_db(d.created))
        .bind_optional(8, expires);
    if (auto st = s->run(); !st) {
      if (is_constraint(s->last_error_code())) {
        return fail(what + ": disk id or CHAP user " + q(d.chap_user) + " already in use");
      }
      return fail(what + ": " + st.error().message);
    }
  }
  {
    SCSIPUB_DB_ASSIGN(
        s_ptr, m.statement("INSERT INTO disk_luns (disk_id, lun, image) VALUES (?, ?, ?)"), what);
    for (std::size_t lun = 0; lun < d.luns.size(); ++lun) {
      sqlite::StatementLease s(*s_ptr);
      s->bind(1, d.id).bind(2, static_cast<int64_t>(lun)).bind(3, d.luns[lun]);
      SCSIPUB_DB_CHECK(s->run(), what + " LUN " + std::to_string(lun));
    }
  }
  SCSIPUB_DB_CHECK(tx.commit(), what);
  return ok_status();
}

Result<std::optional<Disk>> SqliteStore::get_disk(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->one_disk(SCSIPUB_DISK_SELECT "WHERE id = ?", id, "get disk " + q(id));
}

Result<std::optional<Disk>> SqliteStore::find_disk_by_chap_user(std::string_view chap_user) {
  std::lock_guard lock(impl_->mu);
  return impl_->one_disk(SCSIPUB_DISK_SELECT "WHERE chap_user = ?", chap_user,
                         "find disk by CHAP user " + q(chap_user));
}

Result<std::vector<Disk>> SqliteStore::list_disks_by_account(std::string_view account_id) {
  std::lock_guard lock(impl_->mu);
  const std::string what = "list disks of " + q(account_id);
  SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn, Transaction::Mode::kDeferred), what);
  SCSIPUB_DB_ASSIGN(
      out, impl_->disks(SCSIPUB_DISK_SELECT "WHERE account_id = ? ORDER BY id", account_id, what),
      what);
  SCSIPUB_DB_CHECK(tx.commit(), what);
  return std::move(out);
}

Result<std::vector<Disk>> SqliteStore::list_disks() {
  std::lock_guard lock(impl_->mu);
  const std::string what = "list disks";
  SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn, Transaction::Mode::kDeferred), what);
  SCSIPUB_DB_ASSIGN(out, impl_->disks(SCSIPUB_DISK_SELECT "ORDER BY id", std::nullopt, what), what);
  SCSIPUB_DB_CHECK(tx.commit(), what);
  return std::move(out);
}

Result<bool> SqliteStore::delete_disk(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  const std::string what = "delete disk " + q(id);
  // ON DELETE CASCADE removes its LUNs, their PR state and registrations.
  SCSIPUB_DB_ASSIGN(s_ptr, impl_->statement("DELETE FROM disks WHERE id = ?"), what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, id);
  SCSIPUB_DB_CHECK(s->run(), what);
  return impl_->conn.changes() > 0;
}

// --- operator tokens ------------------------------------------------------------------

Status SqliteStore::create_operator_token(const OperatorToken& t) {
  SCSIPUB_DB_CHECK(validate(t), std::string("create operator token"));
  std::lock_guard lock(impl_->mu);
  const std::string what = "create operator token " + q(t.id);
  SCSIPUB_DB_ASSIGN(s_ptr,
                    impl_->statement("INSERT INTO operator_tokens (id, token_hash, prefix, label, created) "
                                     "VALUES (?, ?, ?, ?, ?)"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, t.id).bind(2, t.token_hash).bind(3, t.prefix).bind(4, t.label).bind(5, to_db(t.created));
  if (auto st = s->run(); !st) {
    if (is_constraint(s->last_error_code())) return fail(what + ": id or token already in use");
    return fail(what + ": " + st.error().message);
  }
  return ok_status();
}

Result<std::optional<OperatorToken>> SqliteStore::find_operator_token_by_hash(std::string_view token_hash) {
  std::lock_guard lock(impl_->mu);
  const std::string what = "find operator token";
  SCSIPUB_DB_ASSIGN(s_ptr,
                    impl_->statement("SELECT id, token_hash, prefix, label, created FROM operator_tokens "
                                     "WHERE token_hash = ?"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, token_hash);
  SCSIPUB_DB_ASSIGN(row, s->step(), what);
  if (!row) return std::optional<OperatorToken>();
  return std::optional<OperatorToken>(read_operator_token(*s));
}

Result<std::vector<OperatorToken>> SqliteStore::list_operator_tokens() {
  std::lock_guard lock(impl_->mu);
  const std::string what = "list operator tokens";
  SCSIPUB_DB_ASSIGN(s_ptr,
                    impl_->statement("SELECT id, token_hash, prefix, label, created FROM operator_tokens "
                                     "ORDER BY created, id"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  std::vector<OperatorToken> out;
  for (;;) {
    SCSIPUB_DB_ASSIGN(row, s->step(), what);
    if (!row) break;
    out.push_back(read_operator_token(*s));
  }
  return out;
}

Result<bool> SqliteStore::revoke_operator_token(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  const std::string what = "revoke operator token " + q(id);
  SCSIPUB_DB_ASSIGN(s_ptr, impl_->statement("DELETE FROM operator_tokens WHERE id = ?"), what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, id);
  SCSIPUB_DB_CHECK(s->run(), what);
  return impl_->conn.changes() > 0;
}

// --- persistent reservations ----------------------------------------------------------

Status SqliteStore::save_pr_state(const LuKey& lu, const PrState& state) {
  const std::string what = "save PR state of " + lu_name(lu);
  SCSIPUB_DB_CHECK(validate(state), what);
  std::lock_guard lock(impl_->mu);
  auto& m = *impl_;
  SCSIPUB_DB_ASSIGN(tx, Transaction::begin(m.conn, Transaction::Mode::kImmediate), what);
  {
    SCSIPUB_DB_ASSIGN(
        s_ptr, m.statement("SELECT COUNT(*) FROM disk_luns WHERE disk_id = ? AND lun = ?"), what);
    sqlite::StatementLease s(*s_ptr);
    s->bind(1, lu.disk_id).bind(2, int64_t{lu.lun});
    SCSIPUB_DB_ASSIGN(row, s->step(), what);
    if (!row || s->int64(0) == 0) return fail(what + ": no such LU");
  }
  {
    // Cascades to the old registrations.
    SCSIPUB_DB_ASSIGN(s_ptr, m.statement("DELETE FROM pr_state WHERE disk_id = ? AND lun = ?"),
                      what);
    sqlite::StatementLease s(*s_ptr);
    s->bind(1, lu.disk_id).bind(2, int64_t{lu.lun});
    SCSIPUB_DB_CHECK(s->run(), what);
  }
  {
    SCSIPUB_DB_ASSIGN(
        s_ptr,
        m.statement("INSERT INTO pr_state (disk_id, lun, generation, holder, pr_type, "
                    "pr_scope) VALUES (?, ?, ?, ?, ?, ?)"),
        what);
    sqlite::StatementLease s(*s_ptr);
    std::optional<int64_t> holder;
    if (state.holder) holder = int64_t{*state.holder};
    s->bind(1, lu.disk_id)
        .bind(2, int64_t{lu.lun})
        .bind(3, int64_t{state.generation})
        .bind_optional(4, holder)
        .bind(5, int64_t{state.type})
        .bind(6, int64_t{state.scope});
    SCSIPUB_DB_CHECK(s->run(), what);
  }
  {
    SCSIPUB_DB_ASSIGN(
        s_ptr,
        m.statement("INSERT INTO pr_registrations (disk_id, lun, seq, initiator_port, "
                    "target_port, reservation_key, aptpl) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        what);
    for (std::size_t i = 0; i < state.registrations.size(); ++i) {
      const auto& r = state.registrations[i];
      sqlite::StatementLease s(*s_ptr);
      s->bind(1, lu.disk_id)
          .bind(2, int64_t{lu.lun})
          .bind(3, static_cast<int64_t>(i))
          .bind(4, r.initiator_port)
          .bind(5, r.target_port)
          .bind(6, std::bit_cast<int64_t>(r.key))  // BIGINT is signed; keep all 64 bits
          .bind(7, int64_t{r.aptpl ? 1 : 0});
      if (auto st = s->run(); !st) {
        if (is_constraint(s->last_error_code())) {
          return fail(what + ": I_T nexus " + q(r.initiator_port) + "/" + q(r.target_port) +
                      " registered twice");
        }
        return fail(what + ": " + st.error().message);
      }
    }
  }
  SCSIPUB_DB_CHECK(tx.commit(), what);  // the transaction's destructor rolls back on any failure
  return ok_status();
}

Result<std::optional<PrState>> SqliteStore::load_pr_state(const LuKey& lu) {
  const std::string what = "load PR state of " + lu_name(lu);
  std::lock_guard lock(impl_->mu);
  auto& m = *impl_;
  SCSIPUB_DB_ASSIGN(tx, Transaction::begin(m.conn, Transaction::Mode::kDeferred), what);
  PrState state;
  {
    SCSIPUB_DB_ASSIGN(s_ptr,
                      m.statement("SELECT generation, holder, pr_type, pr_scope FROM pr_state "
                                  "WHERE disk_id = ? AND lun = ?"),
                      what);
    sqlite::StatementLease s(*s_ptr);
    s->bind(1, lu.disk_id).bind(2, int64_t{lu.lun});
    SCSIPUB_DB_ASSIGN(row, s->step(), what);
    if (!row) {
      SCSIPUB_DB_CHECK(tx.commit(), what);
      return std::optional<PrState>();
    }
    const int64_t gen = s->int64(0), type = s->int64(2), scope = s->int64(3);
    const auto holder = s->optional_int64(1);
    if (gen < 0 || gen > int64_t{std::numeric_limits<uint32_t>::max()} || type < 0 || type > 255 ||
        scope < 0 || scope > 255 || (holder && *holder < 0)) {
      return fail(what + ": value out of range (database damaged)");
    }
    state.generation = static_cast<uint32_t>(gen);
    state.type = static_cast<uint8_t>(type);
    state.scope = static_cast<uint8_t>(scope);
    if (holder) {
      if (*holder > int64_t{std::numeric_limits<uint32_t>::max()}) {
        return fail(what + ": holder out of range (database damaged)");
      }
      state.holder = static_cast<uint32_t>(*holder);
    }
  }
  {
    SCSIPUB_DB_ASSIGN(
        s_ptr,
        m.statement("SELECT seq, initiator_port, target_port, reservation_key, aptpl "
                    "FROM pr_registrations WHERE disk_id = ? AND lun = ? ORDER BY seq"),
        what);
    sqlite::StatementLease s(*s_ptr);
    s->bind(1, lu.disk_id).bind(2, int64_t{lu.lun});
    for (;;) {
      SCSIPUB_DB_ASSIGN(row, s->step(), what);
      if (!row) break;
      if (s->int64(0) != static_cast<int64_t>(state.registrations.size())) {
        return fail(what + ": registration order damaged");
      }
      state.registrations.push_back(PrRegistration{
          s->text(1), s->text(2), std::bit_cast<uint64_t>(s->int64(3)), s->int64(4) != 0});
    }
  }
  SCSIPUB_DB_CHECK(tx.commit(), what);
  SCSIPUB_DB_CHECK(validate(state), what + " (database damaged)");
  return std::optional<PrState>(std::move(state));
}

Result<bool> SqliteStore::clear_pr_state(const LuKey& lu) {
  const std::string what = "clear PR state of " + lu_name(lu);
  std::lock_guard lock(impl_->mu);
  SCSIPUB_DB_ASSIGN(s_ptr, impl_->statement("DELETE FROM pr_state WHERE disk_id = ? AND lun = ?"),
                    what);
  sqlite::StatementLease s(*s_ptr);
  s->bind(1, lu.disk_id).bind(2, int64_t{lu.lun});
  SCSIPUB_DB_CHECK(s->run(), what);
  return impl_->conn.changes() > 0;
}

#undef SCSIPUB_DISK_SELECT
#undef SCSIPUB_DB_STMT
#undef SCSIPUB_DB_ASSIGN
#undef SCSIPUB_DB_CONCAT
#undef SCSIPUB_DB_CONCAT_
#undef SCSIPUB_DB_CHECK

}  // namespace scsipub::db
