#pragma once
// The few file operations the overlay and base images need, behind an
// interface so an io_uring implementation can replace the synchronous one if a
// benchmark says it should, and so tests can inject I/O errors.
//
// Every call returns 0 on success or a positive errno value; nothing here logs,
// the caller decides what an error means and reports it.
#include <sys/types.h>

#include <cerrno>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>

#include "common/result.h"
#include "common/unique_fd.h"

namespace scsipub::storage {

class FileIo {
 public:
  virtual ~FileIo() = default;

  // Reads exactly out.size() bytes at offset. Reaching end-of-file before that
  // is EIO: callers that expect a short file clamp the range themselves.
  // Must be safe to call from several threads at once (pread is).
  virtual int read_at(uint64_t offset, std::span<uint8_t> out) const = 0;
  // Writes exactly in.size() bytes at offset (retrying short writes).
  virtual int write_at(uint64_t offset, std::span<const uint8_t> in) = 0;
  virtual int sync_data() = 0;
  // Deallocates [offset, offset+length) keeping the file size; the range then
  // reads as zeros. EOPNOTSUPP when the filesystem cannot punch holes.
  virtual int punch_hole(uint64_t offset, uint64_t length) = 0;
  virtual int truncate(uint64_t size) = 0;
  virtual int size(uint64_t& out) const = 0;
  // The file lives in memory (tmpfs, ramfs): reads and writes copy to and
  // from pages without waiting for a device.
  virtual bool in_memory() const { return false; }
  // read_at() if the bytes are at hand without waiting on a device (page
  // cache); EAGAIN if they are not or the file system cannot tell.
  virtual int read_at_now(uint64_t /*offset*/, std::span<uint8_t> /*out*/) const { return EAGAIN; }
};

// pread/pwrite/fdatasync/fallocate on one descriptor.
class SyncFileIo final : public FileIo {
 public:
  explicit SyncFileIo(UniqueFd fd);

  int read_at(uint64_t offset, std::span<uint8_t> out) const override;
  int write_at(uint64_t offset, std::span<const uint8_t> in) override;
  int sync_data() override;
  int punch_hole(uint64_t offset, uint64_t length) override;
  int truncate(uint64_t size) override;
  int size(uint64_t& out) const override;
  bool in_memory() const override { return in_memory_; }
  int read_at_now(uint64_t offset, std::span<uint8_t> out) const override;

 private:
  UniqueFd fd_;
  bool in_memory_ = false;  // fstatfs at open: tmpfs or ramfs
};

// Opens a file for a FileIo; `flags` and `mode` are open(2)'s (O_CLOEXEC is
// always added). The error message names the path and the errno text, and on
// failure errno still holds open(2)'s error.
using FileOpener = std::function<Result<std::unique_ptr<FileIo>>(
    const std::filesystem::path& path, int flags, mode_t mode)>;

Result<std::unique_ptr<FileIo>> open_sync_file(const std::filesystem::path& path, int flags,
                                               mode_t mode);

// fsync on a directory, so a file created or renamed in it survives power loss.
int sync_directory(const std::filesystem::path& dir);

}  // namespace scsipub::storage
