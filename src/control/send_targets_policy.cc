#include "control/send_targets_policy.h"

#include "control/target_address.h"

namespace scsipub::control {

std::vector<std::string> SendTargetsPolicy::names(std::string_view which, std::string_view session_target,
                                                  std::string_view auth_user) const {
  std::vector<std::string> names;
  if (!auth_user.empty()) {
    // An authenticated session sees its account's disks, and nothing else.
    names = sources_.account_targets(auth_user);
    if (which != "All") {
      std::string_view wanted = which.empty() ? session_target : which;
      std::erase_if(names, [&](const std::string& n) { return n != wanted; });
    }
  } else if (which == "All") {
    names = sources_.anonymous_targets();
  } else {
    std::string_view wanted = which.empty() ? session_target : which;
    if (!wanted.empty() && sources_.is_anonymous_target(wanted)) names.emplace_back(wanted);
  }
  return names;
}

std::vector<iscsi::SendTargetsEntry> SendTargetsPolicy::answer(std::string_view which,
                                                               std::string_view session_target,
                                                               std::string_view auth_user,
                                                               const iscsi::PortalInfo& portal) const {
  // Over TLS the initiator reaches us through a tunnel (stunnel) whose local
  // end we cannot know: without a TargetAddress it logs in where it
  // discovered (RFC 7143 appendix C), which keeps it inside the tunnel instead of
  // sending it to the plain portal.
  std::vector<iscsi::SendTargetsEntry> out;
  if (portal.tls) {
    for (auto& n : names(which, session_target, auth_user)) out.push_back({std::move(n), {}});
    return out;
  }
  const std::string here = target_address(public_host_, portal_group_, portal);
  for (auto& n : names(which, session_target, auth_user)) {
    std::optional<std::string> owner = sources_.served_elsewhere ? sources_.served_elsewhere(n) : std::nullopt;
    std::string address = owner ? target_address(*owner, portal_group_, portal) : here;
    out.push_back({std::move(n), {std::move(address)}});
  }
  return out;
}

}  // namespace scsipub::control
