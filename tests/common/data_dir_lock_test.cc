#include "common/data_dir_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace scsipub {
namespace {

struct Dir {
  std::filesystem::path path;
  Dir() {
    std::string t = (std::filesystem::temp_directory_path() / "scsipub-lock-XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~Dir() { std::filesystem::remove_all(path); }
};

// flock belongs to the open file description: a second acquire in the same
// process conflicts too, which is what keeps two servers apart.
TEST(DataDirLock, SecondHolderRefusedWithPid) {
  Dir d;
  auto first = DataDirLock::acquire(d.path / "data", "test");
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = DataDirLock::acquire(d.path / "data", "stop it first");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use by another scsipub process (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.error().message;
  EXPECT_NE(second.error().message.find("stop it first"), std::string::npos);
}

TEST(DataDirLock, ReleasedWhenDropped) {
  Dir d;
  { auto first = DataDirLock::acquire(d.path, "x"); ASSERT_TRUE(first.ok()); }
  EXPECT_TRUE(DataDirLock::acquire(d.path, "x").ok());
}

// Another process sees the lock, and the kernel drops it when that process dies.
TEST(DataDirLock, OtherProcessAndDeath) {
  Dir d;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto l = DataDirLock::acquire(d.path, "x");
    char c = l.ok() ? 'y' : 'n';
    [[maybe_unused]] ssize_t w = ::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  EXPECT_EQ(c, 'y');
  EXPECT_FALSE(DataDirLock::acquire(d.path, "x").ok());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(DataDirLock::acquire(d.path, "x").ok());
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace
}  // namespace scsipub
