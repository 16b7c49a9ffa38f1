#include "web/iscsiadm_commands.h"

#include <string_view>

namespace scsipub::web {
namespace {

bool shell_inert(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
}

// One "-o update" per CHAP setting of a record; `prefix` selects the
// discovery or the node record ("discovery.sendtargets.auth" or
// "node.session.auth").
void add_auth_updates(std::vector<std::string>& out, const std::string& record, std::string_view prefix,
                      const control::DiskInfo& disk, bool mutual) {
  auto update = [&](std::string_view name, std::string_view value) {
    out.push_back(record + " -o update -n " + std::string(prefix) + "." + std::string(name) + " -v " +
                  shell_quote(value));
  };
  update("authmethod", "CHAP");
  update("username", disk.chap_user);
  update("password", disk.chap_secret);
  if (mutual && disk.mutual_secret) {
    // The target answers mutual CHAP with its own name as CHAP_N; open-iscsi
    // checks it against username_in.
    update("username_in", disk.target);
    update("password_in", *disk.mutual_secret);
  }
}

}  // namespace

std::string shell_quote(std::string_view word) {
  bool inert = !word.empty();
  for (char c : word) inert = inert && shell_inert(c);
  if (inert) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";  // close, escaped quote, reopen
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  return quoted;
}

IscsiadmCommands iscsiadm_commands(const control::DiskInfo& disk, std::string_view portal) {
  const std::string p = shell_quote(portal);
  const std::string t = shell_quote(disk.target);
  const std::string discoverydb = "iscsiadm -m discoverydb -t sendtargets -p " + p;
  const std::string node = "iscsiadm -m node -T " + t + " -p " + p;
  IscsiadmCommands c;

  c.discovery.push_back(discoverydb + " -o new");
  // Discovery sessions have no target name, so mutual CHAP is left to the
  // node login, where the name the target answers with is known.
  add_auth_updates(c.discovery, discoverydb, "discovery.sendtargets.auth", disk, false);
  c.discovery.push_back(discoverydb + " --discover");
  add_auth_updates(c.discovery, node, "node.session.auth", disk, true);
  c.discovery.push_back(node + " --login");

  c.static_config.push_back("iscsiadm -m node -o new -T " + t + " -p " + p);
  add_auth_updates(c.static_config, node, "node.session.auth", disk, true);
  c.static_config.push_back(node + " --login");

  c.logout.push_back(node + " --logout");
  c.logout.push_back(node + " -o delete");
  return c;
}

}  // namespace scsipub::web
