#include "control/catalog_jobs.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "control/catalog_edit.h"
#include "control/image_usage.h"
#include "control/target_names.h"

namespace scsipub::control {
namespace {

int64_t unix_ms(Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

CatalogJobs::CatalogJobs(CatalogJobsConfig config, Catalog& catalog, db::MetaStore& store, ImageImporter importer,
                         std::function<void()> refresh, const Clock& clock)
    : config_(std::move(config)),
      catalog_(catalog),
      store_(store),
      importer_(std::move(importer)),
      refresh_(std::move(refresh)),
      clock_(clock) {}

CatalogJobs::~CatalogJobs() {
  cancel_.store(true);
  for (auto& [id, t] : threads_) t.join();
}

ServiceResult<ImageJob> CatalogJobs::add_image(const ImageAddRequest& request) {
  if (!valid_image_name(request.name)) return service_error(ServiceErrc::bad_request, "invalid image name");
  if (!request.replace && catalog_.find(request.name)) {
    return service_error(ServiceErrc::conflict, fmt::format("image {} exists (set \"replace\": true)", request.name));
  }
  if (request.replace) {
    if (auto st = image_may_change(store_, request.name); !st) {
      return service_error(ServiceErrc::conflict, st.error().message);
    }
  }
  std::vector<std::thread> done = take_finished_threads();
  for (auto& t : done) t.join();  // returned or about to: never blocks for long
  std::lock_guard lock(mu_);
  if (running_ >= config_.max_running) {
    return service_error(ServiceErrc::limit_exceeded,
                         fmt::format("{} import(s) already running; try again when one has finished", running_));
  }
  for (const auto& j : jobs_) {
    if (j.state == "running" && j.name == request.name) {
      return service_error(ServiceErrc::conflict, fmt::format("image {} is being imported (job {})", j.name, j.id));
    }
  }
  ImageJob job{next_id_++, request.name, request.source, "running", "queued", 0, 0, "", unix_ms(clock_.wall_now()), 0};
  jobs_.push_front(job);
  while (jobs_.size() > kKeptJobs && jobs_.back().state != "running") jobs_.pop_back();
  ++running_;
  threads_.emplace_back(job.id, std::thread([this, id = job.id, request] { run(id, request); }));
  return job;
}

void CatalogJobs::run(uint64_t id, ImageAddRequest request) {
  spdlog::info("catalog: import job {} started: {} from {}", id, request.name, request.source);
  auto progress = [this, id](const ImportProgress& p) {
    update(id, [&](ImageJob& j) {
      j.phase = p.phase;
      j.done = p.done;
      j.total = p.total;
    });
  };
  Status st = importer_(request, progress, cancel_);
  if (st) refresh_();
  update(id, [&](ImageJob& j) {
    j.state = st ? "done" : "failed";
    j.phase.clear();
    if (!st) j.error = st.error().message;
    j.finished_at_ms = unix_ms(clock_.wall_now());
  });
  if (st) {
    spdlog::info("catalog: import job {} done: {} is {}", id, request.name, image_target(request.name));
  } else {
    spdlog::warn("catalog: import job {} failed: {}", id, st.error().message);
  }
  std::lock_guard lock(mu_);
  --running_;
  finished_.push_back(id);
}

std::vector<std::thread> CatalogJobs::take_finished_threads() {
  std::lock_guard lock(mu_);
  std::vector<std::thread> out;
  for (uint64_t id : finished_) {
    auto it = std::find_if(threads_.begin(), threads_.end(), [id](const auto& p) { return p.first == id; });
    if (it == threads_.end()) continue;
    out.push_back(std::move(it->second));
    threads_.erase(it);
  }
  finished_.clear();
  return out;
}

void CatalogJobs::update(uint64_t id, const std::function<void(ImageJob&)>& change) {
  std::lock_guard lock(mu_);
  for (auto& j : jobs_) {
    if (j.id == id) change(j);
  }
}

std::vector<ImageJob> CatalogJobs::jobs() {
  std::lock_guard lock(mu_);
  return {jobs_.begin(), jobs_.end()};
}

std::optional<ImageJob> CatalogJobs::job(uint64_t id) {
  std::lock_guard lock(mu_);
  for (const auto& j : jobs_) {
    if (j.id == id) return j;
  }
  return std::nullopt;
}

ServiceResult<Ok> CatalogJobs::remove_image(std::string_view name) {
  if (!valid_image_name(name)) return service_error(ServiceErrc::not_found, "no such image");
  if (auto st = image_may_change(store_, name); !st) return service_error(ServiceErrc::conflict, st.error().message);
  auto removed = remove_catalog_image(config_.images_dir, store_, name);
  if (!removed.ok()) {
    if (removed.error().message.starts_with("no image")) return service_error(ServiceErrc::not_found, "no such image");
    return service_error(ServiceErrc::internal, removed.error().message);
  }
  refresh_();
  return Ok{};
}

}  // namespace scsipub::control
