#pragma once
// A logical unit: storage plus the SCSI-visible state that belongs to the disk
// rather than to any one command (identity, unit attentions, mode page state,
// and later persistent reservations). Free-tier LUs live as long as their one
// session; provisioned LUs are shared by every session attached to them.
#include <cstdint>
#include <memory>
#include <string>

#include "lu/nexus.h"
#include "storage/block_store.h"

namespace scsipub::lu {

struct Identity {
  std::string vendor = "SCSIPUB";    // INQUIRY T10 vendor id (8 chars, space padded on the wire)
  std::string product = "DISK";      // INQUIRY product id (16 chars)
  std::string revision = "0001";     // INQUIRY product revision (4 chars)
  std::string serial;                // VPD 0x80 unit serial number; unique per LU
  uint64_t naa_id = 0;               // VPD 0x83 NAA designator (IEEE registered, type 5); unique per LU
  std::string device_name;           // VPD 0x83 SCSI name string, e.g. "<target iqn>,L,0x<lun>"
};

class LogicalUnit {
 public:
  LogicalUnit(std::shared_ptr<storage::BlockStore> store, Identity identity);
  ~LogicalUnit();
  LogicalUnit(const LogicalUnit&) = delete;
  LogicalUnit& operator=(const LogicalUnit&) = delete;

  storage::BlockStore& store() { return *store_; }
  const storage::BlockStore& store() const { return *store_; }
  const Identity& identity() const { return identity_; }

  // A nexus starts using this LU (login) or stops (logout / connection end).
  // attach() queues POWER ON, RESET, OR BUS DEVICE RESET OCCURRED for it.
  void attach(const Nexus& nexus);
  void detach(uint64_t nexus_id);

 private:
  std::shared_ptr<storage::BlockStore> store_;
  Identity identity_;
  // Implementation-defined state (unit attentions, mode pages, ...) lives in
  // logical_unit.cc; the SCSI layer reaches it through the methods above.
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace scsipub::lu
