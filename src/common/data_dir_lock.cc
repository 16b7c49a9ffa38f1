#include "common/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace scsipub {

Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& data_dir, const std::string& what) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  const auto path = data_dir / kFileName;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return fail("cannot open " + path.string() + ": " + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) return fail("cannot lock " + path.string() + ": " + std::strerror(err));
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return fail("data directory " + data_dir.string() + " is in use by another scsipub process" +
                (pid.empty() ? "" : " (pid " + pid + ")") + ": " + what);
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) {
    [[maybe_unused]] ssize_t w = ::pwrite(fd.get(), me.data(), me.size(), 0);
  }
  return DataDirLock(std::move(fd));
}

}  // namespace scsipub
