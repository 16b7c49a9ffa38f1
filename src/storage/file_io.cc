#include "storage/file_io.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <string>

namespace scsipub::storage {

namespace {

// tmpfs and ramfs keep file pages in memory only: a read or write is a copy
// (tmpfs pages can go to swap, but so can any of the process's memory).
bool on_memory_file_system(int fd) {
  struct statfs fs{};
  if (::fstatfs(fd, &fs) != 0) return false;
  return fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
}

}  // namespace

SyncFileIo::SyncFileIo(UniqueFd fd) : fd_(std::move(fd)), in_memory_(on_memory_file_system(fd_.get())) {}

int SyncFileIo::read_at(uint64_t offset, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    // A file shorter than its owner believes is corruption, not zeros.
    if (n == 0) return EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

// preadv2(2) RWF_NOWAIT fails with EAGAIN rather than start I/O for a page
// that is not cached (and may return the cached prefix of the range). tmpfs does not take the flag (EOPNOTSUPP), but there the
// plain pread never waits on a device.
int SyncFileIo::read_at_now(uint64_t offset, std::span<uint8_t> out) const {
  if (in_memory_) return read_at(offset, out);
  size_t done = 0;
  for (int tries = 0; done < out.size() && tries < 4; ++tries) {
    iovec iov{out.data() + done, out.size() - done};
    ssize_t n = ::preadv2(fd_.get(), &iov, 1, static_cast<off_t>(offset + done), RWF_NOWAIT);
    if (n < 0) return errno == EINTR ? EAGAIN : (errno == EOPNOTSUPP ? EAGAIN : errno);
    if (n == 0) return EIO;  // end of file, as read_at says
    done += static_cast<size_t>(n);
  }
  return done == out.size() ? 0 : EAGAIN;
}

int SyncFileIo::write_at(uint64_t offset, std::span<const uint8_t> in) {
  size_t done = 0;
  while (done < in.size()) {
    ssize_t n = ::pwrite(fd_.get(), in.data() + done, in.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // no progress and no error: give up rather than spin
    done += static_cast<size_t>(n);
  }
  return 0;
}

int SyncFileIo::sync_data() {
  while (::fdatasync(fd_.get()) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int SyncFileIo::punch_hole(uint64_t offset, uint64_t length) {
  if (length == 0) return 0;
  while (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                     static_cast<off_t>(offset), static_cast<off_t>(length)) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int SyncFileIo::truncate(uint64_t size) {
  while (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int SyncFileIo::size(uint64_t& out) const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return errno;
  out = static_cast<uint64_t>(st.st_size);
  return 0;
}

Result<std::unique_ptr<FileIo>> open_sync_file(const std::filesystem::path& path, int flags,
                                               mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    auto failure = fail("open " + path.string() + ": " + std::system_category().message(err));
    errno = err;  // for callers that need the code, not just the text
    return failure;
  }
  return std::unique_ptr<FileIo>(std::make_unique<SyncFileIo>(UniqueFd(fd)));
}

int sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  UniqueFd owner(fd);
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

}  // namespace scsipub::storage
