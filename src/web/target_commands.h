#pragma once
// Every command line the public pages show and /api/v1/images returns for
// the anonymous (free-tier) targets, in one place: the landing page, the API
// and the copy buttons all hand out these exact strings. Pure: values in,
// strings out, so tests pin every character. Multi-line texts are joined
// with "\n" and have no trailing newline.
//
// The provisioned (CHAP) disks' commands are in web/iscsiadm_commands.h.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "control/catalog.h"

namespace scsipub::web {

// "host:port" as control::Portals holds it (IPv6 in brackets), split.
struct PortalAddress {
  std::string host;  // without brackets
  uint16_t port = 3260;
  bool ipv6 = false;
  // "host" or "[v6]": how the host is written in front of ":port" or in a URL.
  std::string url_host() const;
};

// A missing port means 3260 (RFC 7143 13.4, the well-known port); nothing
// when the text is not a host with an optional numeric port.
std::optional<PortalAddress> parse_portal(std::string_view portal);
// parse_portal, or (never for the server's own portals) the whole text as
// the host with port 3260, so a page and the API still agree.
PortalAddress portal_address(std::string_view portal);

struct AnonymousTargetCommands {
  std::string iscsiadm;      // SendTargets discovery, then the login
  std::string cleanup;       // logout, then delete the node record
  std::string qemu;          // a VM booting the target: its LUNs as virtio disks, or a DVD as a CD-ROM
  std::string ipxe;          // sanboot with the RFC 4173 root path
  std::string libiscsi_url;  // iscsi://HOST:PORT/IQN/0
  std::string libiscsi;      // a runnable libiscsi command line (iscsi-inq on LUN 0)
  std::string powershell;    // Windows' initiator: add the portal, connect
};

// `luns`: how many LUNs the target has (multi has several); QEMU gets one
// drive per LUN, everything else addresses LUN 0. `presentation` dvd (an
// ISO served as a DVD-ROM) gives QEMU a CD-ROM drive (media=cdrom, on the
// default IDE bus: SeaBIOS boots El Torito from ATAPI) and `-boot d`; a disk
// is a virtio disk, which SeaBIOS boots by default.
AnonymousTargetCommands anonymous_target_commands(const PortalAddress& portal, std::string_view target,
                                                  uint32_t luns = 1,
                                                  control::Presentation presentation = control::Presentation::disk);

// iscsi://HOST:PORT/IQN/LUN, libiscsi's and QEMU's URL form.
std::string libiscsi_url(const PortalAddress& portal, std::string_view target, uint32_t lun);

// RFC 4173 root path, iscsi:<server>:<protocol>:<port>:<LUN>:<targetname>,
// as iPXE and dracut read it: protocol empty (TCP), the port left out when
// it is 3260, the LUN in hexadecimal and left out when 0.
std::string rfc4173_root_path(const PortalAddress& portal, std::string_view target, uint32_t lun = 0);

// iSCSI over TLS through a local stunnel: the client's configuration file
// and the static login through it. Discovery through the tunnel would save
// the portal the target advertises (the public one), not the tunnel's local
// end, so the node record is created by hand (-o new) at the local end.
struct TlsTunnelCommands {
  std::string stunnel_config;  // the file, ending in a newline
  std::string stunnel_run;     // starts stunnel with that file
  std::string static_login;    // -o new, authmethod None, --login
  std::string cleanup;         // logout, delete the node record
};
inline constexpr std::string_view kTunnelLocalPortal = "127.0.0.1:3260";
inline constexpr std::string_view kStunnelConfigFile = "scsipub-tls.conf";

TlsTunnelCommands tls_tunnel_commands(const PortalAddress& tls_portal, std::string_view target);

// Booting a machine's root file system from a target.
struct BootCommands {
  std::string debian_cmdline;  // Debian's open-iscsi initramfs (iscsi_* parameters)
  std::string debian_initramfs_file;  // the same as /etc/iscsi/iscsi.initramfs (ISCSI_* variables)
  std::string dracut_cmdline;  // dracut's netroot=iscsi:...
  std::string ipxe_script;     // DHCP, then sanboot
};

// `initiator` is the booting machine's own InitiatorName; `root` the root
// device as the booted kernel sees the target's LUN 0 partition.
BootCommands boot_commands(const PortalAddress& portal, std::string_view target, std::string_view initiator,
                           std::string_view root);

// Single-quotes a PowerShell argument unless it is made only of characters
// PowerShell's argument mode takes literally.
std::string powershell_quote(std::string_view word);

}  // namespace scsipub::web
