#pragma once
// What a SendTargets answer (RFC 7143 11.10.2, appendix C) lists, by who
// asks: an authenticated discovery session sees its account's disks and
// nothing else; an anonymous one the free tier's targets; a normal session
// its own target. Each target is listed at the portal that serves it: this
// node's, or the owner's for a disk another node of the fleet serves (a disk
// nobody serves this instant is listed here: its login is told to retry).
// Over TLS no TargetAddress is given, so the initiator logs in where it
// discovered (inside its tunnel) instead of at the plain portal; a login
// there for a disk served elsewhere is redirected to the owner's TLS portal.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iscsi/target_provider.h"

namespace scsipub::control {

class SendTargetsPolicy {
 public:
  struct Sources {
    // The target names of the account behind CHAP user `chap_user`.
    std::function<std::vector<std::string>(std::string_view chap_user)> account_targets;
    // Every target a stranger may log in to.
    std::function<std::vector<std::string>()> anonymous_targets;
    // Whether a stranger may log in to `target_name`.
    std::function<bool(std::string_view target_name)> is_anonymous_target;
    // The "host:port" of the node serving `target_name` when that is not
    // this one (a fleet's disk); nullopt: listed at this node's address.
    // May be empty: every target here.
    std::function<std::optional<std::string>(std::string_view target_name)> served_elsewhere;
  };

  // `public_host` and `portal_group` as in target_address().
  SendTargetsPolicy(Sources sources, std::string public_host, uint16_t portal_group)
      : sources_(std::move(sources)), public_host_(std::move(public_host)), portal_group_(portal_group) {}

  // `which`: the SendTargets value ("All", a target name, or empty for the
  // session's own target); `auth_user`: the CHAP user of the session (empty
  // for AuthMethod=None).
  std::vector<iscsi::SendTargetsEntry> answer(std::string_view which, std::string_view session_target,
                                              std::string_view auth_user, const iscsi::PortalInfo& portal) const;

 private:
  std::vector<std::string> names(std::string_view which, std::string_view session_target,
                                 std::string_view auth_user) const;

  Sources sources_;
  std::string public_host_;
  uint16_t portal_group_;
};

}  // namespace scsipub::control
