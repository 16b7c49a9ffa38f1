// SPC-4 6.11 MODE SENSE (6) and 6.12 MODE SENSE (10).
#include <algorithm>
#include <vector>

#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/mode_pages.h"

namespace scsipub::scsi::handlers {

namespace {

constexpr uint8_t kAllPages = 0x3F;
constexpr uint8_t kAllSubpages = 0xFF;

void mode_sense(Command& cmd, bool ten) {
  auto c = cmd.cdb();
  const bool dbd = c[1] & 0x08;
  const bool llbaa = ten && (c[1] & 0x10);
  const auto pc = PageControl(c[2] >> 6);
  const uint8_t page_code = c[2] & 0x3F;
  const uint8_t subpage = c[3];
  const uint16_t allocation_length = ten ? load_be16(&c[7]) : c[4];

  // SPC-4 6.11: saved values are not supported.
  if (pc == PageControl::saved) {
    cmd.fail(SenseReason::saving_parameters_not_supported);
    return;
  }
  // We only have subpage 0 pages; FFh asks for all subpages of the page(s).
  if (subpage != 0 && subpage != kAllSubpages) {
    cmd.invalid_cdb_field(3);
    return;
  }
  const lu::ModeParameters current = cmd.lu().mode_parameters();
  std::vector<ModePage> pages;
  if (page_code == kAllPages) {
    for (uint8_t code : supported_mode_pages())
      if (auto p = mode_page(code, pc, current)) pages.push_back(*p);
  } else if (auto p = mode_page(page_code, pc, current)) {
    pages.push_back(*p);
  } else {
    cmd.invalid_cdb_field(2, 5);
    return;
  }

  const size_t header = ten ? 8 : 4;
  const size_t descriptor = dbd ? 0 : (llbaa ? 16 : 8);
  size_t total = header + descriptor;
  for (const auto& p : pages) total += p.length;
  uint8_t* out = cmd.reply(total);

  // SPC-4 7.5.4 mode parameter header; SBC-3 6.4.1 device-specific
  // parameter: WP when the store is read-only, DPOFUA (we honour DPO/FUA).
  const uint8_t device_specific = uint8_t((cmd.store().read_only() ? 0x80 : 0x00) | 0x10);
  if (ten) {
    store_be16(out, uint16_t(total - 2));
    out[3] = device_specific;
    out[4] = llbaa && descriptor ? 0x01 : 0x00;  // LONGLBA
    store_be16(out + 6, uint16_t(descriptor));
  } else {
    out[0] = uint8_t(total - 1);
    out[2] = device_specific;
    out[3] = uint8_t(descriptor);
  }
  // SBC-3 6.4.2 block descriptors (all zero for "changeable": nothing is).
  uint8_t* bd = out + header;
  if (descriptor != 0 && pc != PageControl::changeable) {
    const uint64_t blocks = cmd.store().block_count();
    if (descriptor == 16) {
      store_be64(bd, blocks);
      store_be32(bd + 12, storage::kBlockSize);
    } else {
      store_be32(bd, blocks > 0xFFFFFFFFu ? 0xFFFFFFFFu : uint32_t(blocks));
      store_be24(bd + 5, storage::kBlockSize);
    }
  }
  uint8_t* p = bd + descriptor;
  for (const auto& page : pages) {
    std::copy_n(page.bytes.data(), page.length, p);
    p += page.length;
  }
  cmd.truncate(allocation_length);
}

}  // namespace

void mode_sense6(Command& cmd) { mode_sense(cmd, false); }
void mode_sense10(Command& cmd) { mode_sense(cmd, true); }

}  // namespace scsipub::scsi::handlers
