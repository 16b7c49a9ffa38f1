#pragma once
// What the iSCSI layer asks of the control layer: which targets exist, what
// SendTargets lists, and the logical units a logged-in session attaches to.
// Implemented in control/; the iSCSI layer never builds a logical unit itself.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "iscsi/login_negotiator.h"
#include "iscsi/text_exchange.h"
#include "lu/nexus.h"
#include "scsi/lun_map.h"
#include "scsi/scsi_task.h"

namespace scsipub::iscsi {

// Where a connection came from and arrived at; SendTargets falls back to the
// local address when no public host is configured.
struct PortalInfo {
  std::string local_address;  // numeric, no brackets
  uint16_t local_port = 0;
  std::string peer_address;
  uint16_t peer_port = 0;
  bool tls = false;
  // The peer's address group (common/address_group.h), set at accept: every
  // per-address limit counts in it. Empty: the peer address is its own group.
  std::string peer_group;
  const std::string& group() const { return peer_group.empty() ? peer_address : peer_group; }
};

// How a session ended, as the iSCSI layer saw it. Only a Logout is the
// initiator saying it is done with the disk; every other end may be a network
// blip after which the initiator reinstates the session (RFC 7143 6.3.5) and
// expects the same contents.
enum class SessionEnd : uint8_t {
  logout,      // Logout Request answered (RFC 7143 11.14)
  dropped,     // the connection failed: reset, EOF, timeout, digest or protocol error
  reinstated,  // a login with the same ISID + InitiatorName ended it, or it was terminated
  reset,       // TARGET COLD RESET (RFC 7143 11.5.1)
  shutdown,    // the server is stopping
};
inline const char* to_string(SessionEnd how) {
  switch (how) {
    case SessionEnd::logout: return "logout";
    case SessionEnd::dropped: return "connection dropped";
    case SessionEnd::reinstated: return "reinstated";
    case SessionEnd::reset: return "target reset";
    case SessionEnd::shutdown: return "shutdown";
  }
  return "?";
}

// A session's attachment to its target's logical units. Destroying it detaches
// the session (and, for free-tier targets, deletes the private overlays unless
// the end allows them to be retained for a reinstating login).
class TargetBinding {
 public:
  virtual ~TargetBinding() = default;
  virtual const scsi::LunMap& luns() const = 0;
  // Called once, just before the binding is destroyed, by the connection
  // that held it; a binding destroyed without it ended by Logout.
  virtual void end(SessionEnd /*how*/) {}
};

struct BindError {
  uint8_t status_class;
  uint8_t status_detail;
  std::string message;
};

class TargetProvider {
 public:
  virtual ~TargetProvider() = default;
  // The target `who` names at `portal`, or nullopt when there is none;
  // LoginTarget::where says whether it is served here.
  virtual std::optional<LoginTarget> find(std::string_view target_name, const LoginRequester& who,
                                          const PortalInfo& portal) = 0;
  // `auth_user` is the CHAP user the session authenticated as (empty for
  // AuthMethod=None): a discovery session's credentials decide what it sees.
  virtual std::vector<SendTargetsEntry> send_targets(std::string_view which, std::string_view session_target,
                                                     std::string_view auth_user, const PortalInfo& portal) = 0;
  // The security-stage authenticator for `method`, or nullptr when the
  // target cannot use it (see AuthenticatorFactory).
  virtual std::unique_ptr<Authenticator> authenticator(std::string_view /*method*/, const LoginTarget& /*target*/,
                                                       std::string_view /*initiator_name*/,
                                                       const PortalInfo& /*portal*/) {
    return nullptr;
  }
  virtual Result<std::unique_ptr<TargetBinding>, BindError> bind(std::string_view target_name, const lu::Nexus& nexus,
                                                                 const PortalInfo& portal) = 0;
};

}  // namespace scsipub::iscsi
