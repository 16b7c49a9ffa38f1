#include "web/target_commands.h"

#include <gtest/gtest.h>

#include <string>

namespace scsipub::web {
namespace {

constexpr char kBlank[] = "iqn.2025-01.pub.scsipub:blank";

PortalAddress portal(std::string_view text) {
  auto p = parse_portal(text);
  EXPECT_TRUE(p) << text;
  return p.value_or(PortalAddress{});
}

TEST(ParsePortal, HostAndPort) {
  auto p = portal("scsipub.example:3260");
  EXPECT_EQ(p.host, "scsipub.example");
  EXPECT_EQ(p.port, 3260);
  EXPECT_FALSE(p.ipv6);
  EXPECT_EQ(p.url_host(), "scsipub.example");
  EXPECT_EQ(portal("192.0.2.1:13260").port, 13260);
  EXPECT_EQ(portal("192.0.2.1").port, 3260);  // the well-known port when none is given
}

TEST(ParsePortal, BracketedIpv6) {
  auto p = portal("[2001:db8::1]:3261");
  EXPECT_EQ(p.host, "2001:db8::1");
  EXPECT_EQ(p.port, 3261);
  EXPECT_TRUE(p.ipv6);
  EXPECT_EQ(p.url_host(), "[2001:db8::1]");
  EXPECT_EQ(portal("[::1]").port, 3260);
}

TEST(ParsePortal, RefusesWhatIsNotAHostAndPort) {
  for (std::string_view bad : {"", ":3260", "host:", "host:0", "host:65536", "host:32a", "[::1", "[]:1", "[::1]x",
                               "::1", "host name:1", "<b>:1", "a'b:1", "h;rm:1", "[::1]:"}) {
    EXPECT_FALSE(parse_portal(bad)) << bad;
  }
}

TEST(PortalAddress, FallsBackToTheTextAsHost) {
  auto p = portal_address("not a portal");
  EXPECT_EQ(p.host, "not a portal");
  EXPECT_EQ(p.port, 3260);
  EXPECT_EQ(portal_address("h:1").port, 1);
}

TEST(AnonymousTargetCommands, EveryCharacterForTheDefaultPort) {
  auto c = anonymous_target_commands(portal("192.0.2.1:3260"), kBlank);
  EXPECT_EQ(c.iscsiadm,
            "iscsiadm -m discovery -t sendtargets -p 192.0.2.1:3260\n"
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:blank -p 192.0.2.1:3260 --login");
  EXPECT_EQ(c.cleanup,
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:blank -p 192.0.2.1:3260 --logout\n"
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:blank -p 192.0.2.1:3260 -o delete");
  EXPECT_EQ(c.qemu,
            "qemu-system-x86_64 -m 1G -drive "
            "file=iscsi://192.0.2.1:3260/iqn.2025-01.pub.scsipub:blank/0,format=raw,if=virtio");
  EXPECT_EQ(c.ipxe, "sanboot iscsi:192.0.2.1::::iqn.2025-01.pub.scsipub:blank");
  EXPECT_EQ(c.libiscsi_url, "iscsi://192.0.2.1:3260/iqn.2025-01.pub.scsipub:blank/0");
  EXPECT_EQ(c.libiscsi, "iscsi-inq iscsi://192.0.2.1:3260/iqn.2025-01.pub.scsipub:blank/0");
  EXPECT_EQ(c.powershell,
            "New-IscsiTargetPortal -TargetPortalAddress 192.0.2.1 -TargetPortalPortNumber 3260\n"
            "Connect-IscsiTarget -NodeAddress iqn.2025-01.pub.scsipub:blank");
}

TEST(AnonymousTargetCommands, OtherPortAndHostName) {
  auto c = anonymous_target_commands(portal("scsipub.example:13260"), "iqn.2025-01.pub.scsipub:image.debian");
  EXPECT_EQ(c.iscsiadm,
            "iscsiadm -m discovery -t sendtargets -p scsipub.example:13260\n"
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:image.debian -p scsipub.example:13260 --login");
  // RFC 4173: the port goes in the third field when it is not 3260.
  EXPECT_EQ(c.ipxe, "sanboot iscsi:scsipub.example::13260::iqn.2025-01.pub.scsipub:image.debian");
  EXPECT_EQ(c.powershell,
            "New-IscsiTargetPortal -TargetPortalAddress scsipub.example -TargetPortalPortNumber 13260\n"
            "Connect-IscsiTarget -NodeAddress iqn.2025-01.pub.scsipub:image.debian");
}

TEST(AnonymousTargetCommands, Ipv6IsBracketedAndQuoted) {
  auto c = anonymous_target_commands(portal("[2001:db8::7]:3260"), kBlank);
  // Brackets would glob in a shell: the portal and the URL are quoted.
  EXPECT_EQ(c.iscsiadm,
            "iscsiadm -m discovery -t sendtargets -p '[2001:db8::7]:3260'\n"
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:blank -p '[2001:db8::7]:3260' --login");
  EXPECT_EQ(c.libiscsi, "iscsi-inq 'iscsi://[2001:db8::7]:3260/iqn.2025-01.pub.scsipub:blank/0'");
  EXPECT_EQ(c.ipxe, "sanboot iscsi:[2001:db8::7]::::iqn.2025-01.pub.scsipub:blank");
  EXPECT_EQ(c.powershell,
            "New-IscsiTargetPortal -TargetPortalAddress '2001:db8::7' -TargetPortalPortNumber 3260\n"
            "Connect-IscsiTarget -NodeAddress iqn.2025-01.pub.scsipub:blank");
}

TEST(AnonymousTargetCommands, MultiGetsADrivePerLun) {
  auto c = anonymous_target_commands(portal("h:3260"), "iqn.2025-01.pub.scsipub:multi", 2);
  EXPECT_EQ(c.qemu,
            "qemu-system-x86_64 -m 1G"
            " -drive file=iscsi://h:3260/iqn.2025-01.pub.scsipub:multi/0,format=raw,if=virtio"
            " -drive file=iscsi://h:3260/iqn.2025-01.pub.scsipub:multi/1,format=raw,if=virtio");
  EXPECT_EQ(c.libiscsi_url, "iscsi://h:3260/iqn.2025-01.pub.scsipub:multi/0");
}

TEST(AnonymousTargetCommands, DvdIsACdRomThatQemuBootsFrom) {
  const std::string iqn = "iqn.2025-01.pub.scsipub:image.debian-netinst";
  auto dvd = anonymous_target_commands(portal("h:3260"), iqn, 1, control::Presentation::dvd);
  // SeaBIOS boots El Torito from an ATAPI drive (QEMU's default IDE bus),
  // and only when told to prefer the CD over hard disks.
  EXPECT_EQ(dvd.qemu,
            "qemu-system-x86_64 -m 1G"
            " -drive file=iscsi://h:3260/iqn.2025-01.pub.scsipub:image.debian-netinst/0,format=raw,media=cdrom"
            " -boot d");
  // Everything but QEMU addresses the LUN the same way for a disk and a DVD.
  auto disk = anonymous_target_commands(portal("h:3260"), iqn, 1, control::Presentation::disk);
  EXPECT_EQ(disk.qemu,
            "qemu-system-x86_64 -m 1G"
            " -drive file=iscsi://h:3260/iqn.2025-01.pub.scsipub:image.debian-netinst/0,format=raw,if=virtio");
  EXPECT_EQ(dvd.ipxe, disk.ipxe);
  EXPECT_EQ(dvd.iscsiadm, disk.iscsiadm);
  EXPECT_EQ(dvd.libiscsi, disk.libiscsi);
  EXPECT_EQ(dvd.powershell, disk.powershell);
}

TEST(AnonymousTargetCommands, HostileTargetNamesStayOneWord) {
  auto c = anonymous_target_commands(portal("h:3260"), "x$(reboot) 'y'");
  EXPECT_EQ(c.iscsiadm,
            "iscsiadm -m discovery -t sendtargets -p h:3260\n"
            "iscsiadm -m node -T 'x$(reboot) '\\''y'\\''' -p h:3260 --login");
  EXPECT_EQ(c.powershell,
            "New-IscsiTargetPortal -TargetPortalAddress h -TargetPortalPortNumber 3260\n"
            "Connect-IscsiTarget -NodeAddress 'x$(reboot) ''y'''");
}

TEST(Rfc4173RootPath, LunIsHexadecimal) {
  EXPECT_EQ(rfc4173_root_path(portal("10.0.0.1:3260"), kBlank, 0), "iscsi:10.0.0.1::::iqn.2025-01.pub.scsipub:blank");
  EXPECT_EQ(rfc4173_root_path(portal("10.0.0.1:3260"), kBlank, 1), "iscsi:10.0.0.1:::1:iqn.2025-01.pub.scsipub:blank");
  EXPECT_EQ(rfc4173_root_path(portal("10.0.0.1:3260"), kBlank, 26),
            "iscsi:10.0.0.1:::1a:iqn.2025-01.pub.scsipub:blank");
  EXPECT_EQ(rfc4173_root_path(portal("10.0.0.1:3300"), kBlank, 0),
            "iscsi:10.0.0.1::3300::iqn.2025-01.pub.scsipub:blank");
}

TEST(PowershellQuote, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(powershell_quote("iqn.2025-01.pub.scsipub:blank"), "iqn.2025-01.pub.scsipub:blank");
  EXPECT_EQ(powershell_quote("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(powershell_quote(""), "''");
  EXPECT_EQ(powershell_quote("-Force"), "'-Force'");
  EXPECT_EQ(powershell_quote("a b"), "'a b'");
  EXPECT_EQ(powershell_quote("$env:x"), "'$env:x'");
  EXPECT_EQ(powershell_quote("it's"), "'it''s'");
  EXPECT_EQ(powershell_quote("::1"), "'::1'");
}

TEST(TlsTunnelCommands, StunnelConfigAndStaticLogin) {
  auto c = tls_tunnel_commands(portal("scsipub.example:3261"), kBlank);
  EXPECT_EQ(c.stunnel_config,
            "[scsipub]\n"
            "client = yes\n"
            "accept = 127.0.0.1:3260\n"
            "connect = scsipub.example:3261\n"
            "verifyChain = yes\n"
            "CAfile = /etc/ssl/certs/ca-certificates.crt\n"
            "checkHost = scsipub.example\n");
  EXPECT_EQ(c.stunnel_run, "stunnel scsipub-tls.conf");
  const std::string node = "iscsiadm -m node -T iqn.2025-01.pub.scsipub:blank -p 127.0.0.1:3260";
  EXPECT_EQ(c.static_login, node + " -o new\n" + node + " -o update -n node.session.auth.authmethod -v None\n" +
                                node + " --login");
  EXPECT_EQ(c.cleanup, node + " --logout\n" + node + " -o delete");
}

TEST(TlsTunnelCommands, AddressesAreCheckedAsAddresses) {
  auto v4 = tls_tunnel_commands(portal("192.0.2.9:3261"), kBlank);
  EXPECT_NE(v4.stunnel_config.find("\nconnect = 192.0.2.9:3261\n"), std::string::npos);
  EXPECT_NE(v4.stunnel_config.find("\ncheckIP = 192.0.2.9\n"), std::string::npos);
  auto v6 = tls_tunnel_commands(portal("[2001:db8::9]:3261"), kBlank);
  EXPECT_NE(v6.stunnel_config.find("\nconnect = [2001:db8::9]:3261\n"), std::string::npos);
  EXPECT_NE(v6.stunnel_config.find("\ncheckIP = 2001:db8::9\n"), std::string::npos);
}

TEST(BootCommands, DebianDracutAndIpxe) {
  auto c = boot_commands(portal("192.0.2.1:3260"), "iqn.2025-01.pub.scsipub:image.raspios", "iqn.2025-01.lan:pi-1",
                         "/dev/sda2");
  EXPECT_EQ(c.debian_cmdline,
            "ip=dhcp iscsi_initiator=iqn.2025-01.lan:pi-1 iscsi_target_name=iqn.2025-01.pub.scsipub:image.raspios "
            "iscsi_target_ip=192.0.2.1 iscsi_target_port=3260 root=/dev/sda2 rootwait");
  EXPECT_EQ(c.debian_initramfs_file,
            "ISCSI_INITIATOR=iqn.2025-01.lan:pi-1\n"
            "ISCSI_TARGET_NAME=iqn.2025-01.pub.scsipub:image.raspios\n"
            "ISCSI_TARGET_IP=192.0.2.1\n"
            "ISCSI_TARGET_PORT=3260");
  EXPECT_EQ(c.dracut_cmdline,
            "ip=dhcp rd.iscsi.initiator=iqn.2025-01.lan:pi-1 "
            "netroot=iscsi:192.0.2.1::::iqn.2025-01.pub.scsipub:image.raspios root=/dev/sda2");
  EXPECT_EQ(c.ipxe_script,
            "#!ipxe\n"
            "dhcp\n"
            "set initiator-iqn iqn.2025-01.lan:pi-1\n"
            "sanboot iscsi:192.0.2.1::::iqn.2025-01.pub.scsipub:image.raspios");
}

}  // namespace
}  // namespace scsipub::web
