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

// A session's attachment to its target's logical units. Destroying it detaches
// the session (and, for free-tier targets, deletes the private overlays).
class TargetBinding {
 public:
  virtual ~TargetBinding() = default;
  virtual const scsi::LunMap& luns() const = 0;
};

struct BindError {
  uint8_t status_class;
  uint8_t status_detail;
  std::string message;
};

class TargetProvider {
 public:
  virtual ~TargetProvider() = default;
  virtual std::optional<LoginTarget> find(std::string_view target_name, const PortalInfo& portal) = 0;
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
