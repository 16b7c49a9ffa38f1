// SPC-4 6.6 INQUIRY: standard data here, VPD pages in vpd.cc.
#include <algorithm>
#include <string_view>

#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/vpd.h"

namespace scsipub::scsi::handlers {

namespace {

constexpr size_t kStandardLength = 96;

// SPC-4 4.4.1: ASCII fields are printable characters, left aligned, space padded.
void put_ascii(uint8_t* dst, size_t width, std::string_view s) {
  for (size_t i = 0; i < width; ++i) {
    char c = i < s.size() ? s[i] : ' ';
    dst[i] = (c >= 0x20 && c <= 0x7E) ? uint8_t(c) : uint8_t(' ');
  }
}

void standard_inquiry(Command& cmd, lu::LogicalUnit* lu) {
  uint8_t* p = cmd.reply(kStandardLength);
  // SPC-4 6.6.2: peripheral qualifier 011b / device type 1Fh for a LUN the
  // target does not have; 000b and the LU's device type otherwise (00h direct
  // access block device, 05h CD/DVD device).
  const bool dvd = lu != nullptr && lu->identity().device_type == lu::DeviceType::cd_dvd;
  p[0] = lu != nullptr ? uint8_t(lu->identity().device_type) : 0x7F;
  p[1] = dvd ? 0x80 : 0x00;  // RMB: a DVD drive's medium is removable, a disk's is not
  p[2] = 0x06;           // VERSION: SPC-4
  p[3] = 0x10 | 0x02;    // HISUP, RESPONSE DATA FORMAT 2
  p[4] = uint8_t(kStandardLength - 5);
  p[5] = 0x00;           // no TPGS (no ALUA), no 3PC, no PROTECT
  p[6] = 0x00;
  p[7] = 0x02;           // CMDQUE
  if (lu != nullptr) {
    const auto& id = lu->identity();
    put_ascii(p + 8, 8, id.vendor);
    put_ascii(p + 16, 16, id.product);
    put_ascii(p + 32, 4, id.revision);
  } else {
    put_ascii(p + 8, 8, "");
    put_ascii(p + 16, 16, "");
    put_ascii(p + 32, 4, "");
  }
  // SPC-4 6.6.2 table 143: version descriptors.
  store_be16(p + 58, 0x00A0);  // SAM-5 (no version claimed)
  store_be16(p + 60, 0x0960);  // iSCSI (no version claimed)
  store_be16(p + 62, 0x0460);  // SPC-4 (no version claimed)
  store_be16(p + 64, dvd ? 0x04E0 : 0x04C0);  // MMC-6 / SBC-3 (no version claimed)
}

}  // namespace

void inquiry(Command& cmd) {
  auto cdb = cmd.cdb();
  const bool evpd = cdb[1] & 0x01;
  const uint8_t page = cdb[2];
  const uint16_t allocation_length = load_be16(&cdb[3]);

  // SPC-4 6.6.1: EVPD = 0 with a nonzero PAGE CODE is an invalid field.
  if (!evpd && page != 0) {
    cmd.invalid_cdb_field(2);
    return;
  }
  if (!evpd) {
    standard_inquiry(cmd, cmd.lu_or_null());
  } else {
    if (cmd.lu_or_null() == nullptr) {
      cmd.fail(SenseReason::lu_not_supported);
      return;
    }
    build_vpd_page(cmd, page);
    if (cmd.failed()) return;
  }
  cmd.truncate(allocation_length);
}

}  // namespace scsipub::scsi::handlers
