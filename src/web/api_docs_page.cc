#include "web/api_docs_page.h"

#include <fmt/format.h>

#include <string_view>

#include "control/target_names.h"
#include "web/api_json.h"
#include "web/html_escape.h"
#include "web/iscsiadm_commands.h"
#include "web/page_layout.h"

namespace scsipub::web {
namespace {

void append(std::string& out, std::string_view markup) { out += markup; }
void text(std::string& out, std::string_view t) { append_html_escaped(out, t); }

// A code block with a copy button, as on the landing page.
void command(std::string& out, std::string_view id, std::string_view label, std::string_view body) {
  append(out, "<div class=\"cmd\"><div class=\"cmd-bar\"><span class=\"cmd-label\">");
  text(out, label);
  append(out, "</span><button type=\"button\" class=\"copy\" data-copy=\"");
  text(out, id);
  append(out, "\" aria-label=\"Copy: ");
  text(out, label);
  append(out, "\" hidden>Copy</button></div><pre><code id=\"");
  text(out, id);
  append(out, "\">");
  text(out, body);
  append(out, "</code></pre></div>\n");
}

// An example disk with obviously fake secrets, rendered by the API's serializer.
control::DiskInfo example_disk() {
  control::DiskInfo d;
  d.id = "k3x9q2";
  d.target = control::disk_target(d.id);
  d.luns = {{0, "blank", 64ull << 20, 0, 0}};
  d.chap_user = "u-k3x9q2";
  d.chap_secret = "EXAMPLEexampleEXAMPLE";
  d.mutual_secret = "EXAMPLEmutualEXAMPLE";
  d.created = std::chrono::sys_seconds{std::chrono::seconds{1767225600}};  // 2026-01-01
  return d;
}

}  // namespace

std::string render_api_docs_page(const ApiDocsInputs& in) {
  std::string out = page_start("scsipub session API", "The scsipub session API: provisioned iSCSI disks over HTTP.",
                               in.asset_version);
  const std::string base = in.api_base_url;
  append(out, "<h1>Session API</h1>\n<p class=\"lead\">Paid accounts create, list and delete provisioned disks "
              "over HTTP. A disk is an iSCSI target with CHAP, one LUN per image you name, shared by every "
              "initiator that has its secret, and kept across disconnects and restarts.</p>\n");

  append(out, "<section id=\"auth\"><h2>Authentication</h2>\n<p>Every request under <code>/api/v1/disks</code> "
              "carries <code>Authorization: Bearer TOKEN</code>. The operator creates an account and its token "
              "with <code>scsipub account create --tier NAME</code>; the token is shown once. A missing or unknown "
              "token gets 401.</p>\n");
  command(out, "api-token", "Keep the token in a variable", fmt::format("API={}\nTOKEN=...", base));
  append(out, "</section>\n");

  append(out, "<section id=\"endpoints\"><h2>Endpoints</h2>\n<table><thead><tr><th>Request</th><th>Answer</th>"
              "</tr></thead><tbody>\n"
              "<tr><td><code>POST /api/v1/disks</code> <code>{\"images\": [\"blank\", ...]}</code></td><td>201 the "
              "disk, with its CHAP secrets and the <code>iscsiadm</code> commands; 400 unknown image, bad JSON or "
              "unknown field; 403 over the tier's limits</td></tr>\n"
              "<tr><td><code>GET /api/v1/disks</code></td><td>200 <code>{\"disks\": [...]}</code>: your disks, "
              "without secrets</td></tr>\n"
              "<tr><td><code>GET /api/v1/disks/{id}</code></td><td>200 the disk with secrets, live sessions and "
              "bytes written per LUN; 404</td></tr>\n"
              "<tr><td><code>DELETE /api/v1/disks/{id}</code></td><td>204: its sessions are logged out, then its "
              "data is deleted</td></tr>\n"
              "<tr><td><code>GET /api/v1/images</code></td><td>200 the catalog with the commands for each free "
              "target; no token needed</td></tr>\n"
              "</tbody></table>\n<p>Errors are <code>{\"error\": \"message\"}</code>; a 5xx answer names only a "
              "<code>request_id</code> to quote to the operator.</p>\n</section>\n");

  append(out, "<section id=\"examples\"><h2>Examples</h2>\n");
  command(out, "api-create", "Create a disk with a blank LUN",
          "curl -s -X POST -H \"Authorization: Bearer $TOKEN\" \"$API/api/v1/disks\" -d '{\"images\": [\"blank\"]}'");
  command(out, "api-list", "List your disks", "curl -s -H \"Authorization: Bearer $TOKEN\" \"$API/api/v1/disks\"");
  command(out, "api-delete", "Delete a disk",
          "curl -s -X DELETE -H \"Authorization: Bearer $TOKEN\" \"$API/api/v1/disks/ID\"");
  command(out, "api-images", "The catalog", "curl -s \"$API/api/v1/images\"");
  append(out, "</section>\n");

  const control::DiskInfo disk = example_disk();
  const control::Portals portals = in.portals;
  append(out, "<section id=\"disk\"><h2>A disk</h2>\n<p>What <code>POST</code> and <code>GET "
              "/api/v1/disks/{id}</code> return (the secrets here are made up). <code>iscsiadm.discovery</code> "
              "attaches the disk with SendTargets discovery, <code>iscsiadm.static</code> without it (the way "
              "to go through a TLS tunnel), <code>iscsiadm.logout</code> detaches it and forgets the node "
              "record.</p>\n");
  command(out, "api-disk-json", "Example disk (JSON)", 
          to_json(disk, portals, /*include_secret=*/true).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  append(out, "<p>The same commands for the example disk, ready to paste once the values are yours:</p>\n");
  std::string lines;
  for (const auto& line : iscsiadm_commands(disk, portals.plain).discovery) {
    if (!lines.empty()) lines += '\n';
    lines += line;
  }
  command(out, "api-disk-attach", "Attach the example disk (open-iscsi)", lines);
  append(out, "<p>Mutual CHAP: the target proves itself with its IQN as CHAP name and "
              "<code>mutual_secret</code>. libiscsi takes the credentials in the URL: <code>");
  text(out, fmt::format("iscsi://USER%SECRET@{}/IQN/0", portals.plain));
  append(out, "</code>.</p>\n</section>\n");
  append(out, page_end());
  return out;
}

}  // namespace scsipub::web
