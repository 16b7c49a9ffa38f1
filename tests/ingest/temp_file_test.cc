#include "ingest/temp_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "test_files.h"

namespace scsipub::ingest {
namespace {

using testing::ScratchDir;

TEST(TempFile, HiddenNameRemovedUnlessCommitted) {
  ScratchDir dir;
  {
    auto t = TempFile::create(dir.path(), "deb");
    ASSERT_TRUE(t.ok()) << t.error().message;
    const std::string name = t->path().filename().string();
    EXPECT_TRUE(name.starts_with(".deb.ingest-")) << name;
    EXPECT_FALSE(name.ends_with(".img") || name.ends_with(".iso"));
    EXPECT_EQ(dir.names().size(), 1u);
  }
  EXPECT_TRUE(dir.names().empty());
}

TEST(TempFile, CommitRenamesAndRefusesToOverwrite) {
  ScratchDir dir;
  auto first = TempFile::create(dir.path(), "a");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(::write(first->fd(), "one", 3), 3);
  ASSERT_TRUE(first->commit(dir / "a.img", false).ok());
  EXPECT_TRUE(first->committed());

  auto second = TempFile::create(dir.path(), "a");
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(::write(second->fd(), "two", 3), 3);
  auto refused = second->commit(dir / "a.img", false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("already exists"), std::string::npos);
  EXPECT_EQ(testing::read_file(dir / "a.img"), (std::vector<uint8_t>{'o', 'n', 'e'}));
  ASSERT_TRUE(second->commit(dir / "a.img", true).ok());
  EXPECT_EQ(testing::read_file(dir / "a.img"), (std::vector<uint8_t>{'t', 'w', 'o'}));
  EXPECT_EQ(dir.names(), std::vector<std::string>{"a.img"});
}

TEST(TempFile, MoveAssignmentRemovesTheOverwrittenFile) {
  ScratchDir dir;
  auto a = TempFile::create(dir.path(), "x");
  auto b = TempFile::create(dir.path(), "x");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(dir.names().size(), 2u);
  *a = std::move(*b);
  EXPECT_EQ(dir.names().size(), 1u);
}

}  // namespace
}  // namespace scsipub::ingest
