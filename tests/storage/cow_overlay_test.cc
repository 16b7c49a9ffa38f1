#include "storage/cow_overlay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <random>
#include <vector>

#include "storage/temp_dir.h"

namespace scsipub::storage {
namespace {

using scsipub::testing::read_file;
using scsipub::testing::TempDir;
using scsipub::testing::write_file;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i * 131 + seed) % 251 + 1);
  return v;
}

// Counts calls and can fail them, wrapping the real synchronous FileIo.
struct IoCounters {
  std::atomic<int> reads{0}, writes{0}, syncs{0}, punches{0};
  int fail_writes_with = 0;
  bool files_in_memory = false;  // what the files say of themselves (tmpfs)
};

class CountingFileIo final : public FileIo {
 public:
  CountingFileIo(std::unique_ptr<FileIo> inner, IoCounters& c) : inner_(std::move(inner)), c_(c) {}
  int read_at(uint64_t o, std::span<uint8_t> out) const override {
    ++c_.reads;
    return inner_->read_at(o, out);
  }
  int write_at(uint64_t o, std::span<const uint8_t> in) override {
    ++c_.writes;
    return c_.fail_writes_with ? c_.fail_writes_with : inner_->write_at(o, in);
  }
  int sync_data() override {
    ++c_.syncs;
    return inner_->sync_data();
  }
  int punch_hole(uint64_t o, uint64_t l) override {
    ++c_.punches;
    return inner_->punch_hole(o, l);
  }
  int truncate(uint64_t s) override { return inner_->truncate(s); }
  int size(uint64_t& out) const override { return inner_->size(out); }
  bool in_memory() const override { return c_.files_in_memory; }

 private:
  std::unique_ptr<FileIo> inner_;
  IoCounters& c_;
};

FileOpener counting_opener(IoCounters& c) {
  return [&c](const std::filesystem::path& p, int flags,
              mode_t mode) -> Result<std::unique_ptr<FileIo>> {
    auto f = open_sync_file(p, flags, mode);
    if (!f) return f;
    return std::unique_ptr<FileIo>(std::make_unique<CountingFileIo>(std::move(*f), c));
  };
}

class OverlayTest : public ::testing::Test {
 protected:
  // An image base of 100 blocks minus 100 bytes: the last block is partial.
  std::shared_ptr<const ImageSource> make_image_base(size_t bytes = 100 * 512 - 100) {
    base_content_ = pattern(bytes, 17);
    write_file(dir_ / "base.img", base_content_);
    auto base = BaseImage::open(dir_ / "base.img");
    EXPECT_TRUE(base) << base.error().message;
    return *base;
  }
  // What the base reads as, padded to whole blocks.
  std::vector<uint8_t> padded_base() const {
    auto v = base_content_;
    v.resize((v.size() + 511) / 512 * 512, 0);
    return v;
  }
  std::unique_ptr<CowOverlay> create(std::shared_ptr<const ImageSource> base,
                                     OverlayOptions opts = {}, const char* name = "ov.img") {
    auto ov = CowOverlay::create(std::move(base), dir_ / name, std::move(opts));
    EXPECT_TRUE(ov) << ov.error().message;
    return ov ? std::move(*ov) : nullptr;
  }

  TempDir dir_;
  std::vector<uint8_t> base_content_;
};

std::vector<uint8_t> read_all(CowOverlay& ov) {
  std::vector<uint8_t> out(ov.block_count() * 512);
  EXPECT_EQ(ov.read(0, out), IoStatus::ok);
  return out;
}

// Random writes, unmaps and reads against a byte model, for either base.
void run_model(CowOverlay& ov, std::vector<uint8_t> model, bool zero_base, uint32_t seed) {
  const uint64_t blocks = ov.block_count();
  std::vector<bool> deallocated(blocks, zero_base);
  std::mt19937 rng(seed);
  for (int i = 0; i < 400; ++i) {
    uint64_t lba = rng() % blocks;
    uint64_t n = 1 + rng() % std::min<uint64_t>(blocks - lba, 17);
    switch (rng() % 4) {
      case 0:
      case 1: {
        auto data = pattern(n * 512, static_cast<uint8_t>(rng()));
        ASSERT_EQ(ov.write(lba, data), IoStatus::ok);
        std::copy(data.begin(), data.end(), model.begin() + static_cast<long>(lba * 512));
        for (uint64_t k = lba; k < lba + n; ++k) deallocated[k] = false;
        break;
      }
      case 2:
        ASSERT_EQ(ov.unmap(lba, n), IoStatus::ok);
        std::fill_n(model.begin() + static_cast<long>(lba * 512), n * 512, 0);
        for (uint64_t k = lba; k < lba + n; ++k) deallocated[k] = true;
        break;
      default: {
        std::vector<uint8_t> out(n * 512);
        ASSERT_EQ(ov.read(lba, out), IoStatus::ok);
        ASSERT_TRUE(std::equal(out.begin(), out.end(), model.begin() + static_cast<long>(lba * 512)))
            << "read mismatch at lba " << lba << " n " << n << " step " << i;
      }
    }
  }
  ASSERT_EQ(read_all(ov), model);
  // lba_status walks the whole LU in runs that agree with the model.
  for (uint64_t lba = 0; lba < blocks;) {
    LbaRun run = ov.lba_status(lba);
    ASSERT_GE(run.blocks, 1u);
    ASSERT_LE(lba + run.blocks, blocks);
    for (uint64_t k = lba; k < lba + run.blocks; ++k) {
      ASSERT_EQ(run.mapped, !deallocated[k]) << "lba " << k;
    }
    if (lba + run.blocks < blocks) {
      ASSERT_NE(ov.lba_status(lba + run.blocks).mapped, run.mapped);
    }
    lba += run.blocks;
  }
}

TEST_F(OverlayTest, MergesScatteredWritesOverImageBase) {
  auto ov = create(make_image_base(), {.delete_on_close = true});
  run_model(*ov, padded_base(), false, 1);
}

TEST_F(OverlayTest, MergesScatteredWritesOverBlankBase) {
  auto ov = create(std::make_shared<BlankImage>(300 * 512));
  run_model(*ov, std::vector<uint8_t>(300 * 512, 0), true, 2);
}

TEST_F(OverlayTest, ReadIssuesOnePreadPerRun) {
  IoCounters c;
  auto ov = create(std::make_shared<BlankImage>(1024 * 512), {.opener = counting_opener(c)});
  // Written runs: [10,20) and [30,40); a read of [0,50) has 5 runs, 2 in the overlay.
  ASSERT_EQ(ov->write(10, pattern(10 * 512, 1)), IoStatus::ok);
  ASSERT_EQ(ov->write(30, pattern(10 * 512, 2)), IoStatus::ok);
  c.reads = 0;
  std::vector<uint8_t> out(50 * 512);
  ASSERT_EQ(ov->read(0, out), IoStatus::ok);
  EXPECT_EQ(c.reads.load(), 2);
  // Adjacent writes merge into one run: one pread.
  ASSERT_EQ(ov->write(20, pattern(10 * 512, 3)), IoStatus::ok);
  c.reads = 0;
  ASSERT_EQ(ov->read(10, std::span(out).first(30 * 512)), IoStatus::ok);
  EXPECT_EQ(c.reads.load(), 1);
}

TEST_F(OverlayTest, SaysWhichReadsAndWritesMayWaitOnItsFile) {
  IoCounters c;
  auto ov = create(std::make_shared<BlankImage>(64 * 512), {.delete_on_close = true, .opener = counting_opener(c)});
  // No file yet: reads are zeros from memory; the first write creates the file.
  EXPECT_FALSE(ov->read_may_block(0, 64));
  EXPECT_TRUE(ov->write_may_block(0, 8));
  EXPECT_FALSE(ov->read_may_block(60, 8)) << "beyond the end: refused without I/O";
  EXPECT_FALSE(ov->write_may_block(60, 8)) << "beyond the end: refused without I/O";
  ASSERT_EQ(ov->write(8, pattern(8 * 512, 1)), IoStatus::ok);
  EXPECT_TRUE(ov->read_may_block(0, 16)) << "sectors 8..15 live in a file that is not in memory";
  EXPECT_TRUE(ov->read_may_block(15, 1));
  EXPECT_FALSE(ov->read_may_block(0, 8));
  EXPECT_FALSE(ov->read_may_block(16, 48));
  EXPECT_TRUE(ov->write_may_block(40, 8));
  ASSERT_EQ(ov->unmap(8, 4), IoStatus::ok);
  EXPECT_FALSE(ov->read_may_block(8, 4)) << "unmapped sectors read as zeros";
  c.files_in_memory = true;  // as on tmpfs
  EXPECT_FALSE(ov->read_may_block(0, 64));
  EXPECT_FALSE(ov->write_may_block(0, 8));
  EXPECT_EQ(c.reads.load(), 0) << "asking reads nothing";
}

TEST_F(OverlayTest, ReadsOfAnImageFileMayWaitWhereNothingIsWritten) {
  IoCounters c;
  c.files_in_memory = true;
  IoCounters device;  // the base image's file, not in memory
  make_image_base();
  auto base = BaseImage::open(dir_ / "base.img", counting_opener(device));
  ASSERT_TRUE(base) << base.error().message;
  auto ov = create(*base, {.opener = counting_opener(c)});
  ASSERT_EQ(ov->write(0, pattern(2 * 512, 3)), IoStatus::ok);
  EXPECT_FALSE(ov->read_may_block(0, 2)) << "the overlay's own sectors, in memory";
  EXPECT_TRUE(ov->read_may_block(0, 3)) << "sector 2 comes from the base image, a file on a device";
  ASSERT_EQ(ov->unmap(2, 1), IoStatus::ok);
  EXPECT_FALSE(ov->read_may_block(0, 3)) << "unmapped: zeros";
}

TEST_F(OverlayTest, UnalignedBaseTailReadsZerosAndIsWritable) {
  auto ov = create(make_image_base(1000));  // 2 blocks, 24 zero bytes at the end
  ASSERT_EQ(ov->block_count(), 2u);
  auto all = read_all(*ov);
  EXPECT_EQ(all, padded_base());
  auto last = pattern(512, 5);
  ASSERT_EQ(ov->write(1, last), IoStatus::ok);
  std::vector<uint8_t> out(512);
  ASSERT_EQ(ov->read(1, out), IoStatus::ok);
  EXPECT_EQ(out, last);
  EXPECT_EQ(ov->write(2, last), IoStatus::out_of_range);
  EXPECT_EQ(ov->read(1, std::span(all).first(1024)), IoStatus::out_of_range);
  EXPECT_EQ(ov->read(0, std::span(all).first(100)), IoStatus::out_of_range);  // not whole blocks
}

TEST_F(OverlayTest, UnmapPunchesHolesAndReportsDeallocatedOnBlankBase) {
  auto ov = create(std::make_shared<BlankImage>(4096 * 512));
  ASSERT_EQ(ov->write(0, pattern(4096 * 512, 7)), IoStatus::ok);
  struct stat before {};
  ASSERT_EQ(::stat((dir_ / "ov.img").c_str(), &before), 0);
  EXPECT_EQ(ov->lba_status(0).mapped, true);
  EXPECT_EQ(ov->lba_status(0).blocks, 4096u);

  ASSERT_EQ(ov->unmap(1024, 2048), IoStatus::ok);
  struct stat after {};
  ASSERT_EQ(::stat((dir_ / "ov.img").c_str(), &after), 0);
  EXPECT_LT(after.st_blocks, before.st_blocks);  // space came back
  EXPECT_EQ(after.st_size, before.st_size);      // KEEP_SIZE

  EXPECT_EQ(ov->lba_status(0).blocks, 1024u);
  EXPECT_EQ(ov->lba_status(1024).mapped, false);
  EXPECT_EQ(ov->lba_status(1024).blocks, 2048u);
  EXPECT_EQ(ov->lba_status(3072).mapped, true);
  EXPECT_EQ(ov->lba_status(4096).blocks, 0u);
  std::vector<uint8_t> out(2048 * 512, 0xaa);
  ASSERT_EQ(ov->read(1024, out), IoStatus::ok);
  EXPECT_EQ(out, std::vector<uint8_t>(out.size(), 0));
}

TEST_F(OverlayTest, UnmapOnImageBaseReadsZerosAndStaysDeallocated) {
  auto ov = create(make_image_base());
  EXPECT_EQ(ov->lba_status(0).mapped, true);  // base data is mapped
  EXPECT_EQ(ov->lba_status(0).blocks, 100u);
  ASSERT_EQ(ov->write(10, pattern(10 * 512, 1)), IoStatus::ok);
  ASSERT_EQ(ov->unmap(5, 10), IoStatus::ok);  // half base, half overlay
  std::vector<uint8_t> out(10 * 512, 0xaa);
  ASSERT_EQ(ov->read(5, out), IoStatus::ok);
  EXPECT_EQ(out, std::vector<uint8_t>(out.size(), 0));
  EXPECT_EQ(ov->lba_status(0).blocks, 5u);
  EXPECT_EQ(ov->lba_status(5).mapped, false);
  EXPECT_EQ(ov->lba_status(5).blocks, 10u);
  EXPECT_EQ(ov->lba_status(15).mapped, true);
  EXPECT_EQ(ov->lba_status(15).blocks, 85u);
  // Writing into the unmapped range maps it again.
  ASSERT_EQ(ov->write(7, pattern(512, 2)), IoStatus::ok);
  EXPECT_EQ(ov->lba_status(5).blocks, 2u);
  EXPECT_EQ(ov->lba_status(7).mapped, true);
}

TEST_F(OverlayTest, WriteLimitExactlyAtTheBoundary) {
  auto ov = create(make_image_base(), {.write_limit = 8 * 512});
  ASSERT_EQ(ov->write(0, pattern(6 * 512, 1)), IoStatus::ok);
  // Overwrites cost nothing; 2 old + 2 new blocks lands exactly on the limit.
  ASSERT_EQ(ov->write(4, pattern(4 * 512, 2)), IoStatus::ok);
  EXPECT_EQ(ov->bytes_written(), 8u * 512);
  ASSERT_EQ(ov->write(0, pattern(8 * 512, 3)), IoStatus::ok);
  EXPECT_FALSE(ov->space_exhausted());

  // One new block more is refused and nothing of it is written.
  EXPECT_EQ(ov->write(7, pattern(2 * 512, 4)), IoStatus::space_exhausted);
  std::vector<uint8_t> out(512);
  ASSERT_EQ(ov->read(8, out), IoStatus::ok);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), base_content_.begin() + 8 * 512));
  ASSERT_EQ(ov->read(7, out), IoStatus::ok);
  auto third = pattern(8 * 512, 3);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), third.begin() + 7 * 512));

  // Sticky: even a free overwrite is refused from now on; unmap still works
  // and does not give budget back.
  EXPECT_TRUE(ov->space_exhausted());
  EXPECT_EQ(ov->write(0, pattern(512, 5)), IoStatus::space_exhausted);
  EXPECT_EQ(ov->unmap(0, 8), IoStatus::ok);
  EXPECT_EQ(ov->write(0, pattern(512, 5)), IoStatus::space_exhausted);
}

TEST_F(OverlayTest, UnmapThenRewriteIsChargedAgainstTheLimit) {
  auto ov = create(make_image_base(), {.write_limit = 4 * 512});
  ASSERT_EQ(ov->unmap(0, 100), IoStatus::ok);  // free: unmap writes nothing
  ASSERT_EQ(ov->write(0, pattern(4 * 512, 1)), IoStatus::ok);
  EXPECT_EQ(ov->write(4, pattern(512, 1)), IoStatus::space_exhausted);
}

TEST_F(OverlayTest, ReopenAfterFlushRestoresEverything) {
  auto base = make_image_base();
  std::vector<uint8_t> expect;
  {
    auto ov = create(base, {.write_limit = 20 * 512});
    ASSERT_EQ(ov->write(3, pattern(5 * 512, 1)), IoStatus::ok);
    ASSERT_EQ(ov->write(70, pattern(30 * 512, 2)), IoStatus::space_exhausted);
    ASSERT_EQ(ov->unmap(50, 4), IoStatus::ok);
    ASSERT_EQ(ov->flush(), IoStatus::ok);
    expect = read_all(*ov);
  }
  auto ov = CowOverlay::open(base, dir_ / "ov.img", {.write_limit = 20 * 512});
  ASSERT_TRUE(ov) << ov.error().message;
  EXPECT_EQ(read_all(**ov), expect);
  EXPECT_EQ((*ov)->bytes_written(), 5u * 512);
  EXPECT_TRUE((*ov)->space_exhausted());
  EXPECT_EQ((*ov)->lba_status(50).mapped, false);
  EXPECT_EQ((*ov)->lba_status(50).blocks, 4u);
}

TEST_F(OverlayTest, DestructorStoresTheMapsOfADurableOverlay) {
  auto base = std::make_shared<BlankImage>(5000 * 512);  // last map word is partial
  auto data = pattern(512, 9);
  {
    auto ov = create(base);
    ASSERT_EQ(ov->write(4999, data), IoStatus::ok);
  }
  auto ov = CowOverlay::open_or_create(base, dir_ / "ov.img");
  ASSERT_TRUE(ov) << ov.error().message;
  std::vector<uint8_t> out(512);
  ASSERT_EQ((*ov)->read(4999, out), IoStatus::ok);
  EXPECT_EQ(out, data);
  EXPECT_EQ((*ov)->lba_status(0).blocks, 4999u);
}

TEST_F(OverlayTest, LargeMapOnlyRewritesDirtyChunks) {
  // 2^20 sectors: 16384 words per map = 32 chunks each.
  IoCounters c;
  auto base = std::make_shared<BlankImage>(uint64_t{1} << 29);
  auto ov = create(base, {.opener = counting_opener(c)});
  ASSERT_EQ(ov->write(0, pattern(512, 1)), IoStatus::ok);
  ASSERT_EQ(ov->write((uint64_t{1} << 20) - 1, pattern(512, 2)), IoStatus::ok);
  c.writes = 0;
  c.syncs = 0;
  ASSERT_EQ(ov->flush(), IoStatus::ok);
  EXPECT_EQ(c.syncs.load(), 2);   // overlay, then bitmap
  EXPECT_EQ(c.writes.load(), 5);  // 2 dirty chunks x 2 maps + header (bytes_written grew)
  c.writes = 0;
  c.syncs = 0;
  ASSERT_EQ(ov->flush(), IoStatus::ok);  // nothing new: no syscalls
  EXPECT_EQ(c.syncs.load(), 0);
  EXPECT_EQ(c.writes.load(), 0);
  ov.reset();
  auto reopened = CowOverlay::open(base, dir_ / "ov.img");
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_EQ((*reopened)->lba_status(0).blocks, 1u);
  EXPECT_EQ((*reopened)->lba_status(1).mapped, false);
  EXPECT_EQ((*reopened)->lba_status(1).blocks, (uint64_t{1} << 20) - 2);
}

TEST_F(OverlayTest, OpenValidatesFiles) {
  auto base = make_image_base();
  { auto ov = create(base); }
  // Different base size: overlay size mismatch.
  EXPECT_FALSE(CowOverlay::open(std::make_shared<BlankImage>(200 * 512), dir_ / "ov.img"));
  // Missing bitmap.
  auto bitmap = read_file(CowOverlay::bitmap_path(dir_ / "ov.img"));
  std::filesystem::remove(CowOverlay::bitmap_path(dir_ / "ov.img"));
  EXPECT_FALSE(CowOverlay::open(base, dir_ / "ov.img"));
  // Bitmap of the wrong size.
  auto shorter = bitmap;
  shorter.pop_back();
  write_file(CowOverlay::bitmap_path(dir_ / "ov.img"), shorter);
  EXPECT_FALSE(CowOverlay::open(base, dir_ / "ov.img"));
  // Bad magic.
  auto bad = bitmap;
  bad[0] = 'X';
  write_file(CowOverlay::bitmap_path(dir_ / "ov.img"), bad);
  EXPECT_FALSE(CowOverlay::open(base, dir_ / "ov.img"));
  // Intact again: opens.
  write_file(CowOverlay::bitmap_path(dir_ / "ov.img"), bitmap);
  EXPECT_TRUE(CowOverlay::open(base, dir_ / "ov.img"));
}

TEST_F(OverlayTest, CreateRefusesAnExistingOverlay) {
  auto base = make_image_base();
  auto first = create(base);
  EXPECT_FALSE(CowOverlay::create(base, dir_ / "ov.img"));
  EXPECT_FALSE(CowOverlay::create(nullptr, dir_ / "other.img"));
}

TEST_F(OverlayTest, BaseFileIsNeverModified) {
  auto base = make_image_base();
  const auto before = read_file(dir_ / "base.img");
  {
    auto ov = create(base);
    run_model(*ov, padded_base(), false, 3);
    ASSERT_EQ(ov->flush(), IoStatus::ok);
  }
  EXPECT_EQ(read_file(dir_ / "base.img"), before);
}

TEST_F(OverlayTest, DeleteOnCloseRemovesFilesAndKeepsNoBitmap) {
  IoCounters c;
  auto ov = create(std::make_shared<BlankImage>(), {.delete_on_close = true, .opener = counting_opener(c)});
  ASSERT_EQ(ov->write(0, pattern(512, 1)), IoStatus::ok);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "ov.img"));
  EXPECT_FALSE(std::filesystem::exists(CowOverlay::bitmap_path(dir_ / "ov.img")));
  ASSERT_EQ(ov->flush(), IoStatus::ok);
  EXPECT_EQ(c.syncs.load(), 0);  // nothing of an ephemeral overlay outlives a crash
  ov.reset();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ov.img"));
}

TEST_F(OverlayTest, AnEphemeralOverlayThatOnlyReadsNeverCreatesItsFile) {
  auto base = make_image_base();
  IoCounters c;
  int opens = 0;
  FileOpener opener = [&](const std::filesystem::path& p, int flags, mode_t mode) {
    ++opens;
    return counting_opener(c)(p, flags, mode);
  };
  auto ov = create(base, {.delete_on_close = true, .opener = opener});
  EXPECT_FALSE(ov->has_file());
  EXPECT_EQ(read_all(*ov), padded_base());
  // Unmap and GET LBA STATUS work on the maps alone.
  ASSERT_EQ(ov->unmap(10, 5), IoStatus::ok);
  std::vector<uint8_t> out(5 * 512, 0xee);
  ASSERT_EQ(ov->read(10, out), IoStatus::ok);
  EXPECT_EQ(out, std::vector<uint8_t>(5 * 512, 0));
  EXPECT_EQ(ov->lba_status(10).mapped, false);
  EXPECT_EQ(ov->lba_status(10).blocks, 5u);
  EXPECT_EQ(ov->lba_status(0).blocks, 10u);
  EXPECT_EQ(ov->flush(), IoStatus::ok);
  EXPECT_EQ(opens, 0);
  EXPECT_EQ(c.punches.load(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ov.img"));
  ov.reset();
  EXPECT_EQ(opens, 0);
}

TEST_F(OverlayTest, FirstWriteCreatesTheFileAndKeepsEarlierUnmaps) {
  auto base = make_image_base();
  auto ov = create(base, {.delete_on_close = true});
  ASSERT_EQ(ov->unmap(0, 4), IoStatus::ok);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ov.img"));
  const auto data = pattern(2 * 512, 5);
  ASSERT_EQ(ov->write(2, data), IoStatus::ok);
  EXPECT_TRUE(ov->has_file());
  EXPECT_EQ(std::filesystem::file_size(dir_ / "ov.img"), ov->block_count() * 512);
  auto expect = padded_base();
  std::fill_n(expect.begin(), 2 * 512, 0);
  std::copy(data.begin(), data.end(), expect.begin() + 2 * 512);
  EXPECT_EQ(read_all(*ov), expect);
  EXPECT_EQ(ov->bytes_written(), 2u * 512);
}

TEST_F(OverlayTest, AWriteRefusedByTheLimitCreatesNoFile) {
  auto ov = create(make_image_base(), {.write_limit = 512, .delete_on_close = true});
  EXPECT_EQ(ov->write(0, pattern(2 * 512, 1)), IoStatus::space_exhausted);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ov.img"));
}

TEST_F(OverlayTest, EphemeralModelMatchesOnEitherBase) {
  auto image = create(make_image_base(), {.delete_on_close = true}, "img.img");
  run_model(*image, padded_base(), false, 11);
  auto blank = create(std::make_shared<BlankImage>(300 * 512), {.delete_on_close = true}, "blank.img");
  run_model(*blank, std::vector<uint8_t>(300 * 512, 0), true, 12);
}

TEST_F(OverlayTest, FailingToCreateTheFileIsAnIoErrorReportedOnce) {
  auto base = make_image_base();
  std::vector<std::string> reports;
  OverlayOptions opts{.delete_on_close = true,
                      .on_create_error = [&](const std::string& m) { reports.push_back(m); }};
  auto ov = CowOverlay::create(base, dir_ / "missing-dir" / "ov.img", opts);
  ASSERT_TRUE(ov) << ov.error().message;  // no filesystem work yet
  EXPECT_EQ((*ov)->write(1, pattern(512, 1)), IoStatus::io_error);
  EXPECT_EQ((*ov)->last_errno(), ENOENT);
  EXPECT_EQ((*ov)->write(1, pattern(512, 1)), IoStatus::io_error);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("missing-dir"), std::string::npos) << reports[0];
  // Nothing was written: the sector still reads the base and nothing was charged.
  std::vector<uint8_t> out(512);
  ASSERT_EQ((*ov)->read(1, out), IoStatus::ok);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), base_content_.begin() + 512));
  EXPECT_EQ((*ov)->bytes_written(), 0u);
  // Creation is retried by the next write once the directory is there.
  std::filesystem::create_directory(dir_ / "missing-dir");
  EXPECT_EQ((*ov)->write(1, pattern(512, 1)), IoStatus::ok);
  ov->reset();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "missing-dir" / "ov.img"));
}

TEST_F(OverlayTest, AnEphemeralOverlayNeverTakesOverSomeoneElsesFile) {
  write_file(dir_ / "ov.img", pattern(512, 3));
  auto ov = create(make_image_base(), {.delete_on_close = true});
  EXPECT_EQ(ov->write(0, pattern(512, 1)), IoStatus::io_error);
  EXPECT_EQ(ov->last_errno(), EEXIST);
  ov.reset();
  EXPECT_EQ(read_file(dir_ / "ov.img"), pattern(512, 3));  // neither used nor removed
}

// A bitmap file as the dense in-memory map used to write it, word for word:
// data dirs from before the map was paged must still open.
TEST_F(OverlayTest, OpensABitmapFileWrittenWordForWord) {
  const uint64_t sectors = 3 * SectorBitmap::kPageBits + 100;  // 4 chunks, the last short
  auto base = std::make_shared<BlankImage>(sectors * 512);
  { auto ov = create(base); }  // the overlay file and a bitmap of the right size
  const uint64_t words = (sectors + 63) / 64;
  std::vector<uint64_t> data(words, 0), zeroed(words, 0);
  data[0] = 0b1011;                      // sectors 0, 1, 3
  data[2 * 512 + 7] = ~uint64_t{0};      // a whole word in chunk 2
  zeroed[0] = 0b1100;                    // sector 2 zeroed; sector 3 also data: data wins
  zeroed[words - 1] = ~uint64_t{0};      // the last word, stray bits past the end included
  std::vector<uint8_t> file(32 + 2 * words * 8, 0);
  const char magic[] = "SPBITMP1";
  std::copy(magic, magic + 8, file.begin());
  auto put = [&](size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) file[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put(8, sectors);
  put(16, 4096);
  for (uint64_t w = 0; w < words; ++w) {
    put(32 + w * 8, data[w]);
    put(32 + (words + w) * 8, zeroed[w]);
  }
  write_file(CowOverlay::bitmap_path(dir_ / "ov.img"), file);
  auto ov = CowOverlay::open(base, dir_ / "ov.img");
  ASSERT_TRUE(ov) << ov.error().message;
  EXPECT_EQ((*ov)->bytes_written(), 4096u);
  // Blank base: lba_status reports the data map.
  EXPECT_EQ((*ov)->lba_status(0).blocks, 2u);
  EXPECT_TRUE((*ov)->lba_status(0).mapped);
  EXPECT_FALSE((*ov)->lba_status(2).mapped);
  EXPECT_TRUE((*ov)->lba_status(3).mapped);
  const uint64_t word_lba = (2 * 512 + 7) * 64;
  EXPECT_EQ((*ov)->lba_status(4).blocks, word_lba - 4);
  EXPECT_EQ((*ov)->lba_status(word_lba).blocks, 64u);
  EXPECT_EQ((*ov)->lba_status(word_lba + 64).blocks, sectors - word_lba - 64);
  // Writes in the first and the last chunk: storing rewrites those two chunks
  // of both maps in the same layout, with the zeroed map's overlap with the
  // data map and its bits past the end dropped.
  ASSERT_EQ((*ov)->write(4, pattern(512, 1)), IoStatus::ok);
  ASSERT_EQ((*ov)->write(sectors - 1, pattern(512, 2)), IoStatus::ok);
  ASSERT_EQ((*ov)->flush(), IoStatus::ok);
  std::vector<uint64_t> want_data = data, want_zeroed = zeroed;
  want_data[0] |= uint64_t{1} << 4;
  want_data[words - 1] |= uint64_t{1} << ((sectors - 1) % 64);
  want_zeroed[words - 1] &= (uint64_t{1} << (sectors % 64)) - 1;
  for (uint64_t w = 0; w < words; ++w) want_zeroed[w] &= ~want_data[w];
  auto stored = read_file(CowOverlay::bitmap_path(dir_ / "ov.img"));
  ASSERT_EQ(stored.size(), file.size());
  auto get = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t{stored[at + i]} << (8 * i);
    return v;
  };
  EXPECT_EQ(get(16), 4096u + 2 * 512);
  for (uint64_t w = 0; w < words; ++w) {
    ASSERT_EQ(get(32 + w * 8), want_data[w]) << "data word " << w;
    ASSERT_EQ(get(32 + (words + w) * 8), want_zeroed[w]) << "zeroed word " << w;
  }
}

TEST_F(OverlayTest, RemoveFilesDeletesBoth) {
  { auto ov = create(make_image_base()); }
  EXPECT_TRUE(std::filesystem::exists(CowOverlay::bitmap_path(dir_ / "ov.img")));
  EXPECT_TRUE(CowOverlay::remove_files(dir_ / "ov.img"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "ov.img"));
  EXPECT_FALSE(std::filesystem::exists(CowOverlay::bitmap_path(dir_ / "ov.img")));
  EXPECT_TRUE(CowOverlay::remove_files(dir_ / "ov.img"));  // already gone is fine
}

TEST_F(OverlayTest, WriteErrorLeavesBitsClearAndReportsErrno) {
  IoCounters c;
  auto ov = create(make_image_base(), {.opener = counting_opener(c)});
  c.fail_writes_with = EIO;
  EXPECT_EQ(ov->write(2, pattern(512, 1)), IoStatus::io_error);
  EXPECT_EQ(ov->last_errno(), EIO);
  EXPECT_EQ(ov->bytes_written(), 0u);
  c.fail_writes_with = 0;
  std::vector<uint8_t> out(512);
  ASSERT_EQ(ov->read(2, out), IoStatus::ok);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), base_content_.begin() + 2 * 512));
}

TEST_F(OverlayTest, ZeroLengthAndRangeChecks) {
  auto ov = create(std::make_shared<BlankImage>(10 * 512));
  EXPECT_EQ(ov->write(10, {}), IoStatus::ok);
  EXPECT_EQ(ov->write(11, {}), IoStatus::out_of_range);
  EXPECT_EQ(ov->unmap(10, 0), IoStatus::ok);
  EXPECT_EQ(ov->unmap(5, 6), IoStatus::out_of_range);
  EXPECT_EQ(ov->unmap(UINT64_MAX, 2), IoStatus::out_of_range);
  EXPECT_TRUE(ov->thin_provisioned());
  EXPECT_FALSE(ov->read_only());
}

}  // namespace
}  // namespace scsipub::storage
