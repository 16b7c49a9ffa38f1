// Which commands the iSCSI layer may run on its event loop (CommandSet::waits).
#include "lu/logical_unit.h"
#include "scsi/block_io.h"
#include "scsi/command_set.h"

namespace scsipub::scsi {

namespace {

// Larger transfers go to a storage thread even from memory: copying them
// would hold the loop (and every other session on it) for tens of
// microseconds.
constexpr uint64_t kMaxBlocksOnLoop = (256u << 10) / storage::kBlockSize;

Wait read_waits(const storage::BlockStore& store, const BlockRange& r) {
  if (store.async_io()) return Wait::deferred;
  if (r.blocks > kMaxBlocksOnLoop) return Wait::may;
  return store.read_may_block(r.lba, r.blocks) ? Wait::unless_cached : Wait::never;
}

// SBC-3 5.35: FUA, or the write cache turned off (WCE=0 in the Caching mode
// page), makes the write wait for a flush (an asynchronous store flushes
// after the write completes, still without a thread waiting).
Wait write_waits(const lu::LogicalUnit& lu, const BlockRange& r, bool fua) {
  if (lu.store().async_io()) return Wait::deferred;
  if (fua || !lu.write_cache_enabled() || r.blocks > kMaxBlocksOnLoop) return Wait::may;
  return lu.store().write_may_block(r.lba, r.blocks) ? Wait::may : Wait::never;
}

}  // namespace

Wait CommandSet::waits(const ScsiTask& task, const LunMap& luns) const {
  const std::span<const uint8_t> cdb = task.cdb;
  if (cdb.empty()) return Wait::never;  // refused at once
  if (cdb.size() < 16) return Wait::may;  // not what the iSCSI layer passes: not worth a case
  const lu::LogicalUnit* lu = luns.find(task.lun);
  if (lu == nullptr) return Wait::never;  // LOGICAL UNIT NOT SUPPORTED, or answered from the LUN map
  // The DVD unit's reads are 2048-byte blocks from an image file: not asked.
  if (lu->identity().device_type != lu::DeviceType::direct_access) return Wait::may;
  switch (cdb[0]) {
    case 0x00:  // TEST UNIT READY
    case 0x03:  // REQUEST SENSE
    case 0x12:  // INQUIRY
    case 0x1A:  // MODE SENSE(6)
    case 0x25:  // READ CAPACITY(10)
    case 0x5A:  // MODE SENSE(10)
    case 0xA0:  // REPORT LUNS
      return Wait::never;
    case 0x9E:  // SERVICE ACTION IN(16): READ CAPACITY(16) only
      return (cdb[1] & 0x1F) == 0x10 ? Wait::never : Wait::may;
    case 0x08: return read_waits(lu->store(), decode_range6(cdb));
    case 0x28: return read_waits(lu->store(), decode_range10(cdb));
    case 0xA8: return read_waits(lu->store(), decode_range12(cdb));
    case 0x88: return read_waits(lu->store(), decode_range16(cdb));
    case 0x0A: return write_waits(*lu, decode_range6(cdb), false);
    case 0x2A: return write_waits(*lu, decode_range10(cdb), fua_bit(cdb));
    case 0xAA: return write_waits(*lu, decode_range12(cdb), fua_bit(cdb));
    case 0x8A: return write_waits(*lu, decode_range16(cdb), fua_bit(cdb));
    default:
      // Reservations (persisted to a database), SYNCHRONIZE CACHE, UNMAP,
      // WRITE SAME, COMPARE AND WRITE (a lock other sessions hold), VERIFY.
      return Wait::may;
  }
}

}  // namespace scsipub::scsi
