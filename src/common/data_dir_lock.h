#pragma once
// An exclusive flock(2) on DATA_DIR/scsipub.lock, held for a process's
// lifetime by `serve` and by an offline backup or restore: two servers never
// share a data directory, and an offline backup never copies files a server
// is writing. The kernel drops the lock when the process dies, so a crash
// leaves nothing to clean up. The file holds the holder's pid, for the error.
#include <filesystem>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace scsipub {

class DataDirLock {
 public:
  static constexpr const char* kFileName = "scsipub.lock";

  // Creates the directory when missing. Fails at once (never waits) when
  // another process holds the lock: "data directory D is in use by another
  // scsipub process (pid N) ...", with `what` saying what was refused.
  static Result<DataDirLock> acquire(const std::filesystem::path& data_dir, const std::string& what);

  DataDirLock(DataDirLock&&) = default;
  DataDirLock& operator=(DataDirLock&&) = default;

 private:
  explicit DataDirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace scsipub
