#pragma once
// MetaStore: the durable metadata of a scsipub deployment — accounts, provisioned
// disks and persistent-reservation state. One interface, two backends: SQLite
// (single node, the default) and PostgreSQL (shared by several nodes).
//
// Contract for every backend:
// - Each mutating call is atomic: it either happens completely or not at all.
// - A call returns only after its change is durable (PR OUT relies on this:
//   the state is committed before the status goes out).
// - Lookups that may legitimately find nothing return std::optional; an Error
//   means the store itself failed or the request was invalid.
// - Implementations are safe to call from several threads (cold path).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scsipub::db {

// Whole seconds since the Unix epoch; stored as a 64-bit integer.
using Timestamp = std::chrono::sys_seconds;

struct Account {
  std::string id;
  std::string tier;        // tier name, e.g. "free", "pro"
  std::string token_hash;  // hex SHA-256 of the API token (see tokens.h); unique
  Timestamp created{};

  bool operator==(const Account&) const = default;
};

struct Disk {
  std::string id;                 // target name suffix: iqn...:disk.<id>
  std::string account_id;         // owner; an account with disks cannot be deleted
  std::vector<std::string> luns;  // luns[n] = image name backing LUN n; at least one
  std::string chap_user;          // unique across all disks
  std::string chap_secret;        // CHAP needs the plain secret to verify responses
  std::optional<std::string> mutual_secret;
  uint64_t write_limit = 0;  // overlay bytes per LUN; at most INT64_MAX
  Timestamp created{};
  std::optional<Timestamp> expires;

  bool operator==(const Disk&) const = default;
};

// A logical unit of a provisioned disk.
struct LuKey {
  std::string disk_id;
  uint32_t lun = 0;

  bool operator==(const LuKey&) const = default;
};

// SPC-4 5.9: one registration per I_T nexus. The initiator port is identified
// by its TransportID-style name (iSCSI InitiatorName + ",i,0x" + ISID), never
// by the CHAP user; the target port by its target port name (may be empty when
// the deployment has a single target port).
struct PrRegistration {
  std::string initiator_port;
  std::string target_port;
  uint64_t key = 0;
  bool aptpl = false;

  bool operator==(const PrRegistration&) const = default;
};

struct PrState {
  uint32_t generation = 0;  // SPC-4 PRGENERATION
  // Kept in the order given; (initiator_port, target_port) must be unique.
  std::vector<PrRegistration> registrations;
  // Index into `registrations` of the reservation holder; empty when the LU is
  // not reserved. For the all-registrants types the holder is the registration
  // that made the reservation (every registrant holds it anyway).
  std::optional<uint32_t> holder;
  uint8_t type = 0;   // SPC-4 table 174 TYPE code; meaningful only with a holder
  uint8_t scope = 0;  // SPC-4 SCOPE; 0 = LU_SCOPE

  bool operator==(const PrState&) const = default;
};

// An operator token: full access to the operator dashboard and
// its API. Like API tokens, only the SHA-256 of the token is kept; `prefix`
// (its first kOperatorTokenPrefixLength characters) lets the operator tell
// tokens apart in `scsipub admin token list` and revoke one by it.
struct OperatorToken {
  std::string id;
  std::string token_hash;  // hex SHA-256 of the token (see tokens.h); unique
  std::string prefix;
  std::string label;       // free text from the operator; may be empty
  Timestamp created{};

  bool operator==(const OperatorToken&) const = default;
};

inline constexpr std::size_t kOperatorTokenPrefixLength = 8;

class FleetStore;  // db/fleet_store.h

// What the catalog knows about an image beyond its file: kept in
// the MetaStore so every node of a fleet sees the same titles and checksums.
// The file in the images directory stays the truth about what exists; a row
// without a file is ignored, a file without a row is served with defaults.
struct CatalogImage {
  std::string name;            // catalog name (control::valid_image_name)
  std::string title;           // free text, may be empty
  std::string description;     // free text, may be empty
  uint64_t size_bytes = 0;     // of the stored file
  std::string sha256;          // hex, of the stored (converted) file
  std::string source_format;   // what it came as: "raw", "iso", "qcow2", "xz+raw", ...
  std::string source;          // the file path or URL as given, credentials stripped
  std::string presentation;    // "auto" (ISO -> dvd, else disk) | "disk" | "dvd"
  Timestamp added_at{};

  bool operator==(const CatalogImage&) const = default;
};

// Longest title / description / source the store accepts (bytes): they end
// up on the landing page and in every API answer.
inline constexpr std::size_t kMaxCatalogTitle = 200;
inline constexpr std::size_t kMaxCatalogDescription = 2000;
inline constexpr std::size_t kMaxCatalogSource = 2048;

class MetaStore {
 public:
  virtual ~MetaStore() = default;
  MetaStore() = default;
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  // Highest migration applied to the underlying database.
  virtual Result<int> schema_version() = 0;
  // The version the database had when this store opened it, before the
  // pending migrations ran (0: a new database; -1: not known, test doubles),
  // so the caller can say that an upgrade migrated it.
  virtual int schema_version_at_open() const { return -1; }

  // --- accounts -----------------------------------------------------------
  // Fails if the id or the token hash is already taken.
  virtual Status create_account(const Account& account) = 0;
  virtual Result<std::optional<Account>> get_account(std::string_view id) = 0;
  virtual Result<std::optional<Account>> get_account_by_token_hash(std::string_view token_hash) = 0;
  virtual Result<std::vector<Account>> list_accounts() = 0;  // ordered by id
  // Returns false if there was no such account; fails if it still owns disks.
  virtual Result<bool> delete_account(std::string_view id) = 0;
  virtual Result<bool> delete_account_by_token_hash(std::string_view token_hash) = 0;

  // --- provisioned disks ----------------------------------------------------
  // Fails if the id or the CHAP user is taken or the owner does not exist.
  virtual Status create_disk(const Disk& disk) = 0;
  virtual Result<std::optional<Disk>> get_disk(std::string_view id) = 0;
  virtual Result<std::optional<Disk>> find_disk_by_chap_user(std::string_view chap_user) = 0;
  virtual Result<std::vector<Disk>> list_disks_by_account(std::string_view account_id) = 0;
  virtual Result<std::vector<Disk>> list_disks() = 0;  // all disks, ordered by id
  // Removes the disk with its LUNs and their PR state. False if it did not exist.
  virtual Result<bool> delete_disk(std::string_view id) = 0;

  // --- operator tokens ------------------------------------------------------
  // Fails if the id or the token hash is already taken.
  virtual Status create_operator_token(const OperatorToken& token) = 0;
  virtual Result<std::optional<OperatorToken>> find_operator_token_by_hash(std::string_view token_hash) = 0;
  virtual Result<std::vector<OperatorToken>> list_operator_tokens() = 0;  // ordered by created, then id
  // Deletes the token; false if there was no such id.
  virtual Result<bool> revoke_operator_token(std::string_view id) = 0;

  // --- catalog metadata -------------------------------------------------------
  // Inserts or replaces the row of `image.name`.
  virtual Status put_catalog_image(const CatalogImage& image) = 0;
  virtual Result<std::optional<CatalogImage>> get_catalog_image(std::string_view name) = 0;
  virtual Result<std::vector<CatalogImage>> list_catalog_images() = 0;  // ordered by name
  // False if there was no row for `name`.
  virtual Result<bool> delete_catalog_image(std::string_view name) = 0;

  // --- persistent reservations ------------------------------------------------
  // Replaces the whole PR state of one LU atomically. The LU must exist (the
  // disk exists and lun < luns.size()).
  virtual Status save_pr_state(const LuKey& lu, const PrState& state) = 0;
  virtual Result<std::optional<PrState>> load_pr_state(const LuKey& lu) = 0;
  // Returns false if nothing was stored for the LU.
  virtual Result<bool> clear_pr_state(const LuKey& lu) = 0;

  // --- fleet ------------------------------------------------------------------
  // The node registry and disk leases of a fleet; nullptr when this backend
  // cannot carry one (SQLite: a fleet needs PostgreSQL). Owned by the store.
  virtual FleetStore* fleet() { return nullptr; }
};

// Checks the invariants every backend enforces before writing.
Status validate(const Account& account);
Status validate(const Disk& disk);
Status validate(const PrState& state);
Status validate(const OperatorToken& token);
Status validate(const CatalogImage& image);

}  // namespace scsipub::db
