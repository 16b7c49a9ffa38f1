#pragma once
// A logical unit: storage plus the SCSI-visible state that belongs to the disk
// rather than to any one command (identity, unit attentions, mode page state,
// and, through its LuExtension, reservations). Free-tier LUs live as long as their one
// session; provisioned LUs are shared by every session attached to them.
//
// Thread safety: the state several sessions touch (attached nexuses, unit
// attention queues, mode parameters) is guarded by one mutex; data I/O through
// store() takes no lock here. The per-command questions ("any unit attention
// pending?", "descriptor sense?", "write cache on?") are answered from atomics
// so the hot path takes no lock either.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lu/mode_parameters.h"
#include "lu/nexus.h"
#include "lu/unit_attention.h"
#include "storage/block_store.h"

namespace scsipub::lu {

// SPC-4 7.8.6.6.3 NAA 5 (IEEE Registered): 4-bit NAA, 24-bit OUI, 36-bit
// vendor-specific part (the low 36 bits of `vendor`). The OUI is a locally
// administered placeholder.
inline uint64_t naa5_identifier(uint64_t vendor) {
  constexpr uint64_t kOui = 0x001405;
  return (uint64_t{5} << 60) | (kOui << 36) | (vendor & 0xfffffffffull);
}

// SPC-4 6.6.2 PERIPHERAL DEVICE TYPE: which command set serves the LU
// (scsi::CommandSet dispatches on it).
enum class DeviceType : uint8_t {
  direct_access = 0x00,  // SBC-3 disk
  cd_dvd = 0x05,         // MMC-6 CD/DVD device (read-only DVD-ROM here)
};

struct Identity {
  std::string vendor = "SCSIPUB";    // INQUIRY T10 vendor id (8 chars, space padded on the wire)
  std::string product = "DISK";      // INQUIRY product id (16 chars)
  std::string revision = "0001";     // INQUIRY product revision (4 chars)
  std::string serial;                // VPD 0x80 unit serial number; unique per LU
  uint64_t naa_id = 0;               // VPD 0x83 NAA designator (IEEE registered, type 5); unique per LU
  std::string device_name;           // VPD 0x83 SCSI name string, e.g. "<target iqn>,L,0x<lun>"
  DeviceType device_type = DeviceType::direct_access;  // last: positional initializers predate it
};

// State an upper layer keeps per logical unit (persistent reservations live
// in scsi/, above this layer). The LU owns it and tells it about resets and
// nexus loss, which SCSI-2 reservations depend on.
class LuExtension {
 public:
  virtual ~LuExtension() = default;
  virtual void on_logical_unit_reset() {}
  virtual void on_nexus_lost(const Nexus& /*nexus*/) {}
  // Asked before every command: does a reservation forbid it for `nexus`?
  virtual bool conflicts(std::span<const uint8_t> /*cdb*/, const Nexus& /*nexus*/) const { return false; }
};

class LogicalUnit {
 public:
  // Unit attentions queued per nexus beyond this many are dropped (oldest kept):
  // a stranger must not grow our memory by provoking conditions.
  static constexpr size_t kMaxPendingUnitAttentions = 8;

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
  bool attached(uint64_t nexus_id) const;
  size_t attached_count() const;

  // --- unit attentions (SAM-5 5.14, SPC-4 5.14 / 7.5.2) ---
  // Removes and returns the oldest pending unit attention for the nexus.
  // Lock-free when nothing is pending for any nexus (the common case).
  std::optional<UnitAttention> take_unit_attention(uint64_t nexus_id);
  bool has_unit_attention(uint64_t nexus_id) const;
  // Queues `ua` for every attached nexus except `except_nexus` (if given).
  void raise_unit_attention(const UnitAttention& ua, std::optional<uint64_t> except_nexus = {});
  // Queues `ua` for every attached nexus of this initiator port (see
  // initiator_port_name): persistent reservations name nexuses that way.
  void raise_unit_attention_to_port(std::string_view initiator_port, const UnitAttention& ua);

  // --- tasks aborted by another I_T nexus (SPC-4 5.9.11.5 PREEMPT AND ABORT) ---
  // The iSCSI layer holds a write task while its Data-Out arrives, on the
  // session's own thread; nothing here can reach it. Instead every nexus has an
  // abort generation: the task notes it on arrival and compares before it runs
  // and whenever its data arrives; a change means the task was aborted.
  // Bumps the generation of every attached nexus of this initiator port.
  void abort_tasks_of_port(std::string_view initiator_port);
  // Lock-free (returns 0) until the first abort on this LU.
  uint64_t task_abort_generation(uint64_t nexus_id) const;

  // --- PREVENT ALLOW MEDIUM REMOVAL (SPC-4 6.13, MMC-6 6.13) ---
  // Each I_T nexus holds its own prevention; the medium is locked while any
  // attached nexus prevents removal. Nexus loss and resets clear it (SPC-4 6.13).
  void set_prevent_removal(uint64_t nexus_id, bool prevent);
  bool removal_prevented() const;
  // A removable medium (MMC-6 START STOP UNIT, LOEJ): ejected and loaded
  // again by the initiator; always present unless ejected. Not a reset matter.
  bool medium_present() const { return medium_present_.load(std::memory_order_relaxed); }
  void set_medium_present(bool present) { medium_present_.store(present, std::memory_order_relaxed); }

  // --- upper-layer state (persistent reservations) ---
  // Set once, before the LU is shared.
  void set_extension(std::unique_ptr<LuExtension> ext) { extension_ = std::move(ext); }
  LuExtension* extension() const { return extension_.get(); }

  // --- task management, called by the iSCSI layer (RFC 7143 11.5) ---
  // LOGICAL UNIT RESET: the iSCSI layer aborts this LU's tasks first; here the
  // LU state returns to defaults (mode parameters; the extension drops SCSI-2
  // reservations)
  // and every attached nexus gets BUS DEVICE RESET FUNCTION OCCURRED (29h/03h),
  // which is what LIO queues and what libiscsi's reset tests clear with TUR.
  void logical_unit_reset();
  // TARGET WARM RESET behaves as a logical unit reset of every LU; TARGET COLD
  // RESET additionally drops the connections (iSCSI layer) and reports
  // POWER ON OCCURRED (29h/01h) to nexuses that survive or log in again.
  void target_reset(bool cold);

  // --- mode parameters (SPC-4 6.11 / 6.13) ---
  ModeParameters mode_parameters() const;
  // Lock-free reads of single values, for every command.
  bool descriptor_sense() const { return descriptor_sense_.load(std::memory_order_relaxed); }
  bool write_cache_enabled() const { return write_cache_enabled_.load(std::memory_order_relaxed); }
  // Stores new values; when they differ from the old ones, every other nexus
  // gets MODE PARAMETERS CHANGED (2Ah/01h). Returns true if anything changed.
  bool set_mode_parameters(const ModeParameters& params, std::optional<uint64_t> changed_by);

  // COMPARE AND WRITE holds this for its read-compare-write so two ATS commands
  // from different sessions never interleave. Plain writes do not take it.
  std::unique_lock<std::mutex> lock_for_atomic_update();

 private:
  struct NexusState {
    uint64_t id = 0;
    Nexus nexus;
    std::vector<UnitAttention> pending;  // oldest first
    bool prevent_removal = false;
    uint64_t abort_generation = 0;  // see abort_tasks_of_port
  };
  NexusState* find_locked(uint64_t nexus_id);
  const NexusState* find_locked(uint64_t nexus_id) const;
  void push_ua_locked(NexusState& n, const UnitAttention& ua);
  void clear_ua_locked(NexusState& n);
  void set_mode_locked(const ModeParameters& params);

  std::shared_ptr<storage::BlockStore> store_;
  Identity identity_;
  mutable std::mutex mu_;
  std::vector<NexusState> nexuses_;  // guarded by mu_
  ModeParameters mode_;              // guarded by mu_
  std::atomic<size_t> pending_total_{0};  // sum of all queues; written under mu_
  std::atomic<uint64_t> aborts_{0};       // abort_tasks_of_port calls; written under mu_
  std::atomic<bool> descriptor_sense_{false};
  std::atomic<bool> write_cache_enabled_{true};
  std::atomic<bool> medium_present_{true};
  std::mutex atomic_mu_;
  std::unique_ptr<LuExtension> extension_;
};

}  // namespace scsipub::lu
