#include "ingest/bounded_copy.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace scsipub::ingest {

Result<uint64_t> free_bytes(const std::filesystem::path& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return fail("statvfs " + dir.string() + ": " + std::strerror(errno));
  return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
}

Status check_free_space(const std::filesystem::path& dir, uint64_t need, uint64_t reserve) {
  auto available = free_bytes(dir);
  if (!available.ok()) return fail(available.error().message);
  if (*available < reserve || *available - reserve < need) {
    return fail("not enough free space in " + dir.string() + ": " + std::to_string(*available) + " bytes free, " +
                std::to_string(need) + " needed plus " + std::to_string(reserve) +
                " kept free ([catalog] reserve_free_bytes)");
  }
  return ok_status();
}

BoundedWriter::BoundedWriter(int fd, uint64_t start_offset, WriterLimits limits, const ProgressSink& progress,
                             std::string phase, uint64_t total)
    : fd_(fd),
      offset_(start_offset),
      limits_(std::move(limits)),
      progress_(progress),
      phase_(std::move(phase)),
      total_(total),
      next_space_check_(start_offset) {}

Status BoundedWriter::write(std::span<const uint8_t> bytes) {
  if (progress_.cancelled()) return fail("cancelled");
  if (bytes.size() > limits_.cap || offset_ > limits_.cap - bytes.size()) {
    cap_exceeded_ = true;
    return fail(limits_.cap_message);
  }
  if (offset_ >= next_space_check_) {
    if (auto s = check_free_space(limits_.space_dir, kSpaceCheckInterval, limits_.reserve); !s) return s;
    next_space_check_ = offset_ + kSpaceCheckInterval;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(std::string("write: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  offset_ += bytes.size();
  progress_(phase_, offset_, total_);
  return ok_status();
}

Result<uint64_t> copy_bounded(int in_fd, BoundedWriter& writer, const ProgressSink& progress) {
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t copied = 0;
  // Ends at EOF; the writer's cap bounds it for inputs that never end.
  for (;;) {
    if (progress.cancelled()) return fail("cancelled");
    const ssize_t got = ::read(in_fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(std::string("read: ") + std::strerror(errno));
    if (got == 0) return copied;
    if (auto s = writer.write(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(got))); !s) {
      return fail(s.error().message);
    }
    copied += static_cast<uint64_t>(got);
  }
}

}  // namespace scsipub::ingest
