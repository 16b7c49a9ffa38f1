#pragma once
// The embedded MetaStore: one SQLite file, <data_dir>/scsipub.db, in WAL mode
// with synchronous=FULL (a commit is on disk before the call returns) and
// foreign keys enforced. One connection guarded by a mutex: metadata is a cold
// path, and a single writer keeps SQLite's locking trivial.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string_view>

#include "db/meta_store.h"
#include "db/migrations.h"

namespace scsipub::db {

struct SqliteOptions {
  // How long a statement waits for another process holding the write lock.
  std::chrono::milliseconds busy_timeout{5000};
  // Apply migrations only up to this version (tests of upgrades, tooling).
  // A database already past it is left alone, never downgraded.
  int migrate_to = kLatestSchemaVersion;
};

class SqliteStore final : public MetaStore {
 public:
  static constexpr std::string_view kFileName = "scsipub.db";

  // Opens or creates <data_dir>/scsipub.db; data_dir must exist. Applies the
  // pending migrations; refuses a database whose schema is newer than this
  // build or whose migration history is damaged.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& data_dir,
                                                   const SqliteOptions& options = {});
  // Same, with an explicit database file path.
  static Result<std::unique_ptr<SqliteStore>> open_file(const std::filesystem::path& file,
                                                        const SqliteOptions& options = {});

  ~SqliteStore() override;

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

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace scsipub::db
