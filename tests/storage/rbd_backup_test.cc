// Backups of RBD images (snapshot through the open store, export to a sparse
// file, import into a new image) against a real single-host cluster
// (scripts/ceph-test-cluster.sh; SCSIPUB_TEST_CEPH_ENV=<dir>/env). The
// snapshot-name checks run everywhere; the rest skips without a cluster.
#include "storage/rbd_backup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "storage/ceph_test_env.h"
#include "storage/rbd_images.h"
#include "storage/rbd_store.h"

namespace scsipub::storage {
namespace {

using namespace std::chrono_literals;

TEST(RbdBackupSnapshotName, IsTheUtcStampAndNothingElsePasses) {
  // 2026-12-07 23:16:00 UTC
  const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1796685360));
  EXPECT_EQ(rbd_backup_snapshot_name(when), "scsipub-backup-20261207T231600Z");
  EXPECT_TRUE(rbd_backup_snapshot_name_ok(rbd_backup_snapshot_name(when)));
  EXPECT_TRUE(rbd_backup_snapshot_name_ok(rbd_backup_snapshot_name(std::chrono::system_clock::now())));
  for (const char* bad : {"base", "", "scsipub-backup-", "scsipub-backup-20261207T231600",
                          "scsipub-backup-20261307T231600Z",
                          "scsipub-backup-20261200T231600Z", "scsipub-backup-20261207T241600Z",
                          "scsipub-backup-20261207T236000Z", "scsipub-backup-2026120XT231600Z",
                          "scsipub-backup-20261207T231600Z ", "scsipub-backup-20261207T231600Z/x",
                          "scsipub-backup-20261207 231600Z", "Scsipub-backup-20261207T231600Z", "x@y"}) {
    EXPECT_FALSE(rbd_backup_snapshot_name_ok(bad)) << bad;
  }
}

std::string unique(std::string_view what) {
  std::random_device rd;
  return fmt::format("t-{}-{:08x}", what, rd());
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> out(std::filesystem::file_size(path));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  EXPECT_EQ(in.gcount(), static_cast<std::streamsize>(out.size()));
  return out;
}

// A file in the temporary directory, removed with the object.
struct TempPath {
  std::filesystem::path path = std::filesystem::temp_directory_path() / unique("rbdbak");
  ~TempPath() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

void fill(std::vector<uint8_t>& image, uint64_t off, size_t len, uint8_t seed) {
  for (size_t i = 0; i < len; ++i) image[off + i] = static_cast<uint8_t>(seed + i * 31 + (i >> 9));
}

// Bytes in whole 4 KiB units that are not all zeros: what the export writes.
uint64_t data_units_bytes(const std::vector<uint8_t>& image) {
  uint64_t bytes = 0;
  for (size_t at = 0; at < image.size(); at += 4096) {
    const auto end = image.begin() + static_cast<ptrdiff_t>(std::min(image.size(), at + 4096));
    if (std::any_of(image.begin() + static_cast<ptrdiff_t>(at), end, [](uint8_t b) { return b != 0; })) {
      bytes += static_cast<uint64_t>(end - (image.begin() + static_cast<ptrdiff_t>(at)));
    }
  }
  return bytes;
}

class RbdBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::ceph_test_config();
    if (!config_) GTEST_SKIP() << "SCSIPUB_TEST_CEPH_ENV not set: no Ceph cluster for this run";
    auto c = RbdCluster::connect(*config_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cluster_ = c.value();
  }
  // Writes `image`'s bytes in [off, off + len) through the store.
  static void put(RbdStore& store, const std::vector<uint8_t>& image, uint64_t off, size_t len) {
    ASSERT_EQ(store.write(off / kBlockSize, std::span<const uint8_t>(image.data() + off, len)), IoStatus::ok);
  }
  static std::vector<uint8_t> read_all(RbdStore& store) {
    std::vector<uint8_t> out(store.block_count() * kBlockSize);
    for (uint64_t off = 0; off < out.size(); off += 4ull << 20) {
      const size_t n = std::min<size_t>(4u << 20, out.size() - off);
      EXPECT_EQ(store.read(off / kBlockSize, std::span<uint8_t>(out.data() + off, n)), IoStatus::ok);
    }
    return out;
  }
  std::optional<RbdClusterConfig> config_;
  std::shared_ptr<RbdCluster> cluster_;
};

TEST_F(RbdBackupTest, SnapshotOfTheOpenStoreExportsExactlyAndImportsBack) {
  constexpr uint64_t kSize = 64ull << 20;  // 16 objects of 4 MiB
  const std::string name = unique("bak");
  const std::string restored = unique("restored");
  ASSERT_TRUE(rbd_create_image(*cluster_, name, kSize).ok());
  auto opened = RbdStore::open(cluster_, name);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  RbdStore& store = *opened.value();

  // Extents in the first object, one across an object boundary, a hole of
  // several objects, and the very last block.
  std::vector<uint8_t> before(kSize, 0);
  fill(before, 0, 8192, 1);
  fill(before, (8ull << 20) - 4096, 12288, 2);
  fill(before, (20ull << 20) + 512, 1024, 3);  // not 4 KiB aligned
  fill(before, kSize - 512, 512, 4);
  for (auto [off, len] : {std::pair<uint64_t, size_t>{0, 8192}, {(8ull << 20) - 4096, 12288},
                          {(20ull << 20) + 512, 1024}, {kSize - 512, 512}}) {
    put(store, before, off, len);
  }

  const std::string snap = rbd_backup_snapshot_name(std::chrono::system_clock::now());
  auto paused = store.create_snapshot(snap);
  ASSERT_TRUE(paused.ok()) << paused.error().message;
  std::printf("snapshot of an idle open image: writes held %.3f ms\n",
              static_cast<double>(paused.value().count()) / 1e3);
  EXPECT_TRUE(store.holds_lock()) << "snapshotting keeps the lock";
  EXPECT_FALSE(store.create_snapshot(snap).ok()) << "the same name twice";

  // The store keeps serving: writes after the snapshot are not in it.
  std::vector<uint8_t> after = before;
  fill(after, 0, 4096, 9);
  fill(after, 40ull << 20, 65536, 10);  // in the hole
  put(store, after, 0, 4096);
  put(store, after, 40ull << 20, 65536);

  TempPath file;
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  auto exported = rbd_export_snapshot(*cluster_, name, snap, file.path,
                                      [&](uint64_t done, uint64_t total) { progress.emplace_back(done, total); });
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  EXPECT_EQ(exported.value().image_bytes, kSize);
  EXPECT_EQ(exported.value().data_bytes, data_units_bytes(before));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(kSize, kSize));
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));

  // Byte for byte the image as of the snapshot, and sparse.
  const std::vector<uint8_t> content = read_file(file.path);
  ASSERT_EQ(content.size(), kSize);
  EXPECT_TRUE(content == before) << "the export differs from the snapshot's content";
  struct stat st {};
  ASSERT_EQ(::stat(file.path.c_str(), &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1ull << 20) << "a 64 MiB image with ~24 KiB of data";
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The export neither took the lock nor disturbed the owner.
  EXPECT_TRUE(store.holds_lock());
  put(store, after, 40ull << 20, 4096);
  EXPECT_TRUE(read_all(store) == after);

  // Never overwrites a file.
  EXPECT_FALSE(rbd_export_snapshot(*cluster_, name, snap, file.path).ok());
  EXPECT_EQ(read_file(file.path).size(), kSize) << "the existing file is left alone";
  // Only backup snapshots.
  TempPath other;
  EXPECT_FALSE(rbd_export_snapshot(*cluster_, name, "base", other.path).ok());
  EXPECT_FALSE(std::filesystem::exists(other.path));

  // Import into a new image: reads what the snapshot held.
  auto imported = rbd_import_file(cluster_, restored, file.path);
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  EXPECT_EQ(imported.value().image_bytes, kSize);
  EXPECT_EQ(imported.value().data_bytes, data_units_bytes(before));
  {
    auto back = RbdStore::open(cluster_, restored);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back.value()->block_count(), kSize / kBlockSize);
    EXPECT_TRUE(read_all(*back.value()) == before) << "the restored image differs";
    // Only the data's objects were written (3 extents touching 4 objects, plus the last).
    EXPECT_LE(back.value()->allocation().allocated_bytes(), 5 * (4ull << 20));
  }

  // Refuses existing images: the restored one, and the open source.
  auto again = rbd_import_file(cluster_, restored, file.path);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("exists"), std::string::npos) << again.error().message;
  EXPECT_FALSE(rbd_import_file(cluster_, name, file.path).ok());
  EXPECT_TRUE(read_all(store) == after) << "a refused import wrote nothing";
  EXPECT_TRUE(rbd_image_exists(*cluster_, restored).value()) << "a refused import removed nothing";

  // The snapshot is removed through the store; other names are refused.
  auto snaps = store.snapshots();
  ASSERT_TRUE(snaps.ok()) << snaps.error().message;
  EXPECT_EQ(snaps.value(), std::vector<std::string>{snap});
  EXPECT_FALSE(store.remove_snapshot("base").ok());
  EXPECT_FALSE(store.create_snapshot("base").ok());
  ASSERT_TRUE(store.remove_snapshot(snap).ok());
  snaps = store.snapshots();
  ASSERT_TRUE(snaps.ok()) << snaps.error().message;
  EXPECT_TRUE(snaps.value().empty());
  EXPECT_FALSE(rbd_export_snapshot(*cluster_, name, snap, other.path).ok()) << "the snapshot is gone";
  EXPECT_FALSE(std::filesystem::exists(other.path)) << "a failed export leaves no file";

  opened = fail("closed");
  EXPECT_TRUE(rbd_remove_image(*cluster_, name).ok()) << "no snapshot left behind blocks the removal";
  EXPECT_TRUE(rbd_remove_image(*cluster_, restored).ok());
}

TEST_F(RbdBackupTest, ImportTakesOnlyTheDataOfAFileAndChecksIt) {
  const std::string name = unique("imp");
  TempPath file;
  // A file written in full (no holes), zeros but for one block: only that
  // block's object is written.
  std::vector<uint8_t> content(12ull << 20, 0);
  fill(content, 5ull << 20, 512, 7);
  {
    std::ofstream out(file.path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(content.data()), static_cast<std::streamsize>(content.size()));
  }
  auto imported = rbd_import_file(cluster_, name, file.path);
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  EXPECT_EQ(imported.value().data_bytes, 4096u);
  {
    auto store = RbdStore::open(cluster_, name);
    ASSERT_TRUE(store.ok()) << store.error().message;
    EXPECT_TRUE(read_all(*store.value()) == content);
    EXPECT_EQ(store.value()->allocation().allocated_bytes(), 4ull << 20);
  }
  EXPECT_TRUE(rbd_remove_image(*cluster_, name).ok());

  // Not whole blocks, empty, missing, not a file: refused, nothing created.
  std::filesystem::resize_file(file.path, (1ull << 20) + 100);
  const std::string other = unique("imp");
  EXPECT_FALSE(rbd_import_file(cluster_, other, file.path).ok());
  std::filesystem::resize_file(file.path, 0);
  EXPECT_FALSE(rbd_import_file(cluster_, other, file.path).ok());
  EXPECT_FALSE(rbd_import_file(cluster_, other, file.path.string() + ".missing").ok());
  EXPECT_FALSE(rbd_import_file(cluster_, other, std::filesystem::temp_directory_path()).ok());
  EXPECT_FALSE(rbd_image_exists(*cluster_, other).value());
  EXPECT_FALSE(rbd_import_file(cluster_, "bad/name", file.path).ok());
}

// A LUN made from a catalog image is a clone: its export holds the parent's
// data where the clone wrote nothing.
TEST_F(RbdBackupTest, ExportOfACloneIncludesItsParent) {
  constexpr uint64_t kSize = 16ull << 20;
  const std::string base = unique("base");
  const std::string lun = unique("lun");
  // The parent: data in objects 0 and 2.
  std::vector<uint8_t> expect(kSize, 0);
  fill(expect, 4096, 8192, 5);
  fill(expect, (8ull << 20) + 4096, 4096, 6);
  class BytesSource final : public ImageSource {
   public:
    explicit BytesSource(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
    uint64_t size_bytes() const override { return bytes_.size(); }
    bool all_zeros() const override { return false; }
    int read_at(uint64_t offset, std::span<uint8_t> out) const override {
      std::memcpy(out.data(), bytes_.data() + offset, out.size());
      return 0;
    }

   private:
    std::vector<uint8_t> bytes_;
  };
  ASSERT_TRUE(rbd_ensure_base(*cluster_, base, BytesSource(expect)).ok());
  ASSERT_TRUE(rbd_clone_base(*cluster_, base, lun).ok());
  TempPath file;
  {
    auto s = RbdStore::open(cluster_, lun);
    ASSERT_TRUE(s.ok()) << s.error().message;
    fill(expect, 12ull << 20, 4096, 8);  // the clone's own object
    fill(expect, 4096, 512, 9);           // over the parent's first object (a copy-up)
    put(*s.value(), expect, 12ull << 20, 4096);
    put(*s.value(), expect, 4096, 512);
    const std::string snap = rbd_backup_snapshot_name(std::chrono::system_clock::now());
    ASSERT_TRUE(s.value()->create_snapshot(snap).ok());
    auto exported = rbd_export_snapshot(*cluster_, lun, snap, file.path);
    ASSERT_TRUE(exported.ok()) << exported.error().message;
    EXPECT_TRUE(read_file(file.path) == expect) << "the clone's export lacks its parent's data";
    ASSERT_TRUE(s.value()->remove_snapshot(snap).ok());
  }
  // Restored as a clone of the same base, after the clone hid some of the
  // parent's data with zeros: reads the same, and holds only the objects
  // that differ from the base (the first, the third's zeros, the fourth).
  std::fill(expect.begin() + (8ll << 20) + 4096, expect.begin() + (8ll << 20) + 8192, uint8_t{0});
  {
    auto s = RbdStore::open(cluster_, lun);
    ASSERT_TRUE(s.ok());
    ASSERT_EQ(s.value()->write(((8ull << 20) + 4096) / kBlockSize, std::vector<uint8_t>(4096, 0)), IoStatus::ok);
    const std::string snap = rbd_backup_snapshot_name(std::chrono::system_clock::now());
    ASSERT_TRUE(s.value()->create_snapshot(snap).ok());
    std::filesystem::remove(file.path);
    ASSERT_TRUE(rbd_export_snapshot(*cluster_, lun, snap, file.path).ok());
    ASSERT_TRUE(s.value()->remove_snapshot(snap).ok());
  }
  const std::string restored = unique("lunback");
  auto imported = rbd_import_file(cluster_, restored, file.path, RbdImportOptions{.clone_of = base});
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  EXPECT_EQ(imported.value().data_bytes, 3 * 4096u) << "the 4 KiB units that differ from the base";
  {
    auto s = RbdStore::open(cluster_, restored);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_TRUE(read_all(*s.value()) == expect) << "the restored clone differs";
    EXPECT_EQ(s.value()->allocation().allocated_bytes(), 3 * (4ull << 20));
  }
  EXPECT_FALSE(
      rbd_import_file(cluster_, unique("lunback"), file.path, RbdImportOptions{.clone_of = "no-such-base"}).ok());
  std::filesystem::resize_file(file.path, kSize + 4096);
  const std::string wrong = unique("lunback");
  EXPECT_FALSE(rbd_import_file(cluster_, wrong, file.path, RbdImportOptions{.clone_of = base}).ok()) << "size differs";
  EXPECT_FALSE(rbd_image_exists(*cluster_, wrong).value());
  EXPECT_TRUE(rbd_remove_image(*cluster_, restored).ok());
  EXPECT_TRUE(rbd_remove_image(*cluster_, lun).ok());
  EXPECT_TRUE(rbd_remove_image_and_snapshot(*cluster_, base).ok());
}

// Under a steady stream of writes (each acknowledged before the next is
// sent, block n before block n + 1), the snapshot holds a prefix of them:
// every block acknowledged before create_snapshot was called, nothing
// written after it returned, and no gap. Measures how long writes stall.
TEST_F(RbdBackupTest, SnapshotUnderWritesIsAPrefixAndStallsBriefly) {
  constexpr uint64_t kBlocks = 32768;  // 16 MiB of 512-byte blocks written in order
  const std::string name = unique("load");
  ASSERT_TRUE(rbd_create_image(*cluster_, name, kBlocks * kBlockSize).ok());
  auto opened = RbdStore::open(cluster_, name);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  RbdStore& store = *opened.value();

  std::atomic<uint64_t> acked{0};
  std::atomic<bool> stop{false};
  std::atomic<int64_t> worst_write_us{0};
  std::thread writer([&] {
    std::vector<uint8_t> block(kBlockSize);
    for (uint64_t n = 0; n < kBlocks && !stop.load(); ++n) {
      std::fill(block.begin(), block.end(), static_cast<uint8_t>(1 + n % 255));
      const auto t0 = std::chrono::steady_clock::now();
      if (store.write(n, block) != IoStatus::ok) return;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
      worst_write_us.store(std::max(worst_write_us.load(), static_cast<int64_t>(us.count())));
      acked.store(n + 1);
      std::this_thread::sleep_for(1ms);  // a steady stream, not a race to the end
    }
  });
  // Stops the writer on every way out of the test (an ASSERT returns early).
  struct Join {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Join() {
      stop.store(true);
      if (thread.joinable()) thread.join();
    }
  } join{stop, writer};
  // Snapshot a few times while the writer runs, more than a second apart:
  // each snapshot is a map change the monitor commits, and one within a
  // second of the previous commit waits for the monitor's next proposal
  // (paxos_propose_interval, 1 s), which is the stall this would measure.
  std::vector<std::string> snaps;
  std::vector<uint64_t> acked_before, acked_after;
  std::vector<double> pause_ms;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(1100ms);
    const std::string snap = rbd_backup_snapshot_name(std::chrono::system_clock::now());
    acked_before.push_back(acked.load());
    auto paused = store.create_snapshot(snap);
    acked_after.push_back(acked.load());
    ASSERT_TRUE(paused.ok()) << paused.error().message;
    pause_ms.push_back(static_cast<double>(paused.value().count()) / 1e3);
    snaps.push_back(snap);
  }
  for (int spin = 0; spin < 5000 && acked.load() <= acked_after.back(); ++spin) std::this_thread::sleep_for(1ms);
  stop.store(true);
  writer.join();
  std::printf("snapshot under writes: writes held %.3f / %.3f / %.3f ms; slowest single write %.3f ms\n", pause_ms[0],
              pause_ms[1], pause_ms[2], static_cast<double>(worst_write_us.load()) / 1e3);
  ASSERT_GT(acked.load(), acked_after.back()) << "the writer kept going after the snapshots";

  auto reader = RbdCluster::connect(*config_);  // another client, as a separate backup process would be
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  for (size_t i = 0; i < snaps.size(); ++i) {
    TempPath file;
    auto exported = rbd_export_snapshot(*reader.value(), name, snaps[i], file.path);
    ASSERT_TRUE(exported.ok()) << exported.error().message;
    const std::vector<uint8_t> content = read_file(file.path);
    ASSERT_EQ(content.size(), kBlocks * kBlockSize);
    uint64_t prefix = 0;
    while (prefix < kBlocks && content[prefix * kBlockSize] == static_cast<uint8_t>(1 + prefix % 255)) ++prefix;
    for (uint64_t n = 0; n < kBlocks; ++n) {
      const uint8_t want = n < prefix ? static_cast<uint8_t>(1 + n % 255) : 0;
      ASSERT_TRUE(std::all_of(content.begin() + static_cast<ptrdiff_t>(n * kBlockSize),
                              content.begin() + static_cast<ptrdiff_t>((n + 1) * kBlockSize),
                              [&](uint8_t b) { return b == want; }))
          << "snapshot " << i << ": block " << n << " (prefix " << prefix << ")";
    }
    EXPECT_GE(prefix, acked_before[i]) << "an acknowledged write is missing from snapshot " << i;
    EXPECT_LE(prefix, acked_after[i] + 1) << "snapshot " << i << " holds writes made after it";
  }
  for (const auto& snap : snaps) EXPECT_TRUE(store.remove_snapshot(snap).ok());
  opened = fail("closed");
  EXPECT_TRUE(rbd_remove_image(*cluster_, name).ok());
}

}  // namespace
}  // namespace scsipub::storage
