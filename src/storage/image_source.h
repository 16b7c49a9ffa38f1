#pragma once
// Read-only bases that overlays sit on. One base is shared by every overlay
// (and every thread) that uses it, so reads are const and thread-safe.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "common/result.h"
#include "storage/block_store.h"
#include "storage/file_io.h"

namespace scsipub::storage {

class ImageSource {
 public:
  virtual ~ImageSource() = default;

  // Size of the content; need not be a multiple of kBlockSize.
  virtual uint64_t size_bytes() const = 0;
  // True when every byte reads as zero, so an overlay can report blocks it
  // does not hold as deallocated.
  virtual bool all_zeros() const = 0;
  // Fills out with the bytes at [offset, offset+out.size()). Bytes past
  // size_bytes() (the partial last block) read as zeros. 0 or an errno value.
  virtual int read_at(uint64_t offset, std::span<uint8_t> out) const = 0;
  // Reads never wait on a device (no file, or a file in memory).
  virtual bool in_memory() const { return false; }
  // read_at() without waiting on a device: EAGAIN when it would wait.
  virtual int read_at_now(uint64_t /*offset*/, std::span<uint8_t> /*out*/) const { return EAGAIN; }

  // The LU size: the content rounded up to whole blocks.
  uint64_t block_count() const { return (size_bytes() + kBlockSize - 1) / kBlockSize; }
};

// A raw image file opened read-only; never written through this object.
class BaseImage final : public ImageSource {
 public:
  // Opens path O_RDONLY; it must be a regular file. `opener` defaults to the
  // synchronous FileIo.
  static Result<std::shared_ptr<const BaseImage>> open(const std::filesystem::path& path,
                                                       const FileOpener& opener = {});

  uint64_t size_bytes() const override { return size_; }
  bool all_zeros() const override { return false; }
  int read_at(uint64_t offset, std::span<uint8_t> out) const override;
  bool in_memory() const override { return file_->in_memory(); }
  int read_at_now(uint64_t offset, std::span<uint8_t> out) const override;

  BaseImage(std::unique_ptr<FileIo> file, uint64_t size) : file_(std::move(file)), size_(size) {}

 private:
  int read_clamped(uint64_t offset, std::span<uint8_t> out, bool now) const;

  std::unique_ptr<FileIo> file_;
  uint64_t size_;
};

// N bytes of zeros with no file behind them: the scratch disk's base.
class BlankImage final : public ImageSource {
 public:
  static constexpr uint64_t kDefaultBytes = 64ull << 20;

  explicit BlankImage(uint64_t size_bytes = kDefaultBytes) : size_(size_bytes) {}

  uint64_t size_bytes() const override { return size_; }
  bool all_zeros() const override { return true; }
  int read_at(uint64_t offset, std::span<uint8_t> out) const override;
  bool in_memory() const override { return true; }
  int read_at_now(uint64_t offset, std::span<uint8_t> out) const override { return read_at(offset, out); }

 private:
  uint64_t size_;
};

}  // namespace scsipub::storage
