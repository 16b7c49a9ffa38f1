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
  // Not served here right now, but soon, possibly by another node (a lease
  // lost during a handover): NOT READY / BECOMING READY upstream, which
  // initiators retry instead of failing the I/O.
  unavailable,
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

  // Whether read()/write() of [lba, lba+blocks) may wait: on a device (a
  // page-cache miss, writeback throttling, a journal), or on a lock another
  // session holds. False only when the store knows the call is a
  // memory operation (zeros it has no file for, a memory store, a file on
  // tmpfs): the transport then runs the command on its event loop instead of
  // paying a hand-off to a storage thread and back. Called on the thread that
  // owns the store's session, never while a write of that session runs.
  virtual bool read_may_block(uint64_t /*lba*/, uint64_t /*blocks*/) const { return true; }
  virtual bool write_may_block(uint64_t /*lba*/, uint64_t /*blocks*/) const { return true; }
  // read() if every byte is at hand without waiting (memory, the page cache:
  // preadv2 RWF_NOWAIT): true when `out` holds the data. False when it would
  // wait, or on any error: the caller then calls read() where waiting is
  // allowed, which reports the error. Same threading rules as read_may_block.
  virtual bool read_now(uint64_t lba, std::span<uint8_t> out) {
    return !read_may_block(lba, out.size() / kBlockSize) && read(lba, out) == IoStatus::ok;
  }
};

}  // namespace scsipub::storage
