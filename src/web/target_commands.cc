#include "web/target_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>

#include "web/iscsiadm_commands.h"

namespace scsipub::web {
namespace {

std::string join_lines(std::initializer_list<std::string> lines) {
  std::string out;
  for (const std::string& line : lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

// Built with fmt::format rather than "literal" + std::string throughout:
// GCC 12 at -O3 flags those concatenations with a false -Wrestrict.
std::string host_port(const PortalAddress& p) { return fmt::format("{}:{}", p.url_host(), p.port); }

bool ip_literal(const PortalAddress& p) {
  if (p.ipv6) return true;
  for (char c : p.host) {
    if (!((c >= '0' && c <= '9') || c == '.')) return false;
  }
  return !p.host.empty();
}

// "iscsiadm -m node -T IQN -p PORTAL" for a portal already quoted.
std::string node_record(std::string_view target, const std::string& quoted_portal) {
  return fmt::format("iscsiadm -m node -T {} -p {}", shell_quote(target), quoted_portal);
}

}  // namespace

std::string PortalAddress::url_host() const { return ipv6 ? fmt::format("[{}]", host) : host; }

std::optional<PortalAddress> parse_portal(std::string_view portal) {
  PortalAddress out;
  std::string_view port_text;
  if (portal.starts_with('[')) {
    size_t close = portal.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    out.host = std::string(portal.substr(1, close - 1));
    out.ipv6 = true;
    std::string_view rest = portal.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return std::nullopt;
      port_text = rest.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else {
    size_t colon = portal.rfind(':');
    if (colon != std::string_view::npos && portal.find(':') != colon) return std::nullopt;  // bare IPv6
    out.host = std::string(portal.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = portal.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;
    }
  }
  if (out.host.empty()) return std::nullopt;
  for (char c : out.host) {
    // Host names, IPv4 and IPv6 literals only: nothing that needs quoting
    // in a URL or a kernel command line.
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              (out.ipv6 && (c == ':' || c == '%'));
    if (!ok) return std::nullopt;
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

PortalAddress portal_address(std::string_view portal) {
  return parse_portal(portal).value_or(PortalAddress{std::string(portal), 3260, false});
}

std::string powershell_quote(std::string_view word) {
  bool literal = !word.empty() && word.front() != '-' && word.find("::") == std::string_view::npos;
  for (char c : word) {
    literal = literal && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '.' || c == '_' || c == '-' || c == ':');
  }
  if (literal) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    quoted += c;
    if (c == '\'') quoted += '\'';  // PowerShell doubles a quote inside single quotes
  }
  quoted += '\'';
  return quoted;
}

std::string libiscsi_url(const PortalAddress& portal, std::string_view target, uint32_t lun) {
  return fmt::format("iscsi://{}/{}/{}", host_port(portal), target, lun);
}

std::string rfc4173_root_path(const PortalAddress& portal, std::string_view target, uint32_t lun) {
  // RFC 4173 5: "iscsi:"<servername>":"<protocol>":"<port>":"<LUN>":"<targetname>;
  // empty fields take the defaults (TCP, 3260, LUN 0).
  return fmt::format("iscsi:{}::{}:{}:{}", portal.url_host(), portal.port != 3260 ? std::to_string(portal.port) : "",
                     lun != 0 ? fmt::format("{:x}", lun) : "", target);
}

AnonymousTargetCommands anonymous_target_commands(const PortalAddress& portal, std::string_view target,
                                                  uint32_t luns, control::Presentation presentation) {
  const std::string p = shell_quote(host_port(portal));
  const std::string node = node_record(target, p);
  AnonymousTargetCommands c;
  c.iscsiadm = join_lines({fmt::format("iscsiadm -m discovery -t sendtargets -p {}", p),
                           fmt::format("{} --login", node)});
  c.cleanup = join_lines({fmt::format("{} --logout", node), fmt::format("{} -o delete", node)});
  c.qemu = "qemu-system-x86_64 -m 1G";
  const bool cdrom = presentation == control::Presentation::dvd;
  for (uint32_t lun = 0; lun < std::max<uint32_t>(luns, 1); ++lun) {
    c.qemu += " -drive ";
    c.qemu += shell_quote(fmt::format("file={},format=raw,{}", libiscsi_url(portal, target, lun),
                                      cdrom ? "media=cdrom" : "if=virtio"));
  }
  if (cdrom) c.qemu += " -boot d";  // SeaBIOS tries hard disks first otherwise
  c.ipxe = fmt::format("sanboot {}", rfc4173_root_path(portal, target));
  c.libiscsi_url = libiscsi_url(portal, target, 0);
  c.libiscsi = fmt::format("iscsi-inq {}", shell_quote(c.libiscsi_url));
  c.powershell = join_lines({fmt::format("New-IscsiTargetPortal -TargetPortalAddress {} -TargetPortalPortNumber {}",
                                         powershell_quote(portal.host), portal.port),
                             fmt::format("Connect-IscsiTarget -NodeAddress {}", powershell_quote(target))});
  return c;
}

TlsTunnelCommands tls_tunnel_commands(const PortalAddress& tls_portal, std::string_view target) {
  TlsTunnelCommands c;
  // verifyChain checks the certificate against the system's CAs; checkHost
  // (or checkIP for an address) that it names the server we meant.
  c.stunnel_config = fmt::format(
      "[scsipub]\n"
      "client = yes\n"
      "accept = {}\n"
      "connect = {}\n"
      "verifyChain = yes\n"
      "CAfile = /etc/ssl/certs/ca-certificates.crt\n"
      "{} = {}\n",
      kTunnelLocalPortal, host_port(tls_portal), ip_literal(tls_portal) ? "checkIP" : "checkHost", tls_portal.host);
  c.stunnel_run = fmt::format("stunnel {}", kStunnelConfigFile);
  const std::string node = node_record(target, std::string(kTunnelLocalPortal));
  c.static_login = join_lines({fmt::format("{} -o new", node),
                               fmt::format("{} -o update -n node.session.auth.authmethod -v None", node),
                               fmt::format("{} --login", node)});
  c.cleanup = join_lines({fmt::format("{} --logout", node), fmt::format("{} -o delete", node)});
  return c;
}

BootCommands boot_commands(const PortalAddress& portal, std::string_view target, std::string_view initiator,
                           std::string_view root) {
  BootCommands c;
  // Debian's initramfs (open-iscsi's local-top/iscsi script) hands these to
  // iscsistart; it resolves no host names, so the address is the portal's.
  c.debian_cmdline = fmt::format(
      "ip=dhcp iscsi_initiator={} iscsi_target_name={} iscsi_target_ip={} iscsi_target_port={} root={} rootwait",
      initiator, target, portal.host, portal.port, root);
  c.debian_initramfs_file = join_lines({fmt::format("ISCSI_INITIATOR={}", initiator),
                                        fmt::format("ISCSI_TARGET_NAME={}", target),
                                        fmt::format("ISCSI_TARGET_IP={}", portal.host),
                                        fmt::format("ISCSI_TARGET_PORT={}", portal.port)});
  c.dracut_cmdline =
      fmt::format("ip=dhcp rd.iscsi.initiator={} netroot={} root={}", initiator, rfc4173_root_path(portal, target), root);
  c.ipxe_script = join_lines({"#!ipxe", "dhcp", fmt::format("set initiator-iqn {}", initiator),
                              fmt::format("sanboot {}", rfc4173_root_path(portal, target))});
  return c;
}

}  // namespace scsipub::web
