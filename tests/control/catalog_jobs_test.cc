// The operator API's catalog jobs (control/catalog_jobs.h) with a fake
// importer: job states, the running limit, name conflicts and removal rules.
#include "control/catalog_jobs.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "control/fixed_clock_random.h"
#include "db/sqlite_store.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::TempDir;
using scsipub::testing::write_file;

class CatalogJobsTest : public ::testing::Test {
 protected:
  scsipub::testing::FixedClock clock_;  // first: outlives the jobs

  void SetUp() override {
    std::filesystem::create_directories(tmp_ / "images");
    auto store = db::SqliteStore::open(tmp_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    catalog_ = std::make_unique<Catalog>(tmp_ / "images", store_.get());
    jobs_ = std::make_unique<CatalogJobs>(
        CatalogJobsConfig{tmp_ / "images", 1}, *catalog_, *store_,
        [this](const ImageAddRequest& r, const ImportProgressFn& progress, const std::atomic<bool>&) -> Status {
          progress({"download", 10, 100});
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return release_; });
          if (r.source.find("bad") != std::string::npos) return fail("source refused");
          write_file(tmp_ / "images" / (r.name + ".img"), std::vector<uint8_t>(512, 7));
          return ok_status();
        },
        [this] {
          ++refreshes_;
          ASSERT_TRUE(catalog_->rescan());
        },
        clock_);
  }
  void TearDown() override {
    release();
    jobs_.reset();
  }
  void release() {
    std::lock_guard lock(mu_);
    release_ = true;
    cv_.notify_all();
  }
  ImageJob wait_finished(uint64_t id) {
    for (int i = 0; i < 500; ++i) {
      auto j = jobs_->job(id);
      if (j && j->state != "running") return *j;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }
  ImageAddRequest request(const std::string& name, const std::string& source = "https://example.org/x.img") {
    ImageAddRequest r;
    r.name = name;
    r.source = source;
    return r;
  }

  TempDir tmp_;
  std::unique_ptr<db::SqliteStore> store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<CatalogJobs> jobs_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool release_ = false;
  std::atomic<int> refreshes_{0};
};

TEST_F(CatalogJobsTest, AJobRunsReportsProgressAndRefreshesTheCatalog) {
  auto job = jobs_->add_image(request("fresh"));
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->state, "running");
  // One import at a time: a second is refused while the first runs.
  auto second = jobs_->add_image(request("other"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ServiceErrc::limit_exceeded);
  for (int i = 0; i < 200 && jobs_->job(job->id)->phase != "download"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(jobs_->job(job->id)->done, 10u);
  const int64_t started_ms = 1767225600000;  // FixedClock's start, 2026-01-01
  EXPECT_EQ(job->started_at_ms, started_ms);
  clock_.advance(std::chrono::seconds(90));  // the import takes 90 s, exactly
  release();
  auto done = wait_finished(job->id);
  EXPECT_EQ(done.state, "done");
  EXPECT_EQ(done.started_at_ms, started_ms);
  EXPECT_EQ(done.finished_at_ms, started_ms + 90'000);
  EXPECT_EQ(refreshes_.load(), 1);
  ASSERT_TRUE(catalog_->find("fresh"));
  // It exists now: adding it again needs replace.
  auto again = jobs_->add_image(request("fresh"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ServiceErrc::conflict);
  auto replace = request("fresh");
  replace.replace = true;
  auto replaced = jobs_->add_image(replace);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(wait_finished(replaced->id).state, "done");
  EXPECT_EQ(jobs_->jobs().size(), 2u);
  EXPECT_EQ(jobs_->jobs().front().id, replaced->id);  // newest first
}

TEST_F(CatalogJobsTest, AFailedImportSaysWhyAndChangesNothing) {
  release();
  auto job = jobs_->add_image(request("broken", "https://example.org/bad.qcow2"));
  ASSERT_TRUE(job.ok());
  auto done = wait_finished(job->id);
  EXPECT_EQ(done.state, "failed");
  EXPECT_EQ(done.error, "source refused");
  EXPECT_EQ(refreshes_.load(), 0);
  EXPECT_FALSE(catalog_->find("broken"));
  EXPECT_FALSE(jobs_->add_image(request("Bad Name")).ok());
}

TEST_F(CatalogJobsTest, RemoveDeletesRowAndFileButNotUnderADisk) {
  write_file(tmp_ / "images" / "old.img", std::vector<uint8_t>(512, 1));
  ASSERT_TRUE(store_->put_catalog_image(db::CatalogImage{"old", "Old", "", 512, "", "raw", "x", "auto", {}}));
  ASSERT_TRUE(catalog_->rescan());
  auto removed = jobs_->remove_image("old");
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "images" / "old.img"));
  EXPECT_FALSE(store_->get_catalog_image("old")->has_value());
  EXPECT_FALSE(catalog_->find("old"));
  auto missing = jobs_->remove_image("old");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ServiceErrc::not_found);

  write_file(tmp_ / "images" / "base.img", std::vector<uint8_t>(512, 1));
  ASSERT_TRUE(store_->create_account(db::Account{"acct", "paid", "h", db::Timestamp{}}));
  db::Disk d;
  d.id = "d1";
  d.account_id = "acct";
  d.luns = {"base"};
  d.chap_user = "u";
  d.chap_secret = "secretsecret";
  ASSERT_TRUE(store_->create_disk(d));
  auto refused = jobs_->remove_image("base");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ServiceErrc::conflict);
  EXPECT_TRUE(std::filesystem::exists(tmp_ / "images" / "base.img"));
  auto replace = request("base");
  replace.replace = true;
  auto refused_replace = jobs_->add_image(replace);
  ASSERT_FALSE(refused_replace.ok());
  EXPECT_EQ(refused_replace.error().code, ServiceErrc::conflict);
}

}  // namespace
}  // namespace scsipub::control
