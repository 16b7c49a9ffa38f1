#include "db/postgres_store.h"
#include "db/postgres_fleet_store.h"
#include "db/postgres_store_impl.h"

#include <bit>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "db/check_macros.h"
#include "db/pg_conn.h"

namespace scsipub::db {

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl, std::unique_ptr<PostgresFleetStore> fleet)
    : impl_(std::move(impl)), fleet_(std::move(fleet)) {}
PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url,
                                                           const PostgresOptions& options) {
  if (options.migrate_to < 0 || options.migrate_to > kLatestSchemaVersion) {
    return fail("migrate_to " + std::to_string(options.migrate_to) + " is out of range");
  }
  auto conn = Conn::connect(url);
  if (!conn) return fail(conn.error().message);
  auto impl = std::make_unique<Impl>(std::move(*conn), url);
  if (auto st = impl->configure(); !st) return fail("open PostgreSQL store: " + st.error().message);
  if (auto st = impl->migrate(options.migrate_to); !st) {
    return fail("open PostgreSQL store: " + st.error().message);
  }
  auto fleet = PostgresFleetStore::open(url);
  if (!fleet) return fail("open PostgreSQL store: " + fleet.error().message);
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl), std::move(*fleet)));
}

FleetStore* PostgresStore::fleet() { return fleet_.get(); }

int PostgresStore::schema_version_at_open() const { return impl_->version_at_open; }

Result<int> PostgresStore::schema_version() {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&] { return impl_->checked_version(); });
}

// --- accounts -----------------------------------------------------------------------

Status PostgresStore::create_account(const Account& a) {
  SCSIPUB_DB_CHECK(validate(a), std::string("create account"));
  std::lock_guard lock(impl_->mu);
  return impl_->run(false, [&]() -> Status {
    const std::string what = "create account " + q(a.id);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    QueryError err;
    auto r = impl_->conn.exec(
        "INSERT INTO accounts (id, tier, token_hash, created) VALUES ($1, $2, $3, $4)",
        {a.id, a.tier, a.token_hash, to_db(a.created)}, &err);
    if (!r) {
      if (err.sqlstate == kUniqueViolation) return fail(what + ": id or token already in use");
      return fail(what + ": " + r.error().message);
    }
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return ok_status();
  });
}

Result<std::optional<Account>> PostgresStore::get_account(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&] {
    return impl_->one_account("SELECT id, tier, token_hash, created FROM accounts WHERE id = $1",
                              id, "get account " + q(id));
  });
}

Result<std::optional<Account>> PostgresStore::get_account_by_token_hash(
    std::string_view token_hash) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&] {
    return impl_->one_account(
        "SELECT id, tier, token_hash, created FROM accounts WHERE token_hash = $1", token_hash,
        "get account by token");
  });
}

Result<std::vector<Account>> PostgresStore::list_accounts() {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<std::vector<Account>> {
    const std::string what = "list accounts";
    SCSIPUB_DB_ASSIGN(
        r, impl_->conn.exec("SELECT id, tier, token_hash, created FROM accounts ORDER BY id"), what);
    std::vector<Account> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      SCSIPUB_DB_ASSIGN(a, read_account(r, i), what);
      out.push_back(std::move(a));
    }
    return out;
  });
}

Result<bool> PostgresStore::delete_account(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(false, [&] {
    return impl_->delete_account_where("SELECT COUNT(*) FROM disks WHERE account_id = $1",
                                       "DELETE FROM accounts WHERE id = $1", id,
                                       "delete account " + q(id));
  });
}

Result<bool> PostgresStore::delete_account_by_token_hash(std::string_view token_hash) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(false, [&] {
    return impl_->delete_account_where(
        "SELECT COUNT(*) FROM disks WHERE account_id IN "
        "(SELECT id FROM accounts WHERE token_hash = $1)",
        "DELETE FROM accounts WHERE token_hash = $1", token_hash, "delete account by token");
  });
}

// --- disks ------------------------------------------------------------------------

Status PostgresStore::create_disk(const Disk& d) {
  SCSIPUB_DB_CHECK(validate(d), std::string("create disk"));
  std::lock_guard lock(impl_->mu);
  return impl_->run(false, [&]() -> Status {
    auto& m = *impl_;
    const std::string what = "create disk " + q(d.id);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(m.conn), what);
    {
      // Locks the owner so it cannot be deleted before this commits.
      SCSIPUB_DB_ASSIGN(
          r, m.conn.exec("SELECT 1 FROM accounts WHERE id = $1 FOR SHARE", {d.account_id}), what);
      if (r.rows() == 0) return fail(what + ": no account " + q(d.account_id));
    }
    {
      std::optional<int64_t> expires;
      if (d.expires) expires = to_db(*d.expires);
      QueryError err;
      auto r = m.conn.exec(
          "INSERT INTO disks (id, account_id, chap_user, chap_secret, mutual_secret, "
          "write_limit, created, expires) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {d.id, d.account_id, d.chap_user, d.chap_secret, d.mutual_secret,
           static_cast<int64_t>(d.write_limit), to_db(d.created), expires},
          &err);
      if (!r) {
        if (err.sqlstate == kUniqueViolation) {
          return fail(what + ": disk id or CHAP user " + q(d.chap_user) + " already in use");
        }
        return fail(what + ": " + r.error().message);
      }
    }
    for (std::size_t lun = 0; lun < d.luns.size(); ++lun) {
      SCSIPUB_DB_CHECK(m.conn.exec("INSERT INTO disk_luns (disk_id, lun, image) VALUES ($1, $2, $3)",
                                   {d.id, static_cast<int64_t>(lun), d.luns[lun]}),
                       what + " LUN " + std::to_string(lun));
    }
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return ok_status();
  });
}

Result<std::optional<Disk>> PostgresStore::get_disk(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&] {
    return impl_->one_disk(SCSIPUB_DISK_SELECT "WHERE id = $1", id, "get disk " + q(id));
  });
}

Result<std::optional<Disk>> PostgresStore::find_disk_by_chap_user(std::string_view chap_user) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&] {
    return impl_->one_disk(SCSIPUB_DISK_SELECT "WHERE chap_user = $1", chap_user,
                           "find disk by CHAP user " + q(chap_user));
  });
}

Result<std::vector<Disk>> PostgresStore::list_disks_by_account(std::string_view account_id) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&] {
    return impl_->disks(SCSIPUB_DISK_SELECT "WHERE account_id = $1 ORDER BY id", {account_id},
                        "list disks of " + q(account_id));
  });
}

Result<std::vector<Disk>> PostgresStore::list_disks() {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true,
                    [&] { return impl_->disks(SCSIPUB_DISK_SELECT "ORDER BY id", {}, "list disks"); });
}

Result<bool> PostgresStore::delete_disk(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(false, [&]() -> Result<bool> {
    const std::string what = "delete disk " + q(id);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    // ON DELETE CASCADE removes its LUNs, their PR state and registrations.
    SCSIPUB_DB_ASSIGN(r, impl_->conn.exec("DELETE FROM disks WHERE id = $1", {id}), what);
    const bool deleted = r.affected() > 0;
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return deleted;
  });
}

// --- operator tokens ------------------------------------------------------------------

Status PostgresStore::create_operator_token(const OperatorToken& t) {
  SCSIPUB_DB_CHECK(validate(t), std::string("create operator token"));
  std::lock_guard lock(impl_->mu);
  return impl_->run(false, [&]() -> Status {
    const std::string what = "create operator token " + q(t.id);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    QueryError err;
    auto r = impl_->conn.exec(
        "INSERT INTO operator_tokens (id, token_hash, prefix, label, created) VALUES ($1, $2, $3, $4, $5)",
        {t.id, t.token_hash, t.prefix, t.label, to_db(t.created)}, &err);
    if (!r) {
      if (err.sqlstate == kUniqueViolation) return fail(what + ": id or token already in use");
      return fail(what + ": " + r.error().message);
    }
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return ok_status();
  });
}

Result<std::optional<OperatorToken>> PostgresStore::find_operator_token_by_hash(std::string_view token_hash) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<std::optional<OperatorToken>> {
    const std::string what = "find operator token";
    SCSIPUB_DB_ASSIGN(r,
                      impl_->conn.exec("SELECT id, token_hash, prefix, label, created FROM operator_tokens "
                                       "WHERE token_hash = $1",
                                       {token_hash}),
                      what);
    if (r.rows() == 0) return std::optional<OperatorToken>();
    SCSIPUB_DB_ASSIGN(t, read_operator_token(r, 0), what);
    return std::optional<OperatorToken>(std::move(t));
  });
}

Result<std::vector<OperatorToken>> PostgresStore::list_operator_tokens() {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<std::vector<OperatorToken>> {
    const std::string what = "list operator tokens";
    SCSIPUB_DB_ASSIGN(r,
                      impl_->conn.exec("SELECT id, token_hash, prefix, label, created FROM operator_tokens "
                                       "ORDER BY created, id"),
                      what);
    std::vector<OperatorToken> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      SCSIPUB_DB_ASSIGN(t, read_operator_token(r, i), what);
      out.push_back(std::move(t));
    }
    return out;
  });
}

Result<bool> PostgresStore::revoke_operator_token(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  // Deleting a row by id twice is harmless: safe to rerun after a lost COMMIT reply.
  return impl_->run(true, [&]() -> Result<bool> {
    const std::string what = "revoke operator token " + q(id);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    SCSIPUB_DB_ASSIGN(r, impl_->conn.exec("DELETE FROM operator_tokens WHERE id = $1", {id}), what);
    const bool deleted = r.affected() > 0;
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return deleted;
  });
}

// --- persistent reservations ----------------------------------------------------------

Status PostgresStore::save_pr_state(const LuKey& lu, const PrState& state) {
  const std::string what = "save PR state of " + lu_name(lu);
  SCSIPUB_DB_CHECK(validate(state), what);
  std::lock_guard lock(impl_->mu);
  // Replacing the whole state is idempotent: rerunning it after a COMMIT
  // whose reply was lost is safe.
  return impl_->run(true, [&] { return impl_->save_pr_state(lu, state, what); });
}

Result<std::optional<PrState>> PostgresStore::load_pr_state(const LuKey& lu) {
  const std::string what = "load PR state of " + lu_name(lu);
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&] { return impl_->load_pr_state(lu, what); });
}

Result<bool> PostgresStore::clear_pr_state(const LuKey& lu) {
  const std::string what = "clear PR state of " + lu_name(lu);
  std::lock_guard lock(impl_->mu);
  if (!lun_fits(lu)) return false;
  return impl_->run(false, [&]() -> Result<bool> {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    SCSIPUB_DB_ASSIGN(r,
                      impl_->conn.exec("DELETE FROM pr_state WHERE disk_id = $1 AND lun = $2",
                                       {lu.disk_id, int64_t{lu.lun}}),
                      what);
    const bool deleted = r.affected() > 0;
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return deleted;
  });
}

#undef SCSIPUB_DISK_SELECT
#undef SCSIPUB_DB_ASSIGN
#undef SCSIPUB_DB_CONCAT
#undef SCSIPUB_DB_CONCAT_
#undef SCSIPUB_DB_CHECK

}  // namespace scsipub::db
