#pragma once
// Copy-on-write overlay over a shared read-only base: a sparse file the size of
// the LU plus, per 512-byte sector, a data bit ("this sector lives in the
// overlay") and a zeroed bit ("unmapped: reads as zeros"). Reads take each run
// of sectors from the overlay, zeros or the base; writes go to the overlay and
// then set the data bit.
//
// The zeroed map exists so UNMAP on an image base can promise zeros (LBPRZ)
// without marking the sectors as written: were unmap to set data bits over
// punched holes, later writes there would cost nothing against write_limit.
//
// Not thread-safe for writers: a free-tier overlay belongs to one session,
// and a shared provisioned LU goes through LockedStore, which lets reads run
// in parallel (read() and lba_status() change nothing but the atomic
// last_errno_) and runs write/unmap/flush alone. The base is shared and only
// read.
//
// Files: `<path>` (the overlay) and `<path>.bitmap`. The bitmap file exists
// only for overlays that must survive the process (delete_on_close = false).
// A delete_on_close overlay creates `<path>` on its first write: until then
// every sector reads from the base or as zeros and unmap only touches the
// maps, so a session that only reads costs no file, no descriptor and no
// filesystem call at login.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "storage/bitmap_file.h"
#include "storage/block_store.h"
#include "storage/file_io.h"
#include "storage/image_source.h"
#include "storage/sector_bitmap.h"

namespace scsipub::storage {

struct OverlayOptions {
  // Bytes the overlay may newly take on (sectors whose bit goes 0 -> 1, counted
  // cumulatively, so write/unmap cycles cannot churn the disk forever).
  // 0 = unlimited. Once a write is refused every later write is refused too,
  // for as long as the overlay exists ("full until the session ends").
  uint64_t write_limit = 0;
  // Free tier: the overlay dies with its session. The destructor removes the
  // files, no bitmap file is kept, and flush() has nothing to make durable --
  // after a crash the janitor deletes the overlay anyway.
  bool delete_on_close = false;
  // How files are opened; empty means the synchronous FileIo.
  FileOpener opener;
  // Told (once per overlay) why a delete_on_close overlay could not create its
  // file at the first write; that write and later ones fail with io_error
  // until creation succeeds. Storage does not log; the owner does.
  std::function<void(const std::string& message)> on_create_error;
};

class CowOverlay final : public BlockStore {
 public:
  // Creates a new overlay at `path`; fails if the file already exists. A
  // delete_on_close overlay only claims `path` at its first write (O_EXCL then).
  static Result<std::unique_ptr<CowOverlay>> create(std::shared_ptr<const ImageSource> base,
                                                    std::filesystem::path path,
                                                    OverlayOptions options = {});
  // Reopens an overlay and its bitmap written by an earlier flush() (a
  // provisioned disk across restarts). Fails if either file is missing or does
  // not match the base's size.
  static Result<std::unique_ptr<CowOverlay>> open(std::shared_ptr<const ImageSource> base,
                                                  std::filesystem::path path,
                                                  OverlayOptions options = {});
  // open() when `path` exists, create() otherwise.
  static Result<std::unique_ptr<CowOverlay>> open_or_create(
      std::shared_ptr<const ImageSource> base, std::filesystem::path path,
      OverlayOptions options = {});

  // Removes `path` and `path.bitmap`; missing files are not an error.
  static Status remove_files(const std::filesystem::path& path);
  static std::filesystem::path bitmap_path(const std::filesystem::path& overlay_path);

  ~CowOverlay() override;
  CowOverlay(const CowOverlay&) = delete;
  CowOverlay& operator=(const CowOverlay&) = delete;

  uint64_t block_count() const override { return blocks_; }
  bool read_only() const override { return false; }
  bool thin_provisioned() const override { return true; }
  IoStatus read(uint64_t lba, std::span<uint8_t> out) override;
  IoStatus write(uint64_t lba, std::span<const uint8_t> in) override;
  IoStatus unmap(uint64_t lba, uint64_t blocks) override;
  IoStatus flush() override;
  LbaRun lba_status(uint64_t lba) const override;
  // Zeros and an in-memory base never wait; the overlay file only when it is
  // in memory. A write that would create the file may wait (open, ftruncate).
  bool read_may_block(uint64_t lba, uint64_t blocks) const override;
  bool write_may_block(uint64_t lba, uint64_t blocks) const override;
  bool read_now(uint64_t lba, std::span<uint8_t> out) override;

  // errno of the most recent io_error, for the caller's log line.
  int last_errno() const { return last_errno_.load(std::memory_order_relaxed); }
  const std::filesystem::path& path() const { return path_; }
  // Whether the overlay file exists yet (always, unless delete_on_close).
  bool has_file() const { return file_ != nullptr; }
  // Bytes counted against write_limit so far.
  uint64_t bytes_written() const { return header_.bytes_written; }
  // The same, safe to read from another thread (the operator dashboard) while
  // the session's loop writes.
  uint64_t bytes_written_shared() const { return bytes_written_shared_.load(std::memory_order_relaxed); }
  uint64_t write_limit() const { return options_.write_limit; }
  bool space_exhausted() const { return header_.exhausted; }

 private:
  CowOverlay(std::shared_ptr<const ImageSource> base, std::filesystem::path path,
             OverlayOptions options, std::unique_ptr<FileIo> file);

  bool in_range(uint64_t lba, uint64_t blocks) const {
    return lba <= blocks_ && blocks <= blocks_ - lba;
  }
  IoStatus error(int err);
  int read_runs(uint64_t lba, std::span<uint8_t> out, bool now) const;
  // Creates, sizes and opens the overlay file (O_EXCL). 0 or an errno value;
  // on failure nothing is left on disk.
  int create_file();
  // Sectors [lba, lba+n) that share one (data, zeroed) state, n <= max_len.
  uint64_t run_length(uint64_t lba, uint64_t max_len) const;

  std::shared_ptr<const ImageSource> base_;
  std::filesystem::path path_;
  OverlayOptions options_;
  std::unique_ptr<FileIo> file_;  // null until the first write of a delete_on_close overlay
  std::unique_ptr<BitmapFile> bitmap_file_;  // null for delete_on_close overlays
  uint64_t blocks_;
  OverlayMaps maps_;
  BitmapHeader header_;
  std::atomic<uint64_t> bytes_written_shared_{0};  // mirrors header_.bytes_written
  bool data_dirty_ = false;  // overlay written since the last fdatasync
  // Atomic: concurrent readers of a shared disk (LockedStore) may all fail.
  std::atomic<int> last_errno_{0};
  bool create_error_reported_ = false;
};

}  // namespace scsipub::storage
