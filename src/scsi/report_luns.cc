// SPC-4 6.33 REPORT LUNS. Works whether or not the addressed LUN exists.
#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/lun_address.h"
#include "scsi/lun_map.h"

namespace scsipub::scsi::handlers {

void report_luns(Command& cmd) {
  auto cdb = cmd.cdb();
  const uint8_t select = cdb[2];
  const uint32_t allocation_length = load_be32(&cdb[6]);
  // SPC-4 6.33: SELECT REPORT 00h/02h list every LUN, 01h only well-known
  // LUNs (we have none); allocation length below 16 is an invalid field.
  if (select > 0x02) {
    cmd.invalid_cdb_field(2);
    return;
  }
  if (allocation_length < 16) {
    cmd.invalid_cdb_field(6);
    return;
  }
  auto luns = cmd.luns().luns();
  size_t count = 0;
  if (select != 0x01) {
    // SAM-5 4.7.7: LUNs beyond flat space have no single-level address.
    for (uint64_t lun : luns)
      if (lun < kLunLimit) ++count;
  }
  uint8_t* p = cmd.reply(8 + 8 * count);
  store_be32(p, uint32_t(8 * count));
  size_t i = 0;
  if (select != 0x01) {
    for (uint64_t lun : luns) {
      if (lun < kLunLimit) store_be64(p + 8 + 8 * i++, encode_lun(lun));
    }
  }
  cmd.truncate(allocation_length);
}

}  // namespace scsipub::scsi::handlers
