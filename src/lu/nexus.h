#pragma once
// The I_T nexus: who a SCSI command comes from. Identified by the iSCSI
// InitiatorName + ISID (+ target portal group), never by a CHAP user name.
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>

namespace scsipub::lu {

struct Nexus {
  uint64_t id = 0;  // unique per session within this process; the key for per-nexus state
  std::string initiator_name;
  std::array<uint8_t, 6> isid{};
  uint16_t target_portal_group = 1;
  std::string target_name;
};

// SPC-4 7.6.4.6 / RFC 7143: the iSCSI initiator port name,
// "<InitiatorName>,i,0x<ISID as 12 hex digits>" -- what persistent
// reservations key registrations on.
inline std::string initiator_port_name(const Nexus& n) {
  char isid[13];
  std::snprintf(isid, sizeof isid, "%02x%02x%02x%02x%02x%02x", n.isid[0], n.isid[1], n.isid[2], n.isid[3], n.isid[4],
                n.isid[5]);
  return n.initiator_name + ",i,0x" + isid;
}

}  // namespace scsipub::lu
