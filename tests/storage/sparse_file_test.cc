#include "storage/sparse_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "storage/temp_dir.h"

namespace scsipub::storage {
namespace {

using scsipub::testing::read_file;
using scsipub::testing::TempDir;

// A 64 MiB file with data at 0 and at 40 MiB, the rest a hole.
void make_sparse(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
  std::vector<uint8_t> block(8192);
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>(i * 7 + 1);
  ASSERT_EQ(::pwrite(fd, block.data(), block.size(), 0), static_cast<ssize_t>(block.size()));
  ASSERT_EQ(::pwrite(fd, block.data(), block.size(), 40 << 20), static_cast<ssize_t>(block.size()));
  ::close(fd);
}

uint64_t allocated(const std::filesystem::path& p) {
  struct stat st{};
  ::stat(p.c_str(), &st);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

std::string sha256sum(const std::filesystem::path& p) {
  std::string cmd = "sha256sum '" + p.string() + "'";
  FILE* f = ::popen(cmd.c_str(), "r");
  char buf[65] = {};
  if (f == nullptr || std::fread(buf, 1, 64, f) != 64) return "";
  ::pclose(f);
  return buf;
}

TEST(SparseFile, CopyKeepsContentAndHoles) {
  TempDir dir;
  make_sparse(dir / "src");
  auto c = copy_sparse(dir / "src", dir / "dst");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->size, uint64_t{64} << 20);
  EXPECT_EQ(read_file(dir / "src"), read_file(dir / "dst"));
  // Only the written extents take space (file systems allocate in blocks).
  EXPECT_LT(allocated(dir / "dst"), uint64_t{1} << 20);
  EXPECT_LE(c->data_bytes, uint64_t{8} << 20);
}

TEST(SparseFile, ZeroDataBecomesHoles) {
  TempDir dir;
  testing::write_file(dir / "zeros", std::vector<uint8_t>(4 << 20, 0));
  auto c = copy_sparse(dir / "zeros", dir / "dst");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(read_file(dir / "dst"), std::vector<uint8_t>(4 << 20, 0));
  EXPECT_LT(allocated(dir / "dst"), uint64_t{64} << 10);
}

TEST(SparseFile, RefusesExistingTargetAndSymlinkSource) {
  TempDir dir;
  make_sparse(dir / "src");
  testing::write_file(dir / "dst", {1});
  EXPECT_FALSE(copy_sparse(dir / "src", dir / "dst").ok());
  std::filesystem::create_symlink(dir / "src", dir / "link");
  EXPECT_FALSE(copy_sparse(dir / "link", dir / "dst2").ok());
  EXPECT_FALSE(sha256_file(dir / "link").ok());
}

TEST(SparseFile, Sha256MatchesSha256sum) {
  TempDir dir;
  make_sparse(dir / "src");
  auto d = sha256_file(dir / "src");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->size, uint64_t{64} << 20);
  const std::string want = sha256sum(dir / "src");
  ASSERT_EQ(want.size(), 64u);
  EXPECT_EQ(d->sha256, want);
  testing::write_file(dir / "empty", {});
  EXPECT_EQ(sha256_file(dir / "empty")->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace scsipub::storage
