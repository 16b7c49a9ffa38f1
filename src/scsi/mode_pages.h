#pragma once
// Mode pages (SPC-4 7.5, SBC-3 6.4): layout, default values and changeable
// masks live here; the current values of changeable fields live in the
// logical unit (lu::ModeParameters).
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "lu/mode_parameters.h"

namespace scsipub::scsi {

enum class PageControl : uint8_t { current = 0, changeable = 1, defaults = 2, saved = 3 };

inline constexpr size_t kMaxModePageLength = 20;  // largest page incl. 2-byte header

struct ModePage {
  uint8_t code = 0;
  uint8_t length = 0;  // whole page, header included
  std::array<uint8_t, kMaxModePageLength> bytes{};
  std::span<const uint8_t> span() const { return {bytes.data(), length}; }
};

// Page codes we support, in the order MODE SENSE returns them for 3Fh.
std::span<const uint8_t> supported_mode_pages();

// The page as seen with the given page control, or nullopt if unsupported.
std::optional<ModePage> mode_page(uint8_t code, PageControl pc, const lu::ModeParameters& current);

// Extracts the changeable values from a page sent by MODE SELECT into
// `params` (the caller has validated it against the changeable mask).
void apply_mode_page(const ModePage& page, lu::ModeParameters& params);

}  // namespace scsipub::scsi
