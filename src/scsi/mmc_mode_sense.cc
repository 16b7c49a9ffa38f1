// MODE SENSE (6) / (10) for a DVD-ROM logical unit: the SPC-4 Control page
// (0Ah, the disk's layout and values: every device should have it) and the
// MMC CD/DVD Capabilities and Mechanical Status page (2Ah), which the Linux sr
// driver reads at probe to learn what the drive is; 3Fh returns both. MMC
// devices return no block descriptors; nothing is changeable (no MODE SELECT)
// or saved.
#include <algorithm>

#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/mode_pages.h"

namespace scsipub::scsi::handlers {

namespace {

constexpr uint8_t kControlPage = 0x0A;
constexpr uint8_t kCapabilitiesPage = 0x2A;
constexpr uint8_t kAllPages = 0x3F;
constexpr size_t kPageLength = 22;    // 2-byte page header + 20 (MMC-3 layout, what sr parses)
constexpr uint16_t kReadSpeed = 1385 * 8;  // kB/s: "8x" DVD (8 * 1385 kB/s); sr divides by 176

void capabilities_page(uint8_t* p, bool current_values, bool locked) {
  p[0] = kCapabilitiesPage;
  p[1] = uint8_t(kPageLength - 2);
  if (!current_values) return;  // changeable: nothing is
  p[2] = 0x08;  // DVD-ROM READ
  p[3] = 0x00;  // writes nothing
  // LOADING MECHANISM TYPE 001b (tray), EJECT, LOCK; LOCK STATE while a
  // nexus prevents removal.
  p[6] = uint8_t(0x20 | 0x08 | 0x01 | (locked ? 0x02 : 0x00));
  store_be16(p + 8, kReadSpeed);   // MAXIMUM READ SPEED (obsolete field, still read)
  store_be16(p + 14, kReadSpeed);  // CURRENT READ SPEED
}

void mmc_mode_sense(Command& cmd, bool ten) {
  auto c = cmd.cdb();
  const uint8_t pc = c[2] >> 6;
  const uint8_t page_code = c[2] & 0x3F;
  const uint8_t subpage = c[3];
  const uint16_t allocation_length = ten ? load_be16(&c[7]) : c[4];
  if (pc == 3) {  // saved values
    cmd.fail(SenseReason::saving_parameters_not_supported);
    return;
  }
  if (subpage != 0 && subpage != 0xFF) {
    cmd.invalid_cdb_field(3);
    return;
  }
  if (page_code != kControlPage && page_code != kCapabilitiesPage && page_code != kAllPages) {
    cmd.invalid_cdb_field(2, 5);
    return;
  }
  std::optional<ModePage> control;
  if (page_code != kCapabilitiesPage) {
    control = mode_page(kControlPage, pc == 1 ? PageControl::defaults : PageControl(pc), cmd.lu().mode_parameters());
    if (control && pc == 1) std::fill(control->bytes.begin() + 2, control->bytes.end(), uint8_t{0});
  }
  const bool capabilities = page_code != kControlPage;
  const size_t header = ten ? 8 : 4;
  const size_t total = header + (control ? control->length : 0) + (capabilities ? kPageLength : 0);
  uint8_t* out = cmd.reply(total);
  // SPC-4 7.5.4 header: no block descriptors; MEDIUM TYPE and the device
  // specific parameter are reserved for MMC.
  if (ten) {
    store_be16(out, uint16_t(total - 2));
  } else {
    out[0] = uint8_t(total - 1);
  }
  uint8_t* page = out + header;
  if (control) {
    std::copy_n(control->bytes.data(), control->length, page);
    page += control->length;
  }
  if (capabilities) capabilities_page(page, pc != 1, cmd.lu().removal_prevented());
  cmd.truncate(allocation_length);
}

}  // namespace

void mmc_mode_sense6(Command& cmd) { mmc_mode_sense(cmd, false); }
void mmc_mode_sense10(Command& cmd) { mmc_mode_sense(cmd, true); }

}  // namespace scsipub::scsi::handlers
