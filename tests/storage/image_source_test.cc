#include "storage/image_source.h"

#include <gtest/gtest.h>

#include <vector>

#include "storage/read_only_store.h"
#include "storage/temp_dir.h"

namespace scsipub::storage {
namespace {

using scsipub::testing::TempDir;
using scsipub::testing::write_file;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + seed + 1);
  return v;
}

TEST(BlankImage, IsZerosOfTheRequestedSize) {
  BlankImage blank;
  EXPECT_EQ(blank.size_bytes(), 64u << 20);
  EXPECT_EQ(blank.block_count(), (64u << 20) / 512);
  EXPECT_TRUE(blank.all_zeros());
  std::vector<uint8_t> buf(1024, 0xaa);
  EXPECT_EQ(blank.read_at(4096, buf), 0);
  EXPECT_EQ(buf, std::vector<uint8_t>(1024, 0));
}

TEST(BaseImage, UnalignedSizeRoundsUpAndTailReadsZeros) {
  TempDir dir;
  auto content = pattern(1000, 3);  // 1 full block + 488 bytes
  write_file(dir / "base.img", content);
  auto base = BaseImage::open(dir / "base.img");
  ASSERT_TRUE(base) << base.error().message;
  EXPECT_EQ((*base)->size_bytes(), 1000u);
  EXPECT_EQ((*base)->block_count(), 2u);
  EXPECT_FALSE((*base)->all_zeros());

  std::vector<uint8_t> buf(1024, 0xaa);
  ASSERT_EQ((*base)->read_at(0, buf), 0);
  std::vector<uint8_t> expect = content;
  expect.resize(1024, 0);
  EXPECT_EQ(buf, expect);

  std::vector<uint8_t> tail(512, 0xaa);
  ASSERT_EQ((*base)->read_at(512, tail), 0);
  EXPECT_EQ(std::vector<uint8_t>(tail.begin(), tail.begin() + 488),
            std::vector<uint8_t>(content.begin() + 512, content.end()));
  EXPECT_EQ(std::vector<uint8_t>(tail.begin() + 488, tail.end()), std::vector<uint8_t>(24, 0));
}

TEST(BlankImage, IsInMemory) { EXPECT_TRUE(BlankImage(4096).in_memory()); }

TEST(BaseImage, OnTmpfsIsInMemory) {
  if (!std::filesystem::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  std::string tmpl = "/dev/shm/scsipub-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) GTEST_SKIP() << "cannot create a directory in /dev/shm";
  const std::filesystem::path dir = tmpl;
  write_file(dir / "base.img", std::vector<uint8_t>(4096, 7));
  auto base = BaseImage::open(dir / "base.img");
  ASSERT_TRUE(base) << base.error().message;
  EXPECT_TRUE((*base)->in_memory());
  std::filesystem::remove_all(dir);
}

// Just written, so in the page cache: read without waiting (preadv2
// RWF_NOWAIT on a disk file system, a plain pread on tmpfs).
TEST(BaseImage, ReadsCachedBytesWithoutWaiting) {
  TempDir dir;
  auto content = pattern(3 * 512 + 100, 9);
  write_file(dir / "base.img", content);
  auto base = BaseImage::open(dir / "base.img");
  ASSERT_TRUE(base) << base.error().message;
  std::vector<uint8_t> out(4 * 512, 0xEE);
  ASSERT_EQ((*base)->read_at_now(0, out), 0);
  content.resize(4 * 512, 0);  // the partial last block reads as zeros
  EXPECT_EQ(out, content);
}

TEST(BaseImage, RejectsMissingAndNonRegularFiles) {
  TempDir dir;
  EXPECT_FALSE(BaseImage::open(dir / "missing.img"));
  EXPECT_FALSE(BaseImage::open(dir.path()));
}

TEST(ImageStore, ServesTheBaseReadOnly) {
  TempDir dir;
  auto content = pattern(1536, 9);
  write_file(dir / "base.iso", content);
  auto base = BaseImage::open(dir / "base.iso");
  ASSERT_TRUE(base);
  ImageStore store(*base);
  EXPECT_EQ(store.block_count(), 3u);
  EXPECT_TRUE(store.read_only());
  std::vector<uint8_t> buf(1536);
  ASSERT_EQ(store.read(0, buf), IoStatus::ok);
  EXPECT_EQ(buf, content);
  EXPECT_EQ(store.read(2, std::span(buf).first(1024)), IoStatus::out_of_range);
  EXPECT_EQ(store.write(0, std::span<const uint8_t>(buf).first(512)), IoStatus::write_protected);
  EXPECT_EQ(store.unmap(0, 1), IoStatus::write_protected);
  EXPECT_EQ(store.flush(), IoStatus::ok);
  EXPECT_EQ(store.lba_status(1).mapped, true);
  EXPECT_EQ(store.lba_status(1).blocks, 2u);
}

}  // namespace
}  // namespace scsipub::storage
