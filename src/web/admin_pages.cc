#include "web/admin_pages.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "web/html_escape.h"

namespace scsipub::web {
namespace {

// One table: its header cells and, per row, the cells' class and text.
struct Cell {
  std::string_view cls;
  std::string text;
};

// Appends `<tag class="cls">escaped text</tag>`.
void cell(std::string& out, const Cell& c) {
  out += "<td";
  if (!c.cls.empty()) fmt::format_to(std::back_inserter(out), " class=\"{}\"", c.cls);
  out += '>';
  out += html_escape(c.text);
  out += "</td>";
}

void head(std::string& out, std::string_view title, std::string_view csrf) {
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  if (!csrf.empty()) fmt::format_to(std::back_inserter(out), "<meta name=\"csrf-token\" content=\"{}\">", html_escape(csrf));
  fmt::format_to(std::back_inserter(out),
                 "<title>{}</title><link rel=\"icon\" href=\"data:,\">"
                 "<link rel=\"stylesheet\" href=\"/static/admin.css\">",
                 html_escape(title));
}

void csrf_field(std::string& out, std::string_view csrf) {
  fmt::format_to(std::back_inserter(out), "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
                 html_escape(csrf));
}

// A form posting to `action` with one button: the no-JavaScript way to act;
// admin.js takes the same forms over with fetch().
// `mode` is what admin.js calls this cell's state ("end", "delete").
void action_form(std::string& out, std::string_view mode, std::string_view action, std::string_view button_class,
                 std::string_view label, std::string_view aria_label, std::string_view csrf) {
  fmt::format_to(std::back_inserter(out),
                 "<td class=\"action\" data-mode=\"{}\"><form method=\"post\" action=\"{}\">", mode,
                 html_escape(action));
  csrf_field(out, csrf);
  fmt::format_to(std::back_inserter(out), "<button type=\"submit\" class=\"{}\" aria-label=\"{}\">{}</button></form></td>",
                 button_class, html_escape(aria_label), html_escape(label));
}

std::string fixed(double v, int digits) {
  if (!(v >= 0) || v > 1e18) v = 0;  // NaN, negative or absurd: nothing to show
  return fmt::format("{:.{}f}", v, digits);
}

std::string luns_text(const std::vector<uint32_t>& luns) {
  std::string out;
  for (uint32_t l : luns) {
    if (!out.empty()) out += ", ";
    out += std::to_string(l);
  }
  return out;
}

std::string overlay_text(const control::LiveSession& s) {
  if (!s.overlay_bytes) return "-";
  std::string out = format_bytes(*s.overlay_bytes);
  out += " / ";
  out += s.write_limit ? format_bytes(*s.write_limit) : std::string("unlimited");
  return out;
}

std::vector<Cell> session_cells(const control::LiveSession& s) {
  return {{"id", std::to_string(s.id)},
          {"target", s.target},
          {"kind", s.kind},
          {"luns", luns_text(s.luns)},
          {"initiator", s.initiator_name},
          {"isid", s.isid},
          {"peer", s.peer_address},
          {"transport", s.tls ? "TLS" : "plain"},
          {"auth", s.authenticated ? "CHAP" : "none"},
          {"since", format_time_ms(s.connected_since_ms)},
          {"read", format_bytes(s.read_bytes) + " / " + std::to_string(s.read_commands)},
          {"written", format_bytes(s.write_bytes) + " / " + std::to_string(s.write_commands)},
          {"iops", fixed(s.read_iops, 1) + " / " + fixed(s.write_iops, 1)},
          {"mbps", fixed(s.read_bytes_per_second / 1e6, 2) + " / " + fixed(s.write_bytes_per_second / 1e6, 2)},
          {"overlay", overlay_text(s)}};
}

std::vector<Cell> retained_cells(const control::RetainedDisk& r) {
  return {{"target", r.target},
          {"initiator", r.initiator_name},
          {"isid", r.isid},
          {"peer", r.peer_address},
          {"overlay", format_bytes(r.overlay_bytes) + " / " + format_bytes(r.write_limit)},
          {"until", format_time_ms(r.until_ms)}};
}

std::vector<Cell> fleet_node_cells(const control::FleetNodeView& n) {
  return {{"id", n.id},
          {"portal", n.tls_portal.empty() ? n.iscsi_portal : n.iscsi_portal + ", TLS " + n.tls_portal},
          {"alive", n.alive ? "alive" : "dead"},
          {"heartbeat", fixed(static_cast<double>(std::max<int64_t>(n.heartbeat_age_ms, 0)) / 1000.0, 1) + " s ago"},
          {"sessions", std::to_string(n.sessions)},
          {"version", n.version}};
}

std::vector<Cell> fleet_lease_cells(const control::FleetLeaseView& l) {
  std::string expires = "released";
  if (!l.owner_node.empty()) {
    expires = l.expires_in_ms > 0 ? "in " + fixed(static_cast<double>(l.expires_in_ms) / 1000.0, 1) + " s" : "expired";
  }
  return {{"disk", l.disk_id},
          {"owner", l.owner_node.empty() ? "-" : l.owner_node},
          {"epoch", std::to_string(l.epoch)},
          {"expires", expires}};
}

std::vector<Cell> discovery_cells(const control::LiveSession& s) {
  return {{"id", std::to_string(s.id)},
          {"initiator", s.initiator_name},
          {"isid", s.isid},
          {"peer", s.peer_address},
          {"transport", s.tls ? "TLS" : "plain"},
          {"since", format_time_ms(s.connected_since_ms)}};
}

std::string disk_luns_text(const control::DiskInfo& d) {
  std::string out;
  for (const auto& l : d.luns) {
    if (!out.empty()) out += "; ";
    out += fmt::format("{}: {} ({} / {})", l.lun, l.image, format_bytes(l.overlay_bytes),
                       l.write_limit != 0 ? format_bytes(l.write_limit) : format_bytes(l.size_bytes));
  }
  return out;
}

std::string disk_sessions_text(const control::DiskInfo& d) {
  std::string out;
  for (const auto& s : d.sessions) {
    if (!out.empty()) out += "; ";
    out += s.initiator_name + " (" + s.peer_address + ")";
  }
  return out.empty() ? "-" : out;
}

std::string time_text(std::chrono::sys_seconds t) {
  return format_time_ms(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

std::vector<Cell> disk_cells(const control::OperatorDisk& p) {
  return {{"id", p.disk.id},
          {"account", p.account_id},
          {"tier", p.tier},
          {"target", p.disk.target},
          {"luns", disk_luns_text(p.disk)},
          {"sessions", disk_sessions_text(p.disk)},
          {"created", time_text(p.disk.created)},
          {"expires", p.disk.expires ? time_text(*p.disk.expires) : std::string("never")}};
}

// <section id=...><h2>title (n)</h2><p.empty>...</p><div.scroll><table>...
void section_start(std::string& out, std::string_view section_id, std::string_view title, size_t count,
                   std::string_view table_id, std::initializer_list<std::string_view> columns) {
  fmt::format_to(std::back_inserter(out),
                 "<section id=\"{0}\" aria-labelledby=\"{0}-title\"><h2 id=\"{0}-title\">{1} "
                 "(<span class=\"count\" data-count-for=\"{2}\">{3}</span>)</h2>"
                 "<p class=\"empty\" data-empty-for=\"{2}\"{4}>None.</p>"
                 "<div class=\"scroll\" tabindex=\"0\" aria-label=\"{1}, scrolls sideways\">"
                 "<table id=\"{2}\"><thead><tr>",
                 section_id, title, table_id, count, count == 0 ? "" : " hidden");
  for (std::string_view c : columns) fmt::format_to(std::back_inserter(out), "<th scope=\"col\">{}</th>", c);
  out += "</tr></thead><tbody>";
}

void section_end(std::string& out) { out += "</tbody></table></div></section>"; }

}  // namespace

std::vector<std::pair<std::string, std::string>> admin_page_headers() {
  auto headers = html_security_headers();
  headers.emplace_back("Cache-Control", "no-store");  // live data, behind a login
  return headers;
}

std::string format_bytes(uint64_t bytes) {
  static constexpr std::string_view kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", v, kUnits[unit]);
}

std::string format_time_ms(int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds(unix_ms)};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

std::string render_login_page(std::string_view error) {
  std::string out;
  head(out, "scsipub operator login", {});
  out +=
      "</head><body><main class=\"login\"><h1>scsipub operator login</h1>"
      "<p>Paste an operator token (<code>scsipub admin token create</code> prints one).</p>";
  if (!error.empty()) fmt::format_to(std::back_inserter(out), "<p class=\"error\" role=\"alert\">{}</p>", html_escape(error));
  out +=
      "<form id=\"login\" method=\"post\" action=\"/admin/login\">"
      "<label for=\"token\">Operator token</label>"
      "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>"
      "<button type=\"submit\">Log in</button></form></main></body></html>\n";
  return out;
}

std::string render_dashboard(const control::OperatorSnapshot& snap, std::string_view csrf) {
  std::string out;
  out.reserve(16384 + snap.sessions.size() * 1024);
  head(out, "scsipub operator dashboard", csrf);
  out += "<script src=\"/static/admin.js\" defer></script></head><body><header><h1>scsipub operator dashboard</h1>";
  fmt::format_to(std::back_inserter(out),
                 "<p id=\"updated\">Snapshot of <time data-field=\"taken-at\">{}</time>"
                 " <span id=\"live-state\" role=\"status\"></span></p>",
                 html_escape(format_time_ms(snap.taken_at_ms)));
  out += "<form method=\"post\" action=\"/admin/logout\" class=\"logout\">";
  csrf_field(out, csrf);
  out += "<button type=\"submit\">Log out</button></form></header><main>";

  size_t normal = 0, discovery = 0;
  for (const auto& s : snap.sessions) (s.discovery ? discovery : normal) += 1;

  section_start(out, "sessions-section", "Sessions", normal, "sessions",
                {"ID", "Target", "Kind", "LUNs", "InitiatorName", "ISID", "Source", "Transport", "Auth",
                 "Connected since", "Read (bytes / cmds)", "Written (bytes / cmds)", "IOPS r / w", "MB/s r / w",
                 "Overlay / limit", "Action"});
  for (const auto& s : snap.sessions) {
    if (s.discovery) continue;
    fmt::format_to(std::back_inserter(out), "<tr data-session-id=\"{}\">", s.id);
    for (const Cell& c : session_cells(s)) cell(out, c);
    action_form(out, "end", fmt::format("/admin/sessions/{}/end", s.id), "end-session", "End session",
                fmt::format("End session {}", s.id), csrf);
    out += "</tr>";
  }
  section_end(out);

  section_start(out, "discovery", "Discovery sessions", discovery, "discovery-sessions",
                {"ID", "InitiatorName", "ISID", "Source", "Transport", "Connected since", "Action"});
  for (const auto& s : snap.sessions) {
    if (!s.discovery) continue;
    fmt::format_to(std::back_inserter(out), "<tr data-session-id=\"{}\">", s.id);
    for (const Cell& c : discovery_cells(s)) cell(out, c);
    action_form(out, "end", fmt::format("/admin/sessions/{}/end", s.id), "end-session", "End session",
                fmt::format("End session {}", s.id), csrf);
    out += "</tr>";
  }
  section_end(out);

  section_start(out, "retained", "Free disks kept after a dropped connection", snap.retained.size(),
                "retained-table", {"Target", "InitiatorName", "ISID", "Source", "Overlay / limit", "Deleted at"});
  for (const auto& r : snap.retained) {
    out += "<tr>";
    for (const Cell& c : retained_cells(r)) cell(out, c);
    out += "</tr>";
  }
  section_end(out);

  if (snap.fleet.enabled) {
    section_start(out, "fleet-nodes", "Fleet nodes", snap.fleet.nodes.size(), "fleet-nodes-table",
                  {"Node", "Portal", "State", "Heartbeat", "Sessions", "Version"});
    for (const auto& n : snap.fleet.nodes) {
      out += n.id == snap.fleet.this_node ? "<tr class=\"this-node\">" : "<tr>";
      for (const Cell& c : fleet_node_cells(n)) cell(out, c);
      out += "</tr>";
    }
    section_end(out);
    section_start(out, "fleet-leases", "Disk leases", snap.fleet.leases.size(), "fleet-leases-table",
                  {"Disk", "Owner", "Epoch", "Expires"});
    for (const auto& l : snap.fleet.leases) {
      out += "<tr>";
      for (const Cell& c : fleet_lease_cells(l)) cell(out, c);
      out += "</tr>";
    }
    section_end(out);
  }

  section_start(out, "disks", "Provisioned disks", snap.disks.size(), "disks-table",
                {"ID", "Account", "Tier", "Target", "LUNs (written / limit)", "Sessions", "Created", "Expires",
                 "Action"});
  for (const auto& d : snap.disks) {
    fmt::format_to(std::back_inserter(out), "<tr data-disk-id=\"{}\">", html_escape(d.disk.id));
    for (const Cell& c : disk_cells(d)) cell(out, c);
    action_form(out, "delete", "/admin/disks/" + d.disk.id + "/delete", "delete-disk", "Delete disk",
                "Delete disk " + d.disk.id, csrf);
    out += "</tr>";
  }
  section_end(out);

  section_start(out, "catalog-admin", "Catalog", snap.images.size(), "catalog-table", {"Image", "Size", "Target"});
  for (const auto& i : snap.images) {
    fmt::format_to(std::back_inserter(out), "<tr data-image=\"{}\">", html_escape(i.name));
    cell(out, {"name", i.name});
    cell(out, {"size", format_bytes(i.size_bytes)});
    cell(out, {"target", i.target});
    out += "</tr>";
  }
  section_end(out);

  section_start(out, "limits", "Limit hits", snap.limit_hits.size(), "limits-table", {"Limit", "Count"});
  for (const auto& l : snap.limit_hits) {
    fmt::format_to(std::back_inserter(out), "<tr data-limit=\"{}\"{}>", html_escape(l.limit),
                   l.count > 0 ? " class=\"hit\"" : "");
    cell(out, {"name", l.limit});
    cell(out, {"count", std::to_string(l.count)});
    out += "</tr>";
  }
  section_end(out);

  section_start(out, "refused", "Recent refused logins", snap.refused.size(), "refused-table",
                {"When", "Source", "InitiatorName", "TargetName", "Reason", "Repeats"});
  for (const auto& r : snap.refused) {
    out += "<tr>";
    cell(out, {"when", format_time_ms(r.at_ms)});
    cell(out, {"peer", r.peer_address});
    cell(out, {"initiator", r.initiator_name});
    cell(out, {"target", r.target_name});
    cell(out, {"reason", r.reason});
    cell(out, {"repeats", std::to_string(r.repeats)});
    out += "</tr>";
  }
  section_end(out);

  out += "</main></body></html>\n";
  return out;
}

std::string render_confirm_delete(std::string_view disk_id, std::string_view csrf) {
  std::string out;
  head(out, "Delete disk?", csrf);
  fmt::format_to(std::back_inserter(out),
                 "</head><body><main><h1>Delete disk {0}?</h1>"
                 "<p>Its sessions are logged out and its data is deleted for good.</p>"
                 "<form method=\"post\" action=\"/admin/disks/{0}/delete\" class=\"confirm\">",
                 html_escape(disk_id));
  csrf_field(out, csrf);
  out +=
      "<input type=\"hidden\" name=\"confirm\" value=\"yes\">"
      "<button type=\"submit\" class=\"danger\" autofocus>Delete the disk</button> "
      "<a href=\"/admin\">Cancel</a></form></main></body></html>\n";
  return out;
}

std::string render_message_page(std::string_view title, std::string_view message) {
  std::string out;
  head(out, title, {});
  fmt::format_to(std::back_inserter(out),
                 "</head><body><main><h1>{}</h1><p>{}</p><p><a href=\"/admin\">Back to the dashboard</a></p>"
                 "</main></body></html>\n",
                 html_escape(title), html_escape(message));
  return out;
}

}  // namespace scsipub::web
