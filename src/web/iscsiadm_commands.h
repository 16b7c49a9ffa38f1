#pragma once
// The open-iscsi command lines a user pastes to attach a provisioned disk.
// Pure: values in, strings out, so tests pin every character.
#include <string>
#include <string_view>
#include <vector>

#include "control/disk_service.h"

namespace scsipub::web {

struct IscsiadmCommands {
  // SendTargets discovery with CHAP, then the node's CHAP settings and login.
  std::vector<std::string> discovery;
  // No discovery: create the node record by hand, same CHAP settings, login.
  std::vector<std::string> static_config;
  // Undo either: log out and forget the node record.
  std::vector<std::string> logout;
};

// `portal` is "host:port" (IPv6 bracketed), as Portals::plain.
IscsiadmCommands iscsiadm_commands(const control::DiskInfo& disk, std::string_view portal);

// Leaves words of shell-inert characters alone, single-quotes anything else
// (secrets are alphanumeric in practice, but a pasted command must never
// expand, glob or split whatever the values turn out to hold).
std::string shell_quote(std::string_view word);

}  // namespace scsipub::web
