#pragma once
// The block verbs the SCSI layer hands to storage. Nothing here knows a CDB;
// nothing above storage/ knows a file path.
#include <cstdint>
#include <span>

namespace scsipub::storage {

inline constexpr uint32_t kBlockSize = 512;

enum class IoStatus : uint8_t {
  ok,
  io_error,         // MEDIUM ERROR / hardware error upstream
  out_of_range,     // caller bug: LBA range beyond block_count()
  write_protected,  // read-only store
  space_exhausted,  // write_limit reached: DATA PROTECT / WRITE PROTECTED upstream
};

// A run of blocks starting at some LBA that share one provisioning state.
struct LbaRun {
  bool mapped = true;   // false: deallocated (reads return zeros)
  uint64_t blocks = 0;  // length of the run, >= 1 unless the LBA is out of range
};

class BlockStore {
 public:
  virtual ~BlockStore() = default;

  virtual uint64_t block_count() const = 0;  // number of 512-byte blocks
  virtual bool read_only() const = 0;
  // True when unmap() really deallocates and lba_status() reports holes.
  virtual bool thin_provisioned() const = 0;

  // out.size() and in.size() are multiples of kBlockSize.
  virtual IoStatus read(uint64_t lba, std::span<uint8_t> out) = 0;
  virtual IoStatus write(uint64_t lba, std::span<const uint8_t> in) = 0;
  // After unmap the blocks read back as zeros (we advertise LBPRZ).
  virtual IoStatus unmap(uint64_t lba, uint64_t blocks) = 0;
  // Makes every acknowledged write durable (SYNCHRONIZE CACHE, FUA).
  virtual IoStatus flush() = 0;
  virtual LbaRun lba_status(uint64_t lba) const = 0;
};

}  // namespace scsipub::storage
