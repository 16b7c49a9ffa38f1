// RbdAllocation through RbdStore against a real single-host cluster
// (scripts/ceph-test-cluster.sh; SCSIPUB_TEST_CEPH_ENV=<dir>/env): allocated
// bytes as measured at open and kept since, and write_limit. Skipped when no
// cluster is configured.
#include "storage/rbd_allocation.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "storage/ceph_test_env.h"
#include "storage/rbd_images.h"
#include "storage/rbd_store.h"

namespace scsipub::storage {
namespace {

// 1 MiB objects (order 20) instead of the default 4 MiB: the same rules with
// less data to move, and object_size() must come from the image, not a constant.
constexpr uint64_t kObject = 1 << 20;

class FilledImage final : public ImageSource {
 public:
  explicit FilledImage(uint64_t size) : size_(size) {}
  uint64_t size_bytes() const override { return size_; }
  bool all_zeros() const override { return false; }
  int read_at(uint64_t offset, std::span<uint8_t> out) const override {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(((offset + i) % 13) + 1);
    return 0;
  }

 private:
  uint64_t size_;
};

class RbdAllocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = testing::ceph_test_config();
    if (!config) GTEST_SKIP() << "SCSIPUB_TEST_CEPH_ENV not set: no Ceph cluster for this run";
    auto c = RbdCluster::connect(*config);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cluster_ = c.value();
    std::random_device rd;
    name_ = fmt::format("t-alloc-{:08x}", rd());
  }
  void TearDown() override {
    if (cluster_) {
      EXPECT_TRUE(rbd_remove_image(*cluster_, name_).ok());
    }
  }
  // A blank image of `objects` 1 MiB objects.
  void create_blank(uint64_t objects) {
    rbd_image_options_t opts = nullptr;
    rbd_image_options_create(&opts);
    rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_ORDER, 20);
    int rc = rbd_create4(cluster_->ioctx(), name_.c_str(), objects * kObject, opts);
    rbd_image_options_destroy(opts);
    ASSERT_EQ(rc, 0);
  }
  std::unique_ptr<RbdStore> open(uint64_t write_limit) {
    auto s = RbdStore::open(cluster_, name_, RbdOpenOptions{.write_limit = write_limit});
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static IoStatus write_at(RbdStore& store, uint64_t offset, size_t bytes, uint8_t fill) {
    std::vector<uint8_t> buf(bytes, fill);
    return store.write(offset / kBlockSize, buf);
  }
  static std::vector<uint8_t> read_at(RbdStore& store, uint64_t offset, size_t bytes) {
    std::vector<uint8_t> buf(bytes, 0xee);
    EXPECT_EQ(store.read(offset / kBlockSize, buf), IoStatus::ok);
    return buf;
  }

  std::shared_ptr<RbdCluster> cluster_;
  std::string name_;
};

TEST_F(RbdAllocationTest, CountsWholeObjectsRefusesPastTheLimitAndAllowsRewrites) {
  create_blank(8);
  auto store = open(3 * kObject);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->allocation().object_size(), kObject);
  EXPECT_EQ(store->allocation().allocated_bytes(), 0u) << "a new image holds nothing";

  ASSERT_EQ(write_at(*store, 0, 512, 1), IoStatus::ok);
  EXPECT_EQ(store->allocation().allocated_bytes(), kObject) << "one block costs its whole object";
  ASSERT_EQ(write_at(*store, kObject + kObject / 2, 4096, 2), IoStatus::ok);
  ASSERT_EQ(write_at(*store, 4096, 8192, 3), IoStatus::ok) << "inside an allocated object";
  EXPECT_EQ(store->allocation().allocated_bytes(), 2 * kObject);
  ASSERT_EQ(write_at(*store, 2 * kObject, 512, 4), IoStatus::ok) << "exactly at the limit";
  EXPECT_EQ(store->allocation().allocated_bytes(), 3 * kObject);
  ASSERT_EQ(write_at(*store, 0, 512, 5), IoStatus::ok) << "a rewrite costs nothing";
  EXPECT_FALSE(store->allocation().space_exhausted());

  // Two blocks across objects 2 (allocated) and 3 (new): the new one passes the limit.
  EXPECT_EQ(write_at(*store, 3 * kObject - 512, 1024, 6), IoStatus::space_exhausted);
  EXPECT_EQ(read_at(*store, 3 * kObject - 512, 1024), std::vector<uint8_t>(1024, 0)) << "nothing was written";
  EXPECT_EQ(store->allocation().allocated_bytes(), 3 * kObject);
  EXPECT_TRUE(store->allocation().space_exhausted());
  EXPECT_EQ(write_at(*store, 0, 512, 7), IoStatus::space_exhausted) << "sticky, as on an overlay";
  EXPECT_EQ(read_at(*store, 0, 512), std::vector<uint8_t>(512, 5));
}

TEST_F(RbdAllocationTest, TheCountAndTheLimitSurviveAReopen) {
  create_blank(8);
  {
    auto store = open(3 * kObject);
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(write_at(*store, 0, 512, 1), IoStatus::ok);
    ASSERT_EQ(write_at(*store, 5 * kObject, 512, 1), IoStatus::ok);
  }
  {
    auto store = open(3 * kObject);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->allocation().allocated_bytes(), 2 * kObject) << "measured from the cluster";
    EXPECT_EQ(write_at(*store, 5 * kObject + 4096, 512, 2), IoStatus::ok) << "an allocated object";
    EXPECT_EQ(write_at(*store, 7 * kObject, 512, 2), IoStatus::ok);
    EXPECT_EQ(write_at(*store, 6 * kObject, 512, 2), IoStatus::space_exhausted);
  }
  {
    auto store = open(3 * kObject);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->allocation().allocated_bytes(), 3 * kObject);
    EXPECT_TRUE(store->allocation().space_exhausted()) << "the refusal is kept in the image's metadata";
    EXPECT_EQ(write_at(*store, 0, 512, 3), IoStatus::space_exhausted);
  }
  {
    auto store = open(0);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->allocation().allocated_bytes(), 3 * kObject) << "counted even without a limit";
  }
}

TEST_F(RbdAllocationTest, UnlimitedImageCountsAndNeverRefuses) {
  create_blank(4);
  auto store = open(0);
  ASSERT_NE(store, nullptr);
  for (uint64_t obj = 0; obj < 4; ++obj) ASSERT_EQ(write_at(*store, obj * kObject, 512, 1), IoStatus::ok);
  EXPECT_EQ(store->allocation().allocated_bytes(), 4 * kObject);
  EXPECT_FALSE(store->allocation().space_exhausted());
}

TEST_F(RbdAllocationTest, AClonesParentCostsNothing) {
  const std::string base = name_ + "-base";
  ASSERT_TRUE(rbd_ensure_base(*cluster_, base, FilledImage(3 * (4ull << 20))).ok());
  ASSERT_TRUE(rbd_clone_base(*cluster_, base, name_).ok());
  {
    auto store = open(4ull << 20);
    ASSERT_NE(store, nullptr);
    const uint64_t object = store->allocation().object_size();
    EXPECT_EQ(store->allocation().allocated_bytes(), 0u) << "all the data is the parent's";
    EXPECT_EQ(read_at(*store, 0, 512)[0], 1) << "reads the parent";
    ASSERT_EQ(write_at(*store, 512, 512, 0x55), IoStatus::ok);
    EXPECT_EQ(store->allocation().allocated_bytes(), object) << "copy-up: the clone now holds the object";
    EXPECT_EQ(write_at(*store, object, 512, 0x55), IoStatus::space_exhausted) << "limit = one 4 MiB object";
  }
  {
    auto store = open(0);
    ASSERT_NE(store, nullptr);
    const uint64_t object = store->allocation().object_size();
    EXPECT_EQ(store->allocation().allocated_bytes(), object);
    ASSERT_EQ(store->unmap(object / kBlockSize, object / kBlockSize), IoStatus::ok);
    ASSERT_EQ(store->unmap(2 * object / kBlockSize, 8), IoStatus::ok);
    EXPECT_EQ(store->allocation().allocated_bytes(), 3 * object) << "UNMAP over the parent's data costs the clone";
  }
  {
    auto store = open(0);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->allocation().allocated_bytes(), 3 * store->allocation().object_size())
        << "what the cluster says matches what was counted";
  }
  ASSERT_TRUE(rbd_remove_image(*cluster_, name_).ok());
  rbd_image_t image = nullptr;
  ASSERT_EQ(rbd_open(cluster_->ioctx(), base.c_str(), &image, nullptr), 0);
  rbd_snap_unprotect(image, std::string(kRbdBaseSnapshot).c_str());
  rbd_snap_remove(image, std::string(kRbdBaseSnapshot).c_str());
  rbd_close(image);
  EXPECT_TRUE(rbd_remove_image(*cluster_, base).ok());
}

TEST_F(RbdAllocationTest, UnmapKeepsTheCountUntilTheNextOpen) {
  create_blank(4);
  {
    auto store = open(2 * kObject);
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(write_at(*store, 0, 512, 1), IoStatus::ok);
    ASSERT_EQ(write_at(*store, kObject, 512, 1), IoStatus::ok);
    ASSERT_EQ(store->unmap(0, kObject / kBlockSize), IoStatus::ok);
    ASSERT_EQ(store->unmap(3 * kObject / kBlockSize, 8), IoStatus::ok) << "part of an object never written";
    EXPECT_EQ(store->allocation().allocated_bytes(), 2 * kObject) << "no churn past the limit while open";
  }
  auto store = open(2 * kObject);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->allocation().allocated_bytes(), kObject) << "the whole object unmapped went back to the pool";
  EXPECT_EQ(write_at(*store, 2 * kObject, 512, 1), IoStatus::ok);
  EXPECT_EQ(write_at(*store, 3 * kObject, 512, 1), IoStatus::space_exhausted);
}

TEST_F(RbdAllocationTest, ConcurrentWritersNeverPassTheLimit) {
  create_blank(16);
  auto store = open(4 * kObject);
  ASSERT_NE(store, nullptr);
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> writers;
  for (uint64_t obj = 0; obj < 8; ++obj) {
    writers.emplace_back([&, obj] {
      IoStatus s = write_at(*store, obj * kObject, 512, 9);
      if (s == IoStatus::ok) ++ok;
      if (s == IoStatus::space_exhausted) ++refused;
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(refused.load(), 4);
  EXPECT_EQ(store->allocation().allocated_bytes(), 4 * kObject);
}

}  // namespace
}  // namespace scsipub::storage
