#pragma once
// The operator API's catalog: imports run as background jobs, one thread
// each, at most `max_running` at a time (a conversion is CPU- and disk-heavy;
// the iSCSI loops must keep their cores). Finished jobs are kept for
// `kKeptJobs` so a client can read how its import ended.
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "control/catalog_admin.h"
#include "control/clock.h"
#include "db/meta_store.h"

namespace scsipub::control {

struct ImportProgress {
  std::string phase;
  uint64_t done = 0;
  uint64_t total = 0;
};
using ImportProgressFn = std::function<void(const ImportProgress&)>;
// Fetches, checks, converts and commits one image (row + file), or fails
// leaving nothing behind. Runs on the job's thread; returns when `cancel`
// turns true soon after.
using ImageImporter = std::function<Status(const ImageAddRequest&, const ImportProgressFn&,
                                           const std::atomic<bool>& cancel)>;

struct CatalogJobsConfig {
  std::filesystem::path images_dir;
  size_t max_running = 1;
};

class CatalogJobs final : public CatalogAdmin {
 public:
  static constexpr size_t kKeptJobs = 32;

  // `refresh` rescans the catalog (and lets the directory drop old bases);
  // `clock` dates the jobs and outlives them.
  CatalogJobs(CatalogJobsConfig config, Catalog& catalog, db::MetaStore& store, ImageImporter importer,
              std::function<void()> refresh, const Clock& clock);
  ~CatalogJobs() override;  // cancels running imports and waits for them

  std::vector<CatalogEntry> images() override { return catalog_.entries(); }
  ServiceResult<ImageJob> add_image(const ImageAddRequest& request) override;
  std::vector<ImageJob> jobs() override;
  std::optional<ImageJob> job(uint64_t id) override;
  ServiceResult<Ok> remove_image(std::string_view name) override;

 private:
  void run(uint64_t id, ImageAddRequest request);
  void update(uint64_t id, const std::function<void(ImageJob&)>& change);
  std::vector<std::thread> take_finished_threads();

  CatalogJobsConfig config_;
  Catalog& catalog_;
  db::MetaStore& store_;
  ImageImporter importer_;
  std::function<void()> refresh_;
  const Clock& clock_;
  std::atomic<bool> cancel_{false};

  std::mutex mu_;
  uint64_t next_id_ = 1;
  std::deque<ImageJob> jobs_;  // newest first
  size_t running_ = 0;
  std::vector<std::pair<uint64_t, std::thread>> threads_;  // by job id
  std::vector<uint64_t> finished_;  // jobs whose thread is about to return
};

}  // namespace scsipub::control
