#include "scsi/mode_pages.h"

namespace scsipub::scsi {

namespace {

constexpr uint8_t kReadWriteErrorRecovery = 0x01;
constexpr uint8_t kCaching = 0x08;
constexpr uint8_t kControl = 0x0A;
constexpr uint8_t kInformationalExceptions = 0x1C;

constexpr uint8_t kPageCodes[] = {kReadWriteErrorRecovery, kCaching, kControl, kInformationalExceptions};

constexpr uint8_t kWce = 0x04;     // caching page byte 2
constexpr uint8_t kDSense = 0x04;  // control page byte 2

struct PageTemplate {
  uint8_t code;
  uint8_t length;
  std::array<uint8_t, kMaxModePageLength> defaults;
  std::array<uint8_t, kMaxModePageLength> changeable;
};

constexpr PageTemplate kTemplates[] = {
    // SBC-3 6.4.6 Read-Write Error Recovery: AWRE, ARRE; nothing changeable.
    {kReadWriteErrorRecovery, 12, {kReadWriteErrorRecovery, 0x0A, 0xC0}, {}},
    // SBC-3 6.4.5 Caching: WCE changeable, default on.
    {kCaching, 20, {kCaching, 0x12, kWce}, {0, 0, kWce}},
    // SPC-4 7.5.7 Control: TST 000b, QUEUE ALGORITHM MODIFIER 1 (unrestricted),
    // QERR 00b, SWP 0, BUSY TIMEOUT PERIOD FFFFh (unlimited); D_SENSE changeable.
    {kControl, 12, {kControl, 0x0A, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00},
     {0, 0, kDSense}},
    // SPC-4 7.5.11 Informational Exceptions Control: DEXCPT (nothing reported).
    {kInformationalExceptions, 12, {kInformationalExceptions, 0x0A, 0x08}, {}},
};

const PageTemplate* find_template(uint8_t code) {
  for (const auto& t : kTemplates)
    if (t.code == code) return &t;
  return nullptr;
}

}  // namespace

std::span<const uint8_t> supported_mode_pages() { return kPageCodes; }

std::optional<ModePage> mode_page(uint8_t code, PageControl pc, const lu::ModeParameters& current) {
  const PageTemplate* t = find_template(code);
  if (t == nullptr) return std::nullopt;
  ModePage page{t->code, t->length, {}};
  switch (pc) {
    case PageControl::changeable:
      page.bytes = t->changeable;
      page.bytes[0] = t->code;
      page.bytes[1] = uint8_t(t->length - 2);
      return page;
    case PageControl::defaults:
    case PageControl::saved:
      page.bytes = t->defaults;
      return page;
    case PageControl::current:
      page.bytes = t->defaults;
      if (code == kCaching) page.bytes[2] = uint8_t((page.bytes[2] & ~kWce) | (current.write_cache_enabled ? kWce : 0));
      if (code == kControl)
        page.bytes[2] = uint8_t((page.bytes[2] & ~kDSense) | (current.descriptor_sense ? kDSense : 0));
      return page;
  }
  return std::nullopt;
}

void apply_mode_page(const ModePage& page, lu::ModeParameters& params) {
  if (page.code == kCaching) params.write_cache_enabled = page.bytes[2] & kWce;
  if (page.code == kControl) params.descriptor_sense = page.bytes[2] & kDSense;
}

}  // namespace scsipub::scsi
