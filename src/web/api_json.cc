#include "web/api_json.h"

#include <cstdio>
#include <exception>
#include <utility>

#include "control/target_names.h"
#include "web/iscsiadm_commands.h"
#include "web/target_commands.h"

namespace scsipub::web {
namespace {

using nlohmann::json;
using ParseResult = Result<control::CreateDiskRequest, std::string>;

Unexpected<std::string> bad(std::string message) { return {std::move(message)}; }

bool valid_image_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxImageNameLength) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// nlohmann keeps the last of duplicate keys silently; a request that says
// "images" twice is ambiguous, so the parse callback counts top-level keys.
json parse_counting_duplicates(std::string_view body, bool& duplicate) {
  size_t images_keys = 0;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && parsed.is_string() && parsed == "images") {
      duplicate = duplicate || ++images_keys > 1;
    }
    return true;
  };
  return json::parse(body.begin(), body.end(), cb, /*allow_exceptions=*/false);
}

ParseResult images_from(const json& images) {
  if (!images.is_array()) return bad("\"images\" must be an array of image names");
  if (images.empty()) return bad("\"images\" must name at least one image");
  if (images.size() > kMaxImagesPerDisk) {
    return bad("\"images\" may name at most " + std::to_string(kMaxImagesPerDisk) + " images");
  }
  control::CreateDiskRequest request;
  for (const auto& item : images) {
    if (!item.is_string()) return bad("\"images\" must hold only strings");
    const auto& name = item.get_ref<const std::string&>();
    if (!valid_image_name(name)) {
      return bad("image names are 1-" + std::to_string(kMaxImageNameLength) +
                 " characters of [A-Za-z0-9._-]");
    }
    request.images.push_back(name);
  }
  return request;
}

ParseResult parse_checked(std::string_view body) {
  if (body.size() > kMaxRequestBody) return bad("request body is larger than 64 KiB");
  // nlohmann's lexer takes a NUL byte for the end of input, which would let
  // "{...}\0anything" through; valid JSON never holds a raw NUL.
  if (body.find('\0') != std::string_view::npos) return bad("request body is not valid JSON");
  bool duplicate = false;
  json doc = parse_counting_duplicates(body, duplicate);
  if (doc.is_discarded()) return bad("request body is not valid JSON");
  if (!doc.is_object()) return bad("request body must be a JSON object");
  if (duplicate) return bad("\"images\" is given more than once");
  for (const auto& [key, value] : doc.items()) {
    // Unknown keys are errors, not ignored: a typo would otherwise silently
    // create something else than asked for. Client text is not echoed back.
    if (key != "images") return bad("unknown field in request body (only \"images\" is allowed)");
  }
  auto images = doc.find("images");
  if (images == doc.end()) return bad("\"images\" is required");
  return images_from(*images);
}

json chap_json(const control::DiskInfo& disk, bool include_secret) {
  json chap = {{"user", disk.chap_user}};
  if (include_secret) {
    chap["secret"] = disk.chap_secret;
    chap["mutual_secret"] = disk.mutual_secret ? json(*disk.mutual_secret) : json(nullptr);
  }
  return chap;
}

json luns_json(const std::vector<control::LunInfo>& luns) {
  json out = json::array();
  for (const auto& l : luns) {
    out.push_back({{"lun", l.lun},
                   {"image", l.image},
                   {"size_bytes", l.size_bytes},
                   {"overlay_bytes", l.overlay_bytes},
                   {"write_limit", l.write_limit}});
  }
  return out;
}

json sessions_json(const std::vector<control::SessionInfo>& sessions) {
  json out = json::array();
  for (const auto& s : sessions) {
    out.push_back({{"initiator_name", s.initiator_name}, {"isid", s.isid}, {"peer_address", s.peer_address}});
  }
  return out;
}

// The free targets' commands, under the names the landing page's
// data-command attributes use.
json commands_json(const AnonymousTargetCommands& c) {
  return {{"iscsiadm", c.iscsiadm},         {"qemu", c.qemu},
          {"ipxe", c.ipxe},                 {"libiscsi", c.libiscsi},
          {"libiscsi_url", c.libiscsi_url}, {"powershell", c.powershell},
          {"cleanup", c.cleanup}};
}

json iscsiadm_json(const control::DiskInfo& disk, const control::Portals& portals) {
  IscsiadmCommands c = iscsiadm_commands(disk, portals.plain);
  return {{"discovery", c.discovery}, {"static", c.static_config}, {"logout", c.logout}};
}

}  // namespace

ParseResult parse_create_disk_request(std::string_view body) {
  try {
    return parse_checked(body);
  } catch (const std::exception&) {
    // Only allocation failure can get here; the parser itself is told not
    // to throw.
    return bad("request body could not be parsed");
  }
}

std::string rfc3339(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

json to_json(const control::DiskInfo& disk, const control::Portals& portals, bool include_secret) {
  json j = {
      {"id", disk.id},
      {"target", disk.target},
      {"luns", luns_json(disk.luns)},
      {"chap", chap_json(disk, include_secret)},
      {"portals",
       {{"plain", portals.plain}, {"tls", portals.tls.empty() ? json(nullptr) : json(portals.tls)}}},
      {"created", rfc3339(disk.created)},
      {"expires", disk.expires ? json(rfc3339(*disk.expires)) : json(nullptr)},
      {"sessions", sessions_json(disk.sessions)},
  };
  if (include_secret) j["iscsiadm"] = iscsiadm_json(disk, portals);
  return j;
}

json disks_json(const std::vector<control::DiskInfo>& disks, const control::Portals& portals,
                bool include_secret) {
  json list = json::array();
  for (const auto& d : disks) list.push_back(to_json(d, portals, include_secret));
  return {{"disks", std::move(list)}};
}

json images_json(const std::vector<control::ImageInfo>& images, std::string_view plain_portal,
                 const std::vector<std::string>& multi_luns) {
  const PortalAddress portal = portal_address(plain_portal);
  json list = json::array();
  for (const auto& i : images) {
    list.push_back({{"name", i.name},
                    {"size_bytes", i.size_bytes},
                    {"target", i.target},
                    {"title", i.title},
                    {"description", i.description},
                    {"presentation", i.presentation == control::Presentation::dvd ? "dvd" : "disk"},
                    {"commands", commands_json(anonymous_target_commands(portal, i.target, 1, i.presentation))}});
  }
  json out = {{"images", std::move(list)}};
  if (!multi_luns.empty()) {
    const std::string target = control::multi_target();
    json luns = json::array();
    for (size_t lun = 0; lun < multi_luns.size(); ++lun) luns.push_back({{"lun", lun}, {"image", multi_luns[lun]}});
    out["multi"] = {{"target", target},
                    {"luns", std::move(luns)},
                    {"commands", commands_json(anonymous_target_commands(
                                     portal, target, static_cast<uint32_t>(multi_luns.size())))}};
  }
  return out;
}

json error_json(std::string_view message) { return {{"error", message}}; }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace scsipub::web
