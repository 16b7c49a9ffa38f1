#include "web/landing_page.h"

#include <fmt/format.h>

#include <iterator>
#include <string_view>

#include "control/target_names.h"
#include "web/html_escape.h"
#include "web/page_layout.h"
#include "web/target_commands.h"

namespace scsipub::web {
namespace {

// Appends markup and escaped text to one string; the page is built in a
// single pass.
class Html {
 public:
  Html& raw(std::string_view markup) {
    out_ += markup;
    return *this;
  }
  Html& text(std::string_view text) {
    append_html_escaped(out_, text);
    return *this;
  }
  Html& number(uint64_t n) {
    out_ += std::to_string(n);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// A command the reader pastes: <pre><code id> holding exactly `text` (no
// whitespace around it, so the code element's textContent is the command),
// and a copy button naming that id. The button starts hidden: without
// site.js it could do nothing. `kind` becomes data-command when non-empty.
void command(Html& h, std::string_view id, std::string_view label, std::string_view text,
             std::string_view kind = {}) {
  h.raw("<div class=\"cmd\"><div class=\"cmd-bar\"><span class=\"cmd-label\">").text(label);
  h.raw("</span><button type=\"button\" class=\"copy\" data-copy=\"").text(id);
  h.raw("\" aria-label=\"Copy: ").text(label).raw("\" hidden>Copy</button></div><pre><code id=\"").text(id);
  h.raw("\"");
  if (!kind.empty()) h.raw(" data-command=\"").text(kind).raw("\"");
  h.raw(">").text(text).raw("</code></pre></div>\n");
}

std::string id_for(size_t index, std::string_view what) { return fmt::format("image-{}-{}", index, what); }

// The five ways to use one target, as /api/v1/images lists them.
void target_commands(Html& h, size_t index, std::string_view name, const AnonymousTargetCommands& c) {
  const auto label = [&](std::string_view way) { return fmt::format("{} for {}", way, name); };
  command(h, id_for(index, "iscsiadm"), label("Linux (open-iscsi)"), c.iscsiadm, "iscsiadm");
  command(h, id_for(index, "qemu"), label("QEMU"), c.qemu, "qemu");
  command(h, id_for(index, "ipxe"), label("iPXE"), c.ipxe, "ipxe");
  command(h, id_for(index, "libiscsi"), label("libiscsi"), c.libiscsi, "libiscsi");
  command(h, id_for(index, "powershell"), label("Windows PowerShell"), c.powershell, "powershell");
  h.raw("<p class=\"note\">libiscsi URL: <code>").text(c.libiscsi_url).raw("</code></p>\n");
}

const control::ImageInfo* find_image(const std::vector<control::ImageInfo>& images, std::string_view name) {
  for (const auto& i : images) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

std::string write_rule(uint64_t limit) {
  return limit == 0 ? std::string("up to the whole disk") : fmt::format("up to {}", human_size(limit));
}

void intro(Html& h, const LandingPageInputs& in) {
  h.raw("<section class=\"intro\" aria-labelledby=\"title\">\n<h1 id=\"title\">Pick an image, get a block device</h1>\n");
  h.raw("<p class=\"lead\">scsipub serves iSCSI targets on the public internet: log in from any initiator and "
        "a scratch disk or an operating system image appears as a local disk, with no signup. "
        "Every login gets its own private copy-on-write overlay, and everything written to it is deleted "
        "when you log out.</p>\n");
  h.raw("<p id=\"status\" class=\"status\"><span class=\"stat\"><span data-stat=\"targets\">")
      .number(in.status.targets)
      .raw("</span> targets</span> <span class=\"stat\"><span data-stat=\"sessions\">")
      .number(in.status.sessions)
      .raw("</span> sessions now</span></p>\n</section>\n");
}

void try_it(Html& h, const LandingPageInputs& in, const PortalAddress& portal) {
  const control::ImageInfo* blank = find_image(in.images, "blank");
  const std::string target = blank != nullptr ? blank->target : control::blank_target();
  const AnonymousTargetCommands c = anonymous_target_commands(portal, target);
  h.raw("<section id=\"try-it\" aria-labelledby=\"try-it-title\">\n<h2 id=\"try-it-title\">Try it now</h2>\n");
  h.raw("<p>On any Linux machine with open-iscsi (<code>apt install open-iscsi</code>), as root: discover the "
        "targets at <code>")
      .text(portal.url_host())
      .raw(":")
      .number(portal.port)
      .raw("</code>, then log in to the blank target");
  if (blank != nullptr) h.raw(" (").text(human_size(blank->size_bytes)).raw(" of zeros)");
  h.raw(".</p>\n");
  command(h, "try-login", "Discover and log in", c.iscsiadm);
  h.raw("<p>A new disk appears (<code>lsblk</code> shows it as <code>/dev/sdX</code>): partition it, format it, "
        "mount it. It is yours alone.</p>\n");
  h.raw("<p>When you are done, log out <em>and</em> delete the node record. open-iscsi keeps a record of every "
        "target it logged in to, and iscsid retries a lost login to it forever: a stale record keeps knocking "
        "long after the disk is gone.</p>\n");
  command(h, "try-cleanup", "Log out and forget the target", c.cleanup);
  h.raw("</section>\n");
}

void free_tier(Html& h, const LandingPageInputs& in) {
  const control::ImageInfo* blank = find_image(in.images, "blank");
  h.raw("<section id=\"free-tier\" aria-labelledby=\"free-tier-title\">\n"
        "<h2 id=\"free-tier-title\">Free tier rules</h2>\n<ul>\n");
  h.raw("<li><code>blank</code> is ");
  if (blank != nullptr) h.text(human_size(blank->size_bytes)).raw(" of zeros; ");
  h.raw("you may write ").text(write_rule(in.blank_write_limit)).raw(".</li>\n");
  h.raw("<li>Catalog images are read-only bases; your writes go to a private overlay, ")
      .text(write_rule(in.image_write_limit))
      .raw(". Past the limit writes fail with a write-protect error.</li>\n");
  h.raw("<li>Everything you wrote is deleted when you log out (or the connection is gone for good). "
        "Nobody else ever sees it.</li>\n");
  h.raw("<li>No account, no password: a few sessions per address, and anonymous logins only to the targets "
        "listed here.</li>\n</ul>\n</section>\n");
}

void catalog(Html& h, const LandingPageInputs& in, const PortalAddress& portal) {
  h.raw("<section id=\"catalog\" aria-labelledby=\"catalog-title\">\n<h2 id=\"catalog-title\">Catalog</h2>\n");
  h.raw("<p>Every target below works with the same commands; pick the initiator you have.</p>\n");
  size_t index = 0;
  for (const auto& image : in.images) {
    h.raw("<article class=\"image\" data-image=\"").text(image.name).raw("\">\n<h3>").text(image.name).raw("</h3>\n");
    if (!image.title.empty()) h.raw("<p class=\"image-title\">").text(image.title).raw("</p>\n");
    if (!image.description.empty()) h.raw("<p class=\"image-description\">").text(image.description).raw("</p>\n");
    h.raw("<dl><dt>Size</dt><dd>").text(human_size(image.size_bytes));
    if (image.presentation == control::Presentation::dvd) h.raw("</dd><dt>Drive</dt><dd>DVD-ROM (read-only)");
    h.raw("</dd><dt>Target</dt><dd><code class=\"iqn\">").text(image.target).raw("</code></dd></dl>\n");
    target_commands(h, index, image.name, anonymous_target_commands(portal, image.target, 1, image.presentation));
    h.raw("</article>\n");
    ++index;
  }
  if (!in.multi_images.empty()) {
    const std::string target = control::multi_target();
    h.raw("<article class=\"image\" data-image=\"multi\">\n<h3>multi</h3>\n");
    h.raw("<dl><dt>Target</dt><dd><code class=\"iqn\">").text(target).raw("</code></dd>");
    h.raw("<dt>LUNs</dt><dd><ol class=\"luns\" start=\"0\">");
    for (const auto& name : in.multi_images) {
      h.raw("<li>").text(name);
      if (const auto* image = find_image(in.images, name)) h.raw(" (").text(human_size(image->size_bytes)).raw(")");
      h.raw("</li>");
    }
    h.raw("</ol></dd></dl>\n<p>One target, several LUNs, one private overlay per LUN. QEMU gets a drive per LUN; "
          "the other lines use LUN 0.</p>\n");
    target_commands(h, index, "multi",
                    anonymous_target_commands(portal, target, static_cast<uint32_t>(in.multi_images.size())));
    h.raw("</article>\n");
  }
  h.raw("</section>\n");
}

void tls(Html& h, const LandingPageInputs& in) {
  auto tls_portal = parse_portal(in.portals.tls);
  if (!tls_portal) return;
  const control::ImageInfo* blank = find_image(in.images, "blank");
  const std::string target = blank != nullptr ? blank->target : control::blank_target();
  const TlsTunnelCommands c = tls_tunnel_commands(*tls_portal, target);
  h.raw("<section id=\"tls\" aria-labelledby=\"tls-title\">\n<h2 id=\"tls-title\">iSCSI over TLS</h2>\n");
  h.raw("<p>The same targets are served inside TLS at <code>").text(tls_portal->url_host()).raw(":");
  h.number(tls_portal->port).raw("</code>. open-iscsi speaks no TLS, so a local stunnel carries it: save this as <code>");
  h.text(kStunnelConfigFile).raw("</code> and start it.</p>\n");
  command(h, "tls-stunnel-config", "stunnel client configuration", c.stunnel_config);
  command(h, "tls-stunnel-run", "Start the tunnel", c.stunnel_run);
  h.raw("<p>Then log in through the tunnel's local end with a static node record: <code>-o new</code> creates "
        "the record at <code>")
      .text(kTunnelLocalPortal)
      .raw("</code> itself. Why not discover through the tunnel? iscsiadm saves the portal a SendTargets answer "
           "names, and a target that names its public portal sends the next login around the tunnel, in plain "
           "text. scsipub leaves that address out of its answers over TLS, so discovery through the tunnel "
           "records the tunnel here, but the static sequence is right with every target and creates exactly one "
           "record.</p>\n");
  command(h, "tls-login", "Static login through the tunnel", c.static_login);
  command(h, "tls-cleanup", "Log out and forget the record", c.cleanup);
  h.raw("<p>For another target, replace the IQN. For an operator's own certificate authority, point "
        "<code>CAfile</code> at it.</p>\n</section>\n");
}

void hardware(Html& h, const LandingPageInputs& in, const PortalAddress& portal) {
  // A catalog image makes the better boot example; the blank disk has no OS.
  const control::ImageInfo* boot_image = nullptr;
  for (const auto& i : in.images) {
    if (i.name != "blank") {
      boot_image = &i;
      break;
    }
  }
  const std::string target = boot_image != nullptr ? boot_image->target : control::blank_target();
  const BootCommands c = boot_commands(portal, target, kExampleInitiator, "/dev/sda2");
  h.raw("<section id=\"hardware\" aria-labelledby=\"hardware-title\">\n"
        "<h2 id=\"hardware-title\">Hardware initiators</h2>\n");
  h.raw("<h3>Raspberry Pi 3, 4 and 5: root on iSCSI</h3>\n");
  h.raw("<p>The Pi loads its kernel and initramfs from the SD card or the network and mounts its root file system "
        "from a target. On Raspberry Pi OS or Debian, install <code>open-iscsi</code>, then give the initramfs "
        "the target either on the kernel command line (<code>cmdline.txt</code>, one line):</p>\n");
  command(h, "pi-debian-cmdline", "Debian initramfs kernel parameters", c.debian_cmdline);
  h.raw("<p>or in <code>/etc/iscsi/iscsi.initramfs</code>, followed by <code>update-initramfs -u</code>:</p>\n");
  command(h, "pi-debian-initramfs", "Debian /etc/iscsi/iscsi.initramfs", c.debian_initramfs_file);
  h.raw("<p>With a dracut initramfs (Fedora, openSUSE) the same is <code>netroot</code>:</p>\n");
  command(h, "pi-dracut-cmdline", "dracut kernel parameters", c.dracut_cmdline);
  h.raw("<p><code>ip=dhcp</code> brings the network up before the login; use a numeric address for the target "
        "(the initramfs resolves no names) and give every machine its own InitiatorName. On the free tier the "
        "root starts fresh at every boot (the overlay goes at logout), which suits kiosks and demos; for a root "
        "that keeps its writes use a <a href=\"#paid\">paid disk</a> and add <code>iscsi_username=</code> and "
        "<code>iscsi_password=</code> (dracut: <code>netroot=iscsi:user:password@…</code>).</p>\n");
  h.raw("<p>A root on iSCSI cannot afford to drop its session, so these initiators run with "
        "<code>node.conn[0].timeo.noop_out_interval=0</code>: they send no NOP-Out pings at all. scsipub therefore "
        "never depends on them: it pings an idle connection itself with NOP-In (RFC 7143 11.19) and keeps every "
        "session whose initiator answers.</p>\n");
  h.raw("<h3>iPXE: boot a PC or a VM from a target</h3>\n");
  h.raw("<p>iPXE (in QEMU's firmware, on many network cards, or chainloaded as <code>undionly.kpxe</code> or "
        "<code>ipxe.efi</code> from your DHCP/TFTP server) boots an image straight from its target with this "
        "script:</p>\n");
  command(h, "ipxe-script", "iPXE script", c.ipxe_script);
  h.raw("<h3>Microcontrollers</h3>\n");
  h.raw("<p>A small initiator, such as an ESP32 that presents a target to lab equipment as a USB stick, opens one "
        "connection, keeps one command in flight and reconnects often, with the same InitiatorName and ISID. "
        "scsipub gives it exactly that: one connection per session (MaxConnections=1), any queue depth down to "
        "one, and session reinstatement (RFC 7143 6.3.5): a login from the same address with the same "
        "InitiatorName and ISID ends the old session at once instead of waiting for it to time out, so reconnects "
        "never run into the per-address session limit. A free-tier overlay ends with its session; a paid disk "
        "keeps its data across reconnects.</p>\n</section>\n");
}

void paid(Html& h) {
  h.raw("<section id=\"paid\" aria-labelledby=\"paid-title\">\n<h2 id=\"paid-title\">Paid tier</h2>\n");
  h.raw("<p>Accounts get provisioned disks: CHAP (and mutual CHAP) logins, several LUNs per target, disks shared "
        "by every initiator you give the secret, kept across disconnects and restarts, and SCSI-3 persistent "
        "reservations for cluster fencing (Pacemaker, Windows failover clusters). Disks are created and deleted "
        "through the session API, which also returns the exact <code>iscsiadm</code> commands: see "
        "<a href=\"/docs/api\">the API documentation</a>.</p>\n</section>\n");
}

}  // namespace

std::string human_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  // Whole numbers print without a fraction ("64 MiB"), others with one digit.
  if (value == static_cast<double>(static_cast<uint64_t>(value))) {
    return fmt::format("{} {}", static_cast<uint64_t>(value), kUnits[unit]);
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string render_landing_page(const LandingPageInputs& in) {
  const PortalAddress portal = portal_address(in.portals.plain);
  Html h;
  h.raw(page_start("scsipub: iSCSI targets on the public internet",
                   "Free iSCSI targets on the public internet: a scratch disk or an OS image as a block device, "
                   "no signup.",
                   in.asset_version));
  intro(h, in);
  try_it(h, in, portal);
  catalog(h, in, portal);
  free_tier(h, in);
  tls(h, in);
  hardware(h, in, portal);
  paid(h);
  h.raw(page_end());
  return h.take();
}

}  // namespace scsipub::web
