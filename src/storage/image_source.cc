#include "storage/image_source.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace scsipub::storage {

Result<std::shared_ptr<const BaseImage>> BaseImage::open(const std::filesystem::path& path,
                                                         const FileOpener& opener) {
  std::error_code ec;
  // Checked before opening so a FIFO or device in the images dir cannot block
  // open() or masquerade as an image.
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail("base image " + path.string() + " is not a regular file");
  }
  auto file = opener ? opener(path, O_RDONLY, 0) : open_sync_file(path, O_RDONLY, 0);
  if (!file) return Unexpected<Error>{file.error()};
  uint64_t size = 0;
  if (int err = (*file)->size(size); err != 0) {
    return fail("stat " + path.string() + ": " + std::system_category().message(err));
  }
  return std::shared_ptr<const BaseImage>(std::make_shared<BaseImage>(std::move(*file), size));
}

int BaseImage::read_at(uint64_t offset, std::span<uint8_t> out) const { return read_clamped(offset, out, false); }

int BaseImage::read_at_now(uint64_t offset, std::span<uint8_t> out) const { return read_clamped(offset, out, true); }

int BaseImage::read_clamped(uint64_t offset, std::span<uint8_t> out, bool now) const {
  // Clamp to the file; the rest is the zero tail of the last partial block
  // (or a caller reading past the LU, which the overlay already refuses).
  uint64_t in_file = offset >= size_ ? 0 : std::min<uint64_t>(out.size(), size_ - offset);
  if (in_file > 0) {
    auto part = out.first(in_file);
    if (int err = now ? file_->read_at_now(offset, part) : file_->read_at(offset, part); err != 0) return err;
  }
  std::memset(out.data() + in_file, 0, out.size() - in_file);
  return 0;
}

int BlankImage::read_at(uint64_t, std::span<uint8_t> out) const {
  std::memset(out.data(), 0, out.size());
  return 0;
}

}  // namespace scsipub::storage
