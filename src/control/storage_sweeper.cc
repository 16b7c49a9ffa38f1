#include "control/storage_sweeper.h"

#include <spdlog/spdlog.h>

namespace scsipub::control {

void StorageSweeper::start() {
  if (settings_.interval.count() == 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void StorageSweeper::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<OrphanSweep> StorageSweeper::sweep_once() {
  DiskIdsReader records = [this]() -> Result<std::set<std::string, std::less<>>> {
    auto disks = store_.list_disks();
    if (!disks.ok()) return fail(disks.error().message);
    std::set<std::string, std::less<>> ids;
    for (const auto& d : disks.value()) ids.insert(d.id);
    return ids;
  };
  auto result = storage_.sweep_orphans(records, settings_.grace);
  sweeps_.fetch_add(1);
  if (result.ok()) removed_.fetch_add(result.value().removed);
  return result;
}

void StorageSweeper::run() {
  for (;;) {
    auto r = sweep_once();
    if (!r.ok()) {
      spdlog::warn("orphan sweep ({} storage): {}", storage_.kind(), r.error().message);
    } else if (r->removed != 0 || r->failed != 0 || r->in_use != 0) {
      spdlog::info("orphan sweep ({} storage): {} removed, {} failed, {} kept open by a client, {} kept as young",
                   storage_.kind(), r->removed, r->failed, r->in_use, r->young);
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, settings_.interval, [this] { return stopping_; })) return;
  }
}

}  // namespace scsipub::control
