#pragma once
// Writes a stream of unknown length into a file, refusing it at a byte cap
// (a decompression bomb, an endless download) and when the filesystem would
// drop below the free-space reserve. Used by the local copy, the
// decompressors' stdout and the HTTP download alike.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "common/result.h"
#include "ingest/progress.h"

namespace scsipub::ingest {

// Free bytes for an unprivileged writer on the filesystem holding `dir`.
Result<uint64_t> free_bytes(const std::filesystem::path& dir);
// Refuses when writing `need` more bytes would leave less than `reserve` free.
Status check_free_space(const std::filesystem::path& dir, uint64_t need, uint64_t reserve);

struct WriterLimits {
  uint64_t cap = 0;         // bytes; more is an error
  std::string cap_message;  // what the error says, e.g. "decompressed size is above ..."
  std::filesystem::path space_dir;  // checked every kSpaceCheckInterval bytes
  uint64_t reserve = 0;
};

class BoundedWriter {
 public:
  static constexpr uint64_t kSpaceCheckInterval = 64ull << 20;

  BoundedWriter(int fd, uint64_t start_offset, WriterLimits limits, const ProgressSink& progress, std::string phase,
                uint64_t total);
  Status write(std::span<const uint8_t> bytes);
  uint64_t offset() const { return offset_; }
  bool cap_exceeded() const { return cap_exceeded_; }

 private:
  int fd_;
  uint64_t offset_;
  WriterLimits limits_;
  const ProgressSink& progress_;
  std::string phase_;
  uint64_t total_;
  uint64_t next_space_check_;
  bool cap_exceeded_ = false;
};

// Copies all of `in_fd` (from its current offset) through a BoundedWriter.
Result<uint64_t> copy_bounded(int in_fd, BoundedWriter& writer, const ProgressSink& progress);

}  // namespace scsipub::ingest
