#include "storage/cow_overlay.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace scsipub::storage {
namespace {

Unexpected<Error> io_fail(const char* what, const std::filesystem::path& path, int err) {
  return fail(std::string(what) + " " + path.string() + ": " + std::system_category().message(err));
}

Result<std::unique_ptr<FileIo>> open_file(const OverlayOptions& options,
                                          const std::filesystem::path& path, int flags) {
  return options.opener ? options.opener(path, flags, 0600) : open_sync_file(path, flags, 0600);
}

}  // namespace

std::filesystem::path CowOverlay::bitmap_path(const std::filesystem::path& overlay_path) {
  auto p = overlay_path;
  p += ".bitmap";
  return p;
}

Status CowOverlay::remove_files(const std::filesystem::path& path) {
  std::string problems;
  for (const auto& p : {path, bitmap_path(path)}) {
    std::error_code ec;
    std::filesystem::remove(p, ec);
    if (ec) problems += (problems.empty() ? "" : "; ") + ("remove " + p.string() + ": " + ec.message());
  }
  if (!problems.empty()) return fail(problems);
  return ok_status();
}

CowOverlay::CowOverlay(std::shared_ptr<const ImageSource> base, std::filesystem::path path,
                       OverlayOptions options, std::unique_ptr<FileIo> file)
    : base_(std::move(base)),
      path_(std::move(path)),
      options_(std::move(options)),
      file_(std::move(file)),
      blocks_(base_->block_count()),
      maps_{SectorBitmap(blocks_), SectorBitmap(blocks_)} {
  header_.sectors = blocks_;
}

Result<std::unique_ptr<CowOverlay>> CowOverlay::create(std::shared_ptr<const ImageSource> base,
                                                       std::filesystem::path path,
                                                       OverlayOptions options) {
  if (!base) return fail("overlay " + path.string() + ": no base image");
  if (options.delete_on_close) {
    // The file comes with the first write (create_file), so logging in to a
    // free disk touches no filesystem.
    return std::unique_ptr<CowOverlay>(new CowOverlay(std::move(base), std::move(path), std::move(options), nullptr));
  }
  // O_EXCL: two sessions must never share an overlay by accident.
  auto file = open_file(options, path, O_RDWR | O_CREAT | O_EXCL);
  if (!file) return Unexpected<Error>{file.error()};
  const uint64_t blocks = base->block_count();
  auto cleanup_fail = [&](Unexpected<Error> e) {
    (void)remove_files(path);
    return e;
  };
  // Sparse: the overlay takes disk space only where written.
  if (int err = (*file)->truncate(blocks * kBlockSize); err != 0) {
    return cleanup_fail(io_fail("truncate", path, err));
  }
  auto bf = BitmapFile::create(bitmap_path(path), BitmapHeader{blocks, 0, false}, options.opener);
  if (!bf) return cleanup_fail(Unexpected<Error>{bf.error()});
  // Make both names durable, or a crash could leave a bitmap without its overlay.
  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (int err = sync_directory(dir); err != 0) return cleanup_fail(io_fail("fsync", dir, err));
  std::unique_ptr<CowOverlay> overlay(
      new CowOverlay(std::move(base), std::move(path), std::move(options), std::move(*file)));
  overlay->bitmap_file_ = std::make_unique<BitmapFile>(std::move(*bf));
  return overlay;
}

int CowOverlay::create_file() {
  // errno is what the opener's open(2) left (open_sync_file keeps it); an
  // injected opener that does not set it reads as EIO.
  errno = 0;
  auto file = open_file(options_, path_, O_RDWR | O_CREAT | O_EXCL);
  int err = 0;
  std::string message;
  if (!file) {
    err = errno != 0 ? errno : EIO;
    message = file.error().message;
  } else if ((err = (*file)->truncate(blocks_ * kBlockSize)) != 0) {
    // Sparse: the overlay takes disk space only where written.
    message = io_fail("truncate", path_, err).error.message;
    file.value().reset();
    (void)remove_files(path_);
  } else {
    file_ = std::move(*file);
    return 0;
  }
  if (!create_error_reported_ && options_.on_create_error) options_.on_create_error(message);
  create_error_reported_ = true;
  return err;
}

Result<std::unique_ptr<CowOverlay>> CowOverlay::open(std::shared_ptr<const ImageSource> base,
                                                     std::filesystem::path path,
                                                     OverlayOptions options) {
  if (!base) return fail("overlay " + path.string() + ": no base image");
  auto file = open_file(options, path, O_RDWR);
  if (!file) return Unexpected<Error>{file.error()};
  const uint64_t blocks = base->block_count();
  uint64_t size = 0;
  if (int err = (*file)->size(size); err != 0) return io_fail("stat", path, err);
  if (size != blocks * kBlockSize) {
    return fail("overlay " + path.string() + " has " + std::to_string(size) +
                " bytes, base needs " + std::to_string(blocks * kBlockSize));
  }
  OverlayMaps maps;
  BitmapHeader header;
  auto bf = BitmapFile::open(bitmap_path(path), blocks, options.opener, maps, header);
  if (!bf) return Unexpected<Error>{bf.error()};
  std::unique_ptr<CowOverlay> overlay(
      new CowOverlay(std::move(base), std::move(path), std::move(options), std::move(*file)));
  overlay->bitmap_file_ = std::make_unique<BitmapFile>(std::move(*bf));
  overlay->maps_ = std::move(maps);
  overlay->header_ = header;
  overlay->bytes_written_shared_.store(header.bytes_written, std::memory_order_relaxed);
  return overlay;
}

Result<std::unique_ptr<CowOverlay>> CowOverlay::open_or_create(
    std::shared_ptr<const ImageSource> base, std::filesystem::path path, OverlayOptions options) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return open(std::move(base), std::move(path), std::move(options));
  return create(std::move(base), std::move(path), std::move(options));
}

CowOverlay::~CowOverlay() {
  if (options_.delete_on_close) {
    // An overlay that was never written has no file to remove (and `path_`
    // may belong to someone else if creating it failed).
    if (file_) {
      file_.reset();
      (void)remove_files(path_);
    }
    return;
  }
  // A clean shutdown must not lose acknowledged writes whose bits were never
  // stored; errors here have no one left to report to.
  (void)flush();
}

IoStatus CowOverlay::error(int err) {
  last_errno_.store(err, std::memory_order_relaxed);
  return IoStatus::io_error;
}

uint64_t CowOverlay::run_length(uint64_t lba, uint64_t max_len) const {
  return std::min(maps_.data.run_length(lba, max_len), maps_.zeroed.run_length(lba, max_len));
}

IoStatus CowOverlay::read(uint64_t lba, std::span<uint8_t> out) {
  if (int err = read_runs(lba, out, false); err != 0) return err < 0 ? IoStatus::out_of_range : error(err);
  return IoStatus::ok;
}

bool CowOverlay::read_now(uint64_t lba, std::span<uint8_t> out) { return read_runs(lba, out, true) == 0; }

// One pread (or memset) per run of sectors that live in the same place.
// 0, -1 for a range outside the LU, or an errno value (EAGAIN: `now` and a
// file would have waited).
int CowOverlay::read_runs(uint64_t lba, std::span<uint8_t> out, bool now) const {
  if (out.size() % kBlockSize != 0) return -1;
  const uint64_t blocks = out.size() / kBlockSize;
  if (!in_range(lba, blocks)) return -1;
  uint64_t done = 0;
  while (done < blocks) {
    const uint64_t at = lba + done;
    const uint64_t run = run_length(at, blocks - done);
    auto part = out.subspan(done * kBlockSize, run * kBlockSize);
    int err = 0;
    if (maps_.data.test(at)) {
      err = now ? file_->read_at_now(at * kBlockSize, part) : file_->read_at(at * kBlockSize, part);
    } else if (maps_.zeroed.test(at)) {
      std::memset(part.data(), 0, part.size());
    } else {
      err = now ? base_->read_at_now(at * kBlockSize, part) : base_->read_at(at * kBlockSize, part);
    }
    if (err != 0) return err;
    done += run;
  }
  return 0;
}

bool CowOverlay::read_may_block(uint64_t lba, uint64_t blocks) const {
  if (!in_range(lba, blocks)) return false;  // refused without I/O
  // The same walk as read(): one test per run of sectors.
  for (uint64_t done = 0; done < blocks;) {
    const uint64_t at = lba + done;
    if (maps_.data.test(at)) {
      if (!file_->in_memory()) return true;
    } else if (!maps_.zeroed.test(at) && !base_->in_memory()) {
      return true;
    }
    done += run_length(at, blocks - done);
  }
  return false;
}

bool CowOverlay::write_may_block(uint64_t lba, uint64_t blocks) const {
  if (!in_range(lba, blocks) || header_.exhausted || blocks == 0) return false;  // refused or nothing to do
  return !file_ || !file_->in_memory();
}

IoStatus CowOverlay::write(uint64_t lba, std::span<const uint8_t> in) {
  if (in.size() % kBlockSize != 0) return IoStatus::out_of_range;
  const uint64_t blocks = in.size() / kBlockSize;
  if (!in_range(lba, blocks)) return IoStatus::out_of_range;
  if (header_.exhausted) return IoStatus::space_exhausted;
  if (blocks == 0) return IoStatus::ok;
  const uint64_t new_bytes = (blocks - maps_.data.count_set(lba, blocks)) * kBlockSize;
  if (options_.write_limit != 0 && header_.bytes_written + new_bytes > options_.write_limit) {
    header_.exhausted = true;  // sticky, and stored with the maps on the next flush
    return IoStatus::space_exhausted;
  }
  if (!file_) {
    if (int err = create_file(); err != 0) return error(err);
  }
  // Data before bit: a bit must never point at bytes that are not there.
  if (int err = file_->write_at(lba * kBlockSize, in); err != 0) return error(err);
  const uint64_t changed = maps_.data.set_range(lba, blocks) + maps_.zeroed.clear_range(lba, blocks);
  header_.bytes_written += new_bytes;
  bytes_written_shared_.store(header_.bytes_written, std::memory_order_relaxed);
  if (changed != 0 && bitmap_file_) bitmap_file_->mark_dirty(lba, blocks);
  data_dirty_ = true;
  return IoStatus::ok;
}

IoStatus CowOverlay::unmap(uint64_t lba, uint64_t blocks) {
  if (!in_range(lba, blocks)) return IoStatus::out_of_range;
  if (blocks == 0) return IoStatus::ok;
  // The bits alone make the range read as zeros; punching only gives the
  // space back, so a filesystem that cannot punch does not fail the command.
  // Without a file nothing was ever written, so there is nothing to punch.
  if (file_) (void)file_->punch_hole(lba * kBlockSize, blocks * kBlockSize);
  uint64_t changed = maps_.data.clear_range(lba, blocks);
  // On a zero base a clear data bit already reads as zeros.
  if (!base_->all_zeros()) changed += maps_.zeroed.set_range(lba, blocks);
  if (changed != 0 && bitmap_file_) bitmap_file_->mark_dirty(lba, blocks);
  data_dirty_ = true;
  return IoStatus::ok;
}

IoStatus CowOverlay::flush() {
  if (options_.delete_on_close || !bitmap_file_) return IoStatus::ok;
  // Durability order: the overlay's data, then the maps that point at it.
  if (data_dirty_) {
    if (int err = file_->sync_data(); err != 0) return error(err);
    data_dirty_ = false;
  }
  if (int err = bitmap_file_->store(maps_, header_); err != 0) return error(err);
  return IoStatus::ok;
}

// SBC-4 5.7 GET LBA STATUS: deallocated = reads as zeros without holding data.
LbaRun CowOverlay::lba_status(uint64_t lba) const {
  if (lba >= blocks_) return {true, 0};
  const uint64_t max_len = blocks_ - lba;
  if (base_->all_zeros()) {
    // Set data bits are written data; everything else reads the zero base.
    return {maps_.data.test(lba), maps_.data.run_length(lba, max_len)};
  }
  // Image base: only unmapped sectors are deallocated; the rest is overlay
  // data or base data.
  return {!maps_.zeroed.test(lba), maps_.zeroed.run_length(lba, max_len)};
}

}  // namespace scsipub::storage
