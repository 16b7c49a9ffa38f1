#pragma once
// What the operator dashboard (web/) asks of the rest of the server: the
// live sessions with their traffic, recent refused logins, limit hits, the
// provisioned disks and the catalog, and the two actions an operator takes.
// The web layer renders and escapes; everything here is plain values, and
// every string that came from an initiator (names, ISIDs are hex) is raw,
// hostile text the renderer must escape.
//
// Called from several HTTP threads at once: implementations are thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/disk_service.h"

namespace scsipub::control {

struct LiveSession {
  uint64_t id = 0;               // process-unique; what end_session() takes
  bool discovery = false;
  std::string target;            // empty for discovery sessions
  std::string kind;              // "blank", "image", "multi", "disk", "discovery"
  std::vector<uint32_t> luns;    // LUN numbers the session sees
  std::string initiator_name;    // as the initiator sent it (hostile)
  std::string isid;              // 12 lowercase hex digits
  std::string peer_address;      // "address:port"
  bool tls = false;
  bool authenticated = false;    // logged in with CHAP
  int64_t connected_since_ms = 0;  // Unix epoch milliseconds
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t read_commands = 0;
  uint64_t write_commands = 0;
  // Rates over the last sampling interval (about one second).
  double read_iops = 0;
  double write_iops = 0;
  double read_bytes_per_second = 0;
  double write_bytes_per_second = 0;
  // Free-tier overlay use against its write limit; absent for disks and discovery.
  std::optional<uint64_t> overlay_bytes;
  std::optional<uint64_t> write_limit;
};

// A free-tier disk kept after its connection dropped without a Logout, for
// the same initiator to take back when it reconnects (free_tier.retain_seconds).
struct RetainedDisk {
  std::string target;
  std::string initiator_name;    // hostile
  std::string isid;              // 12 lowercase hex digits
  std::string peer_address;      // the address only: any port may reconnect
  int64_t until_ms = 0;          // Unix epoch milliseconds when it is deleted
  uint64_t overlay_bytes = 0;
  uint64_t write_limit = 0;
};

struct RefusedLogin {
  int64_t at_ms = 0;             // Unix epoch milliseconds
  std::string peer_address;
  std::string initiator_name;    // hostile
  std::string target_name;       // hostile
  std::string reason;            // "unknown target", "CHAP failure", a limit name...
  uint64_t repeats = 0;          // same (group, target, reason) refused again since, not listed separately
};

struct LimitHit {
  std::string limit;  // LimitEvents::name
  uint64_t count = 0;
};

struct OperatorDisk {
  DiskInfo disk;             // without secrets (chap_secret/mutual_secret empty)
  std::string account_id;
  std::string tier;
};

// One node of the fleet as this node last saw it.
struct FleetNodeView {
  std::string id;
  std::string iscsi_portal;
  std::string tls_portal;
  std::string version;
  bool alive = false;
  int64_t heartbeat_age_ms = 0;  // by the database clock
  uint32_t sessions = 0;
};

struct FleetLeaseView {
  std::string disk_id;
  std::string owner_node;  // "" when released
  int64_t epoch = 0;
  int64_t expires_in_ms = 0;  // negative: expired
};

// The fleet this node belongs to; `enabled` false on a single node.
struct FleetView {
  bool enabled = false;
  std::string this_node;
  bool connected = false;  // the keeper's last round reached the database
  std::vector<FleetNodeView> nodes;
  std::vector<FleetLeaseView> leases;
};

struct OperatorSnapshot {
  int64_t taken_at_ms = 0;
  std::vector<LiveSession> sessions;     // normal and discovery sessions
  std::vector<RefusedLogin> refused;     // newest first, bounded
  std::vector<LimitHit> limit_hits;      // every limit, zero counts included
  std::vector<OperatorDisk> disks;
  std::vector<ImageInfo> images;         // the catalog, "blank" included
  std::vector<RetainedDisk> retained;    // the first to be deleted first
  FleetView fleet;
};

class OperatorConsole {
 public:
  virtual ~OperatorConsole() = default;

  // True when `token` is a live operator token (compared by hash).
  virtual bool authenticate_operator(std::string_view token) = 0;
  virtual OperatorSnapshot snapshot() = 0;
  // Asks the initiator to log out (Async Message, RFC 7143 11.9.1 event 1),
  // then drops the connection if it has not within a few seconds.
  // not_found when no such live session.
  virtual ServiceResult<Ok> end_session(uint64_t session_id) = 0;
  // Logs the disk's sessions out, then deletes it (any account's disk).
  virtual ServiceResult<Ok> delete_disk(std::string_view disk_id) = 0;
};

}  // namespace scsipub::control
