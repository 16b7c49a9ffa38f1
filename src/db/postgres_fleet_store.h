#pragma once
// The PostgreSQL FleetStore: the node and lease tables of migrations 5-6, on a
// connection of its own (opened with the MetaStore's URL). Time is always
// the server's clock_timestamp(), read inside the statement that acts on it,
// so a lease's expiry is judged at the moment it is taken or renewed.
#include <memory>
#include <string>

#include "db/fleet_store.h"
#include "db/postgres_store.h"

namespace scsipub::db {

class PostgresFleetStore final : public FleetStore {
 public:
  // Connects to `url` (the MetaStore's, already migrated).
  static Result<std::unique_ptr<PostgresFleetStore>> open(const std::string& url);
  ~PostgresFleetStore() override;

  Result<HeartbeatResult> heartbeat(const NodeRecord& node, bool first, int64_t node_timeout_ms) override;
  Result<std::vector<NodeRecord>> list_nodes(int64_t node_timeout_ms) override;
  Result<bool> remove_node(std::string_view node_id, std::string_view instance) override;
  Result<int64_t> forget_nodes(int64_t older_than_ms) override;
  Result<LeaseList> list_leases() override;
  Result<std::optional<AcquiredLease>> acquire_lease(std::string_view disk_id, std::string_view node_id,
                                                     std::string_view owner_client,
                                                     int64_t lease_ms) override;
  Result<bool> renew_lease(std::string_view disk_id, std::string_view node_id, int64_t epoch,
                           int64_t lease_ms) override;
  Result<bool> release_lease(std::string_view disk_id, std::string_view node_id,
                             int64_t epoch) override;
  Status save_pr_state_fenced(const LuKey& lu, const PrState& state, std::string_view node_id,
                              int64_t epoch) override;

 private:
  explicit PostgresFleetStore(std::unique_ptr<PostgresStore::Impl> impl);
  std::unique_ptr<PostgresStore::Impl> impl_;
};

}  // namespace scsipub::db
