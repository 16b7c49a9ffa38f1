#pragma once
// Reads sense key, ASC and ASCQ out of sense data in either format (SPC-4
// 4.5.2 descriptor, 4.5.3 fixed), so a test asserts what the sense says and
// not where one format puts it.
#include <cstdint>
#include <optional>
#include <span>

namespace scsipub::scsi::testing {

struct SenseFields {
  uint8_t key = 0;
  uint8_t asc = 0;
  uint8_t ascq = 0;
  bool operator==(const SenseFields&) const = default;
};

// nullopt for anything too short or of another response code.
inline std::optional<SenseFields> parse_sense(std::span<const uint8_t> sense) {
  if (sense.empty()) return std::nullopt;
  switch (sense[0] & 0x7f) {
    case 0x70:  // fixed, current
    case 0x71:  // fixed, deferred
      if (sense.size() < 14) return std::nullopt;
      return SenseFields{uint8_t(sense[2] & 0x0f), sense[12], sense[13]};
    case 0x72:  // descriptor, current
    case 0x73:  // descriptor, deferred
      if (sense.size() < 8) return std::nullopt;
      return SenseFields{uint8_t(sense[1] & 0x0f), sense[2], sense[3]};
    default:
      return std::nullopt;
  }
}

}  // namespace scsipub::scsi::testing
