#pragma once
// The shared MetaStore: a PostgreSQL database reached through libpq, for
// deployments where several scsipub nodes share accounts, disks and PR state.
// One connection guarded by a mutex (metadata is a cold path); a connection
// found dropped is re-established once before a call fails. Every mutating
// call is one transaction committed with the server's synchronous_commit
// (never below "on" for this session), so it is durable when the call returns.
#include <memory>
#include <string>

#include "db/meta_store.h"
#include "db/migrations.h"

namespace scsipub::db {

class PostgresFleetStore;  // db/postgres_fleet_store.h

struct PostgresOptions {
  // Apply migrations only up to this version (tests of upgrades, tooling).
  // A database already past it is left alone, never downgraded.
  int migrate_to = kLatestSchemaVersion;
};

class PostgresStore final : public MetaStore {
 public:
  // Connects to `url` (postgresql://user@host:port/db?options=...), applies
  // the pending migrations (serialized across processes by an advisory lock)
  // and refuses a database whose schema is newer than this build or whose
  // migration history is damaged. Tables live in the connection's current
  // schema (the first existing entry of search_path).
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url,
                                                     const PostgresOptions& options = {});

  ~PostgresStore() override;

  Result<int> schema_version() override;
  int schema_version_at_open() const override;

  Status create_account(const Account& account) override;
  Result<std::optional<Account>> get_account(std::string_view id) override;
  Result<std::optional<Account>> get_account_by_token_hash(std::string_view token_hash) override;
  Result<std::vector<Account>> list_accounts() override;
  Result<bool> delete_account(std::string_view id) override;
  Result<bool> delete_account_by_token_hash(std::string_view token_hash) override;

  Status create_disk(const Disk& disk) override;
  Result<std::optional<Disk>> get_disk(std::string_view id) override;
  Result<std::optional<Disk>> find_disk_by_chap_user(std::string_view chap_user) override;
  Result<std::vector<Disk>> list_disks_by_account(std::string_view account_id) override;
  Result<std::vector<Disk>> list_disks() override;
  Result<bool> delete_disk(std::string_view id) override;

  Status create_operator_token(const OperatorToken& token) override;
  Result<std::optional<OperatorToken>> find_operator_token_by_hash(std::string_view token_hash) override;
  Result<std::vector<OperatorToken>> list_operator_tokens() override;
  Result<bool> revoke_operator_token(std::string_view id) override;
  Status put_catalog_image(const CatalogImage& image) override;
  Result<std::optional<CatalogImage>> get_catalog_image(std::string_view name) override;
  Result<std::vector<CatalogImage>> list_catalog_images() override;
  Result<bool> delete_catalog_image(std::string_view name) override;

  Status save_pr_state(const LuKey& lu, const PrState& state) override;
  Result<std::optional<PrState>> load_pr_state(const LuKey& lu) override;
  Result<bool> clear_pr_state(const LuKey& lu) override;

  // On its own connection, so the fleet keeper's calls never queue behind
  // (or hold up) the metadata calls of the data path.
  FleetStore* fleet() override;

 private:
  struct Impl;
  friend class PostgresFleetStore;
  PostgresStore(std::unique_ptr<Impl> impl, std::unique_ptr<PostgresFleetStore> fleet);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<PostgresFleetStore> fleet_;
};

}  // namespace scsipub::db
