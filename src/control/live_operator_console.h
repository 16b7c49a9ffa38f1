#pragma once
// The OperatorConsole the server runs: live sessions from the registry with
// their counters (rates sampled here, about once a second however many
// viewers poll), overlay use from the target directory, refused logins from
// the login journal, limit hits, provisioned disks with their accounts, the
// catalog. Operator tokens are checked by the function given (the MetaStore
// keeps their hashes).
#include <chrono>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "common/limit_events.h"
#include "control/disk_service.h"
#include "control/fleet_keeper.h"
#include "control/operator_console.h"
#include "control/provisioned_disks.h"
#include "control/target_directory.h"
#include "db/meta_store.h"
#include "iscsi/login_journal.h"
#include "iscsi/session_registry.h"

namespace scsipub::control {

struct LiveConsoleSources {
  iscsi::SessionRegistry& registry;
  const TargetDirectory& directory;
  ProvisionedDisks& disks;
  db::MetaStore& store;
  DiskService& service;  // the catalog as the API lists it
  const iscsi::LoginJournal& journal;
  const LimitEvents& limits;
  std::function<bool(std::string_view token)> authenticate;
  const control::Clock& clock;  // snapshot times and rates
  const FleetKeeper* fleet = nullptr;  // a node of a fleet: its nodes and leases
};

class LiveOperatorConsole final : public OperatorConsole {
 public:
  using Clock = std::chrono::steady_clock;
  // Seconds an initiator has to answer an operator's logout request.
  static constexpr uint16_t kLogoutSeconds = 3;

  explicit LiveOperatorConsole(LiveConsoleSources sources) : src_(std::move(sources)) {}

  bool authenticate_operator(std::string_view token) override;
  OperatorSnapshot snapshot() override;
  ServiceResult<Ok> end_session(uint64_t session_id) override;
  ServiceResult<Ok> delete_disk(std::string_view disk_id) override;

  // The sessions alone, rates sampled at `now` (for tests and the feed).
  std::vector<LiveSession> sessions(Clock::time_point now);

 private:
  struct Sample {
    Clock::time_point at;
    iscsi::TrafficTotals totals;
    double read_iops = 0, write_iops = 0, read_bps = 0, write_bps = 0;
  };
  LiveSession describe(const iscsi::SessionRecord& r) const;
  void apply_rates(LiveSession& s, const iscsi::TrafficTotals& now_totals, Clock::time_point now);
  std::vector<OperatorDisk> disks();
  std::vector<RetainedDisk> retained() const;
  FleetView fleet() const;

  LiveConsoleSources src_;
  std::mutex rates_mu_;
  std::unordered_map<uint64_t, Sample> samples_;  // by session id
};

}  // namespace scsipub::control
