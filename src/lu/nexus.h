#pragma once
// The I_T nexus: who a SCSI command comes from. Identified by the iSCSI
// InitiatorName + ISID (+ target portal group), never by a CHAP user name.
#include <array>
#include <cstdint>
#include <string>

namespace scsipub::lu {

struct Nexus {
  uint64_t id = 0;  // unique per session within this process; the key for per-nexus state
  std::string initiator_name;
  std::array<uint8_t, 6> isid{};
  uint16_t target_portal_group = 1;
  std::string target_name;
};

}  // namespace scsipub::lu
