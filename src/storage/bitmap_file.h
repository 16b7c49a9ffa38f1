#pragma once
// The on-disk `<overlay>.bitmap`: a 32-byte header and then the overlay's two
// sector maps as little-endian 64-bit words. Stored in place: only the 4 KiB chunks that
// changed since the last store are rewritten, then fdatasync. In-place is safe
// because the overlay's data is synced first, so any bit that reaches the disk
// points at durable data; a torn store can only lose bits for writes that were
// never acknowledged as durable.
//
//   0  magic "SPBITMP1" (the last byte is the format version)
//   8  sector count (must equal the overlay's block count)
//  16  bytes newly written to the overlay so far (write_limit accounting)
//  24  flags: bit 0 = write_limit was hit (sticky)
//  32  data map: W = ceil(sectors / 64) words, bit set = sector is in the overlay
//  32+8W  zeroed map: W words, bit set = sector was unmapped and reads as zeros
#include <cstdint>
#include <filesystem>
#include <memory>

#include "common/result.h"
#include "storage/file_io.h"
#include "storage/sector_bitmap.h"

namespace scsipub::storage {

struct OverlayMaps {
  SectorBitmap data;
  SectorBitmap zeroed;
};

struct BitmapHeader {
  uint64_t sectors = 0;
  uint64_t bytes_written = 0;
  bool exhausted = false;

  bool operator==(const BitmapHeader&) const = default;
};

class BitmapFile {
 public:
  static constexpr uint64_t kHeaderBytes = 32;
  static constexpr uint64_t kChunkWords = 512;  // 4 KiB: one page per dirty chunk

  // Creates (or truncates) the file holding `header` and all-zero maps,
  // synced. The map area is left sparse.
  static Result<BitmapFile> create(const std::filesystem::path& path, const BitmapHeader& header,
                                   const FileOpener& opener);
  // Opens an existing file and loads it. Fails unless the magic, the sector
  // count (`sectors`) and the file size all match.
  static Result<BitmapFile> open(const std::filesystem::path& path, uint64_t sectors,
                                 const FileOpener& opener, OverlayMaps& maps,
                                 BitmapHeader& header);

  // Records that bits [first, first+count) of either map changed since the
  // last store.
  void mark_dirty(uint64_t first, uint64_t count);
  // Writes the dirty chunks and (if changed) the header, then fdatasync.
  // Nothing to write means no syscalls. 0 or an errno value.
  int store(const OverlayMaps& maps, const BitmapHeader& header);

 private:
  BitmapFile(std::unique_ptr<FileIo> file, uint64_t sectors, const BitmapHeader& stored);

  std::unique_ptr<FileIo> file_;
  SectorBitmap dirty_chunks_;
  BitmapHeader stored_;  // what the file's header says now
};

}  // namespace scsipub::storage
